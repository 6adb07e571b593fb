import { runNode } from '../helpers/node';
import { startHarness, uniqueOrderNo, type SimulatorHarness } from '../helpers/simulator';

let h: SimulatorHarness;
beforeAll(async () => {
	h = await startHarness();
});
afterAll(() => h.sim.close());

const refundCalls = () => h.sim.requests.filter((r) => r.endpoint === 'order_refund').length;

describe('odd Payment Type / QR Channel values', () => {
	it.each([
		['""', '={{ "" }}', '={{ "promptpay" }}'],
		['"QR"', '={{ "QR" }}', '={{ "promptpay" }}'],
		['" qr "', '={{ " qr " }}', '={{ "promptpay" }}'],
		['null', '={{ null }}', '={{ "promptpay" }}'],
		['number', '={{ 1 }}', '={{ "promptpay" }}'],
		['qr, channel empty', 'qr', '={{ "" }}'],
		['qr, channel null', 'qr', '={{ null }}'],
		['qr, channel " PromptPay "', 'qr', '={{ " PromptPay " }}'],
	])(
		'Refund Create v2, %s: link order of that number untouched',
		async (_n, paymentType, qrChannel) => {
			const no = uniqueOrderNo('O');
			await h.control('/orders', {
				orders: [{ mch_order_no: no, total_fee: 15050, channel: 'truemoney' }],
			});
			const before = refundCalls();
			for (const checkAllRowsFirst of [true, false]) {
				const r = await runNode(
					h,
					{
						resource: 'refund',
						operation: 'create',
						orderNumber: no,
						paymentType,
						qrChannel,
						whatToRefund: 'amount',
						refundAmount: '5',
						checkAllRowsFirst,
					},
					{ typeVersion: 2, continueOnFail: true },
				);
				// " PromptPay " is read as promptpay: then the QR lookup finds no QR order of that number.
				expect(r.items[0].error).toMatch(
					/Payment Type|QR Channel|Ksher has no payment|QR payment lookup/,
				);
			}
			expect(refundCalls()).toBe(before);
		},
	);

	it('v1 node with paymentType qr saved: treated as a link (as before)', async () => {
		const no = uniqueOrderNo('V');
		await h.control('/orders', {
			orders: [{ mch_order_no: no, total_fee: 15050, channel: 'truemoney' }],
		});
		const r = await runNode(
			h,
			{
				resource: 'refund',
				operation: 'create',
				orderNumber: no,
				paymentType: 'qr',
				qrChannel: 'truemoney',
				amount: '5',
			},
			{ typeVersion: 1, continueOnFail: true },
		);
		// Version 1 has no Payment Type: the saved value is not read, the link order is refunded as asked.
		expect(r.items[0]).toMatchObject({ refundAmount: '5.00', alreadyRefunded: false });
		expect(h.sim.order(no)!.refunds.map((x) => x.refund_fee)).toEqual([500]);
	});

	it('Get Many with " qr " is an error naming Payment Type, not a lookup of the link order', async () => {
		const no = uniqueOrderNo('G');
		await h.control('/orders', {
			orders: [{ mch_order_no: no, total_fee: 15050, channel: 'truemoney' }],
		});
		const r = await runNode(
			h,
			{
				resource: 'refund',
				operation: 'getAll',
				orderNumber: no,
				paymentType: '={{ " qr " }}',
				qrChannel: 'truemoney',
			},
			{ continueOnFail: true },
		);
		expect(r.items[0].error).toMatch(/^Payment Type is " qr "/);
	});
});
