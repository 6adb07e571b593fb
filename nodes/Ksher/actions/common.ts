import type {
	IBinaryKeyData,
	IDataObject,
	IExecuteFunctions,
	INodeProperties,
	INodePropertyOptions,
} from 'n8n-workflow';

import {
	channelName,
	checkOrderNumber,
	KsherInputError,
	QR_CHANNELS,
	queryLinkOrQrOrder,
	queryQrOrder,
	SUPPORTED_CURRENCIES,
	type KsherClient,
} from '../../protocol';
import { orderFields } from '../../adapters/format';

/** An output item that carries a file (Create QR's PNG) besides its JSON. */
export class FileItem {
	constructor(
		readonly json: IDataObject,
		readonly binary: IBinaryKeyData,
	) {}
}

/**
 * One operation: reads its item's parameters, talks to Ksher, returns the output items' JSON
 * (a FileItem where the item carries a file too).
 * An operation that must see every item before any runs (Refund → Create's checks) also has
 * `prepare`, which returns the runner to use for this execution's items.
 */
export type OperationRunner = ((
	ctx: IExecuteFunctions,
	client: KsherClient,
	itemIndex: number,
) => Promise<Array<IDataObject | FileItem>>) & {
	prepare?: (
		ctx: IExecuteFunctions,
		client: KsherClient,
		itemCount: number,
		concurrency: number,
	) => Promise<OperationRunner>;
};

/**
 * As an AI Agent's tool (n8n names that node type "<type>Tool"): a thrown error would reach the
 * agent as an empty answer, and messages speak to the agent rather than to a sheet's author.
 */
export function isTool(ctx: IExecuteFunctions): boolean {
	return ctx.getNode().type.endsWith('Tool');
}

/** A resource's Operation selector (n8n's idiom: one per resource, shown only for it). */
export function operationSelector(
	resource: string,
	options: INodePropertyOptions[],
	defaultOperation: string,
): INodeProperties {
	return {
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: [resource] } },
		options,
		default: defaultOperation,
	};
}

export function orderNumberField(description: string): INodeProperties {
	return {
		displayName: 'Order Number',
		name: 'orderNumber',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'e.g. INV-1001',
		description,
	};
}

export const currencyOptions = SUPPORTED_CURRENCIES.map((code) => ({ name: code, value: code }));

/** A choice among fixed values: n8n's options parameter, written once for the many small ones. */
export function optionsField(
	displayName: string,
	name: string,
	choices: Array<[name: string, value: string]>,
	defaultValue: string,
	description: string,
): INodeProperties {
	return {
		displayName,
		name,
		type: 'options',
		options: choices.map(([option, value]) => ({ name: option, value })),
		default: defaultValue,
		description,
	};
}

/** The amount and its currency, as Create Payment and Create QR take them. */
export const amountFields = (): INodeProperties[] => [
	{
		displayName: 'Amount',
		name: 'amount',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'e.g. 150.50',
		description: 'Amount in major units (baht, not satang), with at most 2 decimals for THB',
	},
	{
		displayName: 'Currency',
		name: 'currency',
		type: 'options',
		options: currencyOptions,
		default: 'THB',
	},
];

export const attachField = (): INodeProperties => ({
	displayName: 'Attach',
	name: 'attach',
	type: 'string',
	default: '',
	placeholder: 'e.g. {"customerId": 42}',
	description:
		'Your own data, returned as "attach" by Get Payment and the Ksher Trigger. An object from an expression is sent as compact JSON.',
});

export const notifyUrlField = (): INodeProperties => ({
	displayName: 'Notify URL',
	name: 'notifyUrl',
	type: 'string',
	default: '',
	placeholder: 'e.g. https://n8n.example/webhook/…/webhook',
	description:
		'Paste the Production URL of a Ksher Trigger node here to start a workflow when the customer pays. Empty: Ksher sends no notification.',
});

const PAYMENT_TYPE_HELP =
	'How the payment was created: with Create (a payment link) or with Create QR. Ksher keeps the two apart.';

/** What a payment was made with: its link (Create) or its QR (Create QR), which Ksher keeps apart. */
export const paymentTypeField = (): INodeProperties =>
	optionsField(
		'Payment Type',
		'paymentType',
		[
			['Payment Link', 'link'],
			['QR Code', 'qr'],
		],
		'link',
		PAYMENT_TYPE_HELP,
	);

/**
 * The Payment Type of operations that only read (Get, Watch for Changes), which also take Either for
 * a table of both kinds. Its own name: n8n carries a value over to another operation's parameter of
 * the same name, and Either must never reach a refund or a cancel.
 */
export const lookUpAsField = (): INodeProperties =>
	optionsField(
		'Payment Type',
		'lookUpAs',
		[
			['Payment Link', 'link'],
			['QR Code', 'qr'],
			['Either (Look It Up)', 'either'],
		],
		'link',
		`${PAYMENT_TYPE_HELP} Either: the payment link with this number, else the QR of the QR Channel (e.g. {{ $json.channel }} from a table of orders).`,
	);

/** The QR Channel field, shown when the named Payment Type field has one of the values (always when absent). */
export const qrChannelField = (
	description: string,
	shownFor?: { field: 'paymentType' | 'lookUpAs'; values: string[] },
): INodeProperties => ({
	displayName: 'QR Channel',
	name: 'qrChannel',
	type: 'options',
	options: QR_CHANNELS.map((value) => ({ name: channelName(value), value })),
	default: 'promptpay',
	description,
	...(shownFor ? { displayOptions: { show: { [shownFor.field]: shownFor.values } } } : {}),
});

/** How an operation finds its order: a payment link, a QR of a channel, or (reading only) either. */
export type OrderLookup = { type: 'link' } | { type: 'qr' | 'either'; channel: string };

/**
 * The item's Payment Type and QR Channel. Any other Payment Type (an expression giving "QR" or "")
 * is an error: a link and a QR are different orders.
 */
export function orderLookupParam(
	ctx: IExecuteFunctions,
	itemIndex: number,
	either = false,
): OrderLookup {
	const type = ctx.getNodeParameter(
		either ? 'lookUpAs' : 'paymentType',
		itemIndex,
		'link',
	) as unknown;
	if (type === 'link') return { type };
	if (type === 'qr')
		return { type, channel: stringParam(ctx, 'qrChannel', itemIndex, 'promptpay') };
	// Either with no channel (a row without one) looks for the payment link only.
	if (either && type === 'either')
		return { type, channel: stringParam(ctx, 'qrChannel', itemIndex, '').trim().toLowerCase() };
	throw new KsherInputError(
		'Payment Type',
		`Payment Type is ${type === undefined || type === '' ? 'empty' : `"${String(type)}"`}`,
		`Use "link" (made with Create Payment) or "qr" (made with Create QR)${either ? ', or "either"' : ''}.`,
	);
}

/** The QR Channel of a QR payment (Payment Type: QR Code); undefined for a payment link. */
export function qrChannelParam(ctx: IExecuteFunctions, itemIndex: number): string | undefined {
	const lookup = orderLookupParam(ctx, itemIndex);
	return lookup.type === 'qr' ? lookup.channel : undefined;
}

/** An order's state: a QR order lives on Ksher's api.mch host (order_query by channel), a payment link on its gateway. */
export async function queryOrder(
	client: KsherClient,
	orderNumber: string,
	lookup: OrderLookup,
): Promise<Record<string, unknown>> {
	if (lookup.type === 'qr') return await queryQrOrder(client, orderNumber, lookup.channel);
	if (lookup.type === 'either')
		return await queryLinkOrQrOrder(client, orderNumber, lookup.channel);
	return (await client.call('gateway_order_query', { mch_order_no: orderNumber })).data;
}

export function stringParam(
	ctx: IExecuteFunctions,
	name: string,
	itemIndex: number,
	fallback = '',
): string {
	const value = ctx.getNodeParameter(name, itemIndex, fallback) as unknown;
	if (value === undefined || value === null) return fallback;
	return typeof value === 'string' ? value : String(value);
}

export function orderNumberParam(ctx: IExecuteFunctions, itemIndex: number): string {
	return checkOrderNumber(ctx.getNodeParameter('orderNumber', itemIndex, '') as unknown);
}

/** Ksher's gateway results (gateway_order_query's `result`) in words a workflow can branch on. */
export function paymentStatus(result: string): string {
	switch (result) {
		case 'SUCCESS':
			return 'paid';
		case 'REFUND':
			return 'refunded';
		case 'CLOSED':
			return 'closed';
		case 'PAYERROR':
			return 'failed';
		case 'NOTSURE':
		case 'NOTPAY':
		case 'PENDING':
		case 'USERPAYING':
			return 'pending';
		default:
			return 'unknown';
	}
}

/** The simplified view of a gateway order, shared by Get and the refund operations. */
export function paymentSummary(orderNumber: string, data: Record<string, unknown>): IDataObject {
	const result = String(data.result ?? '');
	return { orderNumber, status: paymentStatus(result), result, ...orderFields(data) };
}

/**
 * n8n's Return All / Limit pair for a Get Many operation, and how many items a run may return
 * (Infinity for all).
 */
export const returnAllFields = (): INodeProperties[] => [
	{
		displayName: 'Return All',
		name: 'returnAll',
		type: 'boolean',
		default: true,
		description: 'Whether to return all results or only up to a given limit',
	},
	{
		displayName: 'Limit',
		name: 'limit',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 50,
		description: 'Max number of results to return',
		displayOptions: { show: { returnAll: [false] } },
	},
];

export function returnLimit(ctx: IExecuteFunctions, itemIndex: number): number {
	return (ctx.getNodeParameter('returnAll', itemIndex, true) as boolean)
		? Infinity
		: (ctx.getNodeParameter('limit', itemIndex, 50) as number);
}

export const simplifyField = (): INodeProperties => ({
	displayName: 'Simplify',
	name: 'simplify',
	type: 'boolean',
	default: true,
	description: 'Whether to return a simplified version of the response instead of the raw data',
});
