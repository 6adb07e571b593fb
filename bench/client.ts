import { fetchTransport, type KsherTransport } from '../nodes/protocol';
import { payOrder, simulatorFigures } from './figures';
import { keepAliveTransport } from './httpTransport';
import { percentile } from './stats';
import { simulatorClient } from '../test/simulator/client';

/** gateway_order_query round trips against the simulator (its own process) on loopback, one keep-alive connection, protocol client alone. */
export const clientFigures = simulatorFigures(async (sim, note, progress, quick) => {
	const make = (transport: KsherTransport) => simulatorClient(sim.info, { transport });
	await payOrder(make(fetchTransport), sim.info, {
		mch_order_no: 'BENCH-Q',
		total_fee: 100,
		mch_code: 'q',
		product_name: 'q',
	});
	const total = quick ? 300 : 3000;
	for (const [suffix, transport] of [
		['', keepAliveTransport()],
		['_fetch', fetchTransport],
	] as const) {
		const client = make(transport);
		for (let i = 0; i < 200; i++)
			await client.call('gateway_order_query', { mch_order_no: 'BENCH-Q' });
		progress(`client${suffix}: ${total} gateway_order_query round trips`);
		const latencies: number[] = [];
		const started = process.hrtime.bigint();
		for (let i = 0; i < total; i++) {
			const t = process.hrtime.bigint();
			await client.call('gateway_order_query', { mch_order_no: 'BENCH-Q' });
			latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
		}
		const seconds = Number(process.hrtime.bigint() - started) / 1e9;
		note(
			`client${suffix}_ops_per_s`,
			total / seconds,
			'ops/s',
			suffix ? '(Node fetch transport)' : '(keep-alive http transport)',
		);
		note(`client${suffix}_p99_ms`, percentile(latencies, 99), 'ms');
	}
});
