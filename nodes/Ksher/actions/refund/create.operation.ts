import { type IDataObject, type INodeProperties, updateDisplayOptions } from 'n8n-workflow';

import {
	deriveRefundNumber,
	fromMinorUnits,
	KsherApiError,
	KsherInputError,
	KsherTransportError,
	listRefunds,
	refundedMinor,
	toMinorUnits,
	checkDecimalAmount,
	checkKsherId,
	type KsherClient,
	type KsherRefund,
} from '../../../protocol';
import { refundFields } from '../../../adapters/format';
import { orderNumberField, orderNumberParam, stringParam, type OperationRunner } from '../common';
import { paidOrder, type PaidOrder } from './lookup';


const properties: INodeProperties[] = [
	orderNumberField('Your order number of the paid payment to refund (the one given to Create Payment).'),
	{
		displayName: 'Refund Amount',
		// Not "amount": n8n keeps a value when the operation changes if the name is the same, and a
		// payment's Amount carried over as the Refund Amount would refund the wrong sum.
		name: 'refundAmount',
		type: 'string',
		default: '',
		placeholder: 'e.g. 50.00',
		description: 'Amount to refund in major units, in the payment\'s currency. Empty: everything that has not been refunded yet.',
	},
	{
		displayName: 'Refund Number',
		name: 'refundNumber',
		type: 'string',
		default: '',
		placeholder: 'e.g. INV-1001-R1',
		description:
			'Your unique number for this refund, at most 32 characters. Empty: derived from the order number and the amount (e.g. INV-1001-R5000), so re-running the same row never refunds twice. Give your own numbers for two equal partial refunds of one order.',
	},
];

export const description = updateDisplayOptions({ show: { resource: ['refund'], operation: ['create'] } }, properties);

function refundOutput(orderNumber: string, order: PaidOrder, refund: KsherRefund, alreadyRefunded: boolean, extra: IDataObject = {}): IDataObject {
	return { ...refundFields(orderNumber, order.currency, refund), alreadyRefunded, ...extra };
}

async function findRefund(client: KsherClient, order: PaidOrder, refundNumber: string): Promise<KsherRefund | undefined> {
	const list = await listRefunds(client, order.refundTarget, refundNumber);
	return list?.find((r) => r.mch_refund_no === refundNumber);
}

/** A refund call whose outcome is unknown and which Ksher does not list yet: the original failure, said plainly. */
function mayHaveHappened(orderNumber: string, refundNumber: string, cause: KsherTransportError): KsherTransportError {
	// The transport's messages end by saying the outcome is unknown, which this message says itself.
	const happened = cause.message.replace(/(, so| and) (the outcome is unknown|Ksher may or may not have processed it)$/, '');
	return new KsherTransportError(
		cause.failure,
		`The refund ${refundNumber} of order ${orderNumber} may have happened: ${happened}, and Ksher does not list it yet`,
		`Do not refund again with a new number. Check with Refund → Get Many for order ${orderNumber} (or the Ksher merchant portal) in a few minutes. Re-running with the same refund number ${refundNumber} is safe: Ksher refuses a refund number it has already used.`,
		'order_refund',
		true,
		cause.httpStatus,
	);
}

function fullyRefunded(orderNumber: string, order: PaidOrder): KsherInputError {
	return new KsherInputError('Order Number', `Order Number ${orderNumber} is already fully refunded (${fromMinorUnits(order.total, order.currency)} ${order.currency})`, 'Nothing is left to refund. Use Refund → Get Many to see its refunds.');
}

function exceedsRemaining(orderNumber: string, order: PaidOrder, amount: number, remaining: number): KsherInputError {
	const money = (minor: number) => fromMinorUnits(minor, order.currency);
	return new KsherInputError(
		'Refund Amount',
		`Refund Amount ${money(amount)} ${order.currency} exceeds what remains of order ${orderNumber}: ${money(remaining)} of ${money(order.total)} ${order.currency}`,
		`Refund at most ${money(remaining)}, or leave Refund Amount empty to refund everything that remains.`,
	);
}

/**
 * Looks the payment up, then asks Ksher to refund under a refund number that identifies
 * this refund (so a re-run cannot refund twice: Ksher refuses a used number). The order's
 * refund list is only fetched when it is needed: to refund "everything that remains", when
 * the order shows as fully refunded, or to explain Ksher's refusal. That keeps an ordinary
 * row at two calls to Ksher.
 */
export const execute: OperationRunner = async (ctx, client, itemIndex) => {
	const orderNumber = orderNumberParam(ctx, itemIndex);
	const amountText = stringParam(ctx, 'refundAmount', itemIndex).trim();
	const givenNumber = stringParam(ctx, 'refundNumber', itemIndex).trim();
	// Refuse malformed input before any call to Ksher.
	if (givenNumber) checkKsherId(givenNumber, 'Refund Number', 'INV-1001-R1');
	// The form only: how many decimals are allowed depends on the payment's currency, known after the lookup.
	if (amountText) checkDecimalAmount(amountText, 'Refund Amount');

	const order = await paidOrder(client, orderNumber);
	const requested = amountText ? toMinorUnits(amountText, order.currency, { field: 'Refund Amount' }) : undefined;
	const refundNumber = givenNumber || deriveRefundNumber(orderNumber, requested ?? 'all');
	if (requested !== undefined && requested > order.total) {
		const refunds = await listRefunds(client, order.refundTarget);
		throw exceedsRemaining(orderNumber, order, requested, refunds ? order.total - refundedMinor(refunds) : order.total);
	}

	let amount = requested;
	if (amount === undefined || order.data.result === 'REFUND') {
		const refunds = await listRefunds(client, order.refundTarget);
		const existing = refunds?.find((r) => r.mch_refund_no === refundNumber);
		if (existing) return [refundOutput(orderNumber, order, existing, true)];
		const remaining = refunds ? order.total - refundedMinor(refunds) : order.data.result === 'REFUND' ? 0 : undefined;
		if (remaining !== undefined && remaining <= 0) throw fullyRefunded(orderNumber, order);
		amount ??= remaining ?? order.total;
	}

	const outcome = await client
		.call('order_refund', { ...order.refundTarget, total_fee: order.total, fee_type: order.currency, refund_fee: amount, mch_refund_no: refundNumber })
		.then(
			({ data }) => ({ data }),
			(error: unknown) => ({ error }),
		);
	if ('data' in outcome) {
		const d = outcome.data;
		return [
			refundOutput(orderNumber, order, {
				mch_refund_no: String(d.mch_refund_no || refundNumber),
				ksher_refund_no: String(d.ksher_refund_no ?? ''),
				channel_refund_no: String(d.channel_refund_no ?? ''),
				refund_fee: Number.isSafeInteger(Number(d.refund_fee)) && Number(d.refund_fee) > 0 ? Number(d.refund_fee) : amount,
				refund_state: String(d.refund_state || 'REFUNDSUCCESS'),
				refund_time: String(d.refund_time ?? ''),
			}, false),
		];
	}
	const { error } = outcome;
	// Ksher already has this refund number: the refund was done before (a re-run).
	if (error instanceof KsherApiError && /DUPLICATED_REFUND|INVALID_REFUND_ORDER_NO/.test(error.code)) {
		const refunds = await listRefunds(client, order.refundTarget, refundNumber);
		const found = refunds?.find((r) => r.mch_refund_no === refundNumber);
		if (found) return [refundOutput(orderNumber, order, found, true)];
		if (refunds === undefined) {
			// Ksher cannot list this payment's refunds (some wallets): trust its word that the number is used.
			return [refundOutput(orderNumber, order, { mch_refund_no: refundNumber, ksher_refund_no: '', channel_refund_no: '', refund_fee: amount, refund_state: 'REFUNDSUCCESS', refund_time: '' }, true, { note: 'Ksher reports this refund number as used and cannot list this payment\'s refunds to show its details.' })];
		}
		throw new KsherInputError('Refund Number', `Refund number ${refundNumber} was already used for another refund, not on order ${orderNumber}`, 'Refund numbers must be unique across your Ksher account: give a different Refund Number.');
	}
	// Ksher refused the amount: explain with what remains (or find this very refund, done before).
	if (error instanceof KsherApiError && /REFUND_BALANCE|INVALID_REFUND_FEE$|ALREADY_REFUND/.test(error.code)) {
		const refunds = await listRefunds(client, order.refundTarget);
		const existing = refunds?.find((r) => r.mch_refund_no === refundNumber);
		if (existing) return [refundOutput(orderNumber, order, existing, true)];
		if (refunds) {
			const remaining = order.total - refundedMinor(refunds);
			throw remaining <= 0 ? fullyRefunded(orderNumber, order) : exceedsRemaining(orderNumber, order, amount, remaining);
		}
		throw error;
	}
	// Ksher refuses partial refunds for some accounts: say so in the user's terms when its account settings agree.
	if (error instanceof KsherApiError && error.code === 'KSHER_INVALID_REFUND_AMOUNT') {
		const partialAllowed = await client.call('merchant_info').then(({ data }) => data.allow_partial_refund, () => undefined);
		if (partialAllowed === 'N') {
			throw new KsherInputError(
				'Refund Amount',
				`Refund Amount ${fromMinorUnits(amount, order.currency)} ${order.currency} of order ${orderNumber} was refused: partial refunds are not enabled for this Ksher account [KSHER_INVALID_REFUND_AMOUNT]`,
				'Leave Refund Amount empty to refund the whole payment, or ask Ksher to enable partial refunds for your account.',
			);
		}
		throw error;
	}
	// The outcome is unknown: look before anyone retries, never refund blindly again.
	if (error instanceof KsherTransportError && error.mayHaveSucceeded) {
		const found = await findRefund(client, order, refundNumber).catch(() => undefined);
		if (found) return [refundOutput(orderNumber, order, found, false, { recoveredFrom: error.message })];
		throw mayHaveHappened(orderNumber, refundNumber, error);
	}
	throw error;
};
