import { type INodeProperties, updateDisplayOptions } from 'n8n-workflow';

import { closeQrOrder } from '../../../protocol';
import {
	orderNumberField,
	orderNumberParam,
	qrChannelParam,
	paymentTypeField,
	qrChannelField,
	type OperationRunner,
} from '../common';

const properties: INodeProperties[] = [
	{
		displayName:
			'Only unpaid payments can be cancelled. The payment link stops working, but a QR code the customer already saved may still be payable, and card payments in progress cannot be cancelled.',
		name: 'cancelNotice',
		type: 'notice',
		default: '',
	},
	orderNumberField('Your order number of the unpaid payment to cancel.'),
	paymentTypeField(),
	qrChannelField(
		'The QR Channel given to Create QR. Ksher can cancel ShopeePay, Alipay, Alipay+ and WeChat Pay QRs; the others stop when they expire.',
		{ field: 'paymentType', values: ['qr'] },
	),
];

export const description = updateDisplayOptions(
	{ show: { resource: ['payment'], operation: ['cancel'] } },
	properties,
);

export const execute: OperationRunner = async (ctx, client, itemIndex) => {
	const orderNumber = orderNumberParam(ctx, itemIndex);
	const qrChannel = qrChannelParam(ctx, itemIndex);
	if (qrChannel !== undefined) await closeQrOrder(client, orderNumber, qrChannel);
	else await client.call('cancel_order', { mch_order_no: orderNumber });
	return [{ orderNumber, cancelled: true }];
};
