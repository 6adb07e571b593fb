/**
 * Where the acknowledgement's time goes while the watch runs: the evidence for the wait behind the watch (issue
 * #32). Ksher's notification is answered once its record run has ended ("When the Workflow Has Finished"), so
 * the answer waits for the run to be stored, started and finished. Each record run of the day's payments is put
 * in one of three groups: started while no watch run was going, started during a watch run on another process,
 * or on the same process as that watch run (in regular mode there is one process, so every run beside the watch
 * shares it). If the runs beside the watch are slow only on the watch's own process, it is that process (one
 * Node.js event loop) that is busy; if they are slow on every process, it is the machine.
 */

export interface TimedRun {
	id: string;
	/** When n8n stored it (queue mode; else its start), started and ended it, ms since the epoch. */
	stored: number;
	started: number;
	stopped: number;
	/** The process that ran it (queue mode: "worker1"; regular mode: "n8n"), if known. */
	process?: string;
}

export type Beside = 'no watch running' | 'watch on another process' | 'watch on the same process';

export interface GroupFigures {
	runs: number;
	runP50: number | null;
	runP99: number | null;
	queuedP50: number | null;
	queuedP99: number | null;
}

export function quantile(xs: number[], p: number): number | null {
	const sorted = [...xs].sort((a, b) => a - b);
	return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : null;
}

export function figuresOf(runs: TimedRun[]): GroupFigures {
	const length = runs.map((r) => r.stopped - r.started);
	const queued = runs.map((r) => r.started - r.stored);
	return {
		runs: runs.length,
		runP50: quantile(length, 0.5),
		runP99: quantile(length, 0.99),
		queuedP50: quantile(queued, 0.5),
		queuedP99: quantile(queued, 0.99),
	};
}

/** The record runs grouped by what the watch was doing when each started. */
export function besideTheWatch(
	records: TimedRun[],
	watches: TimedRun[],
): Record<Beside, GroupFigures> {
	const groups: Record<Beside, TimedRun[]> = {
		'no watch running': [],
		'watch on another process': [],
		'watch on the same process': [],
	};
	for (const r of records) {
		const during = watches.filter((w) => r.started >= w.started && r.started <= w.stopped);
		if (during.length === 0) groups['no watch running'].push(r);
		else if (during.some((w) => w.process !== undefined && w.process === r.process))
			groups['watch on the same process'].push(r);
		else groups['watch on another process'].push(r);
	}
	return {
		'no watch running': figuresOf(groups['no watch running']),
		'watch on another process': figuresOf(groups['watch on another process']),
		'watch on the same process': figuresOf(groups['watch on the same process']),
	};
}
