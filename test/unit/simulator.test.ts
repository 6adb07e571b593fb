import { spawn } from 'child_process';
import forge from 'node-forge';

import {
	canonicalString,
	KsherApiError,
	KsherClient,
	KsherTransportError,
	signedFields,
	verifyResponse,
} from '../../nodes/protocol';
import { ACK, startReceiver, waitFor, type Receiver } from '../helpers/receiver';
import { startHarness, uniqueOrderNo, type SimulatorHarness } from '../helpers/simulator';
import { RETRY_SCHEDULE_S } from '../simulator/server';

let h: SimulatorHarness;
let receiver: Receiver;

beforeAll(async () => {
	h = await startHarness({ timeScale: 0.0001, expiryScale: 0.0001 });
	receiver = await startReceiver();
});
afterAll(async () => {
	await h.sim.close();
	await receiver.close();
});
beforeEach(() => {
	receiver.received.length = 0;
	receiver.answer = () => ({ status: 200, body: ACK });
});

async function raw(endpoint: string, body: string, init: RequestInit = {}) {
	const base = ['gateway_pay', 'gateway_order_query', 'cancel_order'].includes(endpoint)
		? h.sim.info.gatewayUrl
		: h.sim.info.apiUrl;
	const response = await fetch(`${base}/${endpoint}`, {
		method: 'POST',
		headers: { 'content-type': 'application/x-www-form-urlencoded' },
		body,
		...init,
	});
	return (await response.json()) as Record<string, unknown>;
}

async function apiError(promise: Promise<unknown>): Promise<KsherApiError> {
	const error = await promise.then(
		() => undefined,
		(e: unknown) => e,
	);
	expect(error).toBeInstanceOf(KsherApiError);
	return error as KsherApiError;
}

describe('simulator: protocol layer', () => {
	it("answers in Ksher's two envelope shapes, signed so that the core and node-forge both verify", async () => {
		const { orderNo } = await h.createOrder();
		const prepared = h.client.prepare('gateway_order_query', { mch_order_no: orderNo });
		const response = await fetch(prepared.url, {
			method: 'POST',
			headers: prepared.headers,
			body: prepared.body,
		});
		const gateway = (await response.json()) as Record<string, unknown>;
		expect(Object.keys(gateway).sort()).toEqual(['code', 'data', 'message', 'msg', 'sign']);
		expect((gateway.data as Record<string, unknown>).nonce_str).toBe(prepared.nonce);
		expect(verifyResponse(gateway, { publicKey: h.sim.info.ksherPublicKey })).toBe(true);

		const forgeKey = forge.pki.publicKeyFromPem(h.sim.info.ksherPublicKey);
		const md = forge.md.md5.create();
		md.update(canonicalString(gateway.data as Record<string, unknown>), 'utf8');
		expect(forgeKey.verify(md.digest().bytes(), forge.util.hexToBytes(String(gateway.sign)))).toBe(
			true,
		);

		const info = h.client.prepare('merchant_info', {});
		const api = (await (
			await fetch(info.url, { method: 'POST', headers: info.headers, body: info.body })
		).json()) as Record<string, unknown>;
		expect(Object.keys(api).sort()).toEqual([
			'code',
			'data',
			'msg',
			'sign',
			'status_code',
			'status_msg',
			'time_stamp',
			'version',
		]);
		expect(
			verifyResponse(api, { publicKey: h.sim.info.ksherPublicKey, endpoint: 'merchant_info' }),
		).toBe(true);
		expect(
			Object.keys(signedFields(api.data as Record<string, unknown>, 'merchant_info')).sort(),
		).toEqual(['account_type', 'business_mode', 'mch_id', 'mobile', 'nonce_str']);
	});

	it('refuses wrong method, content type, empty body, unknown appid, bad or missing signature, missing fields', async () => {
		const prepared = h.client.prepare('gateway_order_query', { mch_order_no: 'x' });
		const get = await fetch(prepared.url);
		expect(((await get.json()) as Record<string, unknown>).msg).toBe('REQUIRE_POST_METHOD');
		expect(
			(
				await raw('gateway_order_query', prepared.body, {
					headers: { 'content-type': 'application/json' },
				})
			).msg,
		).toBe('PARAM_ERROR');
		expect((await raw('gateway_order_query', '')).msg).toBe('POST_DATA_EMPTY');
		expect(
			(await raw('gateway_order_query', prepared.body.replace('appid=mch20001', 'appid=mch99999')))
				.msg,
		).toBe('KSHER_INVALID_MCHINFO');
		expect((await raw('gateway_order_query', 'mch_order_no=x')).msg).toBe('APPID_NOT_EXIST');
		expect(
			(await raw('gateway_order_query', prepared.body.replace('mch_order_no=x', 'mch_order_no=y')))
				.msg,
		).toBe('KSHER_SIGN_ERROR');
		expect(
			(await raw('gateway_order_query', prepared.body.replace(/&sign=[0-9a-f]+/, ''))).msg,
		).toBe('KSHER_SIGN_ERROR');
		const error = await apiError(h.client.call('gateway_pay', { mch_order_no: uniqueOrderNo() }));
		expect(error.code).toBe('LACK_PARAMS');
		// Refusals of the call itself carry a non-zero code and nothing signed.
		expect(await raw('gateway_order_query', '')).toMatchObject({ code: 1, sign: '' });
	});

	it('a merchant registered through the control API gets its own key', async () => {
		const { body } = await h.control<{ appid: string; merchantPrivateKey: string }>('/merchants', {
			appid: 'mch777',
		});
		const other = new KsherClient({
			appId: 'mch777',
			privateKey: body.merchantPrivateKey,
			ksherPublicKey: h.sim.info.ksherPublicKey,
			gatewayUrl: h.sim.info.gatewayUrl,
			apiUrl: h.sim.info.apiUrl,
		});
		await expect(other.call('merchant_info')).resolves.toMatchObject({ data: { mch_id: '777' } });
		const wrongKey = new KsherClient({
			appId: 'mch777',
			privateKey: h.sim.info.merchantPrivateKey,
			ksherPublicKey: h.sim.info.ksherPublicKey,
			apiUrl: h.sim.info.apiUrl,
		});
		expect((await apiError(wrongKey.call('merchant_info'))).code).toBe('KSHER_SIGN_ERROR');
	});
});

describe('simulator: gateway_pay rules', () => {
	it.each([
		[{ total_fee: '0' }, 'PRICE_NOT_EXIST'],
		[{ total_fee: '10.5' }, 'PRICE_NOT_EXIST'],
		[{ total_fee: '-100' }, 'PRICE_NOT_EXIST'],
		[{ fee_type: 'EUR' }, 'KSHER_FEETYPE_NOT_MATCH'],
		[{ channel_list: 'promptpay,bitcoin' }, 'CHANNEL_LIST_ERROR'],
		[{ channel_list: 'promptpay, card' }, 'CHANNEL_LIST_ERROR'],
		[{ channel_list: 'atome', total_fee: 1999 }, 'KSHER_AMOUNT_IS_TOO_SMALL'],
		[{ channel_list: 'scb_easy', total_fee: 1999 }, 'KSHER_AMOUNT_IS_TOO_SMALL'],
		[{ channel_list: 'kbank_instal', total_fee: 299999 }, 'KSHER_AMOUNT_IS_TOO_SMALL'],
		[{ member_id: '12345' }, 'MEMBER_ID_ERROR'],
		[{ member_id: 'm'.repeat(33) }, 'MEMBER_ID_LENGTH_OUT_OF_LIMIT'],
		[{ mch_order_no: 'x'.repeat(33) }, 'KSHER_PARAM_OVERLENGTH'],
		[{ mch_notify_url: 'not a url' }, 'KSHER_INVALID_PARAM'],
	])('%p → %s', async (overrides, code) => {
		expect((await apiError(h.createOrder(overrides))).code).toBe(code);
	});

	it('accepts channel minimums exactly at the limit and a valid member id', async () => {
		await expect(
			h.createOrder({ channel_list: 'atome,kplus', total_fee: 2000, member_id: 'cust-42' }),
		).resolves.toMatchObject({ payUrl: expect.stringContaining('/page?order_uuid=') });
		await expect(
			h.createOrder({ channel_list: 'ktc_instal', total_fee: 300000 }),
		).resolves.toMatchObject({ payUrl: expect.stringContaining('/page?order_uuid=') });
	});

	it('refuses a duplicate order number', async () => {
		const { orderNo } = await h.createOrder();
		expect((await apiError(h.createOrder({ mch_order_no: orderNo }))).code).toBe(
			'KSHER_DUPLICATED_ORDERNO',
		);
	});
});

describe('simulator: payer side and order life cycle', () => {
	it('serves a checkout page; paying there redirects and marks the order paid', async () => {
		const { orderNo, payUrl } = await h.createOrder({
			mch_redirect_url: 'https://shop.example/ok?ref=1',
		});
		const page = await (await fetch(payUrl)).text();
		expect(page).toContain('150.50 THB');
		expect(page).toContain('PromptPay');
		expect(page).toContain('Credit/Debit Card');
		const uuid = new URL(payUrl).searchParams.get('order_uuid')!;
		const pay = await fetch(new URL('page/pay', payUrl), {
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded' },
			body: `order_uuid=${uuid}&channel=truemoney`,
			redirect: 'manual',
		});
		expect(pay.status).toBe(302);
		expect(pay.headers.get('location')).toBe(
			`https://shop.example/ok?ref=1&mch_order_no=${orderNo}`,
		);
		const { data } = await h.client.call('gateway_order_query', { mch_order_no: orderNo });
		expect(data).toMatchObject({
			result: 'SUCCESS',
			channel: 'truemoney',
			total_fee: 15050,
			cash_fee: 15050,
		});
		expect(String(data.ksher_order_no)).toMatch(/^700\d{20}$/);
		expect(String(data.pay_mch_order_no)).toMatch(/^\d{16}$/);
		expect(String(data.time_end)).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
		expect(await (await fetch(payUrl)).text()).toContain('already paid');
	});

	it("a success URL on the simulator's result page lands on the order's state, with the demo's mail link", async () => {
		const resultUrl = `${h.sim.info.checkoutUrl}/result?mail=${encodeURIComponent('http://127.0.0.1:9/')}`;
		const { orderNo, payUrl } = await h.createOrder({
			mch_redirect_url: resultUrl,
			mch_redirect_url_fail: resultUrl,
		});
		const uuid = new URL(payUrl).searchParams.get('order_uuid')!;
		const pay = await fetch(new URL('page/pay', payUrl), {
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded' },
			body: `order_uuid=${uuid}&channel=promptpay`,
		});
		expect(pay.status).toBe(200);
		expect(pay.url).toBe(`${resultUrl}&mch_order_no=${orderNo}`);
		const page = await pay.text();
		expect(page).toContain(`Order ${orderNo}`);
		expect(page).toContain('Paid with PromptPay');
		expect(page).toContain('150.50 THB');
		expect(page).toContain('<a href="http://127.0.0.1:9/">See the emails n8n sent');
		const unknown = await fetch(`${h.sim.info.checkoutUrl}/result?mch_order_no=NOPE`);
		expect(unknown.status).toBe(404);
		expect(await unknown.text()).toContain('Unknown order');
	});

	it('the Fail button redirects to the failure URL and the order stays payable', async () => {
		const { orderNo, payUrl } = await h.createOrder();
		const uuid = new URL(payUrl).searchParams.get('order_uuid')!;
		const fail = await fetch(new URL('page/fail', payUrl), {
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded' },
			body: `order_uuid=${uuid}`,
			redirect: 'manual',
		});
		expect(fail.headers.get('location')).toBe(`https://shop.example/fail?mch_order_no=${orderNo}`);
		expect(
			(await h.client.call('gateway_order_query', { mch_order_no: orderNo })).data.result,
		).toBe('PAYERROR');
		await h.payOrder(orderNo);
		expect(
			(await h.client.call('gateway_order_query', { mch_order_no: orderNo })).data.result,
		).toBe('SUCCESS');
	});

	it('query: NOTSURE until paid, CLOSED after cancel or expiry, not-found for unknown orders', async () => {
		const a = await h.createOrder();
		const first = await h.client.call('gateway_order_query', { mch_order_no: a.orderNo });
		expect(first.data).toMatchObject({
			result: 'NOTSURE',
			channel: '',
			ksher_order_no: '',
			total_fee: 15050,
		});
		await h.client.call('cancel_order', { mch_order_no: a.orderNo });
		expect(
			(await h.client.call('gateway_order_query', { mch_order_no: a.orderNo })).data.result,
		).toBe('CLOSED');
		expect((await h.control('/pay', { mch_order_no: a.orderNo })).status).toBe(409);
		expect(await (await fetch(a.payUrl)).text()).toContain('no longer valid');

		const b = await h.createOrder();
		await h.control('/expire', { mch_order_no: b.orderNo });
		expect(
			(await h.client.call('gateway_order_query', { mch_order_no: b.orderNo })).data.result,
		).toBe('CLOSED');
		expect(
			(await apiError(h.client.call('gateway_order_query', { mch_order_no: 'nope' }))).code,
		).toBe('ORDER_NOT_EXIST');
	});

	it('expire_time closes an unpaid order on its own', async () => {
		const { orderNo } = await h.createOrder({ expire_time: 1 });
		await waitFor(() => h.sim.order(orderNo)?.expired === true, 5000, 'expiry');
		expect(
			(await h.client.call('gateway_order_query', { mch_order_no: orderNo })).data.result,
		).toBe('CLOSED');
	});

	it('cancel: refused for paid orders, card payments in progress and twice', async () => {
		const paid = await h.createOrder();
		await h.payOrder(paid.orderNo);
		expect(
			(await apiError(h.client.call('cancel_order', { mch_order_no: paid.orderNo }))).code,
		).toBe('ORDER_ALREADY_PAY_OPERATION_CANNOT_BE_PERFORMED');
		const card = await h.createOrder();
		await h.control('/card-in-progress', { mch_order_no: card.orderNo });
		expect(
			(await apiError(h.client.call('cancel_order', { mch_order_no: card.orderNo }))).code,
		).toBe('CANCEL_ERROR');
		const twice = await h.createOrder();
		await expect(
			h.client.call('cancel_order', { mch_order_no: twice.orderNo }),
		).resolves.toMatchObject({ data: { result: 'SUCCESS' } });
		expect(
			(await apiError(h.client.call('cancel_order', { mch_order_no: twice.orderNo }))).code,
		).toBe('ORDER_ALREADY_CANCEL');
		expect((await apiError(h.client.call('cancel_order', { mch_order_no: 'nope' }))).code).toBe(
			'ORDER_NOT_EXIST',
		);
	});
});

describe('simulator: refunds', () => {
	async function paidOrder() {
		const { orderNo } = await h.createOrder({ total_fee: 10000 });
		await h.payOrder(orderNo);
		const { data } = await h.client.call('gateway_order_query', { mch_order_no: orderNo });
		return { orderNo, payNo: String(data.pay_mch_order_no), ksherNo: String(data.ksher_order_no) };
	}
	const refund = (fields: Record<string, unknown>) =>
		h.client.call('order_refund', { total_fee: 10000, fee_type: 'THB', ...fields });

	it('partial and multiple refunds by pay_mch_order_no or ksher_order_no, until the balance is used', async () => {
		const o = await paidOrder();
		const first = await refund({
			mch_order_no: o.payNo,
			refund_fee: 3000,
			mch_refund_no: `${o.orderNo}-r1`,
		});
		expect(first.data).toMatchObject({
			result: 'SUCCESS',
			refund_fee: 3000,
			mch_refund_no: `${o.orderNo}-r1`,
			refund_state: 'REFUNDSUCCESS',
		});
		await refund({ ksher_order_no: o.ksherNo, refund_fee: 5000, mch_refund_no: `${o.orderNo}-r2` });
		expect(
			(await h.client.call('gateway_order_query', { mch_order_no: o.orderNo })).data.result,
		).toBe('SUCCESS');
		expect(
			(
				await apiError(
					refund({ mch_order_no: o.payNo, refund_fee: 2001, mch_refund_no: `${o.orderNo}-r3` }),
				)
			).code,
		).toBe('KSHER_INVALID_REFUND_BALANCE');
		expect(
			(
				await apiError(
					refund({ mch_order_no: o.payNo, refund_fee: 100, mch_refund_no: `${o.orderNo}-r1` }),
				)
			).code,
		).toBe('KSHER_DUPLICATED_REFUND_ORDERNO');
		await refund({ mch_order_no: o.payNo, refund_fee: 2000, mch_refund_no: `${o.orderNo}-r3` });
		expect(
			(await h.client.call('gateway_order_query', { mch_order_no: o.orderNo })).data.result,
		).toBe('REFUND');
		expect(
			(
				await apiError(
					refund({ mch_order_no: o.payNo, refund_fee: 1, mch_refund_no: `${o.orderNo}-r4` }),
				)
			).code,
		).toBe('ORDER_ALREADY_REFUND');

		const { data } = await h.client.call('refund_query', { mch_order_no: o.payNo });
		expect(data.refund_count).toBe('3');
		expect(
			(data.refund_orders as Array<Record<string, unknown>>).map((r) => r.mch_refund_fee),
		).toEqual([3000, 5000, 2000]);
		const one = await h.client.call('refund_query', {
			mch_order_no: o.payNo,
			mch_refund_no: `${o.orderNo}-r2`,
		});
		expect(one.data.refund_orders).toHaveLength(1);
	});

	it("refuses the merchant's own order number, wrong totals, unpaid and cancelled orders", async () => {
		const o = await paidOrder();
		expect(
			(
				await apiError(
					refund({ mch_order_no: o.orderNo, refund_fee: 100, mch_refund_no: uniqueOrderNo('R') }),
				)
			).code,
		).toBe('INVALID_ORDER_NO');
		expect(
			(
				await apiError(
					refund({
						mch_order_no: o.payNo,
						total_fee: 9999,
						refund_fee: 100,
						mch_refund_no: uniqueOrderNo('R'),
					}),
				)
			).code,
		).toBe('KSHER_INVALID_REFUND_FEE_OR_TYPE');
		expect(
			(
				await apiError(
					refund({
						mch_order_no: '0000000000000000',
						refund_fee: 100,
						mch_refund_no: uniqueOrderNo('R'),
					}),
				)
			).code,
		).toBe('KSHER_INVALID_ORDER_NO');

		const unpaid = await h.createOrder({ total_fee: 10000 });
		const payNo = String(
			(await h.client.call('gateway_order_query', { mch_order_no: unpaid.orderNo })).data
				.pay_mch_order_no,
		);
		expect(
			(
				await apiError(
					refund({ mch_order_no: payNo, refund_fee: 100, mch_refund_no: uniqueOrderNo('R') }),
				)
			).code,
		).toBe('ORDER_NOT_PAY');
		await h.client.call('cancel_order', { mch_order_no: unpaid.orderNo });
		expect(
			(
				await apiError(
					refund({ mch_order_no: payNo, refund_fee: 100, mch_refund_no: uniqueOrderNo('R') }),
				)
			).code,
		).toBe('ORDER_ALREADY_CANCEL_OPERATION_CANNOT_BE_PERFORMED');
	});

	it('refund_query signs nested refund_orders as compact JSON', async () => {
		const o = await paidOrder();
		await refund({ mch_order_no: o.payNo, refund_fee: 100, mch_refund_no: `${o.orderNo}-q` });
		const prepared = h.client.prepare('refund_query', { mch_order_no: o.payNo });
		const envelope = (await (
			await fetch(prepared.url, { method: 'POST', headers: prepared.headers, body: prepared.body })
		).json()) as Record<string, unknown>;
		expect(canonicalString(envelope.data as Record<string, unknown>)).toContain(
			'refund_orders=[{"channel_refund_no":"',
		);
		expect(verifyResponse(envelope, { publicKey: h.sim.info.ksherPublicKey })).toBe(true);
	});
});

describe('simulator: notifications', () => {
	it('POSTs a signed text/plain notification when an order is paid, and stops once acknowledged', async () => {
		const { orderNo } = await h.createOrder({ mch_notify_url: receiver.url, attach: '{"row":7}' });
		await h.payOrder(orderNo, 'card');
		await waitFor(() => receiver.received.length === 1, 5000, 'notification');
		const [delivery] = receiver.received;
		expect(delivery.headers['content-type']).toBe('text/plain;charset=utf-8');
		const envelope = JSON.parse(delivery.body);
		expect(envelope).toMatchObject({
			code: 0,
			msg: '操作成功',
			data: { mch_order_no: orderNo, result: 'SUCCESS', channel: 'card', attach: '{"row":7}' },
		});
		expect(verifyResponse(envelope, { publicKey: h.sim.info.ksherPublicKey })).toBe(true);
		await new Promise((resolve) => setTimeout(resolve, 300));
		expect(receiver.received).toHaveLength(1);
		const log = (await h.control<Array<Record<string, unknown>>>('/notifications')).body.filter(
			(d) => d.mch_order_no === orderNo,
		);
		expect(log).toHaveLength(1);
		expect(log[0]).toMatchObject({ status: 200, acknowledged: true, attempt: 1 });
	});

	it("retries on Ksher's schedule (time-scaled) until the exact acknowledgement, then stops", async () => {
		const answers = [
			{ status: 500, body: ACK },
			{ status: 200, body: 'OK' },
			{ status: 200, body: '{"result":"FAIL","msg":"OK"}' },
			{ status: 200, body: JSON.stringify({ result: 'SUCCESS', msg: 'OK' }) },
		];
		receiver.answer = (n) => answers[Math.min(n, answers.length) - 1];
		const { orderNo } = await h.createOrder({ mch_notify_url: receiver.url });
		await h.payOrder(orderNo);
		await waitFor(() => receiver.received.length === 4, 5000, 'four attempts');
		await new Promise((resolve) => setTimeout(resolve, 500));
		expect(receiver.received).toHaveLength(4);
		const bodies = new Set(receiver.received.map((r) => r.body));
		expect(bodies.size).toBe(1);
	});

	it('gives up after 12 retries (13 attempts) when never acknowledged', async () => {
		receiver.answer = () => ({ status: 200, body: '{"result":"FAIL","msg":"busy"}' });
		const { orderNo } = await h.createOrder({ mch_notify_url: receiver.url });
		await h.payOrder(orderNo);
		const total = RETRY_SCHEDULE_S.reduce((a, b) => a + b, 0) * 1000 * 0.0001;
		await waitFor(() => receiver.received.length === 13, total + 5000, '13 attempts');
		await new Promise((resolve) => setTimeout(resolve, 500));
		expect(receiver.received).toHaveLength(13);
		// The gaps grow as the schedule does: the last gap (12 h scaled) is the longest.
		const gaps = receiver.received.slice(1).map((r, i) => r.at - receiver.received[i].at);
		expect(gaps[11]).toBeGreaterThanOrEqual(Math.max(...gaps.slice(0, 6)));
	});

	it('re-sends on request through the control API, also as a refund event', async () => {
		const { orderNo } = await h.createOrder({ mch_notify_url: receiver.url });
		await h.payOrder(orderNo);
		await waitFor(() => receiver.received.length === 1);
		expect((await h.control('/notify', { mch_order_no: orderNo })).status).toBe(200);
		expect((await h.control('/notify', { mch_order_no: orderNo, event: 'refunded' })).status).toBe(
			200,
		);
		await waitFor(() => receiver.received.length === 3);
		const refundEvent = JSON.parse(receiver.received[2].body);
		expect(refundEvent.data.result).toBe('REFUND');
		expect(verifyResponse(refundEvent, { publicKey: h.sim.info.ksherPublicKey })).toBe(true);
		expect((await h.control('/notify', { mch_order_no: orderNo, event: 'shipped' })).status).toBe(
			400,
		);
	});
});

describe('simulator: control API and faults', () => {
	it('gives clear errors for bad control input', async () => {
		expect((await h.control('/pay', { mch_order_no: 'missing' })).status).toBe(404);
		expect((await h.control('/pay', {})).status).toBe(400);
		const { orderNo } = await h.createOrder();
		const bad = await h.control<{ error: string }>('/pay', {
			mch_order_no: orderNo,
			channel: 'bitcoin',
		});
		expect(bad.status).toBe(409);
		expect(bad.body.error).toMatch(/not offered/);
		expect((await h.control<{ error: string }>('/faults', { type: 'meteor' })).body.error).toMatch(
			/type must be one of/,
		);
		expect((await h.control('/nothing', {})).status).toBe(404);
		const view = await h.control<Record<string, unknown>>(`/orders/${orderNo}`);
		expect(view.body).toMatchObject({ mch_order_no: orderNo, result: 'NOTSURE', total_fee: 15050 });
	});

	const faultCases: Array<[string, (e: unknown) => void]> = [
		['http500', (e) => expect((e as KsherTransportError).failure).toBe('http-status')],
		['nonjson', (e) => expect((e as KsherTransportError).failure).toBe('not-json')],
		['empty', (e) => expect((e as KsherTransportError).failure).toBe('not-json')],
		['wrongkey', (e) => expect((e as KsherTransportError).failure).toBe('signature')],
		['tampered', (e) => expect((e as KsherTransportError).failure).toBe('signature')],
		['nosign', (e) => expect((e as KsherTransportError).failure).toBe('signature')],
		['nonce', (e) => expect((e as KsherTransportError).failure).toBe('nonce-mismatch')],
		['reset', (e) => expect((e as KsherTransportError).failure).toBe('connection')],
	];
	it.each(faultCases)('fault %s hits the next matching request only', async (type, check) => {
		const { orderNo } = await h.createOrder();
		await h.control('/faults', { type, endpoint: 'gateway_order_query' });
		const error = await h.client
			.call('gateway_order_query', { mch_order_no: orderNo })
			.catch((e: unknown) => e);
		expect(error).toBeInstanceOf(KsherTransportError);
		check(error);
		await expect(
			h.client.call('gateway_order_query', { mch_order_no: orderNo }),
		).resolves.toMatchObject({ data: { mch_order_no: orderNo, result: 'NOTSURE' } });
	});

	it('latency after processing: the client times out although Ksher acted', async () => {
		const { orderNo } = await h.createOrder();
		const fast = new KsherClient({
			appId: h.sim.info.appid,
			privateKey: h.sim.info.merchantPrivateKey,
			ksherPublicKey: h.sim.info.ksherPublicKey,
			gatewayUrl: h.sim.info.gatewayUrl,
			timeoutMs: 200,
		});
		await h.control('/faults', { type: 'latency', ms: 600, endpoint: 'cancel_order' });
		const error = (await fast
			.call('cancel_order', { mch_order_no: orderNo })
			.catch((e: unknown) => e)) as KsherTransportError;
		expect(error.failure).toBe('timeout');
		expect(error.mayHaveSucceeded).toBe(true);
		await waitFor(() => h.sim.order(orderNo)?.cancelled === true, 3000, 'cancel processed');
	});

	it('a fault "before" processing leaves the state untouched; count and reset work', async () => {
		const { orderNo } = await h.createOrder();
		await h.control('/faults', {
			type: 'http500',
			endpoint: 'cancel_order',
			stage: 'before',
			count: 2,
		});
		for (let i = 0; i < 2; i++)
			await expect(h.client.call('cancel_order', { mch_order_no: orderNo })).rejects.toBeInstanceOf(
				KsherTransportError,
			);
		expect(h.sim.order(orderNo)?.cancelled).toBe(false);
		await h.control('/faults', { type: 'http500', count: -1 });
		await expect(h.client.call('merchant_info')).rejects.toBeInstanceOf(KsherTransportError);
		await h.control('/reset', {});
		await expect(h.client.call('merchant_info')).resolves.toMatchObject({
			data: { mch_id: '20001' },
		});
		expect(h.sim.order(orderNo)).toBeUndefined();
	});
});

describe('simulator: command line', () => {
	it('prints one JSON object with the URLs and keys as its first line', async () => {
		const child = spawn(
			process.execPath,
			[require.resolve('tsx/cli'), 'test/simulator/cli.ts', '--port', '0', '--quiet'],
			{ cwd: `${__dirname}/../..` },
		);
		const firstLine = await new Promise<string>((resolve, reject) => {
			let out = '';
			child.stdout.on('data', (c: Buffer) => {
				out += c.toString();
				if (out.includes('\n')) resolve(out.split('\n')[0]);
			});
			child.on('error', reject);
			child.on('exit', (code) => reject(new Error(`exited ${code}`)));
		});
		child.kill('SIGTERM');
		const info = JSON.parse(firstLine);
		expect(Object.keys(info).sort()).toEqual([
			'apiUrl',
			'appid',
			'checkoutUrl',
			'controlUrl',
			'gatewayUrl',
			'ksherPublicKey',
			'merchantPrivateKey',
		]);
		expect(info.gatewayUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api$/);
		expect(info.merchantPrivateKey).toMatch(/BEGIN RSA PRIVATE KEY/);
	});
});
