import vectorsFile from '../fixtures/vectors.json';
import { makeKeyPair } from '../helpers/keys';
import { createParams, runNode, simulatorCredentials } from '../helpers/node';
import { waitFor } from '../helpers/receiver';
import { ksherTime } from '../simulator/state';
import { fakeDate, payFreshOrder, triggerSuite } from '../helpers/trigger';
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';
import { KSHER_ACK as ACK } from '../simulator/notifications';

const suite = triggerSuite();
const { trigger } = suite;

/** A genuine card payment's notification for a fresh simulator order, as Ksher sends it. */
const genuinePaid = () =>
	payFreshOrder(suite.h, {
		create: { attach: '{"row":3}' },
		channel: 'card',
		fields: (order) => ({
			attach: '{"row":3}',
			channel: 'card',
			channel_order_no: `4200${order.pay_mch_order_no}`,
		}),
	});

describe('Ksher Trigger: genuine notifications', () => {
	it('answers exactly {"result":"SUCCESS","msg":"OK"} and emits one Payment Paid item', async () => {
		const t = await trigger();
		const { orderNo, body, data } = await genuinePaid();
		const answer = await t.post(body);
		expect(answer).toEqual({ status: 200, body: ACK });
		expect(t.emitted).toEqual([
			{
				event: 'paid',
				orderNumber: orderNo,
				amount: '150.50',
				currency: 'THB',
				channel: 'card',
				channelName: 'Credit/Debit Card',
				paidAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$/),
				ksherOrderNumber: data.ksher_order_no,
				payOrderNumber: data.pay_mch_order_no,
				attach: { row: 3 },
				dedupeKey: `${suite.h.sim.info.appid}|${orderNo}|paid|`,
				// Watching for refunds starts at Ksher's payment time, and this payment counts as reported.
				watchState: JSON.stringify({
					v: 1,
					since: new Date(String(t.emitted[0]?.paidAt)).toISOString(),
					status: 'paid',
					refunds: [],
				}),
				raw: data,
			},
		]);
	});

	it('accepts the S4 vector with the example key configured as the Ksher public key', async () => {
		const keys = vectorsFile.keys;
		const s4 = vectorsFile.vectors.find((v) => v.id === 'S4')!;
		const t = await trigger({
			credentials: {
				appId: 'mch35005',
				privateKey: '',
				signVersion: 'V1',
				ksherPublicKey: keys.example_public,
				environment: 'production',
			},
		});
		// S4 was paid on 2024-01-01: delivered then (the clock set to an hour later), not years later,
		// which the replay window refuses (see "the replay window" below).
		fakeDate(new Date('2024-01-01T06:06:00Z'));
		const answer = await t.post(JSON.stringify(s4.body)).finally(() => jest.useRealTimers());
		expect(answer).toEqual({ status: 200, body: ACK });
		expect(t.emitted[0]).toMatchObject({
			event: 'paid',
			orderNumber: 'INV-1001-A',
			amount: '150.50',
			channel: 'promptpay',
			channelName: 'PromptPay',
			paidAt: '2024-01-01T12:06:00+07:00',
			ksherOrderNumber: '70020240101120600000001',
			attach: null,
		});
		// The same body under Ksher's real V1 key is a forgery.
		const v1 = await trigger({
			credentials: {
				appId: 'mch35005',
				privateKey: '',
				signVersion: 'V1',
				ksherPublicKey: '',
				environment: 'production',
			},
		});
		expect((await v1.post(JSON.stringify(s4.body))).status).toBe(401);
		expect(v1.emitted).toEqual([]);
	});

	it('accepts "=" inside values (attach text, URLs), and refuses the same signed text re-shaped into other fields', async () => {
		const t = await trigger();
		const attach = 'ref=A1&back=https://shop.example/?order=1&channel=line';
		const { orderNo, data } = await payFreshOrder(suite.h, {
			fields: (order) => ({ attach, channel_order_no: `4200${order.pay_mch_order_no}` }),
		});
		// mch_order_no=<order> + nonce_str=<nonce> signs the same bytes as mch_order_no=<order>nonce_str=<nonce>.
		const { nonce_str: nonce, ...withoutNonce } = data;
		const folded = { ...withoutNonce, mch_order_no: `${orderNo}nonce_str=${String(nonce)}` };
		const signed = JSON.parse(suite.h.sim.signedNotification(data)) as { sign: string };
		const answer = await t.post(
			JSON.stringify({
				code: 0,
				msg: '操作成功',
				data: folded,
				sign: signed.sign,
				message: '操作成功',
			}),
		);
		expect(answer).toEqual({
			status: 401,
			body: '{"result":"FAIL","msg":"signed fields re-shaped: mch_order_no holds the missing field nonce_str"}',
		});
		expect(t.emitted).toEqual([]);

		expect(await t.post(suite.h.sim.signedNotification(data))).toEqual({ status: 200, body: ACK });
		expect(t.emitted).toHaveLength(1);
		expect(t.emitted[0]).toMatchObject({ event: 'paid', orderNumber: orderNo, attach });
	});

	it('parses the raw body whatever the content type, including application/json', async () => {
		const t = await trigger();
		const a = await genuinePaid();
		const b = await genuinePaid();
		expect((await t.post(a.body, 'application/json')).body).toBe(ACK);
		expect((await t.post(b.body, 'application/x-www-form-urlencoded')).body).toBe(ACK);
		expect(t.emitted.map((i) => i.orderNumber)).toEqual([a.orderNo, b.orderNo]);
	});

	it('works the same in test ("listen for test event") mode', async () => {
		const t = await trigger({ mode: 'manual' });
		const { body } = await genuinePaid();
		expect((await t.post(body)).body).toBe(ACK);
		expect(t.emitted).toHaveLength(1);
	});
});

describe('Ksher Trigger: rejections start no run', () => {
	const otherKsher = makeKeyPair(1024);
	/** A genuine notification's body, `change`d after Ksher signed it. */
	const tampered =
		(change: (env: { data: Record<string, string | number>; sign?: string }) => void) =>
		async () => {
			const env = JSON.parse((await genuinePaid()).body);
			change(env);
			return JSON.stringify(env);
		};

	it.each([
		[
			'forged (valid JSON, wrong signature)',
			401,
			'signature invalid',
			tampered((env) => {
				env.sign = env.sign!.replace(/^./, (c: string) => (c === 'a' ? 'b' : 'a'));
			}),
		],
		[
			'tampered (amount changed)',
			401,
			'signature invalid',
			tampered((env) => {
				env.data.total_fee = 1;
			}),
		],
		[
			'tampered (order number changed)',
			401,
			'signature invalid',
			tampered((env) => {
				env.data.mch_order_no += 'X';
			}),
		],
		[
			'unsigned',
			401,
			'unsigned notification',
			tampered((env) => {
				delete env.sign;
			}),
		],
		[
			'signed with another key',
			401,
			'signature invalid',
			async () => {
				const { data } = await genuinePaid();
				const { createSign } = await import('crypto');
				const { canonicalString } = await import('../../nodes/protocol');
				const sign = createSign('RSA-MD5')
					.update(canonicalString(data), 'utf8')
					.sign(otherKsher.privatePem, 'hex');
				return JSON.stringify({ code: 0, msg: 'x', data, sign });
			},
		],
		[
			'for another merchant',
			401,
			'notification is for another merchant',
			async () => {
				const { data } = await genuinePaid();
				return suite.h.sim.signedNotification({ ...data, appid: 'mch99999' });
			},
		],
		['not JSON', 400, 'body is not a JSON object', async () => 'result=SUCCESS&mch_order_no=1'],
		['empty', 400, 'empty body', async () => ''],
		['a JSON array', 400, 'body is not a JSON object', async () => '[1,2]'],
		['without data', 400, 'no "data" object', async () => JSON.stringify({ code: 0, sign: 'ab' })],
		[
			'oversized',
			400,
			'body too large',
			async () => JSON.stringify({ code: 0, data: { pad: 'x'.repeat(70_000) }, sign: 'ab' }),
		],
	] as Array<[string, number, string, () => Promise<string>]>)(
		'%s → HTTP %d (%s)',
		async (_name, status, reason, makeBody) => {
			const t = await trigger();
			const answer = await t.post(await makeBody());
			expect(answer.status).toBe(status);
			expect(JSON.parse(answer.body)).toEqual({ result: 'FAIL', msg: reason });
			expect(t.emitted).toEqual([]);
			expect(t.deliveries[0].emitted).toEqual([]);
		},
	);
});

describe('Ksher Trigger: misconfiguration', () => {
	it('a broken Ksher Public Key in the credential answers 500 with the reason, so Ksher retries later; nothing runs', async () => {
		const credentials = simulatorCredentials(suite.h, { ksherPublicKey: 'not a key' });
		const t = await trigger({ credentials: credentials as ICredentialDataDecryptedObject });
		const { body } = await genuinePaid();
		const answer = await t.post(body);
		expect(answer.status).toBe(500);
		expect(JSON.parse(answer.body)).toEqual({
			result: 'FAIL',
			msg: expect.stringMatching(/^trigger misconfigured: The Ksher public key could not be read/),
		});
		expect(t.emitted).toEqual([]);
	});
});

describe('Ksher Trigger: duplicates and filters', () => {
	it('a duplicate storm (13 deliveries each, interleaved and concurrent) starts exactly one run per order', async () => {
		const t = await trigger();
		const notifications = await Promise.all(Array.from({ length: 5 }, () => genuinePaid()));
		const storm = notifications.flatMap((n) => Array.from({ length: 13 }, () => n.body));
		storm.sort(() => Math.random() - 0.5);
		const answers = await Promise.all(storm.map((b) => t.post(b)));
		expect(answers.every((a) => a.status === 200 && a.body === ACK)).toBe(true);
		expect(t.emitted.map((i) => i.orderNumber).sort()).toEqual(
			notifications.map((n) => n.orderNo).sort(),
		);
		// Later retries, after the first was processed, are still dropped.
		for (const n of notifications) expect((await t.post(n.body)).body).toBe(ACK);
		expect(t.emitted).toHaveLength(5);
	});

	it('events not selected are acknowledged but start no run; "Any Verified Notification" emits them', async () => {
		const refundsOnly = await trigger({ parameters: { events: ['refunded'] } });
		const paid = await genuinePaid();
		expect((await refundsOnly.post(paid.body)).body).toBe(ACK);
		expect(refundsOnly.emitted).toEqual([]);

		const any = await trigger({ parameters: { events: ['any'] } });
		const weird = suite.h.sim.signedNotification({ ...paid.data, result: 'PAYERROR' });
		expect((await any.post(weird)).body).toBe(ACK);
		expect(any.emitted[0]).toMatchObject({
			event: 'other',
			result: 'PAYERROR',
			orderNumber: paid.orderNo,
		});
		const paidOnly = await trigger({ parameters: { events: ['paid'] } });
		expect((await paidOnly.post(weird)).body).toBe(ACK);
		expect(paidOnly.emitted).toEqual([]);
	});

	it('refund notifications become Payment Refunded events, one per refund number', async () => {
		const t = await trigger();
		const paid = await genuinePaid();
		const refundTime = ksherTime(new Date());
		const refund = (no: string, fee: number) =>
			suite.h.sim.signedNotification({
				...paid.data,
				result: 'REFUND',
				mch_refund_no: no,
				refund_fee: fee,
				refund_time: refundTime,
			});
		await t.post(paid.body);
		await t.post(refund('R1', 5000));
		await t.post(refund('R1', 5000));
		await t.post(refund('R2', 1050));
		expect(t.emitted.map((i) => [i.event, i.refundNumber ?? null, i.refundAmount ?? null])).toEqual(
			[
				['paid', null, null],
				['refunded', 'R1', '50.00'],
				['refunded', 'R2', '10.50'],
			],
		);
		expect(t.emitted[1].refundedAt).toBe(`${refundTime.replace(' ', 'T')}+07:00`);
	});
});

describe('Ksher Trigger: Confirm With Ksher', () => {
	it('confirmed: emits; contradicted: no run and not acknowledged; query failing: Ksher is asked to retry', async () => {
		const t = await trigger({ parameters: { options: { confirmWithKsher: true } } });
		const good = await genuinePaid();
		expect((await t.post(good.body)).body).toBe(ACK);
		expect(t.emitted).toHaveLength(1);

		const { orderNo } = await suite.h.createOrder();
		const unpaid = suite.h.sim.order(orderNo)!;
		const lie = suite.h.sim.signedNotification({
			...good.data,
			mch_order_no: orderNo,
			pay_mch_order_no: unpaid.pay_mch_order_no,
			total_fee: unpaid.total_fee,
		});
		const contradicted = await t.post(lie);
		expect(contradicted.status).toBe(409);
		expect(JSON.parse(contradicted.body).result).toBe('FAIL');
		expect(t.emitted).toHaveLength(1);

		const later = await genuinePaid();
		await suite.h.control('/faults', { type: 'http500', endpoint: 'gateway_order_query' });
		const failing = await t.post(later.body);
		expect(failing.status).toBe(503);
		expect(failing.body).not.toBe(ACK);
		expect(t.emitted).toHaveLength(1);
		// Ksher's retry, once the query works again, is confirmed and emitted once.
		expect((await t.post(later.body)).body).toBe(ACK);
		expect((await t.post(later.body)).body).toBe(ACK);
		expect(t.emitted.map((i) => i.orderNumber)).toEqual([good.orderNo, later.orderNo]);
	});
});

describe("Ksher Trigger: Confirm With Ksher on refunds, under the Refund operations' one lookup rule", () => {
	const refundNotification = (orderNo: string, refundNo: string) => {
		const order = suite.h.sim.order(orderNo)!;
		return suite.h.sim.signedNotification({
			appid: suite.h.sim.info.appid,
			mch_order_no: orderNo,
			pay_mch_order_no: order.pay_mch_order_no,
			ksher_order_no: order.ksher_order_no,
			channel: order.channel,
			fee_type: 'THB',
			total_fee: order.total_fee,
			result: 'REFUND',
			mch_refund_no: refundNo,
			refund_fee: 100,
			// Now: a fixed date here left the replay window 48 hours later, and the refunds were acknowledged unrun.
			refund_time: ksherTime(new Date()),
			nonce_str: 'n',
		});
	};

	it('a listed refund is confirmed; a refund Ksher says does not exist is not; one Ksher cannot list is asked again later', async () => {
		const t = await trigger({
			parameters: { events: ['refunded'], options: { confirmWithKsher: true } },
		});
		const { h } = suite;
		const listed = (await h.createOrder()).orderNo;
		await h.payOrder(listed, 'truemoney');
		await h.control('/refund', {
			mch_order_no: listed,
			refund_fee: 100,
			mch_refund_no: `${listed}-R1`,
		});
		expect((await t.post(refundNotification(listed, `${listed}-R1`))).body).toBe(ACK);
		expect((await t.post(refundNotification(listed, `${listed}-R9`))).status).toBe(409);

		// PromptPay: Ksher refuses to list its refunds. That is "cannot tell yet" (503, retried), as Get Many
		// says "cannot list", not "no such refund" (409) as the trigger's own rule used to decide.
		const qr = (await h.createOrder()).orderNo;
		await h.payOrder(qr, 'promptpay');
		await h.control('/refund', { mch_order_no: qr, refund_fee: 100, mch_refund_no: `${qr}-R1` });
		const unknown = await t.post(refundNotification(qr, `${qr}-R1`));
		expect(unknown.status).toBe(503);
		expect(t.emitted.map((i) => i.refundNumber)).toEqual([`${listed}-R1`]);
	});
});

describe('Ksher Trigger: end to end with the Ksher node and the simulator', () => {
	it('Create Payment with the trigger as Notify URL, pay in the simulator: exactly one Payment Paid event, and Ksher stops retrying', async () => {
		const t = await trigger();
		const orderNumber = `E2E-${Date.now()}`;
		const created = await runNode(
			suite.h,
			createParams(orderNumber, { notifyUrl: t.url, amount: '99.00' }),
		);
		expect(created.status).toBe('success');
		await suite.h.payOrder(orderNumber, 'promptpay');
		await waitFor(() => t.emitted.length === 1, 5000, 'the paid event');
		// The simulator also re-sends it (as Ksher's retries would); still one event.
		await suite.h.control('/notify', { mch_order_no: orderNumber });
		await waitFor(
			() => suite.h.sim.deliveries.filter((d) => d.mch_order_no === orderNumber).length === 2,
			5000,
			'the re-delivery',
		);
		await new Promise((resolve) => setTimeout(resolve, 200));
		expect(t.emitted).toHaveLength(1);
		expect(t.emitted[0]).toMatchObject({
			event: 'paid',
			orderNumber,
			amount: '99.00',
			channel: 'promptpay',
		});
		const attempts = suite.h.sim.deliveries.filter((d) => d.mch_order_no === orderNumber);
		expect(attempts.every((a) => a.acknowledged && a.status === 200)).toBe(true);
	});
});
