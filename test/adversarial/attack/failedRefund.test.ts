import type { IDataObject } from 'n8n-workflow';

import { runNode } from '../../helpers/node';
import { startHarness, type SimulatorHarness } from '../../helpers/simulator';

/**
 * Attack: a refund Ksher lists under the row's refund number but in a failed state
 * (refund_state REFUNDFAIL; the code itself knows such refunds: refundedMinor leaves FAIL/CLOSE
 * out of the balance). decideRefund takes any listed refund with the row's number as "done":
 * the preview says "already refunded", the run says alreadyRefunded true, and the derived
 * number can never be sent again, so the customer is never refunded while the sheet says so.
 * (The simulator only makes successful refunds; the test marks one failed in its state, as
 * Ksher would list it.)
 */
let h: SimulatorHarness;
beforeAll(async () => {
	h = await startHarness();
});
afterAll(() => h.sim.close());

async function paid(total = 10000, channel = 'truemoney'): Promise<string> {
	const { orderNo } = await h.createOrder({ total_fee: total });
	await h.payOrder(orderNo, channel);
	return orderNo;
}
const sheet = (extra: IDataObject = {}): IDataObject => ({
	resource: 'refund',
	operation: 'create',
	orderNumber: '={{ $json.orderNumber }}',
	whatToRefund: '={{ $json.all ? "remaining" : "amount" }}',
	refundAmount: '={{ $json.amount }}',
	...extra,
});
const run = (parameters: IDataObject, rows: IDataObject[], typeVersion?: number) => runNode(h, parameters, { rows, continueOnFail: true, typeVersion });
const fail = (orderNo: string) => {
	for (const r of h.sim.order(orderNo)!.refunds) (r as { refund_state: string }).refund_state = 'REFUNDFAIL';
};

it.each([
	['an amount', { amount: '5.00' }],
	['everything that remains', { all: true }],
])('%s: a failed refund under the row\'s number is not "already refunded"', async (_name, row) => {
	const x = await paid();
	await run(sheet(), [{ orderNumber: x, ...row }]);
	fail(x);
	const preview = await run(sheet({ previewOnly: true }), [{ orderNumber: x, ...row }]);
	const result = await run(sheet(), [{ orderNumber: x, ...row }]);
	// Ksher holds no successful refund of this payment: nothing may say it is refunded.
	expect(preview.items[0].status).not.toBe('already refunded');
	expect(result.items[0].alreadyRefunded).not.toBe(true);
	expect(result.items[0].error).toBeDefined();
});
