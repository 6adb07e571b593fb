import { DEFAULT_CONCURRENCY } from '../nodes/Ksher/actions/batch.ts';
import { initialWatchState } from '../nodes/protocol';
import type { SimulatorInfo } from '../test/simulator/server';
import { CEILING_NODE_TYPE, startPlainServer } from './ceiling';
import { addLatency, countCalls, LATENCY_MS, nodeRun, payOrder, simulatorFigures } from './figures';
import { control } from './simulatorProcess';
import { median } from './stats';
import { simulatorClient } from '../test/simulator/client';

async function paidOrders(
	sim: { info: SimulatorInfo },
	prefix: string,
	count: number,
): Promise<string[]> {
	const client = simulatorClient(sim.info);
	const numbers = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
	for (const no of numbers) await payOrder(client, sim.info, { mch_order_no: no });
	return numbers;
}

/**
 * Payment → Watch for Changes over `count` paid TrueMoney orders (so each costs both calls:
 * the order and its refund list), one in ten refunded at the portal since the stored state,
 * with 50 ms added to every Ksher call, at the node's default concurrency.
 */
export const watchFigures = simulatorFigures(async (sim, note, progress, quick) => {
	const count = quick ? 200 : 2000;
	note(
		`watch_${count}_orders_seconds`,
		await watchSeconds(sim, count, progress),
		's',
		quick ? '' : '≤ 120 (50 ms per Ksher call, node default concurrency)',
	);
});

async function watchSeconds(
	sim: { info: SimulatorInfo },
	count: number,
	progress: (l: string) => void,
): Promise<number> {
	const client = simulatorClient(sim.info);
	const rows: Array<{ no: string; state: string }> = [];
	progress(`node: preparing ${count} watched orders`);
	for (let i = 0; i < count; i++) {
		const no = `W-${i}`;
		await payOrder(client, sim.info, { mch_order_no: no, channel_list: 'truemoney' }, false);
		if (i % 10 === 0) await control(sim.info, '/refund', { mch_order_no: no, refund_fee: 100 });
		rows.push({ no, state: initialWatchState('paid', new Date()) });
	}
	await addLatency(sim.info);
	progress(`node: watching ${count} orders at concurrency ${DEFAULT_CONCURRENCY}`);
	const { result, seconds } = await nodeRun(sim, {
		parameters: {
			resource: 'payment',
			operation: 'watch',
			orderNumber: '={{ $json.no }}',
			watchState: '={{ $json.state }}',
		},
		items: rows,
	});
	await control(sim.info, '/reset');
	const refunds = result.items.filter((i) => i.event === 'refunded').length;
	if (result.status !== 'success' || refunds !== Math.ceil(count / 10))
		throw new Error(
			`watch batch failed: ${result.error?.message ?? `${refunds} refunds reported`}`,
		);
	return seconds;
}

/**
 * Refund Create over 1,000 items through n8n's WorkflowExecute, with 50 ms added to each
 * order_refund call (the one call per item that moves money), at concurrency 1, the
 * node's default and 8; the same shape without any Ksher work (the ceiling of n8n's
 * engine and HTTP helper on this machine); and Get Payment over 1,000 items with no
 * added latency.
 */
export const nodeFigures = simulatorFigures(async (sim, note, progress, quick) => {
	const plain = await startPlainServer(LATENCY_MS);
	const items = quick ? 100 : 1000;
	try {
		let batch = 0;
		const refundBatch = async (concurrency: number): Promise<number> => {
			const orders = await paidOrders(sim, `B${++batch}`, items);
			await addLatency(sim.info, { endpoint: 'order_refund' });
			progress(`node: ${items} Refund Create items at concurrency ${concurrency}`);
			const { result, seconds } = await nodeRun(sim, {
				// Row by row, as before version 2's sheet check: one lookup and one refund per item.
				parameters: {
					resource: 'refund',
					operation: 'create',
					orderNumber: '={{ $json.no }}',
					refundAmount: '10',
					checkAllRowsFirst: false,
					options: { concurrency },
				},
				items: orders.map((no) => ({ no })),
			});
			await control(sim.info, '/reset');
			if (result.status !== 'success' || result.items.length !== items)
				throw new Error(`batch failed: ${result.error?.message}`);
			return seconds;
		};
		const ceilingBatch = async (concurrency: number): Promise<number> => {
			progress(
				`node: ${items} ceiling items (two plain n8n HTTP calls each) at concurrency ${concurrency}`,
			);
			const { result, seconds } = await nodeRun(sim, {
				nodeType: CEILING_NODE_TYPE,
				parameters: { orderNumber: '={{ $json.no }}', baseUrl: plain.baseUrl, concurrency },
				items: Array.from({ length: items }, (_, i) => ({ no: `C-${i}` })),
			});
			if (result.status !== 'success' || result.items.length !== items)
				throw new Error(`ceiling batch failed: ${result.error?.message}`);
			return seconds;
		};
		const ideal = (c: number) => (items * LATENCY_MS) / 1000 / c;

		const c1 = await refundBatch(1);
		const cDefault = await refundBatch(DEFAULT_CONCURRENCY);
		// Concurrency 8 and its ceiling alternate, so that both see the same machine.
		const ours: number[] = [];
		const ceiling: number[] = [];
		for (let round = 0; round < (quick ? 1 : 3); round++) {
			ours.push(await refundBatch(8));
			ceiling.push(await ceilingBatch(8));
		}
		const c8 = median(ours);
		note('batch_1000_seconds_c1', c1, 's');
		note(`batch_1000_seconds_c${DEFAULT_CONCURRENCY}`, cDefault, 's', '(node default)');
		note('batch_1000_seconds_c8', c8, 's', `(median of ${ours.length})`);
		note(
			`batch_1000_efficiency_c${DEFAULT_CONCURRENCY}`,
			ideal(DEFAULT_CONCURRENCY) / cDefault,
			'',
			'(node default)',
		);
		note('batch_1000_efficiency', ideal(8) / c8, '', '≥ 0.8 at concurrency 8');
		note(
			'batch_1000_ceiling_efficiency_c8',
			ideal(8) / median(ceiling),
			'',
			'(no Ksher work: n8n engine + HTTP helper alone)',
		);
		note('batch_1000_share_of_ceiling', median(ceiling) / c8, '', '(ours ÷ ceiling)');

		const orders = await paidOrders(sim, 'G', 10);
		const rows = Array.from({ length: items }, (_, i) => ({ no: orders[i % orders.length] }));
		const runs: number[] = [];
		for (let r = 0; r < 3; r++) {
			const { result, seconds } = await nodeRun(sim, {
				parameters: { resource: 'payment', operation: 'get', orderNumber: '={{ $json.no }}' },
				items: rows,
			});
			runs.push((seconds * 1000) / items);
			if (result.status !== 'success')
				throw new Error(`get batch failed: ${result.error?.message}`);
		}
		runs.sort((a, b) => a - b);
		note('node_overhead_ms_per_item', runs[1], 'ms');
	} finally {
		await plain.stop();
	}
});

/**
 * A refund sheet of 1,000 rows over 500 orders (two partial refunds each), 50 ms added to every
 * Ksher call, at the node's default concurrency: row by row (each row looks its order up, as
 * before version 2), then checked first (each order looked up once, its refunds listed once,
 * then one refund call per row). Alternated, twice each; the calls are counted at the simulator.
 */
export const refundFigures = simulatorFigures(async (sim, note, progress, quick) => {
	const rows = quick ? 100 : 1000;
	let sheet = 0;
	const run = async (checkAllRowsFirst: boolean) => {
		const orders = await paidOrders(sim, `S${++sheet}`, rows / 2);
		const items = orders.flatMap((no) => [
			{ no, amount: '10' },
			{ no, amount: '20' },
		]);
		await addLatency(sim.info);
		const callsSince = await countCalls(sim.info);
		progress(
			`refund: ${rows} rows over ${orders.length} orders, ${checkAllRowsFirst ? 'checked first' : 'row by row'}`,
		);
		const { result, seconds } = await nodeRun(sim, {
			parameters: {
				resource: 'refund',
				operation: 'create',
				orderNumber: '={{ $json.no }}',
				refundAmount: '={{ $json.amount }}',
				checkAllRowsFirst,
			},
			items,
		});
		const calls = await callsSince();
		await control(sim.info, '/faults/clear');
		if (result.status !== 'success' || result.items.some((i) => i.alreadyRefunded !== false))
			throw new Error(`refund sheet failed: ${result.error?.message}`);
		if ((calls.byEndpoint.order_refund ?? 0) !== rows)
			throw new Error(`${calls.byEndpoint.order_refund} refund calls for ${rows} rows`);
		return { seconds, calls };
	};
	const unchecked: number[] = [];
	const checked: number[] = [];
	let checkedCalls = { total: 0, byEndpoint: {} as Record<string, number> };
	let uncheckedCalls = checkedCalls;
	for (let round = 0; round < 2; round++) {
		const a = await run(false);
		unchecked.push(a.seconds);
		uncheckedCalls = a.calls;
		const b = await run(true);
		checked.push(b.seconds);
		checkedCalls = b.calls;
	}
	const lookups = checkedCalls.byEndpoint.gateway_order_query ?? 0;
	const lists = checkedCalls.byEndpoint.refund_query ?? 0;
	if (lookups > rows / 2 || lists > rows / 2)
		throw new Error(
			`checked sheet: ${lookups} lookups and ${lists} refund lists for ${rows / 2} orders`,
		);
	note(
		`refund_${rows}_unchecked_calls`,
		uncheckedCalls.total,
		'calls',
		`(row by row: ${uncheckedCalls.byEndpoint.gateway_order_query ?? 0} lookups + ${uncheckedCalls.byEndpoint.order_refund ?? 0} refunds)`,
	);
	note(
		`refund_${rows}_unchecked_seconds`,
		median(unchecked),
		's',
		'(50 ms per Ksher call, default concurrency)',
	);
	note(
		`refund_${rows}_checked_calls`,
		checkedCalls.total,
		'calls',
		`(${lookups} lookups + ${lists} refund lists for ${rows / 2} orders + ${checkedCalls.byEndpoint.order_refund ?? 0} refunds)`,
	);
	note(`refund_${rows}_checked_seconds`, median(checked), 's');
	note(
		`refund_${rows}_checked_time_ratio`,
		median(checked) / median(unchecked),
		'×',
		'≤ 1.1 (checked ÷ row by row)',
	);
});
