import { createQr } from '../../nodes/protocol';
import { waitFor } from '../helpers/receiver';
import { uniqueOrderNo } from '../helpers/simulator';
import { triggerSuite } from '../helpers/trigger';
import { KSHER_ACK } from '../simulator/notifications';

const suite = triggerSuite();

/** A QR payment made and paid in the simulator, which notifies `url` in the api.mch format. */
async function paidQr(url: string): Promise<string> {
	const orderNumber = uniqueOrderNo('QT');
	await createQr(suite.h.client, {
		orderNumber,
		amount: '88.00',
		notifyUrl: url,
		attach: '{"chat":"U7"}',
	});
	const paid = await suite.h.control('/pay', { mch_order_no: orderNumber });
	expect(paid.status).toBe(200);
	return orderNumber;
}

const deliveriesOf = async (orderNumber: string) =>
	(await suite.h.control<Array<Record<string, unknown>>>('/notifications')).body.filter(
		(d) => d.mch_order_no === orderNumber,
	);

describe('Ksher Trigger: QR payments (api.mch notifications)', () => {
	it('verifies, acknowledges and runs once for a paid QR, however often Ksher sends it', async () => {
		const t = await suite.trigger();
		const orderNumber = await paidQr(t.url);
		await waitFor(() => t.emitted.length === 1, 10_000, 'the run');
		const [delivery] = await deliveriesOf(orderNumber);
		expect(JSON.parse(String(delivery.body))).toMatchObject({ status_code: '', status_msg: '' });
		expect(t.emitted[0]).toMatchObject({
			event: 'paid',
			orderNumber,
			amount: '88.00',
			currency: 'THB',
			channel: 'promptpay',
			channelName: 'PromptPay',
			attach: { chat: 'U7' },
			ksherOrderNumber: expect.stringMatching(/^900\d{20}$/),
		});
		await waitFor(() => t.deliveries.length === 1, 5000, 'the answer');
		expect(t.deliveries[0]).toMatchObject({ status: 200, body: KSHER_ACK });

		// Ksher sends it again (a retry, a replay of the same body): acknowledged, no second run.
		const again = await t.post(String(delivery.body));
		expect(again).toEqual({ status: 200, body: KSHER_ACK });
		expect((await suite.h.control('/notify', { mch_order_no: orderNumber })).status).toBe(200);
		await waitFor(() => t.deliveries.length === 3, 5000, "the re-sent notification's answer");
		expect(t.deliveries.map((d) => d.status)).toEqual([200, 200, 200]);
		expect(t.emitted).toHaveLength(1);
	});

	it('refuses an altered QR notification before anything runs', async () => {
		const t = await suite.trigger();
		const orderNumber = await paidQr(t.url);
		await waitFor(() => t.emitted.length === 1, 10_000, 'the run');
		const [delivery] = await deliveriesOf(orderNumber);
		const altered = String(delivery.body).replace('"total_fee":8800', '"total_fee":1');
		expect(altered).not.toBe(delivery.body);
		expect((await t.post(altered)).status).toBe(401);
		expect(t.emitted).toHaveLength(1);
	});

	it('with Confirm With Ksher on, asks the api.mch host (order_query by channel) for a QR payment', async () => {
		const t = await suite.trigger({ parameters: { options: { confirmWithKsher: true } } });
		const orderNumber = await paidQr(t.url);
		await waitFor(() => t.emitted.length === 1, 10_000, 'the run');
		expect(t.emitted[0]).toMatchObject({ event: 'paid', orderNumber });
		expect(
			suite.h.sim.requests
				.filter((r) => r.params.mch_order_no === orderNumber)
				.map((r) => r.endpoint),
		).toEqual(['native_pay', 'gateway_order_query', 'order_query']);
	});
});
