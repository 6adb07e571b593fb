import { type INodeProperties, updateDisplayOptions } from 'n8n-workflow';

import { KsherInputError, listRefunds, paidOrder } from '../../../protocol';
import { refundFields } from '../../../adapters/format';
import {
	orderNumberField,
	orderNumberParam,
	qrChannelParam,
	paymentTypeField,
	qrChannelField,
	returnAllFields,
	returnLimit,
	type OperationRunner,
} from '../common';

const properties: INodeProperties[] = [
	orderNumberField('Your order number of the payment whose refunds to list.'),
	paymentTypeField(),
	qrChannelField('The QR Channel given to Create QR: Ksher looks QR payments up by channel', {
		field: 'paymentType',
		values: ['qr'],
	}),
	...returnAllFields(),
];

export const description = updateDisplayOptions(
	{ show: { resource: ['refund'], operation: ['getAll'] } },
	properties,
);

/** One output item per refund; an order without refunds gives no items (turn on Always Output Data to continue). */
export const execute: OperationRunner = async (ctx, client, itemIndex) => {
	const orderNumber = orderNumberParam(ctx, itemIndex);
	const limit = returnLimit(ctx, itemIndex);
	const order = await paidOrder(client, orderNumber, qrChannelParam(ctx, itemIndex));
	const refunds = await listRefunds(client, order.refundTarget);
	if (!refunds) {
		throw new KsherInputError(
			'Order Number',
			`Ksher cannot list the refunds of Order Number ${orderNumber} (refund queries are not supported for every wallet, e.g. PromptPay and Alipay)`,
			"Check this order's refunds in the Ksher merchant portal.",
		);
	}
	return refunds.slice(0, limit).map((r) => ({
		...refundFields(orderNumber, order.currency, r),
		ksherOrderNumber: order.data.ksher_order_no ? String(order.data.ksher_order_no) : null,
		payOrderNumber: order.data.pay_mch_order_no ? String(order.data.pay_mch_order_no) : null,
	}));
};
