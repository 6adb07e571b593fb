import { KsherInputError } from './errors';

/**
 * Amounts cross our API in major units ("150.50" THB) and cross Ksher's in integer minor
 * units (15050). The conversion is done on the decimal text with BigInt, never with
 * floating point, so 0.29 is 29 and 1.15 is 115; anything that is not exactly
 * representable is refused instead of rounded.
 */

export const CURRENCY_DECIMALS: Readonly<Record<string, number>> = {
	THB: 2,
	USD: 2,
	MYR: 2,
	CNY: 2,
	AED: 2,
	JPY: 0,
};

export const SUPPORTED_CURRENCIES = Object.keys(CURRENCY_DECIMALS);

const MAX_MINOR = BigInt(Number.MAX_SAFE_INTEGER);

export interface AmountOptions {
	/** Name of the field, used in error messages (default "Amount"). */
	field?: string;
	/** Accept 0 (default false: every amount Ksher takes must be positive). */
	allowZero?: boolean;
}

/** The currency code as Ksher expects it ("thb " → "THB"), or a clear refusal. */
export function checkCurrency(currency: unknown, field = 'Currency'): string {
	const code = typeof currency === 'string' ? currency.trim().toUpperCase() : '';
	if (!Object.prototype.hasOwnProperty.call(CURRENCY_DECIMALS, code)) {
		throw new KsherInputError(
			field,
			`${field} "${String(currency)}" is not supported by Ksher Gateway Pay`,
			`Use one of: ${SUPPORTED_CURRENCIES.join(', ')}.`,
		);
	}
	return code;
}

export function currencyDecimals(currency: string, field = 'Currency'): number {
	return CURRENCY_DECIMALS[checkCurrency(currency, field)];
}

function amountText(amount: unknown, field: string): string {
	if (typeof amount === 'number') {
		if (!Number.isFinite(amount)) {
			throw new KsherInputError(
				field,
				`${field} must be a number, not ${String(amount)}`,
				'Enter an amount such as 150.50.',
			);
		}
		// String(n) is the shortest text that reads back as n, i.e. what the person typed.
		return String(amount);
	}
	if (typeof amount === 'bigint') return amount.toString();
	if (typeof amount === 'string') return amount.trim();
	if (amount === undefined || amount === null) return '';
	throw new KsherInputError(
		field,
		`${field} must be a number or a decimal text, got ${typeof amount}`,
		'Enter an amount such as 150.50.',
	);
}

/** An amount's form, checked without a currency: digits with an optional decimal part. */
function parseDecimal(
	amount: unknown,
	field: string,
	currencyHint: string,
): { text: string; whole: string; fraction: string } {
	const text = amountText(amount, field);
	if (text === '') {
		throw new KsherInputError(
			field,
			`${field} is empty`,
			`Enter the amount${currencyHint ? ` in ${currencyHint}` : ''}, e.g. 150.50.`,
		);
	}
	if (text.startsWith('-')) {
		throw new KsherInputError(field, `${field} "${text}" is negative`, 'Enter a positive amount.');
	}
	if (/^[+-]?(nan|infinity)$/i.test(text)) {
		throw new KsherInputError(
			field,
			`${field} "${text}" is not a number`,
			'Enter an amount such as 150.50.',
		);
	}
	if (/e/i.test(text) && /^[+]?[\d.]+e[+-]?\d+$/i.test(text)) {
		throw new KsherInputError(
			field,
			`${field} "${text}" is in exponent notation`,
			'Write the amount out in full, e.g. 1500000 instead of 1.5e6.',
		);
	}
	if (/^\d{1,3}(,\d{3})+(\.\d+)?$/.test(text) || (/,/.test(text) && /^[\d.,]+$/.test(text))) {
		throw new KsherInputError(
			field,
			`${field} "${text}" contains a comma`,
			'Remove the thousands separator and use a dot for decimals, e.g. 1000.00.',
		);
	}
	const match = /^(\d+)(?:\.(\d+))?$/.exec(text);
	if (!match) {
		throw new KsherInputError(
			field,
			`${field} "${text}" is not a valid amount`,
			'Use digits with an optional decimal point, e.g. 150.50.',
		);
	}
	return { text, whole: match[1], fraction: match[2] ?? '' };
}

export function toMinorUnits(
	amount: unknown,
	currency = 'THB',
	options: AmountOptions = {},
): number {
	const field = options.field ?? 'Amount';
	const code = checkCurrency(currency);
	const decimals = CURRENCY_DECIMALS[code];
	const { text, whole, fraction: written } = parseDecimal(amount, field, code);
	const fraction = written.replace(/0+$/, '');
	if (fraction.length > decimals) {
		throw new KsherInputError(
			field,
			decimals === 0
				? `${field} "${text}" has decimals, but ${code} has no minor unit`
				: `${field} "${text}" has more than ${decimals} decimals, which ${code} cannot represent`,
			decimals === 0
				? `Enter a whole number of ${code}.`
				: `Round the amount to ${decimals} decimals yourself, e.g. ${whole}.${written.slice(0, decimals)}.`,
		);
	}
	const minor = BigInt(whole + fraction.padEnd(decimals, '0'));
	if (minor > MAX_MINOR) {
		throw new KsherInputError(
			field,
			`${field} "${text}" is too large`,
			'Check the amount; it exceeds any amount Ksher can process.',
		);
	}
	if (minor === BigInt(0) && !options.allowZero) {
		throw new KsherInputError(
			field,
			`${field} "${text}" is zero: it must be greater than zero`,
			'Enter a positive amount.',
		);
	}
	return Number(minor);
}

/**
 * Checks an amount's form (a positive decimal number, no comma, no exponent) before its
 * currency is known; toMinorUnits then checks the decimals that currency allows.
 */
export function checkDecimalAmount(amount: unknown, field = 'Amount'): void {
	const { text, whole, fraction } = parseDecimal(amount, field, '');
	const most = Math.max(...Object.values(CURRENCY_DECIMALS));
	const decimals = fraction.replace(/0+$/, '').length;
	if (decimals > most) {
		throw new KsherInputError(
			field,
			`${field} "${text}" has ${decimals} decimals; Ksher's currencies have at most ${most}`,
			`Round the amount to the decimals of the payment's currency (at most ${most}).`,
		);
	}
	if (/^0*$/.test(whole + fraction))
		throw new KsherInputError(
			field,
			`${field} "${text}" is zero: it must be greater than zero`,
			'Enter a positive amount.',
		);
}

/** The exact inverse of toMinorUnits: 15050 → "150.50". Accepts Ksher's numbers or digit strings. */
export function fromMinorUnits(minor: unknown, currency = 'THB'): string {
	const decimals = currencyDecimals(currency);
	let digits: string;
	if (typeof minor === 'number' && Number.isSafeInteger(minor) && minor >= 0)
		digits = String(minor);
	else if (typeof minor === 'bigint' && minor >= BigInt(0)) digits = minor.toString();
	else if (typeof minor === 'string' && /^\d+$/.test(minor.trim()))
		digits = minor.trim().replace(/^0+(?=\d)/, '');
	else
		throw new KsherInputError(
			'amount',
			`"${String(minor)}" is not a whole number of minor units`,
			'Pass a non-negative integer, e.g. 15050.',
		);
	if (decimals === 0) return digits;
	const padded = digits.padStart(decimals + 1, '0');
	return `${padded.slice(0, -decimals)}.${padded.slice(-decimals)}`;
}
