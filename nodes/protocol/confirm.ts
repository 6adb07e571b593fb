import type { KsherClient } from './client';
import type { NotificationEvent } from './notification';
import { queryLinkOrQrOrder } from './qr';
import { listRefunds, refundTargetOf } from './refunds';

/**
 * The order's state at Ksher: a payment link's from the gateway, else (a QR channel) a QR payment's
 * from the api.mch host (queryLinkOrQrOrder). Undefined when Ksher could not be asked.
 */
const orderState = (client: KsherClient, orderNumber: string, channel: string) =>
	queryLinkOrQrOrder(client, orderNumber, channel).catch(() => undefined);

/**
 * Confirm With Ksher: whether what a notification says is what Ksher holds. Undefined when Ksher
 * could not be asked (or cannot list the refund), so the caller can ask again later.
 */
export async function confirmedByKsher(
	client: KsherClient,
	event: NotificationEvent,
	data: Record<string, unknown>,
): Promise<boolean | undefined> {
	const orderNumber = String(data.mch_order_no ?? '');
	const query = await orderState(client, orderNumber, String(data.channel ?? ''));
	if (!query) return undefined;
	if (String(query.total_fee) !== String(data.total_fee)) return false;
	// Ksher's word about this order, in this currency: a signed answer about another order or currency
	// confirms nothing. Compared where both say it; not the channel, whose names the gateway's query and
	// its notifications may not share (a QR order's lookup, by channel, checks its own).
	for (const field of ['mch_order_no', 'fee_type'])
		if (query[field] !== undefined && data[field] !== undefined && query[field] !== data[field])
			return false;
	const result = String(query.result ?? '');
	if (event === 'paid') return result === 'SUCCESS' || result === 'REFUND';
	if (event === 'refunded') {
		if (result === 'REFUND') return true;
		const refundNumber = String(data.mch_refund_no ?? '');
		const target = refundTargetOf(query);
		if (result !== 'SUCCESS' || !refundNumber || !target) return false;
		// The same rule as the Refund operations: no such refund → not confirmed; Ksher cannot list or cannot be asked → unknown.
		const refunds = await listRefunds(client, target, refundNumber).catch(() => undefined);
		return refunds === undefined
			? undefined
			: refunds.some((r) => r.mch_refund_no === refundNumber);
	}
	return result === String(data.result ?? '');
}
