import { runNode } from '../helpers/node';
import { startHarness, uniqueOrderNo, type SimulatorHarness } from '../helpers/simulator';

let h: SimulatorHarness;
beforeAll(async () => {
	h = await startHarness();
});
afterAll(() => h.sim.close());
afterEach(async () => {
	// Faults must not leak from one test into the next.
	const { body } = await h.control<{ faults: unknown[] }>('/faults');
	if (body.faults.length) await h.control('/reset', {});
});

/** Paid with TrueMoney by default: Ksher lists its refunds (it cannot for PromptPay and Alipay). */
async function paidOrder(overrides: Record<string, unknown> = {}, channel = 'truemoney') {
	const { orderNo } = await h.createOrder({
		total_fee: 15050,
		channel_list: 'promptpay,card,truemoney',
		...overrides,
	});
	await h.payOrder(orderNo, channel);
	return orderNo;
}

const refund = (orderNumber: string, extra: Record<string, unknown> = {}) => ({
	resource: 'refund',
	operation: 'create',
	orderNumber,
	...extra,
});
/** Everything That Remains, asked for explicitly (version 2). */
const refundAll = (orderNumber: string, extra: Record<string, unknown> = {}) =>
	refund(orderNumber, { whatToRefund: 'remaining', ...extra });
/** Row by row, each row on its own (Check All Rows First off): the node's behaviour before version 2. */
const rowByRow = (orderNumber: string, extra: Record<string, unknown> = {}) =>
	refund(orderNumber, { checkAllRowsFirst: false, ...extra });
const refundsAtKsher = (orderNo: string) => h.sim.order(orderNo)?.refunds ?? [];

describe('Refund → Create', () => {
	it('Everything That Remains refunds everything; re-running returns the same refund and moves no money', async () => {
		const orderNo = await paidOrder();
		const first = await runNode(h, refundAll(orderNo));
		expect(first.status).toBe('success');
		expect(first.items[0]).toMatchObject({
			orderNumber: orderNo,
			refundNumber: `${orderNo}-RALL`,
			refundAmount: '150.50',
			currency: 'THB',
			status: 'refunded',
			alreadyRefunded: false,
		});
		expect(first.items[0].refundedAt).toMatch(/\+07:00$/);
		expect(first.items[0].ksherRefundNumber).toMatch(/^700/);
		const again = await runNode(h, refundAll(orderNo));
		expect(again.items[0]).toMatchObject({
			refundNumber: `${orderNo}-RALL`,
			refundAmount: '150.50',
			alreadyRefunded: true,
		});
		expect(refundsAtKsher(orderNo)).toHaveLength(1);
	});

	it('partial refunds get derived numbers; re-runs are no-ops; explicit numbers allow equal partial refunds', async () => {
		const orderNo = await paidOrder();
		const sheet = [
			{ no: orderNo, amount: '50.00' },
			{ no: orderNo, amount: '20' },
		];
		const params = refund('={{ $json.no }}', {
			refundAmount: '={{ $json.amount }}',
			options: { concurrency: 1 },
		});
		const first = await runNode(h, params, { rows: sheet });
		expect(first.items.map((i) => [i.refundNumber, i.refundAmount, i.alreadyRefunded])).toEqual([
			[`${orderNo}-R5000`, '50.00', false],
			[`${orderNo}-R2000`, '20.00', false],
		]);
		const rerun = await runNode(h, params, { rows: sheet });
		expect(rerun.items.map((i) => i.alreadyRefunded)).toEqual([true, true]);
		expect(refundsAtKsher(orderNo).map((r) => r.refund_fee)).toEqual([5000, 2000]);

		const twins = await runNode(
			h,
			refund('={{ $json.no }}', { refundAmount: '10', refundNumber: '={{ $json.ref }}' }),
			{
				rows: [
					{ no: orderNo, ref: `${orderNo}-a` },
					{ no: orderNo, ref: `${orderNo}-b` },
				],
			},
		);
		expect(twins.items.map((i) => i.alreadyRefunded)).toEqual([false, false]);
		expect(refundsAtKsher(orderNo).map((r) => r.refund_fee)).toEqual([5000, 2000, 1000, 1000]);

		const rest = await runNode(h, refundAll(orderNo));
		expect(rest.items[0]).toMatchObject({ refundAmount: '60.50', alreadyRefunded: false });
		expect(refundsAtKsher(orderNo).reduce((s, r) => s + r.refund_fee, 0)).toBe(15050);
	});

	it('refuses an amount above what remains, with what remains', async () => {
		const orderNo = await paidOrder();
		await runNode(h, refund(orderNo, { refundAmount: '100' }));
		const over = await runNode(h, refund(orderNo, { refundAmount: '60' }));
		expect(over.status).toBe('error');
		expect(over.error?.name).toBe('NodeOperationError');
		expect(over.error?.message).toMatch(
			/^Refund Amount 60.00 THB exceeds what remains of order .*: 50.50 of 150.50 THB \(row 1\)$/,
		);
		expect(over.error?.description).toMatch(/at most 50.50/);
		expect(refundsAtKsher(orderNo)).toHaveLength(1);
		// Row by row (Ksher's own refusal explained) says the same.
		const overRowByRow = await runNode(h, rowByRow(orderNo, { refundAmount: '60' }));
		expect(overRowByRow.error?.message).toBe(over.error?.message);
		await runNode(h, refundAll(orderNo));
		const nothingLeft = await runNode(h, refund(orderNo, { refundAmount: '1' }));
		expect(nothingLeft.error?.message).toMatch(/already fully refunded/);
	});

	it.each([
		['unpaid', async () => (await h.createOrder()).orderNo, /not paid yet/],
		[
			'cancelled',
			async () => {
				const { orderNo } = await h.createOrder();
				await h.client.call('cancel_order', { mch_order_no: orderNo });
				return orderNo;
			},
			/cancelled or expired/,
		],
		[
			'failed',
			async () => {
				const { orderNo } = await h.createOrder();
				await h.control('/fail', { mch_order_no: orderNo });
				return orderNo;
			},
			/payment failed/,
		],
		['unknown', async () => 'no-such-order', /Ksher has no payment with this order number/],
	])('refuses a %s order with a clear error', async (_name, prepare, message) => {
		const orderNo = await prepare();
		const result = await runNode(h, refund(orderNo, { refundAmount: '10' }));
		expect(result.status).toBe('error');
		expect(result.error?.message).toMatch(message);
		expect(
			h.sim.requests.some(
				(r) => r.endpoint === 'order_refund' && r.params.mch_refund_no?.startsWith(orderNo),
			),
		).toBe(false);
	});

	it.each([
		['a malformed amount', { refundAmount: '12,50' }, /comma/],
		['three decimals', { refundAmount: '1.005' }, /"1.005" has 3 decimals/],
		['a long refund number', { refundAmount: '1', refundNumber: 'R'.repeat(33) }, /at most 32/],
	])('refuses %s before any call', async (_name, extra, message) => {
		const before = h.sim.requests.length;
		const result = await runNode(h, refund('ANY-ORDER', extra));
		expect(result.error?.message).toMatch(message);
		expect(h.sim.requests.length).toBe(before);
	});

	it("checks the Refund Amount's decimals against the payment's currency, never against THB", async () => {
		const yen = await paidOrder({ total_fee: 1000, fee_type: 'JPY' });
		const tooFine = await runNode(h, refund(yen, { refundAmount: '1.005' }));
		expect(tooFine.error?.message).toMatch(
			/"1.005" has 3 decimals; Ksher's currencies have at most 2/,
		);
		expect(tooFine.error?.message).not.toMatch(/THB/);
		const half = await runNode(h, refund(yen, { refundAmount: '10.5' }));
		expect(half.error?.message).toMatch(/has decimals, but JPY has no minor unit/);
		const whole = await runNode(h, refund(yen, { refundAmount: '10' }));
		expect(whole.items[0]).toMatchObject({ refundAmount: '10', currency: 'JPY' });
	});

	it('refunds card payments by ksher_order_no and other channels by pay_mch_order_no', async () => {
		const card = await paidOrder({}, 'card');
		const qr = await paidOrder({}, 'promptpay');
		await runNode(h, refund(card, { refundAmount: '1' }));
		await runNode(h, refund(qr, { refundAmount: '1' }));
		const sent = h.sim.requests
			.filter((r) => r.endpoint === 'order_refund')
			.slice(-2)
			.map((r) => r.params);
		expect(sent[0].ksher_order_no).toBe(h.sim.order(card)!.ksher_order_no);
		expect(sent[0].mch_order_no).toBeUndefined();
		expect(sent[1].mch_order_no).toBe(h.sim.order(qr)!.pay_mch_order_no);
		expect(sent[1]).toMatchObject({ total_fee: '15050', fee_type: 'THB', refund_fee: '100' });
	});

	it('a refund number already used on another order is an error, not a second refund', async () => {
		const a = await paidOrder();
		const b = await paidOrder();
		await runNode(h, refund(a, { refundAmount: '1', refundNumber: `SHARED-${a}`.slice(0, 32) }));
		const clash = await runNode(
			h,
			refund(b, { refundAmount: '1', refundNumber: `SHARED-${a}`.slice(0, 32) }),
		);
		expect(clash.status).toBe('error');
		expect(clash.error?.message).toMatch(/was already used for another refund/);
		expect(refundsAtKsher(b)).toHaveLength(0);
	});
});

describe('Refund → Create when the answer is lost (money must not move twice)', () => {
	it('timeout after Ksher refunded: the node finds the refund and reports it; a re-run refunds nothing more', async () => {
		const orderNo = await paidOrder();
		await h.control('/faults', { type: 'latency', ms: 1500, endpoint: 'order_refund' });
		const result = await runNode(
			h,
			refund(orderNo, { refundAmount: '30', options: { timeout: 1 } }),
		);
		expect(result.status).toBe('success');
		expect(result.items[0]).toMatchObject({
			refundNumber: `${orderNo}-R3000`,
			refundAmount: '30.00',
			alreadyRefunded: null,
			recoveredFrom: expect.stringMatching(/did not answer the refund within/),
		});
		const rerun = await runNode(h, refund(orderNo, { refundAmount: '30' }));
		expect(rerun.items[0]).toMatchObject({ alreadyRefunded: true });
		expect(refundsAtKsher(orderNo)).toHaveLength(1);
	});

	it.each(['reset', 'tampered', 'nosign', 'wrongkey', 'nonjson', 'http500'])(
		'%s after Ksher refunded: reported once, never repeated',
		async (type) => {
			const orderNo = await paidOrder();
			await h.control('/faults', { type, endpoint: 'order_refund' });
			const result = await runNode(h, refund(orderNo, { refundAmount: '15' }));
			expect(result.status).toBe('success');
			expect(result.items[0]).toMatchObject({
				refundAmount: '15.00',
				alreadyRefunded: null,
				recoveredFrom: expect.any(String),
			});
			await runNode(h, refund(orderNo, { refundAmount: '15' }));
			expect(refundsAtKsher(orderNo)).toHaveLength(1);
		},
	);

	it('when Ksher cannot confirm either way, the error says the refund may have happened and how to check; the re-run is safe', async () => {
		const orderNo = await paidOrder();
		// The refund call fails without Ksher acting, and the check afterwards fails too: the node must not guess.
		await h.control('/faults', { type: 'http500', endpoint: 'order_refund', stage: 'before' });
		await h.control('/faults', { type: 'http500', endpoint: 'refund_query' });
		const first = await runNode(h, rowByRow(orderNo, { refundAmount: '15' }), {
			continueOnFail: true,
		});
		expect(first.items[0]).toMatchObject({
			mayHaveSucceeded: true,
			error: expect.stringMatching(/may have happened/),
			solution: expect.stringMatching(/Re-running with the same refund number .* is safe/),
		});
		// It says what actually happened: an HTTP 500, not a timeout.
		expect(first.items[0]).toMatchObject({
			code: 'TRANSPORT_HTTP_STATUS',
			error: expect.stringMatching(
				/may have happened: Ksher answered the refund with HTTP 500, and Ksher does not list it yet$/,
			),
		});
		expect(refundsAtKsher(orderNo)).toHaveLength(0);
		const second = await runNode(h, refund(orderNo, { refundAmount: '15' }));
		expect(second.items[0]).toMatchObject({ refundAmount: '15.00', alreadyRefunded: false });
		const third = await runNode(h, refund(orderNo, { refundAmount: '15' }));
		expect(third.items[0]).toMatchObject({ alreadyRefunded: true });
		expect(refundsAtKsher(orderNo)).toHaveLength(1);
	});

	it('row by row, an ordinary refund row costs two calls to Ksher; a re-run three', async () => {
		const orderNo = await paidOrder();
		const calls = () =>
			h.sim.requests.filter(
				(r) =>
					r.params.mch_order_no === orderNo ||
					r.params.mch_order_no === h.sim.order(orderNo)!.pay_mch_order_no,
			).length;
		const before = calls();
		await runNode(h, rowByRow(orderNo, { refundAmount: '5' }));
		expect(calls() - before).toBe(2);
		await runNode(h, rowByRow(orderNo, { refundAmount: '5' }));
		expect(calls() - before).toBe(5);
	});

	it('checked first, a row costs the lookup, the refund list and the refund; a re-run two calls and no refund call', async () => {
		const orderNo = await paidOrder();
		const calls = () =>
			h.sim.requests
				.filter(
					(r) =>
						r.params.mch_order_no === orderNo ||
						r.params.mch_order_no === h.sim.order(orderNo)!.pay_mch_order_no,
				)
				.map((r) => r.endpoint);
		const before = calls().length;
		await runNode(h, refund(orderNo, { refundAmount: '5' }));
		expect(calls().slice(before)).toEqual(['gateway_order_query', 'refund_query', 'order_refund']);
		const again = await runNode(h, refund(orderNo, { refundAmount: '5' }));
		expect(again.items[0]).toMatchObject({ refundAmount: '5.00', alreadyRefunded: true });
		expect(calls().slice(before + 3)).toEqual(['gateway_order_query', 'refund_query']);
	});
});

describe('Refund → Get Many', () => {
	it('one item per refund, limit honoured, none for an order without refunds', async () => {
		const orderNo = await paidOrder();
		await runNode(h, refund(orderNo, { refundAmount: '1' }));
		await runNode(h, refund(orderNo, { refundAmount: '2' }));
		const all = await runNode(h, { resource: 'refund', operation: 'getAll', orderNumber: orderNo });
		expect(all.items.map((i) => [i.refundNumber, i.refundAmount, i.status])).toEqual([
			[`${orderNo}-R100`, '1.00', 'refunded'],
			[`${orderNo}-R200`, '2.00', 'refunded'],
		]);
		expect(all.items[0]).toMatchObject({
			orderNumber: orderNo,
			currency: 'THB',
			ksherOrderNumber: expect.stringMatching(/^700/),
			payOrderNumber: expect.stringMatching(/^\d{16}$/),
		});
		// One shape for a refund wherever one comes out: Get Many's items have Refund → Create's fields, but
		// for what is about the run (already refunded; what remains of the payment after it, as a preview says).
		const created = await runNode(h, refund(orderNo, { refundAmount: '1' }));
		const { alreadyRefunded, remainingAfter, ...createFields } = created.items[0];
		expect(alreadyRefunded).toBe(true);
		expect(remainingAfter).toBe('147.50');
		expect(all.items[0]).toMatchObject(createFields);
		const limited = await runNode(h, {
			resource: 'refund',
			operation: 'getAll',
			orderNumber: orderNo,
			returnAll: false,
			limit: 1,
		});
		expect(limited.items).toHaveLength(1);
		const none = await runNode(h, {
			resource: 'refund',
			operation: 'getAll',
			orderNumber: await paidOrder(),
		});
		expect(none.status).toBe('success');
		expect(none.items).toEqual([]);
	});
});

describe('Refund sheet with Continue On Fail', () => {
	it('valid rows refund once, bad rows carry clear errors, a second run refunds nothing more', async () => {
		const a = await paidOrder();
		const b = await paidOrder();
		const unpaid = (await h.createOrder()).orderNo;
		const rows = [
			{ no: a, all: true },
			{ no: b, amount: '50' },
			{ no: b, amount: '200' },
			{ no: unpaid, amount: '10' },
			{ no: a, amount: 'ten' },
			{ no: uniqueOrderNo('X'), amount: '5' },
		];
		const params = rowByRow('={{ $json.no }}', {
			whatToRefund: '={{ $json.all ? "remaining" : "amount" }}',
			refundAmount: '={{ $json.amount }}',
			options: { concurrency: 1 },
		});
		const first = await runNode(h, params, { rows, continueOnFail: true });
		expect(first.status).toBe('success');
		expect(first.items).toHaveLength(6);
		expect(first.items[0]).toMatchObject({ refundAmount: '150.50', alreadyRefunded: false });
		expect(first.items[1]).toMatchObject({ refundAmount: '50.00', alreadyRefunded: false });
		expect(first.items[2]).toMatchObject({
			field: 'Refund Amount',
			error: expect.stringMatching(/exceeds what remains/),
			solution: expect.stringMatching(/at most 100.50/),
		});
		expect(first.items[3]).toMatchObject({ error: expect.stringMatching(/not paid yet/) });
		expect(first.items[4]).toMatchObject({
			field: 'Refund Amount',
			error: expect.stringMatching(/not a valid amount/),
		});
		expect(first.items[5]).toMatchObject({ code: 'ORDER_NOT_EXIST' });
		const second = await runNode(h, params, { rows, continueOnFail: true });
		expect(second.items[0]).toMatchObject({ alreadyRefunded: true });
		expect(second.items[1]).toMatchObject({ alreadyRefunded: true });
		expect(refundsAtKsher(a)).toHaveLength(1);
		expect(refundsAtKsher(b)).toHaveLength(1);
	});
});

describe('Refunds of PromptPay payments (Ksher cannot list them)', () => {
	it('Refund → Create refunds once and a re-run moves no money; Get Many says why it cannot list', async () => {
		const orderNo = await paidOrder({}, 'promptpay');
		const first = await runNode(h, refund(orderNo, { refundAmount: '10' }));
		expect(first.items[0]).toMatchObject({
			refundNumber: `${orderNo}-R1000`,
			refundAmount: '10.00',
			alreadyRefunded: false,
		});
		const again = await runNode(h, refund(orderNo, { refundAmount: '10' }));
		expect(again.items[0]).toMatchObject({
			refundNumber: `${orderNo}-R1000`,
			alreadyRefunded: true,
		});
		expect(refundsAtKsher(orderNo).map((r) => r.refund_fee)).toEqual([1000]);
		const list = await runNode(h, {
			resource: 'refund',
			operation: 'getAll',
			orderNumber: orderNo,
		});
		expect(list.status).toBe('error');
		expect(list.error?.message).toMatch(
			/cannot list the refunds of Order Number .*PromptPay and Alipay/,
		);
	});
});
