import { type IDataObject, type INodeProperties, updateDisplayOptions } from 'n8n-workflow';

import {
	orderNumberField,
	orderNumberParam,
	orderLookupParam,
	queryOrder,
	paymentSummary,
	lookUpAsField,
	qrChannelField,
	simplifyField,
	type OperationRunner,
} from '../common';

const properties: INodeProperties[] = [
	orderNumberField('Your order number, as given to Create Payment or Create QR.'),
	lookUpAsField(),
	qrChannelField('The QR Channel given to Create QR: Ksher looks QR payments up by channel', {
		field: 'lookUpAs',
		values: ['qr', 'either'],
	}),
	simplifyField(),
];

export const description = updateDisplayOptions(
	{ show: { resource: ['payment'], operation: ['get'] } },
	properties,
);

export const execute: OperationRunner = async (ctx, client, itemIndex) => {
	const orderNumber = orderNumberParam(ctx, itemIndex);
	const simplify = ctx.getNodeParameter('simplify', itemIndex, true) as boolean;
	const data = await queryOrder(client, orderNumber, orderLookupParam(ctx, itemIndex, true));
	const summary = paymentSummary(orderNumber, data);
	return [simplify ? summary : { ...summary, raw: data as IDataObject }];
};
