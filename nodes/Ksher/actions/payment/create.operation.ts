import { type IDataObject, type INodeProperties, updateDisplayOptions } from 'n8n-workflow';

import {
	checkChannels,
	checkCurrency,
	checkMemberId,
	checkUrl,
	GATEWAY_CHANNELS,
	INSTALMENT_CHANNELS,
	KsherInputError,
	attachText,
	toMinorUnits,
	fromMinorUnits,
	initialWatchState,
} from '../../../protocol';
import {
	amountFields,
	attachField,
	notifyUrlField,
	optionsField,
	orderNumberField,
	orderNumberParam,
	stringParam,
	type OperationRunner,
} from '../common';

const properties: INodeProperties[] = [
	orderNumberField(
		'Your own unique order number, at most 32 characters. Ksher refuses a number it has seen before.',
	),
	...amountFields(),
	{
		displayName: 'Product Name',
		name: 'productName',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'e.g. Order INV-1001',
		description:
			'What the customer pays for, shown on the payment page. Plain English text avoids display problems in some wallets.',
	},
	{
		displayName: 'Channels',
		name: 'channels',
		type: 'multiOptions',
		required: true,
		options: GATEWAY_CHANNELS.map((c) => ({
			name: c.name,
			value: c.value,
			description:
				[c.minimumMinor ? `Minimum ${c.minimumMinor / 100} THB` : '', c.note ?? '']
					.filter(Boolean)
					.join('; ') || undefined,
		})),
		default: ['promptpay', 'card'],
		description:
			"How the customer may pay. One channel sends the customer straight to it; several show Ksher's checkout page.",
	},
	{
		displayName: 'Success Redirect URL',
		name: 'successRedirectUrl',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'e.g. https://shop.example/thank-you',
		description:
			"Where the customer's browser goes after paying. Ksher adds ?mch_order_no=… to it. This redirect is not proof of payment: use the Ksher Trigger or Get Payment.",
	},
	{
		displayName: 'Failure Redirect URL',
		name: 'failureRedirectUrl',
		type: 'string',
		default: '',
		placeholder: 'e.g. https://shop.example/payment-failed',
		description:
			'Where the browser goes when the payment fails or is cancelled. Empty: the success redirect URL.',
	},
	notifyUrlField(),
	{
		displayName: 'Website URL',
		name: 'websiteUrl',
		type: 'string',
		default: '',
		placeholder: 'e.g. https://shop.example',
		description:
			"Your shop's website (Ksher's refer_url). Empty: the address of the success redirect URL's site.",
	},
	{
		displayName: 'Additional Fields',
		name: 'additionalFields',
		type: 'collection',
		placeholder: 'Add Field',
		default: {},
		options: [
			attachField(),
			{
				displayName: 'Background',
				name: 'background',
				type: 'string',
				default: '',
				placeholder: 'e.g. #FE6200',
				description: 'Banner background of the payment page (a colour or an image URL)',
			},
			{
				displayName: 'Banner Color',
				name: 'color',
				type: 'color',
				default: '',
				description: 'Banner colour of the payment page',
			},
			{
				displayName: 'Button Color',
				name: 'buttonColor',
				type: 'color',
				default: '',
				description: 'Colour of the pay button',
			},
			optionsField(
				'Device',
				'device',
				[
					['Automatic', ''],
					['Desktop', 'PC'],
					['Mobile', 'H5'],
				],
				'',
				'Force the desktop or mobile layout of the payment page',
			),
			{
				displayName: 'Display Order Code',
				name: 'displayOrderCode',
				type: 'string',
				default: '',
				placeholder: 'e.g. #1001',
				description:
					"Order code shown to the customer (Ksher's mch_code). Empty: the order number.",
			},
			{
				displayName: 'Expires After (Minutes)',
				name: 'expiresAfter',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 60,
				description: 'Minutes until the payment link stops accepting payment',
			},
			{
				displayName: 'Footer Text',
				name: 'footerText',
				type: 'string',
				default: '',
				description: 'Text at the bottom of the payment page',
			},
			optionsField(
				'Instalment Fee Paid By',
				'instalmentFeePayer',
				[
					['Customer', 'customer'],
					['Merchant', 'merchant'],
				],
				'customer',
				'Who pays the instalment fee on the selected instalment channels',
			),
			{
				displayName: 'Instalment Months',
				name: 'instalmentMonths',
				type: 'fixedCollection',
				typeOptions: { multipleValues: true },
				default: {},
				placeholder: 'Add Instalment Channel',
				description: 'Which instalment plans the customer may choose, per instalment channel',
				options: [
					{
						displayName: 'Plan',
						name: 'plans',
						values: [
							{
								displayName: 'Channel',
								name: 'channel',
								type: 'options',
								options: GATEWAY_CHANNELS.filter((c) => INSTALMENT_CHANNELS.includes(c.value)).map(
									(c) => ({ name: c.name, value: c.value }),
								),
								default: 'ktc_instal',
							},
							{
								displayName: 'Months',
								name: 'months',
								type: 'string',
								default: '3,6,10',
								placeholder: 'e.g. 3,4,6,10',
								description: 'Comma-separated numbers of months',
							},
						],
					},
				],
			},
			optionsField(
				'Language',
				'language',
				[
					['Chinese', 'cn'],
					['English', 'en'],
					['Thai', 'th'],
				],
				'en',
				'Language of the payment page',
			),
			{
				displayName: 'Logo URL',
				name: 'logoUrl',
				type: 'string',
				default: '',
				placeholder: 'e.g. https://shop.example/logo.png',
				description: 'Logo shown in the payment page banner',
			},
			{
				displayName: 'Member ID',
				name: 'memberId',
				type: 'string',
				default: '',
				placeholder: 'e.g. cust-42',
				description:
					"Your customer's ID, to let them save cards for later payments. Not only digits, at most 32 characters.",
			},
			{
				displayName: 'Shop Name',
				name: 'shopName',
				type: 'string',
				default: '',
				description: 'Name shown next to the logo',
			},
			{
				displayName: 'Show Expiry Time',
				name: 'showExpiryTime',
				type: 'boolean',
				default: true,
				description: 'Whether the payment page shows when the link expires',
			},
			{
				displayName: 'Show Footer',
				name: 'showFooter',
				type: 'boolean',
				default: true,
				description: 'Whether the payment page shows its footer text',
			},
		],
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['payment'], operation: ['create'] } },
	properties,
);

function instalmentList(raw: unknown): Record<string, number[]> | undefined {
	const plans =
		(raw as { plans?: Array<{ channel?: string; months?: string }> } | undefined)?.plans ?? [];
	if (plans.length === 0) return undefined;
	const out: Record<string, number[]> = {};
	for (const plan of plans) {
		const channel = String(plan.channel ?? '');
		const months = String(plan.months ?? '')
			.split(',')
			.map((m) => m.trim())
			.filter((m) => m !== '');
		if (!INSTALMENT_CHANNELS.includes(channel)) {
			throw new KsherInputError(
				'Instalment Months',
				`"${channel}" is not an instalment channel`,
				`Use one of ${INSTALMENT_CHANNELS.join(', ')}.`,
			);
		}
		if (months.length === 0 || months.some((m) => !/^\d{1,2}$/.test(m) || Number(m) < 1)) {
			throw new KsherInputError(
				'Instalment Months',
				`Months "${plan.months ?? ''}" for ${channel} must be whole numbers separated by commas`,
				'Enter e.g. 3,4,6,10.',
			);
		}
		out[channel] = [...new Set(months.map(Number))].sort((a, b) => a - b);
	}
	return out;
}

export const execute: OperationRunner = async (ctx, client, itemIndex) => {
	const orderNumber = orderNumberParam(ctx, itemIndex);
	const currency = checkCurrency(stringParam(ctx, 'currency', itemIndex, 'THB'));
	const total = toMinorUnits(ctx.getNodeParameter('amount', itemIndex, '') as unknown, currency);
	const channels = checkChannels(
		ctx.getNodeParameter('channels', itemIndex, []) as unknown,
		total,
		currency,
	);
	const productName = stringParam(ctx, 'productName', itemIndex).trim();
	if (productName === '')
		throw new KsherInputError(
			'Product Name',
			'Product Name is empty',
			'Enter what the customer pays for, e.g. Order INV-1001.',
		);
	const success = checkUrl(
		stringParam(ctx, 'successRedirectUrl', itemIndex),
		'Success Redirect URL',
	)!;
	const failure =
		checkUrl(stringParam(ctx, 'failureRedirectUrl', itemIndex), 'Failure Redirect URL', false) ??
		success;
	const notify = checkUrl(stringParam(ctx, 'notifyUrl', itemIndex), 'Notify URL', false);
	const website =
		checkUrl(stringParam(ctx, 'websiteUrl', itemIndex), 'Website URL', false) ??
		new URL(success).origin;
	const extra = ctx.getNodeParameter('additionalFields', itemIndex, {}) as IDataObject;

	const instalments = instalmentList(extra.instalmentMonths);
	const instalChannels = channels.filter((c) => INSTALMENT_CHANNELS.includes(c));
	if (instalments) {
		const missing = Object.keys(instalments).filter((c) => !channels.includes(c));
		if (missing.length)
			throw new KsherInputError(
				'Instalment Months',
				`Instalment months are set for ${missing.join(', ')}, which is not among the Channels`,
				'Add the channel to Channels or remove its plan.',
			);
	}
	const expires = extra.expiresAfter;
	if (expires !== undefined && (!Number.isInteger(expires) || (expires as number) < 1)) {
		throw new KsherInputError(
			'Expires After (Minutes)',
			`Expires After must be a whole number of minutes, got ${String(expires)}`,
			'Enter e.g. 60.',
		);
	}
	const params: Record<string, unknown> = {
		mch_order_no: orderNumber,
		total_fee: total,
		fee_type: currency,
		channel_list: channels.join(','),
		mch_code:
			typeof extra.displayOrderCode === 'string' && extra.displayOrderCode.trim()
				? extra.displayOrderCode.trim()
				: orderNumber,
		product_name: productName,
		mch_redirect_url: success,
		mch_redirect_url_fail: failure,
		mch_notify_url: notify,
		refer_url: website,
		lang: extra.language,
		device: extra.device || undefined,
		expire_time: expires,
		attach: attachText(extra.attach),
		member_id: checkMemberId(extra.memberId),
		logo: extra.logoUrl ? checkUrl(extra.logoUrl, 'Logo URL') : undefined,
		shop_name: extra.shopName || undefined,
		color: extra.color || undefined,
		background: extra.background || undefined,
		payment_color: extra.buttonColor || undefined,
		ksher_explain: extra.footerText || undefined,
		// Ksher's SDKs document 1 = show, 0 = hide for both, although the names suggest otherwise.
		hide_exp_time: extra.showExpiryTime === undefined ? undefined : extra.showExpiryTime ? 1 : 0,
		hide_explain: extra.showFooter === undefined ? undefined : extra.showFooter ? 1 : 0,
		channel_instal_times_list: instalments ? JSON.stringify(instalments) : undefined,
		instal_fee_payer_merchant_channel_list:
			extra.instalmentFeePayer === 'merchant' && instalChannels.length
				? instalChannels.join(',')
				: undefined,
	};
	const { data } = await client.call('gateway_pay', params);
	const paymentUrl = typeof data.pay_content === 'string' ? data.pay_content : '';
	// watchState: store it with the order to have Payment → Watch for Changes report what Ksher does not notify.
	return [
		{
			orderNumber,
			paymentUrl,
			amount: fromMinorUnits(total, currency),
			currency,
			channels,
			watchState: initialWatchState('pending', new Date()),
		},
	];
};
