import { type IDataObject, type INodeProperties, updateDisplayOptions } from 'n8n-workflow';

import { channelName, QR_CHANNELS } from '../../../protocol';
import { simplifyField, type OperationRunner } from '../common';

// Ksher signs only part of this answer; that fact is in the README and in the item
// (signedByKsher), not a warning in the editor the user can do nothing about.
const properties: INodeProperties[] = [simplifyField()];

export const description = updateDisplayOptions(
	{ show: { resource: ['account'], operation: ['get'] } },
	properties,
);

const flag = (value: unknown) => (value === 'Y' ? true : value === 'N' ? false : null);
/** Ksher's limit as given: -1 means unlimited; Ksher does not document the unit, so it is not converted. */
const limit = (value: unknown) =>
	value === -1 || value === '-1'
		? null
		: typeof value === 'number' || typeof value === 'string'
			? value
			: null;

/** What merchant_info tells a workflow: the account, its channels with their limits and settlement cycle, refund rules. */
export function accountSummary(data: Record<string, unknown>): IDataObject {
	const names = (data.mch_name ?? {}) as Record<string, unknown>;
	const channels = Array.isArray(data.mch_support_channel)
		? (data.mch_support_channel as Array<Record<string, unknown>>)
		: [];
	return {
		appId: String(data.mch_appid ?? data.appid ?? ''),
		merchantId: String(data.mch_id ?? ''),
		merchantName: String(names.merchant_name ?? ''),
		shortName: String(names.mch_brief_name ?? ''),
		accountType: String(data.account_type ?? ''),
		businessMode: String(data.business_mode ?? ''),
		allowPartialRefunds: flag(data.allow_partial_refund),
		allowRemotePay: flag(data.allow_remote_pay),
		currency: String(data.price_fee_type ?? ''),
		timeZone: String(data.time_zone ?? ''),
		channels: channels.map((c) => ({
			channel: String(c.pay_channel ?? ''),
			channelName: channelName(String(c.pay_channel ?? '')),
			settlement: String(c.settlement_time_type ?? ''),
			singleOrderLimit: limit(c.single_order_limit),
			dailyLimit: limit(c.day_sum_limit),
		})),
		// The account's channels that Create QR can make a QR for. Whether Ksher enabled QR payments
		// (native_pay) for the account is not in merchant_info: Create QR's NOAUTH error says so.
		qrChannels: channels
			.map((c) => String(c.pay_channel ?? ''))
			.filter((channel) => QR_CHANNELS.includes(channel)),
		// Ksher's signature covers mobile, merchant ID, account type and business mode (and the nonce);
		// the channels, limits and refund settings arrive unsigned over HTTPS from Ksher's host.
		signedByKsher: ['merchantId', 'accountType', 'businessMode'],
	};
}

export const execute: OperationRunner = async (ctx, client, itemIndex) => {
	const simplify = ctx.getNodeParameter('simplify', itemIndex, true) as boolean;
	const { data } = await client.call('merchant_info');
	const summary = accountSummary(data);
	return [simplify ? summary : { ...summary, raw: data as IDataObject }];
};
