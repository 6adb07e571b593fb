import type { IDataObject } from 'n8n-workflow';

import { Ksher } from '../../nodes/Ksher/Ksher.node';
import { registerNodeType } from '../helpers/n8n';
import { runNode } from '../helpers/node';
import { startHarness, uniqueOrderNo, type SimulatorHarness } from '../helpers/simulator';

/**
 * Refunds from a sheet fail closed (issue #22): an empty, missing or unreadable Refund Amount
 * is an error for its row and never a full refund; a whole sheet can be checked, previewed and
 * capped before any money moves. "No money moved" is counted at the simulator: order_refund
 * calls, not the node's own word.
 */
let h: SimulatorHarness;
beforeAll(async () => {
	h = await startHarness();
	// The Ksher node as an AI Agent's tool: n8n gives it the type name "<type>Tool".
	registerNodeType('n8n-nodes-ksher.ksherTool', new Ksher());
});
afterAll(() => h.sim.close());

async function paidOrder(total = 10000, channel = 'truemoney', currency = 'THB'): Promise<string> {
	const { orderNo } = await h.createOrder({ total_fee: total, fee_type: currency });
	await h.payOrder(orderNo, channel);
	return orderNo;
}

const refundCalls = () => h.sim.requests.filter((r) => r.endpoint === 'order_refund').length;
const refundsAt = (orderNo: string) => h.sim.order(orderNo)?.refunds ?? [];

/** The refund-sheet node as a new user gets it: version 2, An Amount, columns mapped by expression. */
const sheetNode = (extra: IDataObject = {}): IDataObject => ({
	resource: 'refund',
	operation: 'create',
	orderNumber: '={{ $json.orderNumber }}',
	refundAmount: '={{ $json.amount }}',
	...extra,
});

/** Runs the node and reports how many refund calls reached Ksher meanwhile. */
async function run(
	parameters: IDataObject,
	rows: IDataObject[],
	options: { continueOnFail?: boolean; typeVersion?: number; tool?: boolean } = {},
) {
	const before = refundCalls();
	const result = await runNode(h, parameters, {
		rows,
		continueOnFail: options.continueOnFail,
		typeVersion: options.typeVersion,
	});
	return { ...result, refundCalls: refundCalls() - before };
}

describe('An Amount: an empty or unreadable Refund Amount is an error for its row, never a full refund', () => {
	it('the sheet the issue names: B2 blank → nothing refunded, the message names the row, the order and the fix', async () => {
		const b1 = await paidOrder();
		const b2 = await paidOrder();
		const rows = [
			{ orderNumber: b1, Amount: '5.00', amount: '5.00' },
			{ orderNumber: b2, Amount: '', amount: '' },
		];
		const checked = await run(sheetNode(), rows);
		expect(checked.status).toBe('error');
		expect(checked.refundCalls).toBe(0);
		// The first row passed; its error says why it was not refunded and names the failed row.
		expect(checked.error?.message).toBe(
			`Nothing was refunded (Check All Rows First): 1 of 2 rows failed the check. Refund Amount is empty for order ${b2} (row 2): map the amount column or field, or choose "Everything That Remains"`,
		);
		const rowByRow = await run(sheetNode({ checkAllRowsFirst: false }), rows, {
			continueOnFail: true,
		});
		expect(rowByRow.refundCalls).toBe(1);
		expect(rowByRow.items[0]).toMatchObject({ refundAmount: '5.00', alreadyRefunded: false });
		expect(rowByRow.items[1]).toMatchObject({
			field: 'Refund Amount',
			error: `Refund Amount is empty for order ${b2} (row 2): map the amount column or field, or choose "Everything That Remains"`,
		});
		expect(refundsAt(b2)).toEqual([]);
	});

	it.each([
		['empty', { amount: '' }, 'is empty'],
		[
			'missing (a renamed column)',
			{ Amount: '5' },
			'is missing (this row has no such field: a blank cell, or a column of another name)',
		],
		['null (an empty formula cell)', { amount: null }, 'is null'],
		['blank', { amount: '   ' }, 'is blank (only spaces)'],
		['zero', { amount: '0' }, 'Refund Amount "0" is zero'],
		['zero as a number', { amount: 0 }, 'Refund Amount "0" is zero'],
		['negative', { amount: '-5' }, 'Refund Amount "-5" is negative'],
		['not a number', { amount: 'five' }, 'Refund Amount "five" is not a valid amount'],
		[
			'too many decimals',
			{ amount: '1.005' },
			'Refund Amount "1.005" has 3 decimals; Ksher\'s currencies have at most 2',
		],
		[
			'a header row exported again',
			{ amount: 'amount' },
			'Refund Amount "amount" is not a valid amount',
		],
	])(
		'%s: an error naming the value, row by row and checked first, with no refund call',
		async (_name, row, seen) => {
			const orderNo = await paidOrder();
			for (const checkAllRowsFirst of [true, false]) {
				const result = await run(
					sheetNode({ checkAllRowsFirst }),
					[{ orderNumber: orderNo, ...row }],
					{ continueOnFail: true },
				);
				expect(result.refundCalls).toBe(0);
				expect(result.items[0]).toMatchObject({ orderNumber: orderNo, field: 'Refund Amount' });
				expect(result.items[0].error).toContain(seen);
				expect(result.items[0].error).toContain(`order ${orderNo} (row 1)`);
			}
			expect(refundsAt(orderNo)).toEqual([]);
		},
	);

	it('a payment in JPY: decimals are refused for its currency, with the row', async () => {
		const yen = await paidOrder(1000, 'truemoney', 'JPY');
		const result = await run(sheetNode(), [{ orderNumber: yen, amount: '10.5' }], {
			continueOnFail: true,
		});
		expect(result.refundCalls).toBe(0);
		expect(result.items[0].error).toBe(
			`Refund Amount "10.5" has decimals, but JPY has no minor unit for order ${yen} (row 1)`,
		);
	});

	it('without Continue On Fail a row-by-row run stops at the bad row: rows before it are refunded, the bad one and later ones are not', async () => {
		const [a, b, c] = [await paidOrder(), await paidOrder(), await paidOrder()];
		const result = await run(sheetNode({ checkAllRowsFirst: false, options: { concurrency: 1 } }), [
			{ orderNumber: a, amount: '1' },
			{ orderNumber: b },
			{ orderNumber: c, amount: '1' },
		]);
		expect(result.status).toBe('error');
		expect(result.error?.message).toBe(
			`Refund Amount is missing (this row has no such field: a blank cell, or a column of another name) for order ${b} (row 2): map the amount column or field, or choose "Everything That Remains"`,
		);
		expect([refundsAt(a).length, refundsAt(b).length, refundsAt(c).length]).toEqual([1, 0, 0]);
	});

	it('Everything That Remains, asked for explicitly, is one refund call for what remains', async () => {
		const orderNo = await paidOrder();
		await h.control('/refund', { mch_order_no: orderNo, refund_fee: 2500 });
		const result = await run(sheetNode({ whatToRefund: 'remaining' }), [{ orderNumber: orderNo }]);
		expect(result.refundCalls).toBe(1);
		expect(result.items[0]).toMatchObject({
			refundNumber: `${orderNo}-RALL`,
			refundAmount: '75.00',
			alreadyRefunded: false,
		});
		const what = await run(
			sheetNode({ whatToRefund: '={{ $json.what }}' }),
			[{ orderNumber: orderNo, what: '' }],
			{ continueOnFail: true },
		);
		expect(what.refundCalls).toBe(0);
		expect(what.items[0]).toMatchObject({
			field: 'What to Refund',
			error: `What to Refund is empty for order ${orderNo} (row 1)`,
		});
	});
});

/** A version-1 refund node whose Refund Amount is mapped to the row's `amount` column. */
const runV1 = (orderNo: string, rows: IDataObject[], options: { continueOnFail?: boolean } = {}) =>
	run(
		{
			resource: 'refund',
			operation: 'create',
			orderNumber: orderNo,
			refundAmount: '={{ $json.amount }}',
		},
		rows,
		{ ...options, typeVersion: 1 },
	);

describe('Workflows saved with version 1 keep their rules, without the mis-mapped column refunding in full', () => {
	it('an expression that finds no amount is an error; a Refund Amount left empty in the editor still refunds what remains', async () => {
		const orderNo = await paidOrder();
		const mapped = await runV1(orderNo, [{ Amount: '5' }], { continueOnFail: true });
		expect(mapped.refundCalls).toBe(0);
		expect(mapped.items[0]).toMatchObject({
			field: 'Refund Amount',
			error: expect.stringContaining(
				`Refund Amount is missing (this row has no such field: a blank cell, or a column of another name) for order ${orderNo} (row 1)`,
			),
		});
		const blankCell = await runV1(orderNo, [{ amount: '' }], { continueOnFail: true });
		expect(blankCell.refundCalls).toBe(0);
		const partial = await runV1(orderNo, [{ amount: '10' }]);
		expect(partial.items[0]).toMatchObject({ refundAmount: '10.00' });
		const leftEmpty = await run(
			{ resource: 'refund', operation: 'create', orderNumber: orderNo, refundAmount: '' },
			[{}],
			{ typeVersion: 1 },
		);
		expect(leftEmpty.refundCalls).toBe(1);
		expect(leftEmpty.items[0]).toMatchObject({
			refundNumber: `${orderNo}-RALL`,
			refundAmount: '90.00',
		});
		// Version 1 has no What to Refund, preview or sheet check: it runs row by row as it always did.
		expect(refundsAt(orderNo).map((r) => r.refund_fee)).toEqual([1000, 9000]);
	});
});

describe('Check All Rows First (the default): if any row fails, no row is refunded', () => {
	it('a one-row run (a form, a queue) is counted in the singular: "1 of 1 row failed the check (row 1)"', async () => {
		const orderNo = await paidOrder();
		const result = await run(sheetNode(), [{ orderNumber: orderNo, amount: '' }], {
			continueOnFail: true,
		});
		expect(result.refundCalls).toBe(0);
		expect(result.items[0]).toMatchObject({
			error: `Refund Amount is empty for order ${orderNo} (row 1): map the amount column or field, or choose "Everything That Remains"`,
		});
		expect(String(result.items[0].solution)).toContain(
			'Nothing was refunded: 1 of 1 row failed the check (row 1).',
		);
	});

	it('one bad row among 30: no refund call, every row says whether it was fine or what is wrong', async () => {
		const orders = await Promise.all(Array.from({ length: 10 }, () => paidOrder()));
		const rows: IDataObject[] = Array.from({ length: 30 }, (_, i) => ({
			orderNumber: orders[i % 10],
			amount: `${(i % 3) + 1}.00`,
		}));
		rows[17] = { orderNumber: orders[7], amount: 'N/A' };
		const result = await run(sheetNode(), rows, { continueOnFail: true });
		expect(result.refundCalls).toBe(0);
		expect(result.items).toHaveLength(30);
		expect(result.items[17]).toMatchObject({
			field: 'Refund Amount',
			error: `Refund Amount "N/A" is not a valid amount for order ${orders[7]} (row 18)`,
		});
		expect(String(result.items[17].solution)).toContain(
			'Nothing was refunded: 1 of 30 rows failed the check (row 18).',
		);
		for (const [i, item] of result.items.entries()) {
			if (i === 17) continue;
			expect(item).toMatchObject({
				field: 'Check All Rows First',
				error: `Nothing was refunded (Check All Rows First): 1 of 30 rows failed the check. Refund Amount "N/A" is not a valid amount for order ${orders[7]} (row 18)`,
				solution: expect.stringContaining('This row passed the check'),
			});
		}
		for (const orderNo of orders) expect(refundsAt(orderNo)).toEqual([]);

		// The same sheet corrected: exactly its refunds; run again: nothing new.
		rows[17] = { orderNumber: orders[7], amount: '3.00' };
		const fixed = await run(sheetNode(), rows);
		expect(fixed.status).toBe('success');
		expect(fixed.refundCalls).toBe(30);
		expect(fixed.items.every((item) => item.alreadyRefunded === false)).toBe(true);
		const again = await run(sheetNode(), rows);
		expect(again.refundCalls).toBe(0);
		expect(again.items.every((item) => item.alreadyRefunded === true)).toBe(true);
	});

	it('rows of one order are counted together against what remains', async () => {
		const orderNo = await paidOrder(15050);
		await h.control('/refund', { mch_order_no: orderNo, refund_fee: 5000 });
		const rows = [
			{ orderNumber: orderNo, amount: '60' },
			{ orderNumber: orderNo, amount: '50' },
		];
		const result = await run(sheetNode(), rows, { continueOnFail: true });
		expect(result.refundCalls).toBe(0);
		expect(result.items[1]).toMatchObject({
			error: `Refund Amount 50.00 THB exceeds what remains of order ${orderNo} after row 1 of this run: 40.50 of 150.50 THB (row 2)`,
		});
		const withoutTheCheck = await run(sheetNode({ checkAllRowsFirst: false }), rows, {
			continueOnFail: true,
		});
		expect(withoutTheCheck.refundCalls).toBe(2);
		expect(withoutTheCheck.items[1]).toMatchObject({
			error: expect.stringMatching(/exceeds what remains/),
		});
		expect(refundsAt(orderNo).map((r) => r.refund_fee)).toEqual([5000, 6000]);
	});

	it('a refund number already used for a different amount, or twice in the sheet for different refunds, fails the check', async () => {
		const orderNo = await paidOrder();
		await run(sheetNode({ refundNumber: 'REF-1-' + orderNo.slice(-10) }), [
			{ orderNumber: orderNo, amount: '10' },
		]);
		const reused = await run(
			sheetNode({ refundNumber: 'REF-1-' + orderNo.slice(-10) }),
			[{ orderNumber: orderNo, amount: '12' }],
			{ continueOnFail: true },
		);
		expect(reused.refundCalls).toBe(0);
		expect(reused.items[0]).toMatchObject({
			field: 'Refund Number',
			error: expect.stringMatching(
				/was already used for a refund of 10.00 THB of order .*, not 12.00 THB/,
			),
		});
		const twice = await run(
			sheetNode({ refundNumber: '={{ $json.ref }}' }),
			[
				{ orderNumber: orderNo, amount: '1', ref: 'TWICE-1' },
				{ orderNumber: orderNo, amount: '2', ref: 'TWICE-1' },
			],
			{ continueOnFail: true },
		);
		expect(twice.refundCalls).toBe(0);
		expect(twice.items[1]).toMatchObject({
			field: 'Refund Number',
			error: expect.stringMatching(/Refund Number TWICE-1 is also row 1's/),
		});
	});

	it("two identical rows are one refund: the second reports the first's", async () => {
		const orderNo = await paidOrder();
		const result = await run(sheetNode(), [
			{ orderNumber: orderNo, amount: '7' },
			{ orderNumber: orderNo, amount: '7' },
		]);
		expect(result.refundCalls).toBe(1);
		expect(result.items[1]).toMatchObject({
			refundNumber: `${orderNo}-R700`,
			alreadyRefunded: true,
			sameRefundAsRow: 1,
		});
	});

	it('an order that is not paid, unknown, or cannot be looked up fails the check for its rows', async () => {
		const paid = await paidOrder();
		const unpaid = (await h.createOrder()).orderNo;
		const result = await run(
			sheetNode(),
			[
				{ orderNumber: paid, amount: '1' },
				{ orderNumber: unpaid, amount: '1' },
				{ orderNumber: uniqueOrderNo('NOPE'), amount: '1' },
			],
			{ continueOnFail: true },
		);
		expect(result.refundCalls).toBe(0);
		expect(result.items[1].error).toMatch(/cannot be refunded: the payment is not paid yet/);
		expect(result.items[2]).toMatchObject({ code: 'ORDER_NOT_EXIST' });
	});

	it('each order is looked up once: 30 rows over 10 orders cost 10 lookups, 10 refund lists and 30 refunds', async () => {
		const orders = await Promise.all(Array.from({ length: 10 }, () => paidOrder()));
		const rows = Array.from({ length: 30 }, (_, i) => ({
			orderNumber: orders[i % 10],
			amount: `${i + 1}`,
		}));
		const mark = h.sim.requests.length;
		const result = await run(sheetNode({ options: { concurrency: 4 } }), rows);
		expect(result.status).toBe('success');
		const count = (endpoint: string) =>
			h.sim.requests.slice(mark).filter((r) => r.endpoint === endpoint).length;
		expect([count('gateway_order_query'), count('refund_query'), count('order_refund')]).toEqual([
			10, 10, 30,
		]);
	});
});

describe('Preview Only: what would happen, and no money moves', () => {
	it('per row: the amount, what remains before and after, the refund number, wouldRefund / alreadyRefunded / the error', async () => {
		const a = await paidOrder(15050);
		const b = await paidOrder(10000, 'promptpay');
		await h.control('/refund', { mch_order_no: a, refund_fee: 5000 });
		const rows = [
			{ orderNumber: a, amount: '30' },
			{ orderNumber: a, amount: '20.50' },
			{ orderNumber: b, amount: '' },
			{ orderNumber: b, amount: '100' },
		];
		const preview = await run(sheetNode({ previewOnly: true }), rows);
		expect(preview.status).toBe('success');
		expect(preview.refundCalls).toBe(0);
		// Row 3 fails the check, so with Check All Rows First (on) the run would refund nothing: the rows that
		// pass are "held back", with what they would do once row 3 is fixed.
		const heldBack = 'Nothing was refunded: 1 of 4 rows failed the check (row 3).';
		expect(preview.items[0]).toEqual({
			row: 1,
			orderNumber: a,
			preview: true,
			status: 'held back',
			wouldRefund: false,
			heldBack,
			alreadyRefunded: false,
			refundNumber: `${a}-R3000`,
			refundAmount: '30.00',
			currency: 'THB',
			remainingBefore: '100.50',
			remainingAfter: '70.50',
		});
		expect(preview.items[1]).toMatchObject({
			row: 2,
			status: 'held back',
			wouldRefund: false,
			refundAmount: '20.50',
			remainingBefore: '70.50',
			remainingAfter: '50.00',
		});
		// A row whose amount cannot be read still names its order, as its message does.
		expect(preview.items[2]).toMatchObject({
			row: 3,
			orderNumber: b,
			status: 'cannot refund',
			wouldRefund: false,
			field: 'Refund Amount',
			error: expect.stringContaining('Refund Amount is empty'),
		});
		// PromptPay: Ksher cannot list its refunds, so what remains is unknown (null), not guessed, and
		// the preview does not vouch for the row: `unchecked` says why (alone, it would be "would try").
		expect(preview.items[3]).toMatchObject({
			row: 4,
			status: 'held back',
			wouldRefund: false,
			refundAmount: '100.00',
			remainingBefore: null,
			remainingAfter: null,
			unchecked: expect.stringMatching(
				/^Ksher cannot list the refunds of PromptPay payments, so what remains is unknown: Ksher refuses this refund if refunds made elsewhere left less than 100.00 THB$/,
			),
		});

		// Run the rows that are fine: what remains after each, as the preview said (a results sheet is as
		// complete after the real run); then preview again: they show as already refunded.
		const real = await run(sheetNode(), [rows[0], rows[1], rows[3]]);
		expect(real.items.map((i) => i.remainingAfter)).toEqual(['70.50', '50.00', null]);
		const after = await run(sheetNode({ previewOnly: true }), [rows[0], rows[1], rows[3]]);
		expect(after.refundCalls).toBe(0);
		expect(after.items.map((i) => [i.status, i.wouldRefund, i.alreadyRefunded])).toEqual([
			['already refunded', false, true],
			['already refunded', false, true],
			['already refunded', false, true],
		]);
		expect(after.items[2].note).toMatch(/fully refunded and cannot list its refunds/);
	});
});

describe('Stop Above Total: a ceiling per run and currency', () => {
	const ceiling = (total: string, currency = 'THB') => ({
		stopAboveTotal: { limits: [{ currency, total }] },
	});

	it('rows that together exceed it refund nothing, and every row says why; within it they are refunded', async () => {
		const [a, b] = [await paidOrder(), await paidOrder()];
		const rows = [
			{ orderNumber: a, amount: '60' },
			{ orderNumber: b, amount: '50' },
		];
		for (const checkAllRowsFirst of [true, false]) {
			const over = await run(sheetNode({ checkAllRowsFirst, ...ceiling('100') }), rows, {
				continueOnFail: true,
			});
			expect(over.refundCalls).toBe(0);
			for (const item of over.items)
				expect(item).toMatchObject({
					field: 'Stop Above Total',
					error:
						'Nothing was refunded: the rows together would refund 110.00 THB, above Stop Above Total 100.00 THB',
				});
		}
		const preview = await run(sheetNode({ previewOnly: true, ...ceiling('100') }), rows);
		expect(preview.items.map((i) => i.wouldRefund)).toEqual([false, false]);
		const within = await run(sheetNode(ceiling('110.00')), rows);
		expect(within.refundCalls).toBe(2);
		// Already refunded rows do not count again.
		const rerun = await run(sheetNode(ceiling('1')), rows);
		expect(rerun.status).toBe('success');
		expect(rerun.refundCalls).toBe(0);
	});

	it('a currency without a limit, and a limit that cannot be read, refund nothing', async () => {
		const orderNo = await paidOrder();
		const otherCurrency = await run(
			sheetNode(ceiling('1000', 'USD')),
			[{ orderNumber: orderNo, amount: '1' }],
			{ continueOnFail: true },
		);
		expect(otherCurrency.refundCalls).toBe(0);
		expect(otherCurrency.items[0].error).toMatch(/Stop Above Total has no limit for THB/);
		const unreadable = await run(sheetNode(ceiling('')), [{ orderNumber: orderNo, amount: '1' }], {
			continueOnFail: true,
		});
		expect(unreadable.refundCalls).toBe(0);
		expect(unreadable.items[0]).toMatchObject({
			field: 'Stop Above Total (THB)',
			error: expect.stringMatching(/is empty/),
		});
	});
});

describe('The Ksher Tool in an AI Agent follows the same rules', () => {
	it('a refund call without an amount is an answer telling the agent so, not a full refund', async () => {
		const orderNo = await paidOrder();
		const before = refundCalls();
		const result = await (
			await import('../helpers/n8n')
		).runKsherNode({
			nodeType: 'n8n-nodes-ksher.ksherTool',
			credentials: (await import('../helpers/node')).simulatorCredentials(h) as never,
			parameters: {
				resource: 'refund',
				operation: 'create',
				orderNumber: orderNo,
				refundAmount: '={{ $json.refundAmount }}',
			} as never,
			items: [{}],
		});
		expect(refundCalls() - before).toBe(0);
		expect(result.status).toBe('success');
		expect(result.items[0]).toMatchObject({
			field: 'Refund Amount',
			error: `Refund Amount is missing (the expression found no such field) for order ${orderNo} (row 1): give the amount to refund, or ask explicitly for everything that remains`,
		});
		expect(refundsAt(orderNo)).toEqual([]);
	});
});
