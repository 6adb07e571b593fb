import type { IBinaryData, IDataObject } from 'n8n-workflow';

import { crc16CcittFalse, parseEmvPayload } from '../../nodes/protocol';
import type { NodeRun } from '../helpers/n8n';
import { runNode, simulatorCredentials } from '../helpers/node';
import { decodeQr } from '../helpers/qr';
import { startScriptedServer } from '../helpers/scriptedServer';
import { startHarness, uniqueOrderNo, type SimulatorHarness } from '../helpers/simulator';

let h: SimulatorHarness;
beforeAll(async () => {
	h = await startHarness();
});
afterAll(() => h.sim.close());

const qrParams = (orderNumber: string, extra: IDataObject = {}): IDataObject => ({
	resource: 'payment',
	operation: 'createQr',
	orderNumber,
	amount: '150.50',
	...extra,
});

/** The binary data of the Ksher node's output items, as n8n's engine holds them. */
function binaries(run: NodeRun): Array<Record<string, IBinaryData> | undefined> {
	const items = run.run.data.resultData.runData.Ksher?.[0]?.data?.main?.[0] ?? [];
	return items.map((item) => item.binary);
}

describe('Payment → Create QR', () => {
	it('gives the QR as a PNG file that decodes to the payload, with the order, amount, expiry and watch state', async () => {
		const orderNumber = uniqueOrderNo('Q');
		const started = Date.now();
		const result = await runNode(
			h,
			qrParams(orderNumber, {
				notifyUrl: 'https://n8n.example/webhook/abc/webhook',
				expiresAfter: 10,
				qrAdditionalFields: { attach: '={{ $json.meta }}', productName: 'Thai tea x2' },
			}),
			{ rows: [{ meta: { chat: 'U1' } }] },
		);
		expect(result.status).toBe('success');
		expect(result.pairedItems).toEqual([{ item: 0 }]);
		const [item] = result.items;
		expect(item).toEqual({
			orderNumber,
			ksherOrderNumber: expect.stringMatching(/^900\d{20}$/),
			amount: '150.50',
			currency: 'THB',
			channel: 'promptpay',
			channelName: 'PromptPay',
			qrPayload: expect.stringMatching(/^000201/),
			expiresAt: expect.any(String),
			watchState: expect.stringMatching(/"status":"pending"/),
		});
		const expiresAt = Date.parse(item.expiresAt as string);
		expect(expiresAt).toBeGreaterThanOrEqual(started + 10 * 60_000 - 1000);
		expect(expiresAt).toBeLessThanOrEqual(Date.now() + 10 * 60_000);

		const [binary] = binaries(result);
		expect(Object.keys(binary ?? {})).toEqual(['qr']);
		expect(binary!.qr).toMatchObject({
			mimeType: 'image/png',
			fileName: `ksher-qr-${orderNumber}.png`,
			fileExtension: 'png',
		});
		const png = Buffer.from(binary!.qr.data, 'base64');
		expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
		const payload = item.qrPayload as string;
		expect(decodeQr(png)).toBe(payload);
		expect(payload.slice(-4)).toBe(crc16CcittFalse(payload.slice(0, -4)));
		expect((parseEmvPayload(payload) as Map<string, string>).get('54')).toBe('150.50');

		const sent = h.sim.requests.find(
			(r) => r.endpoint === 'native_pay' && r.params.mch_order_no === orderNumber,
		)!.params;
		expect(sent).toMatchObject({
			total_fee: '15050',
			fee_type: 'THB',
			channel: 'promptpay',
			notify_url: 'https://n8n.example/webhook/abc/webhook',
			expire_time: '600',
			attach: '{"chat":"U1"}',
			product: 'Thai tea x2',
		});
	});

	it('puts the image in the field asked for, with a file name that is one file name', async () => {
		const orderNumber = `${uniqueOrderNo('Q')}/A`;
		const result = await runNode(
			h,
			qrParams(orderNumber, { binaryPropertyName: 'image', qrChannel: 'truemoney' }),
		);
		expect(result.status).toBe('success');
		expect(result.items[0]).toMatchObject({ channel: 'truemoney', channelName: 'TrueMoney' });
		const [binary] = binaries(result);
		expect(binary!.image.fileName).toBe(`ksher-qr-${orderNumber.replace('/', '_')}.png`);
		expect(decodeQr(Buffer.from(binary!.image.data, 'base64'))).toBe(result.items[0].qrPayload);
	});

	it.each([
		[{ amount: '={{ "" }}' }, /^Amount is empty/, 'Amount'],
		[{ amount: '0' }, /^Amount "0" is zero: it must be greater than zero/, 'Amount'],
		[{ amount: '1.005' }, /^Amount "1\.005" has more than 2 decimals/, 'Amount'],
		[{ amount: 'abc' }, /^Amount "abc" is not a valid amount/, 'Amount'],
		[{ currency: 'USD' }, /^Currency: PromptPay takes only THB/, 'Currency'],
		[
			{ qrChannel: 'card' },
			/^QR Channel "card" is not a channel Ksher makes QR codes for/,
			'QR Channel',
		],
		[{ expiresAfter: 0 }, /^Expires After \(Minutes\) must be a whole number/, 'Expires After'],
		[{ notifyUrl: 'n8n.example/hook' }, /^Notify URL "n8n.example\/hook"/, 'Notify URL'],
		[{ orderNumber: 'INV 1' }, /^Order Number "INV 1" contains spaces/, 'Order Number'],
		[{ binaryPropertyName: ' ' }, /^Put QR Image in Field is empty/, 'Put QR Image in Field'],
	])(
		'refuses %p before calling Ksher, naming the field and the fix',
		async (change, message, field) => {
			const before = h.sim.requests.length;
			const result = await runNode(h, { ...qrParams(uniqueOrderNo('V')), ...change });
			expect(result).toMatchObject({
				status: 'error',
				error: {
					name: 'NodeOperationError',
					message: expect.stringMatching(message),
					description: expect.stringMatching(/\w/),
				},
			});
			expect(result.error?.message).toMatch(/\[item 0\]$/);
			expect(result.error?.message.startsWith(field)).toBe(true);
			expect(h.sim.requests.length).toBe(before);
		},
	);

	it('on an account Ksher has not enabled for QR payments, says what to ask Ksher for', async () => {
		await h.control('/merchant-settings', { qr_payments: 'N' });
		try {
			const result = await runNode(h, qrParams(uniqueOrderNo('N')));
			expect(result.status).toBe('error');
			expect(result.error?.message).toMatch(
				/Your Ksher account is not enabled for this action.*\[NOAUTH\]/,
			);
			expect(result.error?.description).toMatch(
				/Ask Ksher support to enable it for your account \(for Create QR: QR payments/,
			);
		} finally {
			await h.control('/merchant-settings', { qr_payments: 'Y' });
		}
	});

	it('refuses a tampered answer (signature) and says the outcome is unknown', async () => {
		await h.control('/faults', { type: 'tampered', endpoint: 'native_pay' });
		const orderNumber = uniqueOrderNo('T');
		const result = await runNode(h, qrParams(orderNumber));
		expect(result.status).toBe('error');
		expect(result.error?.name).toBe('NodeApiError');
		expect(result.error?.message).toMatch(
			/Create QR: response signature invalid, so it was not used and the outcome is unknown/,
		);
		expect(result.items).toEqual([]);
	});

	it('refuses a signed answer for another amount; Continue On Fail gives the error item in its place', async () => {
		// A server that answers with the simulator's genuine, signed answer for 1.00 THB to every request.
		const proxy = await startScriptedServer();
		try {
			proxy.handle((req, body, res) => {
				const params = new URLSearchParams(body);
				params.set('total_fee', '100');
				params.delete('sign');
				const prepared = h.client.prepare('native_pay', Object.fromEntries(params));
				const nonce = new URLSearchParams(body).get('nonce_str');
				void fetch(prepared.url, { method: 'POST', headers: prepared.headers, body: prepared.body })
					.then((r) => r.json() as Promise<{ data: IDataObject }>)
					.then((envelope) => {
						// Bind it to the node's request as Ksher would (nonce), re-signed by the simulator's key.
						envelope.data.nonce_str = nonce;
						res
							.writeHead(200, { 'content-type': 'application/json' })
							.end(h.sim.signedNotification(envelope.data as Record<string, unknown>));
					});
				void req;
			});
			const orderNumber = uniqueOrderNo('M');
			const result = await runNode(h, qrParams(orderNumber), {
				credentials: simulatorCredentials(h, { apiUrl: `${proxy.url}/KsherPay` }),
				continueOnFail: true,
			});
			expect(result.status).toBe('success');
			expect(result.items).toEqual([
				expect.objectContaining({
					orderNumber,
					error: expect.stringMatching(
						/^Ksher's answer to Create QR is for 100 minor units, not 15050, so the QR was not used/,
					),
					code: 'TRANSPORT_ANSWER_MISMATCH',
					mayHaveSucceeded: true,
				}),
			]);
			expect(binaries(result)).toEqual([undefined]);
		} finally {
			await proxy.close();
		}
	});
});

describe('Payment → Get and Cancel for QR payments', () => {
	it('Get (Payment Type: QR Code) says pending, then paid once the customer paid', async () => {
		const orderNumber = uniqueOrderNo('G');
		await runNode(h, qrParams(orderNumber, { qrAdditionalFields: { attach: '{"chat":"U9"}' } }));
		const get = { resource: 'payment', operation: 'get', orderNumber, lookUpAs: 'qr' };
		const order = { orderNumber, amount: '150.50', currency: 'THB', channel: 'promptpay' };
		const pending = await runNode(h, get);
		expect(pending.items[0]).toMatchObject({ ...order, status: 'pending' });
		expect(h.sim.requests.at(-1)).toMatchObject({
			endpoint: 'order_query',
			params: { mch_order_no: orderNumber, channel: 'promptpay' },
		});
		expect((await h.control('/pay', { mch_order_no: orderNumber })).status).toBe(200);
		const paid = await runNode(h, get);
		expect(paid.items[0]).toMatchObject({
			...order,
			status: 'paid',
			result: 'SUCCESS',
			channelName: 'PromptPay',
			attach: { chat: 'U9' },
			ksherOrderNumber: expect.stringMatching(/^900\d{20}$/),
		});
		expect(paid.items[0].paidAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$/);
		// As a payment link (the default), the gateway does not know it.
		const asLink = await runNode(h, { ...get, lookUpAs: 'link' });
		expect(asLink.error?.message).toMatch(/ORDER_NOT_EXIST/);
	});

	it('Cancel closes a ShopeePay QR, and for PromptPay says why not without calling Ksher', async () => {
		const shopee = uniqueOrderNo('C');
		await runNode(h, qrParams(shopee, { qrChannel: 'airpay' }));
		const cancel = { resource: 'payment', operation: 'cancel', paymentType: 'qr' };
		const closed = await runNode(h, { ...cancel, orderNumber: shopee, qrChannel: 'airpay' });
		expect(closed.items).toEqual([{ orderNumber: shopee, cancelled: true }]);
		const after = await runNode(h, {
			resource: 'payment',
			operation: 'get',
			orderNumber: shopee,
			lookUpAs: 'qr',
			qrChannel: 'airpay',
		});
		expect(after.items[0]).toMatchObject({ status: 'closed' });

		const promptpay = uniqueOrderNo('C');
		await runNode(h, qrParams(promptpay));
		const before = h.sim.requests.length;
		const refused = await runNode(h, { ...cancel, orderNumber: promptpay });
		expect(refused.error?.message).toMatch(
			/^QR Channel: Ksher cannot cancel a PromptPay QR: its order_close takes ShopeePay, Alipay, Alipay\+, WeChat Pay only/,
		);
		expect(refused.error?.description).toMatch(/expires/);
		expect(h.sim.requests.length).toBe(before);
	});
});

describe('Refunds and Watch for Changes of QR payments', () => {
	/** A paid QR order of 150.50 on the channel, made by the node as a shop would. */
	async function paidQr(qrChannel = 'promptpay'): Promise<string> {
		const orderNumber = uniqueOrderNo('R');
		expect((await runNode(h, qrParams(orderNumber, { qrChannel }))).status).toBe('success');
		expect((await h.control('/pay', { mch_order_no: orderNumber })).status).toBe(200);
		return orderNumber;
	}
	const refund = (orderNumber: string, extra: IDataObject = {}): IDataObject => ({
		resource: 'refund',
		operation: 'create',
		orderNumber,
		paymentType: 'qr',
		refundAmount: '50.00',
		...extra,
	});
	const sentRefunds = (orderNumber: string) =>
		h.sim.order(orderNumber)!.refunds.map((r) => [r.mch_refund_no, r.refund_fee]);

	it.each(['truemoney', 'promptpay'])(
		'Refund → Create (Payment Type: QR Code, %s) refunds the amount once: a re-run moves nothing',
		async (qrChannel) => {
			const orderNumber = await paidQr(qrChannel);
			const first = await runNode(h, refund(orderNumber, { qrChannel }));
			expect(first.status).toBe('success');
			expect(first.items[0]).toMatchObject({
				orderNumber,
				refundNumber: `${orderNumber}-Q5000`,
				refundAmount: '50.00',
				currency: 'THB',
				status: 'refunded',
				alreadyRefunded: false,
			});
			// Looked up on the api.mch host by its channel, refunded by Ksher's order number.
			const calls = h.sim.requests.filter((r) => r.params.mch_order_no === orderNumber);
			expect(calls.at(-1)).toMatchObject({
				endpoint: 'order_query',
				params: { mch_order_no: orderNumber, channel: qrChannel },
			});
			const sent = h.sim.requests.find(
				(r) => r.endpoint === 'order_refund' && r.params.mch_refund_no === `${orderNumber}-Q5000`,
			);
			expect(sent?.params).toMatchObject({
				ksher_order_no: h.sim.order(orderNumber)!.ksher_order_no,
				total_fee: '15050',
				refund_fee: '5000',
				fee_type: 'THB',
			});
			const again = await runNode(h, refund(orderNumber, { qrChannel }));
			expect(again.status).toBe('success');
			expect(again.items[0]).toMatchObject({ orderNumber, alreadyRefunded: true });
			expect(sentRefunds(orderNumber)).toEqual([[`${orderNumber}-Q5000`, 5000]]);
		},
	);

	it('a QR order refunded as a payment link (the default), unpaid, or with an unreadable Payment Type moves nothing', async () => {
		const paid = await paidQr();
		const refundCalls = () => h.sim.requests.filter((r) => r.endpoint === 'order_refund').length;
		const before = refundCalls();
		const asLink = await runNode(h, { ...refund(paid), paymentType: 'link' });
		expect(asLink.status).toBe('error');
		expect(asLink.error?.message).toMatch(/ORDER_NOT_EXIST|Order Number/);

		const unpaid = uniqueOrderNo('U');
		await runNode(h, qrParams(unpaid));
		const early = await runNode(h, refund(unpaid));
		expect(early.error?.message).toMatch(
			new RegExp(`^Order Number ${unpaid} cannot be refunded: the payment is not paid yet`),
		);

		const odd = await runNode(h, refund(paid, { paymentType: '={{ "" }}' }));
		expect(odd.error?.message).toMatch(
			new RegExp(`^Payment Type is empty for order ${paid} \\(row 1\\)`),
		);
		const wrongChannel = await runNode(h, refund(paid, { qrChannel: 'truemoney' }));
		expect(wrongChannel.status).toBe('error');

		expect(wrongChannel.error?.message).toMatch(/QR payment lookup failed.*is a promptpay order/);
		expect(refundCalls()).toBe(before);
		expect(sentRefunds(paid)).toEqual([]);
		expect(sentRefunds(unpaid)).toEqual([]);
	});

	it('Refund → Get Many lists a QR order’s refunds (TrueMoney), and says why not for PromptPay', async () => {
		const orderNumber = await paidQr('truemoney');
		await runNode(h, refund(orderNumber, { qrChannel: 'truemoney' }));
		const list = await runNode(h, {
			resource: 'refund',
			operation: 'getAll',
			orderNumber,
			paymentType: 'qr',
			qrChannel: 'truemoney',
		});
		expect(list.items).toEqual([
			expect.objectContaining({
				orderNumber,
				refundNumber: `${orderNumber}-Q5000`,
				refundAmount: '50.00',
			}),
		]);
		const promptpay = await paidQr();
		const refused = await runNode(h, {
			resource: 'refund',
			operation: 'getAll',
			orderNumber: promptpay,
			paymentType: 'qr',
		});
		expect(refused.error?.message).toMatch(/Ksher cannot list the refunds of Order Number/);
	});

	it('Watch for Changes (Payment Type: QR Code) follows Create QR’s watchState: paid, then a refund made at the portal, each once', async () => {
		const orderNumber = uniqueOrderNo('W');
		const created = await runNode(h, qrParams(orderNumber, { qrChannel: 'truemoney' }));
		let state = String(created.items[0].watchState);
		const watch = async () => {
			const run = await runNode(h, {
				resource: 'payment',
				operation: 'watch',
				orderNumber,
				lookUpAs: 'qr',
				qrChannel: 'truemoney',
				watchState: state,
			});
			expect(run.status).toBe('success');
			for (const item of run.items) {
				expect(item.previousWatchState).toBe(state);
				state = String(item.watchState);
			}
			return run.items.map((i) => [i.event, i.refundAmount ?? null]);
		};
		expect(await watch()).toEqual([]);
		await h.control('/pay', { mch_order_no: orderNumber });
		expect(await watch()).toEqual([['paid', null]]);
		expect(await watch()).toEqual([]);
		expect(
			(await h.control('/refund', { mch_order_no: orderNumber, refund_fee: 2000 })).status,
		).toBe(200);
		expect(await watch()).toEqual([['refunded', '20.00']]);
		expect(await watch()).toEqual([]);
	});

	it('Watch for Changes, Payment Type Either, over a table of both kinds (the watch example): each order found by its own kind', async () => {
		const qr = uniqueOrderNo('E');
		await runNode(h, qrParams(qr));
		await h.control('/pay', { mch_order_no: qr });
		const { orderNo: link } = await h.createOrder({ channel_list: 'promptpay,truemoney' });
		await h.payOrder(link, 'promptpay');
		const rows = [
			{ orderNumber: link, channel: 'promptpay', watchState: '' },
			{ orderNumber: qr, channel: 'promptpay', watchState: '' },
			// A row with no channel looks for a payment link only: a QR order is then not found.
			{ orderNumber: qr, channel: '', watchState: '' },
		];
		const run = await runNode(
			h,
			{
				resource: 'payment',
				operation: 'watch',
				orderNumber: '={{ $json.orderNumber }}',
				lookUpAs: 'either',
				qrChannel: '={{ $json.channel }}',
				watchState: '={{ $json.watchState }}',
			},
			{ rows, continueOnFail: true },
		);
		expect(
			run.items.map((i) => [i.orderNumber, i.event ?? null, i.error ? 'error' : 'ok']),
		).toEqual([
			[link, 'paid', 'ok'],
			[qr, 'paid', 'ok'],
			[qr, null, 'error'],
		]);
		expect(run.items[2].error).toMatch(/ORDER_NOT_EXIST|Ksher has no payment/);
		// Either is for reading: an expression giving it to Refund → Create is an error, nothing sent.
		const refund = await runNode(h, {
			resource: 'refund',
			operation: 'create',
			orderNumber: qr,
			paymentType: '={{ "either" }}',
			refundAmount: '1.00',
		});
		expect(refund.error?.message).toMatch(/^Payment Type is "either"/);
		expect(h.sim.order(qr)!.refunds).toEqual([]);
	});
});
