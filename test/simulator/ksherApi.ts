import type { IncomingMessage, ServerResponse } from 'http';
import QRCode from 'qrcode';

import {
	canListRefunds,
	canonicalString,
	channelInfo,
	crc16CcittFalse,
	CURRENCY_DECIMALS,
	emvField,
	fromMinorUnits,
	GATEWAY_CHANNELS,
	KSHER_ERROR_CODES,
	NUMERIC_CURRENCY,
	QR_CHANNELS,
	QR_CLOSABLE_CHANNELS,
	verifyCanonical,
} from '../../nodes/protocol';
import { takeFault, type Fault } from './faults';
import { readBody, sendJson, sleep } from './http';
import { settlementCycle, settlementLines } from './settlement';
import { hex, ksherTime, newOrder, orderData, refunded, refundOrderNo, type Order } from './state';
import type { Merchant, World } from './world';

/**
 * Ksher's protocol endpoints as the simulator answers them: the envelope shapes, the business
 * rules of each endpoint, and the HTTP handling of a signed form POST.
 */
export const GATEWAY_ENDPOINTS = ['gateway_pay', 'gateway_order_query', 'cancel_order'];
export const API_ENDPOINTS = [
	'native_pay',
	'order_query',
	'order_close',
	'order_refund',
	'refund_query',
	'merchant_info',
	'get_settlement_info',
];
/** The longest range get_settlement_info answers here (Ksher's own limit is unknown). */
export const SETTLEMENT_MAX_DAYS = 31;

type Answer =
	| { data: Record<string, unknown> }
	| { error: string; message?: string; business?: boolean };

function envelope(
	world: World,
	endpoint: string,
	answer: Answer,
	nonce: string,
	fault?: Fault,
): Record<string, unknown> {
	const gateway = GATEWAY_ENDPOINTS.includes(endpoint);
	const shape = gateway
		? { msg: 'SUCCESS', message: 'SUCCESS' }
		: {
				msg: 'ok',
				status_code: '',
				status_msg: '',
				time_stamp: new Date().toISOString().replace('Z', '+00:00'),
				version: '3.0.0',
			};
	if ('error' in answer && !answer.business) {
		// Protocol-level refusals: code 1, the error code in msg, nothing signed.
		const info = KSHER_ERROR_CODES[answer.error];
		return {
			code: 1,
			...shape,
			msg: answer.error,
			message: answer.message ?? info?.description ?? answer.error,
			data: {},
			sign: '',
		};
	}
	// Business refusals: code 0 ("the call worked"), a signed data with result FAIL and the error code.
	let data =
		'data' in answer
			? answer.data
			: {
					err_code: answer.error,
					err_msg: answer.message ?? KSHER_ERROR_CODES[answer.error]?.description ?? answer.error,
					nonce_str: nonce,
					result: 'FAIL',
				};
	// A genuine, correctly signed answer to some other request (a replay).
	if (fault?.type === 'nonce') data = { ...data, nonce_str: hex(16) };
	let signature = world.sign(
		data,
		endpoint,
		fault?.type === 'wrongkey' ? world.wrongKey : world.ksherKey,
	);
	let sent = data;
	if (fault?.type === 'tampered') {
		sent = { ...data };
		const target =
			['total_fee', 'result', 'refund_fee', 'pay_content', 'mch_order_no'].find((k) => k in sent) ??
			Object.keys(sent)[0];
		sent[target] =
			typeof sent[target] === 'number' ? (sent[target] as number) + 1 : `${String(sent[target])}X`;
	}
	if (fault?.type === 'nosign') signature = '';
	const out: Record<string, unknown> = { code: 0, ...shape, data: sent, sign: signature };
	if (fault?.type === 'nosign') delete out.sign;
	if (!gateway && endpoint === 'merchant_info') out.msg = 'ok';
	return out;
}

function fail(code: string, message?: string): Answer {
	return { error: code, message, business: true };
}

function required(params: Record<string, string>, names: string[]): Answer | undefined {
	const missing = names.filter((n) => params[n] === undefined || params[n] === '');
	return missing.length
		? { error: 'LACK_PARAMS', message: `missing parameter(s): ${missing.join(', ')}` }
		: undefined;
}

function gatewayPay(world: World, m: Merchant, p: Record<string, string>, nonce: string): Answer {
	const lack = required(p, [
		'mch_order_no',
		'total_fee',
		'fee_type',
		'channel_list',
		'mch_code',
		'mch_redirect_url',
		'mch_redirect_url_fail',
		'product_name',
		'refer_url',
	]);
	if (lack) return lack;
	if (p.mch_order_no.length > 32)
		return fail('KSHER_PARAM_OVERLENGTH', 'mch_order_no is longer than 32 characters');
	if (!/^[1-9]\d*$/.test(p.total_fee) || !Number.isSafeInteger(Number(p.total_fee)))
		return fail('PRICE_NOT_EXIST', 'total_fee must be a positive integer in minor units');
	const total = Number(p.total_fee);
	if (!(p.fee_type in CURRENCY_DECIMALS))
		return fail('KSHER_FEETYPE_NOT_MATCH', `fee_type ${p.fee_type} is not supported`);
	const channels = p.channel_list.split(',');
	const unknown = channels.filter((c) => !channelInfo(c));
	if (channels.some((c) => c === '') || unknown.length)
		return fail('CHANNEL_LIST_ERROR', `unknown channel(s): ${unknown.join(', ') || '(empty)'}`);
	const tooSmall = channels.filter((c) => (channelInfo(c)?.minimumMinor ?? 0) > total);
	if (p.fee_type === 'THB' && tooSmall.length)
		return fail('KSHER_AMOUNT_IS_TOO_SMALL', `amount below the minimum of ${tooSmall.join(', ')}`);
	if (p.member_id !== undefined) {
		if (/^\d+$/.test(p.member_id)) return fail('MEMBER_ID_ERROR');
		if (p.member_id.length > 32) return fail('MEMBER_ID_LENGTH_OUT_OF_LIMIT');
	}
	for (const url of ['mch_redirect_url', 'mch_redirect_url_fail', 'mch_notify_url', 'refer_url']) {
		if (p[url] !== undefined && !/^https?:\/\/\S+$/.test(p[url]))
			return fail('KSHER_INVALID_PARAM', `${url} is not an http(s) URL`);
	}
	if (p.expire_time !== undefined && !/^[1-9]\d*$/.test(p.expire_time))
		return fail('KSHER_INVALID_PARAM', 'expire_time must be a positive number of minutes');
	if (p.channel_instal_times_list !== undefined) {
		let parsed: unknown;
		try {
			parsed = JSON.parse(p.channel_instal_times_list);
		} catch {
			parsed = undefined;
		}
		if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
			return fail('KSHER_INVALID_PARAM', 'channel_instal_times_list must be a JSON object');
	}
	if (world.findOrder(p.mch_order_no, m.appid, 'gateway')) return fail('KSHER_DUPLICATED_ORDERNO');
	const order = newOrder({
		appid: m.appid,
		mch_order_no: p.mch_order_no,
		total_fee: total,
		fee_type: p.fee_type,
		channel_list: [...new Set(channels)],
		params: p,
	});
	world.addOrder(order);
	if (p.expire_time) {
		world.schedule(Number(p.expire_time) * 60_000 * world.options.expiryScale, () => {
			if (order.state !== 'SUCCESS') order.expired = true;
		});
	}
	return {
		data: {
			pay_content: `${world.baseUrl}/page?order_uuid=${order.order_uuid}&lang=${p.lang ?? 'en'}`,
			nonce_str: nonce,
		},
	};
}

/**
 * A PromptPay payload as Ksher's signed sample has it (API.md §2.6a): bill payment (tag 30, AID
 * A000000677010112) with biller id, ref1 = Ksher's order number without its prefix, ref2 = the
 * merchant's stall; currency (53), amount in baht (54), country (58), CRC (63). The biller id is
 * all zeros, so that a real banking app that scans a simulator QR finds no biller to pay.
 */
export function promptPayPayload(order: Order): string {
	const merchant =
		emvField('00', 'A000000677010112') +
		emvField('01', '000000000000000') +
		emvField('02', order.ksher_order_no.slice(3)) +
		emvField('03', `900${order.appid.replace(/^mch/, '')}`.slice(0, 20));
	const body =
		emvField('00', '01') +
		emvField('01', '12') +
		emvField('30', merchant) +
		emvField('53', NUMERIC_CURRENCY[order.fee_type] ?? '764') +
		emvField('54', fromMinorUnits(order.total_fee, order.fee_type)) +
		emvField('58', 'TH') +
		'6304';
	return body + crc16CcittFalse(body);
}

/** native_pay: a QR order of the api.mch host, its payload and its PNG (qrcode), in the shape of Ksher's signed sample. */
async function nativePay(
	world: World,
	m: Merchant,
	p: Record<string, string>,
	nonce: string,
): Promise<Answer> {
	// An account Ksher has not enabled for QR payments (what Ksher answers then is its NOAUTH, inferred).
	if (m.qr_payments === 'N') return fail('NOAUTH');
	const lack = required(p, ['mch_order_no', 'total_fee', 'fee_type', 'channel']);
	if (lack) return lack;
	if (p.mch_order_no.length > 32)
		return fail('KSHER_PARAM_OVERLENGTH', 'mch_order_no is longer than 32 characters');
	if (!/^[1-9]\d*$/.test(p.total_fee) || !Number.isSafeInteger(Number(p.total_fee)))
		return fail('PRICE_NOT_EXIST', 'total_fee must be a positive integer in minor units');
	if (!(p.fee_type in CURRENCY_DECIMALS) || (p.channel === 'promptpay' && p.fee_type !== 'THB'))
		return fail('KSHER_FEETYPE_NOT_MATCH', `fee_type ${p.fee_type} is not supported`);
	if (!QR_CHANNELS.includes(p.channel))
		return fail('KSHER_INVALID_PARAM', `channel ${p.channel} has no QR payments`);
	if (p.notify_url !== undefined && !/^https?:\/\/\S+$/.test(p.notify_url))
		return fail('KSHER_INVALID_PARAM', 'notify_url is not an http(s) URL');
	// Seconds, as the one integration that sends it does (API.md §7.4): the node's assumption too.
	if (p.expire_time !== undefined && !/^[1-9]\d*$/.test(p.expire_time))
		return fail('KSHER_INVALID_PARAM', 'expire_time must be a positive number of seconds');
	if (world.findOrder(p.mch_order_no, m.appid, 'qr')) return fail('KSHER_DUPLICATED_ORDERNO');
	const order = newOrder({
		kind: 'qr',
		appid: m.appid,
		mch_order_no: p.mch_order_no,
		total_fee: Number(p.total_fee),
		fee_type: p.fee_type,
		channel_list: [p.channel],
		channel: p.channel,
		params: p,
	});
	order.ksher_order_no = `900${order.ksher_order_no.slice(3)}`;
	world.addOrder(order);
	if (p.expire_time) {
		world.schedule(Number(p.expire_time) * 1000 * world.options.expiryScale, () => {
			if (order.state !== 'SUCCESS') order.expired = true;
		});
	}
	// Other wallets' payloads are not public: a link stands in for them, as a non-EMVCo payload.
	const payload =
		p.channel === 'promptpay'
			? promptPayPayload(order)
			: `${world.baseUrl}/page?ksher_order_no=${order.ksher_order_no}`;
	order.qr_payload = payload;
	const png = await QRCode.toBuffer(payload, { type: 'png', errorCorrectionLevel: 'M' });
	return {
		data: {
			appid: m.appid,
			code_url: payload,
			device_id: '',
			fee_type: order.fee_type,
			imgdat: `data:image/png;base64,${png.toString('base64')}`,
			ksher_order_no: order.ksher_order_no,
			mch_order_no: order.mch_order_no,
			nonce_str: nonce,
			PaymentCode: payload,
			PaymentID: order.ksher_order_no,
			result: 'SUCCESS',
			stalls_name: `900${m.mch_id}`,
			total_fee: order.total_fee,
			trade_type: 'NATIVE',
		},
	};
}

/** The QR order order_query or order_close addresses (by mch_order_no or ksher_order_no), or the refusal. */
function qrOrder(world: World, m: Merchant, p: Record<string, string>): Order | Answer {
	// Ksher's order_query page lists channel as required; the SDK's example omits it (API.md §2.6).
	const lack = required(p, ['channel']);
	if (lack) return lack;
	const order = p.ksher_order_no
		? [...world.orders.values()].find(
				(o) => o.appid === m.appid && o.ksher_order_no === p.ksher_order_no,
			)
		: p.mch_order_no
			? world.findOrder(p.mch_order_no, m.appid, 'qr')
			: undefined;
	if (!p.ksher_order_no && !p.mch_order_no) return fail('KSHER_ERROR_ORDER_NO');
	// Payment links live on the gateway host: the api.mch host does not know them by this number.
	if (!order || order.kind !== 'qr') return fail('ORDER_NOT_EXIST');
	if (order.channel !== p.channel)
		return fail('KSHER_INVALID_PARAM', `order ${order.mch_order_no} is a ${order.channel} order`);
	return order;
}

function orderQuery(world: World, m: Merchant, p: Record<string, string>, nonce: string): Answer {
	const order = qrOrder(world, m, p);
	return 'kind' in order ? { data: orderData(order, nonce) } : order;
}

function orderClose(world: World, m: Merchant, p: Record<string, string>, nonce: string): Answer {
	const order = qrOrder(world, m, p);
	if (!('kind' in order)) return order;
	if (!QR_CLOSABLE_CHANNELS.includes(order.channel))
		return fail('KSHER_INVALID_PARAM', `order_close does not support ${order.channel}`);
	if (order.state === 'SUCCESS') return fail('ORDER_ALREADY_PAY_OPERATION_CANNOT_BE_PERFORMED');
	if (order.cancelled) return fail('ORDER_ALREADY_CANCEL');
	order.cancelled = true;
	return {
		data: { appid: m.appid, mch_order_no: order.mch_order_no, nonce_str: nonce, result: 'SUCCESS' },
	};
}

function gatewayOrderQuery(
	world: World,
	m: Merchant,
	p: Record<string, string>,
	nonce: string,
): Answer {
	const lack = required(p, ['mch_order_no']);
	if (lack) return lack;
	const order = world.findOrder(p.mch_order_no, m.appid, 'gateway');
	// A QR order lives on the api.mch host: the gateway does not know it.
	if (!order || order.kind !== 'gateway') return fail('ORDER_NOT_EXIST');
	return { data: orderData(order, nonce) };
}

function cancelOrder(world: World, m: Merchant, p: Record<string, string>, nonce: string): Answer {
	const lack = required(p, ['mch_order_no']);
	if (lack) return lack;
	const order = world.findOrder(p.mch_order_no, m.appid, 'gateway');
	// A QR order lives on the api.mch host: the gateway does not know it.
	if (!order || order.kind !== 'gateway') return fail('ORDER_NOT_EXIST');
	if (order.state === 'SUCCESS') return fail('ORDER_ALREADY_PAY_OPERATION_CANNOT_BE_PERFORMED');
	if (order.cancelled) return fail('ORDER_ALREADY_CANCEL');
	if (order.card_in_progress)
		return fail('CANCEL_ERROR', 'a card payment is in progress and cannot be cancelled');
	order.cancelled = true;
	return {
		data: { appid: m.appid, mch_order_no: order.mch_order_no, nonce_str: nonce, result: 'SUCCESS' },
	};
}

function orderRefund(world: World, m: Merchant, p: Record<string, string>, nonce: string): Answer {
	const lack = required(p, ['total_fee', 'fee_type', 'refund_fee', 'mch_refund_no']);
	if (lack) return lack;
	const target = world.refundTarget(m.appid, p);
	if (typeof target === 'string') return fail(target);
	const order = target;
	if (p.mch_refund_no.length > 32)
		return fail('KSHER_PARAM_OVERLENGTH', 'mch_refund_no is longer than 32 characters');
	if (order.cancelled && order.state !== 'SUCCESS')
		return fail('ORDER_ALREADY_CANCEL_OPERATION_CANNOT_BE_PERFORMED');
	if (order.state !== 'SUCCESS') return fail('ORDER_NOT_PAY');
	if (!/^[1-9]\d*$/.test(p.refund_fee) || !/^\d+$/.test(p.total_fee))
		return fail('KSHER_INVALID_PARAM', 'total_fee and refund_fee must be positive integers');
	if (Number(p.total_fee) !== order.total_fee || p.fee_type !== order.fee_type)
		return fail('KSHER_INVALID_REFUND_FEE_OR_TYPE');
	const used = world.usedRefundNos.get(m.appid) ?? new Set<string>();
	if (used.has(p.mch_refund_no)) return fail('KSHER_DUPLICATED_REFUND_ORDERNO');
	const remaining = order.total_fee - refunded(order);
	if (remaining <= 0) return fail('ORDER_ALREADY_REFUND');
	if (Number(p.refund_fee) > remaining) return fail('KSHER_INVALID_REFUND_BALANCE');
	if (m.allow_partial_refund === 'N' && Number(p.refund_fee) !== order.total_fee)
		return fail('KSHER_INVALID_REFUND_AMOUNT');
	const refund = world.addRefund(order, p.mch_refund_no, Number(p.refund_fee));
	return {
		data: {
			appid: m.appid,
			channel: order.channel,
			channel_refund_no: refund.channel_refund_no,
			fee_type: order.fee_type,
			ksher_order_no: order.ksher_order_no,
			ksher_refund_no: refund.ksher_refund_no,
			mch_order_no: refundOrderNo(order),
			mch_refund_no: refund.mch_refund_no,
			nonce_str: nonce,
			refund_fee: refund.refund_fee,
			refund_state: refund.refund_state,
			refund_time: refund.refund_time,
			result: 'SUCCESS',
			total_fee: order.total_fee,
		},
	};
}

function refundQuery(world: World, m: Merchant, p: Record<string, string>, nonce: string): Answer {
	const target = world.refundTarget(m.appid, p);
	if (typeof target === 'string') return fail(target);
	const order = target;
	// Ksher's refund_query page: "Promptpay and Aliapy not support this feature". Which code it answers is unknown.
	if (!canListRefunds(order.channel))
		return fail(
			'KSHER_INVALID_PARAM',
			`refund_query is not supported for ${order.channel} payments`,
		);
	const list = order.refunds.filter((r) => !p.mch_refund_no || r.mch_refund_no === p.mch_refund_no);
	if (p.mch_refund_no && list.length === 0)
		return fail('KSHER_INVALID_ORDER_NO', `no refund ${p.mch_refund_no} on this order`);
	return {
		data: {
			appid: m.appid,
			cash_fee: String(order.total_fee),
			cash_fee_type: order.fee_type,
			channel_order_no: `4200${order.pay_mch_order_no}`,
			fee_type: order.fee_type,
			ksher_order_no: order.ksher_order_no,
			mch_order_no: refundOrderNo(order),
			nonce_str: nonce,
			refund_count: String(list.length),
			refund_fee: String(list.reduce((s, r) => s + r.refund_fee, 0)),
			refund_orders: list.map((r) => ({
				channel_refund_no: r.channel_refund_no,
				ksher_refund_no: r.ksher_refund_no,
				mch_refund_fee: r.refund_fee,
				mch_refund_no: r.mch_refund_no,
				refund_state: r.refund_state,
				refund_time: r.refund_time,
			})),
			result: 'SUCCESS',
			time_end: order.time_end,
			total_fee: order.total_fee,
		},
	};
}

function merchantInfo(
	world: World,
	m: Merchant,
	_p: Record<string, string>,
	nonce: string,
): Answer {
	return {
		data: {
			account_type: 'Test',
			allow_partial_refund: m.allow_partial_refund,
			allow_remote_pay: 'Y',
			business_mode: 'online',
			mch_appid: m.appid,
			mch_id: m.mch_id,
			mch_name: { mch_brief_name: 'Simulator Shop', merchant_name: 'Ksher Simulator Merchant' },
			mch_notify_url: '',
			mch_support_channel: GATEWAY_CHANNELS.map((c) => ({
				day_sum_limit: -1,
				pay_channel: c.value,
				settlement_time_type: settlementCycle(c.value),
				single_order_limit: -1,
			})),
			mobile: '0800000000',
			nonce_str: nonce,
			price_fee_type: 'THB',
			settlement_fee_type: 'THB',
			time_zone: '+07:00',
		},
	};
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** get_settlement_info in the shape of Ksher's signed sample: only begin_date, end_date and nonce_str are signed. */
function settlementInfo(
	world: World,
	m: Merchant,
	p: Record<string, string>,
	nonce: string,
): Answer {
	const lack = required(p, ['begin_date', 'end_date']);
	if (lack) return lack;
	if (!DATE.test(p.begin_date) || !DATE.test(p.end_date) || p.begin_date > p.end_date)
		return fail(
			'KSHER_INVALID_PARAM',
			'begin_date and end_date must be dates YYYY-MM-DD, begin_date first',
		);
	const days = (Date.parse(p.end_date) - Date.parse(p.begin_date)) / 86_400_000 + 1;
	if (days > SETTLEMENT_MAX_DAYS)
		return fail('KSHER_INVALID_PARAM', `the range is longer than ${SETTLEMENT_MAX_DAYS} days`);
	const today = ksherTime(world.now()).slice(0, 10);
	return {
		data: {
			begin_date: p.begin_date,
			end_date: p.end_date,
			nonce_str: nonce,
			settlement_data: settlementLines(
				world,
				m.appid,
				p.begin_date,
				p.end_date,
				today,
				p.pay_channel || undefined,
			),
		},
	};
}

const handlers: Record<
	string,
	(world: World, m: Merchant, p: Record<string, string>, nonce: string) => Answer | Promise<Answer>
> = {
	gateway_pay: gatewayPay,
	native_pay: nativePay,
	order_query: orderQuery,
	order_close: orderClose,
	gateway_order_query: gatewayOrderQuery,
	cancel_order: cancelOrder,
	order_refund: orderRefund,
	refund_query: refundQuery,
	merchant_info: merchantInfo,
	get_settlement_info: settlementInfo,
};

/** One protocol request: the merchant's signature checked, faults applied, the business rule answered and signed. */
export async function handleProtocol(
	world: World,
	req: IncomingMessage,
	res: ServerResponse,
	endpoint: string,
): Promise<void> {
	let nonce = '';
	const reply = async (answer: Answer, fault?: Fault) => {
		if (fault?.type === 'latency') await sleep(fault.ms);
		if (fault?.type === 'reset') {
			req.socket.destroy();
			return;
		}
		if (fault?.type === 'http500')
			return void res
				.writeHead(500, { 'content-type': 'text/html' })
				.end('<html><body>500 Internal Server Error</body></html>');
		if (fault?.type === 'nonjson')
			return void res
				.writeHead(200, { 'content-type': 'text/html' })
				.end('<html><body>Bad Gateway</body></html>');
		if (fault?.type === 'empty') return void res.writeHead(200).end();
		sendJson(res, 200, envelope(world, endpoint, answer, nonce, fault));
	};
	if (req.method !== 'POST') return reply({ error: 'REQUIRE_POST_METHOD' });
	const body = await readBody(req);
	const type = String(req.headers['content-type'] ?? '');
	if (!/^application\/x-www-form-urlencoded\b/i.test(type)) {
		return reply({
			error: 'PARAM_ERROR',
			message: 'the request body must be application/x-www-form-urlencoded',
		});
	}
	if (body.trim() === '') return reply({ error: 'POST_DATA_EMPTY' });
	const params: Record<string, string> = {};
	for (const [k, v] of new URLSearchParams(body)) params[k] = v;
	world.requests.push({ endpoint, params, at: new Date().toISOString() });
	nonce = params.nonce_str ?? '';
	const appid = params.appid ?? params.mch_appid;
	if (!appid) return reply({ error: 'APPID_NOT_EXIST' });
	const merchant = world.merchants.get(appid);
	if (!merchant) return reply({ error: 'KSHER_INVALID_MCHINFO' });
	const { sign: signature, ...unsigned } = params;
	if (!signature || !verifyCanonical(canonicalString(unsigned), signature, merchant.publicKey)) {
		return reply({ error: 'KSHER_SIGN_ERROR' });
	}
	const lack = required(params, ['nonce_str', 'time_stamp']);
	if (lack) return reply(lack);
	let fault = takeFault(world.faults, endpoint);
	if (fault?.stage === 'before') {
		// Delayed before Ksher processes it: the client may give up, Ksher still acts.
		if (fault.type === 'latency') {
			await sleep(fault.ms);
			fault = undefined;
		} else if (['reset', 'http500', 'nonjson', 'empty'].includes(fault.type)) {
			world.log(`${endpoint} ${params.mch_order_no ?? ''} → not processed (fault ${fault.type})`);
			return reply({ data: {} }, fault);
		}
	}
	const answer = await handlers[endpoint](world, merchant, params, params.nonce_str);
	world.log(
		`${endpoint} ${params.mch_order_no ?? ''} → ${'error' in answer ? answer.error : 'ok'}${fault ? ` (fault ${fault.type})` : ''}`,
	);
	return reply(answer, fault);
}
