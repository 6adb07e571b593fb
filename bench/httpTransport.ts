import { Agent, request } from 'http';

import type { KsherTransport } from '../nodes/protocol';

/** A keep-alive transport on Node's http module, for tools outside n8n (not part of the package). */
export function keepAliveTransport(): KsherTransport {
	const agent = new Agent({ keepAlive: true, maxSockets: 8 });
	return (req) =>
		new Promise((resolve, reject) => {
			const url = new URL(req.url);
			const outgoing = request(
				{
					host: url.hostname,
					port: url.port,
					path: url.pathname,
					method: 'POST',
					headers: { ...req.headers, 'content-length': Buffer.byteLength(req.body) },
					agent,
					timeout: req.timeoutMs,
				},
				(res) => {
					let body = '';
					res.setEncoding('utf8');
					res.on('data', (c: string) => (body += c));
					res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
					res.on('error', reject);
				},
			);
			outgoing.on('timeout', () =>
				outgoing.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })),
			);
			outgoing.on('error', reject);
			outgoing.end(req.body);
		});
}
