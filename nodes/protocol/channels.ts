/**
 * Gateway Pay channels (Ksher's gateway_pay page) with the names people know them by, and the
 * minimum amounts Ksher documents for them, in THB minor units.
 */
export interface ChannelInfo {
	value: string;
	name: string;
	/** Smallest amount Ksher accepts for this channel, in satang. */
	minimumMinor?: number;
	note?: string;
	/** False where Ksher's refund_query page says it cannot list the refunds ("Promptpay and Alipay not support this feature"). */
	refundList?: false;
}

export const GATEWAY_CHANNELS: readonly ChannelInfo[] = [
	{ value: 'promptpay', name: 'PromptPay', refundList: false },
	{ value: 'card', name: 'Credit/Debit Card' },
	{ value: 'truemoney', name: 'TrueMoney' },
	{ value: 'airpay', name: 'ShopeePay', note: 'not usable inside in-app browsers' },
	{ value: 'linepay', name: 'LINE Pay' },
	{ value: 'alipay', name: 'Alipay', refundList: false },
	{ value: 'alipayplus', name: 'Alipay+' },
	{ value: 'wechat', name: 'WeChat Pay', note: 'works only inside the WeChat browser on mobile' },
	{ value: 'atome', name: 'Atome', minimumMinor: 2000 },
	{ value: 'scb_easy', name: 'SCB Easy', minimumMinor: 2000, note: 'mobile only' },
	{ value: 'bbl_deeplink', name: 'Bualuang mBanking', minimumMinor: 2000, note: 'mobile only' },
	{ value: 'baybank_deeplink', name: 'Krungsri KMA', minimumMinor: 2000, note: 'mobile only' },
	{ value: 'kplus', name: 'K PLUS', minimumMinor: 2000, note: 'mobile only' },
	{ value: 'ktc_instal', name: 'KTC Instalment', minimumMinor: 300000 },
	{ value: 'kbank_instal', name: 'KBank Instalment', minimumMinor: 300000 },
	{ value: 'kcc_instal', name: 'Krungsri Instalment', minimumMinor: 300000 },
	{ value: 'kfc_instal', name: 'Krungsri First Choice Instalment', minimumMinor: 300000 },
];

export const INSTALMENT_CHANNELS = GATEWAY_CHANNELS.filter((c) => c.value.endsWith('_instal')).map(
	(c) => c.value,
);

const BY_VALUE = new Map(GATEWAY_CHANNELS.map((c) => [c.value, c]));

export function channelInfo(value: string): ChannelInfo | undefined {
	return BY_VALUE.get(value);
}

/** The name people know a channel by ("PromptPay" for promptpay); Ksher's code itself when it is not one we know. */
export function channelName(value: string): string {
	return BY_VALUE.get(value)?.name ?? value;
}

/** Whether Ksher can list a paid order's refunds (refund_query) for this channel. */
export function canListRefunds(channel: string): boolean {
	return BY_VALUE.get(channel)?.refundList !== false;
}
