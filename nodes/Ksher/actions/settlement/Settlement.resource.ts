import type { INodeProperties } from 'n8n-workflow';

import { operationSelector, type OperationRunner } from '../common';
import * as getAll from './getAll.operation';

export type SettlementOperation = 'getAll';

export const operations: Record<SettlementOperation, OperationRunner> = {
	getAll: getAll.execute,
};

export const description: INodeProperties[] = [
	operationSelector(
		'settlement',
		[
			{
				name: 'Get Many',
				value: 'getAll',
				description:
					'Get what Ksher settled per channel and trading day: payments minus refunds, commission, VAT, what it transfers and when',
				action: 'Get many settlements',
			},
		],
		'getAll',
	),
	...getAll.description,
];
