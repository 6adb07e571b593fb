import type { IDataObject, INodeProperties } from 'n8n-workflow';

import { orderNumberField, orderNumberParam, paymentSummary, simplifyField, type OperationRunner } from '../common';

export const description: INodeProperties[] = [
	orderNumberField('payment', ['get'], 'Your order number, as given to Create Payment.'),
	simplifyField('payment', ['get']),
];

export const execute: OperationRunner = async (ctx, client, itemIndex) => {
	const orderNumber = orderNumberParam(ctx, itemIndex);
	const simplify = ctx.getNodeParameter('simplify', itemIndex, true) as boolean;
	const { data } = await client.call('gateway_order_query', { mch_order_no: orderNumber });
	const summary = paymentSummary(orderNumber, data);
	return [simplify ? summary : { ...summary, raw: data as IDataObject }];
};
