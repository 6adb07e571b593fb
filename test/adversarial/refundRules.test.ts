import { refundSheet } from '../helpers/refundSheet';
import { startHarness, type SimulatorHarness } from '../helpers/simulator';
import { recordFigure } from './figures';
import { guardUnhandledRejections } from './guard';

type RefundSheet = ReturnType<typeof refundSheet>;

/**
 * Issue #30's findings on the refund path, each as it was reproduced: a refund number reused for
 * another amount, Check All Rows First and Preview saying "would refund" for rows that then
 * fail, Everything That Remains on a PromptPay payment refunded elsewhere, run-wide settings as
 * per-row expressions. Money is counted at the simulator, never taken from the node's word.
 */
guardUnhandledRejections('refund rules');

let h: SimulatorHarness;
let paid: RefundSheet['paid'],
	refundsAt: RefundSheet['refundsAt'],
	sheet: RefundSheet['sheet'],
	run: RefundSheet['run'];
beforeAll(async () => {
	h = await startHarness();
	({ paid, refundsAt, sheet, run } = refundSheet(h));
});
afterAll(async () => {
	await h.control('/merchant-settings', { appid: h.sim.info.appid, allow_partial_refund: 'Y' });
	await h.sim.close();
});

let held = 0;
afterAll(() =>
	recordFigure(
		'refund rules held',
		held,
		'of issue #30 findings 2, 3, 4, 7 reproduced: no row reported done for another amount, no checked row sent after a failure, no "would refund" for what cannot be known',
	),
);

describe('finding 2: a refund number reused for another amount is an error, never "refunded"', () => {
	it.each([
		[
			'version 1',
			{ typeVersion: 1, params: { amount: '={{ $json.amount }}', refundAmount: undefined } },
		],
		['version 2 row by row', { typeVersion: 2, params: { checkAllRowsFirst: false } }],
		['version 2 checked first', { typeVersion: 2, params: {} }],
	])('%s: 20.00 as RF-x, then 30.00 as RF-x', async (_mode, { typeVersion, params }) => {
		const orderNo = await paid();
		const number = `RF-${orderNo}`.slice(0, 32);
		const first = await run(
			sheet(params),
			[{ orderNumber: orderNo, amount: '20.00', refundNumber: number }],
			{ typeVersion },
		);
		expect(first.items[0]).toMatchObject({
			status: 'refunded',
			refundAmount: '20.00',
			alreadyRefunded: false,
		});
		const second = await run(
			sheet(params),
			[{ orderNumber: orderNo, amount: '30.00', refundNumber: number }],
			{ typeVersion },
		);
		expect(second.items[0]).toMatchObject({
			field: 'Refund Number',
			error: `Refund Number ${number} was already used for a refund of 20.00 THB of order ${orderNo}, not 30.00 THB (row 1)`,
		});
		expect(second.items[0].status).toBeUndefined();
		expect(refundsAt(orderNo)).toEqual([[number, 2000]]);
		held++;
	});

	it('on PromptPay (Ksher cannot list its refunds): your own number already used is an error; a derived one is this refund', async () => {
		const orderNo = await paid(10000, 'promptpay');
		const number = `RF-${orderNo}`.slice(0, 32);
		await run(sheet({ checkAllRowsFirst: false }), [
			{ orderNumber: orderNo, amount: '20.00', refundNumber: number },
		]);
		const reused = await run(sheet({ checkAllRowsFirst: false }), [
			{ orderNumber: orderNo, amount: '30.00', refundNumber: number },
		]);
		expect(reused.items[0]).toMatchObject({
			field: 'Refund Number',
			error: expect.stringContaining(
				`Refund Number ${number} is already used, and Ksher cannot list the refunds of order ${orderNo}`,
			),
		});
		await run(sheet({ checkAllRowsFirst: false }), [{ orderNumber: orderNo, amount: '5.00' }]);
		const again = await run(sheet({ checkAllRowsFirst: false }), [
			{ orderNumber: orderNo, amount: '5.00' },
		]);
		expect(again.items[0]).toMatchObject({
			refundNumber: `${orderNo}-R500`,
			refundAmount: '5.00',
			alreadyRefunded: true,
		});
		expect(refundsAt(orderNo)).toEqual([
			[number, 2000],
			[`${orderNo}-R500`, 500],
		]);
		held++;
	});
});

describe('finding 3: what the check says is what the run does', () => {
	it('partial refunds not allowed by the account: the check and the preview refuse the partial row, and nothing moves', async () => {
		const [full, part] = [await paid(), await paid()];
		await h.control('/merchant-settings', { appid: h.sim.info.appid, allow_partial_refund: 'N' });
		try {
			const rows = [
				{ orderNumber: full, amount: '100.00' },
				{ orderNumber: part, amount: '40.00' },
			];
			const preview = await run(sheet({ previewOnly: true }), rows);
			// Row 1 passes, but Check All Rows First would refund nothing: the preview says so.
			expect(preview.items.map((i) => [i.status, i.wouldRefund])).toEqual([
				['held back', false],
				['cannot refund', false],
			]);
			expect(preview.items[0].heldBack).toBe(
				'Nothing was refunded: 1 of 2 rows failed the check (row 2).',
			);
			expect(preview.items[1]).toMatchObject({
				field: 'Refund Amount',
				error: expect.stringContaining('partial refunds are not enabled for this Ksher account'),
			});
			const checked = await run(sheet(), rows);
			expect(checked.refundCalls).toBe(0);
			expect(checked.items[0].error).toMatch(
				/^Nothing was refunded \(Check All Rows First\): 1 of 2 rows failed the check/,
			);
			expect([refundsAt(full), refundsAt(part)]).toEqual([[], []]);
		} finally {
			await h.control('/merchant-settings', { appid: h.sim.info.appid, allow_partial_refund: 'Y' });
		}
		held++;
	});

	it('a refund number already used on another order: the preview says "would try" and why; the run sends that row first and stops there, so the checked row is not refunded', async () => {
		const [other, a, b] = [await paid(), await paid(), await paid()];
		const number = `RF-${other}`.slice(0, 32);
		await run(sheet({ checkAllRowsFirst: false }), [
			{ orderNumber: other, amount: '1.00', refundNumber: number },
		]);
		const rows = [
			{ orderNumber: a, amount: '100.00' },
			{ orderNumber: b, amount: '10.00', refundNumber: number },
		];
		const preview = await run(sheet({ previewOnly: true }), rows);
		expect(preview.items.map((i) => [i.status, i.wouldRefund])).toEqual([
			['would refund', true],
			['would try', null],
		]);
		expect(preview.items[1].unchecked).toBe(
			`Refund Number ${number} cannot be checked against your other orders: Ksher refuses it if it was used on one`,
		);
		const result = await run(sheet(), rows);
		expect(result.refundCalls).toBe(1);
		expect(result.items[1]).toMatchObject({
			field: 'Refund Number',
			error: expect.stringContaining(
				`Refund number ${number} was already used for another refund, not on order ${b}`,
			),
		});
		expect(result.items[0]).toMatchObject({
			field: 'Check All Rows First',
			error: expect.stringMatching(
				new RegExp(`^Not sent \\(row 1\\): row 2 \\(order ${b}\\) could not be refunded`),
			),
		});
		expect([refundsAt(a), refundsAt(b)]).toEqual([[], []]);
		held++;
	});
});

describe('finding 4: PromptPay, whose earlier refunds Ksher cannot list', () => {
	it('Everything That Remains after a refund elsewhere: "would try" (not "would refund"), then the card row is not refunded when Ksher refuses the PromptPay row', async () => {
		const card = await paid(10000, 'card');
		const promptpay = await paid(15050, 'promptpay');
		await h.control('/refund', { mch_order_no: promptpay, refund_fee: 4000 });
		const rows = [
			{ orderNumber: card, amount: '100.00' },
			{ orderNumber: promptpay, amount: '150.50' },
		];
		const preview = await run(sheet({ previewOnly: true }), rows);
		expect(preview.items.map((i) => [i.status, i.wouldRefund])).toEqual([
			['would refund', true],
			['would try', null],
		]);
		expect(preview.items[1].unchecked).toMatch(
			/^Ksher cannot list the refunds of PromptPay payments, so what remains is unknown: Ksher refuses this refund if refunds made elsewhere left less than 150.50 THB/,
		);
		const everything = await run(sheet({ whatToRefund: 'remaining', previewOnly: true }), [
			{ orderNumber: promptpay },
		]);
		expect(everything.items[0]).toMatchObject({
			status: 'would try',
			wouldRefund: null,
			unchecked: expect.stringContaining(
				'this refunds the whole payment (150.50 THB) if nothing was refunded elsewhere, and Ksher refuses it otherwise',
			),
		});

		const result = await run(sheet(), rows);
		expect(result.items[1]).toMatchObject({ code: 'KSHER_INVALID_REFUND_BALANCE' });
		expect(result.items[0].error).toMatch(/^Not sent \(row 1\): row 2/);
		expect(refundsAt(card)).toEqual([]);
		expect(refundsAt(promptpay)).toHaveLength(1);
		held++;
	});

	it('a PromptPay row that Ksher takes: refunded first, then the checked rows', async () => {
		const card = await paid(10000, 'card');
		const promptpay = await paid(15050, 'promptpay');
		const result = await run(sheet(), [
			{ orderNumber: card, amount: '100.00' },
			{ orderNumber: promptpay, amount: '50.00' },
		]);
		expect(result.items.map((i) => [i.status, i.refundAmount])).toEqual([
			['refunded', '100.00'],
			['refunded', '50.00'],
		]);
		expect([refundsAt(card), refundsAt(promptpay)]).toEqual([
			[[`${card}-R10000`, 10000]],
			[[`${promptpay}-R5000`, 5000]],
		]);
	});
});

describe('finding 7: run-wide settings cannot vary per row', () => {
	it.each([
		['previewOnly', 'Preview Only'],
		['checkAllRowsFirst', 'Check All Rows First'],
	])('a %s expression (an imported workflow) refunds nothing and says why', async (name, label) => {
		const [a, b] = [await paid(), await paid()];
		const rows = [
			{ orderNumber: a, amount: '1.00', flag: true },
			{ orderNumber: b, amount: '1.00', flag: false },
		];
		const result = await run(sheet({ [name]: '={{ $json.flag }}' }), rows);
		expect(result.refundCalls).toBe(0);
		// n8n drops the "=" of an expression in a setting that takes none: its text is no switch.
		expect(result.items.map((i) => [i.field, i.error])).toEqual(
			[0, 1].map(() => [
				label,
				`${label} must be on or off for the whole run; it holds "{{ $json.flag }}"`,
			]),
		);
		expect([refundsAt(a), refundsAt(b)]).toEqual([[], []]);
		held++;
	});

	it('a Stop Above Total expression refunds nothing', async () => {
		const orderNo = await paid();
		const result = await run(
			sheet({ stopAboveTotal: { limits: [{ currency: 'THB', total: '={{ $json.limit }}' }] } }),
			[{ orderNumber: orderNo, amount: '1.00', limit: '1000' }],
		);
		expect(result.refundCalls).toBe(0);
		expect(result.items[0]).toMatchObject({ field: 'Stop Above Total (THB)' });
		expect(refundsAt(orderNo)).toEqual([]);
	});

	it('the editor offers no expression for Preview Only, Check All Rows First or Stop Above Total', async () => {
		const { Ksher } = await import('../../nodes/Ksher/Ksher.node');
		const props = new Ksher().description.properties;
		const named = (name: string) => props.find((p) => p.name === name)!;
		expect([
			named('previewOnly').noDataExpression,
			named('checkAllRowsFirst').noDataExpression,
		]).toEqual([true, true]);
		const limits = (
			named('stopAboveTotal').options as Array<{ values: Array<{ noDataExpression?: boolean }> }>
		)[0].values;
		expect(limits.map((v) => v.noDataExpression)).toEqual([true, true]);
	});
});

describe('Check All Rows First after a refusal: rows that are the same refund as a row not sent', () => {
	it('say "Not sent" too, and nothing moves for them', async () => {
		const [other, a] = [await paid(), await paid()];
		const number = `RF-${other}`.slice(0, 32);
		await run(sheet({ checkAllRowsFirst: false }), [
			{ orderNumber: other, amount: '1.00', refundNumber: number },
		]);
		// Row 1 is refused (its number is another order's); rows 2 and 3 are one refund, never sent.
		const rows = [
			{ orderNumber: a, amount: '10.00', refundNumber: number },
			{ orderNumber: a, amount: '5.00' },
			{ orderNumber: a, amount: '5.00' },
		];
		const result = await run(sheet(), rows);
		expect(result.refundCalls).toBe(1);
		expect(result.items[0].error).toBe(
			`Refund Number: Refund number ${number} was already used for another refund, not on order ${a} (row 1)`,
		);
		expect(result.items.slice(1).map((i) => String(i.error).split(':')[0])).toEqual([
			'Not sent (row 2)',
			'Not sent (row 3)',
		]);
		expect(refundsAt(a)).toEqual([]);
	});
});
