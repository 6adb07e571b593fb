import { randomBytes, randomInt } from 'crypto';

/** The simulator's view of the world: merchants, their gateway orders, refunds, deliveries. */
export interface Refund {
	mch_refund_no: string;
	ksher_refund_no: string;
	channel_refund_no: string;
	refund_fee: number;
	refund_state: 'REFUNDSUCCESS';
	refund_time: string;
}

export type OrderState = 'NOTSURE' | 'SUCCESS' | 'CLOSED' | 'PAYERROR' | 'REFUND';

export interface Order {
	/** gateway: a payment link (gateway_pay); qr: a QR code (native_pay), an order of the api.mch host. */
	kind: 'gateway' | 'qr';
	appid: string;
	mch_order_no: string;
	order_uuid: string;
	pay_mch_order_no: string;
	ksher_order_no: string;
	total_fee: number;
	fee_type: string;
	channel_list: string[];
	params: Record<string, string>;
	state: OrderState;
	cancelled: boolean;
	expired: boolean;
	card_in_progress: boolean;
	channel: string;
	time_end: string;
	created_at: string;
	refunds: Refund[];
	failed_attempts: number;
	/** A QR order's payload (what a banking app reads when it scans the QR). */
	qr_payload?: string;
}

export interface DeliveryAttempt {
	id: number;
	delivery: number;
	attempt: number;
	url: string;
	mch_order_no: string;
	event: string;
	body: string;
	status: number | null;
	response: string;
	acknowledged: boolean;
	error?: string;
	at: string;
	/** How long the shop's server took to answer (or to fail), in milliseconds. */
	ms?: number;
}

/** A new unpaid order with Ksher's numbers for it; what differs between the ways orders are made is given. */
export function newOrder(
	fields: Pick<
		Order,
		'appid' | 'mch_order_no' | 'total_fee' | 'fee_type' | 'channel_list' | 'params'
	> &
		Partial<Pick<Order, 'kind' | 'channel'>>,
): Order {
	return {
		kind: 'gateway',
		order_uuid: hex(16),
		pay_mch_order_no: digits(16),
		ksher_order_no: `700${digits(20)}`,
		state: 'NOTSURE',
		cancelled: false,
		expired: false,
		card_in_progress: false,
		channel: '',
		time_end: '',
		created_at: new Date().toISOString(),
		refunds: [],
		failed_attempts: 0,
		...fields,
	};
}

/** Where Ksher notifies an order's payment: gateway_pay's mch_notify_url, native_pay's notify_url. */
export function notifyUrlOf(order: Order): string | undefined {
	return (order.kind === 'qr' ? order.params.notify_url : order.params.mch_notify_url) || undefined;
}

export function ksherTime(date = new Date()): string {
	// Ksher reports times as Bangkok wall-clock time, "YYYY-MM-DD HH:MM:SS".
	const t = new Date(date.getTime() + 7 * 3600_000);
	return t.toISOString().slice(0, 19).replace('T', ' ');
}

export function digits(n: number): string {
	let s = String(randomInt(1, 10));
	while (s.length < n) s += String(randomInt(0, 10));
	return s;
}

export function hex(bytes: number): string {
	return randomBytes(bytes).toString('hex');
}

export function refunded(order: Order): number {
	return order.refunds.reduce((sum, r) => sum + r.refund_fee, 0);
}

/**
 * The mch_order_no that order_refund and refund_query know an order by: a QR order lives on the
 * api.mch host under the merchant's own number; a payment link under the gateway's pay_mch_order_no.
 */
export function refundOrderNo(order: Order): string {
	return order.kind === 'qr' ? order.mch_order_no : order.pay_mch_order_no;
}

/** What gateway_order_query reports for the order (and what a notification carries). */
export function queryResult(order: Order): OrderState {
	if (order.state === 'SUCCESS' && order.refunds.length > 0 && refunded(order) >= order.total_fee)
		return 'REFUND';
	if ((order.cancelled || order.expired) && order.state !== 'SUCCESS') return 'CLOSED';
	return order.state;
}

export function orderData(order: Order, nonce: string): Record<string, unknown> {
	const paid = order.state === 'SUCCESS';
	if (order.kind === 'qr') return qrOrderData(order, nonce);
	return {
		appid: order.appid,
		attach: order.params.attach ?? '',
		cash_fee: paid ? order.total_fee : '',
		cash_fee_type: paid ? order.fee_type : '',
		channel: paid ? order.channel : '',
		channel_order_no: paid ? `4200${order.pay_mch_order_no}` : '',
		fee_type: order.fee_type,
		ksher_order_no: paid ? order.ksher_order_no : '',
		mch_order_no: order.mch_order_no,
		nonce_str: nonce,
		openid: '',
		pay_mch_order_no: order.pay_mch_order_no,
		rate: paid ? '1.000000' : '',
		result: queryResult(order),
		time_end: paid ? order.time_end : '',
		total_fee: order.total_fee,
	};
}

/**
 * What order_query reports for a QR order (and what its api.mch notification carries): the
 * gateway's fields where they exist there too, with the channel known from the start; the
 * full field list of Ksher's answer is not public.
 */
function qrOrderData(order: Order, nonce: string): Record<string, unknown> {
	const paid = order.state === 'SUCCESS';
	return {
		appid: order.appid,
		attach: order.params.attach ?? '',
		cash_fee: paid ? order.total_fee : '',
		cash_fee_type: paid ? order.fee_type : '',
		channel: order.channel,
		channel_order_no: paid ? `4200${order.pay_mch_order_no}` : '',
		fee_type: order.fee_type,
		ksher_order_no: order.ksher_order_no,
		mch_order_no: order.mch_order_no,
		nonce_str: nonce,
		openid: '',
		rate: paid ? '1.000000' : '',
		result: queryResult(order),
		time_end: paid ? order.time_end : '',
		total_fee: order.total_fee,
	};
}
