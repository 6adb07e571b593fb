import {
	KsherInputError,
	refundTargetOf,
	type KsherClient,
} from '../../../protocol';

export interface PaidOrder {
	data: Record<string, unknown>;
	total: number;
	currency: string;
	/** The id Ksher refunds gateway orders by (refundTargetOf). */
	refundTarget: Record<string, string>;
}

/** Looks the user's order up and returns what refunds need, or explains why it cannot be refunded. */
export async function paidOrder(client: KsherClient, orderNumber: string): Promise<PaidOrder> {
	const { data } = await client.call('gateway_order_query', { mch_order_no: orderNumber });
	const result = String(data.result ?? '');
	if (result !== 'SUCCESS' && result !== 'REFUND') {
		const why = result === 'CLOSED' ? 'was cancelled or expired' : result === 'PAYERROR' ? 'failed' : 'is not paid yet';
		throw new KsherInputError('Order Number', `Order Number ${orderNumber} cannot be refunded: the payment ${why} (Ksher result ${result || 'unknown'})`, 'Only paid orders can be refunded. Check the order number, or use Get Payment to see its state.');
	}
	const total = Number(data.total_fee);
	const refundTarget = refundTargetOf(data);
	if (!Number.isSafeInteger(total) || total <= 0 || !refundTarget) {
		throw new KsherInputError('Order Number', `Ksher's record of Order Number ${orderNumber} lacks the amount or the payment numbers needed for a refund`, 'Try again later; if it persists, refund in the Ksher merchant portal.');
	}
	return { data, total, currency: String(data.fee_type || 'THB'), refundTarget };
}
