import { createPrivateKey } from 'crypto';

import {
	canonicalString,
	KsherApiError,
	KsherClient,
	KsherTransportError,
	parsePublicKey,
	signCanonical,
	verifyCanonical,
} from '../../nodes/protocol';
import { sharedKeyPair, makeKeyPair } from '../helpers/keys';
import { startScriptedServer, type ScriptedServer } from '../helpers/scriptedServer';

const merchant = sharedKeyPair(1024);
const ksher = makeKeyPair(1024);
const ksherPrivate = createPrivateKey(ksher.privatePem);

function signedEnvelope(data: Record<string, unknown>, extra: Record<string, unknown> = {}) {
	return JSON.stringify({
		code: 0,
		msg: 'ok',
		data,
		sign: signCanonical(canonicalString(data), ksherPrivate),
		...extra,
	});
}

let server: ScriptedServer;
let client: KsherClient;

beforeAll(async () => {
	server = await startScriptedServer();
});
afterAll(() => server.close());
beforeEach(() => {
	server.requests.length = 0;
	client = new KsherClient({
		appId: 'mch35005',
		privateKey: merchant.privatePem,
		ksherPublicKey: ksher.publicPem,
		gatewayUrl: `${server.url}/api`,
		apiUrl: `${server.url}/KsherPay`,
		timeoutMs: 500,
	});
});

function form(body: string): Record<string, string> {
	return Object.fromEntries(new URLSearchParams(body));
}

describe('KsherClient', () => {
	it('signs a form POST to the right host and returns verified data', async () => {
		server.handle((_req, body, res) => {
			const sent = form(body);
			res.writeHead(200, { 'content-type': 'application/json' }).end(
				signedEnvelope({
					result: 'SUCCESS',
					nonce_str: sent.nonce_str,
					mch_order_no: sent.mch_order_no,
				}),
			);
		});
		const { data } = await client.call('gateway_order_query', { mch_order_no: 'INV-1' });
		expect(data).toMatchObject({ result: 'SUCCESS', mch_order_no: 'INV-1' });

		const [request] = server.requests;
		expect(request.method).toBe('POST');
		expect(request.url).toBe('/api/gateway_order_query');
		expect(request.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
		expect(request.headers['ksher-sign-version']).toBeUndefined();
		const sent = form(request.body);
		expect(sent).toMatchObject({ appid: 'mch35005', mch_order_no: 'INV-1' });
		expect(sent.nonce_str).toMatch(/^[0-9a-f]{32}$/);
		expect(sent.time_stamp).toMatch(/^\d{14}$/);
		const { sign, ...unsigned } = sent;
		expect(
			verifyCanonical(canonicalString(unsigned), sign, parsePublicKey(merchant.publicPem)),
		).toBe(true);
	});

	it('sends refunds to the api.mch host, a fresh nonce every call, and drops empty values', async () => {
		server.handle((_req, body, res) =>
			res
				.writeHead(200)
				.end(signedEnvelope({ result: 'SUCCESS', nonce_str: form(body).nonce_str })),
		);
		await client.call('order_refund', {
			mch_order_no: '1',
			attach: '',
			member_id: undefined,
			refund_fee: 5,
		});
		await client.call('order_refund', { mch_order_no: '1', refund_fee: 5 });
		expect(server.requests.map((r) => r.url)).toEqual([
			'/KsherPay/order_refund',
			'/KsherPay/order_refund',
		]);
		const [a, b] = server.requests.map((r) => form(r.body));
		expect(a.nonce_str).not.toBe(b.nonce_str);
		expect('attach' in a).toBe(false);
		expect('member_id' in a).toBe(false);
		expect(a.refund_fee).toBe('5');
	});

	it('sends ksher-sign-version: V2 when V2 is chosen', async () => {
		const v2 = new KsherClient({
			appId: 'mch1',
			privateKey: merchant.privatePem,
			signVersion: 'V2',
			ksherPublicKey: ksher.publicPem,
			gatewayUrl: `${server.url}/api`,
		});
		server.handle((_req, body, res) =>
			res
				.writeHead(200)
				.end(signedEnvelope({ result: 'SUCCESS', nonce_str: form(body).nonce_str })),
		);
		await v2.call('gateway_order_query', { mch_order_no: 'x' });
		expect(server.requests[0].headers['ksher-sign-version']).toBe('V2');
	});

	it('accepts an empty nonce echo (Ksher sends "" for unpaid orders)', async () => {
		server.handle((_req, _body, res) =>
			res.writeHead(200).end(signedEnvelope({ result: 'NOTSURE', nonce_str: '' })),
		);
		await expect(client.call('gateway_order_query', { mch_order_no: 'x' })).resolves.toMatchObject({
			data: { result: 'NOTSURE' },
		});
	});

	async function failure(endpoint = 'order_refund'): Promise<unknown> {
		try {
			await client.call(endpoint, { mch_order_no: 'x' });
		} catch (error) {
			return error;
		}
		throw new Error('expected the call to fail');
	}

	it('rejects a response with an invalid signature, even with code 0', async () => {
		server.handle((_req, body, res) => {
			const envelope = JSON.parse(
				signedEnvelope({ result: 'SUCCESS', nonce_str: form(body).nonce_str }),
			);
			envelope.data.result = 'REFUND';
			res.writeHead(200).end(JSON.stringify(envelope));
		});
		const error = await failure();
		expect(error).toBeInstanceOf(KsherTransportError);
		expect((error as KsherTransportError).failure).toBe('signature');
		expect((error as Error).message).toMatch(/response signature invalid/);
		expect((error as KsherTransportError).mayHaveSucceeded).toBe(true);
	});

	it('rejects a response signed with another key and an unsigned one', async () => {
		const other = createPrivateKey(makeKeyPair(1024).privatePem);
		server.handle((_req, body, res) => {
			const data = { result: 'SUCCESS', nonce_str: form(body).nonce_str };
			res
				.writeHead(200)
				.end(JSON.stringify({ code: 0, data, sign: signCanonical(canonicalString(data), other) }));
		});
		expect(((await failure('gateway_order_query')) as KsherTransportError).failure).toBe(
			'signature',
		);
		server.handle((_req, body, res) =>
			res
				.writeHead(200)
				.end(
					JSON.stringify({ code: 0, data: { result: 'SUCCESS', nonce_str: form(body).nonce_str } }),
				),
		);
		const unsigned = (await failure('gateway_order_query')) as KsherTransportError;
		expect(unsigned.failure).toBe('signature');
		expect(unsigned.mayHaveSucceeded).toBe(false);
	});

	it('turns code ≠ 0 into a Ksher error with the explanation and solution', async () => {
		server.handle((_req, _body, res) =>
			res
				.writeHead(200)
				.end(JSON.stringify({ code: 1, msg: 'KSHER_INVALID_REFUND_BALANCE', data: {} })),
		);
		const error = (await failure()) as KsherApiError;
		expect(error).toBeInstanceOf(KsherApiError);
		expect(error.code).toBe('KSHER_INVALID_REFUND_BALANCE');
		expect(error.message).toMatch(/more than what remains of this payment/);
		expect(error.solution).toMatch(/^Refund at most what remains/);
	});

	it('turns a verified result FAIL into a Ksher error using err_code', async () => {
		server.handle((_req, body, res) =>
			res.writeHead(200).end(
				signedEnvelope({
					result: 'FAIL',
					err_code: 'ORDER_NOT_EXIST',
					err_msg: 'order not found',
					nonce_str: form(body).nonce_str,
				}),
			),
		);
		const error = (await failure('gateway_order_query')) as KsherApiError;
		expect(error.code).toBe('ORDER_NOT_EXIST');
		expect(error.message).toMatch(/Ksher has no payment with this order number/);
		expect(error.message).toMatch(/order not found/);
	});

	it('never treats a non-zero code as success, whatever data says', async () => {
		server.handle((_req, _body, res) =>
			res.writeHead(200).end(JSON.stringify({ code: '1', data: { result: 'SUCCESS' }, msg: 'x' })),
		);
		expect(await failure()).toBeInstanceOf(KsherApiError);
		server.handle((_req, _body, res) =>
			res.writeHead(200).end(JSON.stringify({ code: null, data: { result: 'SUCCESS' } })),
		);
		expect(await failure()).toBeInstanceOf(KsherApiError);
	});

	it('reports non-JSON bodies, HTTP errors and nonce mismatches as typed errors', async () => {
		server.handle((_req, _body, res) => res.writeHead(200).end('<html>gateway error</html>'));
		const notJson = (await failure()) as KsherTransportError;
		expect(notJson.failure).toBe('not-json');
		expect(notJson.mayHaveSucceeded).toBe(true);
		expect(notJson.message).toMatch(/outcome is unknown/);

		server.handle((_req, _body, res) => res.writeHead(500).end('oops'));
		const http500 = (await failure()) as KsherTransportError;
		expect(http500.failure).toBe('http-status');
		expect(http500.httpStatus).toBe(500);
		expect(http500.mayHaveSucceeded).toBe(true);
		const query500 = (await failure('gateway_order_query')) as KsherTransportError;
		expect(query500.mayHaveSucceeded).toBe(false);

		server.handle((_req, _body, res) =>
			res
				.writeHead(200)
				.end(signedEnvelope({ result: 'SUCCESS', nonce_str: 'ffffffffffffffffffffffffffffffff' })),
		);
		const replay = (await failure()) as KsherTransportError;
		expect(replay.failure).toBe('nonce-mismatch');
		expect(replay.message).toMatch(/nonce mismatch/);
	});

	it('does not follow a redirect with the signed body (fetch transport)', async () => {
		server.handle((req, _body, res) => {
			if (req.url === '/elsewhere')
				return void res.writeHead(200).end(signedEnvelope({ result: 'SUCCESS' }));
			res.writeHead(307, { location: `${server.url}/elsewhere` }).end();
		});
		const error = (await failure()) as KsherTransportError;
		expect(error.failure).toBe('http-status');
		expect(error.httpStatus).toBe(307);
		expect(server.requests.map((r) => r.url)).toEqual(['/KsherPay/order_refund']);
	});

	it('times out and says the refund may have happened', async () => {
		server.handle(() => {
			// Never answer.
		});
		const started = Date.now();
		const error = (await failure()) as KsherTransportError;
		expect(Date.now() - started).toBeLessThan(5000);
		expect(error.failure).toBe('timeout');
		expect(error.mayHaveSucceeded).toBe(true);
		expect(error.message).toMatch(/may or may not have processed it/);
	});

	it('says nothing happened when the connection is refused', async () => {
		const closed = await startScriptedServer();
		await closed.close();
		const dead = new KsherClient({
			appId: 'mch1',
			privateKey: merchant.privatePem,
			apiUrl: `${closed.url}/KsherPay`,
		});
		const error = await dead.call('order_refund', {}).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(KsherTransportError);
		expect((error as KsherTransportError).mayHaveSucceeded).toBe(false);
		expect((error as Error).message).toMatch(/nothing happened/);
	});

	it('refuses text with a broken Unicode character before signing (its signed and sent bytes would differ)', () => {
		expect(() => client.prepare('gateway_pay', { product_name: 'scarf \uD83D' })).toThrow(
			/product_name contains a broken Unicode character/,
		);
		expect(client.prepare('gateway_pay', { product_name: 'scarf 🧣' }).body).toContain(
			'product_name=scarf%20%F0%9F%A7%A3',
		);
	});

	it('refuses a bad app id or base URL before any request', () => {
		expect(() => new KsherClient({ appId: '35005', privateKey: merchant.privatePem })).toThrow(
			/does not look like a Ksher app id/,
		);
		expect(
			() => new KsherClient({ appId: 'mch1', privateKey: merchant.privatePem, apiUrl: 'ftp://x' }),
		).toThrow(/not an http\(s\) URL/);
	});
});
