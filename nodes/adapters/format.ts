import type { IDataObject } from 'n8n-workflow';

import {
	channelName,
	fromMinorUnits,
	parseMaybeJson,
	refundStatus,
	type KsherRefund,
} from '../protocol';

/** Ksher reports Bangkok wall-clock time "YYYY-MM-DD HH:MM:SS"; outputs use ISO 8601 with +07:00. */
export function ksherTimeToIso(value: unknown): string | null {
	const text = typeof value === 'string' ? value.trim() : '';
	const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)$/.exec(text);
	return m ? `${m[1]}T${m[2]}+07:00` : text === '' ? null : text;
}

/** Minor units from Ksher as a major-unit decimal string; null when Ksher sent none or no whole number (never guessed). */
export function majorAmount(minor: unknown, currency: string): string | null {
	if (minor === '' || minor === undefined || minor === null) return null;
	try {
		return fromMinorUnits(minor, currency);
	} catch {
		return null;
	}
}

/** The merchant's `attach` data, parsed when it is JSON. */
export function attachValue(value: unknown): unknown {
	return value === '' || value === undefined || value === null ? null : parseMaybeJson(value);
}

/** The order fields that Get Payment and the trigger's items share, from Ksher's (verified) data. */
export function orderFields(data: Record<string, unknown>): IDataObject {
	const currency = String(data.fee_type || 'THB');
	return {
		amount: majorAmount(data.total_fee, currency),
		currency,
		channel: data.channel ? String(data.channel) : null,
		// Ksher's code is for branching; the name ("PromptPay") is for people, e.g. in a receipt.
		channelName: data.channel ? channelName(String(data.channel)) : null,
		paidAt: ksherTimeToIso(data.time_end),
		ksherOrderNumber: data.ksher_order_no ? String(data.ksher_order_no) : null,
		payOrderNumber: data.pay_mch_order_no ? String(data.pay_mch_order_no) : null,
		attach: attachValue(data.attach) as IDataObject[string],
	};
}

/**
 * The event item the Ksher Trigger and Payment → Watch for Changes both emit, so a workflow can
 * take either: the order, and for a refund its number, amount and time; `dedupeKey` names the
 * event the same way in both.
 */
export function eventItem(
	event: string,
	orderNumber: string,
	data: Record<string, unknown>,
	refund: { number: unknown; fee: unknown; time: unknown } | undefined,
	dedupeKey: string,
): IDataObject {
	const item: IDataObject = { event, orderNumber, ...orderFields(data) };
	if (event === 'refunded') {
		item.refundNumber = refund?.number ? String(refund.number) : null;
		item.refundAmount = refund ? majorAmount(refund.fee, String(item.currency)) : null;
		item.refundedAt = refund ? ksherTimeToIso(refund.time) : null;
	}
	item.dedupeKey = dedupeKey;
	return item;
}

/** One refund, the same in every output that has one (Refund → Create, Refund → Get Many). */
export function refundFields(
	orderNumber: string,
	currency: string,
	refund: KsherRefund,
): IDataObject {
	return {
		orderNumber,
		refundNumber: refund.mch_refund_no,
		refundAmount: fromMinorUnits(refund.refund_fee, currency),
		currency,
		status: refundStatus(refund.refund_state),
		refundedAt: ksherTimeToIso(refund.refund_time),
		ksherRefundNumber: refund.ksher_refund_no || null,
		channelRefundNumber: refund.channel_refund_no || null,
	};
}
