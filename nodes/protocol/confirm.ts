import type { KsherClient } from './client';
import type { NotificationEvent } from './notification';
import { listRefunds, refundTargetOf } from './refunds';

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
	const query = await client.call('gateway_order_query', { mch_order_no: orderNumber }).then(
		(r) => r.data,
		() => undefined,
	);
	if (!query) return undefined;
	if (String(query.total_fee) !== String(data.total_fee)) return false;
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
