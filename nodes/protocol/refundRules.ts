import { fromMinorUnits, toMinorUnits } from './amounts';
import { channelName } from './channels';
import { KsherInputError } from './errors';
import { rowPlace, type RowRef } from './refundAmounts';
import { deriveRefundNumber, refundedMinor, type KsherRefund, type PaidOrder } from './refunds';

/**
 * The refund rules, once: what a row may refund given what is known of its order and of the
 * run's earlier rows. The sheet's check (refundPlan.ts), its preview and every send
 * (refundSend.ts) decide through `decideRefund`, so what a check or a preview says is what a run
 * does. What cannot be known before sending is said in the decision (`unchecked`), never guessed.
 */

/** One row's refund, its form already checked (checkRefundAmount, checkKsherId). */
export interface RefundRequest extends RowRef {
	orderNumber: string;
	/** Major-unit decimal text, or `remaining` for everything not yet refunded (asked for explicitly). */
	amount: string | 'remaining';
	/** The user's own refund number; derived from the order and the amount when absent. */
	refundNumber?: string;
	/** The channel of a QR payment (Create QR), looked up on Ksher's api.mch host; absent for a payment link. */
	qrChannel?: string;
}

/** One key per order a request names: a QR payment and a payment link are different orders at Ksher. */
export const orderKey = (request: Pick<RefundRequest, 'orderNumber' | 'qrChannel'>): string =>
	`${request.qrChannel ?? 'link'}\u0000${request.orderNumber}`;

/**
 * What is known of the payment's refunds: Ksher's list; `unlisted` when Ksher cannot list them
 * (PromptPay, Alipay); `unread` when a row sent on its own did not ask (an ordinary amount: Ksher
 * itself refuses more than remains, so the row costs two calls, not three).
 */
export type RefundsKnown = KsherRefund[] | 'unlisted' | 'unread';

/** Whether the account takes partial refunds (merchant_info `allow_partial_refund`): `unread` when not asked. */
export type PartialRefunds = 'allowed' | 'refused' | 'unknown' | 'unread';

/**
 * Earlier rows of this run: what each refund number means (also for rows that failed: a number
 * is one refund, whether or not its first row could be refunded), and what each order's rows
 * take, of which how much by rows Ksher may still refuse (`uncertain`).
 */
export class RunMemory {
	readonly numbers = new Map<
		string,
		{
			row: number;
			orderNumber: string;
			/** The order as orderKey names it: a payment link and a QR under one number are two orders. */
			key: string;
			amount: number | undefined;
			currency: string;
			failed: boolean;
		}
	>();
	readonly planned = new Map<
		string,
		{ amount: number; rows: number[]; uncertain: number; uncertainRows: number[] }
	>();

	/**
	 * @param independent rows are sent on their own, each whatever became of the earlier ones (Check All
	 * Rows First off): a row that fits only if an earlier uncertain row is refused may then still go through.
	 */
	constructor(readonly independent = false) {}

	/** What this run's earlier rows take of the order (by orderKey). */
	plannedFor(key: string): {
		amount: number;
		rows: number[];
		uncertain: number;
		uncertainRows: number[];
	} {
		let entry = this.planned.get(key);
		if (!entry)
			this.planned.set(key, (entry = { amount: 0, rows: [], uncertain: 0, uncertainRows: [] }));
		return entry;
	}

	/** A row whose refund number is known but that (so far) cannot be refunded: later rows with its number are judged by it. */
	failedRow(
		request: RefundRequest,
		refundNumber: string,
		asked: number | undefined,
		currency: string,
	): void {
		this.numbers.set(refundNumber, {
			row: request.row,
			orderNumber: request.orderNumber,
			key: orderKey(request),
			amount: asked,
			currency,
			failed: true,
		});
	}
}

interface DecisionBase {
	request: RefundRequest;
	order: PaidOrder;
	refundNumber: string;
	/** The amount the row asked for in minor units; undefined for everything that remains. */
	asked: number | undefined;
	/** What remained of the payment before / after this row, earlier rows of this run counted; null when unknown. */
	remainingBefore: number | null;
	remainingAfter: number | null;
}

/**
 * What a row does: `refund` (send `amount`), `done` (Ksher already has this refund: a re-run),
 * `sameAsRow` (an earlier row of this run is this very refund).
 */
export type RefundDecision = DecisionBase &
	(
		| {
				action: 'refund';
				amount: number;
				/** Why the check cannot vouch for this row (Ksher may still refuse it); empty when fully checked. */
				unchecked: string[];
		  }
		| {
				action: 'done';
				amount: number;
				existing: KsherRefund;
				note?: string;
				amountUnknown?: boolean;
				/** Nothing more can be refunded, but no refund of this row's can be shown: the output names none. */
				unconfirmed?: boolean;
		  }
		| { action: 'sameAsRow'; amount: number; sameAsRow: number }
	);

export const money = (minor: number, currency: string): string =>
	`${fromMinorUnits(minor, currency)} ${currency}`;

/** Earlier rows of this run take (or took) all of the payment, so this row cannot be refunded. */
export function nothingRemainsAfter(
	orderNumber: string,
	rows: number[],
	note = '',
): KsherInputError {
	return new KsherInputError(
		'Refund Amount',
		`Nothing remains of order ${orderNumber} after row${rows.length > 1 ? 's' : ''} ${rows.join(', ')} of this run${note}`,
		'Remove this row, or lower the amounts of the earlier rows.',
	);
}

export function fullyRefunded(orderNumber: string, order: PaidOrder): KsherInputError {
	return new KsherInputError(
		'Order Number',
		`Order Number ${orderNumber} is already fully refunded (${money(order.total, order.currency)})`,
		'Nothing is left to refund. Use Refund → Get Many to see its refunds.',
	);
}

export function exceedsRemaining(
	orderNumber: string,
	order: PaidOrder,
	amount: number,
	remaining: number,
	earlierRows: number[] = [],
): KsherInputError {
	const m = (minor: number) => fromMinorUnits(minor, order.currency);
	const after = earlierRows.length
		? ` after row${earlierRows.length > 1 ? 's' : ''} ${earlierRows.join(', ')} of this run`
		: '';
	return new KsherInputError(
		'Refund Amount',
		`Refund Amount ${m(amount)} ${order.currency} exceeds what remains of order ${orderNumber}${after}: ${m(remaining)} of ${m(order.total)} ${order.currency}`,
		`Refund at most ${m(remaining)}, or choose "Everything That Remains" to refund what is left.`,
	);
}

/** A refund number Ksher (or an earlier row) holds for another amount: never "done", always an error. */
export function numberUsedForOtherAmount(
	refundNumber: string,
	orderNumber: string,
	used: number,
	asked: number,
	currency: string,
	ref: RowRef,
): KsherInputError {
	return new KsherInputError(
		'Refund Number',
		`Refund Number ${refundNumber} was already used for a refund of ${money(used, currency)} of order ${orderNumber}, not ${money(asked, currency)} (row ${ref.row})`,
		'Give this refund its own Refund Number, or correct the amount. Nothing was refunded for this row.',
	);
}

export function partialRefused(
	orderNumber: string,
	order: PaidOrder,
	amount: number,
): KsherInputError {
	return new KsherInputError(
		'Refund Amount',
		`Refund Amount ${money(amount, order.currency)} of order ${orderNumber} is a partial refund, and partial refunds are not enabled for this Ksher account [KSHER_INVALID_REFUND_AMOUNT]`,
		'Choose "Everything That Remains" to refund the whole payment, or ask Ksher to enable partial refunds for your account.',
	);
}

/** A refund Ksher holds under this number that failed: its number is spent, and the row was not refunded. */
export function refundFailedAtKsher(
	refund: KsherRefund,
	orderNumber: string,
	ref: RowRef,
): KsherInputError {
	return new KsherInputError(
		'Refund Number',
		`Refund ${refund.mch_refund_no} of order ${orderNumber} failed at Ksher (${refund.refund_state}), so this row was not refunded, and Ksher takes a refund number once (row ${ref.row})`,
		'Give this row a new Refund Number to refund it again, after checking the failure in the Ksher merchant portal.',
	);
}

/** Whether Ksher reports a refund as failed or closed (it does not count against the payment). */
export const failed = (refund: KsherRefund): boolean => /FAIL|CLOSE/.test(refund.refund_state);

/**
 * Refund numbers the node makes (deriveRefundNumber) are its own: a re-run finds its refund by
 * them, even where Ksher cannot list refunds. A number of the user's in that form for another
 * order (`B-R500` on order A), or in the hashed form, would pass for that order's refund there,
 * so it is refused. Same-order numbers such as INV-1001-R1 stay allowed (a common scheme).
 */
function checkOwnNumber(request: RefundRequest, derived: string): void {
	const given = request.refundNumber;
	if (!given || given === derived) return;
	const prefix = /^(.*)-[RQ](?:\d+|ALL)$/.exec(given)?.[1];
	if ((prefix !== undefined && prefix !== request.orderNumber) || /^R[0-9a-f]{31}$/.test(given)) {
		throw new KsherInputError(
			'Refund Number',
			`Refund Number ${given} has the form of the numbers the node makes for another order's refunds ${rowPlace(request)}`,
			`Use another form for your own numbers, e.g. ${request.orderNumber}-RF1, or leave Refund Number empty. Nothing was refunded for this row.`,
		);
	}
}

export const UNLISTED_NOTE =
	'Ksher reports this payment as fully refunded and cannot list its refunds (PromptPay, Alipay), so whether this refund is among them cannot be shown; nothing was sent. Check the merchant portal if in doubt.';

/**
 * A refund of a payment whose refunds Ksher cannot list (PromptPay, Alipay), as far as it can be
 * told: its number and the amount it stands for, no Ksher numbers or time. The output says which
 * of those it cannot vouch for (amountUnknown, unconfirmed).
 */
export function unlistedDone(refundNumber: string, amount: number): KsherRefund {
	return {
		mch_refund_no: refundNumber,
		ksher_refund_no: '',
		channel_refund_no: '',
		refund_fee: amount,
		refund_state: 'REFUNDSUCCESS',
		refund_time: '',
	};
}

/** The amount a row asks for in minor units (undefined: everything that remains), checked against the payment's currency. */
export function askedMinor(request: RefundRequest, order: PaidOrder): number | undefined {
	return request.amount === 'remaining'
		? undefined
		: toMinorUnits(request.amount, order.currency, { field: 'Refund Amount' });
}

/** The refund number a row uses: the user's, or the one derived from what the refund is. */
export function refundNumberOf(request: RefundRequest, asked: number | undefined): string {
	return request.refundNumber || derivedNumberOf(request, asked);
}

/** The refund number the node makes for this row (deriveRefundNumber), a QR payment's in its own form. */
export function derivedNumberOf(request: RefundRequest, asked: number | undefined): string {
	return deriveRefundNumber(request.orderNumber, asked ?? 'all', request.qrChannel !== undefined);
}

/**
 * Decides one row from what is known (see RefundsKnown, PartialRefunds) and the run's earlier
 * rows, and records it in `memory` when it refunds. Throws the row's input error.
 */
export function decideRefund(
	request: RefundRequest,
	order: PaidOrder,
	refunds: RefundsKnown,
	partial: PartialRefunds,
	memory: RunMemory,
): RefundDecision {
	const { orderNumber } = request;
	const { currency } = order;
	const asked = askedMinor(request, order);
	const refundNumber = refundNumberOf(request, asked);
	// An earlier row of this run with the same number is judged below; this row's own number is
	// remembered now as failed, and as refunding once this row passes every check.
	const earlier = memory.numbers.get(refundNumber);
	if (!earlier && request.refundNumber)
		memory.failedRow(request, refundNumber, asked, order.currency);
	const listed = Array.isArray(refunds) ? refunds : undefined;
	const planned = memory.plannedFor(orderKey(request));
	const known = listed
		? order.total - refundedMinor(listed)
		: refunds === 'unlisted' && order.data.result === 'REFUND'
			? 0
			: null;
	const before = known === null ? null : known - planned.amount;
	// Below zero only when earlier rows Ksher may refuse are counted (rows sent on their own): unknown then.
	const remainingBefore = before !== null && before < 0 ? null : before;
	const base = {
		request,
		order,
		refundNumber,
		asked,
		remainingBefore,
		remainingAfter: remainingBefore,
	};

	checkOwnNumber(request, derivedNumberOf(request, asked));
	// More than the whole payment is wrong whatever was refunded before.
	if (asked !== undefined && asked > order.total)
		throw exceedsRemaining(orderNumber, order, asked, remainingBefore ?? order.total);

	// A refund Ksher already has under this number: done before (a re-run), unless it was for another
	// amount, it failed, or it was "everything that remains" and yet something remains.
	const existing = listed?.find((r) => r.mch_refund_no === refundNumber);
	if (existing) {
		if (failed(existing)) throw refundFailedAtKsher(existing, orderNumber, request);
		if (asked !== undefined && existing.refund_fee !== asked)
			throw numberUsedForOtherAmount(
				refundNumber,
				orderNumber,
				existing.refund_fee,
				asked,
				currency,
				request,
			);
		// What remains after this run's earlier rows, as the run will find it.
		if (asked === undefined && remainingBefore !== null && remainingBefore > 0) {
			throw new KsherInputError(
				'What to Refund',
				`Everything That Remains of order ${orderNumber} was refunded before as ${refundNumber} (${money(existing.refund_fee, currency)}), yet ${money(remainingBefore, currency)} remains ${rowPlace(request)}`,
				'Refund the rest with An Amount (and its own Refund Number if needed), after checking the order with Refund → Get Many. Nothing was refunded for this row.',
			);
		}
		return { ...base, action: 'done', amount: existing.refund_fee, existing };
	}
	if (refunds === 'unlisted' && known === 0) {
		// A number of the user's may be any refund, of any amount: that it is this row's cannot be shown.
		if (request.refundNumber) {
			throw new KsherInputError(
				'Refund Number',
				`Order ${orderNumber} is already fully refunded, and Ksher cannot list its refunds (PromptPay, Alipay) to show whether Refund Number ${refundNumber} is among them ${rowPlace(request)}`,
				'Nothing was sent, and nothing more can be refunded. Check the refund in the Ksher merchant portal.',
			);
		}
		// Fully refunded, refunds not listable: nothing more can go back, and what this row's refund
		// was (if it is among them) cannot be shown: its amount is unknown, not the row's.
		return {
			...base,
			action: 'done',
			amount: asked ?? order.total,
			amountUnknown: true,
			unconfirmed: true,
			existing: unlistedDone(refundNumber, asked ?? order.total),
			note: UNLISTED_NOTE,
		};
	}

	// An earlier row of this run with the same number: the same refund, or a clash.
	if (earlier) {
		const same =
			earlier.key === orderKey(request) && (asked === undefined || asked === earlier.amount);
		if (same && !earlier.failed)
			return { ...base, action: 'sameAsRow', amount: earlier.amount!, sameAsRow: earlier.row };
		if (same)
			throw new KsherInputError(
				'Refund Number',
				`Refund Number ${refundNumber} is row ${earlier.row}'s refund, which cannot be refunded ${rowPlace(request)}`,
				`Fix row ${earlier.row}; this row is the same refund.`,
			);
		const what =
			earlier.amount === undefined
				? `order ${earlier.orderNumber}`
				: `order ${earlier.orderNumber}, ${money(earlier.amount, earlier.currency)}`;
		throw new KsherInputError(
			'Refund Number',
			`Refund Number ${refundNumber} is also row ${earlier.row}'s (${what}) ${rowPlace(request)}`,
			'Each refund needs its own Refund Number: give this row a different one.',
		);
	}

	// What may still be refunded: known, or at most the payment less this run's earlier rows.
	const left = before ?? order.total - planned.amount;
	// Rows sent on their own: an earlier row Ksher may refuse leaves its amount for this one.
	const ifRefused = memory.independent ? planned.uncertain : 0;
	const unchecked: string[] = [];
	if (left <= 0 && left + ifRefused <= 0) {
		if (planned.rows.length === 0) throw fullyRefunded(orderNumber, order);
		throw nothingRemainsAfter(orderNumber, planned.rows);
	}
	const amount = asked ?? (left > 0 ? left : left + ifRefused);
	if (amount > left + ifRefused)
		throw exceedsRemaining(orderNumber, order, amount, Math.max(left, 0), planned.rows);
	if (amount > left)
		unchecked.push(
			`it fits only if Ksher refuses row${planned.uncertainRows.length > 1 ? 's' : ''} ${planned.uncertainRows.join(', ')} of this run, which it may`,
		);
	if (amount !== order.total && partial === 'refused')
		throw partialRefused(orderNumber, order, amount);

	if (refunds === 'unlisted') {
		const channel = channelName(String(order.data.channel ?? '')) || 'this';
		unchecked.push(
			asked === undefined
				? `Ksher cannot list the refunds of ${channel} payments, so what remains is unknown: this refunds the whole payment (${money(amount, currency)}) if nothing was refunded elsewhere, and Ksher refuses it otherwise`
				: `Ksher cannot list the refunds of ${channel} payments, so what remains is unknown: Ksher refuses this refund if refunds made elsewhere left less than ${money(amount, currency)}`,
		);
	}
	if (request.refundNumber)
		unchecked.push(
			`Refund Number ${refundNumber} cannot be checked against your other orders: Ksher refuses it if it was used on one`,
		);
	if (amount !== order.total && partial === 'unknown')
		unchecked.push(
			'Ksher did not say whether your account takes partial refunds: Ksher refuses this one if it does not',
		);

	planned.amount += amount;
	planned.rows.push(request.row);
	if (unchecked.length) {
		planned.uncertain += amount;
		planned.uncertainRows.push(request.row);
	}
	memory.numbers.set(refundNumber, {
		row: request.row,
		orderNumber,
		key: orderKey(request),
		amount,
		currency,
		failed: false,
	});
	// Unknown after a row that fits only if an earlier one is refused.
	return {
		...base,
		action: 'refund',
		amount,
		remainingAfter: remainingBefore === null || amount > left ? null : remainingBefore - amount,
		unchecked,
	};
}
