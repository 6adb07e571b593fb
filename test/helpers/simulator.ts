import type { KsherClient } from '../../nodes/protocol';
import { simulatorClient } from '../simulator/client';
import { startSimulator, type Simulator, type SimulatorOptions } from '../simulator/server';

export interface SimulatorHarness {
	sim: Simulator;
	client: KsherClient;
	control: <T = Record<string, unknown>>(
		path: string,
		body?: unknown,
	) => Promise<{ status: number; body: T }>;
	createOrder: (
		overrides?: Record<string, unknown>,
	) => Promise<{ orderNo: string; payUrl: string }>;
	payOrder: (orderNo: string, channel?: string) => Promise<void>;
	/** Refunds of 0.01 each made at Ksher's portal under these numbers, 50 at a time. */
	refundAtPortal: (orderNo: string, numbers: string[]) => Promise<void>;
}

let counter = 0;
export function uniqueOrderNo(prefix = 'T'): string {
	counter += 1;
	return `${prefix}${Date.now().toString(36)}${counter}`.slice(0, 32);
}

export async function startHarness(options: SimulatorOptions = {}): Promise<SimulatorHarness> {
	const sim = await startSimulator(options);
	const client = simulatorClient(sim.info, { timeoutMs: 5000 });
	const control: SimulatorHarness['control'] = async (path, body) => {
		const response = await fetch(`${sim.info.controlUrl}${path}`, {
			method: body === undefined ? 'GET' : 'POST',
			headers: { 'content-type': 'application/json' },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		return { status: response.status, body: (await response.json()) as never };
	};
	const createOrder: SimulatorHarness['createOrder'] = async (overrides = {}) => {
		const orderNo = (overrides.mch_order_no as string) ?? uniqueOrderNo();
		const { data } = await client.call('gateway_pay', {
			mch_order_no: orderNo,
			total_fee: 15050,
			fee_type: 'THB',
			channel_list: 'promptpay,card,truemoney',
			mch_code: orderNo,
			mch_redirect_url: 'https://shop.example/ok',
			mch_redirect_url_fail: 'https://shop.example/fail',
			product_name: 'Test product',
			refer_url: 'https://shop.example',
			...overrides,
		});
		return { orderNo, payUrl: String(data.pay_content) };
	};
	// TrueMoney: Ksher can list its refunds (not PromptPay's or Alipay's), which most refund tests need.
	const payOrder: SimulatorHarness['payOrder'] = async (orderNo, channel = 'truemoney') => {
		const { status, body } = await control('/pay', { mch_order_no: orderNo, channel });
		if (status !== 200) throw new Error(`pay failed: ${JSON.stringify(body)}`);
	};
	const refundAtPortal: SimulatorHarness['refundAtPortal'] = async (orderNo, numbers) => {
		for (let i = 0; i < numbers.length; i += 50) {
			const answers = await Promise.all(
				numbers
					.slice(i, i + 50)
					.map((mch_refund_no) =>
						control('/refund', { mch_order_no: orderNo, refund_fee: 1, mch_refund_no }),
					),
			);
			const refused = answers.find((a) => a.status !== 200);
			if (refused) throw new Error(`portal refund refused: ${JSON.stringify(refused.body)}`);
		}
	};
	return { sim, client, control, createOrder, payOrder, refundAtPortal };
}
