import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'http';
import type { AddressInfo, Socket } from 'net';
import { join } from 'path';

import {
	canListRefunds,
	canonicalString,
	channelInfo,
	CURRENCY_DECIMALS,
	GATEWAY_CHANNELS,
	KSHER_ERROR_CODES,
	signCanonical,
	signedFields,
	verifyCanonical,
} from '../../nodes/protocol';
import { checkoutPage, resultPage } from './checkout';
import { parseFault, takeFault, type Fault } from './faults';
import { digits, hex, ksherTime, orderData, queryResult, refunded, type DeliveryAttempt, type Order, type Refund } from './state';

/** Ksher's documented retry delays after a failed notification (its notify page), in seconds. */
export const RETRY_SCHEDULE_S = [1, 2, 2, 10, 30, 60, 600, 3600, 10800, 18000, 28800, 43200];

export interface SimulatorOptions {
	port?: number;
	host?: string;
	/** Multiplies every retry delay: 0.001 runs Ksher's 29-hour schedule in about 2 minutes. */
	timeScale?: number;
	/** Multiplies `expire_time` (minutes), separately from the retry schedule (default 1). */
	expiryScale?: number;
	/** Folder to load/keep the keys in, so a demo keeps working across restarts. */
	keysDir?: string;
	appid?: string;
	/** Bits of the generated merchant keys (Ksher's real merchant keys are 1024-bit). */
	keyBits?: number;
	/** Bits of the simulator's own "Ksher" key (Ksher's real V1 key is 512-bit). */
	ksherKeyBits?: number;
	log?: (line: string) => void;
}

export interface SimulatorInfo {
	gatewayUrl: string;
	apiUrl: string;
	controlUrl: string;
	checkoutUrl: string;
	appid: string;
	merchantPrivateKey: string;
	ksherPublicKey: string;
}

interface Merchant {
	appid: string;
	publicKey: KeyObject;
	privateKeyPem?: string;
	mch_id: string;
	/** merchant_info's allow_partial_refund; N makes order_refund refuse partial refunds. */
	allow_partial_refund: 'Y' | 'N';
}

export interface Simulator {
	info: SimulatorInfo;
	/** Registers (or replaces) a merchant; generates its key pair unless a public key is given. */
	addMerchant(appid: string, publicKeyPem?: string): { appid: string; merchantPrivateKey?: string };
	order(mchOrderNo: string, appid?: string): Order | undefined;
	/** In-process only (never over HTTP): a notification envelope signed with the simulator's Ksher key, for tests. */
	signedNotification(data: Record<string, unknown>): string;
	deliveries: DeliveryAttempt[];
	/** Protocol requests being handled right now, and the most at once since start or reset. */
	stats: { inFlight: number; peakInFlight: number };
	requests: Array<{ endpoint: string; params: Record<string, string>; at: string }>;
	close(): Promise<void>;
}

const GATEWAY = ['gateway_pay', 'gateway_order_query', 'cancel_order'];
const API = ['order_refund', 'refund_query', 'merchant_info'];

type Answer = { data: Record<string, unknown> } | { error: string; message?: string; business?: boolean };

function keyPair(bits: number) {
	const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
	return {
		privatePem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
		publicPem: publicKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
	};
}

function loadOrCreateKeys(dir: string | undefined, bits: number, ksherBits: number) {
	const files = dir && { ksher: join(dir, 'ksher-private.pem'), merchant: join(dir, 'merchant-private.pem') };
	if (files && existsSync(files.ksher) && existsSync(files.merchant)) {
		return { ksherPrivatePem: readFileSync(files.ksher, 'utf8'), merchantPrivatePem: readFileSync(files.merchant, 'utf8') };
	}
	const keys = { ksherPrivatePem: keyPair(ksherBits).privatePem, merchantPrivatePem: keyPair(bits).privatePem };
	if (files && dir) {
		mkdirSync(dir, { recursive: true });
		writeFileSync(files.ksher, keys.ksherPrivatePem, { mode: 0o600 });
		writeFileSync(files.merchant, keys.merchantPrivatePem, { mode: 0o600 });
	}
	return keys;
}

async function readBody(req: IncomingMessage, limit = 1_000_000): Promise<string> {
	const chunks: Buffer[] = [];
	let size = 0;
	for await (const chunk of req) {
		size += (chunk as Buffer).length;
		if (size > limit) throw new Error('body too large');
		chunks.push(chunk as Buffer);
	}
	return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
	const text = JSON.stringify(body);
	res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
	res.end(text);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
	const host = options.host ?? '127.0.0.1';
	const timeScale = options.timeScale ?? 1;
	const log = options.log ?? (() => undefined);
	const keys = loadOrCreateKeys(options.keysDir, options.keyBits ?? 1024, options.ksherKeyBits ?? 512);
	const ksherKey = createPrivateKey(keys.ksherPrivatePem);
	const ksherPublicPem = createPublicKey(ksherKey).export({ type: 'spki', format: 'pem' }).toString();
	const wrongKey = createPrivateKey(keyPair(options.ksherKeyBits ?? 512).privatePem);

	const merchants = new Map<string, Merchant>();
	const orders = new Map<string, Order>();
	const byUuid = new Map<string, Order>();
	const usedRefundNos = new Map<string, Set<string>>();
	const deliveries: DeliveryAttempt[] = [];
	const requests: Simulator['requests'] = [];
	let faults: Fault[] = [];
	const stats = { inFlight: 0, peakInFlight: 0 };
	const timers = new Set<NodeJS.Timeout>();
	let deliveryCounter = 0;
	let attemptCounter = 0;
	let closing = false;

	function addMerchant(appid: string, publicKeyPem?: string) {
		let privateKeyPem: string | undefined;
		let publicKey: KeyObject;
		if (publicKeyPem) publicKey = createPublicKey(publicKeyPem);
		else {
			const pair = appid === defaultAppid ? { privatePem: keys.merchantPrivatePem, publicPem: '' } : keyPair(options.keyBits ?? 1024);
			privateKeyPem = pair.privatePem;
			publicKey = createPublicKey(createPrivateKey(pair.privatePem));
		}
		merchants.set(appid, { appid, publicKey, privateKeyPem, mch_id: appid.replace(/^mch/, ''), allow_partial_refund: 'Y' });
		return { appid, merchantPrivateKey: privateKeyPem };
	}
	const defaultAppid = options.appid ?? 'mch20001';
	addMerchant(defaultAppid);

	const key = (appid: string, no: string) => `${appid}\u0000${no}`;
	const findOrder = (no: string, appid = defaultAppid) => orders.get(key(appid, no));

	/** Finds the order that order_refund/refund_query address: by pay_mch_order_no or ksher_order_no, like Ksher. */
	function refundTarget(appid: string, params: Record<string, string>): Order | string {
		const all = [...orders.values()].filter((o) => o.appid === appid);
		if (params.ksher_order_no) {
			return all.find((o) => o.ksher_order_no === params.ksher_order_no && o.state === 'SUCCESS') ?? 'KSHER_INVALID_ORDER_NO';
		}
		if (!params.mch_order_no) return 'KSHER_ERROR_ORDER_NO';
		const order = all.find((o) => o.pay_mch_order_no === params.mch_order_no);
		if (order) return order;
		// The merchant's own gateway order number is not the refundable order id.
		if (findOrder(params.mch_order_no, appid)) return 'INVALID_ORDER_NO';
		return 'KSHER_INVALID_ORDER_NO';
	}

	function sign(data: Record<string, unknown>, endpoint: string, signer = ksherKey): string {
		return signCanonical(canonicalString(signedFields(data, endpoint)), signer);
	}

	function envelope(endpoint: string, answer: Answer, nonce: string, fault?: Fault): Record<string, unknown> {
		const gateway = GATEWAY.includes(endpoint);
		const shape = gateway
			? { msg: 'SUCCESS', message: 'SUCCESS' }
			: { msg: 'ok', status_code: '', status_msg: '', time_stamp: new Date().toISOString().replace('Z', '+00:00'), version: '3.0.0' };
		if ('error' in answer && !answer.business) {
			// Protocol-level refusals: code 1, the error code in msg, nothing signed.
			const info = KSHER_ERROR_CODES[answer.error];
			return { code: 1, ...shape, msg: answer.error, message: answer.message ?? info?.description ?? answer.error, data: {}, sign: '' };
		}
		// Business refusals: code 0 ("the call worked"), a signed data with result FAIL and the error code.
		let data =
			'data' in answer
				? answer.data
				: { err_code: answer.error, err_msg: answer.message ?? KSHER_ERROR_CODES[answer.error]?.description ?? answer.error, nonce_str: nonce, result: 'FAIL' };
		// A genuine, correctly signed answer to some other request (a replay).
		if (fault?.type === 'nonce') data = { ...data, nonce_str: hex(16) };
		let signature = sign(data, endpoint, fault?.type === 'wrongkey' ? wrongKey : ksherKey);
		let sent = data;
		if (fault?.type === 'tampered') {
			sent = { ...data };
			const target = ['total_fee', 'result', 'refund_fee', 'pay_content', 'mch_order_no'].find((k) => k in sent) ?? Object.keys(sent)[0];
			sent[target] = typeof sent[target] === 'number' ? (sent[target] as number) + 1 : `${String(sent[target])}X`;
		}
		if (fault?.type === 'nosign') signature = '';
		const out: Record<string, unknown> = { code: 0, ...shape, data: sent, sign: signature };
		if (fault?.type === 'nosign') delete out.sign;
		if (!gateway && endpoint === 'merchant_info') out.msg = 'ok';
		return out;
	}

	// ---- business rules -------------------------------------------------------------

	function fail(code: string, message?: string): Answer {
		return { error: code, message, business: true };
	}

	function required(params: Record<string, string>, names: string[]): Answer | undefined {
		const missing = names.filter((n) => params[n] === undefined || params[n] === '');
		return missing.length ? { error: 'LACK_PARAMS', message: `missing parameter(s): ${missing.join(', ')}` } : undefined;
	}

	function gatewayPay(m: Merchant, p: Record<string, string>, nonce: string, baseUrl: string): Answer {
		const lack = required(p, ['mch_order_no', 'total_fee', 'fee_type', 'channel_list', 'mch_code', 'mch_redirect_url', 'mch_redirect_url_fail', 'product_name', 'refer_url']);
		if (lack) return lack;
		if (p.mch_order_no.length > 32) return fail('KSHER_PARAM_OVERLENGTH', 'mch_order_no is longer than 32 characters');
		if (!/^[1-9]\d*$/.test(p.total_fee) || !Number.isSafeInteger(Number(p.total_fee))) return fail('PRICE_NOT_EXIST', 'total_fee must be a positive integer in minor units');
		const total = Number(p.total_fee);
		if (!(p.fee_type in CURRENCY_DECIMALS)) return fail('KSHER_FEETYPE_NOT_MATCH', `fee_type ${p.fee_type} is not supported`);
		const channels = p.channel_list.split(',');
		const unknown = channels.filter((c) => !channelInfo(c));
		if (channels.some((c) => c === '') || unknown.length) return fail('CHANNEL_LIST_ERROR', `unknown channel(s): ${unknown.join(', ') || '(empty)'}`);
		const tooSmall = channels.filter((c) => (channelInfo(c)?.minimumMinor ?? 0) > total);
		if (p.fee_type === 'THB' && tooSmall.length) return fail('KSHER_AMOUNT_IS_TOO_SMALL', `amount below the minimum of ${tooSmall.join(', ')}`);
		if (p.member_id !== undefined) {
			if (/^\d+$/.test(p.member_id)) return fail('MEMBER_ID_ERROR');
			if (p.member_id.length > 32) return fail('MEMBER_ID_LENGTH_OUT_OF_LIMIT');
		}
		for (const url of ['mch_redirect_url', 'mch_redirect_url_fail', 'mch_notify_url', 'refer_url']) {
			if (p[url] !== undefined && !/^https?:\/\/\S+$/.test(p[url])) return fail('KSHER_INVALID_PARAM', `${url} is not an http(s) URL`);
		}
		if (p.expire_time !== undefined && !/^[1-9]\d*$/.test(p.expire_time)) return fail('KSHER_INVALID_PARAM', 'expire_time must be a positive number of minutes');
		if (p.channel_instal_times_list !== undefined) {
			let parsed: unknown;
			try {
				parsed = JSON.parse(p.channel_instal_times_list);
			} catch {
				parsed = undefined;
			}
			if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return fail('KSHER_INVALID_PARAM', 'channel_instal_times_list must be a JSON object');
		}
		if (findOrder(p.mch_order_no, m.appid)) return fail('KSHER_DUPLICATED_ORDERNO');
		const order: Order = {
			appid: m.appid,
			mch_order_no: p.mch_order_no,
			order_uuid: hex(16),
			pay_mch_order_no: digits(16),
			ksher_order_no: `700${digits(20)}`,
			total_fee: total,
			fee_type: p.fee_type,
			channel_list: [...new Set(channels)],
			params: p,
			state: 'NOTSURE',
			cancelled: false,
			expired: false,
			card_in_progress: false,
			channel: '',
			time_end: '',
			created_at: new Date().toISOString(),
			refunds: [],
			failed_attempts: 0,
		};
		orders.set(key(m.appid, order.mch_order_no), order);
		byUuid.set(order.order_uuid, order);
		if (p.expire_time) {
			schedule(Number(p.expire_time) * 60_000 * (options.expiryScale ?? 1), () => {
				if (order.state !== 'SUCCESS') order.expired = true;
			});
		}
		return { data: { pay_content: `${baseUrl}/page?order_uuid=${order.order_uuid}&lang=${p.lang ?? 'en'}`, nonce_str: nonce } };
	}

	function gatewayOrderQuery(m: Merchant, p: Record<string, string>, nonce: string): Answer {
		const lack = required(p, ['mch_order_no']);
		if (lack) return lack;
		const order = findOrder(p.mch_order_no, m.appid);
		if (!order) return fail('ORDER_NOT_EXIST');
		return { data: orderData(order, nonce) };
	}

	function cancelOrder(m: Merchant, p: Record<string, string>, nonce: string): Answer {
		const lack = required(p, ['mch_order_no']);
		if (lack) return lack;
		const order = findOrder(p.mch_order_no, m.appid);
		if (!order) return fail('ORDER_NOT_EXIST');
		if (order.state === 'SUCCESS') return fail('ORDER_ALREADY_PAY_OPERATION_CANNOT_BE_PERFORMED');
		if (order.cancelled) return fail('ORDER_ALREADY_CANCEL');
		if (order.card_in_progress) return fail('CANCEL_ERROR', 'a card payment is in progress and cannot be cancelled');
		order.cancelled = true;
		return { data: { appid: m.appid, mch_order_no: order.mch_order_no, nonce_str: nonce, result: 'SUCCESS' } };
	}

	function orderRefund(m: Merchant, p: Record<string, string>, nonce: string): Answer {
		const lack = required(p, ['total_fee', 'fee_type', 'refund_fee', 'mch_refund_no']);
		if (lack) return lack;
		const target = refundTarget(m.appid, p);
		if (typeof target === 'string') return fail(target);
		const order = target;
		if (p.mch_refund_no.length > 32) return fail('KSHER_PARAM_OVERLENGTH', 'mch_refund_no is longer than 32 characters');
		if (order.cancelled && order.state !== 'SUCCESS') return fail('ORDER_ALREADY_CANCEL_OPERATION_CANNOT_BE_PERFORMED');
		if (order.state !== 'SUCCESS') return fail('ORDER_NOT_PAY');
		if (!/^[1-9]\d*$/.test(p.refund_fee) || !/^\d+$/.test(p.total_fee)) return fail('KSHER_INVALID_PARAM', 'total_fee and refund_fee must be positive integers');
		if (Number(p.total_fee) !== order.total_fee || p.fee_type !== order.fee_type) return fail('KSHER_INVALID_REFUND_FEE_OR_TYPE');
		const used = usedRefundNos.get(m.appid) ?? new Set<string>();
		if (used.has(p.mch_refund_no)) return fail('KSHER_DUPLICATED_REFUND_ORDERNO');
		const remaining = order.total_fee - refunded(order);
		if (remaining <= 0) return fail('ORDER_ALREADY_REFUND');
		if (Number(p.refund_fee) > remaining) return fail('KSHER_INVALID_REFUND_BALANCE');
		if (m.allow_partial_refund === 'N' && Number(p.refund_fee) !== order.total_fee) return fail('KSHER_INVALID_REFUND_AMOUNT');
		const refund = addRefund(order, p.mch_refund_no, Number(p.refund_fee));
		return {
			data: {
				appid: m.appid,
				channel: order.channel,
				channel_refund_no: refund.channel_refund_no,
				fee_type: order.fee_type,
				ksher_order_no: order.ksher_order_no,
				ksher_refund_no: refund.ksher_refund_no,
				mch_order_no: order.pay_mch_order_no,
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

	/** Records a refund, as order_refund or a refund made in the merchant portal does. */
	function addRefund(order: Order, refundNo: string, fee: number): Refund {
		const refund: Refund = {
			mch_refund_no: refundNo,
			ksher_refund_no: `700${digits(20)}`,
			channel_refund_no: `5020${digits(25)}`,
			refund_fee: fee,
			refund_state: 'REFUNDSUCCESS',
			refund_time: ksherTime(),
		};
		order.refunds.push(refund);
		const used = usedRefundNos.get(order.appid) ?? new Set<string>();
		used.add(refundNo);
		usedRefundNos.set(order.appid, used);
		return refund;
	}

	function refundQuery(m: Merchant, p: Record<string, string>, nonce: string): Answer {
		const target = refundTarget(m.appid, p);
		if (typeof target === 'string') return fail(target);
		const order = target;
		// Ksher's refund_query page: "Promptpay and Aliapy not support this feature". Which code it answers is unknown.
		if (!canListRefunds(order.channel)) return fail('KSHER_INVALID_PARAM', `refund_query is not supported for ${order.channel} payments`);
		const list = order.refunds.filter((r) => !p.mch_refund_no || r.mch_refund_no === p.mch_refund_no);
		if (p.mch_refund_no && list.length === 0) return fail('KSHER_INVALID_ORDER_NO', `no refund ${p.mch_refund_no} on this order`);
		return {
			data: {
				appid: m.appid,
				cash_fee: String(order.total_fee),
				cash_fee_type: order.fee_type,
				channel_order_no: `4200${order.pay_mch_order_no}`,
				fee_type: order.fee_type,
				ksher_order_no: order.ksher_order_no,
				mch_order_no: order.pay_mch_order_no,
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

	function merchantInfo(m: Merchant, _p: Record<string, string>, nonce: string): Answer {
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
				mch_support_channel: GATEWAY_CHANNELS.map((c) => ({ day_sum_limit: -1, pay_channel: c.value, settlement_time_type: 'T+1', single_order_limit: -1 })),
				mobile: '0800000000',
				nonce_str: nonce,
				price_fee_type: 'THB',
				time_zone: '+07:00',
			},
		};
	}

	const handlers: Record<string, (m: Merchant, p: Record<string, string>, nonce: string, base: string) => Answer> = {
		gateway_pay: gatewayPay,
		gateway_order_query: gatewayOrderQuery,
		cancel_order: cancelOrder,
		order_refund: orderRefund,
		refund_query: refundQuery,
		merchant_info: merchantInfo,
	};

	// ---- notifications --------------------------------------------------------------

	function schedule(ms: number, fn: () => void): void {
		if (closing) return;
		const timer = setTimeout(() => {
			timers.delete(timer);
			fn();
		}, ms);
		timers.add(timer);
	}

	function notificationBody(order: Order, event: string): string {
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
		return JSON.stringify({ code: 0, msg: '操作成功', data, sign: sign(data, 'mch_notify_url'), message: '操作成功' });
	}

	function deliver(order: Order, event: string, url: string, retries = true): number {
		const delivery = ++deliveryCounter;
		const body = notificationBody(order, event);
		const attempt = async (n: number) => {
			if (closing) return;
			const record: DeliveryAttempt = {
				id: ++attemptCounter,
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
			deliveries.push(record);
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
				record.acknowledged = response.status === 200 && ack?.result === 'SUCCESS' && ack?.msg === 'OK' && Object.keys(ack).length === 2;
			} catch (error) {
				record.error = (error as Error).message;
			}
			log(`notify ${order.mch_order_no} ${event} attempt ${n} → ${record.status ?? record.error} ${record.acknowledged ? 'acknowledged' : 'not acknowledged'}`);
			if (!record.acknowledged && retries && n <= RETRY_SCHEDULE_S.length) {
				schedule(RETRY_SCHEDULE_S[n - 1] * 1000 * timeScale, () => void attempt(n + 1));
			}
		};
		void attempt(1);
		return delivery;
	}

	/** `notify: false` pays without a notification, as when Ksher's 2-hour watch or the Notify URL missed it. */
	function markPaid(order: Order, channel: string, notify = true): string | undefined {
		if (!order.channel_list.includes(channel)) return `channel ${channel} is not offered on this order (offered: ${order.channel_list.join(', ')})`;
		if (order.state === 'SUCCESS') return 'the order is already paid';
		if (order.cancelled) return 'the order was cancelled; its payment page no longer accepts payment';
		if (order.expired) return 'the order has expired';
		order.state = 'SUCCESS';
		order.channel = channel;
		order.time_end = ksherTime();
		order.card_in_progress = false;
		if (notify && order.params.mch_notify_url) deliver(order, 'paid', order.params.mch_notify_url);
		return undefined;
	}

	// ---- HTTP -----------------------------------------------------------------------

	let baseUrl = '';

	async function protocol(req: IncomingMessage, res: ServerResponse, endpoint: string): Promise<void> {
		let nonce = '';
		const reply = async (answer: Answer, fault?: Fault) => {
			if (fault?.type === 'latency') await sleep(fault.ms);
			if (fault?.type === 'reset') {
				req.socket.destroy();
				return;
			}
			if (fault?.type === 'http500') return void res.writeHead(500, { 'content-type': 'text/html' }).end('<html><body>500 Internal Server Error</body></html>');
			if (fault?.type === 'nonjson') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Bad Gateway</body></html>');
			if (fault?.type === 'empty') return void res.writeHead(200).end();
			sendJson(res, 200, envelope(endpoint, answer, nonce, fault));
		};
		if (req.method !== 'POST') return reply({ error: 'REQUIRE_POST_METHOD' });
		const body = await readBody(req);
		const type = String(req.headers['content-type'] ?? '');
		if (!/^application\/x-www-form-urlencoded\b/i.test(type)) {
			return reply({ error: 'PARAM_ERROR', message: 'the request body must be application/x-www-form-urlencoded' });
		}
		if (body.trim() === '') return reply({ error: 'POST_DATA_EMPTY' });
		const params: Record<string, string> = {};
		for (const [k, v] of new URLSearchParams(body)) params[k] = v;
		requests.push({ endpoint, params, at: new Date().toISOString() });
		nonce = params.nonce_str ?? '';
		const appid = params.appid ?? params.mch_appid;
		if (!appid) return reply({ error: 'APPID_NOT_EXIST' });
		const merchant = merchants.get(appid);
		if (!merchant) return reply({ error: 'KSHER_INVALID_MCHINFO' });
		const { sign: signature, ...unsigned } = params;
		if (!signature || !verifyCanonical(canonicalString(unsigned), signature, merchant.publicKey)) {
			return reply({ error: 'KSHER_SIGN_ERROR' });
		}
		const lack = required(params, ['nonce_str', 'time_stamp']);
		if (lack) return reply(lack);
		let fault = takeFault(faults, endpoint);
		if (fault?.stage === 'before') {
			// Delayed before Ksher processes it: the client may give up, Ksher still acts.
			if (fault.type === 'latency') {
				await sleep(fault.ms);
				fault = undefined;
			} else if (['reset', 'http500', 'nonjson', 'empty'].includes(fault.type)) {
				log(`${endpoint} ${params.mch_order_no ?? ''} → not processed (fault ${fault.type})`);
				return reply({ data: {} }, fault);
			}
		}
		const answer = handlers[endpoint](merchant, params, params.nonce_str, baseUrl);
		log(`${endpoint} ${params.mch_order_no ?? ''} → ${'error' in answer ? answer.error : 'ok'}${fault ? ` (fault ${fault.type})` : ''}`);
		return reply(answer, fault);
	}

	async function control(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
		let input: Record<string, unknown> = {};
		if (req.method === 'POST') {
			const text = await readBody(req);
			if (text.trim() !== '') {
				try {
					input = JSON.parse(text);
				} catch {
					return sendJson(res, 400, { error: 'the body must be JSON' });
				}
				if (typeof input !== 'object' || input === null || Array.isArray(input)) return sendJson(res, 400, { error: 'the body must be a JSON object' });
			}
		}
		const appid = typeof input.appid === 'string' ? input.appid : defaultAppid;
		const orderFromInput = (): Order | undefined => {
			const no = input.mch_order_no;
			if (typeof no !== 'string' || no === '') {
				sendJson(res, 400, { error: 'mch_order_no is required' });
				return undefined;
			}
			const order = findOrder(no, appid);
			if (!order) sendJson(res, 404, { error: `unknown order ${no} for ${appid}` });
			return order;
		};
		const route = `${req.method} ${path}`;
		if (route === 'GET /notifications') return sendJson(res, 200, deliveries);
		if (route === 'GET /requests') return sendJson(res, 200, requests);
		if (req.method === 'GET' && path.startsWith('/orders/')) {
			const no = decodeURIComponent(path.slice('/orders/'.length));
			const wanted = new URL(req.url ?? '', 'http://x').searchParams.get('appid') ?? defaultAppid;
			const order = findOrder(no, wanted);
			if (!order) return sendJson(res, 404, { error: `unknown order ${no} for ${wanted}` });
			return sendJson(res, 200, { ...order, result: queryResult(order), refunded_fee: refunded(order) });
		}
		if (route === 'POST /pay') {
			const order = orderFromInput();
			if (!order) return;
			const channel = typeof input.channel === 'string' ? input.channel : order.channel_list[0];
			const problem = markPaid(order, channel, input.notify !== false);
			return problem ? sendJson(res, 409, { error: problem }) : sendJson(res, 200, { ...order, result: queryResult(order) });
		}
		if (route === 'POST /refund') {
			// A refund made outside the API (the merchant portal): no notification, as with Ksher.
			const order = orderFromInput();
			if (!order) return;
			if (order.state !== 'SUCCESS') return sendJson(res, 409, { error: 'only a paid order can be refunded' });
			const remaining = order.total_fee - refunded(order);
			const fee = input.refund_fee === undefined ? remaining : Number(input.refund_fee);
			if (!Number.isSafeInteger(fee) || fee <= 0) return sendJson(res, 400, { error: 'refund_fee must be a positive integer in minor units' });
			if (fee > remaining) return sendJson(res, 409, { error: `refund_fee ${fee} exceeds what remains (${remaining})` });
			const refundNo = typeof input.mch_refund_no === 'string' && input.mch_refund_no !== '' ? input.mch_refund_no : `PORTAL-${digits(10)}`;
			if (usedRefundNos.get(order.appid)?.has(refundNo)) return sendJson(res, 409, { error: `refund number ${refundNo} was already used` });
			const refund = addRefund(order, refundNo, fee);
			return sendJson(res, 200, { refund, result: queryResult(order), refunded_fee: refunded(order) });
		}
		if (route === 'POST /fail' || route === 'POST /expire' || route === 'POST /card-in-progress') {
			const order = orderFromInput();
			if (!order) return;
			if (order.state === 'SUCCESS') return sendJson(res, 409, { error: 'the order is already paid' });
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
			const event = input.event === undefined ? (queryResult(order) === 'REFUND' ? 'refunded' : 'paid') : input.event;
			if (event !== 'paid' && event !== 'refunded') return sendJson(res, 400, { error: 'event must be "paid" or "refunded"' });
			const url = typeof input.url === 'string' ? input.url : order.params.mch_notify_url;
			if (!url) return sendJson(res, 400, { error: 'the order has no mch_notify_url; pass "url"' });
			return sendJson(res, 200, { delivery: deliver(order, event, url, input.retry !== false) });
		}
		if (route === 'POST /faults') {
			const fault = parseFault(input);
			if (typeof fault === 'string') return sendJson(res, 400, { error: fault });
			faults.push(fault);
			return sendJson(res, 200, { faults });
		}
		if (route === 'GET /faults') return sendJson(res, 200, { faults });
		if (route === 'POST /faults/clear') {
			faults = [];
			return sendJson(res, 200, { faults });
		}
		if (route === 'POST /merchants') {
			if (typeof input.appid !== 'string' || !/^mch\w{1,29}$/.test(input.appid)) return sendJson(res, 400, { error: 'appid must look like mch12345' });
			if (input.publicKey !== undefined && typeof input.publicKey !== 'string') return sendJson(res, 400, { error: 'publicKey must be a PEM string' });
			try {
				return sendJson(res, 200, addMerchant(input.appid, input.publicKey as string | undefined));
			} catch {
				return sendJson(res, 400, { error: 'publicKey is not a readable RSA public key' });
			}
		}
		if (route === 'POST /merchant-settings') {
			const merchant = merchants.get(appid);
			if (!merchant) return sendJson(res, 404, { error: `unknown merchant ${appid}` });
			if (input.allow_partial_refund !== 'Y' && input.allow_partial_refund !== 'N') return sendJson(res, 400, { error: 'allow_partial_refund must be "Y" or "N"' });
			merchant.allow_partial_refund = input.allow_partial_refund;
			return sendJson(res, 200, { appid, allow_partial_refund: merchant.allow_partial_refund });
		}
		if (route === 'POST /reset') {
			orders.clear();
			byUuid.clear();
			usedRefundNos.clear();
			deliveries.length = 0;
			requests.length = 0;
			faults = [];
			stats.peakInFlight = stats.inFlight;
			for (const t of timers) clearTimeout(t);
			timers.clear();
			return sendJson(res, 200, { reset: true });
		}
		return sendJson(res, 404, { error: `no control route ${route}` });
	}

	async function checkout(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
		const html = (status: number, text: string) => {
			res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
			res.end(text);
		};
		if (req.method === 'GET' && path === '/page') {
			const order = byUuid.get(new URL(req.url ?? '', 'http://x').searchParams.get('order_uuid') ?? '');
			if (!order) return html(404, '<!doctype html><p>Unknown payment link.</p>');
			const result = queryResult(order);
			const open = result === 'NOTSURE' || result === 'PAYERROR';
			return html(200, checkoutPage(order, open, result === 'SUCCESS' || result === 'REFUND' ? 'This order is already paid.' : ''));
		}
		if (req.method === 'GET' && path === '/page/result') {
			const query = new URL(req.url ?? '', 'http://x').searchParams;
			const no = query.get('mch_order_no') ?? '';
			const order = findOrder(no, query.get('appid') ?? defaultAppid);
			return html(order ? 200 : 404, resultPage(no, order, order ? queryResult(order) : '', query.get('mail') ?? undefined));
		}
		if (req.method === 'POST' && (path === '/page/pay' || path === '/page/fail')) {
			const form = new URLSearchParams(await readBody(req));
			const order = byUuid.get(form.get('order_uuid') ?? '');
			if (!order) return html(404, '<!doctype html><p>Unknown payment link.</p>');
			if (path === '/page/fail') {
				if (order.state !== 'SUCCESS') {
					order.state = 'PAYERROR';
					order.failed_attempts++;
				}
				res.writeHead(302, { location: `${order.params.mch_redirect_url_fail}${order.params.mch_redirect_url_fail.includes('?') ? '&' : '?'}mch_order_no=${encodeURIComponent(order.mch_order_no)}` });
				return void res.end();
			}
			const problem = markPaid(order, form.get('channel') ?? '');
			if (problem) return html(409, checkoutPage(order, false, problem));
			res.writeHead(302, { location: `${order.params.mch_redirect_url}${order.params.mch_redirect_url.includes('?') ? '&' : '?'}mch_order_no=${encodeURIComponent(order.mch_order_no)}` });
			return void res.end();
		}
		return html(404, '<!doctype html><p>Not found.</p>');
	}

	const sockets = new Set<Socket>();
	const server: Server = createServer((req, res) => {
		const path = new URL(req.url ?? '/', 'http://x').pathname;
		const run = async () => {
			const [, first, rest] = /^\/([^/]*)(\/.*)?$/.exec(path) ?? [];
			const endpoint = rest?.slice(1) ?? '';
			if ((first === 'api' && GATEWAY.includes(endpoint)) || (first === 'KsherPay' && API.includes(endpoint))) {
				stats.inFlight++;
				stats.peakInFlight = Math.max(stats.peakInFlight, stats.inFlight);
				return protocol(req, res, endpoint).finally(() => stats.inFlight--);
			}
			if (first === 'control') return control(req, res, rest ?? '/');
			if (first === 'page') return checkout(req, res, path);
			if (path === '/') return sendJson(res, 200, { simulator: 'Ksher Gateway Pay', ...publicInfo() });
			return sendJson(res, 404, { code: 1, msg: 'NOT_FOUND', message: `no endpoint ${path}` });
		};
		run().catch((error: Error) => {
			if (!res.headersSent) sendJson(res, 400, { error: error.message });
			else res.destroy();
		});
	});
	server.on('connection', (socket) => {
		sockets.add(socket);
		socket.on('close', () => sockets.delete(socket));
	});
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(options.port ?? 0, host, () => resolve());
	});
	const { port } = server.address() as AddressInfo;
	baseUrl = `http://${host}:${port}`;

	const publicInfo = (): SimulatorInfo => ({
		gatewayUrl: `${baseUrl}/api`,
		apiUrl: `${baseUrl}/KsherPay`,
		controlUrl: `${baseUrl}/control`,
		checkoutUrl: `${baseUrl}/page`,
		appid: defaultAppid,
		merchantPrivateKey: keys.merchantPrivatePem,
		ksherPublicKey: ksherPublicPem,
	});

	return {
		info: publicInfo(),
		addMerchant,
		order: (no, appid) => findOrder(no, appid),
		signedNotification: (data) => JSON.stringify({ code: 0, msg: '操作成功', data, sign: sign(data, 'mch_notify_url'), message: '操作成功' }),
		deliveries,
		stats,
		requests,
		close: async () => {
			closing = true;
			for (const t of timers) clearTimeout(t);
			timers.clear();
			for (const s of sockets) s.destroy();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}
