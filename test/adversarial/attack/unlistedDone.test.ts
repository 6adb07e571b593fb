import type { IDataObject } from 'n8n-workflow';

import { runNode } from '../../helpers/node';
import { startHarness, type SimulatorHarness } from '../../helpers/simulator';

/**
 * Attack: re-running a PromptPay sheet that mixes an amount row and an Everything That Remains
 * row on one order. The first run refunds 30.00 (…-R3000) and then what remains, 70.00 (…-RALL).
 * On the re-run Ksher reports the payment fully refunded but cannot list its refunds, so
 * decideRefund makes up a "done" refund for the remaining row of the whole payment: the output
 * says …-RALL refunded 100.00, and the sheet's rows add up to 130.00 refunded of a 100.00
 * payment. What Ksher holds under …-RALL is 70.00. The output states an amount nobody knows.
 */
let h: SimulatorHarness;
beforeAll(async () => {
	h = await startHarness();
});
afterAll(() => h.sim.close());

const sheet = (extra: IDataObject = {}): IDataObject => ({
	resource: 'refund',
	operation: 'create',
	orderNumber: '={{ $json.orderNumber }}',
	whatToRefund: '={{ $json.all ? "remaining" : "amount" }}',
	refundAmount: '={{ $json.amount }}',
	...extra,
});

it.each([
	['checked first', {}],
	['row by row', { checkAllRowsFirst: false }],
	['preview', { previewOnly: true }],
])('%s: a re-run does not report the remaining row as a refund of the whole payment', async (_mode, extra) => {
	const { orderNo: p } = await h.createOrder({ total_fee: 10000 });
	await h.payOrder(p, 'promptpay');
	const rows = [{ orderNumber: p, amount: '30.00' }, { orderNumber: p, all: true }];
	const first = await runNode(h, sheet(), { rows, continueOnFail: true });
	expect(first.items.map((i) => i.refundAmount)).toEqual(['30.00', '70.00']);
	expect((h.sim.order(p)?.refunds ?? []).map((r) => [r.mch_refund_no, r.refund_fee])).toEqual([[`${p}-R3000`, 3000], [`${p}-RALL`, 7000]]);

	const again = await runNode(h, sheet(extra), { rows, continueOnFail: true });
	// Ksher holds 70.00 under …-RALL: the row may say 70.00 or that the amount is unknown, never 100.00.
	expect(again.items[1].refundAmount).not.toBe('100.00');
});
