import { createServer } from 'http';

/**
 * A bare HTTP server for the batch ceiling: it reads the body and answers a fixed
 * Ksher-sized JSON after the added latency on /slow, doing no protocol work at all.
 */
const latencyMs = Number(process.argv[2] ?? 50);
const answer = JSON.stringify({
	code: 0,
	msg: 'ok',
	data: {
		result: 'SUCCESS',
		nonce_str: '0'.repeat(32),
		pay_mch_order_no: '2611271406000001',
		total_fee: 10000,
		fee_type: 'THB',
	},
	sign: '0'.repeat(128),
});
const server = createServer((req, res) => {
	req.resume();
	req.on('end', () => {
		const reply = () =>
			res
				.writeHead(200, {
					'content-type': 'application/json',
					'content-length': Buffer.byteLength(answer),
				})
				.end(answer);
		if (req.url === '/slow') setTimeout(reply, latencyMs);
		else reply();
	});
});
server.listen(0, '127.0.0.1', () => {
	const address = server.address();
	process.stdout.write(
		`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`,
	);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
