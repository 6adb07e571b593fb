import { createHash } from 'crypto';

import type { IDataObject } from 'n8n-workflow';

import { runNode } from '../helpers/node';
import { startHarness, type SimulatorHarness } from '../helpers/simulator';

let h: SimulatorHarness;
beforeAll(async () => {
	h = await startHarness();
});
afterAll(() => h.sim.close());

const watch = (extra: IDataObject = {}) => ({
	resource: 'payment',
	operation: 'watch',
	orderNumber: '={{ $json.orderNumber }}',
	watchState: '={{ $json.watchState }}',
	...extra,
});

/** The workflow's side of the contract: a row per order whose watchState is replaced by each change's. */
class Sheet {
	rows = new Map<string, string>();
	add(orderNumber: string, watchState = '') {
		this.rows.set(orderNumber, watchState);
	}
	async run(): Promise<IDataObject[]> {
		const rows = [...this.rows].map(([orderNumber, watchState]) => ({ orderNumber, watchState }));
		const result = await runNode(h, watch(), { rows });
		expect(result.status).toBe('success');
		for (const item of result.items) {
			// Each change replaces exactly the state it was computed from (compare-and-set).
			expect(item.previousWatchState).toBe(this.rows.get(String(item.orderNumber)));
			this.rows.set(String(item.orderNumber), String(item.watchState));
		}
		return result.items;
	}
}

const refundAtPortal = (orderNo: string, refund_fee?: number) =>
	h.control('/refund', { mch_order_no: orderNo, refund_fee }).then((r) => {
		expect(r.status).toBe(200);
		return r.body as { refund: { mch_refund_no: string } };
	});
/** Many refunds of one order at the portal, 50 at a time; their numbers in the order Ksher lists them. */
async function refundsAtPortal(orderNo: string, count: number, prefix = 'P'): Promise<string[]> {
	const numbers = Array.from({ length: count }, (_, i) =>
		`${prefix}-${orderNo}-${i + 1}`.slice(-32),
	);
	await h.refundAtPortal(orderNo, numbers);
	return h.sim.order(orderNo)!.refunds.map((r) => r.mch_refund_no);
}
/** Stated in docs/reference.md (Watch for Changes) and nodes/protocol/watch.ts: the longest state written, in characters (ASCII: bytes). */
const STATE_BOUND = 574;
const paidState = () =>
	JSON.stringify({ v: 1, since: new Date().toISOString(), status: 'paid', refunds: [] });
const callsFor = (orderNo: string, since: number) =>
	h.sim.requests
		.slice(since)
		.filter((r) => r.params.mch_order_no === orderNo || r.endpoint === 'refund_query').length;

describe('Payment → Watch for Changes', () => {
	it('reports each refund made at the portal once, partial refunds included, then stops watching', async () => {
		const { orderNo } = await h.createOrder({ total_fee: 15050 });
		await h.payOrder(orderNo, 'truemoney');
		const sheet = new Sheet();
		// As the Ksher Trigger records it: the payment itself was reported already.
		sheet.add(
			orderNo,
			JSON.stringify({ v: 1, since: new Date().toISOString(), status: 'paid', refunds: [] }),
		);
		expect(await sheet.run()).toEqual([]);

		const first = await refundAtPortal(orderNo, 5000);
		const one = await sheet.run();
		expect(one).toEqual([
			expect.objectContaining({
				event: 'refunded',
				orderNumber: orderNo,
				amount: '150.50',
				currency: 'THB',
				channel: 'truemoney',
				channelName: 'TrueMoney',
				refundNumber: first.refund.mch_refund_no,
				refundAmount: '50.00',
				refundedAt: expect.stringMatching(/\+07:00$/),
				dedupeKey: `${h.sim.info.appid}|${orderNo}|refunded|${first.refund.mch_refund_no}`,
			}),
		]);
		expect(await sheet.run()).toEqual([]);

		const second = await refundAtPortal(orderNo, 1000);
		expect((await sheet.run()).map((i) => [i.event, i.refundNumber, i.refundAmount])).toEqual([
			['refunded', second.refund.mch_refund_no, '10.00'],
		]);
		// The rest, refunded by this package's own Refund → Create: reported as well, once.
		const rest = await runNode(h, {
			resource: 'refund',
			operation: 'create',
			orderNumber: orderNo,
			whatToRefund: 'remaining',
		});
		expect(rest.items[0]).toMatchObject({ refundAmount: '90.50' });
		expect((await sheet.run()).map((i) => [i.event, i.refundAmount])).toEqual([
			['refunded', '90.50'],
		]);
		expect(JSON.parse(sheet.rows.get(orderNo)!)).toMatchObject({ status: 'refunded' });

		// Fully refunded: nothing can change any more, so Ksher is not asked again.
		const before = h.sim.requests.length;
		expect(await sheet.run()).toEqual([]);
		expect(callsFor(orderNo, before)).toBe(0);
	});

	it.each([101, 1000])(
		'an order with %i refunds made at the portal: each reported exactly once, none on the next run, then only a new one; the state stays under its bound',
		async (count) => {
			const { orderNo } = await h.createOrder({ total_fee: 200_000 });
			await h.payOrder(orderNo, 'truemoney');
			const sheet = new Sheet();
			sheet.add(orderNo, paidState());
			const numbers = await refundsAtPortal(orderNo, count);
			const first = await sheet.run();
			expect(first.map((i) => i.event)).toEqual(new Array(count).fill('refunded'));
			expect(first.map((i) => i.refundNumber)).toEqual(numbers);
			expect(new Set(first.map((i) => i.dedupeKey)).size).toBe(count);
			expect(Math.max(...first.map((i) => String(i.watchState).length))).toBeLessThanOrEqual(
				STATE_BOUND,
			);
			expect(await sheet.run()).toEqual([]);

			const one = await refundAtPortal(orderNo, 1);
			expect((await sheet.run()).map((i) => [i.event, i.refundNumber, i.refundAmount])).toEqual([
				['refunded', one.refund.mch_refund_no, '0.01'],
			]);
			expect(await sheet.run()).toEqual([]);
			const stored = sheet.rows.get(orderNo)!;
			expect(JSON.parse(stored)).toMatchObject({ v: 2, status: 'paid', refunds: count + 1 });
			expect(Buffer.byteLength(stored)).toBeLessThanOrEqual(STATE_BOUND);
		},
	);

	it('a state stored by the previous version (its last 100 refund ids) on an order with 101 refunds: nothing already reported is reported again; a later refund is', async () => {
		const { orderNo } = await h.createOrder({ total_fee: 200_000 });
		await h.payOrder(orderNo, 'truemoney');
		const numbers = await refundsAtPortal(orderNo, 101, 'O');
		// Exactly what the previous version stored after reporting all 101: `refunds` held 8 hex characters
		// of SHA-256 of each refund number, and only the last 100 in Ksher's list order (it dropped the oldest).
		// So it knew that these 100 were reported, but not that the first one was too: it could not tell a
		// refund it had forgotten from one that succeeded after it last ran (that is why it reported all 101
		// again on every run). What it can still tell with Ksher's list: a refund listed after the last one it
		// kept, or stamped later than the newest, was made after it last ran; any other counts as reported.
		const v1Id = (no: string) => createHash('sha256').update(no, 'utf8').digest('hex').slice(0, 8);
		const old = JSON.stringify({
			v: 1,
			since: new Date().toISOString(),
			status: 'paid',
			refunds: numbers.slice(1).map(v1Id),
		});
		const sheet = new Sheet();
		sheet.add(orderNo, old);
		expect(await sheet.run()).toEqual([]);
		expect(sheet.rows.get(orderNo)).toBe(old);

		// A refund made since: Ksher lists it after the 100 kept (refunds are listed in the order made) and
		// stamps it no earlier, so the old state can tell it is new. Reported once; the state is now version 2.
		const later = await refundAtPortal(orderNo, 1);
		expect((await sheet.run()).map((i) => [i.refundNumber, i.previousWatchState])).toEqual([
			[later.refund.mch_refund_no, old],
		]);
		expect(JSON.parse(sheet.rows.get(orderNo)!)).toMatchObject({ v: 2, refunds: 102 });
		expect(await sheet.run()).toEqual([]);
	});

	it('reports a payment Ksher never notified once, and a cancelled link as closed', async () => {
		const paid = (await h.createOrder()).orderNo;
		const cancelled = (await h.createOrder()).orderNo;
		const waiting = (await h.createOrder()).orderNo;
		const sheet = new Sheet();
		const created = await runNode(h, { resource: 'payment', operation: 'get', orderNumber: paid });
		expect(created.items[0]).toMatchObject({ status: 'pending' });
		for (const no of [paid, cancelled, waiting]) sheet.add(no);
		expect(await sheet.run()).toEqual([]);

		expect(
			(await h.control('/pay', { mch_order_no: paid, channel: 'card', notify: false })).status,
		).toBe(200);
		await runNode(h, { resource: 'payment', operation: 'cancel', orderNumber: cancelled });
		const changes = await sheet.run();
		expect(changes.map((i) => [i.orderNumber, i.event])).toEqual([
			[paid, 'paid'],
			[cancelled, 'closed'],
		]);
		expect(changes[0]).toMatchObject({
			channel: 'card',
			channelName: 'Credit/Debit Card',
			dedupeKey: `${h.sim.info.appid}|${paid}|paid|`,
		});
		expect(h.sim.deliveries.filter((d) => d.mch_order_no === paid)).toEqual([]);
		expect(await sheet.run()).toEqual([]);

		// A failed attempt is not a change: the customer may still pay on the same link.
		await h.control('/fail', { mch_order_no: waiting });
		expect(await sheet.run()).toEqual([]);
	});

	it('an order paid and refunded between two runs gives paid then refunded, each with the state after it', async () => {
		const { orderNo } = await h.createOrder();
		const sheet = new Sheet();
		sheet.add(orderNo);
		await h.payOrder(orderNo, 'truemoney');
		await refundAtPortal(orderNo, 100);
		await refundAtPortal(orderNo, 200);
		const changes = await sheet.run();
		expect(changes.map((i) => [i.event, i.refundAmount ?? null])).toEqual([
			['paid', null],
			['refunded', '1.00'],
			['refunded', '2.00'],
		]);
		expect(changes[1].previousWatchState).toBe(changes[0].watchState);
		expect(changes[2].previousWatchState).toBe(changes[1].watchState);
		expect(await sheet.run()).toEqual([]);
	});

	it('PromptPay: Ksher cannot list its refunds, so a full refund is one refunded item without a number; a partial one is not visible', async () => {
		const { orderNo } = await h.createOrder();
		await h.payOrder(orderNo, 'promptpay');
		const sheet = new Sheet();
		sheet.add(
			orderNo,
			JSON.stringify({ v: 1, since: new Date().toISOString(), status: 'paid', refunds: [] }),
		);
		const before = h.sim.requests.length;
		await refundAtPortal(orderNo, 5000);
		expect(await sheet.run()).toEqual([]);
		// One call per run: refund_query is not even tried for PromptPay.
		expect(h.sim.requests.slice(before).map((r) => r.endpoint)).toEqual(['gateway_order_query']);
		await refundAtPortal(orderNo);
		const changes = await sheet.run();
		expect(changes).toEqual([
			expect.objectContaining({
				event: 'refunded',
				channelName: 'PromptPay',
				refundNumber: null,
				refundAmount: null,
				refundedAt: null,
				dedupeKey: `${h.sim.info.appid}|${orderNo}|refunded|`,
			}),
		]);
		expect(await sheet.run()).toEqual([]);
	});

	it('orders older than the window cost no call and give no item', async () => {
		const { orderNo } = await h.createOrder();
		await h.payOrder(orderNo);
		await refundAtPortal(orderNo, 100);
		const old = JSON.stringify({
			v: 1,
			since: new Date(Date.now() - 31 * 86_400_000).toISOString(),
			status: 'paid',
			refunds: [],
		});
		const before = h.sim.requests.length;
		const result = await runNode(h, watch(), { rows: [{ orderNumber: orderNo, watchState: old }] });
		expect(result.items).toEqual([]);
		expect(h.sim.requests.length).toBe(before);
		const longer = await runNode(h, watch({ watchDays: 60 }), {
			rows: [{ orderNumber: orderNo, watchState: old }],
		});
		expect(longer.items.map((i) => i.event)).toEqual(['refunded']);
	});

	it('a malformed state is a clear error naming the field; with Continue On Fail the other orders still report', async () => {
		const { orderNo } = await h.createOrder();
		await h.payOrder(orderNo);
		const rows = [
			{ orderNumber: orderNo, watchState: 'paid' },
			{ orderNumber: orderNo, watchState: '' },
		];
		const failed = await runNode(h, watch(), { rows });
		expect(failed.status).toBe('error');
		expect(failed.error?.message).toMatch(/Last Watch State is not a watch state/);
		expect(failed.error?.description).toMatch(/Store the "watchState"/);
		const tolerant = await runNode(h, watch(), { rows, continueOnFail: true });
		expect(tolerant.items.map((i) => i.event ?? 'error')).toEqual(['error', 'paid']);
	});

	it('a state stored as null counts as never watched, and previousWatchState gives back that null (the compare-and-set matches the cell)', async () => {
		const { orderNo } = await h.createOrder();
		await h.payOrder(orderNo);
		for (const stored of [null, '']) {
			const result = await runNode(h, watch(), {
				rows: [{ orderNumber: orderNo, watchState: stored }],
			});
			expect(result.items.map((i) => [i.event, i.previousWatchState])).toEqual([['paid', stored]]);
		}
	});

	it('with the error output (as the example), an order Ksher does not know goes there with the reason, and the other rows still run', async () => {
		const { orderNo } = await h.createOrder();
		await h.payOrder(orderNo);
		const result = await runNode(h, watch(), {
			rows: [
				{ orderNumber: 'NO-SUCH-ORDER', watchState: '' },
				{ orderNumber: orderNo, watchState: '' },
			],
			onError: 'continueErrorOutput',
		});
		expect(result.status).toBe('success');
		expect(result.items.map((i) => [i.orderNumber, i.event])).toEqual([[orderNo, 'paid']]);
		// The failed row as it came in, with what went wrong and what to do.
		// Only `error` and `message` beside the row's own fields: the one shape n8n 1.x routes there too.
		expect(result.errorItems).toEqual([
			{
				orderNumber: 'NO-SUCH-ORDER',
				watchState: '',
				error: expect.stringMatching(/NO-SUCH-ORDER.*\[ORDER_NOT_EXIST\]/),
				message: expect.stringMatching(/order number/i),
			},
		]);
	});
});
