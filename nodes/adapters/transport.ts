import type { IHttpRequestOptions } from 'n8n-workflow';

import type { KsherTransport } from '../protocol';

interface HttpHelpers {
	httpRequest(options: IHttpRequestOptions): Promise<unknown>;
}

interface FullResponse {
	statusCode?: number;
	body?: unknown;
}

/**
 * Carries the protocol core's signed form bodies over n8n's own HTTP helper (proxy
 * settings, SSRF rules). Ksher authenticates by a signature inside the body that the core
 * computes and whose nonce the signed answer must echo, so no credential is attached here.
 * n8n 2.41's helper opens a new connection per request (it builds a new agent each time),
 * so there is no keep-alive to ask for.
 */
export function n8nTransport(helpers: HttpHelpers): KsherTransport {
	return async (request) => {
		const response = (await helpers.httpRequest({
			method: 'POST',
			url: request.url,
			headers: request.headers,
			body: request.body,
			timeout: request.timeoutMs,
			returnFullResponse: true,
			ignoreHttpStatusErrors: true,
			json: false,
			encoding: 'text',
			// Ksher never redirects an API call; following one would re-send the signed body to
			// wherever Location points. A 3xx ends as an HTTP status error instead.
			disableFollowRedirect: true,
		})) as FullResponse;
		const { body } = response;
		const text =
			typeof body === 'string'
				? body
				: Buffer.isBuffer(body)
					? body.toString('utf8')
					: body === undefined || body === null
						? ''
						: JSON.stringify(body);
		return { status: Number(response.statusCode ?? 0), body: text };
	};
}
