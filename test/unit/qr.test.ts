import { createPrivateKey, createPublicKey } from 'crypto';

import {
	buildQrRequest,
	canonicalString,
	closeQrOrder,
	crc16CcittFalse,
	createQr,
	decodeQrImage,
	KsherClient,
	KsherInputError,
	KsherTransportError,
	parseEmvPayload,
	queryQrOrder,
	signCanonical,
	verifyResponse,
} from '../../nodes/protocol';
import realAnswer from '../fixtures/native-pay-real.json';
import vectorsFile from '../fixtures/vectors.json';
import { sharedKeyPair } from '../helpers/keys';
import { decodeQr } from '../helpers/qr';
import { startScriptedServer, type ScriptedServer } from '../helpers/scriptedServer';
import { promptPayPayload } from '../simulator/ksherApi';
import { newOrder } from '../simulator/state';

const real = realAnswer.body;
const ksherV1 = (vectorsFile.keys as Record<string, string>).ksher_v1_public;

describe("Ksher's real native_pay answer (NODE-SDK's published sample)", () => {
	it('verifies with Ksher V1 key, over every field of data', () => {
		expect(verifyResponse(real, { publicKey: ksherV1 })).toBe(true);
		expect(
			verifyResponse({ ...real, data: { ...real.data, total_fee: 101 } }, { publicKey: ksherV1 }),
		).toBe(false);
	});

	it('carries a PromptPay EMVCo payload whose CRC-16/CCITT-FALSE (tag 63) is right, for 1.00 THB (tag 54)', () => {
		expect(crc16CcittFalse('123456789')).toBe('29B1'); // the CRC's published check value
		const fields = parseEmvPayload(real.data.code_url);
		expect(fields).toBeInstanceOf(Map);
		const map = fields as Map<string, string>;
		expect(map.get('63')).toBe('6B6A');
		expect(map.get('54')).toBe('1.00');
		expect(map.get('53')).toBe('764');
		expect(map.get('30')).toContain('A000000677010112');
		expect(real.data.PaymentCode).toBe(real.data.code_url);
		expect(parseEmvPayload(real.data.code_url.replace('6B6A', '6B6B'))).toMatch(
			/CRC \(tag 63\) is 6B6B, but its content gives 6B6A/,
		);
	});

	it('has an imgdat that is a PNG whose QR decodes to its code_url', () => {
		const png = decodeQrImage(real.data.imgdat);
		expect(Buffer.isBuffer(png)).toBe(true);
		expect(decodeQr(png as Buffer)).toBe(real.data.code_url);
		expect(decodeQrImage('data:image/gif;base64,R0lGODlh')).toMatch(/not a base64 PNG/);
		expect(decodeQrImage('data:image/png;base64,R0lGODlhAAAAAAAA')).toMatch(/not a PNG/);
	});
});

describe('Create QR: inputs refused before anything is sent', () => {
	const good = { orderNumber: 'INV-1', amount: '150.50' };
	it.each([
		[{ amount: '' }, 'Amount', /Amount is empty/, /e\.g\. 150\.50/],
		[{ amount: '0' }, 'Amount', /zero: it must be greater than zero/, /positive amount/],
		[{ amount: '1.005' }, 'Amount', /more than 2 decimals/, /Round the amount/],
		[{ amount: 'abc' }, 'Amount', /"abc" is not a valid amount/, /digits/],
		[{ amount: 1.1 + 2.2 }, 'Amount', /more than 2 decimals/, /Round/],
		[{ orderNumber: '' }, 'Order Number', /Order Number is empty/, /INV-1001/],
		[{ channel: 'card' }, 'QR Channel', /not a channel Ksher makes QR codes for/, /promptpay/],
		[{ currency: 'USD' }, 'Currency', /PromptPay takes only THB/, /Choose THB/],
		[{ notifyUrl: 'ftp://x' }, 'Notify URL', /not an absolute http\(s\) URL/, /https:\/\//],
		[{ expiresAfterMinutes: 0 }, 'Expires After (Minutes)', /from 1 to 1440/, /e\.g\. 15/],
		[{ expiresAfterMinutes: 1441 }, 'Expires After (Minutes)', /from 1 to 1440/, /15/],
		[{ expiresAfterMinutes: 2.5 }, 'Expires After (Minutes)', /whole number/, /15/],
	])('%p', (change, field, message, solution) => {
		let error: unknown;
		try {
			buildQrRequest({ ...good, ...change });
		} catch (e) {
			error = e;
		}
		expect(error).toBeInstanceOf(KsherInputError);
		expect((error as KsherInputError).field).toBe(field);
		expect((error as KsherInputError).message).toMatch(message);
		expect((error as KsherInputError).solution).toMatch(solution);
	});

	it('sends the amount in integer minor units, the expiry in seconds, nothing empty', () => {
		const request = buildQrRequest({
			orderNumber: ' INV-7 ',
			amount: '1234.56',
			channel: 'PromptPay',
			expiresAfterMinutes: 10,
			attach: { b: 1, a: 'x' },
		});
		expect(request.params).toEqual({
			mch_order_no: 'INV-7',
			total_fee: 123456,
			fee_type: 'THB',
			channel: 'promptpay',
			notify_url: undefined,
			expire_time: 600,
			product: undefined,
			attach: '{"a":"x","b":1}',
		});
		expect(
			buildQrRequest({ orderNumber: 'J', amount: '100', currency: 'JPY', channel: 'alipay' }),
		).toMatchObject({ totalMinor: 100, expiresAfterMinutes: 15 });
	});
});

describe('Create QR against a scripted Ksher: only the QR asked for is used', () => {
	const ksher = createPrivateKey(sharedKeyPair(512).privatePem);
	const merchant = sharedKeyPair(1024);
	let server: ScriptedServer;
	let client: KsherClient;
	let lastParams: Record<string, string> = {};

	beforeAll(async () => {
		server = await startScriptedServer();
		client = new KsherClient({
			appId: 'mch35005',
			privateKey: merchant.privatePem,
			ksherPublicKey: createPublicKey(ksher).export({ type: 'spki', format: 'pem' }).toString(),
			apiUrl: `${server.url}/KsherPay`,
			gatewayUrl: `${server.url}/api`,
		});
	});
	afterAll(() => server.close());

	/** Ksher's answer as the simulator makes it, changed by `edit`, then signed (or re-signed wrongly). */
	async function answerWith(
		edit: (data: Record<string, unknown>) => void,
		options: { tamperAfterSigning?: (data: Record<string, unknown>) => void } = {},
	) {
		server.handle((_req, body, res) => {
			lastParams = Object.fromEntries(new URLSearchParams(body));
			const order = newOrder({
				kind: 'qr',
				appid: 'mch35005',
				mch_order_no: lastParams.mch_order_no,
				total_fee: Number(lastParams.total_fee),
				fee_type: lastParams.fee_type,
				channel_list: [lastParams.channel],
				channel: lastParams.channel,
				params: lastParams,
			});
			void (async () => {
				const payload = promptPayPayload(order);
				const { default: QRCode } = await import('qrcode');
				const png = await QRCode.toBuffer(payload, { type: 'png' });
				const data: Record<string, unknown> = {
					appid: 'mch35005',
					code_url: payload,
					fee_type: lastParams.fee_type,
					imgdat: `data:image/png;base64,${png.toString('base64')}`,
					ksher_order_no: order.ksher_order_no,
					mch_order_no: lastParams.mch_order_no,
					nonce_str: lastParams.nonce_str,
					PaymentCode: payload,
					result: 'SUCCESS',
					total_fee: Number(lastParams.total_fee),
					trade_type: 'NATIVE',
				};
				edit(data);
				const sign = signCanonical(canonicalString(data), ksher);
				options.tamperAfterSigning?.(data);
				res
					.writeHead(200, { 'content-type': 'application/json' })
					.end(JSON.stringify({ code: 0, msg: 'ok', data, sign, status_code: '', status_msg: '' }));
			})();
		});
	}

	const asked = { orderNumber: 'QR-1', amount: '150.50', notifyUrl: 'https://n8n.example/hook' };

	it('returns the PNG, the payload and the expiry when everything matches', async () => {
		await answerWith(() => undefined);
		const before = new Date();
		const qr = await createQr(client, asked, before);
		expect(lastParams).toMatchObject({
			mch_order_no: 'QR-1',
			total_fee: '15050',
			fee_type: 'THB',
			channel: 'promptpay',
			notify_url: 'https://n8n.example/hook',
			expire_time: '900',
		});
		expect(server.requests.at(-1)?.url).toBe('/KsherPay/native_pay');
		expect(qr).toMatchObject({ orderNumber: 'QR-1', amount: '150.50', currency: 'THB' });
		expect(qr.expiresAt).toBe(new Date(before.getTime() + 15 * 60_000).toISOString());
		expect(decodeQr(qr.png)).toBe(qr.qrPayload);
		expect((parseEmvPayload(qr.qrPayload) as Map<string, string>).get('54')).toBe('150.50');
	});

	const payloadWith = (payload: string, change: (body: string) => string) => {
		const body = change(payload.slice(0, -4));
		return body + crc16CcittFalse(body);
	};

	it.each([
		['a result other than SUCCESS', (d) => void (d.result = 'NOTSURE'), /result "NOTSURE"/],
		['another order number', (d) => void (d.mch_order_no = 'QR-2'), /is for order "QR-2"/],
		['another total_fee', (d) => void (d.total_fee = 15051), /15051 minor units, not 15050/],
		['a total_fee that is not an integer', (d) => void (d.total_fee = 150.5), /150\.5 minor/],
		['another currency', (d) => void (d.fee_type = 'USD'), /in USD, not THB/],
		[
			'a payload for another amount (tag 54, CRC recomputed)',
			(d) => {
				d.code_url = d.PaymentCode = payloadWith(String(d.code_url), (b) =>
					b.replace('5406150.50', '5406150.51'),
				);
			},
			/QR for 150\.51 THB \(tag 54\), not 150\.50/,
		],
		[
			'a payload with a wrong CRC',
			(d) => {
				const p = String(d.code_url);
				d.code_url = d.PaymentCode = `${p.slice(0, -4)}${p.slice(-4) === '0000' ? '0001' : '0000'}`;
			},
			/QR payload that is not valid: its CRC \(tag 63\)/,
		],
		[
			'a payload without an amount',
			(d) => {
				d.code_url = d.PaymentCode = payloadWith(String(d.code_url), (b) =>
					b.replace('5406150.50', ''),
				);
			},
			/QR for no amount/,
		],
		['no payload', (d) => void (d.code_url = d.PaymentCode = ''), /no QR payload/],
		[
			'two different payloads',
			(d) => void (d.PaymentCode = `${String(d.code_url)}X`),
			/two different QR payloads/,
		],
		[
			'an image that is not a PNG',
			(d) => void (d.imgdat = 'data:image/png;base64,AAAAAAAAAAAAAAAA'),
			/not a PNG/,
		],
		['no image', (d) => void delete d.imgdat, /no usable QR image/],
	] as Array<[string, (d: Record<string, unknown>) => void, RegExp]>)(
		'refuses a signed answer with %s',
		async (_what, edit, message) => {
			await answerWith(edit);
			const error = await createQr(client, asked).catch((e: unknown) => e);
			expect(error).toBeInstanceOf(KsherTransportError);
			expect((error as KsherTransportError).failure).toBe('answer-mismatch');
			expect((error as KsherTransportError).mayHaveSucceeded).toBe(true);
			expect((error as KsherTransportError).message).toMatch(message);
			expect((error as KsherTransportError).message).toMatch(/^Ksher's answer to Create QR /);
			expect((error as KsherTransportError).solution).toMatch(/Do not send a QR/);
		},
	);

	it.each([
		['amount', (d: Record<string, unknown>) => void (d.total_fee = 1)],
		[
			'payload',
			(d: Record<string, unknown>) =>
				void (d.code_url = String(d.code_url).replace('150.50', '1.00')),
		],
		['image', (d: Record<string, unknown>) => void (d.imgdat = String(d.imgdat).slice(0, -8))],
	])('refuses an answer whose %s was changed after Ksher signed it', async (_what, tamper) => {
		await answerWith(() => undefined, { tamperAfterSigning: tamper });
		const error = await createQr(client, asked).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(KsherTransportError);
		expect((error as KsherTransportError).failure).toBe('signature');
		expect((error as KsherTransportError).message).toMatch(
			/Create QR: response signature invalid, so it was not used and the outcome is unknown/,
		);
	});

	it('sends nothing when an input is wrong', async () => {
		const before = server.requests.length;
		await expect(createQr(client, { ...asked, amount: '1.005' })).rejects.toThrow(KsherInputError);
		await expect(queryQrOrder(client, 'QR-1', 'card')).rejects.toThrow(/QR Channel "card"/);
		await expect(closeQrOrder(client, 'QR-1', 'promptpay')).rejects.toThrow(
			/Ksher cannot cancel a PromptPay QR: its order_close takes ShopeePay, Alipay, Alipay\+, WeChat Pay only/,
		);
		expect(server.requests.length).toBe(before);
	});
});
