import { createHash, randomBytes } from 'crypto';

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
 * - whenever the stored copy lacks an entry, the static data is given a view of this
 *   ledger that n8n serializes when it saves (toJSON), so whichever request saves last
 *   writes everything the process knows at the moment of that save;
 * - a claim stays pending until n8n has answered Ksher: n8n sends the trigger's answer
 *   only after it stored the execution, so a 200 means the run exists. Any other outcome
 *   (n8n could not store it, the connection broke) releases the claim, and Ksher's next
 *   delivery starts the run. Copies arriving meanwhile wait for that outcome instead of
 *   being answered blindly.
 *
 * n8n reads and writes the whole blob several times per notification (the request, the
 * run, the stored execution, the save), so the memory is stored packed: one string of
 * 12-byte records (8 bytes of SHA-256 of the notification key, 4 bytes of minutes since
 * 1970), about 16 characters per notification instead of an object key of about 50. The
 * string starts with who wrote it and at which change of their ledger, so that a request
 * can see without decoding it that the stored copy is one this ledger wrote.
 */
export interface StoredMemory {
	/** Packed records: "v1:" + writer + "@" + change + ":" + base64. */
	ksherSeen?: unknown;
	/** The unpacked form of earlier versions: "#" + key → epoch ms. Read, then replaced. */
	seen?: unknown;
	seenCount?: unknown;
	[key: string]: unknown;
}

const MINUTE_MS = 60_000;
const RECORD_BYTES = 12;
const PACKED_PREFIX = 'v1:';
/** Tells this process's writings from other processes' (random, so a restart is another writer). */
const WRITER = randomBytes(6).toString('hex');
let ledgerCount = 0;

export class NotificationLedger {
	static readonly MAX_ENTRIES = 10_000;
	/** Longer than Ksher's ~29-hour retry window. */
	static readonly MAX_AGE_MS = 72 * 3600_000;

	/** Notification id (8-byte hash, hex) → minutes since 1970, oldest first. */
	private readonly entries = new Map<string, number>();
	private readonly pending = new Map<string, Promise<boolean>>();
	/** Released claims: a stored copy saved before the release must not bring them back. */
	private readonly released = new Set<string>();
	/** The packed form of the entries as they are now; cleared on every change. */
	private packedCache: string | undefined;
	/** Counts changes: the packed form names the change it was written at. */
	private version = 0;
	private readonly writer = `${WRITER}.${(ledgerCount++).toString(36)}`;
	/** What the static data holds: n8n serializes it (toJSON) when it saves, so it is never stale. */
	private readonly view = { toJSON: () => this.packed() };

	constructor(
		private readonly maxEntries = NotificationLedger.MAX_ENTRIES,
		private readonly maxAgeMs = NotificationLedger.MAX_AGE_MS,
	) {}

	/**
	 * Merges entries from a stored copy (n8n's static data for this node). Returns whether
	 * the stored copy lacks something this ledger knows, i.e. whether it should be saved.
	 */
	absorb(stored: StoredMemory, now = Date.now()): boolean {
		let known = 0;
		let legacy = false;
		const packed = stored.ksherSeen;
		const header = typeof packed === 'string' && packed.startsWith(PACKED_PREFIX) ? packed.indexOf(':', PACKED_PREFIX.length) : -1;
		if (typeof packed === 'string' && header > 0) {
			const [writer, version] = packed.slice(PACKED_PREFIX.length, header).split('@');
			if (writer === this.writer && Number(version) <= this.version) {
				// Written by this ledger: everything in it is known (or was released or dropped since).
				known = Number(version) === this.version ? this.entries.size : -1;
			} else {
				const records = Buffer.from(packed.slice(header + 1), 'base64');
				for (let at = 0; at + RECORD_BYTES <= records.length; at += RECORD_BYTES) {
					if (this.take(records.toString('hex', at, at + 8), records.readUInt32BE(at + 8), now)) known++;
				}
			}
		}
		if (typeof stored.seen === 'object' && stored.seen !== null && !Array.isArray(stored.seen)) {
			legacy = true;
			const old = stored.seen as Record<string, unknown>;
			for (const key of Object.keys(old)) {
				const at = old[key];
				if (typeof at === 'number' && key.startsWith('#')) this.take(idOf(key.slice(1)), Math.floor(at / MINUTE_MS), now);
			}
		}
		return legacy || known !== this.entries.size;
	}

	/** Makes the stored copy a view of this ledger, so that n8n's next save writes all of it. */
	persistInto(stored: StoredMemory): void {
		stored.ksherSeen = this.view;
		if (stored.seen !== undefined) delete stored.seen;
		if (stored.seenCount !== undefined) delete stored.seenCount;
	}

	has(key: string, now = Date.now()): boolean {
		const at = this.entries.get(idOf(key));
		return at !== undefined && now - at * MINUTE_MS < this.maxAgeMs;
	}

	/** The outcome of a claim still in flight for this key (true: its run was stored), if any. */
	inFlight(key: string): Promise<boolean> | undefined {
		return this.pending.get(idOf(key));
	}

	/**
	 * Claims a key for one run; the caller must have checked has() and inFlight() with no
	 * await in between. record() enters it in the memory (so the save before n8n's answer
	 * carries it); settle(false) takes it back and lets the next delivery claim it.
	 */
	claim(key: string): { record: () => void; settle: (ran: boolean) => void } {
		const id = idOf(key);
		let resolve!: (ran: boolean) => void;
		this.pending.set(id, new Promise<boolean>((r) => (resolve = r)));
		this.released.delete(id);
		let settled = false;
		let recorded = false;
		return {
			record: () => {
				recorded = true;
				this.put(id, Math.floor(Date.now() / MINUTE_MS));
			},
			settle: (ran) => {
				if (settled) return;
				settled = true;
				this.pending.delete(id);
				if (!ran && recorded) {
					this.entries.delete(id);
					this.changed();
					if (this.released.size >= this.maxEntries) this.released.clear();
					this.released.add(id);
				}
				resolve(ran);
			},
		};
	}

	get size(): number {
		return this.entries.size;
	}

	/** Adds a stored entry unless it is released, expired or known; returns whether it is known now. */
	private take(id: string, minutes: number, now: number): boolean {
		if (this.released.has(id)) return false;
		if (this.entries.has(id)) return true;
		if (now - minutes * MINUTE_MS >= this.maxAgeMs) return false;
		this.put(id, minutes);
		return true;
	}

	private put(id: string, minutes: number): void {
		this.entries.delete(id);
		this.entries.set(id, minutes);
		this.changed();
		// Drop the oldest in batches, so that a full memory is not walked on every notification.
		if (this.entries.size > this.maxEntries + Math.max(1, Math.floor(this.maxEntries / 10))) {
			for (const old of this.entries.keys()) {
				if (this.entries.size <= this.maxEntries) break;
				this.entries.delete(old);
			}
		}
	}

	private changed(): void {
		this.version++;
		this.packedCache = undefined;
	}

	private packed(): string {
		if (this.packedCache === undefined) {
			const records = Buffer.alloc(this.entries.size * RECORD_BYTES);
			let at = 0;
			for (const [id, minutes] of this.entries) {
				records.write(id, at, 8, 'hex');
				records.writeUInt32BE(minutes, at + 8);
				at += RECORD_BYTES;
			}
			this.packedCache = `${PACKED_PREFIX}${this.writer}@${this.version}:${records.toString('base64')}`;
		}
		return this.packedCache;
	}
}

/** 8 bytes of SHA-256 of the notification key, as hex: collisions are out of reach at 10,000 entries. */
export function idOf(key: string): string {
	return createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 16);
}

/** The notification ids a stored copy holds (packed or in the earlier form), for checks and tests. */
export function storedIds(stored: StoredMemory): Set<string> {
	const ids = new Set<string>();
	const header = typeof stored.ksherSeen === 'string' && stored.ksherSeen.startsWith(PACKED_PREFIX) ? stored.ksherSeen.indexOf(':', PACKED_PREFIX.length) : -1;
	if (typeof stored.ksherSeen === 'string' && header > 0) {
		const records = Buffer.from(stored.ksherSeen.slice(header + 1), 'base64');
		for (let at = 0; at + RECORD_BYTES <= records.length; at += RECORD_BYTES) ids.add(records.toString('hex', at, at + 8));
	}
	if (typeof stored.seen === 'object' && stored.seen !== null) for (const key of Object.keys(stored.seen)) ids.add(idOf(key.slice(1)));
	return ids;
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
