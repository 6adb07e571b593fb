import { type IDataObject, type INodeProperties, updateDisplayOptions } from 'n8n-workflow';

import { queryQrOrder } from '../../../protocol';
import {
	isQrPayment,
	orderNumberField,
	orderNumberParam,
	paymentSummary,
	paymentTypeField,
	qrChannelField,
	simplifyField,
	stringParam,
	type OperationRunner,
} from '../common';

const properties: INodeProperties[] = [
	orderNumberField('Your order number, as given to Create Payment or Create QR.'),
	paymentTypeField(),
	qrChannelField('The QR Channel given to Create QR: Ksher looks QR payments up by channel', true),
	simplifyField(),
];

export const description = updateDisplayOptions(
	{ show: { resource: ['payment'], operation: ['get'] } },
	properties,
);

export const execute: OperationRunner = async (ctx, client, itemIndex) => {
	const orderNumber = orderNumberParam(ctx, itemIndex);
	const simplify = ctx.getNodeParameter('simplify', itemIndex, true) as boolean;
	// A QR order lives on Ksher's api.mch host (order_query), a payment link on its gateway.
	const data = isQrPayment(ctx, itemIndex)
		? await queryQrOrder(client, orderNumber, stringParam(ctx, 'qrChannel', itemIndex, 'promptpay'))
		: (await client.call('gateway_order_query', { mch_order_no: orderNumber })).data;
	const summary = paymentSummary(orderNumber, data);
	return [simplify ? summary : { ...summary, raw: data as IDataObject }];
};
