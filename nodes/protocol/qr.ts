import { checkCurrency, fromMinorUnits, toMinorUnits } from './amounts';
import { channelName } from './channels';
import type { KsherClient } from './client';
import { KsherApiError, KsherInputError, KsherTransportError } from './errors';
import { attachText, checkOrderNumber, checkUrl } from './validation';

/**
 * QR payments (Ksher's native_pay on the api.mch host, "C scan B"): Ksher answers with the QR
 * as a PNG (`imgdat`, a data URL) and as its payload text (`code_url`, also `PaymentCode`), both
 * inside the signed `data`. The order then lives on the api.mch side: order_query (which needs
 * the channel) and order_close, not the gateway's calls.
 */

/**
 * The channels a QR can be made for: the channel values Ksher's order_query page lists for
 * api.mch orders (native_pay's own page could not be read). PromptPay is the one with public
 * evidence (Ksher's SDK README and a signed answer); order_close names only some of them.
 */
export const QR_CHANNELS: readonly string[] = [
	'promptpay',
	'truemoney',
	'airpay',
	'linepay',
	'alipay',
	'alipayplus',
	'wechat',
];

/** The channels Ksher's order_close page lists (it also lists ktbcard, not a QR channel). */
export const QR_CLOSABLE_CHANNELS: readonly string[] = ['airpay', 'alipay', 'alipayplus', 'wechat'];

/** Ksher's QRs are for a sale in progress: a day is the longest a shop should keep one payable. */
export const QR_MAX_MINUTES = 1440;
export const QR_DEFAULT_MINUTES = 15;

/** ISO 4217 numeric codes, for EMVCo tag 53 (the payload's currency). */
export const NUMERIC_CURRENCY: Readonly<Record<string, string>> = {
	THB: '764',
	USD: '840',
	MYR: '458',
	CNY: '156',
	AED: '784',
	JPY: '392',
};

export interface QrInput {
	orderNumber: unknown;
	/** Major units as typed ("150.50"), converted exactly (amounts.ts). */
	amount: unknown;
	currency?: unknown;
	channel?: unknown;
	notifyUrl?: unknown;
	expiresAfterMinutes?: unknown;
	/** Your own data: text as is, an object as compact JSON. */
	attach?: unknown;
	/** What the customer pays for (Ksher's `product`). */
	productName?: unknown;
}

export interface QrRequest {
	orderNumber: string;
	totalMinor: number;
	currency: string;
	channel: string;
	expiresAfterMinutes: number;
	params: Record<string, unknown>;
}

export function checkQrChannel(value: unknown, field = 'QR Channel'): string {
	const channel = typeof value === 'string' ? value.trim().toLowerCase() : '';
	if (!QR_CHANNELS.includes(channel))
		throw new KsherInputError(
			field,
			channel === ''
				? `${field} is empty`
				: `${field} "${String(value)}" is not a channel Ksher makes QR codes for`,
			`Use one of: ${QR_CHANNELS.join(', ')} (PromptPay for Thai banking apps).`,
		);
	return channel;
}

function checkExpiry(value: unknown): number {
	const minutes = value === undefined || value === '' ? QR_DEFAULT_MINUTES : value;
	if (
		typeof minutes !== 'number' ||
		!Number.isInteger(minutes) ||
		minutes < 1 ||
		minutes > QR_MAX_MINUTES
	)
		throw new KsherInputError(
			'Expires After (Minutes)',
			`Expires After (Minutes) must be a whole number from 1 to ${QR_MAX_MINUTES}, got ${JSON.stringify(minutes)}`,
			`Enter e.g. ${QR_DEFAULT_MINUTES}.`,
		);
	return minutes;
}

/** Checks everything a QR needs and builds native_pay's parameters; nothing is sent here. */
export function buildQrRequest(input: QrInput): QrRequest {
	const orderNumber = checkOrderNumber(input.orderNumber);
	const currency = checkCurrency(input.currency ?? 'THB');
	const totalMinor = toMinorUnits(input.amount, currency);
	const channel = checkQrChannel(input.channel ?? 'promptpay');
	if (channel === 'promptpay' && currency !== 'THB')
		throw new KsherInputError(
			'Currency',
			`PromptPay takes only THB, not ${currency}`,
			'Choose THB, or another channel for this currency.',
		);
	const notify = checkUrl(input.notifyUrl, 'Notify URL', false);
	const expiresAfterMinutes = checkExpiry(input.expiresAfterMinutes);
	const product = typeof input.productName === 'string' ? input.productName.trim() : '';
	return {
		orderNumber,
		totalMinor,
		currency,
		channel,
		expiresAfterMinutes,
		params: {
			mch_order_no: orderNumber,
			total_fee: totalMinor,
			fee_type: currency,
			channel,
			notify_url: notify,
			// The unit of native_pay's expire_time is not documented anywhere we could read; the one
			// integration that sends it sends 600 for ten minutes, i.e. seconds. The user gives minutes
			// and we send seconds: if Ksher counted minutes instead, the QR would stay payable longer
			// (a late payment is still notified and can be refunded), never vanish before the customer
			// can pay. The output's expiresAt is what we asked for, counted from before the call.
			expire_time: expiresAfterMinutes * 60,
			product: product || undefined,
			attach: attachText(input.attach),
		},
	};
}

/** CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection), as EMVCo tag 63 carries it. */
export function crc16CcittFalse(text: string): string {
	let crc = 0xffff;
	for (const byte of Buffer.from(text, 'utf8')) {
		crc ^= byte << 8;
		for (let bit = 0; bit < 8; bit++)
			crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
	}
	return crc.toString(16).toUpperCase().padStart(4, '0');
}

/** One EMVCo field: two-digit tag, two-digit length, value. */
export function emvField(tag: string, value: string): string {
	return `${tag}${String(value.length).padStart(2, '0')}${value}`;
}

/** A payload's top-level fields, or a reason it is not a well-formed EMVCo payload with a right CRC. */
export function parseEmvPayload(payload: string): Map<string, string> | string {
	const fields = parseEmvFields(payload);
	if (typeof fields === 'string') return fields;
	const crc = fields.get('63');
	if (crc === undefined || crc.length !== 4) return 'it has no CRC (tag 63)';
	const expected = crc16CcittFalse(payload.slice(0, -4));
	if (crc.toUpperCase() !== expected)
		return `its CRC (tag 63) is ${crc}, but its content gives ${expected}`;
	return fields;
}

/** EMVCo tag-length-value fields (a payload, or a template inside one such as tag 30). */
function parseEmvFields(payload: string): Map<string, string> | string {
	const fields = new Map<string, string>();
	let at = 0;
	while (at < payload.length) {
		const head = /^(\d\d)(\d\d)/.exec(payload.slice(at, at + 4));
		if (!head) return `its field at position ${at} is not an EMVCo tag and length`;
		const [, tag, length] = head;
		const value = payload.slice(at + 4, at + 4 + Number(length));
		if (value.length !== Number(length)) return `its field ${tag} is cut short`;
		if (fields.has(tag)) return `its field ${tag} appears twice`;
		fields.set(tag, value);
		at += 4 + value.length;
		if (tag === '63' && at !== payload.length) return 'it has fields after its CRC (tag 63)';
	}
	return fields;
}

const PROMPTPAY_BILL_AID = 'A000000677010112';

/**
 * A Ksher PromptPay QR is a bill payment to Ksher (tag 30, PromptPay's bill-payment AID) whose
 * reference 1 is this order at Ksher: the real signed answer's ref1 is its ksher_order_no without
 * the first three digits, so ref1 must end ksher_order_no. A transfer to a phone or ID (tag 29), or
 * another order's bill, is refused. Undefined when the payee is this order.
 */
function billPayee(merchant: string | undefined, ksherOrderNo: string): string | undefined {
	const sub = merchant === undefined ? 'missing' : parseEmvFields(merchant);
	if (typeof sub === 'string' || sub.get('00') !== PROMPTPAY_BILL_AID)
		return 'has a PromptPay QR that is not a bill payment to Ksher (tag 30)';
	const ref1 = sub.get('02') ?? '';
	if (ksherOrderNo !== '' && (ref1.length < 10 || !ksherOrderNo.endsWith(ref1)))
		return `has a PromptPay QR for reference ${ref1 || '(none)'}, not Ksher order ${ksherOrderNo}`;
	return undefined;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The PNG bytes of Ksher's `imgdat`, or a reason they cannot be used. */
export function decodeQrImage(imgdat: unknown): Buffer | string {
	const text = typeof imgdat === 'string' ? imgdat.trim() : '';
	const match = /^data:image\/png;base64,([A-Za-z0-9+/\s]*={0,2})$/.exec(text);
	if (!match) return 'its QR image is not a base64 PNG data URL';
	const png = Buffer.from(match[1].replace(/\s+/g, ''), 'base64');
	if (png.length <= PNG_SIGNATURE.length || !png.subarray(0, 8).equals(PNG_SIGNATURE))
		return 'its QR image is not a PNG';
	return png;
}

export interface QrPayment {
	orderNumber: string;
	ksherOrderNumber: string | null;
	amount: string;
	totalMinor: number;
	currency: string;
	channel: string;
	channelName: string;
	/** The QR's text (EMVCo for PromptPay): what the image encodes, for apps that draw their own QR. */
	qrPayload: string;
	png: Buffer;
	expiresAfterMinutes: number;
	/** When the QR stops being payable: our clock before the call plus the expiry we asked for. */
	expiresAt: string;
	data: Record<string, unknown>;
}

function text(value: unknown): string {
	return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}

/** Why a signed answer cannot be used as the QR that was asked for; undefined when it can. */
function answerProblem(request: QrRequest, data: Record<string, unknown>): string | undefined {
	const result = text(data.result);
	if (result !== 'SUCCESS') return `does not confirm the QR (result "${result}")`;
	if (text(data.mch_order_no) !== request.orderNumber)
		return `is for order "${text(data.mch_order_no)}", not ${request.orderNumber}`;
	const total = data.total_fee;
	const totalText =
		typeof total === 'number' && Number.isSafeInteger(total)
			? String(total)
			: typeof total === 'string' && /^\d+$/.test(total)
				? total
				: undefined;
	if (totalText !== String(request.totalMinor))
		return `is for ${JSON.stringify(total)} minor units, not ${request.totalMinor}`;
	if (data.fee_type !== undefined && data.fee_type !== request.currency)
		return `is in ${text(data.fee_type)}, not ${request.currency}`;
	if (data.PaymentID !== undefined && data.ksher_order_no !== undefined)
		if (text(data.PaymentID) !== text(data.ksher_order_no))
			return `names two Ksher orders (PaymentID ${text(data.PaymentID)}, ksher_order_no ${text(data.ksher_order_no)})`;
	const payload = text(data.code_url) || text(data.PaymentCode);
	if (payload === '') return 'has no QR payload (code_url)';
	if (data.PaymentCode !== undefined && data.code_url !== undefined && data.PaymentCode !== payload)
		return 'has two different QR payloads (code_url and PaymentCode)';
	// PromptPay's payload is EMVCo; other wallets' may be a link, which carries no amount to check
	// (the signed total_fee above is then the check). An EMVCo payload is checked whatever the channel.
	if (request.channel === 'promptpay' || payload.startsWith('000201')) {
		const fields = parseEmvPayload(payload);
		if (typeof fields === 'string') return `has a QR payload that is not valid: ${fields}`;
		const amount = fields.get('54');
		let minor: number | undefined;
		try {
			minor = amount === undefined ? undefined : toMinorUnits(amount, request.currency);
		} catch {
			minor = undefined;
		}
		if (minor !== request.totalMinor)
			return `has a QR for ${amount === undefined ? 'no amount' : `${amount} ${request.currency}`} (tag 54), not ${fromMinorUnits(request.totalMinor, request.currency)}`;
		const currency = fields.get('53');
		if (currency !== undefined && currency !== NUMERIC_CURRENCY[request.currency])
			return `has a QR in currency ${currency} (tag 53), not ${request.currency}`;
		if (request.channel === 'promptpay') {
			const payee = billPayee(fields.get('30'), text(data.ksher_order_no));
			if (payee) return payee;
		}
	}
	const png = decodeQrImage(data.imgdat);
	if (typeof png === 'string') return `has no usable QR image: ${png}`;
	return undefined;
}

/**
 * Creates the QR and hands it back only when Ksher's answer is verified (the client checks the
 * signature and nonce) and is the QR asked for: confirmed, our order number, our amount in
 * total_fee and in the payload (tag 54), a right CRC (tag 63) and a PNG image. Otherwise an error
 * saying what did not match; Ksher may then hold an unpaid order under this number.
 */
export async function createQr(
	client: KsherClient,
	input: QrInput | QrRequest,
	now = new Date(),
): Promise<QrPayment> {
	const request = 'params' in input ? input : buildQrRequest(input);
	const { data } = await client.call('native_pay', request.params);
	const problem = answerProblem(request, data);
	if (problem)
		throw new KsherTransportError(
			'answer-mismatch',
			`Ksher's answer to Create QR ${problem}, so the QR was not used; Ksher may hold an unpaid order ${request.orderNumber}`,
			'Do not send a QR for this order. Check it with Payment → Get (QR), create the QR again with a new order number, and tell Ksher support if this happens again.',
			'native_pay',
			true,
		);
	return {
		orderNumber: request.orderNumber,
		ksherOrderNumber: text(data.ksher_order_no) || null,
		amount: fromMinorUnits(request.totalMinor, request.currency),
		totalMinor: request.totalMinor,
		currency: request.currency,
		channel: request.channel,
		channelName: channelName(request.channel),
		qrPayload: text(data.code_url) || text(data.PaymentCode),
		png: decodeQrImage(data.imgdat) as Buffer,
		expiresAfterMinutes: request.expiresAfterMinutes,
		expiresAt: new Date(now.getTime() + request.expiresAfterMinutes * 60_000).toISOString(),
		data,
	};
}

/**
 * An order that may be a payment link or a QR: the gateway's record of a link with this number;
 * when the gateway refuses it and `channel` is one QR payments use, the QR order of that channel
 * (order_query). For reading only: a refund names its order's type (a guess never moves money).
 */
export async function queryLinkOrQrOrder(
	client: KsherClient,
	orderNumber: string,
	channel: string,
): Promise<Record<string, unknown>> {
	const link = await client.call('gateway_order_query', { mch_order_no: orderNumber }).then(
		({ data }) => ({ data }),
		(error: unknown) => ({ error }),
	);
	if ('data' in link) return link.data;
	if (link.error instanceof KsherApiError && QR_CHANNELS.includes(channel))
		return await queryQrOrder(client, orderNumber, channel);
	throw link.error;
}

/** A QR order's state: order_query on the api.mch host, which needs the order's channel. */
export async function queryQrOrder(
	client: KsherClient,
	orderNumber: unknown,
	channel: unknown,
): Promise<Record<string, unknown>> {
	const params = {
		mch_order_no: checkOrderNumber(orderNumber),
		channel: checkQrChannel(channel),
	};
	const { data } = await client.call('order_query', params);
	const problem = otherOrder(data, params);
	if (problem)
		throw new KsherTransportError(
			'answer-mismatch',
			`Ksher's answer to the QR payment lookup ${problem}, so it says nothing about order ${params.mch_order_no}`,
			'Look the order up again; if this happens again, tell Ksher support.',
			'order_query',
			false,
		);
	return data;
}

/** A signed answer about another order (or channel) than the one asked about; undefined when it is this one. */
function otherOrder(
	data: Record<string, unknown>,
	asked: { mch_order_no: string; channel: string },
): string | undefined {
	if (text(data.mch_order_no) !== asked.mch_order_no)
		return `is for order "${text(data.mch_order_no)}"`;
	if (data.channel !== undefined && text(data.channel) !== asked.channel)
		return `is for channel "${text(data.channel)}", not ${asked.channel}`;
	return undefined;
}

/**
 * Closes an unpaid QR order (order_close). Ksher's order_close page lists only some channels;
 * for the others (PromptPay among them) nothing is sent and the error says what to do instead.
 */
export async function closeQrOrder(
	client: KsherClient,
	orderNumber: unknown,
	channel: unknown,
): Promise<void> {
	const params = {
		mch_order_no: checkOrderNumber(orderNumber),
		channel: checkQrChannel(channel),
	};
	if (!QR_CLOSABLE_CHANNELS.includes(params.channel))
		throw new KsherInputError(
			'QR Channel',
			`Ksher cannot cancel a ${channelName(params.channel)} QR: its order_close takes ${QR_CLOSABLE_CHANNELS.map(channelName).join(', ')} only`,
			"The QR stops accepting payment when it expires (Create QR's expiresAt). If the customer pays it anyway, the payment is notified as any other.",
		);
	const { data } = await client.call('order_close', params);
	// Only a SUCCESS for this very order means it is closed; anything else (NOTSURE, no result, another
	// order) leaves the QR possibly payable, which the shop must not be told is cancelled.
	const problem =
		text(data.result) !== 'SUCCESS'
			? `does not confirm it (result "${text(data.result)}")`
			: otherOrder({ ...data, channel: undefined }, params);
	if (problem)
		throw new KsherTransportError(
			'answer-mismatch',
			`Ksher's answer to Cancel Payment ${problem}, so QR order ${params.mch_order_no} may still be payable`,
			'Check it with Payment → Get (Payment Type: QR Code) and cancel again; it stops accepting payment when it expires.',
			'order_close',
			true,
		);
}
