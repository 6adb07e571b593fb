import { createSign, createVerify, type KeyObject } from 'crypto';

import { canonicalString, sortedKeys, type CanonicalOptions } from './canonical';
import { ksherPublicKey, parsePrivateKey, parsePublicKey, type SignVersion } from './keys';

/** Ksher signs with RSA PKCS#1 v1.5 over MD5 (its signature page): deterministic, lowercase hex. */
const ALGORITHM = 'RSA-MD5';

/**
 * Endpoints whose responses are signed over a subset of `data` only:
 * merchant_info is documented, get_settlement_info was established from a real sample.
 */
export const SIGNED_SUBSETS: Readonly<Record<string, readonly string[]>> = {
	merchant_info: ['mobile', 'mch_id', 'account_type', 'business_mode', 'nonce_str'],
	get_settlement_info: ['begin_date', 'end_date', 'nonce_str'],
};

export function signCanonical(canonical: string, privateKey: KeyObject): string {
	return createSign(ALGORITHM).update(canonical, 'utf8').sign(privateKey, 'hex');
}

/** Signs request parameters. Accepts a parsed key, or PEM text (parsed on every call: prefer a KeyObject). */
export function signRequest(
	params: Record<string, unknown>,
	privateKey: KeyObject | string,
): string {
	const key = typeof privateKey === 'string' ? parsePrivateKey(privateKey) : privateKey;
	return signCanonical(canonicalString(params), key);
}

// Reading asymmetricKeyDetails crosses into C++ and builds an object each time: remember it per key.
const modulusBytesOf = new WeakMap<KeyObject, number>();

function modulusBytes(key: KeyObject): number {
	let bytes = modulusBytesOf.get(key);
	if (bytes === undefined) {
		bytes = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
		modulusBytesOf.set(key, bytes);
	}
	return bytes;
}

function signatureBytes(sign: unknown, key: KeyObject): Buffer | undefined {
	if (typeof sign !== 'string') return undefined;
	// Hex is case-insensitive (Ksher's .NET SDK sends upper case), but it must be exactly one
	// modulus long and all hex: Buffer.from(…, 'hex') stops at the first pair that is not hex
	// and ignores what follows, so both show as a length that is not the modulus length.
	const length = modulusBytes(key);
	if (sign.length !== length * 2) return undefined;
	const bytes = Buffer.from(sign, 'hex');
	return bytes.length === length ? bytes : undefined;
}

export function verifyCanonical(canonical: string, sign: unknown, publicKey: KeyObject): boolean {
	const bytes = signatureBytes(sign, publicKey);
	if (!bytes) return false;
	return createVerify(ALGORITHM).update(canonical, 'utf8').verify(publicKey, bytes);
}

/** The part of `data` that Ksher signs for an endpoint. */
export function signedFields(
	data: Record<string, unknown>,
	endpoint?: string,
): Record<string, unknown> {
	const subset = endpoint ? SIGNED_SUBSETS[endpoint] : undefined;
	if (!subset) return data;
	return Object.fromEntries(
		subset.filter((k) => Object.prototype.hasOwnProperty.call(data, k)).map((k) => [k, data[k]]),
	);
}

// How Ksher renders nested JSON in what it signs is only known for key-sorted ASCII data
// (refund_orders, vector R6). Where data holds nested values we accept the other plausible
// renderings too; each one is still a full RSA check of an unambiguous rendering.
const NESTED_VARIANTS: CanonicalOptions[] = [
	{},
	{ asciiNestedJson: true },
	{ sortNestedKeys: false },
	{ sortNestedKeys: false, asciiNestedJson: true },
];

/** Verifies Ksher's signature over a response's or notification's `data`. */
export function verifyData(
	data: Record<string, unknown>,
	sign: unknown,
	publicKey: KeyObject,
	endpoint?: string,
): boolean {
	// Ksher's data never carries its own "sign" and no sample has a null value. A request's
	// rule of dropping null fields must not let anyone add or blank out fields of an answer,
	// and how Ksher would render a null is unknown: such data fails closed.
	if (Object.prototype.hasOwnProperty.call(data, 'sign')) return false;
	const fields = signedFields(data, endpoint);
	const keys = sortedKeys(fields);
	let nested = false;
	for (const key of keys) {
		const value = fields[key];
		if (value === null || value === undefined) return false;
		if (typeof value === 'object') nested = true;
	}
	try {
		if (!nested) return verifyCanonical(canonicalString(fields, {}, keys), sign, publicKey);
		return NESTED_VARIANTS.some((options) =>
			verifyCanonical(canonicalString(fields, options, keys), sign, publicKey),
		);
	} catch {
		// Values that cannot be rendered (hostile nesting, non-finite numbers) were not signed by Ksher.
		return false;
	}
}

export interface VerifyOptions {
	/** PEM or KeyObject overriding Ksher's built-in key. */
	publicKey?: string | KeyObject;
	signVersion?: SignVersion;
	/** Selects the signed-field subset for merchant_info and get_settlement_info. */
	endpoint?: string;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when an envelope's `data` carries a valid Ksher signature. Never throws for bad input. */
export function verifyResponse(envelope: unknown, options: VerifyOptions = {}): boolean {
	if (!isPlainObject(envelope) || !isPlainObject(envelope.data)) return false;
	const key =
		typeof options.publicKey === 'string'
			? parsePublicKey(options.publicKey)
			: (options.publicKey ?? ksherPublicKey(options.signVersion ?? 'V1'));
	return verifyData(envelope.data, envelope.sign, key, options.endpoint);
}
