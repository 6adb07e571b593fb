import { join } from 'path';

import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
} from 'n8n-workflow';

import { n8nTransport } from '../nodes/adapters/transport';
import { runBounded } from '../nodes/protocol/bounded.ts';
import { registerNodeType } from '../test/helpers/n8n';
import { startScriptProcess } from './simulatorProcess';

/**
 * The same shape as a Refund Create item with none of the Ksher work: read the order
 * number (an expression), then two POSTs through the very transport the Ksher node uses
 * (n8n's httpRequest helper), the second one to the slow path. No signing, no
 * verification, no money rules. Its efficiency is what n8n's engine and HTTP helper
 * allow on this machine: the ceiling for the Ksher node's batch figure.
 */
const httpPairCeiling: INodeType = {
	description: {
		displayName: 'HTTP Pair Ceiling',
		name: 'httpPairCeiling',
		group: ['transform'],
		version: 1,
		description: 'Benchmark ceiling: two HTTP calls per item',
		defaults: { name: 'HTTP Pair Ceiling' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		properties: [
			{ displayName: 'Order Number', name: 'orderNumber', type: 'string', default: '' },
			{ displayName: 'Base URL', name: 'baseUrl', type: 'string', default: '' },
			{ displayName: 'Concurrency', name: 'concurrency', type: 'number', default: 8 },
		],
	},

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const baseUrl = this.getNodeParameter('baseUrl', 0) as string;
		const concurrency = this.getNodeParameter('concurrency', 0) as number;
		const transport = n8nTransport(this.helpers);
		const headers = {
			'content-type': 'application/x-www-form-urlencoded;charset=utf-8',
			accept: 'application/json',
		};
		const out: INodeExecutionData[] = new Array(items.length);
		// The Ksher node's own worker pool, so that only the Ksher work differs.
		await runBounded(items.length, concurrency, async (i) => {
			const orderNumber = this.getNodeParameter('orderNumber', i) as string;
			const body = `appid=mch35000&mch_order_no=${orderNumber}&nonce_str=${'0'.repeat(32)}&time_stamp=20261127140600&sign=${'0'.repeat(256)}`;
			const first = await transport({ url: `${baseUrl}/fast`, headers, body, timeoutMs: 10_000 });
			const second = await transport({
				url: `${baseUrl}/slow`,
				headers,
				body: `${body}&refund_fee=1000`,
				timeoutMs: 10_000,
			});
			out[i] = {
				json: { orderNumber, status: [first.status, second.status] },
				pairedItem: { item: i },
			};
		});
		return [out];
	},
};

export const CEILING_NODE_TYPE = 'bench.httpPairCeiling';
registerNodeType(CEILING_NODE_TYPE, httpPairCeiling);

/** The bare server of bench/plainServer.ts in a process of its own. */
export async function startPlainServer(
	latencyMs: number,
): Promise<{ baseUrl: string; stop: () => Promise<void> }> {
	const { info, stop } = await startScriptProcess<{ port: number }>(
		join(__dirname, 'plainServer.ts'),
		[String(latencyMs)],
	);
	return { baseUrl: `http://127.0.0.1:${info.port}`, stop };
}
