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
 * The memory covers the trigger's replay window whole: a replay of a notification it has let go of
 * must be outside the window (REPLAY_WINDOW_MS, measured from the notification's own time, which the
 * trigger must be able to read: replayWindow). Every entry is kept at least MAX_AGE_MS (the window and
 * SLACK_MS, 2 hours) after its claim, which covers every notification dated up to 2 hours after its
 * claim; one dated further ahead (a clock ahead of this one, or this one behind) is also kept by its
 * own time, in `dated`, until that time has left the window. Nothing else here lets an entry of the
 * window go: a full memory refuses new notifications (Ksher delivers them again later), a stored record
 * dated ahead (another process's clock) is capped rather than allowed to move the base hour past live
 * records (rebase), and a claim whose answer never went out stays started. It holds MAX_ENTRIES
 * notifications: 200,000 payments in 50 hours is more than twice what the busiest shops we know of take.
 *
 * Stored packed: one string of 8-byte records (7 bytes of SHA-256 of the notification key, then
 * one byte: the hour it was claimed, counted from a base hour the string names, × 2, + 1 when its
 * run is known to be done; 0xFF marks a record taken back), 32 base64 characters per 3
 * notifications, kept in a buffer in arrival order so that packing is one base64 conversion. At
 * 100,000 notifications that is 1.07 MB, which n8n reads twice and writes once for every new
 * notification. The string starts with who wrote it, at which change, and its base hour, so that
 * a request can see without decoding it that the stored copy is one this ledger wrote. The `dated`
 * entries, when there are any, follow the records after "=~" (an "=" ends base64 for a reader that
 * does not know them), as id "." (hour × 2 + done, base 36), comma-separated. Earlier forms ("v2:",
 * 12-byte records with minutes; "v1:", all done) are read and rewritten.
 */
export interface StoredMemory {
	/** Packed records: "v3:" + writer + "@" + change + "@" + base hour + ":" + base64 [+ "=~" + dated entries] (also read: "v2:", "v1:"). */
	ksherSeen?: unknown;
	/** The unpacked form of early versions: "#" + key → epoch ms. Read, then replaced. */
	seen?: unknown;
	seenCount?: unknown;
	[key: string]: unknown;
}

export type ClaimState = 'started' | 'done';

/**
 * A claim on one notification's run: record() enters it as started, settle() says how it ended (see claim()),
 * giveUpAt() gives it a deadline after which the next copy settles it as `outcome` and runs (see inFlight()).
 */
export type Claim = {
	record: () => void;
	settle: (outcome: Outcome) => void;
	giveUpAt: (at: number, outcome: Outcome) => void;
};

/** How a claim ended: its run is done (true), none happened (false), it did not finish ('failed'), or n8n's answer never went out ('unanswered'). */
export type Outcome = boolean | 'failed' | 'unanswered';

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
/** Where the dated entries start in a packed copy. */
const DATED = '=~';
/** Tells this process's writings from other processes' (random, so a restart is another writer). */
const WRITER = randomBytes(6).toString('hex');
let ledgerCount = 0;

export class NotificationLedger {
	/** Notifications the memory holds within the replay window. */
	static readonly MAX_ENTRIES = 200_000;
	/**
	 * How far after its claim a notification may be dated and still be covered by its record alone: Ksher's
	 * times come before the claim, give or take clocks that disagree by minutes, or a time written in UTC+8
	 * rather than Bangkok's UTC+7. Further ahead, it is kept by its own time as well (`dated`).
	 */
	static readonly SLACK_MS = 2 * 3_600_000;
	/** How long an entry is kept at least, after its claim: the replay window, and SLACK_MS. */
	static readonly MAX_AGE_MS = REPLAY_WINDOW_MS + NotificationLedger.SLACK_MS;

	/** Notification id (7-byte hash, hex) → byte offset of its record in `records`. */
	private readonly slots = new Map<string, number>();
	/** The records in arrival order, from `start` to `end`; a record whose last byte is REMOVED was taken back. */
	private records = Buffer.alloc(RECORD_BYTES * 1024);
	private start = 0;
	private end = 0;
	/** The hour (since 1970) the records' hours count from; moved forward as time goes on (rebase). */
	private baseHour: number;
	/** Claims in flight: their outcome, and when to stop waiting for it (a run whose answer never comes). */
	private readonly pending = new Map<
		string,
		{ outcome: Promise<boolean>; deadline: number; abandon: () => void }
	>();
	/** Released claims: a stored copy saved before the release must not bring them back. */
	private readonly released = new Set<string>();
	/**
	 * Claims whose answer never went out (settle('unanswered'): Ksher closed the connection first). n8n may
	 * still store their run and save the request's own copy, which writes them done (persistInto's `own`):
	 * until this ledger sees them done, or claims them again, stored copies are decoded even when this
	 * ledger wrote them, so that done mark is read.
	 */
	private readonly unanswered = new Set<string>();
	/**
	 * Entries kept by their notification's time, not only their claim's: id → (hour it counts from) × 2 +
	 * done, that hour being the notification's own, less the hours MAX_AGE_MS exceeds the window by. A
	 * notification dated more than SLACK_MS after its claim is still inside the replay window when its
	 * record goes (its run would start again if it came then): it is kept here until it has left the
	 * window. Few, or none: only clocks that disagree by hours make them.
	 */
	private readonly dated = new Map<string, number>();
	/** The hour `dated` was last swept of entries that have left the window. */
	private datedSwept = -1;
	private packedCache: string | undefined;
	private datedCache: string | undefined;
	private version = 0;
	private readonly writer = `${WRITER}.${(ledgerCount++).toString(36)}`;
	/** What the static data holds: n8n serializes it (toJSON) when it saves, so it is never stale. */
	private readonly view = { toJSON: () => this.packed() };
	/** Whole hours an entry stays: every entry is kept at least maxAgeMs after its claim, and less than an hour more. */
	private readonly maxAgeHours: number;
	/** How many hours ahead of the clock a record may be dated: as many as the records' 7 bits leave after the window. */
	private readonly maxAheadHours: number;
	/** The replay window in whole hours: what a dated entry's hour is counted back from its notification's by. */
	private readonly windowHours = Math.ceil(REPLAY_WINDOW_MS / HOUR_MS);

	constructor(
		private readonly maxEntries = NotificationLedger.MAX_ENTRIES,
		maxAgeMs = NotificationLedger.MAX_AGE_MS,
		now = Date.now(),
	) {
		this.maxAgeHours = Math.ceil(maxAgeMs / HOUR_MS);
		this.maxAheadHours = Math.max(0, MAX_OFFSET - this.maxAgeHours - 1);
		this.baseHour = hourOf(now) - this.maxAgeHours - 1;
	}

	/**
	 * Merges entries from a stored copy (n8n's static data for this node). Returns whether
	 * the stored copy lacks something this ledger knows, i.e. whether it should be saved.
	 */
	absorb(stored: StoredMemory, now = Date.now()): boolean {
		this.expire(now);
		let known = 0;
		let knownDated = 0;
		let legacy = false;
		const copy = packedCopy(stored.ksherSeen);
		if (
			copy &&
			copy.prefix === PREFIX &&
			copy.writer === this.writer &&
			copy.version <= this.version &&
			this.unanswered.size === 0
		) {
			// Written by this ledger: everything in it is known (or was released or dropped since).
			known = copy.version === this.version ? this.slots.size : -1;
			knownDated = this.dated.size;
		} else if (copy) {
			forEachRecord(copy, (id, hour, done) => {
				if (this.take(id, hour, done, now)) known++;
			});
			forEachDated(copy, (id, hour, done) => {
				if (this.takeDated(id, hour, done, now)) knownDated++;
			});
		}
		if (typeof stored.seen === 'object' && stored.seen !== null && !Array.isArray(stored.seen)) {
			legacy = true;
			const old = stored.seen as Record<string, unknown>;
			for (const key of Object.keys(old)) {
				const at = old[key];
				if (typeof at === 'number' && Number.isFinite(at) && key.startsWith('#'))
					this.take(idOf(key.slice(1)), hourOf(at), true, now);
			}
		}
		for (const id of this.unanswered)
			if (this.stateOf(id, now) !== 'started') this.unanswered.delete(id);
		return (
			legacy ||
			(copy !== undefined && copy.prefix !== PREFIX) ||
			known !== this.slots.size ||
			knownDated !== this.dated.size
		);
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
		return this.stateOf(idOf(key), now);
	}

	private stateOf(id: string, now: number): ClaimState | undefined {
		const at = this.slots.get(id);
		const value = at === undefined ? undefined : this.records[at + ID_BYTES];
		if (value !== undefined && !this.tooOld(this.baseHour + (value >> 1), now))
			return (value & 1) === 1 ? 'done' : 'started';
		// Its record gone, a notification dated ahead is still kept by its own time.
		const dated = this.dated.get(id);
		if (dated === undefined || this.tooOld(dated >> 1, now)) return undefined;
		return (dated & 1) === 1 ? 'done' : 'started';
	}

	has(key: string, now = Date.now()): boolean {
		return this.state(key, now) !== undefined;
	}

	/** Whether the memory holds as many notifications of the window as it may: new ones must be refused. */
	full(now = Date.now()): boolean {
		this.expire(now);
		if (this.slots.size < this.maxEntries && this.dated.size < this.maxEntries) return false;
		// Entries taken in from another copy can sit behind newer ones: look at every one before refusing.
		for (const [id, at] of this.slots)
			if (this.tooOld(this.baseHour + (this.records[at + ID_BYTES] >> 1), now)) this.remove(id);
		return this.slots.size >= this.maxEntries || this.dated.size >= this.maxEntries;
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
	 * delivery runs it again, marked as a possible duplicate; settle('unanswered') leaves it started
	 * too (whether n8n stored its run is not known yet: a stored copy that says done makes it done).
	 * `datedAt` is the notification's own time (epoch ms), which the replay window measures from: an
	 * entry is kept until that has left the window, however far ahead of this clock it is.
	 */
	claim(key: string, giveUpAfterMs = Infinity, datedAt?: number): Claim {
		const id = idOf(key);
		let resolve!: (ran: boolean) => void;
		const outcome = new Promise<boolean>((r) => (resolve = r));
		const entry = {
			outcome,
			deadline: Date.now() + giveUpAfterMs,
			abandon: () => claim.settle('failed'),
		};
		this.pending.set(id, entry);
		this.released.delete(id);
		this.unanswered.delete(id);
		let settled = false;
		let recorded = false;
		/** Whether the memory held this key before this claim (a run started earlier, its end unknown). */
		let known = false;
		const claim: Claim = {
			// No timer: the deadline is checked by the next copy (inFlight), which then runs it again.
			giveUpAt: (at, given) => {
				if (settled) return;
				entry.deadline = Math.min(entry.deadline, at);
				entry.abandon = () => claim.settle(given);
			},
			record: () => {
				recorded = true;
				known = this.slots.has(id);
				const now = Date.now();
				this.put(id, hourOf(now), false, now);
				if (datedAt !== undefined && Number.isFinite(datedAt))
					this.takeDated(id, hourOf(datedAt) + this.windowHours - this.maxAgeHours, false, now);
			},
			settle: (result) => {
				if (settled) return;
				settled = true;
				this.pending.delete(id);
				const ran = result === true;
				const now = Date.now();
				if (ran) this.put(id, hourOf(now), true, now);
				else if (recorded && result === false && !known) {
					this.remove(id);
					if (this.dated.delete(id)) this.changed();
					if (this.released.size >= this.maxEntries) this.released.clear();
					this.released.add(id);
				} else if (recorded) {
					// It stays started: its run did not finish ('failed'), or may have been stored ('unanswered'),
					// or this claim was taken back (false) but the key was already held as started, and that
					// earlier run still happened: the next delivery must still say possibleDuplicate.
					if (result === 'unanswered') {
						if (this.unanswered.size >= 10_000) this.unanswered.clear();
						this.unanswered.add(id);
					}
					this.changed();
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

	/**
	 * Adds a stored entry unless it is released or expired; a stored "done" completes a "started". Returns
	 * whether it is known now. An entry dated ahead of this clock (another process's clock is ahead) is kept
	 * as dated, up to maxAheadHours (75) ahead; one dated further (an odd stored copy) is kept as if dated
	 * then: a record's 7 bits cannot say more, and the base hour must not jump past live records for it.
	 */
	private take(id: string, hour: number, done: boolean, now: number): boolean {
		if (this.released.has(id)) return false;
		if (this.tooOld(hour, now)) return false;
		const capped = Math.min(hour, hourOf(now) + this.maxAheadHours);
		const at = this.slots.get(id);
		if (at !== undefined) {
			if (done && (this.records[at + ID_BYTES] & 1) === 0 && !this.pending.has(id))
				this.put(id, capped, true, now);
			return true;
		}
		this.put(id, capped, done, now);
		return true;
	}

	/**
	 * Keeps an entry by its notification's time (`dated`) when its record would let it go first: `hour` is
	 * the one it counts from. A stored "done" completes a "started" unless that claim is in flight here.
	 * Returns whether it is known now.
	 */
	private takeDated(id: string, hour: number, done: boolean, now: number): boolean {
		if (this.released.has(id) || this.tooOld(hour, now)) return false;
		const at = this.slots.get(id);
		const value = this.dated.get(id);
		if (
			value === undefined &&
			at !== undefined &&
			this.baseHour + (this.records[at + ID_BYTES] >> 1) >= hour
		)
			return true;
		const mainDone = at !== undefined && (this.records[at + ID_BYTES] & 1) === 1;
		const next =
			(Math.max(hour, value === undefined ? hour : value >> 1) << 1) |
			(mainDone || (value !== undefined && (value & 1) === 1) || (done && !this.pending.has(id))
				? 1
				: 0);
		if (next !== value) {
			this.dated.set(id, next);
			this.changed();
		}
		return true;
	}

	private put(id: string, hour: number, done: boolean, now: number): void {
		const at = this.slots.get(id);
		if (at !== undefined) {
			// Only the state changes: the record keeps its place (its hour is when it was first claimed).
			if (done) {
				this.records[at + ID_BYTES] |= 1;
				const value = this.dated.get(id);
				if (value !== undefined) this.dated.set(id, value | 1);
			}
		} else {
			this.rebase(hour, now);
			this.reserve();
			this.records.write(id, this.end, ID_BYTES, 'hex');
			this.records[this.end + ID_BYTES] = (Math.max(0, hour - this.baseHour) << 1) | (done ? 1 : 0);
			this.slots.set(id, this.end);
			this.end += RECORD_BYTES;
		}
		this.changed();
	}

	/**
	 * Keeps `hour` (at most maxAheadHours ahead of now) within the 126 hours a record can count from the
	 * base: moves the base forward (every few days) and the live records' hours with it. The new base is
	 * counted from now, not from `hour`: counted from an entry dated hours ahead (as it was), it passed
	 * records still inside the window, and dropped them.
	 */
	private rebase(hour: number, now: number): void {
		if (hour - this.baseHour <= MAX_OFFSET) return;
		const next = hourOf(now) - this.maxAgeHours - 1;
		const shift = next - this.baseHour;
		for (let at = this.start; at < this.end; at += RECORD_BYTES) {
			const value = this.records[at + ID_BYTES];
			if (value === REMOVED) continue;
			const offset = (value >> 1) - shift;
			if (offset < 0) {
				// Older than the new base, so kept longer than maxAgeHours already: gone.
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
			if (value !== REMOVED)
				this.slots.delete(this.records.toString('hex', this.start, this.start + ID_BYTES));
			this.start += RECORD_BYTES;
			dropped = true;
		}
		if (this.dated.size > 0 && hourOf(now) !== this.datedSwept) {
			this.datedSwept = hourOf(now);
			for (const [id, value] of this.dated) {
				if (!this.tooOld(value >> 1, now)) continue;
				this.dated.delete(id);
				dropped = true;
			}
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
		this.datedCache = undefined;
	}

	private packed(doneId?: string): string {
		this.datedCache ??=
			this.dated.size === 0
				? ''
				: `${DATED}${[...this.dated].map(([id, value]) => `${id}.${value.toString(36)}`).join(',')}`;
		const ownDated = doneId === undefined ? undefined : this.dated.get(doneId);
		const dated =
			ownDated === undefined || (ownDated & 1) === 1
				? this.datedCache
				: this.datedCache.replace(
						`${doneId}.${ownDated.toString(36)}`,
						`${doneId}.${(ownDated | 1).toString(36)}`,
					);
		const records = this.packedRecords(doneId);
		return dated === '' ? records : `${records}${dated}`;
	}

	private packedRecords(doneId?: string): string {
		this.packedCache ??= `${PREFIX}${this.writer}@${this.version}@${this.baseHour}:${this.records.toString('base64', this.start, this.end)}`;
		const at = doneId === undefined ? undefined : this.slots.get(doneId);
		if (at === undefined || (this.records[at + ID_BYTES] & 1) === 1) return this.packedCache;
		// Every 3 records are exactly 32 base64 characters: the group holding this one is rewritten in place.
		const group = Math.floor((at - this.start) / (3 * RECORD_BYTES));
		const from = this.start + group * 3 * RECORD_BYTES;
		const bytes = Buffer.from(
			this.records.subarray(from, Math.min(from + 3 * RECORD_BYTES, this.end)),
		);
		bytes[at - from + ID_BYTES] |= 1;
		const chars = this.packedCache.indexOf(':', PREFIX.length) + 1 + group * 32;
		return `${this.packedCache.slice(0, chars)}${bytes.toString('base64')}${this.packedCache.slice(chars + Math.ceil(bytes.length / 3) * 4)}`;
	}
}

const hourOf = (ms: number): number => Math.floor(ms / HOUR_MS);

/** A packed stored copy: its form, who wrote it, at which change, its base hour (v3), and the text after its header. */
interface PackedCopy {
	prefix: string;
	writer: string;
	version: number;
	baseHour: number;
	text: string;
}

function packedCopy(packed: unknown): PackedCopy | undefined {
	if (typeof packed !== 'string') return undefined;
	const prefix = [PREFIX, PREFIX_V2, PREFIX_V1].find((p) => packed.startsWith(p));
	const header = prefix ? packed.indexOf(':', prefix.length) : -1;
	if (!prefix || header <= 0) return undefined;
	const [writer, version, base] = packed.slice(prefix.length, header).split('@');
	return {
		prefix,
		writer,
		version: Number(version),
		baseHour: Number(base),
		text: packed.slice(header + 1),
	};
}

/** A copy's records (base64) and dated entries; split only when decoded (a copy this ledger wrote is not). */
function partsOf(copy: PackedCopy): { records: string; dated: string } {
	const at = copy.prefix === PREFIX ? copy.text.indexOf(DATED) : -1;
	return at < 0
		? { records: copy.text, dated: '' }
		: { records: copy.text.slice(0, at), dated: copy.text.slice(at + DATED.length) };
}

/** Calls `each` for every live record of a packed copy in any form: its id, the hour it was claimed, whether its run is done. */
function forEachRecord(
	copy: PackedCopy,
	each: (id: string, hour: number, done: boolean) => void,
): void {
	const records = Buffer.from(partsOf(copy).records, 'base64');
	if (copy.prefix === PREFIX) {
		if (!Number.isSafeInteger(copy.baseHour)) return;
		for (let at = 0; at + RECORD_BYTES <= records.length; at += RECORD_BYTES) {
			const value = records[at + ID_BYTES];
			if (value !== REMOVED)
				each(
					records.toString('hex', at, at + ID_BYTES),
					copy.baseHour + (value >> 1),
					(value & 1) === 1,
				);
		}
		return;
	}
	for (let at = 0; at + OLD_RECORD_BYTES <= records.length; at += OLD_RECORD_BYTES) {
		const value = records.readUInt32BE(at + 8);
		if (value === 0) continue;
		const [minutes, done] =
			copy.prefix === PREFIX_V1 ? [value, true] : [Math.floor(value / 2), value % 2 === 1];
		each(records.toString('hex', at, at + ID_BYTES), Math.floor(minutes / 60), done);
	}
}

/** Calls `each` for every dated entry of a packed copy: its id, the hour it counts from, whether its run is done. */
function forEachDated(
	copy: PackedCopy,
	each: (id: string, hour: number, done: boolean) => void,
): void {
	const { dated } = partsOf(copy);
	if (dated === '') return;
	for (const entry of dated.split(',')) {
		const [id, text] = entry.split('.');
		const value = parseInt(text ?? '', 36);
		if (/^[0-9a-f]{14}$/.test(id) && Number.isSafeInteger(value) && value >= 0)
			each(id, Math.floor(value / 2), value % 2 === 1);
	}
}

/** 7 bytes of SHA-256 of the notification key, as hex: a new notification meets a stored one's id with odds of 1 in 10^11 at 200,000 entries. */
export function idOf(key: string): string {
	return createHash('sha256')
		.update(key, 'utf8')
		.digest('hex')
		.slice(0, ID_BYTES * 2);
}

/** The notification ids a stored copy holds (packed in any form, dated entries too, or the earlier form), for checks and tests. */
export function storedIds(stored: StoredMemory, state?: ClaimState): Set<string> {
	const ids = new Set<string>();
	const copy = packedCopy(stored.ksherSeen);
	if (copy) {
		const records = new Set<string>();
		forEachRecord(copy, (id, _hour, done) => {
			records.add(id);
			if (!state || (state === 'done') === done) ids.add(id);
		});
		// Dated entries whose records are gone (a record, where there is one, says the state).
		forEachDated(copy, (id, _hour, done) => {
			if (!records.has(id) && (!state || (state === 'done') === done)) ids.add(id);
		});
	}
	if (!state && typeof stored.seen === 'object' && stored.seen !== null)
		for (const key of Object.keys(stored.seen)) ids.add(idOf(key.slice(1)));
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
