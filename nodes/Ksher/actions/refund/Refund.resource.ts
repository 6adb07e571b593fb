import type { INodeProperties } from 'n8n-workflow';

import { operationSelector, type OperationRunner } from '../common';
import * as create from './create.operation';
import * as getAll from './getAll.operation';

export type RefundOperation = 'create' | 'getAll';

export const operations: Record<RefundOperation, OperationRunner> = {
	create: create.execute,
	getAll: getAll.execute,
};

export const description: INodeProperties[] = [
	operationSelector(
		'refund',
		[
			{
				name: 'Create',
				value: 'create',
				description: 'Refund a paid payment, fully or partly',
				action: 'Create a refund',
			},
			{
				name: 'Get Many',
				value: 'getAll',
				description: 'Get the refunds of a payment',
				action: 'Get many refunds',
			},
		],
		'create',
	),
	...create.description,
	...getAll.description,
];
