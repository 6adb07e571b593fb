import {
	NodeConnectionTypes,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import type { KsherClient } from '../protocol';
import { clientFromCredentials } from '../adapters/credentials';
import { testKsherCredentials } from '../adapters/credentialTest';
import { errorOutput, toNodeError } from '../adapters/errors';
import { n8nTransport } from '../adapters/transport';
import type { OperationRunner } from './actions/common';
import * as accountGet from './actions/account/get.operation';
import * as paymentCancel from './actions/payment/cancel.operation';
import * as paymentCreate from './actions/payment/create.operation';
import * as paymentGet from './actions/payment/get.operation';
import * as paymentWatch from './actions/payment/watch.operation';
import * as refundCreate from './actions/refund/create.operation';
import * as refundGetAll from './actions/refund/getAll.operation';

const OPERATIONS: Record<string, Record<string, OperationRunner>> = {
	payment: { create: paymentCreate.execute, get: paymentGet.execute, cancel: paymentCancel.execute, watch: paymentWatch.execute },
	refund: { create: refundCreate.execute, getAll: refundGetAll.execute },
	account: { get: accountGet.execute },
};

export const DEFAULT_CONCURRENCY = 4;
export const MAX_CONCURRENCY = 20;

/** Runs items with at most `limit` in flight; after the first failure no new item starts. */
export async function runBounded(count: number, limit: number, run: (index: number) => Promise<void>): Promise<void> {
	let next = 0;
	let failure: { error: unknown } | undefined;
	const worker = async () => {
		while (!failure && next < count) {
			const index = next++;
			await run(index).catch((error: unknown) => {
				failure ??= { error };
			});
		}
	};
	await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
	if (failure) throw failure.error;
}

/** The item's Order Number for its error item, or null when that is what could not be read. */
function orderNumberOrNull(ctx: IExecuteFunctions, itemIndex: number): string | null {
	try {
		const orderNumber = ctx.getNodeParameter('orderNumber', itemIndex, '') as unknown;
		return typeof orderNumber === 'string' ? orderNumber : null;
	} catch {
		// The Order Number expression itself failed: the error item already says why.
		return null;
	}
}

export class Ksher implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Ksher',
		name: 'ksher',
		icon: { light: 'file:../../icons/ksher.svg', dark: 'file:../../icons/ksher.dark.svg' },
		group: ['transform'],
		version: 1,
		// The editor opens this as given; the codex link gets `?utm_source=…` appended after its #section, which breaks it.
		documentationUrl: 'https://github.com/n8n-nodes-ksher/n8n-nodes-ksher#ksher-node',
		subtitle: '={{$parameter["operation"] + ": " + $parameter["resource"]}}',
		description: 'Take payments with Ksher Gateway Pay: payment links, payment status, refunds and cancellations',
		defaults: { name: 'Ksher' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'ksherApi', required: true, testedBy: 'ksherApiTest' }],
		properties: [
			{
				displayName: 'Resource',
				name: 'resource',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Account', value: 'account' },
					{ name: 'Payment', value: 'payment' },
					{ name: 'Refund', value: 'refund' },
				],
				default: 'payment',
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['payment'] } },
				options: [
					{ name: 'Cancel', value: 'cancel', description: 'Cancel an unpaid payment link', action: 'Cancel a payment' },
					{ name: 'Create', value: 'create', description: 'Create a payment link to send to the customer', action: 'Create a payment' },
					{ name: 'Get', value: 'get', description: 'Get the state of a payment', action: 'Get a payment' },
					{
						name: 'Watch for Changes',
						value: 'watch',
						description: 'Report what Ksher does not notify: refunds, payments it missed, cancellations. Use after a Schedule Trigger.',
						action: 'Watch a payment for changes',
					},
				],
				default: 'create',
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['refund'] } },
				options: [
					{ name: 'Create', value: 'create', description: 'Refund a paid payment, fully or partly', action: 'Create a refund' },
					{ name: 'Get Many', value: 'getAll', description: 'Get the refunds of a payment', action: 'Get many refunds' },
				],
				default: 'create',
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['account'] } },
				options: [
					{ name: 'Get', value: 'get', description: 'Get the merchant account: its channels, limits, settlement cycles and refund settings', action: 'Get the merchant account' },
				],
				default: 'get',
			},
			...accountGet.description,
			...paymentCreate.description,
			...paymentGet.description,
			...paymentCancel.description,
			...paymentWatch.description,
			...refundCreate.description,
			...refundGetAll.description,
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Concurrency',
						name: 'concurrency',
						type: 'number',
						typeOptions: { minValue: 1, maxValue: MAX_CONCURRENCY },
						default: DEFAULT_CONCURRENCY,
						description: 'How many items are sent to Ksher at the same time. Output keeps the input order.',
					},
					{
						displayName: 'Timeout (Seconds)',
						name: 'timeout',
						type: 'number',
						typeOptions: { minValue: 1, maxValue: 300 },
						default: 30,
						description: 'How long to wait for each answer from Ksher',
					},
				],
			},
		],
	};

	methods = { credentialTest: { ksherApiTest: testKsherCredentials } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const resource = this.getNodeParameter('resource', 0) as string;
		const operation = this.getNodeParameter('operation', 0) as string;
		const runner = OPERATIONS[resource]?.[operation];
		if (!runner) throw toNodeError(this.getNode(), new Error(`Unknown operation ${resource} ${operation}`));
		const options = this.getNodeParameter('options', 0, {}) as IDataObject;
		const concurrency = Math.min(MAX_CONCURRENCY, Math.max(1, Math.floor(Number(options.concurrency ?? DEFAULT_CONCURRENCY)) || 1));
		const timeoutMs = Math.min(300, Math.max(1, Number(options.timeout ?? 30) || 30)) * 1000;

		// Credentials are read and the keys parsed once per execution, never per item.
		let client: KsherClient | undefined;
		let setupError: unknown;
		try {
			client = clientFromCredentials(await this.getCredentials('ksherApi'), n8nTransport(this.helpers), timeoutMs);
		} catch (error) {
			setupError = error;
		}

		// As an AI Agent's tool (n8n names that node type "<type>Tool"), a thrown error reaches the
		// agent as an empty answer, so a failure is returned as an item it can read and act on.
		const asTool = this.getNode().type.endsWith('Tool');
		const results: INodeExecutionData[][] = new Array(items.length);
		await runBounded(items.length, concurrency, async (itemIndex) => {
			try {
				if (!client) throw setupError;
				const output = await runner(this, client, itemIndex);
				results[itemIndex] = output.map((json) => ({ json, pairedItem: { item: itemIndex } }));
			} catch (error) {
				const orderNumber = orderNumberOrNull(this, itemIndex);
				if (!this.continueOnFail() && !asTool) throw toNodeError(this.getNode(), error, itemIndex, orderNumber);
				results[itemIndex] = [{ json: { orderNumber, ...errorOutput(error, orderNumber) }, pairedItem: { item: itemIndex } }];
			}
		});
		return [results.flat()];
	}
}
