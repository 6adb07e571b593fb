import { createServer, type IncomingMessage } from 'http';
import type { AddressInfo } from 'net';

/** A local webhook receiver that records what arrives and answers as told. */
export interface Receiver {
	url: string;
	received: Array<{ headers: IncomingMessage['headers']; body: string; at: number }>;
	answer: (n: number, body: string) => { status: number; body: string };
	close: () => Promise<void>;
}

export const ACK = JSON.stringify({ result: 'SUCCESS', msg: 'OK' });

export async function startReceiver(): Promise<Receiver> {
	const receiver: Receiver = {
		url: '',
		received: [],
		answer: () => ({ status: 200, body: ACK }),
		close: async () => undefined,
	};
	const server = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => {
			const body = Buffer.concat(chunks).toString('utf8');
			receiver.received.push({ headers: req.headers, body, at: Date.now() });
			const { status, body: out } = receiver.answer(receiver.received.length, body);
			res.writeHead(status, { 'content-type': 'application/json' }).end(out);
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
	receiver.close = () =>
		new Promise<void>((resolve) => {
			server.closeAllConnections();
			server.close(() => resolve());
		});
	return receiver;
}

export async function waitFor(
	check: () => boolean,
	timeoutMs = 10_000,
	what = 'condition',
): Promise<void> {
	const started = Date.now();
	while (!check()) {
		if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 10));
	}
}
