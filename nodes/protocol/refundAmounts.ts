import { checkDecimalAmount } from './amounts';
import { KsherInputError } from './errors';

/**
 * Refund amounts fail closed: an empty, missing, null, blank, zero, negative or unreadable
 * Refund Amount is an error for its row, never "refund everything". A full refund is asked
 * for explicitly (What to Refund → Everything That Remains).
 */

/** Where a row's value came from, for messages a shop owner can act on: "for order B2 (row 2)". */
export interface RowRef {
	/** 1-based: the first item is row 1. */
	row: number;
	orderNumber?: string | null;
}

export const rowPlace = (ref: RowRef): string =>
	ref.orderNumber ? `for order ${ref.orderNumber} (row ${ref.row})` : `(row ${ref.row})`;

/** Who gave the value decides the fix we suggest: a mapped sheet column, or an AI agent's tool call. */
export type AmountSource = 'workflow' | 'agent';

const FULL_REFUND = '"Everything That Remains"';

function missingFix(source: AmountSource): { short: string; solution: string } {
	return source === 'agent'
		? {
				short: 'give the amount to refund, or ask explicitly for everything that remains',
				solution: `Give the amount to refund in the payment's currency, e.g. 50.00. To refund everything that has not been refunded yet, the tool's What to Refund must be ${FULL_REFUND}.`,
			}
		: {
				// A sheet, a Data Table or a form: the amount comes from a column or field in each.
				short: `map the amount column or field, or choose ${FULL_REFUND}`,
				solution: `Check that Refund Amount reads a column that exists in every row (e.g. {{ $json.amount }} for a column named "amount") and that the cell is filled. To refund everything that has not been refunded yet, set What to Refund to ${FULL_REFUND}. Nothing was refunded for this row.`,
			};
}

/**
 * What the value looked like, for "is empty" / "is missing" messages; undefined when it holds
 * something. In a sheet a field is missing for a blank cell too (n8n's CSV step leaves blank cells
 * out of the row), so the message names both causes.
 */
function emptiness(value: unknown, source: AmountSource): string | undefined {
	if (value === undefined)
		return source === 'agent'
			? 'missing (the expression found no such field)'
			: 'missing (this row has no such field: a blank cell, or a column of another name)';
	if (value === null) return 'null (the cell or field has no value)';
	if (typeof value === 'string' && value === '') return 'empty';
	if (typeof value === 'string' && value.trim() === '') return 'blank (only spaces)';
	return undefined;
}

/**
 * A Refund Amount as one row gives it, checked for form before any call: returns the decimal
 * text, or throws an error that names the row, the order and what was seen. The decimals the
 * payment's currency allows are checked once the payment is looked up.
 */
export function checkRefundAmount(
	value: unknown,
	ref: RowRef,
	source: AmountSource = 'workflow',
): string {
	const empty = emptiness(value, source);
	if (empty) {
		const fix = missingFix(source);
		throw new KsherInputError(
			'Refund Amount',
			`Refund Amount is ${empty} ${rowPlace(ref)}: ${fix.short}`,
			fix.solution,
		);
	}
	if (typeof value === 'boolean' || (typeof value === 'object' && value !== null)) {
		throw new KsherInputError(
			'Refund Amount',
			`Refund Amount ${JSON.stringify(value).slice(0, 60)} is not an amount ${rowPlace(ref)}`,
			'Map a column that holds the amount as a number, e.g. 50.00.',
		);
	}
	try {
		const text = typeof value === 'number' ? String(value) : String(value).trim();
		checkDecimalAmount(value, 'Refund Amount');
		return text;
	} catch (error) {
		throw atRow(error, ref);
	}
}

/** An input error of one row, told with its place ("… for order B2 (row 2)"); other errors unchanged. */
export function atRow(error: unknown, ref: RowRef): unknown {
	if (!(error instanceof KsherInputError) || error.message.includes(`(row ${ref.row})`))
		return error;
	// "… of order B2: …" already names the order; the row is what it lacks.
	const place =
		ref.orderNumber && error.message.includes(ref.orderNumber) ? `(row ${ref.row})` : rowPlace(ref);
	return new KsherInputError(error.field, `${error.message} ${place}`, error.solution);
}
