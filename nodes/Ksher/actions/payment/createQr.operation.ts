import { type IDataObject, type INodeProperties, updateDisplayOptions } from 'n8n-workflow';

import {
	buildQrRequest,
	createQr,
	initialWatchState,
	KsherInputError,
	QR_DEFAULT_MINUTES,
	QR_MAX_MINUTES,
} from '../../../protocol';
import {
	amountFields,
	attachField,
	FileItem,
	notifyUrlField,
	orderNumberField,
	qrChannelField,
	stringParam,
	type OperationRunner,
} from '../common';

/** Where the image goes, and what proves payment: said where the QR is made. */
const notice: INodeProperties = {
	displayName:
		'The QR image comes out as a file (binary data) that Send Email, Telegram or an HTTP Request can send as it is. Only the Ksher Trigger or Payment → Get (Payment Type: QR Code) prove that the customer paid.',
	name: 'createQrNotice',
	type: 'notice',
	default: '',
};

const properties: INodeProperties[] = [
	notice,
	orderNumberField(
		'Your own unique order number, at most 32 characters. Ksher refuses a number it has seen before.',
	),
	...amountFields(),
	qrChannelField(
		'The app the customer pays with. PromptPay works with every Thai banking app and takes THB only.',
	),
	notifyUrlField(),
	{
		displayName: 'Expires After (Minutes)',
		name: 'expiresAfter',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: QR_MAX_MINUTES },
		default: QR_DEFAULT_MINUTES,
		description:
			'Minutes until the QR stops accepting payment, at most a day. The output\'s "expiresAt" says when.',
	},
	{
		displayName: 'Put QR Image in Field',
		name: 'binaryPropertyName',
		type: 'string',
		required: true,
		default: 'qr',
		hint: 'The name of the output binary field to put the QR image (PNG) in',
	},
	{
		displayName: 'Additional Fields',
		name: 'qrAdditionalFields',
		type: 'collection',
		placeholder: 'Add Field',
		default: {},
		options: [
			attachField(),
			{
				displayName: 'Product Name',
				name: 'productName',
				type: 'string',
				default: '',
				placeholder: 'e.g. Order INV-1001',
				description:
					'What the customer pays for, as the payment app may show it. Plain English text avoids display problems in some apps.',
			},
		],
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['payment'], operation: ['createQr'] } },
	properties,
);

/** A file name that is one file name on every system: the order number's other characters become "_". */
export function qrFileName(orderNumber: string): string {
	return `ksher-qr-${orderNumber.replace(/[^\w.-]/g, '_')}.png`;
}

export const execute: OperationRunner = async (ctx, client, itemIndex) => {
	const extra = ctx.getNodeParameter('qrAdditionalFields', itemIndex, {}) as IDataObject;
	// Every input is checked before Ksher is called, so a refused item creates no order.
	const request = buildQrRequest({
		orderNumber: ctx.getNodeParameter('orderNumber', itemIndex, '') as unknown,
		amount: ctx.getNodeParameter('amount', itemIndex, '') as unknown,
		currency: stringParam(ctx, 'currency', itemIndex, 'THB'),
		channel: stringParam(ctx, 'qrChannel', itemIndex, 'promptpay'),
		notifyUrl: stringParam(ctx, 'notifyUrl', itemIndex),
		expiresAfterMinutes: ctx.getNodeParameter(
			'expiresAfter',
			itemIndex,
			QR_DEFAULT_MINUTES,
		) as unknown,
		attach: extra.attach,
		productName: extra.productName,
	});
	const field = stringParam(ctx, 'binaryPropertyName', itemIndex, 'qr').trim();
	if (field === '')
		throw new KsherInputError(
			'Put QR Image in Field',
			'Put QR Image in Field is empty',
			'Enter the name of the binary field for the QR image, e.g. qr.',
		);
	const qr = await createQr(client, request);
	const binary = await ctx.helpers.prepareBinaryData(
		qr.png,
		qrFileName(qr.orderNumber),
		'image/png',
	);
	return [
		new FileItem(
			{
				orderNumber: qr.orderNumber,
				ksherOrderNumber: qr.ksherOrderNumber,
				amount: qr.amount,
				currency: qr.currency,
				channel: qr.channel,
				channelName: qr.channelName,
				qrPayload: qr.qrPayload,
				expiresAt: qr.expiresAt,
				// Store it with the order, as Create Payment's: what the order's watch starts from.
				watchState: initialWatchState('pending', new Date()),
			},
			{ [field]: binary },
		),
	];
};
