import type { KeyObject } from 'crypto';

import { isPlainObject, verifyData } from './signature';
import type { WatchEvent } from './watch';

/** The only answer Ksher accepts as "received" (Ksher's notify page); anything else is retried for ~29 hours. */
export const NOTIFICATION_ACK = '{"result":"SUCCESS","msg":"OK"}';

/**
 * The replay window: a notification whose time (below) is longer ago than this is acknowledged and
 * starts no run, so that a captured notification replayed next month does nothing. Ksher polls a
 * payment's state for up to 2 hours before notifying, then retries for about 29 hours (1 s … 12 h):
 * its last genuine delivery comes about 31 hours after the payment. 48 hours leaves 17 hours for
 * clocks that disagree and for a Ksher that is late. The trigger's memory covers the window whole.
 */
export const REPLAY_WINDOW_MS = 48 * 3600_000;

/** The format of Ksher's times, as said in refusals. */
const KSHER_TIME_FORMAT = 'YYYY-MM-DD HH:MM:SS';

/** A Ksher time (Bangkok wall-clock time, "YYYY-MM-DD HH:MM:SS") as epoch ms; undefined when unreadable. */
export function bangkokTime(value: unknown): number | undefined {
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
 * Where a notification stands against the replay window:
 * - inside: run it (if the memory does not know it), and remember it until `at` has left the window;
 * - outside: older than the window, a replay: acknowledged, no run;
 * - refused: no time the window can be measured from (missing, not Ksher's format): not acknowledged,
 *   and `reason` names the field.
 * `field` is the field the time was read from, `at` that time (epoch ms).
 */
export type ReplayWindowCheck =
	| { verdict: 'inside' | 'outside'; field: 'time_end' | 'refund_time'; at: number }
	| { verdict: 'refused'; field: string; reason: string };

/** A field's value as said in a refusal: short, quoted, and "missing" when absent. */
function shown(data: Record<string, unknown>, field: string): string {
	if (
		!Object.prototype.hasOwnProperty.call(data, field) ||
		data[field] === undefined ||
		data[field] === null
	)
		return `${field} is missing`;
	const text =
		typeof data[field] === 'string' ? (data[field] as string) : JSON.stringify(data[field]);
	return `${field} ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)}`;
}

/**
 * Where a notification stands against the replay window (ReplayWindowCheck), measured by its own
 * kind, as the trigger classifies it (notificationEvent): a refund from its refund_time (a payment
 * may be refunded long after it was made), falling back to the payment's time_end when refund_time
 * is unreadable (earlier than the refund, so such a refund leaves the window sooner, never later);
 * anything else from time_end.
 *
 * Why a notification without a readable time is refused rather than run: the window can never
 * refuse it, while the trigger's memory of it is bounded and lets it go (50 hours after its claim),
 * so a replay of the same signed body after that ran again. Refused, it never runs: it fails closed,
 * loudly (not acknowledged, so Ksher retries and n8n logs each refusal, naming the field), and the
 * payment still reaches the workflow through Payment → Watch for Changes, or Payment → Get. Asking
 * Ksher for the time instead (gateway_order_query) was weighed and not done: an order's time_end in
 * Ksher's answers is not shown to stay the payment time (R6, a partly refunded order's refund_query
 * answer, carries its first refund's time as time_end), so a replay could be given a later time than
 * the first delivery was and run again once the memory let it go; and the guarantee would depend on
 * Ksher being reachable. Ksher's notifications carry time_end.
 *
 * A time ahead of this server's clock is not refused (a clock that disagrees must not lose payments):
 * the trigger's memory keeps such a notification until that time has left the window (the ledger's
 * `dated` entries), so it cannot run again either.
 */
export function replayWindow(
	data: Record<string, unknown>,
	event: NotificationEvent,
	now = Date.now(),
	windowMs = REPLAY_WINDOW_MS,
): ReplayWindowCheck {
	const refundAt = event === 'refunded' ? bangkokTime(data.refund_time) : undefined;
	const field = refundAt !== undefined ? 'refund_time' : 'time_end';
	const at = refundAt ?? paymentTime(data);
	if (at === undefined) {
		const fields =
			event === 'refunded'
				? `${shown(data, 'refund_time')} and ${shown(data, 'time_end')}`
				: shown(data, 'time_end');
		const names = event === 'refunded' ? 'neither is' : 'not';
		return {
			verdict: 'refused',
			field: event === 'refunded' ? 'refund_time' : 'time_end',
			reason: `${fields}: ${names} a Ksher time (${KSHER_TIME_FORMAT}), so a replay could not be told from a new notification`,
		};
	}
	return { verdict: now - at > windowMs ? 'outside' : 'inside', field, at };
}

/**
 * Whether a notification is older than the replay window (replayWindow's "outside"), measured by its
 * kind (by default as classified from its data alone, as a notification with code 0).
 */
export function outsideReplayWindow(
	data: Record<string, unknown>,
	now = Date.now(),
	windowMs = REPLAY_WINDOW_MS,
	event = notificationEvent({ code: 0 }, data),
): boolean {
	return replayWindow(data, event, now, windowMs).verdict === 'outside';
}

/** Real notifications are well under 2 KiB; anything far larger is not from Ksher. */
export const MAX_NOTIFICATION_BYTES = 64 * 1024;

export type NotificationEvent = 'paid' | 'refunded' | 'other';

export type NotificationCheck =
	| {
			ok: true;
			data: Record<string, unknown>;
			envelope: Record<string, unknown>;
			event: NotificationEvent;
			dedupeKey: string;
	  }
	| { ok: false; status: 400 | 401; reason: string };

export function notificationEvent(
	envelope: Record<string, unknown>,
	data: Record<string, unknown>,
): NotificationEvent {
	if (envelope.code !== 0 && envelope.code !== '0') return 'other';
	const result = String(data.result ?? '');
	const refundShaped = ['mch_refund_no', 'ksher_refund_no', 'refund_fee', 'refund_orders'].some(
		(k) => k in data,
	);
	if (result === 'REFUND' || (refundShaped && result !== 'FAIL')) return 'refunded';
	if (result === 'SUCCESS') return 'paid';
	return 'other';
}

/**
 * What makes two deliveries "the same notification": merchant, order, event (and refund number for refunds).
 * Payment → Watch for Changes keys its changes the same way, so one workflow can handle both sources.
 */
export function notificationKey(
	data: Record<string, unknown>,
	event: NotificationEvent | WatchEvent,
): string {
	const refund =
		event === 'refunded' ? String(data.mch_refund_no ?? data.ksher_refund_no ?? '') : '';
	const other = event === 'other' ? String(data.result ?? '') : '';
	return [data.appid, data.mch_order_no, event, refund || other]
		.map((v) => String(v ?? ''))
		.join('|');
}

export type VerifiedBody =
	| { ok: true; data: Record<string, unknown>; envelope: Record<string, unknown> }
	| { ok: false; status: 400 | 401; reason: string };

/** Parses a body exactly as it arrived and verifies Ksher's signature over its `data`. */
export function verifyNotificationBody(
	raw: string | Buffer | undefined,
	publicKey: KeyObject,
	maxBytes = MAX_NOTIFICATION_BYTES,
): VerifiedBody {
	const size = raw === undefined ? 0 : typeof raw === 'string' ? raw.length : raw.byteLength;
	if (size === 0) return { ok: false, status: 400, reason: 'empty body' };
	// A string's UTF-8 form is at most three bytes per UTF-16 unit: count exactly only when it matters.
	if ((typeof raw === 'string' && size * 3 > maxBytes ? Buffer.byteLength(raw) : size) > maxBytes)
		return { ok: false, status: 400, reason: 'body too large' };
	let envelope: unknown;
	try {
		envelope = JSON.parse(typeof raw === 'string' ? raw : (raw as Buffer).toString('utf8'));
	} catch {
		envelope = undefined;
	}
	if (!isPlainObject(envelope))
		return { ok: false, status: 400, reason: 'body is not a JSON object' };
	if (!isPlainObject(envelope.data)) return { ok: false, status: 400, reason: 'no "data" object' };
	if (typeof envelope.sign !== 'string' || envelope.sign === '')
		return { ok: false, status: 401, reason: 'unsigned notification' };
	if (!verifyData(envelope.data, envelope.sign, publicKey))
		return { ok: false, status: 401, reason: 'signature invalid' };
	return { ok: true, data: envelope.data, envelope };
}

/**
 * The fields of Ksher's payment notification (its notify page and SDKs), of refund-shaped and of failed
 * data. Only documented data fields: request parameters such as lang are left out, because
 * a URL in Attach may well hold "lang=" while no notification carries lang.
 */
const NOTIFICATION_FIELDS = [
	'appid',
	'attach',
	'cash_fee',
	'cash_fee_type',
	'channel',
	'channel_order_no',
	'fee_type',
	'ksher_order_no',
	'mch_order_no',
	'nonce_str',
	'openid',
	'pay_mch_order_no',
	'rate',
	'result',
	'time_end',
	'total_fee',
	'mch_refund_no',
	'ksher_refund_no',
	'channel_refund_no',
	'refund_fee',
	'mch_refund_fee',
	'refund_state',
	'refund_time',
	'refund_orders',
	'refund_count',
	'err_code',
	'err_msg',
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
			if (!Object.prototype.hasOwnProperty.call(data, name) && value.includes(`${name}=`))
				return `${key} holds the missing field ${name}`;
		}
	}
	return undefined;
}

/**
 * Checks a notification body exactly as it arrived: size, JSON, envelope shape, Ksher's
 * signature over `data` with the given key, that its fields were not re-shaped within
 * the signed text, and that it is for this merchant.
 */
export function checkNotification(
	raw: string | Buffer | undefined,
	options: { publicKey: KeyObject; appId: string; maxBytes?: number },
): NotificationCheck {
	const verified = verifyNotificationBody(raw, options.publicKey, options.maxBytes);
	if (!verified.ok) return verified;
	const { data, envelope } = verified;
	const reshaped = reshapedContent(data);
	if (reshaped) return { ok: false, status: 401, reason: `signed fields re-shaped: ${reshaped}` };
	if (String(data.appid ?? '') !== options.appId)
		return { ok: false, status: 401, reason: 'notification is for another merchant' };
	const event = notificationEvent(envelope, data);
	return { ok: true, data, envelope, event, dedupeKey: notificationKey(data, event) };
}
