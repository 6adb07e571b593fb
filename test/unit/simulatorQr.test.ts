import {
	createQr,
	KsherApiError,
	KsherTransportError,
	parseEmvPayload,
	queryQrOrder,
	closeQrOrder,
	verifyResponse,
} from '../../nodes/protocol';
import { decodeQr } from '../helpers/qr';
import { startReceiver, waitFor, type Receiver } from '../helpers/receiver';
import { startHarness, uniqueOrderNo, type SimulatorHarness } from '../helpers/simulator';
import { RETRY_SCHEDULE_S } from '../simulator/server';

let h: SimulatorHarness;
let receiver: Receiver;
beforeAll(async () => {
	h = await startHarness({ timeScale: 0.0001 });
	receiver = await startReceiver();
});
afterAll(async () => {
	await receiver.close();
	await h.sim.close();
});
beforeEach(() => {
	receiver.received.length = 0;
	receiver.answer = () => ({ status: 200, body: '{"result":"SUCCESS","msg":"OK"}' });
});

describe('simulator: native_pay (QR payments)', () => {
	it('answers on the api.mch host with a signed PromptPay payload (right CRC and amount) and a PNG of it', async () => {
		const orderNumber = uniqueOrderNo('Q');
		const qr = await createQr(h.client, { orderNumber, amount: '99.75', expiresAfterMinutes: 5 });
		const request = h.sim.requests.at(-1)!;
		expect(request).toMatchObject({
			endpoint: 'native_pay',
			params: { total_fee: '9975', expire_time: '300' },
		});
		const fields = parseEmvPayload(qr.qrPayload) as Map<string, string>;
		expect([...fields.keys()]).toEqual(['00', '01', '30', '53', '54', '58', '63']);
		expect(fields.get('54')).toBe('99.75');
		expect(fields.get('30')).toContain(`0016A000000677010112`);
		expect(fields.get('30')).toContain(qr.ksherOrderNumber!.slice(3));
		expect(decodeQr(qr.png)).toBe(qr.qrPayload);
		expect(qr.ksherOrderNumber).toMatch(/^900\d{20}$/);
		expect(h.sim.order(orderNumber)).toMatchObject({ kind: 'qr', channel: 'promptpay' });
	});

	it('keeps QR orders apart from payment links: order_query needs the channel, the gateway does not know them', async () => {
		const orderNumber = uniqueOrderNo('Q');
		await createQr(h.client, { orderNumber, amount: '10', channel: 'airpay' });
		expect(await queryQrOrder(h.client, orderNumber, 'airpay')).toMatchObject({
			mch_order_no: orderNumber,
			channel: 'airpay',
			result: 'NOTSURE',
			total_fee: 1000,
		});
		await expect(queryQrOrder(h.client, orderNumber, 'promptpay')).rejects.toThrow(
			/KSHER_INVALID_PARAM/,
		);
		const prepared = h.client.prepare('order_query', { mch_order_no: orderNumber });
		const lacking = await (
			await fetch(prepared.url, { method: 'POST', headers: prepared.headers, body: prepared.body })
		).json();
		expect(lacking).toMatchObject({ code: 1, msg: 'LACK_PARAMS' });
		await expect(
			h.client.call('gateway_order_query', { mch_order_no: orderNumber }),
		).rejects.toThrow(/ORDER_NOT_EXIST/);
		const link = await h.createOrder();
		await expect(queryQrOrder(h.client, link.orderNo, 'promptpay')).rejects.toThrow(
			/ORDER_NOT_EXIST/,
		);
	});

	it('closes a QR of a channel order_close takes, and refuses PromptPay as the node would not send it', async () => {
		const shopee = uniqueOrderNo('Q');
		await createQr(h.client, { orderNumber: shopee, amount: '10', channel: 'airpay' });
		await closeQrOrder(h.client, shopee, 'airpay');
		expect(await queryQrOrder(h.client, shopee, 'airpay')).toMatchObject({ result: 'CLOSED' });
		expect((await h.control('/pay', { mch_order_no: shopee })).status).toBe(409);
		const promptpay = uniqueOrderNo('Q');
		await createQr(h.client, { orderNumber: promptpay, amount: '10' });
		const direct = await h.client
			.call('order_close', { mch_order_no: promptpay, channel: 'promptpay' })
			.catch((e: unknown) => e);
		expect(direct).toBeInstanceOf(KsherApiError);
	});

	it('expires the QR after expire_time seconds', async () => {
		const expiring = await startHarness({ expiryScale: 0.001 });
		try {
			const orderNumber = uniqueOrderNo('E');
			await createQr(expiring.client, { orderNumber, amount: '1', expiresAfterMinutes: 1 });
			await waitFor(() => expiring.sim.order(orderNumber)!.expired, 2000, 'expiry');
			expect(await queryQrOrder(expiring.client, orderNumber, 'promptpay')).toMatchObject({
				result: 'CLOSED',
			});
		} finally {
			await expiring.sim.close();
		}
	});

	it('refuses a duplicate order number, and a tampered answer fails the signature check', async () => {
		const orderNumber = uniqueOrderNo('Q');
		await createQr(h.client, { orderNumber, amount: '10' });
		await expect(createQr(h.client, { orderNumber, amount: '10' })).rejects.toThrow(
			/KSHER_DUPLICATED_ORDERNO/,
		);
		await h.control('/faults', { type: 'tampered', endpoint: 'native_pay' });
		const error = await createQr(h.client, { orderNumber: uniqueOrderNo('Q'), amount: '10' }).catch(
			(e: unknown) => e,
		);
		expect((error as KsherTransportError).failure).toBe('signature');
	});
});

describe('simulator: paying a QR and its api.mch notification', () => {
	it('pays through the control API and notifies notify_url in the api.mch format, signed, once acknowledged', async () => {
		const orderNumber = uniqueOrderNo('P');
		await createQr(h.client, {
			orderNumber,
			amount: '42.00',
			notifyUrl: receiver.url,
			attach: '{"chat":"U123"}',
		});
		const paid = await h.control('/pay', { mch_order_no: orderNumber });
		expect(paid.status).toBe(200);
		await waitFor(() => receiver.received.length === 1, 5000, 'notification');
		const envelope = JSON.parse(receiver.received[0].body);
		// The api.mch envelope (status_code, status_msg, time_stamp, version), not the gateway's (message).
		expect(envelope.message).toBeUndefined();
		expect(envelope).toMatchObject({ time_stamp: expect.any(String), version: '3.0.0' });
		expect(envelope).toMatchObject({
			code: 0,
			status_code: '',
			status_msg: '',
			data: {
				mch_order_no: orderNumber,
				channel: 'promptpay',
				result: 'SUCCESS',
				total_fee: 4200,
				attach: '{"chat":"U123"}',
			},
		});
		expect(verifyResponse(envelope, { publicKey: h.sim.info.ksherPublicKey })).toBe(true);
		expect(await queryQrOrder(h.client, orderNumber, 'promptpay')).toMatchObject({
			result: 'SUCCESS',
			time_end: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
		});
		await new Promise((resolve) => setTimeout(resolve, 200));
		expect(receiver.received).toHaveLength(1);
	});

	it("pays through its page, as a banking app would once the QR is scanned: found by the QR's text, paid, notified", async () => {
		const orderNumber = uniqueOrderNo('S');
		const qr = await createQr(h.client, { orderNumber, amount: '89.00', notifyUrl: receiver.url });
		const page = await fetch(`${h.sim.info.checkoutUrl}?code=${encodeURIComponent(qr.qrPayload)}`);
		expect(page.status).toBe(200);
		const html = await page.text();
		expect(html).toContain('89.00 THB');
		const uuid = /name="order_uuid" value="([0-9a-f]+)"/.exec(html)?.[1];
		expect(html).toMatch(
			/<button name="channel" value="promptpay" type="submit">PromptPay<\/button>/,
		);
		const paid = await fetch(`${h.sim.info.checkoutUrl}/pay`, {
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded' },
			body: `order_uuid=${uuid}&channel=promptpay`,
			redirect: 'manual',
		});
		expect(paid.status).toBe(302);
		expect(paid.headers.get('location')).toBe(`/page/result?mch_order_no=${orderNumber}`);
		await waitFor(() => receiver.received.length === 1, 5000, 'notification');
		expect(JSON.parse(receiver.received[0].body).data).toMatchObject({
			mch_order_no: orderNumber,
			result: 'SUCCESS',
		});
		// Scanned again once paid: nothing more to pay.
		const again = await (
			await fetch(`${h.sim.info.checkoutUrl}?ksher_order_no=${qr.ksherOrderNumber}`)
		).text();
		expect(again).toContain('This order is already paid.');
		expect((await fetch(`${h.sim.info.checkoutUrl}?code=000201nothing`)).status).toBe(404);
		// Where the demo sends a person to paste the QR's text: a form that asks for exactly that.
		const scan = await (await fetch(`${h.sim.info.checkoutUrl}/scan`)).text();
		expect(scan).toMatch(/<form method="get" action="\/page"><textarea name="code" required>/);
	});

	it("retries on Ksher's schedule until acknowledged, and the control API re-sends it", async () => {
		receiver.answer = (n) =>
			n < 3
				? { status: 200, body: '{"result":"FAIL","msg":"busy"}' }
				: { status: 200, body: '{"result":"SUCCESS","msg":"OK"}' };
		const orderNumber = uniqueOrderNo('P');
		await createQr(h.client, { orderNumber, amount: '5', notifyUrl: receiver.url });
		await h.control('/pay', { mch_order_no: orderNumber });
		await waitFor(() => receiver.received.length === 3, 5000, 'three attempts');
		const log = (await h.control<Array<Record<string, unknown>>>('/notifications')).body.filter(
			(d) => d.mch_order_no === orderNumber,
		);
		expect(log.map((d) => d.attempt)).toEqual([1, 2, 3]);
		expect(log.map((d) => d.acknowledged)).toEqual([false, false, true]);
		expect(RETRY_SCHEDULE_S[0]).toBe(1);
		expect((await h.control('/notify', { mch_order_no: orderNumber })).status).toBe(200);
		await waitFor(() => receiver.received.length === 4, 5000, 're-sent notification');
		expect(JSON.parse(receiver.received[3].body).status_code).toBe('');
	});
});
