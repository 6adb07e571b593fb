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

export interface WatchState {
	/** When watching began: when the order was paid, or first watched while unpaid (ISO 8601). */
	since: string;
	status: WatchStatus;
	/** Refunds already reported, as short ids of their refund numbers (see refundId). */
	refunds: string[];
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
const MAX_REMEMBERED_REFUNDS = 100;
const STATUSES: readonly WatchStatus[] = ['pending', 'paid', 'refunded', 'closed'];

/** 8 hex characters of SHA-256: refund numbers are up to 32 characters, a state stays short. */
export function refundId(refundNumber: string): string {
	return createHash('sha256').update(refundNumber, 'utf8').digest('hex').slice(0, 8);
}

/** The state as stored: compact JSON with a fixed key order, so equal states are equal strings. */
export function formatWatchState(state: WatchState): string {
	return JSON.stringify({ v: 1, since: state.since, status: state.status, refunds: state.refunds });
}

const bad = (why: string) =>
	new KsherInputError(
		'Last Watch State',
		`Last Watch State ${why}`,
		'Store the "watchState" this operation (or Create Payment, or the Ksher Trigger) output for the order, unchanged; leave it empty for an order not watched before.',
	);

/** Reads a stored state; empty means "never watched". Anything else malformed is refused, never guessed. */
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
	if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad('is not a watch state (expected a JSON object)');
	const s = parsed as Record<string, unknown>;
	if (s.v !== 1) throw bad(`has an unknown version ${JSON.stringify(s.v)}`);
	if (typeof s.since !== 'string' || Number.isNaN(Date.parse(s.since))) throw bad('has no valid "since" time');
	if (!STATUSES.includes(s.status as WatchStatus)) throw bad(`has an unknown status ${JSON.stringify(s.status)}`);
	if (!Array.isArray(s.refunds) || !s.refunds.every((r) => typeof r === 'string' && /^[0-9a-f]{8}$/.test(r))) throw bad('has a malformed "refunds" list');
	return { since: s.since, status: s.status as WatchStatus, refunds: s.refunds as string[] };
}

/** The state of an order that was just created (Create Payment) or just reported paid (the trigger). */
export function initialWatchState(status: 'pending' | 'paid', since: Date | string): string {
	return formatWatchState({ since: new Date(since).toISOString(), status, refunds: [] });
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

const succeeded = (r: KsherRefund) => /SUCCESS/.test(r.refund_state);
const idOf = (r: KsherRefund) => refundId(r.mch_refund_no || r.ksher_refund_no);

/**
 * What changed since `previous`, in the order it happened, each with the state after it.
 * - `paid` once, when an unpaid order is found paid (or fully refunded: it was paid first);
 * - `refunded` once per successful refund not reported before; where Ksher cannot list
 *   refunds, once when the order as a whole turns REFUND (no refund number or amount then);
 * - `closed` once, when an unpaid order is cancelled or expired. Failed attempts (PAYERROR)
 *   are not a change: the customer may still pay on the same link.
 */
export function watchChanges(previous: WatchState | undefined, seen: WatchObservation, now: Date): { changes: WatchChange[]; state: WatchState } {
	let state: WatchState = previous ?? { since: now.toISOString(), status: 'pending', refunds: [] };
	const changes: WatchChange[] = [];
	const move = (event: WatchEvent, next: Partial<WatchState>, refund?: KsherRefund) => {
		state = { ...state, ...next };
		changes.push({ event, refund, stateAfter: state });
	};
	const paid = seen.result === 'SUCCESS' || seen.result === 'REFUND';
	if (state.status === 'pending') {
		if (paid) move('paid', { status: 'paid', since: seen.paidAt && !Number.isNaN(Date.parse(seen.paidAt)) ? new Date(seen.paidAt).toISOString() : state.since });
		else if (seen.result === 'CLOSED') move('closed', { status: 'closed' });
	}
	if (state.status !== 'paid') return { changes, state };

	if (seen.refunds) {
		const done = seen.refunds.filter(succeeded);
		for (const refund of done) {
			const id = idOf(refund);
			if (state.refunds.includes(id)) continue;
			const reported = [...state.refunds, id];
			const reportedMinor = done.filter((r) => reported.includes(idOf(r))).reduce((sum, r) => sum + r.refund_fee, 0);
			// Fully refunded once what was reported covers the whole amount: nothing more can happen then.
			move('refunded', { refunds: reported.slice(-MAX_REMEMBERED_REFUNDS), status: reportedMinor >= seen.totalMinor ? 'refunded' : 'paid' }, refund);
		}
	} else if (seen.result === 'REFUND') {
		move('refunded', { status: 'refunded' });
	}
	return { changes, state };
}
