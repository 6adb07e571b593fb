import type { IDataObject } from 'n8n-workflow';

import { runNode } from '../helpers/node';
import { startHarness, uniqueOrderNo, type SimulatorHarness } from '../helpers/simulator';

let h: SimulatorHarness;
beforeAll(async () => {
	h = await startHarness();
});
afterAll(() => h.sim.close());
afterEach(async () => {
	await h.control('/reset', {});
});

const params = (extra: IDataObject = {}): IDataObject => ({
	resource: 'refund',
	operation: 'create',
	orderNumber: '={{ $json.no }}',
	paymentType: '={{ $json.type }}',
	qrChannel: '={{ $json.ch }}',
	whatToRefund: '={{ $json.what }}',
	refundAmount: '={{ $json.amount }}',
	refundNumber: '={{ $json.rn }}',
	checkAllRowsFirst: false,
	options: { concurrency: 10 },
	...extra,
});
const order = async (no: string, channel: string, qr: boolean) => {
	const r = await h.control('/orders', {
		orders: [{ mch_order_no: no, total_fee: 15050, channel, qr }],
	});
	if (r.status !== 200) throw new Error(JSON.stringify(r.body));
};

describe('row by row: rows of one order take turns', () => {
	it('40 rows over 4 orders with random latency: finishes, never over-refunds, refunds in row order', async () => {
		const orders = [
			{ no: uniqueOrderNo('L'), type: 'link', ch: 'truemoney' },
			{ no: uniqueOrderNo('Q'), type: 'qr', ch: 'truemoney' },
			{ no: uniqueOrderNo('P'), type: 'qr', ch: 'promptpay' },
			{ no: uniqueOrderNo('K'), type: 'link', ch: 'promptpay' },
		];
		for (const o of orders) await order(o.no, o.ch, o.type === 'qr');
		await h.control('/faults', { type: 'latency', ms: 40, endpoint: 'order_query', count: 1000 });
		await h.control('/faults', { type: 'latency', ms: 25, endpoint: 'order_refund', count: 1000 });
		const rows: IDataObject[] = [];
		for (let i = 0; i < 40; i++) {
			const o = orders[i % 4];
			const kind = i % 5;
			rows.push({
				...o,
				what: kind === 3 ? 'remaining' : 'amount',
				amount: kind === 3 ? '' : kind === 4 ? 'x' : String(10 + (i % 7)),
				rn: i % 6 === 0 ? `${o.no}-U${i}` : '',
			});
		}
		// A row waiting for a later one would hang: the test's own timeout (90 s) says so.
		const result = await runNode(h, params(), { rows, typeVersion: 2, continueOnFail: true });
		await h.control('/faults/clear', {});
		for (const o of orders) {
			const ord = h.sim.order(o.no)!;
			const total = ord.refunds.reduce((s, r) => s + r.refund_fee, 0);
			expect(total).toBeLessThanOrEqual(15050);
			// Refunds of one order happen in row order.
			const rowsOf = ord.refunds.map((r) =>
				rows.findIndex(
					(x, i) => x.no === o.no && result.items[i]?.refundNumber === r.mch_refund_no,
				),
			);
			expect([...rowsOf].sort((a, b) => a - b)).toEqual(rowsOf);
		}
	}, 90_000);

	it('continueOnFail off: a failing early row, later rows of the same order in flight', async () => {
		const no = uniqueOrderNo('F');
		await order(no, 'truemoney', false);
		const rows = [
			{ no, type: 'link', ch: '', what: 'amount', amount: '200', rn: '' },
			{ no, type: 'link', ch: '', what: 'amount', amount: '10', rn: '' },
			{ no, type: 'link', ch: '', what: 'remaining', amount: '', rn: '' },
		];
		const result = await runNode(h, params(), { rows, typeVersion: 2 });
		// Row 1 asks more than the payment; without Continue On Fail the run shows only its error, so
		// the rows of the same order waiting behind it must not refund anything.
		expect(result.status).toBe('error');
		expect(result.error?.message).toMatch(/exceeds|more than/);
		expect(h.sim.order(no)!.refunds).toEqual([]);
	});
});
