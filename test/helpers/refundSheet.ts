import type { IDataObject } from 'n8n-workflow';

import type { NodeRun } from './n8n';
import { runNode } from './node';
import type { SimulatorHarness } from './simulator';

/**
 * A refund sheet against the simulator, as the refund tests write it: paid orders, the sheet's
 * Refund → Create node mapped by expressions (each row may say `all: true` for everything that
 * remains, and give its own `refundNumber`), and money counted at the simulator, never taken
 * from the node's word.
 */
export function refundSheet(h: SimulatorHarness) {
	const refundCalls = () => h.sim.requests.filter((r) => r.endpoint === 'order_refund').length;
	return {
		refundCalls,
		/** Ksher's refunds of an order as [refund number, minor units]. */
		refundsAt: (orderNo: string) =>
			(h.sim.order(orderNo)?.refunds ?? []).map((r) => [r.mch_refund_no, r.refund_fee]),
		async paid(total = 10000, channel = 'truemoney'): Promise<string> {
			const { orderNo } = await h.createOrder({ total_fee: total });
			await h.payOrder(orderNo, channel);
			return orderNo;
		},
		sheet: (extra: IDataObject = {}): IDataObject => ({
			resource: 'refund',
			operation: 'create',
			orderNumber: '={{ $json.orderNumber }}',
			whatToRefund: '={{ $json.all ? "remaining" : "amount" }}',
			refundAmount: '={{ $json.amount }}',
			refundNumber: '={{ $json.refundNumber || "" }}',
			...extra,
		}),
		/** Runs the node over the rows (Continue On Fail unless told) and counts the refund calls it made. */
		async run(
			parameters: IDataObject,
			rows: IDataObject[],
			options: { typeVersion?: number; continueOnFail?: boolean } = {},
		): Promise<NodeRun & { refundCalls: number }> {
			const before = refundCalls();
			const result = await runNode(h, parameters, {
				rows,
				continueOnFail: options.continueOnFail ?? true,
				typeVersion: options.typeVersion,
			});
			return { ...result, refundCalls: refundCalls() - before };
		},
	};
}
