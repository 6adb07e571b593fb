import type { INodeProperties } from 'n8n-workflow';

import { operationSelector, type OperationRunner } from '../common';
import * as cancel from './cancel.operation';
import * as create from './create.operation';
import * as createQr from './createQr.operation';
import * as get from './get.operation';
import * as watch from './watch.operation';

export type PaymentOperation = 'create' | 'createQr' | 'get' | 'cancel' | 'watch';

export const operations: Record<PaymentOperation, OperationRunner> = {
	create: create.execute,
	createQr: createQr.execute,
	get: get.execute,
	cancel: cancel.execute,
	watch: watch.execute,
};

export const description: INodeProperties[] = [
	operationSelector(
		'payment',
		[
			{
				name: 'Cancel',
				value: 'cancel',
				description: 'Cancel an unpaid payment link',
				action: 'Cancel a payment',
			},
			{
				name: 'Create',
				value: 'create',
				description: 'Create a payment link to send to the customer',
				action: 'Create a payment',
			},
			{
				name: 'Create QR',
				value: 'createQr',
				description: 'Create a QR code image (PromptPay) to send to the customer in a chat',
				action: 'Create a QR code payment',
			},
			{
				name: 'Get',
				value: 'get',
				description: 'Get the state of a payment',
				action: 'Get a payment',
			},
			{
				name: 'Watch for Changes',
				value: 'watch',
				description:
					'Report what Ksher does not notify: refunds, payments it missed, cancellations. Use after a Schedule Trigger.',
				action: 'Watch a payment for changes',
			},
		],
		'create',
	),
	...create.description,
	...createQr.description,
	...get.description,
	...cancel.description,
	...watch.description,
];
