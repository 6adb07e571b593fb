import { createHash, randomBytes } from 'crypto';

import { REPLAY_WINDOW_MS } from '../protocol';

/**
 * The Ksher Trigger's memory of which notifications started a run and which of those runs are
 * known to be done, one per workflow and trigger node, shared by every request the n8n process
 * handles.
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
 * - whenever the stored copy lacks something, the static data is given a view of this
 *   ledger that n8n serializes when it saves (toJSON), so whichever request saves last
 *   writes everything the process knows at the moment of that save;
 * - a claim is stored as *started* and becomes *done* once n8n's answer went out with a 200
 *   (the run is stored, or has finished, as the trigger is set); any other outcome takes it
 *   back. Copies arriving meanwhile wait for that outcome. A *started* entry read back from
 *   the database with no claim in flight here is a run whose end nobody saw (n8n was killed,
 *   or another process has it): the trigger runs it again and says `possibleDuplicate`.
 *
 * The memory covers the trigger's replay window whole (older notifications are refused by
 * their payment time, so older entries are dropped), and holds MAX_ENTRIES notifications in
 * it: 200,000 payments in 48 hours is more than twice what the busiest shops we know of take. When it is
 * full, new notifications are refused (Ksher delivers them again later), never forgotten.
 *
 * Stored packed: one string of 8-byte records (7 bytes of SHA-256 of the notification key, then
 * one byte: the hour it was claimed, counted from a base hour the string names, × 2, + 1 when its
 * run is known to be done; 0xFF marks a record taken back), 32 base64 characters per 3
 * notifications, kept in a buffer in arrival order so that packing is one base64 conversion. At
 * 100,000 notifications that is 1.07 MB, which n8n reads twice and writes once for every new
 * notification. The string starts with who wrote it, at which change, and its base hour, so that
 * a request can see without decoding it that the stored copy is one this ledger wrote. Earlier
 * forms ("v2:", 12-byte records with minutes; "v1:", all done) are read and rewritten.
 */
export interface StoredMemory {
	/** Packed records: "v3:" + writer + "@" + change + "@" + base hour + ":" + base64 (also read: "v2:", "v1:"). */
	ksherSeen?: unknown;
	/** The unpacked form of early versions: "#" + key → epoch ms. Read, then replaced. */
	seen?: unknown;
	seenCount?: unknown;
	[key: string]: unknown;
}

export type ClaimState = 'started' | 'done';

const HOUR_MS = 3_600_000;
const RECORD_BYTES = 8;
const ID_BYTES = 7;
/** The record byte of one taken back. */
const REMOVED = 0xff;
/** Hours after the base a record can say (7 bits, 127 kept free for REMOVED's sake). */
const MAX_OFFSET = 126;
const PREFIX = 'v3:';
/** Earlier forms, read and rewritten: 12-byte records, 8 bytes of id and 4 of minutes (× 2 + done in v2). */
const PREFIX_V2 = 'v2:';
const PREFIX_V1 = 'v1:';
const OLD_RECORD_BYTES = 12;
/** Tells this process's writings from other processes' (random, so a restart is another writer). */
const WRITER = randomBytes(6).toString('hex');
let ledgerCount = 0;

export class NotificationLedger {
	/** Notifications the memory holds within the replay window. */
	static readonly MAX_ENTRIES = 200_000;
	/** The replay window: notifications paid longer ago than this are refused by their payment time. */
	static readonly MAX_AGE_MS = REPLAY_WINDOW_MS;

	/** Notification id (7-byte hash, hex) → byte offset of its record in `records`. */
	private readonly slots = new Map<string, number>();
	/** The records in arrival order, from `start` to `end`; a record whose last byte is REMOVED was taken back. */
	private records = Buffer.alloc(RECORD_BYTES * 1024);
	private start = 0;
	private end = 0;
	/** The hour (since 1970) the records' hours count from; moved forward as time goes on (rebase). */
	private baseHour: number;
	/** Claims in flight: their outcome, and when to stop waiting for it (a run whose answer never comes). */
	private readonly pending = new Map<string, { outcome: Promise<boolean>; deadline: number; abandon: () => void }>();
	/** Released claims: a stored copy saved before the release must not bring them back. */
	private readonly released = new Set<string>();
	private packedCache: string | undefined;
	private version = 0;
	private readonly writer = `${WRITER}.${(ledgerCount++).toString(36)}`;
	/** What the static data holds: n8n serializes it (toJSON) when it saves, so it is never stale. */
	private readonly view = { toJSON: () => this.packed() };
	/** Whole hours an entry stays: every entry is kept at least maxAgeMs after its claim, and less than an hour more. */
	private readonly maxAgeHours: number;

	constructor(
		private readonly maxEntries = NotificationLedger.MAX_ENTRIES,
		maxAgeMs = NotificationLedger.MAX_AGE_MS,
		now = Date.now(),
	) {
		this.maxAgeHours = Math.ceil(maxAgeMs / HOUR_MS);
		this.baseHour = hourOf(now) - this.maxAgeHours - 1;
	}

	/**
	 * Merges entries from a stored copy (n8n's static data for this node). Returns whether
	 * the stored copy lacks something this ledger knows, i.e. whether it should be saved.
	 */
	absorb(stored: StoredMemory, now = Date.now()): boolean {
		this.expire(now);
		let known = 0;
		let legacy = false;
		const copy = packedCopy(stored.ksherSeen);
		if (copy && copy.prefix === PREFIX && copy.writer === this.writer && copy.version <= this.version) {
			// Written by this ledger: everything in it is known (or was released or dropped since).
			known = copy.version === this.version ? this.slots.size : -1;
		} else if (copy) {
			forEachRecord(copy, (id, hour, done) => {
				if (this.take(id, hour, done, now)) known++;
			});
		}
		if (typeof stored.seen === 'object' && stored.seen !== null && !Array.isArray(stored.seen)) {
			legacy = true;
			const old = stored.seen as Record<string, unknown>;
			for (const key of Object.keys(old)) {
				const at = old[key];
				if (typeof at === 'number' && key.startsWith('#')) this.take(idOf(key.slice(1)), hourOf(at), true, now);
			}
		}
		return legacy || (copy !== undefined && copy.prefix !== PREFIX) || known !== this.slots.size;
	}

	/**
	 * Makes the stored copy a view of this ledger, so that n8n's next save writes all of it.
	 * `own` is the request's own claim when n8n saves this copy only once that claim's run is
	 * stored (Acknowledge "When the Run Is Stored": n8n saves a request's static data after storing
	 * its execution, and not at all when storing fails): this copy writes it as done. Other
	 * requests' saves write a claim still in flight as started.
	 */
	persistInto(stored: StoredMemory, own?: string): void {
		stored.ksherSeen = own === undefined ? this.view : { toJSON: () => this.packed(idOf(own)) };
		if (stored.seen !== undefined) delete stored.seen;
		if (stored.seenCount !== undefined) delete stored.seenCount;
	}

	/** What the memory says of a key: its run is done, started (its end unknown), or nothing. */
	state(key: string, now = Date.now()): ClaimState | undefined {
		const at = this.slots.get(idOf(key));
		if (at === undefined) return undefined;
		const value = this.records[at + ID_BYTES];
		if (this.tooOld(this.baseHour + (value >> 1), now)) return undefined;
		return (value & 1) === 1 ? 'done' : 'started';
	}

	has(key: string, now = Date.now()): boolean {
		return this.state(key, now) !== undefined;
	}

	/** Whether the memory holds as many notifications of the window as it may: new ones must be refused. */
	full(now = Date.now()): boolean {
		this.expire(now);
		if (this.slots.size < this.maxEntries) return false;
		// Entries taken in from another copy can sit behind newer ones: look at every one before refusing.
		for (const [id, at] of this.slots) if (this.tooOld(this.baseHour + (this.records[at + ID_BYTES] >> 1), now)) this.remove(id);
		return this.slots.size >= this.maxEntries;
	}

	/**
	 * The outcome of a claim still in flight for this key (true: its answer went out with a 200), if
	 * any. A claim past its deadline is given up as a run whose end will never be known (settled as
	 * 'failed': it stays started), so that the next delivery runs it again.
	 */
	inFlight(key: string, now = Date.now()): Promise<boolean> | undefined {
		const entry = this.pending.get(idOf(key));
		if (entry && now >= entry.deadline) {
			entry.abandon();
			return undefined;
		}
		return entry?.outcome;
	}

	/** When a claim in flight for this key will be given up (epoch ms), if there is one. */
	deadlineOf(key: string): number | undefined {
		return this.pending.get(idOf(key))?.deadline;
	}

	/**
	 * Claims a key for one run; the caller must have checked state() and inFlight() with no
	 * await in between. record() enters it in the memory as started (so the saves meanwhile
	 * carry it); settle(true) makes it done, settle(false) takes it back (no run happened), and
	 * settle('failed') leaves it started: a run happened but did not finish, so the next
	 * delivery runs it again, marked as a possible duplicate.
	 */
	claim(key: string, giveUpAfterMs = Infinity): { record: () => void; settle: (outcome: boolean | 'failed') => void } {
		const id = idOf(key);
		let resolve!: (ran: boolean) => void;
		const outcome = new Promise<boolean>((r) => (resolve = r));
		this.pending.set(id, { outcome, deadline: Date.now() + giveUpAfterMs, abandon: () => claim.settle('failed') });
		this.released.delete(id);
		let settled = false;
		let recorded = false;
		const claim: { record: () => void; settle: (outcome: boolean | 'failed') => void } = {
			record: () => {
				recorded = true;
				this.put(id, hourOf(Date.now()), false);
			},
			settle: (result) => {
				if (settled) return;
				settled = true;
				this.pending.delete(id);
				const ran = result === true;
				if (ran) this.put(id, hourOf(Date.now()), true);
				else if (result === 'failed' && recorded) this.changed();
				else if (recorded) {
					this.remove(id);
					if (this.released.size >= this.maxEntries) this.released.clear();
					this.released.add(id);
				}
				resolve(ran);
			},
		};
		return claim;
	}

	get size(): number {
		return this.slots.size;
	}

	/** Whether an entry claimed in this hour has left the window (kept at least the window's length, less than an hour more). */
	private tooOld(hour: number, now: number): boolean {
		return hourOf(now) - hour > this.maxAgeHours;
	}

	/** Adds a stored entry unless it is released or expired; a stored "done" completes a "started". Returns whether it is known now. */
	private take(id: string, hour: number, done: boolean, now: number): boolean {
		if (this.released.has(id)) return false;
		if (this.tooOld(hour, now)) return false;
		const at = this.slots.get(id);
		if (at !== undefined) {
			if (done && (this.records[at + ID_BYTES] & 1) === 0 && !this.pending.has(id)) this.put(id, hour, true);
			return true;
		}
		this.put(id, hour, done);
		return true;
	}

	private put(id: string, hour: number, done: boolean): void {
		const at = this.slots.get(id);
		if (at !== undefined) {
			// Only the state changes: the record keeps its place (its hour is when it was first claimed).
			if (done) this.records[at + ID_BYTES] |= 1;
		} else {
			this.rebase(hour);
			this.reserve();
			this.records.write(id, this.end, ID_BYTES, 'hex');
			this.records[this.end + ID_BYTES] = (Math.max(0, hour - this.baseHour) << 1) | (done ? 1 : 0);
			this.slots.set(id, this.end);
			this.end += RECORD_BYTES;
		}
		this.changed();
	}

	/**
	 * Keeps `hour` within the 126 hours a record can count from the base: moves the base forward
	 * (every few days, after the window's entries have expired) and the live records' hours with it.
	 */
	private rebase(hour: number): void {
		if (hour - this.baseHour <= MAX_OFFSET) return;
		const next = hour - this.maxAgeHours - 1;
		const shift = next - this.baseHour;
		for (let at = this.start; at < this.end; at += RECORD_BYTES) {
			const value = this.records[at + ID_BYTES];
			if (value === REMOVED) continue;
			const offset = (value >> 1) - shift;
			if (offset < 0) {
				// Older than the new base, so out of the window: gone.
				this.slots.delete(this.records.toString('hex', at, at + ID_BYTES));
				this.records[at + ID_BYTES] = REMOVED;
			} else this.records[at + ID_BYTES] = (offset << 1) | (value & 1);
		}
		this.baseHour = next;
		this.changed();
	}

	private remove(id: string): void {
		const at = this.slots.get(id);
		if (at === undefined) return;
		this.records[at + ID_BYTES] = REMOVED;
		this.slots.delete(id);
		this.changed();
	}

	/** Drops records older than the window from the front (they are in arrival order), and taken-back ones there. */
	private expire(now: number): void {
		let dropped = false;
		while (this.start < this.end) {
			const value = this.records[this.start + ID_BYTES];
			if (value !== REMOVED && !this.tooOld(this.baseHour + (value >> 1), now)) break;
			if (value !== REMOVED) this.slots.delete(this.records.toString('hex', this.start, this.start + ID_BYTES));
			this.start += RECORD_BYTES;
			dropped = true;
		}
		if (dropped) this.changed();
	}

	/** Room for one more record: compacts the buffer (taken-back records out) or grows it. */
	private reserve(): void {
		if (this.end + RECORD_BYTES <= this.records.length) return;
		const live = this.slots.size * RECORD_BYTES;
		const next = Buffer.alloc(Math.max(this.records.length, 2 * (live + RECORD_BYTES)));
		let to = 0;
		for (let at = this.start; at < this.end; at += RECORD_BYTES) {
			if (this.records[at + ID_BYTES] === REMOVED) continue;
			this.records.copy(next, to, at, at + RECORD_BYTES);
			this.slots.set(this.records.toString('hex', at, at + ID_BYTES), to);
			to += RECORD_BYTES;
		}
		this.records = next;
		this.start = 0;
		this.end = to;
	}

	private changed(): void {
		this.version++;
		this.packedCache = undefined;
	}

	private packed(doneId?: string): string {
		this.packedCache ??= `${PREFIX}${this.writer}@${this.version}@${this.baseHour}:${this.records.toString('base64', this.start, this.end)}`;
		const at = doneId === undefined ? undefined : this.slots.get(doneId);
		if (at === undefined || (this.records[at + ID_BYTES] & 1) === 1) return this.packedCache;
		// Every 3 records are exactly 32 base64 characters: the group holding this one is rewritten in place.
		const group = Math.floor((at - this.start) / (3 * RECORD_BYTES));
		const from = this.start + group * 3 * RECORD_BYTES;
		const bytes = Buffer.from(this.records.subarray(from, Math.min(from + 3 * RECORD_BYTES, this.end)));
		bytes[at - from + ID_BYTES] |= 1;
		const chars = this.packedCache.indexOf(':', PREFIX.length) + 1 + group * 32;
		return `${this.packedCache.slice(0, chars)}${bytes.toString('base64')}${this.packedCache.slice(chars + Math.ceil(bytes.length / 3) * 4)}`;
	}
}

const hourOf = (ms: number): number => Math.floor(ms / HOUR_MS);

/** A packed stored copy: its form, who wrote it, at which change, its base hour (v3), and its records in base64. */
interface PackedCopy {
	prefix: string;
	writer: string;
	version: number;
	baseHour: number;
	body: string;
}

function packedCopy(packed: unknown): PackedCopy | undefined {
	if (typeof packed !== 'string') return undefined;
	const prefix = [PREFIX, PREFIX_V2, PREFIX_V1].find((p) => packed.startsWith(p));
	const header = prefix ? packed.indexOf(':', prefix.length) : -1;
	if (!prefix || header <= 0) return undefined;
	const [writer, version, base] = packed.slice(prefix.length, header).split('@');
	return { prefix, writer, version: Number(version), baseHour: Number(base), body: packed.slice(header + 1) };
}

/** Calls `each` for every live record of a packed copy in any form: its id, the hour it was claimed, whether its run is done. */
function forEachRecord(copy: PackedCopy, each: (id: string, hour: number, done: boolean) => void): void {
	const records = Buffer.from(copy.body, 'base64');
	if (copy.prefix === PREFIX) {
		if (!Number.isSafeInteger(copy.baseHour)) return;
		for (let at = 0; at + RECORD_BYTES <= records.length; at += RECORD_BYTES) {
			const value = records[at + ID_BYTES];
			if (value !== REMOVED) each(records.toString('hex', at, at + ID_BYTES), copy.baseHour + (value >> 1), (value & 1) === 1);
		}
		return;
	}
	for (let at = 0; at + OLD_RECORD_BYTES <= records.length; at += OLD_RECORD_BYTES) {
		const value = records.readUInt32BE(at + 8);
		if (value === 0) continue;
		const [minutes, done] = copy.prefix === PREFIX_V1 ? [value, true] : [Math.floor(value / 2), value % 2 === 1];
		each(records.toString('hex', at, at + ID_BYTES), Math.floor(minutes / 60), done);
	}
}

/** 7 bytes of SHA-256 of the notification key, as hex: a new notification meets a stored one's id with odds of 1 in 10^11 at 200,000 entries. */
export function idOf(key: string): string {
	return createHash('sha256').update(key, 'utf8').digest('hex').slice(0, ID_BYTES * 2);
}

/** The notification ids a stored copy holds (packed in any form, or the earlier one), for checks and tests. */
export function storedIds(stored: StoredMemory, state?: ClaimState): Set<string> {
	const ids = new Set<string>();
	const copy = packedCopy(stored.ksherSeen);
	if (copy) {
		forEachRecord(copy, (id, _hour, done) => {
			if (!state || (state === 'done') === done) ids.add(id);
		});
	}
	if (!state && typeof stored.seen === 'object' && stored.seen !== null) for (const key of Object.keys(stored.seen)) ids.add(idOf(key.slice(1)));
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
