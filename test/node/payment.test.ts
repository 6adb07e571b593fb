import { createParams, runNode, simulatorCredentials } from '../helpers/node';
import { startScriptedServer } from '../helpers/scriptedServer';
import { startHarness, uniqueOrderNo, type SimulatorHarness } from '../helpers/simulator';

let h: SimulatorHarness;
beforeAll(async () => {
	h = await startHarness();
});
afterAll(() => h.sim.close());

describe('Payment → Create', () => {
	it('returns the checkout link and sends exactly what was typed, converted for Ksher', async () => {
		const orderNumber = uniqueOrderNo('C');
		const result = await runNode(
			h,
			createParams(orderNumber, {
				amount: '1234.56',
				notifyUrl: 'https://n8n.example/webhook/abc/webhook?x=1&y=2',
				additionalFields: {
					attach: '{"row":7}',
					language: 'th',
					device: 'H5',
					expiresAfter: 30,
					memberId: 'cust-42',
					displayOrderCode: '#1001',
					logoUrl: 'https://shop.example/logo.png',
					shopName: 'ร้านทดสอบ',
					color: '#FE6200',
					buttonColor: '#00AA00',
					footerText: 'Thanks',
					showExpiryTime: false,
					showFooter: true,
				},
			}),
		);
		expect(result.status).toBe('success');
		expect(result.items).toEqual([
			{
				orderNumber,
				paymentUrl: expect.stringContaining('/page?order_uuid='),
				amount: '1234.56',
				currency: 'THB',
				channels: ['promptpay', 'card'],
				// Stored with the order, Payment → Watch for Changes starts from "created, unpaid, now".
				watchState: expect.stringMatching(
					/^\{"v":1,"since":"\d{4}-\d\d-\d\dT[\d:.]+Z","status":"pending","refunds":\[\]\}$/,
				),
			},
		]);
		expect(result.pairedItems).toEqual([{ item: 0 }]);
		const sent = h.sim.requests.filter(
			(r) => r.endpoint === 'gateway_pay' && r.params.mch_order_no === orderNumber,
		)[0].params;
		expect(sent).toMatchObject({
			total_fee: '123456',
			fee_type: 'THB',
			channel_list: 'promptpay,card',
			mch_code: '#1001',
			product_name: 'Test product',
			mch_redirect_url: 'https://shop.example/ok',
			mch_redirect_url_fail: 'https://shop.example/ok',
			mch_notify_url: 'https://n8n.example/webhook/abc/webhook?x=1&y=2',
			refer_url: 'https://shop.example',
			attach: '{"row":7}',
			lang: 'th',
			device: 'H5',
			expire_time: '30',
			member_id: 'cust-42',
			logo: 'https://shop.example/logo.png',
			shop_name: 'ร้านทดสอบ',
			color: '#FE6200',
			payment_color: '#00AA00',
			ksher_explain: 'Thanks',
			hide_exp_time: '0',
			hide_explain: '1',
		});
		const page = await (await fetch(result.items[0].paymentUrl as string)).text();
		expect(page).toContain('1234.56 THB');
	});

	it('sends an attach object from an expression as compact JSON, and instalment plans as Ksher expects', async () => {
		const orderNumber = uniqueOrderNo('I');
		const result = await runNode(
			h,
			createParams(orderNumber, {
				amount: '={{ $json.total }}',
				channels: ['ktc_instal', 'kbank_instal', 'card'],
				additionalFields: {
					attach: '={{ $json.meta }}',
					instalmentMonths: {
						plans: [
							{ channel: 'ktc_instal', months: '10, 3,6' },
							{ channel: 'kbank_instal', months: '3' },
						],
					},
					instalmentFeePayer: 'merchant',
				},
			}),
			{ rows: [{ total: 3000, meta: { b: 1, a: 'x' } }] },
		);
		expect(result.status).toBe('success');
		const sent = h.sim.requests.filter((r) => r.params.mch_order_no === orderNumber)[0].params;
		expect(sent.total_fee).toBe('300000');
		expect(sent.attach).toBe('{"a":"x","b":1}');
		expect(sent.channel_instal_times_list).toBe('{"ktc_instal":[3,6,10],"kbank_instal":[3]}');
		expect(sent.instal_fee_payer_merchant_channel_list).toBe('ktc_instal,kbank_instal');
	});

	it.each([
		[{ amount: '={{ "" }}' }, /Amount is empty/, 'Amount'],
		[{ amount: '0' }, /greater than zero/, 'Amount'],
		[{ amount: '-5' }, /negative/, 'Amount'],
		[{ amount: '1.005' }, /more than 2 decimals/, 'Amount'],
		[{ amount: '1,000.00' }, /comma/, 'Amount'],
		[{ amount: '1e3' }, /exponent/, 'Amount'],
		[{ amount: '10.5', currency: 'JPY' }, /no minor unit/, 'Amount'],
		[{ channels: '={{ [] }}' }, /No payment channel/, 'Channels'],
		[{ channels: '={{ ["promptpay", "bitcoin"] }}' }, /Unknown channel\(s\): bitcoin/, 'Channels'],
		[{ channels: ['atome'], amount: '19.99' }, /Atome needs at least 20.00 THB/, 'Channels'],
		[
			{ channels: ['kplus', 'promptpay'], amount: '5' },
			/K PLUS needs at least 20.00 THB/,
			'Channels',
		],
		[
			{ channels: ['kbank_instal'], amount: '2999.99' },
			/KBank Instalment needs at least 3000.00 THB/,
			'Channels',
		],
		[
			{ successRedirectUrl: 'shop.example/ok' },
			/Success Redirect URL "shop.example\/ok" is not an absolute http\(s\) URL/,
			'Success Redirect URL',
		],
		[{ successRedirectUrl: '={{ "" }}' }, /Success Redirect URL is empty/, 'Success Redirect URL'],
		[{ failureRedirectUrl: 'javascript:alert(1)' }, /Failure Redirect URL/, 'Failure Redirect URL'],
		[{ notifyUrl: 'ftp://x.example/hook' }, /Notify URL/, 'Notify URL'],
		[
			{ orderNumber: 'x'.repeat(33) },
			/33 characters long; Ksher allows at most 32/,
			'Order Number',
		],
		[{ orderNumber: '={{ "" }}' }, /Order Number is empty/, 'Order Number'],
		[{ orderNumber: 'INV 1001' }, /contains spaces/, 'Order Number'],
		[{ productName: ' ' }, /Product Name is empty/, 'Product Name'],
		[{ additionalFields: { memberId: '12345' } }, /only digits/, 'Member ID'],
		[{ additionalFields: { memberId: 'm'.repeat(33) } }, /at most 32/, 'Member ID'],
		[
			{
				additionalFields: {
					instalmentMonths: { plans: [{ channel: 'ktc_instal', months: 'three' }] },
				},
			},
			/must be whole numbers/,
			'Instalment Months',
		],
		[{ additionalFields: { expiresAfter: 1.5 } }, /whole number of minutes/, 'Expires After'],
	])('refuses %p before calling Ksher', async (overrides, message, field) => {
		const before = h.sim.requests.length;
		const result = await runNode(h, { ...createParams(uniqueOrderNo('V')), ...overrides });
		expect(result.status).toBe('error');
		expect(result.error?.name).toBe('NodeOperationError');
		expect(result.error?.message).toMatch(message);
		expect(result.error?.message).toMatch(/\[item 0\]$/);
		expect(result.error?.itemIndex).toBe(0);
		expect(result.error?.message.startsWith(field) || result.error?.message.includes(field)).toBe(
			true,
		);
		expect(result.error?.description).toBeTruthy();
		expect(h.sim.requests.length).toBe(before);
	});

	it("turns Ksher's duplicate-order refusal into an API error with its solution", async () => {
		const orderNumber = uniqueOrderNo('D');
		await runNode(h, createParams(orderNumber));
		const again = await runNode(h, createParams(orderNumber));
		expect(again.status).toBe('error');
		expect(again.error?.name).toBe('NodeApiError');
		// In the user's words (the operation, their order number), each thing said once.
		expect(again.error?.message).toBe(
			`Create Payment failed for order ${orderNumber}: This order number was already used for another payment [KSHER_DUPLICATED_ORDERNO] [item 0]`,
		);
		expect(again.error?.description).toMatch(/^Every payment link needs its own order number/);
		const tolerant = await runNode(h, createParams(orderNumber), { continueOnFail: true });
		expect(tolerant.items[0]).toMatchObject({
			orderNumber,
			error: `Create Payment failed for order ${orderNumber}: This order number was already used for another payment [KSHER_DUPLICATED_ORDERNO]`,
			code: 'KSHER_DUPLICATED_ORDERNO',
		});
	});
});

describe('Payment → Create behind a redirect', () => {
	it('never follows a redirect with the signed body: the request stops with an error that names the status', async () => {
		// A 307 would make an HTTP client re-send the signed POST to wherever Location points.
		const redirector = await startScriptedServer();
		try {
			redirector.handle(
				(_req, _body, res) =>
					void res.writeHead(307, { location: `${h.sim.info.gatewayUrl}/gateway_pay` }).end(),
			);
			const orderNumber = uniqueOrderNo('R');
			const result = await runNode(h, createParams(orderNumber), {
				credentials: simulatorCredentials(h, { gatewayUrl: `${redirector.url}/api` }),
			});
			expect(result.status).toBe('error');
			expect(result.error?.message).toMatch(/HTTP 307/);
			expect(redirector.requests).toHaveLength(1);
			expect(h.sim.requests.filter((r) => r.params.mch_order_no === orderNumber)).toEqual([]);
		} finally {
			await redirector.close();
		}
	});
});

describe('Payment → Get and Cancel', () => {
	it('reports pending, paid (with channel, time and attach), closed and refunded', async () => {
		const { orderNo } = await h.createOrder({ attach: '{"customer":42}' });
		const pending = await runNode(h, {
			resource: 'payment',
			operation: 'get',
			orderNumber: orderNo,
		});
		expect(pending.items[0]).toMatchObject({
			orderNumber: orderNo,
			status: 'pending',
			result: 'NOTSURE',
			amount: '150.50',
			currency: 'THB',
			channel: null,
			paidAt: null,
			ksherOrderNumber: null,
		});
		await h.payOrder(orderNo, 'truemoney');
		const paid = await runNode(h, { resource: 'payment', operation: 'get', orderNumber: orderNo });
		expect(paid.items[0]).toMatchObject({
			status: 'paid',
			result: 'SUCCESS',
			channel: 'truemoney',
			attach: { customer: 42 },
		});
		expect(paid.items[0].paidAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$/);
		expect(paid.items[0].ksherOrderNumber).toMatch(/^700\d{20}$/);
		expect(paid.items[0].payOrderNumber).toMatch(/^\d{16}$/);
		expect(paid.items[0].raw).toBeUndefined();
		const raw = await runNode(h, {
			resource: 'payment',
			operation: 'get',
			orderNumber: orderNo,
			simplify: false,
		});
		expect(raw.items[0].raw).toMatchObject({ result: 'SUCCESS', total_fee: 15050 });

		const closed = await h.createOrder();
		const cancelled = await runNode(h, {
			resource: 'payment',
			operation: 'cancel',
			orderNumber: closed.orderNo,
		});
		expect(cancelled.items).toEqual([{ orderNumber: closed.orderNo, cancelled: true }]);
		const after = await runNode(h, {
			resource: 'payment',
			operation: 'get',
			orderNumber: closed.orderNo,
		});
		expect(after.items[0]).toMatchObject({ status: 'closed', result: 'CLOSED' });
	});

	it.each([
		['ORDER_NOT_EXIST', async () => 'never-created'],
		[
			'ORDER_ALREADY_PAY_OPERATION_CANNOT_BE_PERFORMED',
			async () => {
				const { orderNo } = await h.createOrder();
				await h.payOrder(orderNo);
				return orderNo;
			},
		],
		[
			'CANCEL_ERROR',
			async () => {
				const { orderNo } = await h.createOrder();
				await h.control('/card-in-progress', { mch_order_no: orderNo });
				return orderNo;
			},
		],
		[
			'ORDER_ALREADY_CANCEL',
			async () => {
				const { orderNo } = await h.createOrder();
				await h.client.call('cancel_order', { mch_order_no: orderNo });
				return orderNo;
			},
		],
	])("cancel: Ksher's %s becomes a clear API error", async (code, prepare) => {
		const orderNumber = await prepare();
		const result = await runNode(h, { resource: 'payment', operation: 'cancel', orderNumber });
		expect(result.status).toBe('error');
		expect(result.error?.name).toBe('NodeApiError');
		expect(result.error?.message).toContain(`[${code}]`);
	});

	it('rejects tampered, unsigned and wrongly signed answers instead of using them', async () => {
		const { orderNo } = await h.createOrder();
		await h.payOrder(orderNo);
		for (const type of ['tampered', 'nosign', 'wrongkey']) {
			await h.control('/faults', { type, endpoint: 'gateway_order_query' });
			const result = await runNode(h, {
				resource: 'payment',
				operation: 'get',
				orderNumber: orderNo,
			});
			expect(result.status).toBe('error');
			expect(result.error?.message).toMatch(/response signature invalid/);
			expect(result.items).toEqual([]);
		}
	});

	it('Continue On Fail: one output per input, errors carry code and solution, the run goes on', async () => {
		const good = await h.createOrder();
		const rows = [
			{ no: good.orderNo },
			{ no: 'does-not-exist' },
			{ no: 'has space' },
			{ no: good.orderNo },
		];
		const result = await runNode(
			h,
			{ resource: 'payment', operation: 'get', orderNumber: '={{ $json.no }}' },
			{ rows, continueOnFail: true },
		);
		expect(result.status).toBe('success');
		expect(result.items).toHaveLength(4);
		expect(result.pairedItems).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }, { item: 3 }]);
		expect(result.items[0]).toMatchObject({ orderNumber: good.orderNo, status: 'pending' });
		expect(result.items[1]).toMatchObject({
			orderNumber: 'does-not-exist',
			code: 'ORDER_NOT_EXIST',
			error: expect.stringContaining('Ksher has no payment with this order number'),
			solution: expect.any(String),
		});
		expect(result.items[2]).toMatchObject({
			orderNumber: 'has space',
			field: 'Order Number',
			error: expect.stringContaining('contains spaces'),
			solution: expect.any(String),
		});
		expect(result.items[3]).toMatchObject({ orderNumber: good.orderNo, status: 'pending' });
	});

	it('a 100-item batch runs with bounded concurrency and keeps the input order', async () => {
		const orders = await Promise.all(Array.from({ length: 10 }, () => h.createOrder()));
		const rows = Array.from({ length: 100 }, (_, i) => ({ no: orders[i % 10].orderNo }));
		await h.control('/faults', {
			type: 'latency',
			ms: 20,
			count: 100,
			endpoint: 'gateway_order_query',
		});
		const before = h.sim.requests.length;
		h.sim.stats.peakInFlight = 0;
		const result = await runNode(
			h,
			{
				resource: 'payment',
				operation: 'get',
				orderNumber: '={{ $json.no }}',
				options: { concurrency: 8 },
			},
			{ rows },
		);
		expect(result.status).toBe('success');
		expect(result.items.map((i) => i.orderNumber)).toEqual(rows.map((r) => r.no));
		expect(result.pairedItems).toEqual(rows.map((_, i) => ({ item: i })));
		expect(h.sim.requests.length - before).toBe(100);
		expect(h.sim.stats.peakInFlight).toBe(8);
	});

	it('never has more requests in flight than the concurrency option allows', async () => {
		const { orderNo } = await h.createOrder();
		const rows = Array.from({ length: 40 }, () => ({ no: orderNo }));
		for (const concurrency of [1, 3, 8]) {
			await h.control('/faults', {
				type: 'latency',
				ms: 15,
				count: -1,
				endpoint: 'gateway_order_query',
			});
			h.sim.stats.peakInFlight = 0;
			const result = await runNode(
				h,
				{
					resource: 'payment',
					operation: 'get',
					orderNumber: '={{ $json.no }}',
					options: { concurrency },
				},
				{ rows },
			);
			const peak = h.sim.stats.peakInFlight;
			await h.control('/reset', {});
			await h.createOrder({ mch_order_no: orderNo });
			expect(result.items).toHaveLength(40);
			expect(peak).toBe(concurrency);
		}
	});
});
