import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'http';
import type { AddressInfo } from 'net';

/** A real HTTP server on 127.0.0.1 whose answers each test scripts. */
export interface ScriptedServer {
	url: string;
	requests: Array<{
		method: string;
		url: string;
		headers: IncomingMessage['headers'];
		body: string;
	}>;
	handle: (handler: (req: IncomingMessage, body: string, res: ServerResponse) => void) => void;
	close: () => Promise<void>;
}

export async function startScriptedServer(): Promise<ScriptedServer> {
	let handler: (req: IncomingMessage, body: string, res: ServerResponse) => void = (
		_req,
		_body,
		res,
	) => {
		res.writeHead(500).end();
	};
	const requests: ScriptedServer['requests'] = [];
	const server: Server = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => {
			const body = Buffer.concat(chunks).toString('utf8');
			requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
			handler(req, body, res);
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		requests,
		handle: (h) => {
			handler = h;
		},
		close: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}
