import { SeenNotifications, type SeenState } from '../protocol';

/**
 * The Ksher Trigger's memory of which notifications already started a run, one per
 * workflow and trigger node, shared by every request the n8n process handles.
 *
 * Why it lives in the process and not only in the workflow's static data: for every
 * production webhook request n8n loads the workflow, static data included, from its
 * database, runs webhook(), and afterwards saves the whole static-data blob; the run it
 * starts reloads the blob and, when any node changed it, saves that copy at its end. So
 * concurrent requests never see each other's claim, and the last save wins, erasing the
 * entries of requests that saved before it. A community node has no lock and no database
 * of its own; what it does have is one loaded module per process, where requests interleave
 * only at awaits. So the claim is made here, synchronously, and the static data only
 * carries the memory across restarts:
 *
 * - every request first absorbs what the database holds (after a restart, or what another
 *   process of a queue-mode n8n recorded);
 * - the static data is given this ledger's own record object, not a copy, whenever the
 *   stored copy lacks an entry, so whichever request saves last writes everything the
 *   process knows at the moment of that save;
 * - a claim stays pending until n8n has answered Ksher: n8n sends the trigger's answer
 *   only after it stored the execution, so a 200 means the run exists. Any other outcome
 *   (n8n could not store it, the connection broke) releases the claim, and Ksher's next
 *   delivery starts the run. Copies arriving meanwhile wait for that outcome instead of
 *   being answered blindly.
 */
export class NotificationLedger {
	private readonly record: SeenState = {};
	private readonly seen = new SeenNotifications(this.record);
	private readonly pending = new Map<string, Promise<boolean>>();
	/** Released claims: a stored copy saved before the release must not bring them back. */
	private readonly released = new Set<string>();

	/**
	 * Merges entries from a stored copy (n8n's static data for this node). Returns whether
	 * the stored copy lacks something this ledger knows, i.e. whether it should be saved.
	 */
	absorb(stored: SeenState, now = Date.now()): boolean {
		const entries = stored.seen;
		if (entries === this.record.seen) return false;
		let common = 0;
		if (typeof entries === 'object' && entries !== null && !Array.isArray(entries)) {
			for (const stored of Object.keys(entries)) {
				const at = entries[stored];
				const key = stored.slice(1);
				if (typeof at !== 'number' || !stored.startsWith('#') || this.released.has(key)) continue;
				if (!this.seen.has(key, now) && now - at < SeenNotifications.MAX_AGE_MS) this.seen.add(key, at);
				if (this.seen.has(key, now)) common++;
			}
		}
		return common !== this.seen.size;
	}

	/** Makes the stored copy this ledger's own record, so that n8n's next save writes all of it. */
	persistInto(stored: SeenState): void {
		stored.seen = this.record.seen;
		stored.seenCount = this.record.seenCount;
	}

	has(key: string): boolean {
		return this.seen.has(key);
	}

	/** The outcome of a claim still in flight for this key (true: its run was stored), if any. */
	inFlight(key: string): Promise<boolean> | undefined {
		return this.pending.get(key);
	}

	/**
	 * Claims a key for one run; the caller must have checked has() and inFlight() with no
	 * await in between. record() enters it in the memory (so the save before n8n's answer
	 * carries it); settle(false) takes it back and lets the next delivery claim it.
	 */
	claim(key: string): { record: () => void; settle: (ran: boolean) => void } {
		let resolve!: (ran: boolean) => void;
		this.pending.set(key, new Promise<boolean>((r) => (resolve = r)));
		this.released.delete(key);
		let settled = false;
		let recorded = false;
		return {
			record: () => {
				recorded = true;
				this.seen.add(key);
			},
			settle: (ran) => {
				if (settled) return;
				settled = true;
				this.pending.delete(key);
				if (!ran && recorded) {
					this.seen.forget(key);
					if (this.released.size >= SeenNotifications.MAX_ENTRIES) this.released.clear();
					this.released.add(key);
				}
				resolve(ran);
			},
		};
	}

	get size(): number {
		return this.seen.size;
	}
}

const ledgers = new Map<string, NotificationLedger>();

/** The ledger of one trigger node in one workflow, for the life of this process. */
export function ledgerFor(workflowId: string | undefined, nodeId: string): NotificationLedger {
	const id = `${workflowId ?? ''}\u0000${nodeId}`;
	let ledger = ledgers.get(id);
	if (!ledger) {
		ledger = new NotificationLedger();
		ledgers.set(id, ledger);
	}
	return ledger;
}
