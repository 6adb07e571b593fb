import { renderValue } from './canonical';
import { channelInfo, GATEWAY_CHANNELS } from './channels';
import { KsherInputError } from './errors';

/** Ksher's field rules (its API pages, SDKs and error table), checked before anything is sent. */

/**
 * Ksher's merchant-chosen ids (mch_order_no, mch_refund_no): 1–32 printable ASCII characters,
 * no spaces. One rule for both; `example` shows the user a valid one.
 */
export function checkKsherId(value: unknown, field: string, example: string): string {
	const text =
		typeof value === 'string'
			? value.trim()
			: typeof value === 'number' && Number.isSafeInteger(value)
				? String(value)
				: '';
	if (text === '')
		throw new KsherInputError(
			field,
			`${field} is empty`,
			`Enter your own ${field.toLowerCase()}, e.g. ${example}.`,
		);
	if (text.length > 32) {
		throw new KsherInputError(
			field,
			`${field} "${text.slice(0, 40)}…" is ${text.length} characters long; Ksher allows at most 32`,
			`Use a shorter ${field.toLowerCase()}.`,
		);
	}
	if (!/^[\x21-\x7e]+$/.test(text)) {
		throw new KsherInputError(
			field,
			`${field} "${text}" contains spaces or characters other than plain letters, digits and punctuation`,
			`Use only A–Z, a–z, 0–9 and punctuation such as - _ . /, e.g. ${example}.`,
		);
	}
	return text;
}

export function checkOrderNumber(value: unknown, field = 'Order Number'): string {
	return checkKsherId(value, field, 'INV-1001');
}

export function checkUrl(value: unknown, field: string, required = true): string | undefined {
	const text = typeof value === 'string' ? value.trim() : '';
	if (text === '') {
		if (!required) return undefined;
		throw new KsherInputError(
			field,
			`${field} is empty`,
			'Enter a full URL starting with https://, e.g. https://shop.example/thank-you.',
		);
	}
	let url: URL | undefined;
	try {
		url = new URL(text);
	} catch {
		url = undefined;
	}
	if (!url || !/^https?:$/.test(url.protocol) || !url.hostname || /\s/.test(text)) {
		throw new KsherInputError(
			field,
			`${field} "${text.slice(0, 200)}" is not an absolute http(s) URL`,
			'Enter a full URL starting with https://, e.g. https://shop.example/thank-you.',
		);
	}
	// Plain URLs are sent as typed; others (Thai domains, unencoded characters) in their
	// standard encoded form, so that what Ksher receives is unambiguous.
	return /^[\x21-\x7e]+$/.test(text) ? text : url.href;
}

export function checkMemberId(value: unknown): string | undefined {
	const text =
		typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : '';
	if (text === '') return undefined;
	if (/^\d+$/.test(text)) {
		throw new KsherInputError(
			'Member ID',
			`Member ID "${text}" is only digits, which Ksher refuses`,
			'Add a prefix, e.g. cust-' + text + '.',
		);
	}
	if (text.length > 32)
		throw new KsherInputError(
			'Member ID',
			`Member ID is ${text.length} characters long; Ksher allows at most 32`,
			'Use a shorter customer identifier.',
		);
	return text;
}

/** Checks the channel list and, for THB, each channel's documented minimum amount. */
export function checkChannels(value: unknown, totalMinor: number, currency: string): string[] {
	const list = (Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [])
		.map((c) => String(c).trim().toLowerCase())
		.filter((c) => c !== '');
	const channels = [...new Set(list)];
	if (channels.length === 0) {
		throw new KsherInputError(
			'Channels',
			'No payment channel is selected',
			'Select at least one channel, e.g. PromptPay.',
		);
	}
	const unknown = channels.filter((c) => !channelInfo(c));
	if (unknown.length) {
		throw new KsherInputError(
			'Channels',
			`Unknown channel(s): ${unknown.join(', ')}`,
			`Use Ksher Gateway Pay channels: ${GATEWAY_CHANNELS.map((c) => c.value).join(', ')}.`,
		);
	}
	if (currency === 'THB') {
		for (const c of channels) {
			const info = channelInfo(c)!;
			if (info.minimumMinor !== undefined && totalMinor < info.minimumMinor) {
				throw new KsherInputError(
					'Channels',
					`${info.name} needs at least ${(info.minimumMinor / 100).toFixed(2)} THB, but the amount is ${(totalMinor / 100).toFixed(2)} THB`,
					`Remove ${info.name} from the channels for this amount, or raise the amount.`,
				);
			}
		}
	}
	return channels;
}

/** The merchant's own `attach` data as sent: text as typed, an object from an expression as compact JSON. */
export function attachText(value: unknown): string | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	return typeof value === 'string' ? value : renderValue(value);
}

/** Parses text that may hold JSON; returns it unchanged when it does not. */
export function parseMaybeJson(value: unknown): unknown {
	if (typeof value !== 'string') return value;
	const text = value.trim();
	if (!/^[[{]/.test(text)) return value;
	try {
		return JSON.parse(text);
	} catch {
		return value;
	}
}

export function checkAppId(appId: unknown): string {
	const value = typeof appId === 'string' ? appId.trim() : '';
	if (!/^mch[0-9A-Za-z_-]{1,29}$/.test(value)) {
		throw new KsherInputError(
			'App ID',
			value === ''
				? 'The App ID is empty'
				: `The App ID "${value.slice(0, 40)}" does not look like a Ksher app id`,
			'Use the app id shown in the Ksher merchant portal, "mch" followed by your merchant number, e.g. mch35000.',
		);
	}
	return value;
}

export function checkBaseUrl(url: unknown, field: string): string {
	const value = typeof url === 'string' ? url.trim().replace(/\/+$/, '') : '';
	let parsed: URL | undefined;
	try {
		parsed = new URL(value);
	} catch {
		parsed = undefined;
	}
	if (!parsed || !/^https?:$/.test(parsed.protocol)) {
		throw new KsherInputError(
			field,
			`${field} "${value}" is not an http(s) URL`,
			'Enter a full base URL, e.g. http://127.0.0.1:8866/api for the local simulator.',
		);
	}
	return value;
}
