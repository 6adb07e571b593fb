import type { INodeProperties } from 'n8n-workflow';

import type { OperationRunner } from '../common';
import * as create from './create.operation';
import * as getAll from './getAll.operation';

export type RefundOperation = 'create' | 'getAll';

export const operations: Record<RefundOperation, OperationRunner> = {
	create: create.execute,
	getAll: getAll.execute,
};

export const description: INodeProperties[] = [
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
	...create.description,
	...getAll.description,
];
