import { type INodeProperties, updateDisplayOptions } from 'n8n-workflow';

import { orderNumberField, orderNumberParam, type OperationRunner } from '../common';

const properties: INodeProperties[] = [
	{
		displayName:
			'Only unpaid payments can be cancelled. The payment link stops working, but a QR code the customer already saved may still be payable, and card payments in progress cannot be cancelled.',
		name: 'cancelNotice',
		type: 'notice',
		default: '',
	},
	orderNumberField('Your order number of the unpaid payment to cancel.'),
];

export const description = updateDisplayOptions(
	{ show: { resource: ['payment'], operation: ['cancel'] } },
	properties,
);

export const execute: OperationRunner = async (ctx, client, itemIndex) => {
	const orderNumber = orderNumberParam(ctx, itemIndex);
	await client.call('cancel_order', { mch_order_no: orderNumber });
	return [{ orderNumber, cancelled: true }];
};
