import { callName, KsherTransportError } from '../../nodes/protocol';
import { runNode } from '../helpers/node';
import { startHarness, type SimulatorHarness } from '../helpers/simulator';
import { recordFigure } from './figures';
import { guardUnhandledRejections } from './guard';
import { simulatorClient } from '../simulator/client';

/** Faults survived: every transport fault is a clear typed error that says whether the operation may have happened. */
guardUnhandledRejections('faults');

let h: SimulatorHarness;
beforeAll(async () => {
	h = await startHarness();
});
afterAll(() => h.sim.close());

const FAULTS: Array<{ type: string; ms?: number; failure: string }> = [
	{ type: 'latency', ms: 800, failure: 'timeout' },
	{ type: 'reset', failure: 'connection' },
	{ type: 'http500', failure: 'http-status' },
	{ type: 'nonjson', failure: 'not-json' },
	{ type: 'empty', failure: 'not-json' },
	{ type: 'nonce', failure: 'nonce-mismatch' },
	{ type: 'tampered', failure: 'signature' },
	{ type: 'nosign', failure: 'signature' },
	{ type: 'wrongkey', failure: 'signature' },
];
const ENDPOINTS = [
	{ endpoint: 'gateway_pay', mutating: true },
	{ endpoint: 'gateway_order_query', mutating: false },
	{ endpoint: 'cancel_order', mutating: true },
	{ endpoint: 'order_refund', mutating: true },
	{ endpoint: 'refund_query', mutating: false },
	{ endpoint: 'merchant_info', mutating: false },
];

it('every fault on every endpoint becomes a typed error that says whether Ksher may have acted', async () => {
	const client = simulatorClient(h.sim.info, { timeoutMs: 300 });
	const { orderNo } = await h.createOrder();
	await h.payOrder(orderNo);
	const payNo = h.sim.order(orderNo)!.pay_mch_order_no;
	const params: Record<string, Record<string, unknown>> = {
		gateway_pay: {
			mch_order_no: 'F-NEW',
			total_fee: 100,
			fee_type: 'THB',
			channel_list: 'promptpay',
			mch_code: 'f',
			mch_redirect_url: 'https://x.example',
			mch_redirect_url_fail: 'https://x.example',
			product_name: 'f',
			refer_url: 'https://x.example',
		},
		gateway_order_query: { mch_order_no: orderNo },
		cancel_order: { mch_order_no: orderNo },
		order_refund: {
			mch_order_no: payNo,
			total_fee: 15050,
			fee_type: 'THB',
			refund_fee: 1,
			mch_refund_no: 'F-R',
		},
		refund_query: { mch_order_no: payNo },
		merchant_info: {},
	};
	const unclear: string[] = [];
	let cases = 0;
	for (const fault of FAULTS) {
		for (const { endpoint, mutating } of ENDPOINTS) {
			await h.control('/faults', { type: fault.type, ms: fault.ms, endpoint, stage: 'before' });
			params.gateway_pay.mch_order_no = `F-${cases}`;
			params.order_refund.mch_refund_no = `F-R${cases}`;
			const error = await client.call(endpoint, params[endpoint]).then(
				() => undefined,
				(e: unknown) => e,
			);
			cases++;
			const typed = error instanceof KsherTransportError ? error : undefined;
			// Only Ksher's answer can tell whether a money-moving call happened; without one the error must say it may have.
			const ok =
				typed !== undefined &&
				typed.failure === fault.failure &&
				typed.mayHaveSucceeded === mutating &&
				typed.endpoint === endpoint &&
				// Named as the user knows the call ("the refund"), not by Ksher's endpoint.
				typed.message.includes(callName(endpoint)) &&
				typed.solution.length > 20;
			if (!ok)
				unclear.push(
					`${fault.type} on ${endpoint}: ${error instanceof Error ? `${error.name} ${error.message}` : 'no error'}`,
				);
			await h.control('/reset', {});
			await h.createOrder({ mch_order_no: orderNo }).catch(() => undefined);
		}
	}
	recordFigure(
		'Faults survived',
		cases - unclear.length,
		`of ${cases} (${FAULTS.length} fault types × ${ENDPOINTS.length} endpoints) became typed errors saying whether Ksher may have acted`,
	);
	expect(unclear).toEqual([]);
});

it('through the node, a fault on a money-moving call tells the user it may have happened', async () => {
	const { orderNo } = await h.createOrder();
	await h.control('/faults', { type: 'latency', ms: 1500, endpoint: 'cancel_order' });
	const result = await runNode(
		h,
		{ resource: 'payment', operation: 'cancel', orderNumber: orderNo, options: { timeout: 1 } },
		{ continueOnFail: true },
	);
	expect(result.items[0]).toMatchObject({
		mayHaveSucceeded: true,
		code: 'TRANSPORT_TIMEOUT',
		error: expect.stringMatching(/may or may not have processed it/),
	});
	await h.control('/faults', { type: 'empty', endpoint: 'gateway_order_query' });
	const query = await runNode(
		h,
		{ resource: 'payment', operation: 'get', orderNumber: orderNo },
		{ continueOnFail: true },
	);
	expect(query.items[0]).toMatchObject({ mayHaveSucceeded: false, code: 'TRANSPORT_NOT_JSON' });
});
