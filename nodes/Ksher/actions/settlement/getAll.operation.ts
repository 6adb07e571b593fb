import {
	type IDataObject,
	type IExecuteFunctions,
	type INodeProperties,
	updateDisplayOptions,
} from 'n8n-workflow';

import {
	channelName,
	checkDate,
	dateInZone,
	GATEWAY_CHANNELS,
	KsherInputError,
	listSettlements,
	SUPPORTED_CURRENCIES,
	signedMajor,
	type KsherClient,
	type SettlementLine,
} from '../../../protocol';
import { returnAllFields, returnLimit, type OperationRunner } from '../common';

const properties: INodeProperties[] = [
	{
		displayName: 'From',
		name: 'fromDate',
		type: 'dateTime',
		default: '',
		description:
			"First trading day to report (a date; the time is ignored). Empty: yesterday in your Ksher account's time zone.",
	},
	{
		displayName: 'To',
		name: 'toDate',
		type: 'dateTime',
		default: '',
		description: 'Last trading day to report. Empty: the same day as From.',
	},
	{
		displayName: 'Channel',
		name: 'channel',
		type: 'options',
		options: [
			{ name: 'All Channels', value: '' },
			...GATEWAY_CHANNELS.map((c) => ({ name: c.name, value: c.value })),
		],
		default: '',
		description: "Only this channel's settlements",
	},
	...returnAllFields(),
];

export const description = updateDisplayOptions(
	{ show: { resource: ['settlement'], operation: ['getAll'] } },
	properties,
);

/** At most three years at once: 36 calls to Ksher. */
const MAX_RANGE_DAYS = 3 * 366;

/** A date parameter as the calendar date the user picked: YYYY-MM-DD, or the date part of n8n's date-time. */
function dateParam(
	ctx: IExecuteFunctions,
	name: string,
	label: string,
	itemIndex: number,
): string | undefined {
	const value = ctx.getNodeParameter(name, itemIndex, '') as unknown;
	const text =
		typeof value === 'string' ? value.trim() : value instanceof Date ? value.toISOString() : '';
	if (text === '') return undefined;
	const date = checkDate(text.slice(0, 10));
	if (!date)
		throw new KsherInputError(
			label,
			`${label} "${text}" is not a date`,
			'Pick a date, or write it as YYYY-MM-DD, e.g. 2026-11-30.',
		);
	return date;
}

/** What the account tells this operation once per execution: its settlement currency and time zone. */
interface AccountFacts {
	currency: string;
	timeZone: string;
}

async function accountFacts(client: KsherClient): Promise<AccountFacts> {
	const { data } = await client.call('merchant_info');
	const currency = String(data.settlement_fee_type || data.price_fee_type || 'THB').toUpperCase();
	return {
		currency: SUPPORTED_CURRENCIES.includes(currency) ? currency : 'THB',
		timeZone:
			typeof data.time_zone === 'string' && data.time_zone.trim() ? data.time_zone : 'Asia/Bangkok',
	};
}

/**
 * One line as a workflow uses it: the money in major units of the settlement currency (negative
 * kept), Ksher's integers unchanged beside them, and that Ksher's signature does not cover it.
 */
function settlementItem(line: SettlementLine, currency: string): IDataObject {
	return {
		tradingDayFrom: line.begin_date,
		tradingDayTo: line.end_date,
		settlementDate: line.settlement_date || null,
		transferDate: line.transfer_date || null,
		channel: line.pay_channel,
		channelName: channelName(line.pay_channel),
		currency,
		settlementAmount: signedMajor(line.settlement_amount, currency),
		commissionFee: signedMajor(line.commission_fee, currency),
		vat: signedMajor(line.vat, currency),
		transferAmount: signedMajor(line.transfer_amount, currency),
		ksher: {
			settlement_amount: line.settlement_amount,
			commission_fee: line.commission_fee,
			vat: line.vat,
			transfer_amount: line.transfer_amount,
		},
		linesSignedByKsher: false,
	};
}

function runnerWith(facts: () => Promise<AccountFacts>): OperationRunner {
	return async (ctx, client, itemIndex) => {
		const account = await facts();
		const from =
			dateParam(ctx, 'fromDate', 'From', itemIndex) ?? dateInZone(account.timeZone, new Date(), 1);
		const to = dateParam(ctx, 'toDate', 'To', itemIndex) ?? from;
		if (to < from)
			throw new KsherInputError(
				'To',
				`To (${to}) is before From (${from})`,
				'Swap the dates, or leave To empty for one day.',
			);
		const days = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000 + 1;
		if (days > MAX_RANGE_DAYS)
			throw new KsherInputError(
				'From',
				`${from} to ${to} is ${days} days; at most ${MAX_RANGE_DAYS} days are asked for at once`,
				'Report a shorter period, e.g. one month.',
			);
		const channel = String(ctx.getNodeParameter('channel', itemIndex, '') ?? '');
		const limit = returnLimit(ctx, itemIndex);
		const { lines } = await listSettlements(client, { from, to, channel: channel || undefined });
		return lines.slice(0, limit).map((line) => settlementItem(line, account.currency));
	};
}

/** Each item asks for its own range; the account's currency and time zone are asked for once. */
export const execute: OperationRunner = async (ctx, client, itemIndex) =>
	runnerWith(() => accountFacts(client))(ctx, client, itemIndex);

execute.prepare = async (_ctx, client) => {
	let facts: Promise<AccountFacts> | undefined;
	return runnerWith(() => (facts ??= accountFacts(client)));
};
