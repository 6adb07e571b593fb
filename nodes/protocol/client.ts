import { randomBytes, type KeyObject } from 'crypto';

import { canonicalString, renderValue } from './canonical';
import { apiErrorFrom, callName, KsherInputError, KsherTransportError } from './errors';
import { endpointUrl, PRODUCTION_API_URL, PRODUCTION_GATEWAY_URL } from './hosts';
import { ksherPublicKey, parsePrivateKey, parsePublicKey, type SignVersion } from './keys';
import { isPlainObject, signCanonical, verifyData } from './signature';
import { TIMEOUTS } from './timeouts';
import { fetchTransport, transportFailure, type KsherTransport } from './transport';
import { checkAppId, checkBaseUrl } from './validation';

export interface KsherClientOptions {
	appId: string;
	/** Parsed once here; pass a KeyObject to share it between clients. */
	privateKey: KeyObject | string;
	signVersion?: SignVersion;
	/** Overrides Ksher's built-in public key for the sign version. */
	ksherPublicKey?: KeyObject | string;
	gatewayUrl?: string;
	apiUrl?: string;
	transport?: KsherTransport;
	timeoutMs?: number;
}

export interface PreparedRequest {
	endpoint: string;
	url: string;
	headers: Record<string, string>;
	body: string;
	nonce: string;
	params: Record<string, string>;
}

export interface KsherEnvelope {
	code: unknown;
	msg?: unknown;
	message?: unknown;
	data?: unknown;
	sign?: unknown;
	[key: string]: unknown;
}

export interface KsherResult {
	data: Record<string, unknown>;
	envelope: KsherEnvelope;
}

/** Operations that change state at Ksher: an unknown outcome there means money may have moved. */
const MUTATING = new Set([
	'gateway_pay',
	'cancel_order',
	'order_refund',
	'native_pay',
	'order_close',
]);

export const DEFAULT_TIMEOUT_MS = TIMEOUTS.callMs;

let lastSecond = -1;
let lastStamp = '';

/** `YYYYMMDDHHmmss` in Thai time (UTC+7); Ksher does not validate the zone, but this is what a Thai merchant sees. */
export function ksherTimestamp(now?: Date): string {
	const second = Math.floor((now ? now.getTime() : Date.now()) / 1000);
	if (second === lastSecond) return lastStamp;
	const t = new Date(second * 1000 + 7 * 3600_000);
	const p = (n: number, w = 2) => String(n).padStart(w, '0');
	lastStamp = `${p(t.getUTCFullYear(), 4)}${p(t.getUTCMonth() + 1)}${p(t.getUTCDate())}${p(t.getUTCHours())}${p(t.getUTCMinutes())}${p(t.getUTCSeconds())}`;
	lastSecond = second;
	return lastStamp;
}

// Nonces come from the CSPRNG in blocks, hex-encoded once: one system call and one
// conversion per 256 requests instead of one each. Every nonce is a distinct slice.
const NONCE_HEX = 32;
let noncePool = '';
let noncePos = 0;

export function newNonce(): string {
	if (noncePos + NONCE_HEX > noncePool.length) {
		noncePool = randomBytes((NONCE_HEX / 2) * 256).toString('hex');
		noncePos = 0;
	}
	const nonce = noncePool.slice(noncePos, noncePos + NONCE_HEX);
	noncePos += NONCE_HEX;
	return nonce;
}

const URL_SAFE = /^[\w.~-]*$/;
const encode = (text: string) => (URL_SAFE.test(text) ? text : encodeURIComponent(text));

/** The form body, encoded once (RFC 3986 style; Ksher accepts %20 and + alike). */
function formBody(fields: Record<string, string>): string {
	let body = '';
	for (const key in fields) body += `${body ? '&' : ''}${encode(key)}=${encode(fields[key])}`;
	return body;
}

const SURROGATE = /[\uD800-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function isWellFormed(text: string): boolean {
	return !SURROGATE.test(text) || !LONE_SURROGATE.test(text);
}

/**
 * Drops what must not be sent (undefined, null, empty strings, a stray "sign") and renders
 * the rest as the strings the form body will carry.
 */
export function formParams(params: Record<string, unknown>): Record<string, string> {
	const out: Record<string, string> = {};
	for (const key in params) {
		const value = params[key];
		if (
			key === 'sign' ||
			value === undefined ||
			value === null ||
			value === '' ||
			!Object.prototype.hasOwnProperty.call(params, key)
		)
			continue;
		if (typeof value === 'string') {
			// A lone surrogate has no UTF-8 form: the signed bytes and the sent bytes would differ.
			if (!isWellFormed(value))
				throw new KsherInputError(
					key,
					`Parameter ${key} contains a broken Unicode character`,
					'Remove the damaged character (often from text cut in the middle of an emoji).',
				);
			out[key] = value;
		} else if (typeof value === 'number' && Number.isSafeInteger(value)) out[key] = String(value);
		else if (typeof value === 'object') out[key] = renderValue(value);
		else
			throw new KsherInputError(
				key,
				`Parameter ${key} has a value Ksher cannot take (${typeof value})`,
				'Send text or whole numbers.',
			);
	}
	return out;
}

export function parseEnvelope(text: string, endpoint: string, mutating: boolean): KsherEnvelope {
	let parsed: unknown;
	let readable = true;
	try {
		parsed = JSON.parse(text);
	} catch {
		readable = false;
	}
	if (!readable) {
		throw new KsherTransportError(
			'not-json',
			`Ksher's answer to ${callName(endpoint)} is not JSON${mutating ? ', so the outcome is unknown' : ''}`,
			mutating
				? 'Check the state before retrying (Get Payment or Get Many refunds).'
				: 'Try again; if it persists, check the API URLs in the credential.',
			endpoint,
			mutating,
		);
	}
	if (!isPlainObject(parsed) || !('code' in parsed)) {
		throw new KsherTransportError(
			'bad-envelope',
			`Ksher's answer to ${callName(endpoint)} is not a Ksher response (no "code")${mutating ? ', so the outcome is unknown' : ''}`,
			'Check that the API URLs in the credential point at Ksher.',
			endpoint,
			mutating,
		);
	}
	return parsed as KsherEnvelope;
}

function text(value: unknown): string {
	return typeof value === 'string'
		? value
		: value === undefined || value === null
			? ''
			: String(value);
}

/** Where Ksher puts the error code is not documented for every case: look in all known places. */
export function errorCodeOf(envelope: KsherEnvelope): { code: string; message: string } {
	const data = isPlainObject(envelope.data) ? envelope.data : {};
	const candidates = [data.err_code, envelope.err_code, envelope.status_code, envelope.msg].map(
		text,
	);
	const code =
		candidates.find((c) => /^[A-Z][A-Z0-9_]{2,}$/.test(c)) ??
		(envelope.code !== 0 && envelope.code !== '0'
			? `CODE_${text(envelope.code)}`
			: text(data.result));
	const message =
		[data.err_msg, envelope.status_msg, envelope.message, envelope.msg]
			.map(text)
			.find((m) => m !== '' && m !== code) ?? '';
	return { code, message };
}

export class KsherClient {
	readonly appId: string;
	readonly signVersion: SignVersion;
	private readonly privateKey: KeyObject;
	private readonly publicKey: KeyObject;
	private readonly hosts: { gatewayUrl: string; apiUrl: string };
	private readonly transport: KsherTransport;
	readonly timeoutMs: number;

	constructor(options: KsherClientOptions) {
		this.appId = checkAppId(options.appId);
		this.signVersion = options.signVersion === 'V2' ? 'V2' : 'V1';
		this.privateKey =
			typeof options.privateKey === 'string'
				? parsePrivateKey(options.privateKey)
				: options.privateKey;
		this.publicKey =
			typeof options.ksherPublicKey === 'string' && options.ksherPublicKey.trim() !== ''
				? parsePublicKey(options.ksherPublicKey)
				: typeof options.ksherPublicKey === 'object'
					? options.ksherPublicKey
					: ksherPublicKey(this.signVersion);
		this.hosts = {
			gatewayUrl: checkBaseUrl(options.gatewayUrl ?? PRODUCTION_GATEWAY_URL, 'Gateway Base URL'),
			apiUrl: checkBaseUrl(options.apiUrl ?? PRODUCTION_API_URL, 'API Base URL'),
		};
		this.transport = options.transport ?? fetchTransport;
		this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
	}

	/** Builds the signed form body for one call (nonce, time stamp, appid, sign). */
	prepare(endpoint: string, params: Record<string, unknown>): PreparedRequest {
		const nonce = newNonce();
		const fields = formParams(params);
		fields.appid = this.appId;
		fields.nonce_str = nonce;
		fields.time_stamp = ksherTimestamp();
		const sign = signCanonical(canonicalString(fields), this.privateKey);
		const body = `${formBody(fields)}&sign=${sign}`;
		const headers: Record<string, string> = {
			'content-type': 'application/x-www-form-urlencoded;charset=utf-8',
			accept: 'application/json',
		};
		if (this.signVersion === 'V2') headers['ksher-sign-version'] = 'V2';
		return {
			endpoint,
			url: endpointUrl(endpoint, this.hosts),
			headers,
			body,
			nonce,
			params: fields,
		};
	}

	/** Checks an envelope as the answer to a prepared request: code, signature, nonce, result. */
	accept(prepared: PreparedRequest, envelope: KsherEnvelope): KsherResult {
		const { endpoint } = prepared;
		const mutating = MUTATING.has(endpoint);
		if (envelope.code !== 0 && envelope.code !== '0') {
			const { code, message } = errorCodeOf(envelope);
			throw apiErrorFrom(endpoint, code, message);
		}
		if (
			!isPlainObject(envelope.data) ||
			!verifyData(envelope.data, envelope.sign, this.publicKey, endpoint)
		) {
			throw new KsherTransportError(
				'signature',
				`Ksher's response to ${callName(endpoint)}: response signature invalid, so it was not used${mutating ? ' and the outcome is unknown' : ''}`,
				`Check the Signature Version and Ksher Public Key in the credential (this request used ${this.signVersion}). If they are right, the answer did not come from Ksher: check the API URLs and your network.`,
				endpoint,
				mutating,
			);
		}
		const echoed = envelope.data.nonce_str;
		if (typeof echoed === 'string' && echoed !== '' && echoed !== prepared.nonce) {
			throw new KsherTransportError(
				'nonce-mismatch',
				`Ksher's response to ${callName(endpoint)} answers a different request (nonce mismatch), so it was not used${mutating ? ' and the outcome is unknown' : ''}`,
				'This points to a replayed or misrouted response. Check the API URLs and any proxy between n8n and Ksher.',
				endpoint,
				mutating,
			);
		}
		if (text(envelope.data.result) === 'FAIL') {
			const { code, message } = errorCodeOf(envelope);
			throw apiErrorFrom(endpoint, code, message);
		}
		return { data: envelope.data, envelope };
	}

	async call(endpoint: string, params: Record<string, unknown> = {}): Promise<KsherResult> {
		const prepared = this.prepare(endpoint, params);
		const mutating = MUTATING.has(endpoint);
		const response = await this.transport({
			url: prepared.url,
			headers: prepared.headers,
			body: prepared.body,
			timeoutMs: this.timeoutMs,
		}).then(
			(ok) => ok,
			(error: unknown) => transportFailure(error, endpoint, this.timeoutMs, mutating),
		);
		if (response instanceof KsherTransportError) throw response;
		if (response.status !== 200) {
			const unknown = mutating && (response.status >= 500 || response.status === 408);
			throw new KsherTransportError(
				'http-status',
				`Ksher answered ${callName(endpoint)} with HTTP ${response.status}${unknown ? ', so the outcome is unknown' : ''}`,
				response.status >= 500
					? unknown
						? 'Check the state before retrying (Get Payment or Get Many refunds).'
						: 'Ksher had a server problem; try again in a moment.'
					: 'Check the API URLs in the credential.',
				endpoint,
				unknown,
				response.status,
			);
		}
		return this.accept(prepared, parseEnvelope(response.body, endpoint, mutating));
	}
}
