import { createHash } from 'crypto';

import type { KsherClient } from './client';
import { KsherApiError, KsherInputError } from './errors';
import { queryQrOrder } from './qr';
import { isPlainObject } from './signature';

/**
 * Refund numbers (`mch_refund_no`) make refunds idempotent: Ksher refuses a number it
 * has seen. When the user gives none we derive it from what the refund is, so re-running
 * the same row can never refund twice:
 *   - a given amount:   `<order number>-R<amount in minor units>`  (INV-1001-R5000)
 *   - "all that remains": `<order number>-RALL`
 *   - and for a QR payment (Create QR) `-Q` in place of `-R` (INV-1001-Q5000): should Ksher hold a
 *     payment link and a QR under one order number, one's refund must never pass for the other's.
 * and, when that would exceed Ksher's 32 characters, `R` + 31 hex characters of
 * SHA-256 over the same text.
 */
export function deriveRefundNumber(orderNumber: string, minor: number | 'all', qr = false): string {
	const readable = `${orderNumber}-${qr ? 'Q' : 'R'}${minor === 'all' ? 'ALL' : minor}`;
	if (readable.length <= 32) return readable;
	return `R${createHash('sha256').update(readable, 'utf8').digest('hex').slice(0, 31)}`;
}

/**
 * How Ksher addresses a paid gateway order in order_refund and refund_query (Ksher's order_refund page):
 * by ksher_order_no for card payments, otherwise by pay_mch_order_no (sent as mch_order_no).
 * Undefined when the order data carries neither number.
 */
export function refundTargetOf(data: Record<string, unknown>): Record<string, string> | undefined {
	const payNo = String(data.pay_mch_order_no ?? '');
	const ksherNo = String(data.ksher_order_no ?? '');
	if (ksherNo && (data.channel === 'card' || !payNo)) return { ksher_order_no: ksherNo };
	return payNo ? { mch_order_no: payNo } : undefined;
}

export interface KsherRefund {
	mch_refund_no: string;
	ksher_refund_no: string;
	channel_refund_no: string;
	refund_fee: number;
	refund_state: string;
	refund_time: string;
}

/** Reads refund_query's `refund_orders` (amount field `mch_refund_fee`, a number or a digit string). */
export function refundsOf(data: Record<string, unknown>): KsherRefund[] {
	const list = Array.isArray(data.refund_orders) ? data.refund_orders : [];
	return list.filter(isPlainObject).map((r) => ({
		mch_refund_no: String(r.mch_refund_no ?? ''),
		ksher_refund_no: String(r.ksher_refund_no ?? ''),
		channel_refund_no: String(r.channel_refund_no ?? ''),
		refund_fee: Number(r.mch_refund_fee ?? r.refund_fee ?? 0),
		refund_state: String(r.refund_state ?? ''),
		refund_time: String(r.refund_time ?? ''),
	}));
}

/**
 * A refund's state as the nodes report it: `refunded` once Ksher says SUCCESS, `processing`
 * while Ksher gives no state yet (it counts against the balance then, see refundedMinor),
 * otherwise Ksher's state in lower case (e.g. `refundfail`).
 */
export function refundStatus(refundState: string): string {
	if (/SUCCESS/.test(refundState)) return 'refunded';
	return refundState ? refundState.toLowerCase() : 'processing';
}

/** Refunds that count against the order's balance (anything not reported as failed). */
export function refundedMinor(refunds: KsherRefund[]): number {
	return refunds
		.filter((r) => !/FAIL|CLOSE/.test(r.refund_state))
		.reduce((sum, r) => sum + (Number.isSafeInteger(r.refund_fee) ? r.refund_fee : 0), 0);
}

/**
 * The one rule for reading an order's refunds, used by every operation and the trigger:
 * the list (or, with a refund number, that refund: an empty list when Ksher says it does not
 * exist); undefined when Ksher refuses to list them (it cannot for some wallets, e.g. PromptPay
 * and Alipay); a transport error is thrown, since then nothing is known.
 */
export async function listRefunds(
	client: KsherClient,
	refundTarget: Record<string, string>,
	refundNumber?: string,
): Promise<KsherRefund[] | undefined> {
	const outcome = await client
		.call('refund_query', { ...refundTarget, mch_refund_no: refundNumber })
		.then(
			({ data }) => refundsOf(data),
			(error: unknown) => error,
		);
	if (Array.isArray(outcome)) return outcome;
	if (
		refundNumber &&
		outcome instanceof KsherApiError &&
		/ORDER_NO|NOT_EXIST|NOTEXIST/.test(outcome.code)
	)
		return [];
	if (outcome instanceof KsherApiError) return undefined;
	throw outcome;
}

/** A paid order (a payment link's or a QR's) as refunds need it. */
export interface PaidOrder {
	data: Record<string, unknown>;
	/** The payment's amount in minor units. */
	total: number;
	currency: string;
	/** The id Ksher refunds the order by (refundTargetOf). */
	refundTarget: Record<string, string>;
}

/**
 * Looks the user's order up and returns what refunds need, or explains why it cannot be refunded.
 * With `qrChannel` the order is a QR payment (Create QR): it lives on Ksher's api.mch host and is
 * looked up there by its channel (queryQrOrder, which refuses an answer about another order);
 * without it, a payment link on the gateway. The two are never tried one after the other: a
 * number Ksher does not know as the type given is an error, not a guess.
 */
export async function paidOrder(
	client: KsherClient,
	orderNumber: string,
	qrChannel?: string,
): Promise<PaidOrder> {
	const data =
		qrChannel === undefined
			? (await client.call('gateway_order_query', { mch_order_no: orderNumber })).data
			: await queryQrOrder(client, orderNumber, qrChannel);
	const result = String(data.result ?? '');
	if (result !== 'SUCCESS' && result !== 'REFUND') {
		const why =
			result === 'CLOSED'
				? 'was cancelled or expired'
				: result === 'PAYERROR'
					? 'failed'
					: 'is not paid yet';
		throw new KsherInputError(
			'Order Number',
			`Order Number ${orderNumber} cannot be refunded: the payment ${why} (Ksher result ${result || 'unknown'})`,
			'Only paid orders can be refunded. Check the order number, or use Get Payment to see its state.',
		);
	}
	const total = Number(data.total_fee);
	// A QR order is refunded by Ksher's number for it alone: a gateway number in its answer names another order.
	const ksherNo = typeof data.ksher_order_no === 'string' ? data.ksher_order_no : '';
	const refundTarget =
		qrChannel === undefined
			? refundTargetOf(data)
			: ksherNo
				? { ksher_order_no: ksherNo }
				: undefined;
	if (!Number.isSafeInteger(total) || total <= 0 || !refundTarget) {
		throw new KsherInputError(
			'Order Number',
			`Ksher's record of Order Number ${orderNumber} lacks the amount or the payment numbers needed for a refund`,
			'Try again later; if it persists, refund in the Ksher merchant portal.',
		);
	}
	return { data, total, currency: String(data.fee_type || 'THB'), refundTarget };
}
