import type { INodeProperties } from 'n8n-workflow';

import { operationSelector, type OperationRunner } from '../common';
import * as get from './get.operation';

export type AccountOperation = 'get';

export const operations: Record<AccountOperation, OperationRunner> = {
	get: get.execute,
};

export const description: INodeProperties[] = [
	operationSelector(
		'account',
		[
			{
				name: 'Get',
				value: 'get',
				description:
					'Get the merchant account: its channels, limits, settlement cycles and refund settings',
				action: 'Get the merchant account',
			},
		],
		'get',
	),
	...get.description,
];
