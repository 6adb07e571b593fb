import { KSHER_ERROR_CODES } from './errorCodes';
import { ERROR_WORDS } from './errorWords';

/**
 * Typed errors of the protocol core. Each carries what a person needs to act: what
 * happened, what to do, and for calls that move money whether the operation may have
 * happened at Ksher (`mayHaveSucceeded`). Messages never contain key material.
 */
export class KsherError extends Error {
	constructor(
		message: string,
		readonly solution: string,
	) {
		super(message);
		this.name = new.target.name;
	}

	/** The same error with another solution (e.g. what else happened because of it). */
	withSolution(solution: string): this {
		return Object.assign(Object.create(Object.getPrototypeOf(this) as object) as this, this, {
			solution,
			message: this.message,
			stack: this.stack,
		});
	}
}

/** A value we refuse before anything is sent. */
export class KsherInputError extends KsherError {
	constructor(
		readonly field: string,
		message: string,
		solution: string,
	) {
		super(message, solution);
	}
}

/** A key that cannot be used (wrong kind, encrypted, unreadable); `field` names the credential field. */
export class KsherKeyError extends KsherInputError {
	constructor(message: string, solution: string, field = 'Private Key') {
		super(field, message, solution);
	}
}

/** Ksher answered, verifiably or not, that the call failed (`code` ≠ 0 or `result` FAIL). */
export class KsherApiError extends KsherError {
	constructor(
		readonly code: string,
		message: string,
		solution: string,
		readonly endpoint: string,
	) {
		super(message, solution);
	}
	/** Ksher refused the request, so nothing happened. */
	readonly mayHaveSucceeded = false;
}

export type TransportFailure =
	| 'connection'
	| 'timeout'
	| 'http-status'
	| 'not-json'
	| 'bad-envelope'
	| 'signature'
	| 'nonce-mismatch'
	/** Verified, but not the answer to what was asked (Create QR: another order, amount or a broken QR). */
	| 'answer-mismatch';

/** The call's outcome could not be established from Ksher's answer. */
export class KsherTransportError extends KsherError {
	constructor(
		readonly failure: TransportFailure,
		message: string,
		solution: string,
		readonly endpoint: string,
		readonly mayHaveSucceeded: boolean,
		readonly httpStatus?: number,
	) {
		super(message, solution);
	}
}

export interface ErrorExplanation {
	code: string;
	description: string;
	solution: string;
	known: boolean;
}

const own = (table: object, code: string) => Object.prototype.hasOwnProperty.call(table, code);

/** What a Ksher error code means and what to do: in plain words where we have them (errorWords.ts), else Ksher's table. */
export function explainErrorCode(code: string): ErrorExplanation {
	if (own(ERROR_WORDS, code)) return { code, ...ERROR_WORDS[code], known: true };
	const info = own(KSHER_ERROR_CODES, code) ? KSHER_ERROR_CODES[code] : undefined;
	if (info) {
		const capitalised = info.description.charAt(0).toUpperCase() + info.description.slice(1);
		return {
			code,
			description: capitalised.replace(/\.$/, ''),
			solution: info.solution,
			known: true,
		};
	}
	return {
		code,
		description: `Ksher returned error code ${code || '(none)'}`,
		solution:
			"This code is not in Ksher's published error table. Check the request values, then contact Ksher support with the code and the order number.",
		known: false,
	};
}

/** Calls as people know them: messages speak of what the user did, not Ksher's endpoint names. */
const CALL_NAMES: Readonly<Record<string, string>> = {
	gateway_pay: 'Create Payment',
	gateway_order_query: 'the payment lookup',
	cancel_order: 'Cancel Payment',
	native_pay: 'Create QR',
	order_query: 'the QR payment lookup',
	order_close: 'Cancel Payment',
	order_refund: 'the refund',
	refund_query: 'the refund lookup',
	merchant_info: 'the account check',
};

export function callName(endpoint: string): string {
	return CALL_NAMES[endpoint] ?? `Ksher's ${endpoint}`;
}

const capitalised = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

const words = (text: string) =>
	text
		.toLowerCase()
		.replace(/[^a-z0-9]+/g, ' ')
		.trim();

/** Builds the error for a Ksher answer that says the call failed. */
export function apiErrorFrom(endpoint: string, code: string, ksherMessage: string): KsherApiError {
	const explained = explainErrorCode(code);
	// Ksher's own words only when they add something to the explanation or to Ksher's table.
	const table = own(KSHER_ERROR_CODES, code) ? KSHER_ERROR_CODES[code] : undefined;
	const known = [explained.description, table?.description ?? '', table?.reason ?? ''].map(words);
	const adds =
		ksherMessage &&
		ksherMessage !== code &&
		!known.some((text) => text.includes(words(ksherMessage)));
	const said = adds ? ` (Ksher: "${ksherMessage}")` : '';
	return new KsherApiError(
		code,
		`${capitalised(callName(endpoint))} failed: ${explained.description.replace(/\.$/, '')} [${code || 'no code'}]${said}`,
		explained.solution,
		endpoint,
	);
}
