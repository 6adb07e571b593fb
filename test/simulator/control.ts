import type { IncomingMessage, ServerResponse } from 'http';

import { CURRENCY_DECIMALS, channelInfo, QR_CHANNELS } from '../../nodes/protocol';
import { parseFault } from './faults';
import { readBody, sendJson } from './http';
import { deliver, markPaid } from './notifications';
import {
	digits,
	ksherTime,
	newOrder,
	notifyUrlOf,
	queryResult,
	refunded,
	type Order,
} from './state';
import type { World } from './world';

/** The control API (JSON under /control): what a test or a person does to the world outside the protocol. */
export async function handleControl(
	world: World,
	req: IncomingMessage,
	res: ServerResponse,
	path: string,
): Promise<void> {
	let input: Record<string, unknown> = {};
	if (req.method === 'POST') {
		const text = await readBody(req);
		if (text.trim() !== '') {
			try {
				input = JSON.parse(text);
			} catch {
				return sendJson(res, 400, { error: 'the body must be JSON' });
			}
			if (typeof input !== 'object' || input === null || Array.isArray(input))
				return sendJson(res, 400, { error: 'the body must be a JSON object' });
		}
	}
	const appid = typeof input.appid === 'string' ? input.appid : world.defaultAppid;
	const orderFromInput = (): Order | undefined => {
		const no = input.mch_order_no;
		if (typeof no !== 'string' || no === '') {
			sendJson(res, 400, { error: 'mch_order_no is required' });
			return undefined;
		}
		const order = world.findOrder(no, appid);
		if (!order) sendJson(res, 404, { error: `unknown order ${no} for ${appid}` });
		return order;
	};
	const route = `${req.method} ${path}`;
	if (route === 'GET /notifications') return sendJson(res, 200, world.deliveries);
	if (route === 'GET /requests') return sendJson(res, 200, world.requests);
	if (req.method === 'GET' && path.startsWith('/orders/')) {
		const no = decodeURIComponent(path.slice('/orders/'.length));
		const wanted =
			new URL(req.url ?? '', 'http://x').searchParams.get('appid') ?? world.defaultAppid;
		const order = world.findOrder(no, wanted);
		if (!order) return sendJson(res, 404, { error: `unknown order ${no} for ${wanted}` });
		return sendJson(res, 200, {
			...order,
			result: queryResult(order),
			refunded_fee: refunded(order),
		});
	}
	if (route === 'POST /pay') {
		const order = orderFromInput();
		if (!order) return;
		const channel = typeof input.channel === 'string' ? input.channel : order.channel_list[0];
		const problem = markPaid(world, order, channel, input.notify !== false);
		return problem
			? sendJson(res, 409, { error: problem })
			: sendJson(res, 200, { ...order, result: queryResult(order) });
	}
	if (route === 'POST /refund') {
		// A refund made outside the API (the merchant portal): no notification, as with Ksher.
		const order = orderFromInput();
		if (!order) return;
		if (order.state !== 'SUCCESS')
			return sendJson(res, 409, { error: 'only a paid order can be refunded' });
		const remaining = order.total_fee - refunded(order);
		const fee = input.refund_fee === undefined ? remaining : Number(input.refund_fee);
		if (!Number.isSafeInteger(fee) || fee <= 0)
			return sendJson(res, 400, { error: 'refund_fee must be a positive integer in minor units' });
		if (fee > remaining)
			return sendJson(res, 409, { error: `refund_fee ${fee} exceeds what remains (${remaining})` });
		const refundNo =
			typeof input.mch_refund_no === 'string' && input.mch_refund_no !== ''
				? input.mch_refund_no
				: `PORTAL-${digits(10)}`;
		if (world.usedRefundNos.get(order.appid)?.has(refundNo))
			return sendJson(res, 409, { error: `refund number ${refundNo} was already used` });
		const refund = world.addRefund(order, refundNo, fee);
		return sendJson(res, 200, {
			refund,
			result: queryResult(order),
			refunded_fee: refunded(order),
		});
	}
	if (route === 'POST /fail' || route === 'POST /expire' || route === 'POST /card-in-progress') {
		const order = orderFromInput();
		if (!order) return;
		if (order.state === 'SUCCESS')
			return sendJson(res, 409, { error: 'the order is already paid' });
		if (path === '/fail') {
			order.state = 'PAYERROR';
			order.failed_attempts++;
		}
		if (path === '/expire') order.expired = true;
		if (path === '/card-in-progress') order.card_in_progress = input.active !== false;
		return sendJson(res, 200, { ...order, result: queryResult(order) });
	}
	if (route === 'POST /notify') {
		const order = orderFromInput();
		if (!order) return;
		const event =
			input.event === undefined
				? queryResult(order) === 'REFUND'
					? 'refunded'
					: 'paid'
				: input.event;
		if (event !== 'paid' && event !== 'refunded')
			return sendJson(res, 400, { error: 'event must be "paid" or "refunded"' });
		const url = typeof input.url === 'string' ? input.url : notifyUrlOf(order);
		if (!url)
			return sendJson(res, 400, {
				error: 'the order has no notify URL (mch_notify_url); pass "url"',
			});
		return sendJson(res, 200, {
			delivery: deliver(world, order, event, url, input.retry !== false),
		});
	}
	if (route === 'POST /orders') {
		// Many orders at once, as gateway_pay would create them, then paid and refunded in the
		// portal as /pay and /refund would: for tests that need thousands of fresh orders.
		const list = Array.isArray(input.orders)
			? (input.orders as Array<Record<string, unknown>>)
			: undefined;
		if (!list) return sendJson(res, 400, { error: 'orders must be a list' });
		const created: Order[] = [];
		for (const spec of list) {
			const problem = bulkOrder(world, appid, spec, created);
			if (problem)
				return sendJson(res, 400, { error: problem, created: created.map((o) => o.mch_order_no) });
		}
		return sendJson(res, 200, {
			orders: created.map((o) => ({
				mch_order_no: o.mch_order_no,
				pay_mch_order_no: o.pay_mch_order_no,
				ksher_order_no: o.ksher_order_no,
				result: queryResult(o),
				refunds: o.refunds,
			})),
		});
	}
	if (route === 'POST /faults') {
		const fault = parseFault(input);
		if (typeof fault === 'string') return sendJson(res, 400, { error: fault });
		world.faults.push(fault);
		return sendJson(res, 200, { faults: world.faults });
	}
	if (route === 'GET /faults') return sendJson(res, 200, { faults: world.faults });
	if (route === 'POST /faults/clear') {
		world.faults = [];
		return sendJson(res, 200, { faults: world.faults });
	}
	if (route === 'POST /merchants') {
		if (typeof input.appid !== 'string' || !/^mch\w{1,29}$/.test(input.appid))
			return sendJson(res, 400, { error: 'appid must look like mch12345' });
		if (input.publicKey !== undefined && typeof input.publicKey !== 'string')
			return sendJson(res, 400, { error: 'publicKey must be a PEM string' });
		try {
			return sendJson(
				res,
				200,
				world.addMerchant(input.appid, input.publicKey as string | undefined),
			);
		} catch {
			return sendJson(res, 400, { error: 'publicKey is not a readable RSA public key' });
		}
	}
	if (route === 'POST /merchant-settings') {
		const merchant = world.merchants.get(appid);
		if (!merchant) return sendJson(res, 404, { error: `unknown merchant ${appid}` });
		// Each setting given is set: allow_partial_refund, qr_payments ("Y" or "N").
		const given = (['allow_partial_refund', 'qr_payments'] as const).filter((k) => k in input);
		const bad = given.find((k) => input[k] !== 'Y' && input[k] !== 'N');
		if (given.length === 0 || bad)
			return sendJson(res, 400, {
				error: `${bad ?? 'allow_partial_refund or qr_payments'} must be "Y" or "N"`,
			});
		for (const k of given) merchant[k] = input[k] as 'Y' | 'N';
		const { allow_partial_refund, qr_payments } = merchant;
		return sendJson(res, 200, { appid, allow_partial_refund, qr_payments });
	}
	if (route === 'POST /time-scale') {
		// How fast Ksher's retry schedule runs from now on (1 = real time, 0.01 = 100× faster).
		const scale = Number(input.timeScale);
		if (!(Number.isFinite(scale) && scale > 0 && scale <= 1))
			return sendJson(res, 400, { error: 'timeScale must be a number in (0, 1]' });
		const previous = world.timeScale;
		world.timeScale = scale;
		return sendJson(res, 200, { timeScale: world.timeScale, previous });
	}
	if (route === 'POST /clock') {
		// Moves the simulator's clock forward (settlement cycles, transfer dates) so tests need no waiting; {reset: true} back to real time.
		const days = Number(input.advanceDays ?? 0);
		if (!Number.isFinite(days) || days < 0)
			return sendJson(res, 400, { error: 'advanceDays must be a number of days, 0 or more' });
		if (input.reset === true) world.clockOffsetMs = 0;
		world.clockOffsetMs += days * 86_400_000;
		return sendJson(res, 200, { now: world.now().toISOString(), bangkok: ksherTime(world.now()) });
	}
	if (route === 'POST /settlement-settings') {
		const bp = Number(input.commission_basis_points);
		if (!Number.isSafeInteger(bp) || bp < 0 || bp > 10_000)
			return sendJson(res, 400, {
				error: 'commission_basis_points must be a whole number 0..10000 (150 = 1.5 %)',
			});
		world.settlement.commissionBasisPoints = bp;
		return sendJson(res, 200, { commission_basis_points: bp });
	}
	if (route === 'POST /reset') {
		world.reset();
		return sendJson(res, 200, { reset: true });
	}
	return sendJson(res, 404, { error: `no control route ${route}` });
}

/**
 * One order of POST /orders: `{ mch_order_no, total_fee, fee_type?, channel?, qr?, paid?, refunds?: [{ mch_refund_no, refund_fee }] }`.
 * The order is what gateway_pay makes (channel_list = the one channel), paid with that channel
 * unless `paid` is false, then refunded in the portal; an error text when the spec is unusable.
 */
function bulkOrder(
	world: World,
	appid: string,
	spec: Record<string, unknown>,
	created: Order[],
): string | undefined {
	const no = spec.mch_order_no;
	const total = Number(spec.total_fee);
	const feeType = typeof spec.fee_type === 'string' ? spec.fee_type : 'THB';
	const channel = typeof spec.channel === 'string' ? spec.channel : 'truemoney';
	if (typeof no !== 'string' || no === '' || no.length > 32)
		return 'mch_order_no must be 1 to 32 characters';
	if (world.findOrder(no, appid, spec.qr === true ? 'qr' : 'gateway')) return `order ${no} exists`;
	if (!Number.isSafeInteger(total) || total <= 0)
		return 'total_fee must be a positive integer in minor units';
	if (!(feeType in CURRENCY_DECIMALS)) return `fee_type ${feeType} is not supported`;
	if (!channelInfo(channel)) return `unknown channel ${channel}`;
	if (spec.qr === true && !QR_CHANNELS.includes(channel)) return `${channel} has no QR payments`;
	const order = newOrder({
		// A QR payment (native_pay) lives on the api.mch host: order_query, not gateway_order_query.
		...(spec.qr === true ? { kind: 'qr' as const, channel } : {}),
		appid,
		mch_order_no: no,
		total_fee: total,
		fee_type: feeType,
		channel_list: [channel],
		params: {
			mch_order_no: no,
			total_fee: String(total),
			fee_type: feeType,
			channel_list: channel,
			mch_code: no,
			product_name: 'Bulk order',
		},
	});
	world.addOrder(order);
	created.push(order);
	if (spec.paid === false) return undefined;
	const problem = markPaid(world, order, channel, false);
	if (problem) return problem;
	for (const r of Array.isArray(spec.refunds)
		? (spec.refunds as Array<Record<string, unknown>>)
		: []) {
		const fee = Number(r.refund_fee);
		const refundNo =
			typeof r.mch_refund_no === 'string' && r.mch_refund_no !== ''
				? r.mch_refund_no
				: `PORTAL-${digits(10)}`;
		if (!Number.isSafeInteger(fee) || fee <= 0 || fee > order.total_fee - refunded(order))
			return `refund_fee ${String(r.refund_fee)} of ${no} is not a positive amount within what remains`;
		if (world.usedRefundNos.get(appid)?.has(refundNo))
			return `refund number ${refundNo} was already used`;
		world.addRefund(order, refundNo, fee);
	}
	return undefined;
}
