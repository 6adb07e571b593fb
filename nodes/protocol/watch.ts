import { createHash } from 'crypto';

import { KsherInputError } from './errors';
import type { KsherRefund } from './refunds';

/**
 * Watching orders for what Ksher never notifies (refunds, payments it did not report,
 * cancellations and expiries) without any memory of our own: the workflow stores a small
 * "watch state" per order (e.g. in a Data Table row) and hands it back on the next run.
 * Each change comes out with the state after it, so storing that state is what marks the
 * change as seen. Nothing here talks to Ksher; the operation feeds in what Ksher said.
 */

export type WatchStatus = 'pending' | 'paid' | 'refunded' | 'closed';

/**
 * Which refunds were already reported, in a size that does not grow with their number.
 *
 * Why not a list: it grows without end, and version 1 kept only the last 100 ids, so an order
 * with 101 refunds had all of them reported again on every run.
 *
 * What is kept: how many were reported (`count`) and the power sums P_j = Σ h^j mod p,
 * j = 1..min(count, 32), of a 61-bit hash h of each one's refund number (p = 2^61 − 1). Every
 * run has Ksher's whole list of the order's refunds, and the reported ones are a subset of it
 * of known size; the sums say which. If x candidates were not reported and x ≤ 32, the sums of
 * those x are the candidates' sums minus the stored ones; Newton's identities turn them into
 * the polynomial whose roots are exactly their hashes, and a candidate is unreported iff the
 * polynomial is 0 at its hash. With count ≤ 32 the reported ones are found the same way.
 *
 * Why it is exact: the polynomial's roots are the hashes of the set sought, so it finds that
 * set; a listed refund sharing a hash with one of them would be one root too many, which is
 * refused (an error, never a wrong report). A shared 61-bit hash among an order's N refunds has
 * probability ≤ N²/2^62 (about 1 in 10^13 for N = 1,000), and would only cause that error.
 * Every answer is also checked against the stored count and sums before it is used: with
 * count ≤ 32 they fix the set of hashes exactly; with more, a wrong set passing all 32 sums
 * (only possible after a wrong hint, below) has probability about 2^-61.
 *
 * Why x stays small: the candidates leave out what cannot have been reported, using two hints,
 * each only trusted once the check above passes (if not, the next, wider choice is tried):
 * - `within`: every reported refund was among the first `within` of Ksher's list, and
 *   refunds are reported in list order, so a list that only grows at its end puts everything
 *   new after them, also what a run stopped before reporting;
 * - `latest`: the newest Ksher refund time among the reported; a refund made after a run is
 *   stamped no earlier, so one stamped later was not reported, whatever the list order;
 * and refunds not successful now were never reported (a failed one never is, one processing is
 * when it succeeds). What can then still be unreported among the candidates: with a list that
 * keeps its order, only refunds already listed but not yet successful at a run that have
 * succeeded since, stamped no later than `latest` (e.g. stamped when they were asked for); with
 * a list in another order, also refunds stamped in the same second as `latest` that were made
 * after the run, or that a run stopped before reporting. Only if those are more than 32 while
 * more than 32 were reported can the refunds not be told apart: the run then stops with an
 * error for that order, reporting nothing rather than guessing (the error says how to go on).
 */
export interface ReportedRefunds {
	/** How many refunds were reported. */
	count: number;
	/** Every reported refund was among the first `within` of Ksher's list. */
	within: number;
	/** Ksher's refund time (Bangkok, `YYYY-MM-DD HH:mm:ss`) of the newest one reported; "" if none had one. */
	latest: string;
	/** P_1..P_m of the reported refunds' hashes, m = min(count, SKETCH_SUMS). */
	sums: readonly bigint[];
}

/** A state stored by version 1: short ids of the refunds reported, at most the last 100 (see refundId). */
export interface LegacyReportedRefunds {
	legacyIds: readonly string[];
}

export interface WatchState {
	/** When watching began: when the order was paid, or first watched while unpaid (ISO 8601). */
	since: string;
	status: WatchStatus;
	/** Refunds already reported. A version 1 state is read as it was stored and written in version 2 with the next change. */
	refunds: ReportedRefunds | LegacyReportedRefunds;
}

export type WatchEvent = 'paid' | 'refunded' | 'closed';

export interface WatchChange {
	event: WatchEvent;
	/** The refund this change is about; absent for a refund seen only as the order's REFUND state. */
	refund?: KsherRefund;
	/** The state to store once this change is handled. */
	stateAfter: WatchState;
}

export const DEFAULT_WATCH_DAYS = 30;
/** How many power sums a state keeps: up to this many unreported (or reported) refunds can be told apart in one run. */
export const SKETCH_SUMS = 32;
/**
 * The longest watch state this version writes after a change, in characters (all ASCII, so also
 * bytes), for any number of refunds: {"v":2,"since":<27>,"status":<8>,"refunds":<16 digits>,
 * "within":<16 digits>,"latest":<19>,"sums":<32 × 12 base-36 digits, 31 dots>} = 574. (A new
 * order's state, initialWatchState, is the version 1 form with no refunds, under 100 characters.
 * A version 1 state stored by an older version, up to about 1,100 characters with its 100 ids,
 * is read as it is and replaced by the next change's state.)
 */
export const MAX_WATCH_STATE_LENGTH = 574;
const LEGACY_MAX_REMEMBERED = 100;
const P = (BigInt(1) << BigInt(61)) - BigInt(1);
const STATUSES: readonly WatchStatus[] = ['pending', 'paid', 'refunded', 'closed'];
const NONE: ReportedRefunds = { count: 0, within: 0, latest: '', sums: [] };

const isLegacy = (r: WatchState['refunds']): r is LegacyReportedRefunds => 'legacyIds' in r;

/** Version 1's short id of a refund: 8 hex characters of SHA-256 of its refund number. Only read now, to understand old states. */
export function refundId(refundNumber: string): string {
	return createHash('sha256').update(refundNumber, 'utf8').digest('hex').slice(0, 8);
}

/** The 61-bit hash a state's sums are made of (64 bits of SHA-256, mod p). */
function refundHash(refundNumber: string): bigint {
	return (
		BigInt(`0x${createHash('sha256').update(refundNumber, 'utf8').digest('hex').slice(0, 16)}`) % P
	);
}

/** Ksher's time as `YYYY-MM-DD HH:mm:ss` (which sorts as text), or "" when it is not one. */
function ksherTime(value: string): string {
	const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)$/.exec(value.trim());
	return m ? `${m[1]} ${m[2]}` : '';
}

/**
 * The state as stored: compact JSON with a fixed key order, so equal states are equal strings.
 * A version 1 state not yet matched against Ksher's list is written back exactly as it was read.
 */
export function formatWatchState(state: WatchState): string {
	const r = state.refunds;
	if (isLegacy(r))
		return JSON.stringify({ v: 1, since: state.since, status: state.status, refunds: r.legacyIds });
	return JSON.stringify({
		v: 2,
		since: new Date(state.since).toISOString(),
		status: state.status,
		refunds: r.count,
		within: r.within,
		latest: r.latest,
		sums: r.sums.map((s) => s.toString(36)).join('.'),
	});
}

const bad = (why: string) =>
	new KsherInputError(
		'Last Watch State',
		`Last Watch State ${why}`,
		'Store the "watchState" this operation (or Create Payment, or the Ksher Trigger) output for the order, unchanged; leave it empty for an order not watched before.',
	);

/** Reads a stored state (version 1 or 2); empty means "never watched". Anything else malformed is refused, never guessed. */
export function parseWatchState(value: unknown): WatchState | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	let parsed: unknown = value;
	if (typeof value === 'string') {
		try {
			parsed = JSON.parse(value);
		} catch {
			throw bad(`is not a watch state (not JSON): "${value.slice(0, 40)}"`);
		}
	}
	if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
		throw bad('is not a watch state (expected a JSON object)');
	const s = parsed as Record<string, unknown>;
	if (s.v !== 1 && s.v !== 2) throw bad(`has an unknown version ${JSON.stringify(s.v)}`);
	if (typeof s.since !== 'string' || Number.isNaN(Date.parse(s.since)))
		throw bad('has no valid "since" time');
	if (!STATUSES.includes(s.status as WatchStatus))
		throw bad(`has an unknown status ${JSON.stringify(s.status)}`);
	const base = { since: s.since, status: s.status as WatchStatus };
	if (s.v === 1) {
		if (
			!Array.isArray(s.refunds) ||
			!s.refunds.every((r) => typeof r === 'string' && /^[0-9a-f]{8}$/.test(r))
		)
			throw bad('has a malformed "refunds" list');
		return { ...base, refunds: { legacyIds: s.refunds as string[] } };
	}
	// Version 2 is only ever written by formatWatchState: anything it would not write is refused.
	if (new Date(s.since).toISOString() !== s.since) throw bad('has no valid "since" time');
	const count = s.refunds;
	if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0)
		throw bad('has a malformed "refunds" count');
	const within = s.within;
	if (typeof within !== 'number' || !Number.isSafeInteger(within) || within < count)
		throw bad('has a malformed "within" count');
	if (typeof s.latest !== 'string' || (s.latest !== '' && ksherTime(s.latest) !== s.latest))
		throw bad('has a malformed "latest" refund time');
	const digits = typeof s.sums === 'string' ? (s.sums === '' ? [] : s.sums.split('.')) : undefined;
	const sums = digits?.every((d) => /^[0-9a-z]{1,12}$/.test(d)) ? digits.map(base36) : undefined;
	if (!sums || sums.length !== Math.min(count, SKETCH_SUMS) || sums.some((n) => n >= P))
		throw bad('has malformed "sums"');
	return { ...base, refunds: { count, within, latest: s.latest, sums } };
}

function base36(digits: string): bigint {
	let n = BigInt(0);
	for (const d of digits) n = n * BigInt(36) + BigInt(parseInt(d, 36));
	return n;
}

/**
 * The state of an order that was just created (Create Payment) or just reported paid (the trigger).
 * Still written in the version 1 form: with no refunds it is exact, every version reads it, and
 * it is what those outputs have always held.
 */
export function initialWatchState(status: 'pending' | 'paid', since: Date | string): string {
	return formatWatchState({
		since: new Date(since).toISOString(),
		status,
		refunds: { legacyIds: [] },
	});
}

/** Orders are watched for `days` after `since`; fully refunded and closed orders are finished. */
export function isWatched(state: WatchState | undefined, now: Date, days: number): boolean {
	if (!state) return true;
	if (state.status === 'refunded' || state.status === 'closed') return false;
	return now.getTime() - Date.parse(state.since) <= days * 86_400_000;
}

export interface WatchObservation {
	/** gateway_order_query's `result`. */
	result: string;
	/** When Ksher says it was paid (ISO), if paid. */
	paidAt: string | null;
	totalMinor: number;
	/** The order's refunds, or undefined when Ksher cannot list them for this order. */
	refunds: KsherRefund[] | undefined;
}

/** One refund of Ksher's list, with what the state needs of it. */
interface Listed {
	refund: KsherRefund;
	/** Its place in the list (0-based, each refund number counted once). */
	position: number;
	succeeded: boolean;
	time: string;
	legacyId: string;
	hash: bigint;
}

/** Ksher's list, one entry per refund number (a refund listed twice counts once, as successful if either says so). */
function listed(refunds: KsherRefund[]): Listed[] {
	const byNumber = new Map<string, Listed>();
	for (const refund of refunds) {
		const number = refund.mch_refund_no || refund.ksher_refund_no;
		const entry: Listed = {
			refund,
			position: byNumber.size,
			succeeded: /SUCCESS/.test(refund.refund_state),
			time: ksherTime(refund.refund_time),
			legacyId: refundId(number),
			hash: refundHash(number),
		};
		const known = byNumber.get(number);
		if (!known) byNumber.set(number, entry);
		else if (!known.succeeded && entry.succeeded)
			byNumber.set(number, { ...entry, position: known.position });
	}
	return [...byNumber.values()];
}

const mod = (n: bigint) => ((n % P) + P) % P;

function inverse(n: bigint): bigint {
	let result = BigInt(1);
	let base = mod(n);
	for (let e = P - BigInt(2); e > BigInt(0); e >>= BigInt(1)) {
		if (e & BigInt(1)) result = (result * base) % P;
		base = (base * base) % P;
	}
	return result;
}

/** P_1..P_m of the refunds' hashes. */
function powerSums(refunds: readonly Listed[], m: number): bigint[] {
	const sums = new Array<bigint>(m).fill(BigInt(0));
	for (const { hash } of refunds) {
		let power = BigInt(1);
		for (let j = 0; j < m; j++) {
			power = (power * hash) % P;
			sums[j] += power;
		}
	}
	return sums.map(mod);
}

/**
 * The refunds among `candidates` whose hashes have the power sums `sums` (P_1..P_t, t of them):
 * Newton's identities give the elementary symmetric polynomials e_1..e_t of those hashes, i.e.
 * Q(x) = Π (x − h) = Σ (−1)^j e_j x^(t−j), and a candidate belongs iff Q(its hash) = 0.
 * Undefined unless exactly t candidates do (a shared hash, or sums that are no such subset).
 */
function withPowerSums(
	candidates: readonly Listed[],
	sums: readonly bigint[],
): Listed[] | undefined {
	const t = sums.length;
	const e = [BigInt(1)];
	for (let j = 1; j <= t; j++) {
		let acc = BigInt(0);
		for (let i = 1; i <= j; i++)
			acc += (i % 2 === 1 ? BigInt(1) : P - BigInt(1)) * ((e[j - i] * sums[i - 1]) % P);
		e.push((mod(acc) * inverse(BigInt(j))) % P);
	}
	const coefficients = e.map((c, j) => (j % 2 === 1 ? mod(-c) : c));
	const found = candidates.filter(
		({ hash }) => coefficients.reduce((acc, c) => (acc * hash + c) % P, BigInt(0)) === BigInt(0),
	);
	return found.length === t ? found : undefined;
}

/** The reported refunds among `candidates`, if they can be among them (see ReportedRefunds), checked against the stored sums. */
function reportedWithin(
	candidates: readonly Listed[],
	memory: ReportedRefunds,
): Listed[] | undefined {
	const n = memory.count;
	const m = memory.sums.length;
	const unreported = candidates.length - n;
	if (unreported < 0) return undefined;
	let reported: Listed[] | undefined;
	if (unreported === 0) reported = [...candidates];
	else if (n === 0) reported = [];
	else if (n <= m && n <= unreported) reported = withPowerSums(candidates, memory.sums);
	else if (unreported <= m) {
		const all = powerSums(candidates, unreported);
		const rest = withPowerSums(
			candidates,
			all.map((s, j) => mod(s - memory.sums[j])),
		);
		const left = new Set(rest);
		reported = rest && candidates.filter((c) => !left.has(c));
	}
	if (!reported || reported.length !== n) return undefined;
	const check = powerSums(reported, m);
	return check.every((s, j) => s === memory.sums[j]) ? reported : undefined;
}

/** Which of Ksher's listed refunds the state says were reported already. */
function reportedAmong(
	memory: WatchState['refunds'],
	list: readonly Listed[],
): Listed[] | undefined {
	if (isLegacy(memory)) {
		const ids = new Set(memory.legacyIds);
		const kept = list.filter((r) => ids.has(r.legacyId));
		// Version 1 dropped the oldest ids only once it had more than 100, so a shorter list is all that was
		// reported. (Its ids are 32 bits: a refund matching one of 100 kept ids by chance, p ≈ 100/2^32 ≈ 2·10^-8
		// per refund, counts as reported; that is all the old state holds.)
		if (memory.legacyIds.length < LEGACY_MAX_REMEMBERED) return kept;
		// A full list may have forgotten some. Version 1 reported every refund successful when it ran
		// (its list only fills up by reporting), in list order, and kept the last 100 it reported; so
		// what is not in the list was either forgotten or succeeded after its last run, and it cannot
		// tell which. What it can tell: a refund Ksher stamped later than the newest one it kept, or
		// listed after the last one it kept, was made after that run (refunds are stamped when made
		// and listed in the order made): new. Any other is taken as reported, so nothing is reported
		// twice; a refund it could not know of, stamped no later and listed before (one processing
		// then, succeeding since), is not reported. (A forgotten one looks new only if listed after,
		// or stamped later than, all 100 kept: with a list in the order made, that takes version 1
		// stopping mid-run right after reporting 100 refunds that had been processing.)
		const newest = kept.reduce((t, r) => (r.time > t ? r.time : t), '');
		const lastKept = kept.reduce((at, r) => Math.max(at, r.position), -1);
		return list.filter(
			(r) => ids.has(r.legacyId) || (r.succeeded && !(r.time > newest) && r.position < lastKept),
		);
	}
	// Narrowest first: both hints, each alone, neither; then not even "successful now" (a refund
	// reported and since failed). Each answer is checked against the stored count and sums.
	const early = (r: Listed) => r.position < memory.within;
	const notLater = (r: Listed) => !(r.time > memory.latest);
	const succeeded = list.filter((r) => r.succeeded);
	const tries = [
		succeeded.filter((r) => early(r) && notLater(r)),
		succeeded.filter(notLater),
		succeeded.filter(early),
		succeeded,
		[...list],
	];
	const tried: Array<Set<Listed>> = [];
	for (const candidates of tries) {
		if (tried.some((t) => t.size === candidates.length && candidates.every((c) => t.has(c))))
			continue;
		tried.push(new Set(candidates));
		const reported = reportedWithin(candidates, memory);
		if (reported) return reported;
	}
	return undefined;
}

/** What a state records of a set of reported refunds, kept up to date one refund at a time. */
class Memory {
	private readonly hashes: bigint[];
	private readonly sums: bigint[];
	private count: number;
	private within: number;
	private latest: string;

	/** `sums`: the reported refunds' sums when already known (checked against the stored ones). */
	constructor(reported: readonly Listed[], sums?: readonly bigint[]) {
		this.count = reported.length;
		this.hashes = reported.map((r) => r.hash);
		this.sums = sums ? [...sums] : powerSums(reported, Math.min(this.count, SKETCH_SUMS));
		this.within = reported.reduce((w, r) => Math.max(w, r.position + 1), 0);
		this.latest = reported.reduce((t, r) => (r.time > t ? r.time : t), '');
	}

	add(refund: Listed): void {
		this.count++;
		this.within = Math.max(this.within, refund.position + 1);
		if (refund.time > this.latest) this.latest = refund.time;
		let power = BigInt(1);
		for (let j = 0; j < this.sums.length; j++) {
			power = (power * refund.hash) % P;
			this.sums[j] = (this.sums[j] + power) % P;
		}
		if (this.count <= SKETCH_SUMS) {
			// One more sum is kept while there are few: P_count over all of them (at most 32 hashes).
			this.hashes.push(refund.hash);
			const j = BigInt(this.count);
			this.sums.push(this.hashes.reduce((s, h) => (s + modPow(h, j)) % P, BigInt(0)));
		}
	}

	snapshot(): ReportedRefunds {
		return { count: this.count, within: this.within, latest: this.latest, sums: [...this.sums] };
	}
}

function modPow(base: bigint, exponent: bigint): bigint {
	let result = BigInt(1);
	let b = mod(base);
	for (let e = exponent; e > BigInt(0); e >>= BigInt(1)) {
		if (e & BigInt(1)) result = (result * b) % P;
		b = (b * b) % P;
	}
	return result;
}

const safeMinor = (r: Listed) =>
	Number.isSafeInteger(r.refund.refund_fee) ? r.refund.refund_fee : 0;

/**
 * What changed since `previous`, in the order it happened, each with the state after it.
 * - `paid` once, when an unpaid order is found paid (or fully refunded: it was paid first);
 * - `refunded` once per successful refund not reported before, in Ksher's list order; where
 *   Ksher cannot list refunds, once when the order as a whole turns REFUND (no refund number
 *   or amount then). A refund still processing is reported when it succeeds, a failed one never;
 * - `closed` once, when an unpaid order is cancelled or expired. Failed attempts (PAYERROR)
 *   are not a change: the customer may still pay on the same link.
 * Every state after a change is written in version 2, whatever `previous` was.
 */
export function watchChanges(
	previous: WatchState | undefined,
	seen: WatchObservation,
	now: Date,
): { changes: WatchChange[]; state: WatchState } {
	const list = seen.refunds ? listed(seen.refunds) : undefined;
	let memory: Memory | undefined;
	let refunds: ReportedRefunds = NONE;
	let reported = new Set<Listed>();
	if (list) {
		const found = previous ? reportedAmong(previous.refunds, list) : [];
		if (!found) throw unmatched(previous!, list);
		reported = new Set(found);
		memory = new Memory(
			found,
			previous && !isLegacy(previous.refunds) ? previous.refunds.sums : undefined,
		);
		refunds = memory.snapshot();
	} else if (previous && !isLegacy(previous.refunds)) {
		refunds = previous.refunds;
	}
	// Without Ksher's list a version 1 state cannot be matched, and it need not be: the only changes
	// then are `paid` from a pending state (which version 1 never wrote with refunds) and the final
	// `refunded`/`closed` (a finished order is never checked again).
	let state: WatchState = previous
		? { ...previous, refunds }
		: { since: now.toISOString(), status: 'pending', refunds };
	const changes: WatchChange[] = [];
	const move = (event: WatchEvent, next: Partial<WatchState>, refund?: KsherRefund) => {
		state = { ...state, ...next };
		changes.push({ event, refund, stateAfter: state });
	};
	const paid = seen.result === 'SUCCESS' || seen.result === 'REFUND';
	if (state.status === 'pending') {
		if (paid)
			move('paid', {
				status: 'paid',
				since:
					seen.paidAt && !Number.isNaN(Date.parse(seen.paidAt))
						? new Date(seen.paidAt).toISOString()
						: state.since,
			});
		else if (seen.result === 'CLOSED') move('closed', { status: 'closed' });
	}
	if (state.status !== 'paid') return { changes, state };

	if (list && memory) {
		let reportedMinor = [...reported]
			.filter((r) => r.succeeded)
			.reduce((sum, r) => sum + safeMinor(r), 0);
		for (const refund of list) {
			if (!refund.succeeded || reported.has(refund)) continue;
			reported.add(refund);
			memory.add(refund);
			reportedMinor += safeMinor(refund);
			// Fully refunded once what was reported covers the whole amount: nothing more can happen then.
			move(
				'refunded',
				{
					refunds: memory.snapshot(),
					status: reportedMinor >= seen.totalMinor ? 'refunded' : 'paid',
				},
				refund.refund,
			);
		}
	} else if (seen.result === 'REFUND') {
		move('refunded', { status: 'refunded' });
	}
	return { changes, state };
}

/** The state cannot be matched to Ksher's list: report nothing (no guess), say why, and how to go on. */
function unmatched(previous: WatchState, list: readonly Listed[]): KsherInputError {
	const r = previous.refunds as ReportedRefunds;
	const succeeded = list.filter((x) => x.succeeded);
	const everything = formatWatchState({ ...previous, refunds: new Memory(succeeded).snapshot() });
	return new KsherInputError(
		'Last Watch State',
		`Last Watch State records ${r.count} refunds reported, which cannot be matched to the ${list.length} refunds Ksher lists for this order (${succeeded.length} successful); nothing was reported, to avoid repeating or missing one`,
		`This happens when the state belongs to another order, or when, on an order with more than ${SKETCH_SUMS} refunds reported, more than ${SKETCH_SUMS} refunds succeeded since the state was stored that Ksher neither lists after the reported ones nor stamps later than the newest of them (refunds that were processing then, or made in the same second with Ksher listing them out of order). Check the order's refunds (Refund → Get Many, or the Ksher portal) and handle those not handled yet by hand; then, to count all ${succeeded.length} successful refunds as reported, store this state: ${everything}`,
	);
}
