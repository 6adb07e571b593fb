import type { IDataObject } from 'n8n-workflow';
import QRCode from 'qrcode';

import { createQr, crc16CcittFalse, emvField, type QrPayment } from '../../nodes/protocol';
import { keyBodyLines } from '../helpers/keys';
import { runNode, simulatorCredentials } from '../helpers/node';
import { startScriptedServer, type ScriptedServer } from '../helpers/scriptedServer';
import { uniqueOrderNo } from '../helpers/simulator';
import { triggerSuite } from '../helpers/trigger';
import { orderData } from '../simulator/state';

/**
 * Attacks on Payment → Create QR, Get/Cancel (Payment Type: QR Code) and the trigger's Confirm With
 * Ksher fallback to order_query. The "Ksher-signed" attacks use the threat model of
 * test/node/qr.test.ts: an answer bound to the node's request (its nonce) and signed with the key the
 * credential trusts, whose content is not what was asked for. The node must not trust such content
 * further than it checked it.
 */
const suite = triggerSuite();

const qrParams = (orderNumber: string, extra: IDataObject = {}): IDataObject => ({
	resource: 'payment',
	operation: 'createQr',
	orderNumber,
	amount: '150.50',
	expiresAfter: 1440,
	...extra,
});

interface Rewrites {
	/** The parameters sent on to the simulator in place of the node's. */
	request?: (endpoint: string, params: Record<string, string>) => Record<string, string>;
	/** The signed answer's data as given back to the node (re-signed, bound to the node's nonce). */
	answer?: (
		endpoint: string,
		data: Record<string, unknown>,
	) => Record<string, unknown> | Promise<Record<string, unknown>>;
}

/**
 * A server between the node and the simulator: it passes each call on (re-signed as the merchant)
 * and gives back the simulator's answer with `rewrites`, signed with the simulator's Ksher key and
 * bound to the node's nonce, as Ksher would sign it.
 */
async function resigningProxy(rewrites: Rewrites): Promise<ScriptedServer> {
	const { h } = suite;
	const proxy = await startScriptedServer();
	proxy.handle((req, body, res) => {
		const endpoint = String(req.url).split('/').pop()!;
		const sent = Object.fromEntries(new URLSearchParams(body));
		const nonce = sent.nonce_str;
		delete sent.sign;
		const params = rewrites.request ? rewrites.request(endpoint, sent) : sent;
		const prepared = h.client.prepare(endpoint, params);
		void fetch(prepared.url, { method: 'POST', headers: prepared.headers, body: prepared.body })
			.then((r) => r.json() as Promise<{ code: unknown; data: Record<string, unknown> }>)
			.then(async (envelope) => {
				if (envelope.code !== 0) {
					res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(envelope));
					return;
				}
				const data = { ...envelope.data, nonce_str: nonce };
				const given = rewrites.answer ? await rewrites.answer(endpoint, data) : data;
				res
					.writeHead(200, { 'content-type': 'application/json' })
					.end(h.sim.signedNotification(given));
			});
	});
	return proxy;
}

const viaProxy = (proxy: ScriptedServer) =>
	simulatorCredentials(suite.h, {
		apiUrl: `${proxy.url}/KsherPay`,
		gatewayUrl: `${proxy.url}/api`,
	});

/** A PromptPay payload (EMVCo, right CRC) with these top-level fields before the CRC. */
function emvPayload(fields: Array<[string, string]>): string {
	const body = fields.map(([tag, value]) => emvField(tag, value)).join('') + '6304';
	return body + crc16CcittFalse(body);
}

const pngDataUrl = async (payload: string) =>
	`data:image/png;base64,${(await QRCode.toBuffer(payload, { type: 'png' })).toString('base64')}`;

/** A QR order made directly at the simulator (not through the node). */
const directQr = (orderNumber: string, channel = 'promptpay'): Promise<QrPayment> =>
	createQr(suite.h.client, { orderNumber, amount: '150.50', channel, expiresAfterMinutes: 1440 });

const getQr = (orderNumber: string, qrChannel = 'promptpay') =>
	runNode(suite.h, {
		resource: 'payment',
		operation: 'get',
		orderNumber,
		lookUpAs: 'qr',
		qrChannel,
	});

describe('(a) Create QR must not hand the shop a QR for another amount, order or payee', () => {
	it.each([
		['another order of the same amount (its ref1 is that order)', 'other-order'],
		['a PromptPay transfer to a phone number (tag 29), not a Ksher bill payment', 'p2p'],
	])('refuses a signed answer whose QR is %s', async (_name, variant) => {
		const other = await directQr(uniqueOrderNo('OTH'));
		const p2p = emvPayload([
			['00', '01'],
			['01', '12'],
			['29', emvField('00', 'A000000677010111') + emvField('01', '0066812345678')],
			['53', '764'],
			['54', '150.50'],
			['58', 'TH'],
		]);
		const foreign = variant === 'other-order' ? other.qrPayload : p2p;
		const foreignImage = await pngDataUrl(foreign);
		const proxy = await resigningProxy({
			answer: (endpoint, data) =>
				endpoint === 'native_pay'
					? { ...data, code_url: foreign, PaymentCode: foreign, imgdat: foreignImage }
					: data,
		});
		try {
			const orderNumber = uniqueOrderNo('FOR');
			const result = await runNode(suite.h, qrParams(orderNumber), {
				credentials: viaProxy(proxy),
			});
			// Accepted, the customer scans a QR that pays the other order (or a stranger), never this one.
			expect(result.status).toBe('error');
			expect(result.items[0]?.qrPayload).toBeUndefined();
		} finally {
			await proxy.close();
		}
	});

	it('checks the amount of an EMVCo payload whatever the channel: a signed TrueMoney answer whose QR is for 1.00 THB is refused', async () => {
		// A non-PromptPay channel's payload is only checked when it is EMVCo: one for another amount is refused.
		const cheap = emvPayload([
			['00', '01'],
			['01', '12'],
			['53', '764'],
			['54', '1.00'],
			['58', 'TH'],
		]);
		const image = await pngDataUrl(cheap);
		const proxy = await resigningProxy({
			answer: (_endpoint, data) => ({
				...data,
				code_url: cheap,
				PaymentCode: cheap,
				imgdat: image,
			}),
		});
		try {
			const result = await runNode(
				suite.h,
				qrParams(uniqueOrderNo('TM'), { qrChannel: 'truemoney' }),
				{
					credentials: viaProxy(proxy),
				},
			);
			expect(result.error?.message).toMatch(/has a QR for 1\.00 THB \(tag 54\), not 150\.50/);
		} finally {
			await proxy.close();
		}
	});
});

describe('(c) Get and Cancel of QR orders must not report what Ksher did not say of this order', () => {
	it("Get does not report another order's state: a signed order_query answer for a paid order is refused for an unpaid one", async () => {
		const paid = uniqueOrderNo('PD');
		await directQr(paid);
		expect((await suite.h.control('/pay', { mch_order_no: paid })).status).toBe(200);
		const unpaid = uniqueOrderNo('UP');
		await directQr(unpaid);
		const proxy = await resigningProxy({
			request: (endpoint, params) =>
				endpoint === 'order_query' ? { ...params, mch_order_no: paid } : params,
		});
		try {
			const result = await runNode(
				suite.h,
				{ resource: 'payment', operation: 'get', orderNumber: unpaid, paymentType: 'qr' },
				{ credentials: viaProxy(proxy) },
			);
			expect(result.items[0]?.status).not.toBe('paid');
			expect((await getQr(unpaid)).items[0]).toMatchObject({ status: 'pending' });
		} finally {
			await proxy.close();
		}
	});

	it.each([
		['closes another order (a signed SUCCESS for that order)', 'other-order'],
		['is answered with result NOTSURE (not SUCCESS)', 'notsure'],
		['is answered without a result', 'no-result'],
	])(
		'Cancel does not say "cancelled" when order_close %s, while the QR is still payable',
		async (_name, variant) => {
			const decoy = uniqueOrderNo('DC');
			await directQr(decoy, 'airpay');
			const target = uniqueOrderNo('TG');
			await directQr(target, 'airpay');
			// Other order: the call is passed on for the decoy and Ksher's signed SUCCESS (for the decoy)
			// comes back. Otherwise "Ksher" answers itself, code 0, with signed data for this order that
			// does not say SUCCESS; nothing is closed.
			const proxy = await resigningProxy({
				request: (_endpoint, params) => ({ ...params, mch_order_no: decoy }),
			});
			if (variant !== 'other-order')
				proxy.handle((_req, body, res) => {
					const sent = Object.fromEntries(new URLSearchParams(body));
					const data: Record<string, unknown> = {
						appid: suite.h.sim.info.appid,
						mch_order_no: sent.mch_order_no,
						nonce_str: sent.nonce_str,
					};
					if (variant === 'notsure') data.result = 'NOTSURE';
					res
						.writeHead(200, { 'content-type': 'application/json' })
						.end(suite.h.sim.signedNotification(data));
				});
			try {
				const result = await runNode(
					suite.h,
					{
						resource: 'payment',
						operation: 'cancel',
						orderNumber: target,
						paymentType: 'qr',
						qrChannel: 'airpay',
					},
					{ credentials: viaProxy(proxy) },
				);
				// The order is still open at Ksher: the customer can still pay it.
				expect((await getQr(target, 'airpay')).items[0]).toMatchObject({ status: 'pending' });
				expect(result.items).not.toEqual([{ orderNumber: target, cancelled: true }]);
			} finally {
				await proxy.close();
			}
		},
	);

	it('Cancel of a paid ShopeePay QR is refused, and Get still says paid', async () => {
		const orderNumber = uniqueOrderNo('CP');
		await directQr(orderNumber, 'airpay');
		expect((await suite.h.control('/pay', { mch_order_no: orderNumber })).status).toBe(200);
		const result = await runNode(suite.h, {
			resource: 'payment',
			operation: 'cancel',
			orderNumber,
			paymentType: 'qr',
			qrChannel: 'airpay',
		});
		expect(result.status).toBe('error');
		expect(result.error?.message).toMatch(/ORDER_ALREADY_PAY/);
		expect((await getQr(orderNumber, 'airpay')).items[0]).toMatchObject({ status: 'paid' });
	});

	it('Get with the wrong QR Channel is an error, never "paid" or "pending" for the order', async () => {
		const orderNumber = uniqueOrderNo('WC');
		await directQr(orderNumber, 'truemoney');
		expect((await suite.h.control('/pay', { mch_order_no: orderNumber })).status).toBe(200);
		const wrong = await getQr(orderNumber, 'promptpay');
		expect(wrong.status).toBe('error');
		expect(wrong.items).toEqual([]);
		expect((await getQr(orderNumber, 'truemoney')).items[0]).toMatchObject({ status: 'paid' });
	});
});

describe('(b) Confirm With Ksher for QR notifications', () => {
	/** Ksher's paid notification of a QR order as the simulator holds it, with `fields` over it, signed. */
	function qrNotification(orderNumber: string, fields: Record<string, unknown> = {}): string {
		const order = suite.h.sim.order(orderNumber)!;
		return suite.h.sim.signedNotification({ ...orderData(order, 'f'.repeat(32)), ...fields });
	}

	it('does not run a signed "paid" for an unpaid QR order, nor for a QR order under a channel it was not made for', async () => {
		const t = await suite.trigger({ parameters: { options: { confirmWithKsher: true } } });
		const unpaid = uniqueOrderNo('CU');
		await directQr(unpaid);
		// Now, in Ksher's time (Bangkok wall clock): inside the replay window.
		const time = new Date(Date.now() + 7 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');
		const lie = qrNotification(unpaid, { result: 'SUCCESS', time_end: time });
		expect((await t.post(lie)).status).toBe(409);

		const paid = uniqueOrderNo('CW');
		await directQr(paid);
		expect((await suite.h.control('/pay', { mch_order_no: paid })).status).toBe(200);
		// The same paid order claimed as a card payment (not a QR channel) or as ShopeePay: Ksher is not
		// asked about another order; the notification is not run (asked again later).
		for (const channel of ['card', 'airpay'])
			expect((await t.post(qrNotification(paid, { channel }))).status).toBe(503);
		expect(t.emitted).toHaveLength(0);
		// The genuine one still runs, once.
		expect((await t.post(qrNotification(paid))).status).toBe(200);
		expect((await t.post(qrNotification(paid))).status).toBe(200);
		expect(t.emitted).toHaveLength(1);
	});

	it('does not confirm a QR notification whose currency Ksher does not hold (150.50 THB paid, "150.50 USD" notified)', async () => {
		const t = await suite.trigger({ parameters: { options: { confirmWithKsher: true } } });
		const orderNumber = uniqueOrderNo('CC');
		await directQr(orderNumber);
		expect((await suite.h.control('/pay', { mch_order_no: orderNumber })).status).toBe(200);
		const altered = qrNotification(orderNumber, { fee_type: 'USD', cash_fee_type: 'USD' });
		const answer = await t.post(altered);
		expect({
			status: answer.status,
			runs: t.emitted.map((i) => `${i.amount} ${i.currency}`),
		}).toEqual({ status: 409, runs: [] });
	});
});

describe('(e) saved Get and Cancel without Payment Type keep the payment-link behaviour', () => {
	it('look the order up and cancel it on the gateway only: a QR order of that number is not touched', async () => {
		const orderNumber = uniqueOrderNo('OLD');
		await directQr(orderNumber, 'airpay');
		const before = suite.h.sim.requests.length;
		const get = await runNode(suite.h, { resource: 'payment', operation: 'get', orderNumber });
		const cancel = await runNode(suite.h, {
			resource: 'payment',
			operation: 'cancel',
			orderNumber,
		});
		expect(suite.h.sim.requests.slice(before).map((r) => r.endpoint)).toEqual([
			'gateway_order_query',
			'cancel_order',
		]);
		expect(get.error?.message).toMatch(/ORDER_NOT_EXIST/);
		expect(cancel.error?.message).toMatch(/ORDER_NOT_EXIST/);
		expect((await getQr(orderNumber, 'airpay')).items[0]).toMatchObject({ status: 'pending' });
	});
});

describe('(d) QR error paths do not carry the private key', () => {
	it('a refused answer, a refused channel and a lookup error name no piece of the key', async () => {
		const { h } = suite;
		const lines = keyBodyLines(h.sim.info.merchantPrivateKey);
		const proxy = await resigningProxy({
			answer: (_endpoint, data) => ({ ...data, total_fee: 1 }),
		});
		try {
			const runs = await Promise.all([
				runNode(h, qrParams(uniqueOrderNo('LK')), { credentials: viaProxy(proxy) }),
				runNode(h, qrParams(uniqueOrderNo('LK'), { qrChannel: 'card' })),
				runNode(h, {
					resource: 'payment',
					operation: 'cancel',
					orderNumber: uniqueOrderNo('LK'),
					paymentType: 'qr',
				}),
				getQr(uniqueOrderNo('LK')),
			]);
			for (const run of runs) {
				expect(run.status).toBe('error');
				const text = JSON.stringify([run.error, run.error?.message, run.error?.description]);
				for (const line of lines) expect(text).not.toContain(line);
			}
		} finally {
			await proxy.close();
		}
	});
});
