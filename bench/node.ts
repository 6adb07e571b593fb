import { DEFAULT_CONCURRENCY } from '../nodes/Ksher/Ksher.node.ts';
import { KsherClient } from '../nodes/protocol';
import { runKsherNode } from '../test/helpers/n8n';
import type { SimulatorInfo } from '../test/simulator/server';
import { control, startSimulatorProcess } from './simulatorProcess';

type Note = (name: string, value: number, unit: string, goal?: string) => void;

function credentials(sim: { info: SimulatorInfo }) {
	return { appId: sim.info.appid, privateKey: sim.info.merchantPrivateKey, signVersion: 'V1', ksherPublicKey: sim.info.ksherPublicKey, environment: 'custom', gatewayUrl: sim.info.gatewayUrl, apiUrl: sim.info.apiUrl };
}

async function paidOrders(sim: { info: SimulatorInfo }, prefix: string, count: number): Promise<string[]> {
	const client = new KsherClient({ appId: sim.info.appid, privateKey: sim.info.merchantPrivateKey, ksherPublicKey: sim.info.ksherPublicKey, gatewayUrl: sim.info.gatewayUrl, apiUrl: sim.info.apiUrl });
	const numbers = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
	for (const no of numbers) {
		await client.call('gateway_pay', { mch_order_no: no, total_fee: 10000, fee_type: 'THB', channel_list: 'promptpay', mch_code: no, mch_redirect_url: 'https://x.example', mch_redirect_url_fail: 'https://x.example', product_name: 'bench', refer_url: 'https://x.example' });
		await control(sim.info, '/pay', { mch_order_no: no, channel: 'promptpay' });
	}
	return numbers;
}


/**
 * Refund Create over 1,000 items through n8n's WorkflowExecute, with 50 ms added to each
 * order_refund call (the one call per item that moves money), at concurrency 1, the
 * node's default and 8; and Get Payment over 1,000 items with no added latency.
 */
export async function nodeFigures(note: Note, progress: (l: string) => void, quick: boolean): Promise<void> {
	const sim = await startSimulatorProcess();
	const items = quick ? 100 : 1000;
	const latencyMs = 50;
	try {
		const seconds: Record<string, number> = {};
		for (const concurrency of [1, DEFAULT_CONCURRENCY, 8]) {
			const orders = await paidOrders(sim, `B${concurrency}`, items);
			await control(sim.info, '/faults', { type: 'latency', ms: latencyMs, count: -1, endpoint: 'order_refund', stage: 'before' });
			progress(`node: ${items} Refund Create items at concurrency ${concurrency}`);
			const started = process.hrtime.bigint();
			const result = await runKsherNode({
				credentials: credentials(sim),
				parameters: { resource: 'refund', operation: 'create', orderNumber: '={{ $json.no }}', amount: '10', options: { concurrency } },
				items: orders.map((no) => ({ no })),
			});
			seconds[concurrency] = Number(process.hrtime.bigint() - started) / 1e9;
			await control(sim.info, '/reset');
			if (result.status !== 'success' || result.items.length !== items) throw new Error(`batch failed: ${result.error?.message}`);
		}
		const ideal = (c: number) => (items * latencyMs) / 1000 / c;
		note('batch_1000_seconds_c1', seconds[1], 's');
		note(`batch_1000_seconds_c${DEFAULT_CONCURRENCY}`, seconds[DEFAULT_CONCURRENCY], 's', '(node default)');
		note('batch_1000_seconds_c8', seconds[8], 's');
		note(`batch_1000_efficiency_c${DEFAULT_CONCURRENCY}`, ideal(DEFAULT_CONCURRENCY) / seconds[DEFAULT_CONCURRENCY], '', '(node default)');
		note('batch_1000_efficiency', ideal(8) / seconds[8], '', '≥ 0.8 at concurrency 8');

		const orders = await paidOrders(sim, 'G', 10);
		const rows = Array.from({ length: items }, (_, i) => ({ no: orders[i % orders.length] }));
		const runs: number[] = [];
		for (let r = 0; r < 3; r++) {
			const started = process.hrtime.bigint();
			const result = await runKsherNode({ credentials: credentials(sim), parameters: { resource: 'payment', operation: 'get', orderNumber: '={{ $json.no }}' }, items: rows });
			runs.push(Number(process.hrtime.bigint() - started) / 1e6 / items);
			if (result.status !== 'success') throw new Error(`get batch failed: ${result.error?.message}`);
		}
		runs.sort((a, b) => a - b);
		note('node_overhead_ms_per_item', runs[1], 'ms');
	} finally {
		await sim.stop();
	}
}
