import { hex, ksherTime, notifyUrlOf, orderData, type DeliveryAttempt, type Order } from './state';
import type { World } from './world';

/**
 * The acknowledgement Ksher requires (API.md §5.1), written out on Ksher's side of the tests, not
 * imported from the package: a wrong constant in the trigger then fails them.
 */
export const KSHER_ACK = '{"result":"SUCCESS","msg":"OK"}';

/** Ksher's documented retry delays after a failed notification (its notify page), in seconds. */
export const RETRY_SCHEDULE_S = [1, 2, 2, 10, 30, 60, 600, 3600, 10800, 18000, 28800, 43200];

function notificationBody(world: World, order: Order, event: string): string {
	const data = orderData(order, hex(16));
	if (event === 'refunded') {
		const last = order.refunds[order.refunds.length - 1];
		Object.assign(data, {
			result: 'REFUND',
			mch_refund_no: last?.mch_refund_no ?? '',
			ksher_refund_no: last?.ksher_refund_no ?? '',
			refund_fee: last?.refund_fee ?? 0,
			refund_time: last?.refund_time ?? '',
		});
	}
	const sign = world.sign(data, order.kind === 'qr' ? 'notify_url' : 'mch_notify_url');
	if (order.kind === 'qr')
		// The api.mch notification (native_pay's notify_url): its envelope has status_code and
		// status_msg (Ksher's notify_url page) and, like every api.mch answer, time_stamp and version.
		return JSON.stringify({
			code: 0,
			data,
			msg: 'ok',
			sign,
			status_code: '',
			status_msg: '',
			time_stamp: new Date().toISOString().replace('Z', '+00:00'),
			version: '3.0.0',
		});
	return JSON.stringify({ code: 0, msg: '操作成功', data, sign, message: '操作成功' });
}

/** Sends one notification, retried on Ksher's schedule until the exact acknowledgement; returns its delivery number. */
export function deliver(
	world: World,
	order: Order,
	event: string,
	url: string,
	retries = true,
): number {
	const delivery = ++world.deliveryCounter;
	const body = notificationBody(world, order, event);
	const attempt = async (n: number) => {
		if (world.closing) return;
		const record: DeliveryAttempt = {
			id: ++world.attemptCounter,
			delivery,
			attempt: n,
			url,
			mch_order_no: order.mch_order_no,
			event,
			body,
			status: null,
			response: '',
			acknowledged: false,
			at: new Date().toISOString(),
		};
		world.deliveries.push(record);
		const started = performance.now();
		try {
			const response = await fetch(url, {
				method: 'POST',
				headers: { 'content-type': 'text/plain;charset=utf-8' },
				body,
				signal: AbortSignal.timeout(10_000),
			});
			record.status = response.status;
			record.response = (await response.text()).slice(0, 2000);
			let parsed: unknown;
			try {
				parsed = JSON.parse(record.response);
			} catch {
				parsed = undefined;
			}
			const ack = parsed as { result?: unknown; msg?: unknown } | undefined;
			record.acknowledged =
				response.status === 200 &&
				ack?.result === 'SUCCESS' &&
				ack?.msg === 'OK' &&
				Object.keys(ack).length === 2;
		} catch (error) {
			record.error = (error as Error).message;
		}
		record.ms = performance.now() - started;
		world.log(
			`notify ${order.mch_order_no} ${event} attempt ${n} → ${record.status ?? record.error} ${record.acknowledged ? 'acknowledged' : 'not acknowledged'}`,
		);
		if (!record.acknowledged && retries && n <= RETRY_SCHEDULE_S.length) {
			world.schedule(RETRY_SCHEDULE_S[n - 1] * 1000 * world.timeScale, () => void attempt(n + 1));
		}
	};
	void attempt(1);
	return delivery;
}

/** `notify: false` pays without a notification, as when Ksher's 2-hour watch or the Notify URL missed it. */
export function markPaid(
	world: World,
	order: Order,
	channel: string,
	notify = true,
): string | undefined {
	if (!order.channel_list.includes(channel))
		return `channel ${channel} is not offered on this order (offered: ${order.channel_list.join(', ')})`;
	if (order.state === 'SUCCESS') return 'the order is already paid';
	if (order.cancelled) return 'the order was cancelled; its payment page no longer accepts payment';
	if (order.expired) return 'the order has expired';
	order.state = 'SUCCESS';
	order.channel = channel;
	order.time_end = ksherTime(world.now());
	order.card_in_progress = false;
	const url = notifyUrlOf(order);
	if (notify && url) deliver(world, order, 'paid', url);
	return undefined;
}
