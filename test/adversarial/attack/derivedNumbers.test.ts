import type { IDataObject } from 'n8n-workflow';

import { runNode } from '../../helpers/node';
import { startHarness, type SimulatorHarness } from '../../helpers/simulator';

/**
 * Attack: a derived refund number (`<order>-R<minor>`, `<order>-RALL`) is treated as if only this
 * node, for this order and this amount, could ever have made it. But Refund Number accepts any
 * text, so a shop (a copied column, a misaligned sheet, its own "INV-R500" scheme, the merchant
 * portal) can put exactly that text on another refund. Then:
 *  - PromptPay/Alipay: Ksher's "number used" is read as "this refund was done": the row says
 *    status "refunded", alreadyRefunded true, and the customer got nothing.
 *  - listable wallets: the check and the preview vouch for the row ("would refund"), so Check All
 *    Rows First sends it with the checked rows, not first; it fails at Ksher after the other
 *    rows were refunded.
 *  - Everything That Remains: a `<order>-RALL` refund for less than the payment is "already
 *    refunded" although Ksher still holds money of the payment.
 * The simulator's refunds are the truth. Fixed by refusing, as a Refund Number, another order's
 * derived form (the node's own namespace) and "everything that remains" done while money remains.
 */
let h: SimulatorHarness;
beforeAll(async () => {
	h = await startHarness();
});
afterAll(() => h.sim.close());

const refundsAt = (orderNo: string) => (h.sim.order(orderNo)?.refunds ?? []).map((r) => [r.mch_refund_no, r.refund_fee]);
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
	refundNumber: '={{ $json.refundNumber || "" }}',
	...extra,
});
const run = (parameters: IDataObject, rows: IDataObject[], typeVersion?: number) => runNode(h, parameters, { rows, continueOnFail: true, typeVersion });

it.each([
	['version 2, checked first', 2, {}],
	['version 2, row by row', 2, { checkAllRowsFirst: false }],
	['version 1', 1, { whatToRefund: undefined, refundAmount: undefined, amount: '={{ $json.amount }}' }],
])('%s: another order\'s derived number given as Refund Number is refused (nothing moves), so the PromptPay row it would shadow is refunded for real', async (_mode, typeVersion, extra) => {
	const [other, promptpay] = [await paid(), await paid(10000, 'promptpay')];
	// A misaligned refund-number column puts the PromptPay row's derived number on another order.
	const shadow = await run(sheet(extra), [{ orderNumber: other, amount: '5.00', refundNumber: `${promptpay}-R500` }], typeVersion);
	expect(shadow.items[0]).toMatchObject({ field: 'Refund Number', error: expect.stringContaining(`Refund Number ${promptpay}-R500 has the form of the numbers the node makes for another order's refunds`) });
	expect(refundsAt(other)).toEqual([]);

	const result = await run(sheet(extra), [{ orderNumber: promptpay, amount: '5.00' }], typeVersion);
	expect(result.items[0]).toMatchObject({ status: 'refunded', alreadyRefunded: false, refundAmount: '5.00' });
	expect(refundsAt(promptpay)).toEqual([[`${promptpay}-R500`, 500]]);
});

it('the hashed form of a derived number is refused as a Refund Number too', async () => {
	const a = await paid();
	const result = await run(sheet(), [{ orderNumber: a, amount: '5.00', refundNumber: `R${'0123456789abcdef'.repeat(2).slice(0, 31)}` }]);
	expect(result.items[0]).toMatchObject({ field: 'Refund Number' });
	expect(refundsAt(a)).toEqual([]);
});

it('a derived number given to another order is refused before the check vouches for anything: the sheet refunds nothing', async () => {
	const [a, b] = [await paid(), await paid()];
	const rows = [{ orderNumber: a, amount: '100.00' }, { orderNumber: a === b ? a : b, amount: '5.00', refundNumber: `${a}-R10000` }];
	const preview = await run(sheet({ previewOnly: true }), rows);
	expect(preview.items.map((i) => i.status)).toEqual(['held back', 'cannot refund']);
	const result = await run(sheet({ options: { concurrency: 1 } }), rows);
	expect(result.items[1]).toMatchObject({ field: 'Refund Number' });
	expect([refundsAt(a), refundsAt(b)]).toEqual([[], []]);
	// What stays out of reach (said in docs/reference.md): the same text typed for another order in the
	// merchant portal or another tool, which the node cannot see before it sends.
});

it('Everything That Remains: a `<order>-RALL` refund for 30.00 of 100.00 makes the row "already refunded" while 70.00 is still with Ksher', async () => {
	const x = await paid();
	await run(sheet({ checkAllRowsFirst: false }), [{ orderNumber: x, amount: '30.00', refundNumber: `${x}-RALL` }]);
	const preview = await run(sheet({ previewOnly: true }), [{ orderNumber: x, all: true }]);
	const result = await run(sheet(), [{ orderNumber: x, all: true }]);
	const held = 10000 - (h.sim.order(x)?.refunds ?? []).reduce((s, r) => s + r.refund_fee, 0);
	// Either everything is refunded now, or the row is an error: never "already refunded" with money left.
	if (held > 0) {
		expect(preview.items[0].status).not.toBe('already refunded');
		expect(result.items[0].alreadyRefunded).not.toBe(true);
	}
});
