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
 * settings, SSRF rules, keep-alive). Ksher authenticates by a signature inside the body
 * that the core computes and whose nonce the signed answer must echo, so no credential
 * is attached here.
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
