import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { runBounded, TIMEOUTS, type KsherClient } from '../../protocol';
import { clientFromCredentials } from '../../adapters/credentials';
import { errorOutput, toNodeError } from '../../adapters/errors';
import { n8nTransport } from '../../adapters/transport';
import * as account from './account/Account.resource';
import { DEFAULT_CONCURRENCY, MAX_CONCURRENCY } from './batch';
import { FileItem, isTool, type OperationRunner } from './common';
import * as payment from './payment/Payment.resource';
import * as refund from './refund/Refund.resource';
import * as settlement from './settlement/Settlement.resource';

/** Every resource with its operations: the compiler checks each pair has a runner. */
export type KsherNodeType =
	| { resource: 'account'; operation: account.AccountOperation }
	| { resource: 'payment'; operation: payment.PaymentOperation }
	| { resource: 'refund'; operation: refund.RefundOperation }
	| { resource: 'settlement'; operation: settlement.SettlementOperation };

function runnerFor(node: KsherNodeType): OperationRunner | undefined {
	switch (node.resource) {
		case 'account':
			return account.operations[node.operation];
		case 'payment':
			return payment.operations[node.operation];
		case 'refund':
			return refund.operations[node.operation];
		case 'settlement':
			return settlement.operations[node.operation];
		default:
			return undefined;
	}
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

/**
 * Runs the chosen operation for every item: credentials read and keys parsed once, items sent
 * `concurrency` at a time with the output in input order, and the per-item error policy.
 */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const node = {
		resource: this.getNodeParameter('resource', 0),
		operation: this.getNodeParameter('operation', 0),
	} as KsherNodeType;
	const runner = runnerFor(node);
	if (!runner)
		throw toNodeError(
			this.getNode(),
			new Error(`Unknown operation ${String(node.resource)} ${String(node.operation)}`),
		);
	const options = this.getNodeParameter('options', 0, {}) as IDataObject;
	const concurrency = Math.min(
		MAX_CONCURRENCY,
		Math.max(1, Math.floor(Number(options.concurrency ?? DEFAULT_CONCURRENCY)) || 1),
	);
	const timeoutMs = Math.min(
		TIMEOUTS.maxCallMs,
		Math.max(1000, (Number(options.timeout) || TIMEOUTS.callMs / 1000) * 1000),
	);

	// Credentials are read and the keys parsed once per execution, never per item.
	let client: KsherClient | undefined;
	let setupError: unknown;
	try {
		client = clientFromCredentials(
			await this.getCredentials('ksherApi'),
			n8nTransport(this.helpers),
			timeoutMs,
		);
	} catch (error) {
		setupError = error;
	}

	// An operation that checks every item first (Refund → Create) prepares this execution's runner;
	// if that cannot even start, every item fails with the reason.
	let run: OperationRunner = runner;
	if (client && runner.prepare) {
		try {
			run = await runner.prepare(this, client, items.length, concurrency);
		} catch (error) {
			client = undefined;
			setupError = error;
		}
	}

	// As an AI Agent's tool a thrown error reaches the agent as an empty answer, so a failure is
	// returned as an item it can read and act on.
	const asTool = isTool(this);
	const results: INodeExecutionData[][] = new Array(items.length);
	await runBounded(items.length, concurrency, async (itemIndex) => {
		try {
			if (!client) throw setupError;
			const output = await run(this, client, itemIndex);
			results[itemIndex] = output.map((out) =>
				out instanceof FileItem
					? { json: out.json, binary: out.binary, pairedItem: { item: itemIndex } }
					: { json: out, pairedItem: { item: itemIndex } },
			);
		} catch (error) {
			const orderNumber = orderNumberOrNull(this, itemIndex);
			if (!this.continueOnFail() && !asTool)
				throw toNodeError(this.getNode(), error, itemIndex, orderNumber);
			const { error: message, ...details }: IDataObject = {
				orderNumber,
				...errorOutput(error, orderNumber),
			};
			// With On Error "Continue (using error output)", n8n (1.x and 2.x alike) sends an item to the
			// error output when its JSON holds only `error`, or `error` and `message`, and adds the input
			// row's fields to it: so there `error` says what went wrong (with Ksher's code) and `message`
			// what to do. Otherwise the item carries every field at the top, as Continue On Fail always gave.
			const toErrorOutput = this.getNode().onError === 'continueErrorOutput' && !asTool;
			const solution =
				typeof details.solution === 'string' && details.solution
					? { message: details.solution }
					: {};
			results[itemIndex] = [
				{
					json: toErrorOutput ? { error: message, ...solution } : { error: message, ...details },
					pairedItem: { item: itemIndex },
				},
			];
		}
	});
	return [results.flat()];
}
