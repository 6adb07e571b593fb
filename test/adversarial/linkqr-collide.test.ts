import type { IDataObject } from 'n8n-workflow';

import { runNode } from '../helpers/node';
import { startHarness, uniqueOrderNo, type SimulatorHarness } from '../helpers/simulator';

/**
 * A payment link and a QR order with the same number (two Ksher hosts, two order books; whether
 * Ksher allows it is unknown, the simulator does). An attack on the QR refunds (#34) found the QR
 * row taken for the link row's refund and never sent: the derived refund number (now `-Q` for a QR)
 * and the run's memory (now by orderKey) named the order by its number alone. Kept as found, each
 * asserting that both orders get their own refund.
 */
let h: SimulatorHarness;
beforeAll(async () => {
	h = await startHarness();
});
afterAll(() => h.sim.close());

async function both(no: string, qrChannel = 'promptpay', linkChannel = 'truemoney') {
	const r = await h.control('/orders', {
		orders: [
			{ mch_order_no: no, total_fee: 15050, channel: linkChannel },
			{ mch_order_no: no, total_fee: 15050, channel: qrChannel, qr: true },
		],
	});
	if (r.status !== 200) throw new Error(JSON.stringify(r.body));
}
const refunds = (no: string, kind: 'qr' | 'gateway') =>
	h.sim.order(no, undefined, kind)!.refunds.map((r) => [r.mch_refund_no, r.refund_fee]);

const row = (
	orderNumber: string,
	type: string,
	amount: string,
	qrChannel = 'promptpay',
): IDataObject => ({
	orderNumber,
	type,
	amount,
	qrChannel,
});
const params = (extra: IDataObject = {}): IDataObject => ({
	resource: 'refund',
	operation: 'create',
	orderNumber: '={{ $json.orderNumber }}',
	paymentType: '={{ $json.type }}',
	qrChannel: '={{ $json.qrChannel }}',
	whatToRefund: 'amount',
	refundAmount: '={{ $json.amount }}',
	...extra,
});

describe('link and QR orders sharing a number', () => {
	it('sanity: the patched simulator holds both', async () => {
		const no = uniqueOrderNo('S');
		await both(no);
		expect(h.sim.order(no, undefined, 'gateway')!.kind).toBe('gateway');
		expect(h.sim.order(no, undefined, 'qr')!.kind).toBe('qr');
	});

	it.each([['promptpay'], ['truemoney']])(
		'Check All Rows First (default): QR row (%s) is refunded on its own, not taken for the refund of row 1',
		async (qrChannel) => {
			const no = uniqueOrderNo('C');
			await both(no, qrChannel);
			const result = await runNode(h, params(), {
				rows: [row(no, 'link', '50.00'), row(no, 'qr', '50.00', qrChannel)],
				typeVersion: 2,
				continueOnFail: true,
			});
			// The shop asked for two refunds on two different payments.
			expect(result.items.map((i) => i.error)).toEqual([undefined, undefined]);
			expect(refunds(no, 'gateway')).toEqual([[`${no}-R5000`, 5000]]);
			expect(refunds(no, 'qr')).toEqual([[expect.any(String), 5000]]);
		},
	);

	it('Preview Only shows the QR row as a refund of its own', async () => {
		const no = uniqueOrderNo('P');
		await both(no);
		const result = await runNode(h, params({ previewOnly: true }), {
			rows: [row(no, 'link', '50.00'), row(no, 'qr', '50.00')],
			typeVersion: 2,
		});
		expect(result.items[1].status).not.toMatch(/same refund/);
	});

	it('row by row (Check All Rows First off), PromptPay QR: the link refund does not pass for the refund of the QR row', async () => {
		const no = uniqueOrderNo('R');
		await both(no);
		const result = await runNode(h, params({ checkAllRowsFirst: false }), {
			rows: [row(no, 'link', '50.00'), row(no, 'qr', '50.00')],
			typeVersion: 2,
			continueOnFail: true,
		});
		expect(result.items[1]).toMatchObject({ refundNumber: `${no}-Q5000`, alreadyRefunded: false });
		expect(refunds(no, 'qr')).toEqual([[expect.any(String), 5000]]);
	});

	it('separate runs: a link refund last week, today the QR refund of the same number is made', async () => {
		const no = uniqueOrderNo('W');
		await both(no);
		const first = await runNode(h, params(), { rows: [row(no, 'link', '50.00')], typeVersion: 2 });
		expect(first.status).toBe('success');
		const second = await runNode(h, params(), {
			rows: [row(no, 'qr', '50.00')],
			typeVersion: 2,
			continueOnFail: true,
		});
		expect(second.items[0]).toMatchObject({ refundNumber: `${no}-Q5000`, alreadyRefunded: false });
		expect(refunds(no, 'qr')).toEqual([[expect.any(String), 5000]]);
	});

	it('separate runs, Everything That Remains: link RALL, then QR RALL', async () => {
		const no = uniqueOrderNo('A');
		await both(no);
		const p = params({ whatToRefund: 'remaining' });
		await runNode(h, p, { rows: [row(no, 'link', '')], typeVersion: 2 });
		const second = await runNode(h, p, {
			rows: [row(no, 'qr', '')],
			typeVersion: 2,
			continueOnFail: true,
		});
		expect(second.items[0]).toMatchObject({ refundNumber: `${no}-QALL`, alreadyRefunded: false });
		expect(refunds(no, 'qr')).toEqual([[expect.any(String), 15050]]);
	});

	it('user Refund Number shared by a link row and a QR row (Check All Rows First): an error, not "the same refund"', async () => {
		const no = uniqueOrderNo('U');
		await both(no, 'truemoney');
		const result = await runNode(h, params({ refundNumber: `${no}-RF1` }), {
			rows: [row(no, 'link', '50.00'), row(no, 'qr', '50.00', 'truemoney')],
			typeVersion: 2,
			continueOnFail: true,
		});
		// One refund number is one refund: the QR row naming the link row's number is an error, not "the
		// same refund"; with Check All Rows First, no row is refunded then.
		expect(result.items[1].error).toMatch(/Refund Number .* is also row 1's/);
		expect(refunds(no, 'qr')).toEqual([]);
		expect(refunds(no, 'gateway')).toEqual([]);
	});

	it('a full link refund and a QR refund of the same number in one sheet: each against its own balance', async () => {
		const no = uniqueOrderNo('M');
		await both(no, 'truemoney');
		const result = await runNode(h, params(), {
			rows: [row(no, 'link', '150.50'), row(no, 'qr', '20.00', 'truemoney')],
			typeVersion: 2,
			continueOnFail: true,
		});
		// Two orders under one number: each row is judged against its own order's balance.
		expect(result.items.map((i) => i.error)).toEqual([undefined, undefined]);
		expect(refunds(no, 'gateway')).toEqual([[`${no}-R15050`, 15050]]);
		expect(refunds(no, 'qr')).toEqual([[`${no}-Q2000`, 2000]]);
	});
});
