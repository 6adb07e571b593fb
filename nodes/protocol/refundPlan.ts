import { fromMinorUnits, toMinorUnits } from './amounts';
import type { KsherClient } from './client';
import { KsherApiError, KsherInputError, KsherTransportError } from './errors';
import { atRow, rowPlace, type RowRef } from './refundAmounts';
import { deriveRefundNumber, listRefunds, paidOrder, refundedMinor, type KsherRefund, type PaidOrder } from './refunds';

/**
 * Refunds as rows of a sheet: what one row asks for, how a whole sheet is checked before any
 * money moves (one lookup per order, earlier rows of the same order counted), and how one
 * refund is sent so that a re-run or a lost answer never refunds twice.
 */

/** One row's refund, its form already checked (checkRefundAmount, checkKsherId). */
export interface RefundRequest extends RowRef {
	orderNumber: string;
	/** Major-unit decimal text, or `remaining` for everything not yet refunded (asked for explicitly). */
	amount: string | 'remaining';
	/** The user's own refund number; derived from the order and the amount when absent. */
	refundNumber?: string;
}

/** What will happen to a row that passed the check. */
export interface PlannedRefund {
	request: RefundRequest;
	order: PaidOrder;
	/** Minor units of the payment's currency. */
	amount: number;
	refundNumber: string;
	/** What remained of the payment before / after this row, earlier rows of this run counted; null when Ksher cannot list its refunds. */
	remainingBefore: number | null;
	remainingAfter: number | null;
	/** `refund`: to send; `done`: Ksher already has this refund (a re-run); `sameAsRow`: an earlier row of this run is this very refund. */
	action: 'refund' | 'done' | 'sameAsRow';
	existing?: KsherRefund;
	sameAsRow?: number;
	/** Said with the row's output (e.g. why a row counts as done without Ksher listing it). */
	note?: string;
}

export type RefundCheck = { ok: true; plan: PlannedRefund } | { ok: false; error: unknown };

const money = (minor: number, currency: string) => `${fromMinorUnits(minor, currency)} ${currency}`;

export function fullyRefunded(orderNumber: string, order: PaidOrder): KsherInputError {
	return new KsherInputError('Order Number', `Order Number ${orderNumber} is already fully refunded (${money(order.total, order.currency)})`, 'Nothing is left to refund. Use Refund → Get Many to see its refunds.');
}

export function exceedsRemaining(orderNumber: string, order: PaidOrder, amount: number, remaining: number, earlierRows: number[] = []): KsherInputError {
	const m = (minor: number) => fromMinorUnits(minor, order.currency);
	const after = earlierRows.length ? ` after row${earlierRows.length > 1 ? 's' : ''} ${earlierRows.join(', ')} of this run` : '';
	return new KsherInputError(
		'Refund Amount',
		`Refund Amount ${m(amount)} ${order.currency} exceeds what remains of order ${orderNumber}${after}: ${m(remaining)} of ${m(order.total)} ${order.currency}`,
		`Refund at most ${m(remaining)}, or choose "Everything That Remains" to refund what is left.`,
	);
}

/** What the sheet's run knows about one order: Ksher's record, its refunds, and what earlier rows take. */
interface OrderState {
	order: PaidOrder;
	/** Ksher's refunds by refund number; empty when Ksher cannot list them. */
	existing: Map<string, KsherRefund>;
	/** Whether Ksher listed this payment's refunds (it cannot for some wallets). */
	listed: boolean;
	/** Minor units left to refund, earlier rows counted; null when Ksher cannot list this payment's refunds. */
	remaining: number | null;
	/** Minor units this run's earlier rows refund (a bound when `remaining` is unknown). */
	planned: number;
	plannedRows: number[];
}

async function lookUp(client: KsherClient, orderNumber: string): Promise<OrderState> {
	const order = await paidOrder(client, orderNumber);
	// Ksher answers nothing for some wallets (PromptPay, Alipay): then only a fully refunded order's balance is known.
	const refunds = await listRefunds(client, order.refundTarget);
	return {
		order,
		existing: new Map((refunds ?? []).map((r) => [r.mch_refund_no, r])),
		listed: refunds !== undefined,
		remaining: refunds ? order.total - refundedMinor(refunds) : order.data.result === 'REFUND' ? 0 : null,
		planned: 0,
		plannedRows: [],
	};
}

const UNLISTED_NOTE = 'Ksher reports this payment as fully refunded and cannot list its refunds (PromptPay, Alipay), so whether this refund is among them cannot be shown; nothing was sent. Check the merchant portal if in doubt.';

/**
 * A payment Ksher reports as fully refunded but cannot list the refunds of: nothing more can be
 * refunded, and whether this row's refund is among them cannot be known, so the row is reported
 * as done with a note (a re-run of the sheet is not an error) and nothing is sent.
 */
function unlistedDone(refundNumber: string, amount: number): KsherRefund {
	return { mch_refund_no: refundNumber, ksher_refund_no: '', channel_refund_no: '', refund_fee: amount, refund_state: 'REFUNDSUCCESS', refund_time: '' };
}

/** Runs `work` for every key with at most `limit` at once; each outcome is kept, none stops the others. */
async function settleAll<K, V>(keys: K[], limit: number, work: (key: K) => Promise<V>): Promise<Map<K, { value: V } | { error: unknown }>> {
	const outcomes = new Map<K, { value: V } | { error: unknown }>();
	let next = 0;
	const worker = async () => {
		while (next < keys.length) {
			const key = keys[next++];
			outcomes.set(key, await work(key).then((value) => ({ value }), (error: unknown) => ({ error })));
		}
	};
	await Promise.all(Array.from({ length: Math.min(limit, keys.length) }, worker));
	return outcomes;
}

/**
 * Checks every row before any money moves: each order is looked up once (its state and its
 * refund list), then the rows are walked in order, so that two rows of one order together
 * cannot exceed what remains, a refund number cannot mean two refunds, and a row Ksher has
 * already done is recognised as done. Makes no call that moves money.
 */
export async function checkRefunds(client: KsherClient, rows: Array<RefundRequest | { error: unknown }>, concurrency: number): Promise<RefundCheck[]> {
	const orderNumbers = [...new Set(rows.flatMap((r) => ('orderNumber' in r ? [r.orderNumber] : [])))];
	const states = await settleAll(orderNumbers, concurrency, (orderNumber) => lookUp(client, orderNumber));
	const numbers = new Map<string, { row: number; orderNumber: string; amount: number }>();

	return rows.map((request): RefundCheck => {
		if (!('orderNumber' in request)) return { ok: false, error: request.error };
		const outcome = states.get(request.orderNumber)!;
		if ('error' in outcome) return { ok: false, error: atRow(outcome.error, request) };
		try {
			return { ok: true, plan: planRow(request, outcome.value, numbers) };
		} catch (error) {
			return { ok: false, error: atRow(error, request) };
		}
	});
}

function planRow(request: RefundRequest, state: OrderState, numbers: Map<string, { row: number; orderNumber: string; amount: number }>): PlannedRefund {
	const { order } = state;
	const everything = request.amount === 'remaining';
	const asked = everything ? undefined : toMinorUnits(request.amount, order.currency, { field: 'Refund Amount' });
	const refundNumber = request.refundNumber || deriveRefundNumber(request.orderNumber, asked ?? 'all');
	const base = { request, order, refundNumber, remainingBefore: state.remaining, remainingAfter: state.remaining };

	// A refund Ksher already has under this number: done before (a re-run), unless it was for another amount.
	const existing = state.existing.get(refundNumber);
	if (existing) {
		if (asked !== undefined && existing.refund_fee !== asked) {
			throw new KsherInputError('Refund Number', `Refund Number ${refundNumber} was already used for a refund of ${money(existing.refund_fee, order.currency)} of order ${request.orderNumber}, not ${money(asked, order.currency)} ${rowPlace(request)}`, 'Give this refund its own Refund Number, or correct the amount.');
		}
		return { ...base, amount: existing.refund_fee, action: 'done', existing };
	}
	if (!state.listed && state.remaining === 0) {
		const amount = asked ?? order.total;
		return { ...base, amount, action: 'done', existing: unlistedDone(refundNumber, amount), note: UNLISTED_NOTE };
	}
	const earlier = numbers.get(refundNumber);
	if (earlier) {
		const same = earlier.orderNumber === request.orderNumber && (asked === undefined || asked === earlier.amount);
		if (!same) {
			throw new KsherInputError('Refund Number', `Refund Number ${refundNumber} is also row ${earlier.row}'s (order ${earlier.orderNumber}, ${money(earlier.amount, order.currency)}) ${rowPlace(request)}`, 'Each refund needs its own Refund Number: give this row a different one.');
		}
		return { ...base, amount: earlier.amount, action: 'sameAsRow', sameAsRow: earlier.row };
	}

	const left = state.remaining ?? order.total - state.planned;
	if (left <= 0) {
		if (state.plannedRows.length === 0) throw fullyRefunded(request.orderNumber, order);
		throw new KsherInputError('Refund Amount', `Nothing remains of order ${request.orderNumber} after row${state.plannedRows.length > 1 ? 's' : ''} ${state.plannedRows.join(', ')} of this run`, 'Remove this row, or lower the amounts of the earlier rows.');
	}
	// Everything that remains; when Ksher cannot list this payment's refunds, the payment's total, which Ksher refuses if part was refunded elsewhere.
	const amount = asked ?? left;
	if (amount > left) throw exceedsRemaining(request.orderNumber, order, amount, left, state.plannedRows);

	state.planned += amount;
	state.plannedRows.push(request.row);
	if (state.remaining !== null) state.remaining -= amount;
	numbers.set(refundNumber, { row: request.row, orderNumber: request.orderNumber, amount });
	return { ...base, amount, action: 'refund', remainingAfter: state.remaining };
}

/** Stop Above Total: per currency, in minor units. */
export type RefundCeilings = Record<string, number>;

/**
 * The error every row gets when the rows together would refund more than a ceiling allows (or
 * refund a currency that has no ceiling while others have one); undefined when within them.
 */
export function ceilingBreach(checks: RefundCheck[], ceilings: RefundCeilings): KsherInputError | undefined {
	if (Object.keys(ceilings).length === 0) return undefined;
	const totals = new Map<string, number>();
	for (const check of checks) {
		if (check.ok && check.plan.action === 'refund') totals.set(check.plan.order.currency, (totals.get(check.plan.order.currency) ?? 0) + check.plan.amount);
	}
	for (const [currency, total] of totals) {
		const ceiling = ceilings[currency];
		if (ceiling === undefined) {
			return new KsherInputError('Stop Above Total', `Nothing was refunded: the rows would refund ${money(total, currency)}, and Stop Above Total has no limit for ${currency}`, `Add a Stop Above Total limit for ${currency}, or remove the ${currency} rows.`);
		}
		if (total > ceiling) {
			return new KsherInputError('Stop Above Total', `Nothing was refunded: the rows together would refund ${money(total, currency)}, above Stop Above Total ${money(ceiling, currency)}`, 'Check the sheet (a wrong column or extra rows?), split it into smaller runs, or raise Stop Above Total.');
		}
	}
	return undefined;
}

/** How one sent refund ended: Ksher's refund, whether it was done before, and what was recovered from. */
export interface RefundOutcome {
	refund: KsherRefund;
	/** The payment's currency, which the refund is in. */
	currency: string;
	alreadyRefunded: boolean;
	note?: string;
	recoveredFrom?: string;
}

/** A refund call whose outcome is unknown and which Ksher does not list yet: the original failure, said plainly. */
function mayHaveHappened(orderNumber: string, refundNumber: string, cause: KsherTransportError): KsherTransportError {
	// The transport's messages end by saying the outcome is unknown, which this message says itself.
	const happened = cause.message.replace(/(, so| and) (the outcome is unknown|Ksher may or may not have processed it)$/, '');
	return new KsherTransportError(
		cause.failure,
		`The refund ${refundNumber} of order ${orderNumber} may have happened: ${happened}, and Ksher does not list it yet`,
		`Do not refund again with a new number. Check with Refund → Get Many for order ${orderNumber} (or the Ksher merchant portal) in a few minutes. Re-running with the same refund number ${refundNumber} is safe: Ksher refuses a refund number it has already used.`,
		'order_refund',
		true,
		cause.httpStatus,
	);
}

async function findRefund(client: KsherClient, order: PaidOrder, refundNumber: string): Promise<KsherRefund | undefined> {
	const list = await listRefunds(client, order.refundTarget, refundNumber);
	return list?.find((r) => r.mch_refund_no === refundNumber);
}

/**
 * Asks Ksher for one refund under a refund number that identifies it, and reads the answer so
 * that nothing is refunded twice: a number Ksher has already used is that refund, found and
 * reported as done; a lost answer is looked up, never retried blindly.
 */
export async function sendRefund(client: KsherClient, orderNumber: string, order: PaidOrder, amount: number, refundNumber: string): Promise<RefundOutcome> {
	const outcome = await client
		.call('order_refund', { ...order.refundTarget, total_fee: order.total, fee_type: order.currency, refund_fee: amount, mch_refund_no: refundNumber })
		.then(
			({ data }) => ({ data }),
			(error: unknown) => ({ error }),
		);
	if ('data' in outcome) {
		const d = outcome.data;
		return {
			refund: {
				mch_refund_no: String(d.mch_refund_no || refundNumber),
				ksher_refund_no: String(d.ksher_refund_no ?? ''),
				channel_refund_no: String(d.channel_refund_no ?? ''),
				refund_fee: Number.isSafeInteger(Number(d.refund_fee)) && Number(d.refund_fee) > 0 ? Number(d.refund_fee) : amount,
				refund_state: String(d.refund_state || 'REFUNDSUCCESS'),
				refund_time: String(d.refund_time ?? ''),
			},
			currency: order.currency,
			alreadyRefunded: false,
		};
	}
	const { error } = outcome;
	const { currency } = order;
	// Ksher already has this refund number: the refund was done before (a re-run).
	if (error instanceof KsherApiError && /DUPLICATED_REFUND|INVALID_REFUND_ORDER_NO/.test(error.code)) {
		const refunds = await listRefunds(client, order.refundTarget, refundNumber);
		const found = refunds?.find((r) => r.mch_refund_no === refundNumber);
		if (found) return { refund: found, currency, alreadyRefunded: true };
		if (refunds === undefined) {
			// Ksher cannot list this payment's refunds (some wallets): trust its word that the number is used.
			return {
				refund: { mch_refund_no: refundNumber, ksher_refund_no: '', channel_refund_no: '', refund_fee: amount, refund_state: 'REFUNDSUCCESS', refund_time: '' },
				currency,
				alreadyRefunded: true,
				note: 'Ksher reports this refund number as used and cannot list this payment\'s refunds to show its details.',
			};
		}
		throw new KsherInputError('Refund Number', `Refund number ${refundNumber} was already used for another refund, not on order ${orderNumber}`, 'Refund numbers must be unique across your Ksher account: give a different Refund Number.');
	}
	// Ksher refused the amount: explain with what remains (or find this very refund, done before).
	if (error instanceof KsherApiError && /REFUND_BALANCE|INVALID_REFUND_FEE$|ALREADY_REFUND/.test(error.code)) {
		const refunds = await listRefunds(client, order.refundTarget);
		const existing = refunds?.find((r) => r.mch_refund_no === refundNumber);
		if (existing) return { refund: existing, currency, alreadyRefunded: true };
		if (refunds) {
			const remaining = order.total - refundedMinor(refunds);
			throw remaining <= 0 ? fullyRefunded(orderNumber, order) : exceedsRemaining(orderNumber, order, amount, remaining);
		}
		throw error;
	}
	// Ksher refuses partial refunds for some accounts: say so in the user's terms when its account settings agree.
	if (error instanceof KsherApiError && error.code === 'KSHER_INVALID_REFUND_AMOUNT') {
		const partialAllowed = await client.call('merchant_info').then(({ data }) => data.allow_partial_refund, () => undefined);
		if (partialAllowed === 'N') {
			throw new KsherInputError(
				'Refund Amount',
				`Refund Amount ${money(amount, order.currency)} of order ${orderNumber} was refused: partial refunds are not enabled for this Ksher account [KSHER_INVALID_REFUND_AMOUNT]`,
				'Choose "Everything That Remains" to refund the whole payment, or ask Ksher to enable partial refunds for your account.',
			);
		}
		throw error;
	}
	// The outcome is unknown: look before anyone retries, never refund blindly again.
	if (error instanceof KsherTransportError && error.mayHaveSucceeded) {
		const found = await findRefund(client, order, refundNumber).catch(() => undefined);
		if (found) return { refund: found, currency, alreadyRefunded: false, recoveredFrom: error.message };
		throw mayHaveHappened(orderNumber, refundNumber, error);
	}
	throw error;
}

/**
 * One row on its own (Check All Rows First off): the payment lookup, then the refund. The order's
 * refund list is only fetched when it is needed: to refund everything that remains, when the order
 * shows as fully refunded, or to explain a refusal. An ordinary row costs two calls to Ksher.
 */
export async function refundRow(client: KsherClient, request: RefundRequest): Promise<RefundOutcome> {
	const { orderNumber } = request;
	const order = await paidOrder(client, orderNumber);
	const requested = request.amount === 'remaining' ? undefined : toMinorUnits(request.amount, order.currency, { field: 'Refund Amount' });
	const refundNumber = request.refundNumber || deriveRefundNumber(orderNumber, requested ?? 'all');
	if (requested !== undefined && requested > order.total) {
		const refunds = await listRefunds(client, order.refundTarget);
		throw exceedsRemaining(orderNumber, order, requested, refunds ? order.total - refundedMinor(refunds) : order.total);
	}

	let amount = requested;
	if (amount === undefined || order.data.result === 'REFUND') {
		const refunds = await listRefunds(client, order.refundTarget);
		const existing = refunds?.find((r) => r.mch_refund_no === refundNumber);
		if (existing) return { refund: existing, currency: order.currency, alreadyRefunded: true };
		if (!refunds && order.data.result === 'REFUND') return { refund: unlistedDone(refundNumber, amount ?? order.total), currency: order.currency, alreadyRefunded: true, note: UNLISTED_NOTE };
		const remaining = refunds ? order.total - refundedMinor(refunds) : undefined;
		if (remaining !== undefined && remaining <= 0) throw fullyRefunded(orderNumber, order);
		amount ??= remaining ?? order.total;
	}
	return await sendRefund(client, orderNumber, order, amount, refundNumber);
}
