/**
 * The record runs flagged possibleDuplicate, read day by day. n8n prunes its execution history (on by default:
 * every hour it deletes all but the newest 10,000 executions), so a busy month's early runs are gone by its end,
 * and the check would take their orders' second receipts for unflagged repeats. The month reads each day's new
 * runs at the day's end instead. A run is read again until it has finished (its flag is in its data only then),
 * so each read starts after the last run known finished with nothing unfinished before it.
 */

/** One execution of the record workflow as read: its status, its trigger item's order (if in it), its flag. */
export interface RecordRun {
	id: number;
	status: string;
	order?: string;
	flagged: boolean;
}

/** The statuses of an execution n8n has not finished. */
export const UNFINISHED: readonly string[] = ['new', 'running', 'waiting', 'unknown'];

export class FlaggedRuns {
	/** Every run with an id at or below this one has been read finished. */
	after = 0;
	private readonly flagged = new Map<number, string>();
	private readonly finished = new Set<number>();

	/** Takes the runs read after `after` (any order); returns where the next read starts. */
	add(runs: RecordRun[]): number {
		for (const run of runs)
			if (run.id > this.after && !UNFINISHED.includes(run.status)) {
				this.finished.add(run.id);
				if (run.flagged && run.order) this.flagged.set(run.id, run.order);
			}
		const open = runs.filter((run) => UNFINISHED.includes(run.status)).map((run) => run.id);
		this.after = open.length
			? Math.max(this.after, Math.min(...open) - 1)
			: Math.max(this.after, ...runs.map((run) => run.id));
		return this.after;
	}

	/** How many finished runs were read (n8n may since have pruned some). */
	get runs(): number {
		return this.finished.size;
	}

	/** How many flagged runs each order had. */
	byOrder(): Map<string, number> {
		const counts = new Map<string, number>();
		for (const order of this.flagged.values()) counts.set(order, (counts.get(order) ?? 0) + 1);
		return counts;
	}
}
