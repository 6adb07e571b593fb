import { callName, KsherTransportError } from './errors';

/** One HTTP exchange. The client is given a transport so that nodes can use n8n's helper and tools can use fetch. */
export interface KsherHttpRequest {
	url: string;
	headers: Record<string, string>;
	body: string;
	timeoutMs: number;
}

export interface KsherHttpResponse {
	status: number;
	body: string;
}

export type KsherTransport = (request: KsherHttpRequest) => Promise<KsherHttpResponse>;

const NOT_SENT_CODES = new Set([
	'ECONNREFUSED',
	'ENOTFOUND',
	'EAI_AGAIN',
	'EHOSTUNREACH',
	'ENETUNREACH',
	'ERR_INVALID_URL',
	'ERR_TLS_CERT_ALTNAME_INVALID',
	'CERT_HAS_EXPIRED',
	'DEPTH_ZERO_SELF_SIGNED_CERT',
	'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);
const TIMEOUT_CODES = new Set([
	'ETIMEDOUT',
	'ECONNABORTED',
	'UND_ERR_CONNECT_TIMEOUT',
	'UND_ERR_HEADERS_TIMEOUT',
	'UND_ERR_BODY_TIMEOUT',
]);

function errorCode(error: unknown): string | undefined {
	let current: unknown = error;
	for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
		const c = current as { code?: unknown; name?: unknown; cause?: unknown };
		if (typeof c.code === 'string' && c.code !== '') return c.code;
		if (c.name === 'TimeoutError' || c.name === 'AbortError') return 'ETIMEDOUT';
		current = c.cause;
	}
	return undefined;
}

/** Turns whatever a transport threw into a typed error that says whether Ksher may have acted. */
export function transportFailure(
	error: unknown,
	endpoint: string,
	timeoutMs: number,
	mutating: boolean,
): KsherTransportError {
	if (error instanceof KsherTransportError) return error;
	const code = errorCode(error) ?? 'UNKNOWN';
	const maybe = mutating ? 'Ksher may or may not have processed it' : 'no data was read';
	if (TIMEOUT_CODES.has(code)) {
		return new KsherTransportError(
			'timeout',
			`Ksher did not answer ${callName(endpoint)} within ${Math.round(timeoutMs / 1000)} s, so ${maybe}`,
			mutating
				? 'Do not repeat the operation blindly: check its state first (Get Payment or Get Many refunds), then retry only if nothing happened.'
				: 'Try again in a moment; if it keeps happening, raise the timeout or check the network to Ksher.',
			endpoint,
			mutating,
		);
	}
	if (NOT_SENT_CODES.has(code)) {
		return new KsherTransportError(
			'connection',
			`Could not reach Ksher for ${callName(endpoint)} (${code}); the request was not delivered, so nothing happened`,
			'Check the network and the API URLs in the Ksher credential, then try again.',
			endpoint,
			false,
		);
	}
	return new KsherTransportError(
		'connection',
		`The connection to Ksher broke during ${callName(endpoint)} (${code}), so ${maybe}`,
		mutating
			? 'Do not repeat the operation blindly: check its state first (Get Payment or Get Many refunds), then retry only if nothing happened.'
			: 'Try again; if it keeps happening, check the network to Ksher.',
		endpoint,
		mutating,
	);
}

/** A transport on Node's fetch (keep-alive by default), for tools, tests and the credential test. */
export const fetchTransport: KsherTransport = async (request) => {
	const response = await fetch(request.url, {
		method: 'POST',
		headers: request.headers,
		body: request.body,
		signal: AbortSignal.timeout(request.timeoutMs),
		// Never re-send a signed body to wherever a redirect points: a 3xx is an HTTP status error.
		redirect: 'manual',
	});
	return { status: response.status, body: await response.text() };
};
