import { type IDataObject, type IExecuteFunctions, type INodeProperties, updateDisplayOptions } from 'n8n-workflow';

import {
	atRow,
	ceilingBreach,
	checkKsherId,
	checkRefundAmount,
	checkRefunds,
	fromMinorUnits,
	KsherError,
	KsherInputError,
	refundRow,
	rowPlace,
	sendRefund,
	SUPPORTED_CURRENCIES,
	toMinorUnits,
	type KsherClient,
	type PlannedRefund,
	type RefundCeilings,
	type RefundCheck,
	type RefundOutcome,
	type RefundRequest,
} from '../../../protocol';
import { errorOutput } from '../../../adapters/errors';
import { refundFields } from '../../../adapters/format';
import { currencyOptions, isTool, orderNumberField, orderNumberParam, stringParam, type OperationRunner } from '../common';

const V1 = { '@version': [1] };
const V2 = { '@version': [2] };

const properties: INodeProperties[] = [
	orderNumberField('Your order number of the paid payment to refund (the one given to Create Payment).'),
	{
		displayName: 'What to Refund',
		name: 'whatToRefund',
		type: 'options',
		options: [
			{ name: 'An Amount', value: 'amount', description: 'Refund the Refund Amount. An empty or unreadable amount is an error for its row.' },
			{ name: 'Everything That Remains', value: 'remaining', description: 'Refund whatever of the payment has not been refunded yet' },
		],
		default: 'amount',
		description: 'A full refund is only made when asked for here, never because an amount is empty',
		displayOptions: { show: V2 },
	},
	{
		displayName: 'Refund Amount',
		// Not "amount": n8n keeps a value when the operation changes if the name is the same, and a
		// payment's Amount carried over as the Refund Amount would refund the wrong sum.
		name: 'refundAmount',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'e.g. 50.00 or {{ $json.amount }}',
		description: 'Amount to refund in major units, in the payment\'s currency. Empty, missing, zero or unreadable: an error for that row, and nothing is refunded for it.',
		displayOptions: { show: V2, hide: { whatToRefund: ['remaining'] } },
	},
	{
		displayName: 'Refund Amount',
		name: 'refundAmount',
		type: 'string',
		default: '',
		placeholder: 'e.g. 50.00',
		description: 'Amount to refund in major units, in the payment\'s currency. Left empty here: everything not yet refunded. An expression that finds no value is an error for its row.',
		displayOptions: { show: V1 },
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
	{
		displayName: 'Preview Only',
		name: 'previewOnly',
		type: 'boolean',
		default: false,
		description: 'Whether to only show, row by row, what would be refunded (the amount, what remains before and after, the refund number, or the problem), without moving any money',
		displayOptions: { show: V2 },
	},
	{
		displayName: 'Check All Rows First',
		name: 'checkAllRowsFirst',
		type: 'boolean',
		default: true,
		description: 'Whether to check every row (the order is paid, the amount, what remains, the refund number) before refunding any. If one row fails, no row is refunded and every row says why.',
		displayOptions: { show: V2 },
	},
	{
		displayName: 'Stop Above Total',
		name: 'stopAboveTotal',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		placeholder: 'Add Limit',
		default: {},
		description: 'Refund nothing at all when the rows together would refund more than this in a currency. With a limit set, rows in a currency without one are refused.',
		displayOptions: { show: V2 },
		options: [
			{
				displayName: 'Limit',
				name: 'limits',
				values: [
					{ displayName: 'Currency', name: 'currency', type: 'options', options: currencyOptions, default: 'THB' },
					{ displayName: 'Total', name: 'total', type: 'string', default: '', placeholder: 'e.g. 10000.00', description: 'The most this run may refund in this currency, in major units' },
				],
			},
		],
	},
];

export const description = updateDisplayOptions({ show: { resource: ['refund'], operation: ['create'] } }, properties);

function refundOutput(orderNumber: string, outcome: RefundOutcome, extra: IDataObject = {}): IDataObject {
	const { refund, currency, alreadyRefunded, note, recoveredFrom } = outcome;
	return { ...refundFields(orderNumber, currency, refund), alreadyRefunded, ...(note ? { note } : {}), ...(recoveredFrom ? { recoveredFrom } : {}), ...extra };
}

/**
 * What one item asks for. Version 1 keeps its documented rule that a Refund Amount left empty
 * in the editor refunds everything that remains; an expression that finds nothing is an error
 * there too, since that is a mis-mapped column, not a request.
 */
function readRequest(ctx: IExecuteFunctions, itemIndex: number): RefundRequest {
	const row = itemIndex + 1;
	const orderNumber = orderNumberParam(ctx, itemIndex);
	const ref = { row, orderNumber };
	const givenNumber = stringParam(ctx, 'refundNumber', itemIndex).trim();
	const refundNumber = givenNumber ? checkKsherId(givenNumber, 'Refund Number', 'INV-1001-R1') : undefined;
	const source = isTool(ctx) ? 'agent' : 'workflow';
	// Read only when it counts: n8n refuses to give a parameter that is hidden (Everything That Remains).
	const amountValue = () => ctx.getNodeParameter('refundAmount', itemIndex, undefined) as unknown;
	if (ctx.getNode().typeVersion < 2) {
		const typed = ctx.getNode().parameters.refundAmount;
		const leftEmpty = typed === undefined || (typeof typed === 'string' && !typed.startsWith('=') && typed.trim() === '');
		return { row, orderNumber, refundNumber, amount: leftEmpty ? 'remaining' : checkRefundAmount(amountValue(), ref, source) };
	}
	const what = ctx.getNodeParameter('whatToRefund', itemIndex, undefined) as unknown;
	if (what === 'remaining') return { row, orderNumber, refundNumber, amount: 'remaining' };
	if (what !== 'amount') {
		throw new KsherInputError('What to Refund', `What to Refund is ${what === undefined || what === '' ? 'empty' : `"${String(what)}"`} ${rowPlace(ref)}`, 'Use "amount" (refund the Refund Amount) or "remaining" (everything not yet refunded).');
	}
	return { row, orderNumber, refundNumber, amount: checkRefundAmount(amountValue(), ref, source) };
}

/** The item's request, or its error told with its row. */
function requestOrError(ctx: IExecuteFunctions, itemIndex: number): RefundRequest | { error: unknown } {
	try {
		return readRequest(ctx, itemIndex);
	} catch (error) {
		let orderNumber: string | null = null;
		try {
			orderNumber = orderNumberParam(ctx, itemIndex);
		} catch {
			// The order number is what could not be read: the row alone names the place.
		}
		return { error: atRow(error, { row: itemIndex + 1, orderNumber }) };
	}
}

/** Stop Above Total as minor units per currency; a limit that cannot be read stops every row (fail closed). */
function readCeilings(ctx: IExecuteFunctions): RefundCeilings {
	const { limits = [] } = ctx.getNodeParameter('stopAboveTotal', 0, {}) as { limits?: Array<{ currency?: string; total?: unknown }> };
	const ceilings: RefundCeilings = {};
	for (const limit of limits) {
		const currency = String(limit.currency ?? '');
		if (!SUPPORTED_CURRENCIES.includes(currency)) throw new KsherInputError('Stop Above Total', `Stop Above Total has a limit in "${currency}", which Ksher does not take`, `Choose one of ${SUPPORTED_CURRENCIES.join(', ')}.`);
		const total = toMinorUnits(limit.total, currency, { field: `Stop Above Total (${currency})`, allowZero: true });
		// Two limits for one currency: the stricter one holds.
		ceilings[currency] = Math.min(total, ceilings[currency] ?? total);
	}
	return ceilings;
}

const majorOrNull = (minor: number | null, currency: string) => (minor === null ? null : fromMinorUnits(minor, currency));

/** Preview Only: what would happen to a row, without any call that moves money. */
function previewItem(itemIndex: number, request: RefundRequest | { error: unknown }, check: RefundCheck, blocked: KsherError | undefined): IDataObject {
	const orderNumber = 'orderNumber' in request ? request.orderNumber : null;
	const head = { row: itemIndex + 1, orderNumber, preview: true };
	if (!check.ok) return { ...head, status: 'cannot refund', wouldRefund: false, alreadyRefunded: false, ...errorOutput(check.error, orderNumber) };
	const { plan } = check;
	const currency = plan.order.currency;
	const wouldRefund = plan.action === 'refund' && !blocked;
	const item: IDataObject = {
		...head,
		// In words, beside the flags: what a preview sheet's status column shows.
		status: wouldRefund ? 'would refund' : plan.action === 'done' ? 'already refunded' : plan.action === 'sameAsRow' ? `same refund as row ${plan.sameAsRow}` : 'cannot refund',
		wouldRefund,
		alreadyRefunded: plan.action === 'done',
		refundNumber: plan.refundNumber,
		refundAmount: fromMinorUnits(plan.amount, currency),
		currency,
		remainingBefore: majorOrNull(plan.remainingBefore, currency),
		remainingAfter: majorOrNull(plan.remainingAfter, currency),
	};
	if (plan.action === 'sameAsRow') item.sameRefundAsRow = plan.sameAsRow;
	if (plan.note) item.note = plan.note;
	if (plan.action === 'refund' && blocked) Object.assign(item, errorOutput(blocked, orderNumber));
	return item;
}

/** Check All Rows First found problems: what every row that passed says, and what each failed row adds. */
function nothingRefunded(checks: RefundCheck[]): { blocked: KsherInputError; note: string } {
	const failed = checks.flatMap((check, index) => (check.ok ? [] : [{ row: index + 1, error: check.error }]));
	const rows = failed.map(({ row }) => row).join(', ');
	// Each message names its row ("… (row 18)") except Ksher's own refusals, which get it in front.
	const listed = failed.slice(0, 5).map(({ row, error }) => {
		const message = String(errorOutput(error).error);
		return message.includes(`(row ${row})`) ? message : `row ${row}: ${message}`;
	});
	const more = failed.length > 5 ? `; and ${failed.length - 5} more` : '';
	const count = `${failed.length} of ${checks.length} rows failed the check`;
	return {
		blocked: new KsherInputError(
			'Check All Rows First',
			`Nothing was refunded (Check All Rows First): ${count}. ${listed.join('; ')}${more}`,
			`This row passed the check. Fix ${failed.length > 1 ? 'the rows that failed' : 'the row that failed'} (rows ${rows}) and run again, or turn off Check All Rows First to refund the rows that pass.`,
		),
		note: `Nothing was refunded: ${count} (rows ${rows}).`,
	};
}

function withNote(error: unknown, note: string): unknown {
	return error instanceof KsherError ? error.withSolution(`${error.solution} ${note}`) : error;
}

/**
 * Rows that passed the check: a refund Ksher already has is reported as done, a row that is the
 * same refund as an earlier row reports that row's outcome, the rest are sent. The payment
 * looked up by the check is reused, so no order is looked up twice.
 */
function plannedRunner(checks: RefundCheck[], blocked: KsherError | undefined, failedNote: string | undefined): OperationRunner {
	const outcomes = new Map<number, Promise<RefundOutcome>>();
	const send = (client: KsherClient, plan: PlannedRefund): Promise<RefundOutcome> => {
		if (plan.action === 'done') return Promise.resolve({ refund: plan.existing!, currency: plan.order.currency, alreadyRefunded: true, note: plan.note });
		if (plan.action === 'sameAsRow') return outcomes.get(plan.sameAsRow!)!.then((outcome) => ({ ...outcome, alreadyRefunded: true }));
		return sendRefund(client, plan.request.orderNumber, plan.order, plan.amount, plan.refundNumber);
	};
	return async (_ctx, client, itemIndex) => {
		const check = checks[itemIndex];
		if (!check.ok) throw failedNote ? withNote(check.error, failedNote) : check.error;
		if (blocked) throw blocked;
		const { plan } = check;
		const outcome = send(client, plan);
		outcomes.set(plan.request.row, outcome);
		const extra = plan.action === 'sameAsRow' ? { sameRefundAsRow: plan.sameAsRow } : {};
		try {
			return [refundOutput(plan.request.orderNumber, await outcome, extra)];
		} catch (error) {
			throw atRow(error, plan.request);
		}
	};
}

/**
 * Row by row, as the node always did (Check All Rows First off, or a version 1 node): each row
 * is looked up and refunded on its own, and Continue On Fail decides what a failed row does.
 */
export const execute: OperationRunner = async (ctx, client, itemIndex) => {
	const request = readRequest(ctx, itemIndex);
	try {
		return [refundOutput(request.orderNumber, await refundRow(client, request))];
	} catch (error) {
		throw atRow(error, request);
	}
};

/**
 * Before any item runs: with Preview Only, Check All Rows First or Stop Above Total (version 2),
 * every row is read and checked, each order looked up once, and no money moves unless the
 * whole run may go ahead.
 */
execute.prepare = async (ctx, client, itemCount, concurrency) => {
	if (ctx.getNode().typeVersion < 2) return execute;
	const preview = ctx.getNodeParameter('previewOnly', 0, false) as boolean;
	const checkFirst = ctx.getNodeParameter('checkAllRowsFirst', 0, true) as boolean;
	const ceilings = readCeilings(ctx);
	if (!preview && !checkFirst && Object.keys(ceilings).length === 0) return execute;

	const requests = Array.from({ length: itemCount }, (_, itemIndex) => requestOrError(ctx, itemIndex));
	const checks = await checkRefunds(client, requests, concurrency);
	const breach = ceilingBreach(checks, ceilings);
	if (preview) return async (_ctx, _client, itemIndex) => [previewItem(itemIndex, requests[itemIndex], checks[itemIndex], breach)];
	const failures = checkFirst && checks.some((check) => !check.ok) ? nothingRefunded(checks) : undefined;
	return plannedRunner(checks, breach ?? failures?.blocked, failures?.note);
};
