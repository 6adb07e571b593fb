import {
	type IDataObject,
	type IExecuteFunctions,
	type INodeProperties,
	updateDisplayOptions,
} from 'n8n-workflow';

import {
	atRow,
	ceilingBreach,
	checkKsherId,
	checkOrderNumber,
	checkQrChannel,
	checkRefundAmount,
	checkRefunds,
	fromMinorUnits,
	KsherError,
	KsherInputError,
	mayRefund,
	nothingRemainsAfter,
	orderKey,
	refundRow,
	rowPlace,
	sendRefund,
	SUPPORTED_CURRENCIES,
	toMinorUnits,
	type KsherClient,
	type RefundCeilings,
	type RefundCheck,
	type RefundDecision,
	type RefundOutcome,
	type RefundRequest,
} from '../../../protocol';
import { errorOutput } from '../../../adapters/errors';
import { refundFields } from '../../../adapters/format';
import {
	currencyOptions,
	orderNumberField,
	paymentTypeField,
	qrChannelField,
	type OperationRunner,
} from '../common';

const V1 = { '@version': [1] };
const V2 = { '@version': [2] };

const properties: INodeProperties[] = [
	orderNumberField(
		'Your order number of the paid payment to refund (the one given to Create Payment or Create QR).',
	),
	{ ...paymentTypeField(), displayOptions: { show: V2 } },
	{
		...qrChannelField('The QR Channel given to Create QR: Ksher looks QR payments up by channel'),
		displayOptions: { show: { ...V2, paymentType: ['qr'] } },
	},
	{
		displayName: 'What to Refund',
		name: 'whatToRefund',
		type: 'options',
		options: [
			{
				name: 'An Amount',
				value: 'amount',
				description:
					'Refund the Refund Amount. An empty or unreadable amount is an error for its row.',
			},
			{
				name: 'Everything That Remains',
				value: 'remaining',
				description: 'Refund whatever of the payment has not been refunded yet',
			},
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
		description:
			"Amount to refund in major units, in the payment's currency. Empty, missing, zero or unreadable: an error for that row, and nothing is refunded for it.",
		displayOptions: { show: V2, hide: { whatToRefund: ['remaining'] } },
	},
	{
		displayName: 'Refund Amount',
		// Version 1's name since 0.1.0: workflows saved with it keep their amounts (n8n drops a
		// parameter its node no longer describes, and an empty amount meant a full refund there).
		name: 'amount',
		type: 'string',
		default: '',
		placeholder: 'e.g. 50.00',
		description:
			"Amount to refund in major units, in the payment's currency. Left empty here: everything not yet refunded. An expression that finds no value is an error for its row.",
		displayOptions: { show: V1 },
	},
	{
		// What version 1 nodes were saved with between 0.1.0 and version 2 (never released, kept so
		// that such a workflow is not read as "empty, refund everything"): read like `amount`.
		displayName: 'Refund Amount (Earlier Name)',
		name: 'refundAmount',
		type: 'hidden',
		default: '',
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
		// Run-wide: read once for all rows, so it cannot be a per-row expression.
		noDataExpression: true,
		default: false,
		description:
			'Whether to only show, row by row, what would be refunded (the amount, what remains before and after, the refund number, or the problem), without moving any money',
		displayOptions: { show: V2 },
	},
	{
		displayName: 'Check All Rows First',
		name: 'checkAllRowsFirst',
		type: 'boolean',
		noDataExpression: true,
		default: true,
		description:
			'Whether to check every row (the order is paid, the amount, what remains, the refund number, partial refunds allowed) before refunding any. If one row fails, no row is refunded and every row says why. Rows Ksher cannot fully check (PromptPay or Alipay refunds made elsewhere, your own refund numbers) are sent first, one at a time, and sending stops at the first refusal.',
		displayOptions: { show: V2 },
	},
	{
		displayName: 'Stop Above Total',
		name: 'stopAboveTotal',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		placeholder: 'Add Limit',
		default: {},
		description:
			'Refund nothing at all when the rows together would refund more than this in a currency. With a limit set, rows in a currency without one are refused.',
		displayOptions: { show: V2 },
		options: [
			{
				displayName: 'Limit',
				name: 'limits',
				values: [
					{
						displayName: 'Currency',
						name: 'currency',
						type: 'options',
						noDataExpression: true,
						options: currencyOptions,
						default: 'THB',
					},
					{
						displayName: 'Total',
						name: 'total',
						type: 'string',
						noDataExpression: true,
						default: '',
						placeholder: 'e.g. 10000.00',
						description: 'The most this run may refund in this currency, in major units',
					},
				],
			},
		],
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['refund'], operation: ['create'] } },
	properties,
);

function refundOutput(
	orderNumber: string,
	outcome: RefundOutcome,
	extra: IDataObject = {},
): IDataObject {
	const { refund, currency, alreadyRefunded, amountUnknown, unconfirmed, note, recoveredFrom } =
		outcome;
	const fields = refundFields(orderNumber, currency, refund);
	if (amountUnknown) fields.refundAmount = null;
	// The payment is fully refunded, but no refund of this row's can be shown: none is named.
	if (unconfirmed)
		Object.assign(fields, { refundNumber: null, refundAmount: null, refundedAt: null });
	return {
		...fields,
		alreadyRefunded,
		...(note ? { note } : {}),
		...(recoveredFrom ? { recoveredFrom } : {}),
		...extra,
	};
}

/**
 * What a run reads once: the node as saved (n8n deep-copies it on every getNode()), and each
 * parameter that holds no expression, which is the same for every row. Rows read only their
 * expressions; a 1,000-row sheet does not copy the node 3,000 times.
 */
interface RunReader {
	typeVersion: number;
	saved: IDataObject;
	source: 'agent' | 'workflow';
	param: (name: string, itemIndex: number, fallback?: unknown) => unknown;
}

function runReader(ctx: IExecuteFunctions): RunReader {
	const node = ctx.getNode();
	const constants = new Map<string, unknown>();
	const isExpression = (saved: unknown) => JSON.stringify(saved ?? null).includes('"=');
	return {
		typeVersion: node.typeVersion,
		saved: node.parameters as IDataObject,
		source: node.type.endsWith('Tool') ? 'agent' : 'workflow',
		param: (name, itemIndex, fallback) => {
			if (isExpression(node.parameters[name]))
				return ctx.getNodeParameter(name, itemIndex, fallback) as unknown;
			if (!constants.has(name))
				constants.set(name, ctx.getNodeParameter(name, 0, fallback) as unknown);
			return constants.get(name);
		},
	};
}

/** Whether a parameter as saved holds something: an expression, or a value typed in the editor. */
const given = (saved: unknown): boolean =>
	saved !== undefined &&
	saved !== null &&
	!(typeof saved === 'string' && !saved.startsWith('=') && saved.trim() === '');

/**
 * Version 1's amount: `amount` (its name since 0.1.0) or `refundAmount` (what unreleased builds
 * saved). Left empty in the editor, version 1's documented rule holds: everything that remains.
 * An expression that finds nothing is an error (a mis-mapped column, not a request), and so are
 * two different amounts.
 */
function versionOneAmount(
	run: RunReader,
	itemIndex: number,
	ref: { row: number; orderNumber: string },
): string | 'remaining' {
	const names = (['amount', 'refundAmount'] as const).filter((name) => given(run.saved[name]));
	if (names.length === 0) return 'remaining';
	const values = names.map((name) =>
		checkRefundAmount(run.param(name, itemIndex, undefined), ref, run.source),
	);
	if (values.length === 2 && values[0] !== values[1]) {
		throw new KsherInputError(
			'Refund Amount',
			`Refund Amount is given twice, as ${values[0]} and ${values[1]} ${rowPlace(ref)}`,
			'Open the node and set Refund Amount again; nothing was refunded for this row.',
		);
	}
	return values[0];
}

/**
 * What one item asks for. Version 1 keeps its documented rule that a Refund Amount left empty
 * in the editor refunds everything that remains; version 2 refunds everything only when What to
 * Refund says so.
 */
function readRequest(run: RunReader, itemIndex: number): RefundRequest {
	const row = itemIndex + 1;
	const orderNumber = checkOrderNumber(run.param('orderNumber', itemIndex, ''));
	const ref = { row, orderNumber };
	const givenNumber = String(run.param('refundNumber', itemIndex, '') ?? '').trim();
	const refundNumber = givenNumber
		? checkKsherId(givenNumber, 'Refund Number', 'INV-1001-R1')
		: undefined;
	if (run.typeVersion < 2)
		return { row, orderNumber, refundNumber, amount: versionOneAmount(run, itemIndex, ref) };
	const order = { row, orderNumber, refundNumber, qrChannel: qrChannelOf(run, itemIndex, ref) };
	const what = run.param('whatToRefund', itemIndex, undefined);
	if (what === 'remaining') return { ...order, amount: 'remaining' };
	if (what !== 'amount') {
		throw new KsherInputError(
			'What to Refund',
			`What to Refund is ${what === undefined || what === '' ? 'empty' : `"${String(what)}"`} ${rowPlace(ref)}`,
			'Use "amount" (refund the Refund Amount) or "remaining" (everything not yet refunded).',
		);
	}
	// Read only when it counts: n8n refuses to give a parameter that is hidden (Everything That Remains).
	return {
		...order,
		amount: checkRefundAmount(run.param('refundAmount', itemIndex, undefined), ref, run.source),
	};
}

/**
 * The channel of a QR payment, or undefined for a payment link (the default, and what nodes saved
 * before Create QR existed hold). Anything else is an error: a link and a QR are different orders.
 */
function qrChannelOf(
	run: RunReader,
	itemIndex: number,
	ref: { row: number; orderNumber: string },
): string | undefined {
	const type = run.param('paymentType', itemIndex, 'link');
	if (type === 'link') return undefined;
	if (type !== 'qr') {
		throw new KsherInputError(
			'Payment Type',
			`Payment Type is ${type === undefined || type === '' ? 'empty' : `"${String(type)}"`} ${rowPlace(ref)}`,
			'Use "link" (made with Create Payment) or "qr" (made with Create QR).',
		);
	}
	return checkQrChannel(run.param('qrChannel', itemIndex, undefined));
}

/**
 * A row whose request could not be read: its error, told with its row, and its order number when
 * that could be read (a preview names the order the message names).
 */
type UnreadRequest = { error: unknown; readOrderNumber: string | null };

/** The item's request, or its error told with its row. */
function requestOrError(run: RunReader, itemIndex: number): RefundRequest | UnreadRequest {
	try {
		return readRequest(run, itemIndex);
	} catch (error) {
		let orderNumber: string | null = null;
		try {
			orderNumber = checkOrderNumber(run.param('orderNumber', itemIndex, ''));
		} catch {
			// The order number is what could not be read: the row alone names the place.
		}
		return {
			error: atRow(error, { row: itemIndex + 1, orderNumber }),
			readOrderNumber: orderNumber,
		};
	}
}

/** A saved parameter with each expression in it evaluated for one item. */
function evaluatedFor(ctx: IExecuteFunctions, saved: unknown, itemIndex: number): unknown {
	if (typeof saved === 'string')
		return saved.startsWith('=') ? ctx.evaluateExpression(saved, itemIndex) : saved;
	if (Array.isArray(saved)) return saved.map((value) => evaluatedFor(ctx, value, itemIndex));
	if (saved && typeof saved === 'object')
		return Object.fromEntries(
			Object.entries(saved).map(([key, value]) => [key, evaluatedFor(ctx, value, itemIndex)]),
		);
	return saved;
}

/**
 * A setting that governs the whole run (Preview Only, Check All Rows First, Stop Above Total),
 * read once. The editor offers no expression for them (noDataExpression); one put there by hand
 * (an imported workflow) that n8n still evaluates would be evaluated for the first item only, so
 * it is evaluated here for every item and must give every row the same value, or nothing runs.
 */
function runSetting<T>(
	ctx: IExecuteFunctions,
	name: string,
	label: string,
	fallback: T,
	itemCount: number,
): T {
	const value = ctx.getNodeParameter(name, 0, fallback) as T;
	const saved = ctx.getNode().parameters[name];
	if (!JSON.stringify(saved ?? null).includes('"=')) return value;
	const first = JSON.stringify(evaluatedFor(ctx, saved, 0));
	for (let itemIndex = 1; itemIndex < itemCount; itemIndex++) {
		if (JSON.stringify(evaluatedFor(ctx, saved, itemIndex)) !== first) {
			throw new KsherInputError(
				label,
				`${label} is an expression that differs between rows (row 1 and row ${itemIndex + 1}); it applies to the whole run`,
				`Set ${label} for the whole run, without an expression, or split the rows into separate runs. Nothing was refunded.`,
			);
		}
	}
	return value;
}

/**
 * A run-wide switch: on or off, nothing else. n8n strips the "=" of an expression saved in a
 * setting without expressions, leaving its text ("{{ $json.preview }}"), which is no answer.
 */
function runSwitch(
	ctx: IExecuteFunctions,
	name: string,
	label: string,
	fallback: boolean,
	itemCount: number,
): boolean {
	const value = runSetting<unknown>(ctx, name, label, fallback, itemCount);
	if (typeof value === 'boolean') return value;
	throw new KsherInputError(
		label,
		`${label} must be on or off for the whole run; it holds ${JSON.stringify(value).slice(0, 60)}`,
		`Open the node and set ${label} with its switch: it takes no expression. Nothing was refunded.`,
	);
}

/** Stop Above Total as minor units per currency; a limit that cannot be read stops every row (fail closed). */
function readCeilings(ctx: IExecuteFunctions, itemCount: number): RefundCeilings {
	const { limits = [] } = runSetting(ctx, 'stopAboveTotal', 'Stop Above Total', {}, itemCount) as {
		limits?: Array<{ currency?: string; total?: unknown }>;
	};
	const ceilings: RefundCeilings = {};
	for (const limit of limits) {
		const currency = String(limit.currency ?? '');
		if (!SUPPORTED_CURRENCIES.includes(currency))
			throw new KsherInputError(
				'Stop Above Total',
				`Stop Above Total has a limit in "${currency}", which Ksher does not take`,
				`Choose one of ${SUPPORTED_CURRENCIES.join(', ')}.`,
			);
		const total = toMinorUnits(limit.total, currency, {
			field: `Stop Above Total (${currency})`,
			allowZero: true,
		});
		// Two limits for one currency: the stricter one holds.
		ceilings[currency] = Math.min(total, ceilings[currency] ?? total);
	}
	return ceilings;
}

const majorOrNull = (minor: number | null, currency: string) =>
	minor === null ? null : fromMinorUnits(minor, currency);

/**
 * What a row's preview says it will do, in the words of a preview sheet's status column. A row
 * that passes while other rows fail the check is `held back`: the run would refund nothing.
 */
function previewStatus(plan: RefundDecision, blocked: boolean, heldBack: boolean): string {
	if (plan.action === 'done') return 'already refunded';
	if (blocked) return 'cannot refund';
	if (heldBack) return 'held back';
	if (plan.action === 'sameAsRow') return `same refund as row ${plan.sameAsRow}`;
	return plan.unchecked.length ? 'would try' : 'would refund';
}

/**
 * Preview Only: what would happen to a row, without any call that moves money. `wouldRefund` is
 * true only for what the check vouches for and the run would send; null ("would try") when Ksher
 * may still refuse the row for a reason the check cannot see, said in `unchecked`.
 */
function previewItem(
	itemIndex: number,
	request: RefundRequest | UnreadRequest,
	check: RefundCheck,
	blocked: KsherError | undefined,
	heldBack: string | undefined,
): IDataObject {
	const orderNumber = 'orderNumber' in request ? request.orderNumber : request.readOrderNumber;
	const head = { row: itemIndex + 1, orderNumber, preview: true };
	if (!check.ok)
		return {
			...head,
			status: 'cannot refund',
			wouldRefund: false,
			alreadyRefunded: false,
			...errorOutput(check.error, orderNumber),
		};
	const { plan } = check;
	const currency = plan.order.currency;
	const status = previewStatus(plan, Boolean(blocked), Boolean(heldBack));
	const item: IDataObject = {
		...head,
		status,
		wouldRefund: status === 'would refund' ? true : status === 'would try' ? null : false,
		alreadyRefunded: plan.action === 'done',
		refundNumber: plan.action === 'done' && plan.unconfirmed ? null : plan.refundNumber,
		refundAmount:
			plan.action === 'done' && plan.amountUnknown ? null : fromMinorUnits(plan.amount, currency),
		currency,
		remainingBefore: majorOrNull(plan.remainingBefore, currency),
		remainingAfter: majorOrNull(plan.remainingAfter, currency),
	};
	if (plan.action === 'refund' && plan.unchecked.length) item.unchecked = plan.unchecked.join('; ');
	if (plan.action !== 'done' && heldBack && !blocked) item.heldBack = heldBack;
	if (plan.action === 'sameAsRow') item.sameRefundAsRow = plan.sameAsRow;
	if (plan.action === 'done' && plan.note) item.note = plan.note;
	if (plan.action !== 'done' && blocked) Object.assign(item, errorOutput(blocked, orderNumber));
	return item;
}

/** Check All Rows First found problems: what every row that passed says, and what each failed row adds. */
function nothingRefunded(checks: RefundCheck[]): { blocked: KsherInputError; note: string } {
	const failed = checks.flatMap((check, index) =>
		check.ok ? [] : [{ row: index + 1, error: check.error }],
	);
	// "(row 2)", "(rows 2, 5)"; "1 of 1 row": a form or a queue often sends one row.
	const rows = `${failed.length > 1 ? 'rows' : 'row'} ${failed.map(({ row }) => row).join(', ')}`;
	// Each message names its row ("… (row 18)") except Ksher's own refusals, which get it in front.
	const listed = failed.slice(0, 5).map(({ row, error }) => {
		const message = String(errorOutput(error).error);
		return message.includes(`(row ${row})`) ? message : `row ${row}: ${message}`;
	});
	const more = failed.length > 5 ? `; and ${failed.length - 5} more` : '';
	const count = `${failed.length} of ${checks.length} ${checks.length > 1 ? 'rows' : 'row'} failed the check`;
	return {
		blocked: new KsherInputError(
			'Check All Rows First',
			`Nothing was refunded (Check All Rows First): ${count}. ${listed.join('; ')}${more}`,
			`This row passed the check. Fix ${failed.length > 1 ? 'the rows that failed' : 'the row that failed'} (${rows}) and run again, or turn off Check All Rows First to refund the rows that pass.`,
		),
		note: `Nothing was refunded: ${count} (${rows}).`,
	};
}

function withNote(error: unknown, note: string): unknown {
	return error instanceof KsherError ? error.withSolution(`${error.solution} ${note}`) : error;
}

type Stop = { row: number; orderNumber: string; error: unknown };

/** A row not sent because an earlier one failed while Check All Rows First was on. */
function notSent(stop: Stop, row: number): KsherInputError {
	const why = String(errorOutput(stop.error, stop.orderNumber).error);
	return new KsherInputError(
		'Check All Rows First',
		`Not sent (row ${row}): row ${stop.row} (order ${stop.orderNumber}) could not be refunded, and Check All Rows First sends nothing after a failure. Row ${stop.row}: ${why}`,
		`Nothing was refunded for this row. Fix row ${stop.row}, then run the sheet again: rows already refunded are recognised by their refund numbers and not refunded twice.`,
	);
}

/**
 * Rows that passed the check: a refund Ksher already has is reported as done, a row that is the
 * same refund as an earlier row reports that row's outcome, the rest are sent with the payment
 * the check looked up. With Check All Rows First, the rows the check could not vouch for are sent
 * first, one at a time, and after any failure no row is sent: so a refusal the check could not
 * foresee leaves at most the unvouched rows before it refunded, never a checked one.
 */
async function plannedRunner(
	client: KsherClient,
	checks: RefundCheck[],
	blocked: KsherError | undefined,
	failedNote: string | undefined,
	checkFirst: boolean,
): Promise<OperationRunner> {
	const outcomes = new Map<number, Promise<RefundOutcome>>();
	let stop: Stop | undefined;
	const send = (plan: RefundDecision): Promise<RefundOutcome> => {
		if (plan.action === 'done')
			return Promise.resolve({
				refund: plan.existing,
				currency: plan.order.currency,
				alreadyRefunded: true,
				amountUnknown: plan.amountUnknown,
				unconfirmed: plan.unconfirmed,
				note: plan.note,
			});
		if (plan.action === 'sameAsRow') {
			return outcomes.get(plan.sameAsRow)!.then(
				(outcome) => ({ ...outcome, alreadyRefunded: true }),
				(error: unknown) => {
					throw stop && error instanceof KsherInputError && error.field === 'Check All Rows First'
						? notSent(stop, plan.request.row)
						: error;
				},
			);
		}
		// Kept even when not sent: a later row that is the same refund says the same.
		const outcome = stop
			? Promise.reject(notSent(stop, plan.request.row))
			: sendRefund(client, plan);
		outcomes.set(plan.request.row, outcome);
		if (checkFirst && !stop)
			outcome.catch(
				(error: unknown) =>
					(stop ??= { row: plan.request.row, orderNumber: plan.request.orderNumber, error }),
			);
		return outcome;
	};
	if (!blocked && checkFirst) {
		for (const check of checks) {
			if (mayRefund(check) && check.plan.unchecked.length)
				await send(check.plan).catch(() => undefined);
		}
	}
	return async (_ctx, _client, itemIndex) => {
		const check = checks[itemIndex];
		if (!check.ok) throw failedNote ? withNote(check.error, failedNote) : check.error;
		// A refund Ksher already has is done whatever holds the others back: the preview says so too.
		if (blocked && check.plan.action !== 'done') throw blocked;
		const { plan } = check;
		// What remains of the payment after this row, as the check counted it (the preview's column too):
		// a results sheet is complete after a real run as after a preview. Null when Ksher cannot list refunds.
		const extra: IDataObject = {
			remainingAfter: majorOrNull(plan.remainingAfter, plan.order.currency),
			...(plan.action === 'sameAsRow' ? { sameRefundAsRow: plan.sameAsRow } : {}),
		};
		try {
			const sent = plan.action === 'refund' ? outcomes.get(plan.request.row) : undefined;
			return [refundOutput(plan.request.orderNumber, await (sent ?? send(plan)), extra)];
		} catch (error) {
			throw atRow(error, plan.request);
		}
	};
}

/**
 * Row by row, as the node always did (Check All Rows First off, or a version 1 node): each row
 * is looked up and refunded on its own, and Continue On Fail decides what a failed row does.
 */
function rowByRow(run: RunReader): OperationRunner {
	// Your own refund numbers as the rows gave them: one number is one refund, whatever became of its first row.
	const numbers = new Map<
		string,
		{ row: number; orderNumber: string; key: string; amount: string }
	>();
	const turns = new OrderTurns();
	// The rows of this run that made a new refund, per order.
	const madeBy = new Map<string, number[]>();
	return async (ctx, client, itemIndex) => {
		const request = readRequest(run, itemIndex);
		if (request.refundNumber) {
			const earlier = numbers.get(request.refundNumber);
			if (!earlier)
				numbers.set(request.refundNumber, {
					row: request.row,
					orderNumber: request.orderNumber,
					key: orderKey(request),
					amount: sameAmountText(request.amount),
				});
			else if (
				earlier.key !== orderKey(request) ||
				earlier.amount !== sameAmountText(request.amount)
			) {
				throw new KsherInputError(
					'Refund Number',
					`Refund Number ${request.refundNumber} is also row ${earlier.row}'s (order ${earlier.orderNumber}, ${earlier.amount}) ${rowPlace(request)}`,
					'Each refund needs its own Refund Number: give this row a different one. Nothing was refunded for this row.',
				);
			}
		}
		const { failedRow, done } = await turns.wait(request.orderNumber, request.row);
		let ok = false;
		try {
			// Without Continue On Fail the run ends at a failed row and shows only its error: a row of the
			// same order waiting behind it must not move money that nothing would then report.
			if (failedRow !== undefined && !ctx.continueOnFail())
				throw new KsherInputError(
					'Order Number',
					`Row ${failedRow} of order ${request.orderNumber} failed, so this row was not sent ${rowPlace(request)}`,
					`Fix row ${failedRow} and run again (rows already refunded are recognised), or turn on Continue On Fail.`,
				);
			const outcome = await refundRow(client, request);
			const earlier = madeBy.get(orderKey(request)) ?? [];
			// Fully refunded and not listable (PromptPay, Alipay) after this run's own earlier rows: this
			// row's refund is not among them, and nothing remains for it (what a preview said too).
			if (outcome.unconfirmed && earlier.length)
				throw nothingRemainsAfter(
					request.orderNumber,
					earlier,
					` (Ksher cannot list its refunds; nothing was sent for this row)`,
				);
			if (outcome.alreadyRefunded === false)
				madeBy.set(orderKey(request), [...earlier, request.row]);
			ok = true;
			return [refundOutput(request.orderNumber, outcome)];
		} catch (error) {
			throw atRow(error, request);
		} finally {
			done(ok);
		}
	};
}

/**
 * Rows of one order take turns, in row order, while other orders' rows run side by side: each
 * row then reads the order as the rows before it left it, as the preview assumed (two rows of
 * "everything that remains" racing would both read the same balance, and the outcome would
 * depend on timing). Rows ask in row order (the router starts them so, and asking is the
 * first thing a row does after reading its parameters), so a row never waits for a later one.
 */
class OrderTurns {
	/** Per order, when its latest row is done: the first of its rows that failed, if any. */
	private readonly last = new Map<string, Promise<number | undefined>>();

	/** Waits for the order's earlier rows; `done(ok)` hands the turn on. */
	async wait(
		orderNumber: string,
		row: number,
	): Promise<{ failedRow: number | undefined; done: (ok: boolean) => void }> {
		const before = this.last.get(orderNumber) ?? Promise.resolve(undefined);
		let done!: (ok: boolean) => void;
		const mine = new Promise<number | undefined>((resolve) => {
			done = (ok) => void before.then((failed) => resolve(failed ?? (ok ? undefined : row)));
		});
		this.last.set(orderNumber, mine);
		return { failedRow: await before, done };
	}
}

/** A checked decimal amount written one way ("5", "5.0" and "5.00" alike), or `remaining`. */
function sameAmountText(amount: string): string {
	const [whole, fraction = ''] = amount.split('.');
	const digits = fraction.replace(/0+$/, '');
	return `${whole.replace(/^0+(?=\d)/, '')}${digits ? `.${digits}` : ''}`;
}

/** One item on its own (the router always prepares a run first; this is what an item without one does). */
export const execute: OperationRunner = async (ctx, client, itemIndex) =>
	await rowByRow(runReader(ctx))(ctx, client, itemIndex);

/**
 * Before any item runs: with Preview Only, Check All Rows First or Stop Above Total (version 2),
 * every row is read and checked, each order looked up once, and no money moves unless the
 * whole run may go ahead.
 */
execute.prepare = async (ctx, client, itemCount, concurrency) => {
	const run = runReader(ctx);
	if (run.typeVersion < 2) return rowByRow(run);
	const preview = runSwitch(ctx, 'previewOnly', 'Preview Only', false, itemCount);
	const checkFirst = runSwitch(ctx, 'checkAllRowsFirst', 'Check All Rows First', true, itemCount);
	const ceilings = readCeilings(ctx, itemCount);
	if (!preview && !checkFirst && Object.keys(ceilings).length === 0) return rowByRow(run);

	const requests = Array.from({ length: itemCount }, (_, itemIndex) =>
		requestOrError(run, itemIndex),
	);
	const checks = await checkRefunds(client, requests, concurrency, !checkFirst);
	const breach = ceilingBreach(checks, ceilings);
	const failures =
		checkFirst && checks.some((check) => !check.ok) ? nothingRefunded(checks) : undefined;
	if (preview)
		return async (_ctx, _client, itemIndex) => [
			previewItem(itemIndex, requests[itemIndex], checks[itemIndex], breach, failures?.note),
		];
	return await plannedRunner(
		client,
		checks,
		breach ?? failures?.blocked,
		failures?.note,
		checkFirst,
	);
};
