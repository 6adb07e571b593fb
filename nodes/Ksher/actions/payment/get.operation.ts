import { type IDataObject, type INodeProperties, updateDisplayOptions } from 'n8n-workflow';

import {
	orderNumberField,
	orderNumberParam,
	paymentSummary,
	simplifyField,
	type OperationRunner,
} from '../common';

const properties: INodeProperties[] = [
	orderNumberField('Your order number, as given to Create Payment.'),
	simplifyField(),
];

export const description = updateDisplayOptions(
	{ show: { resource: ['payment'], operation: ['get'] } },
	properties,
);

export const execute: OperationRunner = async (ctx, client, itemIndex) => {
	const orderNumber = orderNumberParam(ctx, itemIndex);
	const simplify = ctx.getNodeParameter('simplify', itemIndex, true) as boolean;
	const { data } = await client.call('gateway_order_query', { mch_order_no: orderNumber });
	const summary = paymentSummary(orderNumber, data);
	return [simplify ? summary : { ...summary, raw: data as IDataObject }];
};
