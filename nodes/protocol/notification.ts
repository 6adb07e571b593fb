import type { KeyObject } from 'crypto';

import { isPlainObject, verifyData } from './signature';
import type { WatchEvent } from './watch';

/** The only answer Ksher accepts as "received" (Ksher's notify page); anything else is retried for ~29 hours. */
export const NOTIFICATION_ACK = '{"result":"SUCCESS","msg":"OK"}';

/**
 * The replay window: a notification paid (time_end) longer ago than this is acknowledged and
 * starts no run, so that a captured notification replayed next month does nothing. Ksher polls a
 * payment's state for up to 2 hours before notifying, then retries for about 29 hours (1 s … 12 h):
 * its last genuine delivery comes about 31 hours after the payment. 48 hours leaves 17 hours for
 * clocks that disagree and for a Ksher that is late. The trigger's memory covers the window whole.
 */
export const REPLAY_WINDOW_MS = 48 * 3600_000;

/** A Ksher time (Bangkok wall-clock time, "YYYY-MM-DD HH:MM:SS") as epoch ms; undefined when unreadable. */
function bangkokTime(value: unknown): number | undefined {
	const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)$/.exec(String(value ?? '').trim());
	if (!m) return undefined;
	const at = Date.parse(`${m[1]}T${m[2]}+07:00`);
	return Number.isNaN(at) ? undefined : at;
}

/** When the payment was made, from Ksher's time_end; undefined when unreadable. */
export function paymentTime(data: Record<string, unknown>): number | undefined {
	return bangkokTime(data.time_end);
}

/**
 * Whether a notification is older than the replay window: by its refund time for a refund
 * (a payment may be refunded long after it was made), else by its payment time. One with
 * neither is not (its signature still had to be valid).
 */
export function outsideReplayWindow(data: Record<string, unknown>, now = Date.now(), windowMs = REPLAY_WINDOW_MS): boolean {
	const at = (String(data.result ?? '') === 'REFUND' ? bangkokTime(data.refund_time) : undefined) ?? paymentTime(data);
	return at !== undefined && now - at > windowMs;
}

/** Real notifications are well under 2 KiB; anything far larger is not from Ksher. */
export const MAX_NOTIFICATION_BYTES = 64 * 1024;

export type NotificationEvent = 'paid' | 'refunded' | 'other';

export type NotificationCheck =
	| { ok: true; data: Record<string, unknown>; envelope: Record<string, unknown>; event: NotificationEvent; dedupeKey: string }
	| { ok: false; status: 400 | 401; reason: string };

export function notificationEvent(envelope: Record<string, unknown>, data: Record<string, unknown>): NotificationEvent {
	if (envelope.code !== 0 && envelope.code !== '0') return 'other';
	const result = String(data.result ?? '');
	const refundShaped = ['mch_refund_no', 'ksher_refund_no', 'refund_fee', 'refund_orders'].some((k) => k in data);
	if (result === 'REFUND' || (refundShaped && result !== 'FAIL')) return 'refunded';
	if (result === 'SUCCESS') return 'paid';
	return 'other';
}

/**
 * What makes two deliveries "the same notification": merchant, order, event (and refund number for refunds).
 * Payment → Watch for Changes keys its changes the same way, so one workflow can handle both sources.
 */
export function notificationKey(data: Record<string, unknown>, event: NotificationEvent | WatchEvent): string {
	const refund = event === 'refunded' ? String(data.mch_refund_no ?? data.ksher_refund_no ?? '') : '';
	const other = event === 'other' ? String(data.result ?? '') : '';
	return [data.appid, data.mch_order_no, event, refund || other].map((v) => String(v ?? '')).join('|');
}

export type VerifiedBody =
	| { ok: true; data: Record<string, unknown>; envelope: Record<string, unknown> }
	| { ok: false; status: 400 | 401; reason: string };

/** Parses a body exactly as it arrived and verifies Ksher's signature over its `data`. */
export function verifyNotificationBody(raw: string | Buffer | undefined, publicKey: KeyObject, maxBytes = MAX_NOTIFICATION_BYTES): VerifiedBody {
	const size = raw === undefined ? 0 : typeof raw === 'string' ? raw.length : raw.byteLength;
	if (size === 0) return { ok: false, status: 400, reason: 'empty body' };
	// A string's UTF-8 form is at most three bytes per UTF-16 unit: count exactly only when it matters.
	if ((typeof raw === 'string' && size * 3 > maxBytes ? Buffer.byteLength(raw) : size) > maxBytes) return { ok: false, status: 400, reason: 'body too large' };
	let envelope: unknown;
	try {
		envelope = JSON.parse(typeof raw === 'string' ? raw : (raw as Buffer).toString('utf8'));
	} catch {
		envelope = undefined;
	}
	if (!isPlainObject(envelope)) return { ok: false, status: 400, reason: 'body is not a JSON object' };
	if (!isPlainObject(envelope.data)) return { ok: false, status: 400, reason: 'no "data" object' };
	if (typeof envelope.sign !== 'string' || envelope.sign === '') return { ok: false, status: 401, reason: 'unsigned notification' };
	if (!verifyData(envelope.data, envelope.sign, publicKey)) return { ok: false, status: 401, reason: 'signature invalid' };
	return { ok: true, data: envelope.data, envelope };
}

/**
 * The fields of Ksher's payment notification (its notify page and SDKs), of refund-shaped and of failed
 * data. Only documented data fields: request parameters such as lang are left out, because
 * a URL in Attach may well hold "lang=" while no notification carries lang.
 */
const NOTIFICATION_FIELDS = [
	'appid', 'attach', 'cash_fee', 'cash_fee_type', 'channel', 'channel_order_no', 'fee_type', 'ksher_order_no', 'mch_order_no',
	'nonce_str', 'openid', 'pay_mch_order_no', 'rate', 'result', 'time_end', 'total_fee',
	'mch_refund_no', 'ksher_refund_no', 'channel_refund_no', 'refund_fee', 'mch_refund_fee', 'refund_state', 'refund_time', 'refund_orders', 'refund_count',
	'err_code', 'err_msg',
];

/**
 * Ksher's canonical string has no separators, so {a: "1", b: "2"}, {a: "1b=2"} and
 * {"a=1b": "2"} sign the same bytes: a captured genuine notification could be re-shaped
 * (a field folded into the one before it gives a new order number, a missing field) and
 * still verify. Ksher's field names never hold "=", and its values never hold the "name="
 * of one of its fields in that field's place: either one is a re-shaped notification.
 * Returns what gives it away, or undefined.
 */
export function reshapedContent(data: Record<string, unknown>): string | undefined {
	for (const key of Object.keys(data)) {
		if (key.includes('=')) return `field name "${key.slice(0, 40)}" holds "="`;
		const value = data[key];
		if (typeof value !== 'string' || !value.includes('=')) continue;
		for (const name of NOTIFICATION_FIELDS) {
			if (!Object.prototype.hasOwnProperty.call(data, name) && value.includes(`${name}=`)) return `${key} holds the missing field ${name}`;
		}
	}
	return undefined;
}

/**
 * Checks a notification body exactly as it arrived: size, JSON, envelope shape, Ksher's
 * signature over `data` with the given key, that its fields were not re-shaped within
 * the signed text, and that it is for this merchant.
 */
export function checkNotification(raw: string | Buffer | undefined, options: { publicKey: KeyObject; appId: string; maxBytes?: number }): NotificationCheck {
	const verified = verifyNotificationBody(raw, options.publicKey, options.maxBytes);
	if (!verified.ok) return verified;
	const { data, envelope } = verified;
	const reshaped = reshapedContent(data);
	if (reshaped) return { ok: false, status: 401, reason: `signed fields re-shaped: ${reshaped}` };
	if (String(data.appid ?? '') !== options.appId) return { ok: false, status: 401, reason: 'notification is for another merchant' };
	const event = notificationEvent(envelope, data);
	return { ok: true, data, envelope, event, dedupeKey: notificationKey(data, event) };
}
