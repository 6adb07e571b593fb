import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { TIMEOUTS } from '../protocol';
import { docsUrl, KSHER_ICON, PACKAGE_DESCRIPTION } from '../adapters/descriptions';
import { testKsherCredentials } from '../adapters/credentialTest';
import * as account from './actions/account/Account.resource';
import { DEFAULT_CONCURRENCY, MAX_CONCURRENCY } from './actions/batch';
import * as payment from './actions/payment/Payment.resource';
import * as refund from './actions/refund/Refund.resource';
import * as settlement from './actions/settlement/Settlement.resource';
import { router } from './actions/router';

/**
 * The operation as the editor's action list names it ("Create a refund"), not its raw values
 * ("create: refund"), under the node on the canvas.
 */
const OPERATION_SUBTITLE = `={{ ${JSON.stringify(
	Object.fromEntries(
		[
			...account.description,
			...payment.description,
			...refund.description,
			...settlement.description,
		]
			.filter((p) => p.name === 'operation')
			.flatMap((p) =>
				(p.options as Array<{ value: string; action?: string }>).map((o) => [
					`${String(p.displayOptions?.show?.resource)}:${o.value}`,
					o.action,
				]),
			),
	),
)}[$parameter["resource"] + ":" + $parameter["operation"]] }}`;

/** The node is its description and a router: each resource file brings its operations and their fields. */
export class Ksher implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Ksher',
		name: 'ksher',
		icon: KSHER_ICON,
		group: ['transform'],
		// 2: Refund → Create asks What to Refund (an empty amount is an error, never a full refund),
		// checks every row first, previews and caps a run. Workflows saved with 1 keep its rules.
		version: [1, 2],
		defaultVersion: 2,
		documentationUrl: docsUrl('ksher-node'),
		subtitle: OPERATION_SUBTITLE,
		description: PACKAGE_DESCRIPTION,
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
					{ name: 'Settlement', value: 'settlement' },
				],
				default: 'payment',
			},
			...account.description,
			...payment.description,
			...refund.description,
			...settlement.description,
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
						description:
							'How many items are sent to Ksher at the same time. Output keeps the input order.',
					},
					{
						displayName: 'Timeout (Seconds)',
						name: 'timeout',
						type: 'number',
						typeOptions: { minValue: 1, maxValue: TIMEOUTS.maxCallMs / 1000 },
						// TIMEOUTS.callMs; n8n's lint wants a literal here (a test checks they agree).
						default: 30,
						description: 'How long to wait for each answer from Ksher',
					},
				],
			},
		],
	};

	methods = { credentialTest: { ksherApiTest: testKsherCredentials } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
