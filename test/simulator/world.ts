import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';

import { canonicalString, signCanonical, signedFields } from '../../nodes/protocol';
import type { Fault } from './faults';
import {
	digits,
	ksherTime,
	refundOrderNo,
	type DeliveryAttempt,
	type Order,
	type Refund,
} from './state';

export interface Merchant {
	appid: string;
	publicKey: KeyObject;
	privateKeyPem?: string;
	mch_id: string;
	/** merchant_info's allow_partial_refund; N makes order_refund refuse partial refunds. */
	allow_partial_refund: 'Y' | 'N';
	/**
	 * Whether the account may make QR codes (native_pay); N makes native_pay answer NOAUTH. merchant_info
	 * is unchanged then: whether it shows that native_pay is off is not known.
	 */
	qr_payments: 'Y' | 'N';
}

export interface WorldOptions {
	timeScale: number;
	expiryScale: number;
	keysDir?: string;
	appid: string;
	keyBits: number;
	ksherKeyBits: number;
	log: (line: string) => void;
}

function keyPair(bits: number) {
	const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
	return {
		privatePem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
		publicPem: publicKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
	};
}

function loadOrCreateKeys(dir: string | undefined, bits: number, ksherBits: number) {
	const files = dir && {
		ksher: join(dir, 'ksher-private.pem'),
		merchant: join(dir, 'merchant-private.pem'),
	};
	if (files && existsSync(files.ksher) && existsSync(files.merchant)) {
		return {
			ksherPrivatePem: readFileSync(files.ksher, 'utf8'),
			merchantPrivatePem: readFileSync(files.merchant, 'utf8'),
		};
	}
	const keys = {
		ksherPrivatePem: keyPair(ksherBits).privatePem,
		merchantPrivatePem: keyPair(bits).privatePem,
	};
	if (files && dir) {
		mkdirSync(dir, { recursive: true });
		writeFileSync(files.ksher, keys.ksherPrivatePem, { mode: 0o600 });
		writeFileSync(files.merchant, keys.merchantPrivatePem, { mode: 0o600 });
	}
	return keys;
}

/**
 * The simulator's state and the few things every part does with it: merchants and their keys,
 * gateway orders, refunds, notification deliveries, faults, timers. The protocol endpoints, the
 * notifications, the control API and the pages each work on one World.
 */
export class World {
	readonly keys: { ksherPrivatePem: string; merchantPrivatePem: string };
	readonly ksherKey: KeyObject;
	readonly ksherPublicPem: string;
	/** A key that is not Ksher's, for the "wrongkey" fault. */
	readonly wrongKey: KeyObject;
	readonly defaultAppid: string;
	readonly merchants = new Map<string, Merchant>();
	readonly orders = new Map<string, Order>();
	readonly byUuid = new Map<string, Order>();
	readonly usedRefundNos = new Map<string, Set<string>>();
	readonly deliveries: DeliveryAttempt[] = [];
	readonly requests: Array<{ endpoint: string; params: Record<string, string>; at: string }> = [];
	faults: Fault[] = [];
	readonly stats = { inFlight: 0, peakInFlight: 0 };
	readonly timers = new Set<NodeJS.Timeout>();
	deliveryCounter = 0;
	attemptCounter = 0;
	closing = false;
	baseUrl = '';
	/** How far the simulator's clock runs ahead of the machine's (control API: POST /clock). */
	clockOffsetMs = 0;
	/** Settlement: the commission in basis points of a day's payments (150 = 1.5 %). */
	readonly settlement = { commissionBasisPoints: 150 };
	readonly log: (line: string) => void;
	/** Ksher's retry delays are multiplied by this (POST /time-scale changes it). */
	timeScale: number;

	constructor(readonly options: WorldOptions) {
		this.keys = loadOrCreateKeys(options.keysDir, options.keyBits, options.ksherKeyBits);
		this.ksherKey = createPrivateKey(this.keys.ksherPrivatePem);
		this.ksherPublicPem = createPublicKey(this.ksherKey)
			.export({ type: 'spki', format: 'pem' })
			.toString();
		this.wrongKey = createPrivateKey(keyPair(options.ksherKeyBits).privatePem);
		this.log = options.log;
		this.timeScale = options.timeScale;
		this.defaultAppid = options.appid;
		this.addMerchant(this.defaultAppid);
	}

	/** Registers (or replaces) a merchant; generates its key pair unless a public key is given. */
	addMerchant(
		appid: string,
		publicKeyPem?: string,
	): { appid: string; merchantPrivateKey?: string } {
		let privateKeyPem: string | undefined;
		let publicKey: KeyObject;
		if (publicKeyPem) publicKey = createPublicKey(publicKeyPem);
		else {
			privateKeyPem =
				appid === this.defaultAppid
					? this.keys.merchantPrivatePem
					: keyPair(this.options.keyBits).privatePem;
			publicKey = createPublicKey(createPrivateKey(privateKeyPem));
		}
		this.merchants.set(appid, {
			appid,
			publicKey,
			privateKeyPem,
			mch_id: appid.replace(/^mch/, ''),
			allow_partial_refund: 'Y',
			qr_payments: 'Y',
		});
		return { appid, merchantPrivateKey: privateKeyPem };
	}

	/** The simulator's time: the machine's, moved forward by POST /clock so that tests need not wait for settlement. */
	now(): Date {
		return new Date(Date.now() + this.clockOffsetMs);
	}

	findOrder(no: string, appid = this.defaultAppid, kind?: 'qr' | 'gateway'): Order | undefined {
		// Whether Ksher lets a payment link and a QR share a number is unknown (two hosts, two order
		// books): the simulator allows it, so that the node is tested against the harder case.
		if (kind === 'qr') return this.orders.get(`${appid}\u0000qr\u0000${no}`);
		if (kind === 'gateway') return this.orders.get(`${appid}\u0000${no}`);
		return this.orders.get(`${appid}\u0000${no}`) ?? this.orders.get(`${appid}\u0000qr\u0000${no}`);
	}

	addOrder(order: Order): void {
		this.orders.set(
			`${order.appid}\u0000${order.kind === 'qr' ? 'qr\u0000' : ''}${order.mch_order_no}`,
			order,
		);
		this.byUuid.set(order.order_uuid, order);
	}

	/**
	 * Finds the order that order_refund/refund_query address, like Ksher: by ksher_order_no, or by
	 * mch_order_no, which for a payment link is its pay_mch_order_no and for a QR order its own number.
	 */
	refundTarget(appid: string, params: Record<string, string>): Order | string {
		const all = [...this.orders.values()].filter((o) => o.appid === appid);
		if (params.ksher_order_no) {
			return (
				all.find((o) => o.ksher_order_no === params.ksher_order_no && o.state === 'SUCCESS') ??
				'KSHER_INVALID_ORDER_NO'
			);
		}
		if (!params.mch_order_no) return 'KSHER_ERROR_ORDER_NO';
		const order = all.find((o) => refundOrderNo(o) === params.mch_order_no);
		if (order) return order;
		// The merchant's own gateway order number is not the refundable order id.
		if (this.findOrder(params.mch_order_no, appid)) return 'INVALID_ORDER_NO';
		return 'KSHER_INVALID_ORDER_NO';
	}

	/** Records a refund, as order_refund or a refund made in the merchant portal does. */
	addRefund(order: Order, refundNo: string, fee: number): Refund {
		const refund: Refund = {
			mch_refund_no: refundNo,
			ksher_refund_no: `700${digits(20)}`,
			channel_refund_no: `5020${digits(25)}`,
			refund_fee: fee,
			refund_state: 'REFUNDSUCCESS',
			refund_time: ksherTime(this.now()),
		};
		order.refunds.push(refund);
		const used = this.usedRefundNos.get(order.appid) ?? new Set<string>();
		used.add(refundNo);
		this.usedRefundNos.set(order.appid, used);
		return refund;
	}

	sign(data: Record<string, unknown>, endpoint: string, signer = this.ksherKey): string {
		return signCanonical(canonicalString(signedFields(data, endpoint)), signer);
	}

	schedule(ms: number, fn: () => void): void {
		if (this.closing) return;
		const timer = setTimeout(() => {
			this.timers.delete(timer);
			fn();
		}, ms);
		this.timers.add(timer);
	}

	/** Forgets every order, refund, delivery, request and fault (the merchants and keys stay). */
	reset(): void {
		this.orders.clear();
		this.byUuid.clear();
		this.usedRefundNos.clear();
		this.deliveries.length = 0;
		this.requests.length = 0;
		this.faults = [];
		this.stats.peakInFlight = this.stats.inFlight;
		this.clockOffsetMs = 0;
		this.settlement.commissionBasisPoints = 150;
		for (const t of this.timers) clearTimeout(t);
		this.timers.clear();
	}
}
