import type { KsherClient } from './client';
import { KsherApiError, KsherInputError, KsherTransportError } from './errors';
import { bangkokTime } from './notification';
import {
	askedMinor,
	decideRefund,
	derivedNumberOf,
	exceedsRemaining,
	failed,
	fullyRefunded,
	money,
	numberUsedForOtherAmount,
	partialRefused,
	refundFailedAtKsher,
	unlistedDone,
	RunMemory,
	type RefundDecision,
	type RefundRequest,
} from './refundRules';
import { listRefunds, paidOrder, refundedMinor, type KsherRefund } from './refunds';

/**
 * Sending refunds: one row on its own, and one decided refund to Ksher, reading every answer so
 * that nothing is refunded twice: a number Ksher has already used is that refund (or an error
 * when it was for another amount), a lost answer is looked up, never retried blindly.
 */

/** How one sent refund ended: Ksher's refund, whether it was done before, and what was recovered from. */
export interface RefundOutcome {
	refund: KsherRefund;
	/** The payment's currency, which the refund is in. */
	currency: string;
	/** Whether Ksher had this refund before this call; null when a lost answer leaves that unknown (recoveredFrom). */
	alreadyRefunded: boolean | null;
	/** Ksher confirms the refund but cannot show its amount (PromptPay, Alipay): the output says null, not a guess. */
	amountUnknown?: boolean;
	/** The payment is fully refunded but no refund of this row's can be shown (PromptPay, Alipay): none is named. */
	unconfirmed?: boolean;
	note?: string;
	recoveredFrom?: string;
}

/** A refund call whose outcome is unknown and which Ksher does not list yet: the original failure, said plainly. */
function mayHaveHappened(
	orderNumber: string,
	refundNumber: string,
	cause: KsherTransportError,
): KsherTransportError {
	// The transport's messages end by saying the outcome is unknown, which this message says itself.
	const happened = cause.message.replace(
		/(, so| and) (the outcome is unknown|Ksher may or may not have processed it)$/,
		'',
	);
	return new KsherTransportError(
		cause.failure,
		`The refund ${refundNumber} of order ${orderNumber} may have happened: ${happened}, and Ksher does not list it yet`,
		`Do not refund again with a new number. Check with Refund → Get Many for order ${orderNumber} (or the Ksher merchant portal) in a few minutes. Re-running with the same refund number ${refundNumber} is safe: Ksher refuses a refund number it has already used.`,
		'order_refund',
		true,
		cause.httpStatus,
	);
}

type Sendable = Pick<RefundDecision, 'request' | 'order' | 'refundNumber' | 'asked'> & {
	amount: number;
};

/** Ksher says the refund number is used: this very refund done before, or an error. */
async function usedNumber(client: KsherClient, decision: Sendable): Promise<RefundOutcome> {
	const { request, order, refundNumber, asked, amount } = decision;
	const { currency } = order;
	const refunds = await listRefunds(client, order.refundTarget, refundNumber);
	const found = refunds?.find((r) => r.mch_refund_no === refundNumber);
	if (found) {
		if (failed(found)) throw refundFailedAtKsher(found, request.orderNumber, request);
		if (asked !== undefined && found.refund_fee !== asked)
			throw numberUsedForOtherAmount(
				refundNumber,
				request.orderNumber,
				found.refund_fee,
				asked,
				currency,
				request,
			);
		return { refund: found, currency, alreadyRefunded: true };
	}
	if (refunds === undefined) {
		// Ksher cannot list this payment's refunds (some wallets). A derived number names the order and
		// the amount, so Ksher's word that it is used is this refund; a number of the user's may be any refund.
		if (refundNumber === derivedNumberOf(request, asked)) {
			return {
				refund: unlistedDone(refundNumber, amount),
				currency,
				alreadyRefunded: true,
				// Everything That Remains: what remained when it was refunded is not known here.
				amountUnknown: asked === undefined,
				note: "Ksher reports this refund number as used and cannot list this payment's refunds to show its details; the number is made from the order and the amount, so it is this refund.",
			};
		}
		throw new KsherInputError(
			'Refund Number',
			`Refund Number ${refundNumber} is already used, and Ksher cannot list the refunds of order ${request.orderNumber} (PromptPay, Alipay) to show whether it was this refund of ${money(amount, currency)}`,
			'Nothing was refunded now. Check the refund in the Ksher merchant portal; if it is another refund, give this row its own Refund Number.',
		);
	}
	throw new KsherInputError(
		'Refund Number',
		`Refund number ${refundNumber} was already used for another refund, not on order ${request.orderNumber}`,
		'Refund numbers must be unique across your Ksher account: give a different Refund Number. Nothing was refunded for this row.',
	);
}

/**
 * Asks Ksher for one decided refund under a refund number that identifies it, and reads the
 * answer: a used number is looked up (this refund done before, or an error when it was another
 * amount); a refusal of the amount is explained with what remains; an unknown outcome is looked
 * up before anything else happens.
 */
export async function sendRefund(client: KsherClient, decision: Sendable): Promise<RefundOutcome> {
	const { request, order, amount, refundNumber } = decision;
	const { orderNumber } = request;
	const sentAt = Date.now();
	const outcome = await client
		.call('order_refund', {
			...order.refundTarget,
			total_fee: order.total,
			fee_type: order.currency,
			refund_fee: amount,
			mch_refund_no: refundNumber,
		})
		.then(
			({ data }) => ({ data }),
			(error: unknown) => ({ error }),
		);
	if ('data' in outcome) {
		const d = outcome.data;
		return {
			refund: {
				mch_refund_no: String(d.mch_refund_no || refundNumber),
				ksher_refund_no: String(d.ksher_refund_no ?? ''),
				channel_refund_no: String(d.channel_refund_no ?? ''),
				refund_fee:
					Number.isSafeInteger(Number(d.refund_fee)) && Number(d.refund_fee) > 0
						? Number(d.refund_fee)
						: amount,
				refund_state: String(d.refund_state || 'REFUNDSUCCESS'),
				refund_time: String(d.refund_time ?? ''),
			},
			currency: order.currency,
			alreadyRefunded: false,
		};
	}
	const { error } = outcome;
	const { currency } = order;
	if (
		error instanceof KsherApiError &&
		/DUPLICATED_REFUND|INVALID_REFUND_ORDER_NO/.test(error.code)
	)
		return await usedNumber(client, decision);
	// Ksher refused the amount: explain with what remains (or find this very refund, done before).
	if (
		error instanceof KsherApiError &&
		/REFUND_BALANCE|INVALID_REFUND_FEE$|ALREADY_REFUND/.test(error.code)
	) {
		const refunds = await listRefunds(client, order.refundTarget);
		const existing = refunds?.find((r) => r.mch_refund_no === refundNumber);
		if (existing) return await usedNumber(client, decision);
		if (refunds) {
			const remaining = order.total - refundedMinor(refunds);
			throw remaining <= 0
				? fullyRefunded(orderNumber, order)
				: exceedsRemaining(orderNumber, order, amount, remaining);
		}
		throw error;
	}
	// Ksher refuses partial refunds for some accounts: say so in the user's terms when its account settings agree.
	if (error instanceof KsherApiError && error.code === 'KSHER_INVALID_REFUND_AMOUNT') {
		const partialAllowed = await client.call('merchant_info').then(
			({ data }) => data.allow_partial_refund,
			() => undefined,
		);
		if (partialAllowed === 'N') throw partialRefused(orderNumber, order, amount);
		throw error;
	}
	// The outcome is unknown: look before anyone retries, never refund blindly again.
	if (error instanceof KsherTransportError && error.mayHaveSucceeded) {
		const list = await listRefunds(client, order.refundTarget, refundNumber).catch(() => undefined);
		const found = list?.find((r) => r.mch_refund_no === refundNumber);
		if (found && failed(found)) throw refundFailedAtKsher(found, orderNumber, request);
		// Under this number Ksher holds another amount: not this row's refund, whatever the lost answer said.
		if (found && decision.asked !== undefined && found.refund_fee !== decision.asked)
			throw numberUsedForOtherAmount(
				refundNumber,
				orderNumber,
				found.refund_fee,
				decision.asked,
				currency,
				request,
			);
		// Made by this call, or by an earlier run whose answer was lost too: its time tells when it is clearly
		// older than this call (a minute for clocks); otherwise it cannot be told, and alreadyRefunded says null.
		const madeAt = bangkokTime(found?.refund_time);
		if (found)
			return {
				refund: found,
				currency,
				alreadyRefunded: madeAt !== undefined && madeAt < sentAt - 60_000 ? true : null,
				recoveredFrom: error.message,
			};
		throw mayHaveHappened(orderNumber, refundNumber, error);
	}
	throw error;
}

/**
 * One row on its own (Check All Rows First off, or a version 1 node), decided by the same rules
 * as a checked sheet. The order's refund list is only fetched when the rules need it: to refund
 * everything that remains, when the order shows as fully refunded, or for an amount above the
 * payment; an ordinary row costs two calls to Ksher and Ksher's own refusals say the rest.
 */
export async function refundRow(
	client: KsherClient,
	request: RefundRequest,
): Promise<RefundOutcome> {
	const order = await paidOrder(client, request.orderNumber, request.qrChannel);
	const asked = askedMinor(request, order);
	const needsList = asked === undefined || asked > order.total || order.data.result === 'REFUND';
	const refunds = needsList
		? ((await listRefunds(client, order.refundTarget)) ?? 'unlisted')
		: 'unread';
	const decision = decideRefund(request, order, refunds, 'unread', new RunMemory());
	if (decision.action === 'done')
		return {
			refund: decision.existing,
			currency: order.currency,
			alreadyRefunded: true,
			amountUnknown: decision.amountUnknown,
			unconfirmed: decision.unconfirmed,
			note: decision.note,
		};
	return await sendRefund(client, decision);
}
