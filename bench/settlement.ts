import { addLatency, countCalls, LATENCY_MS, nodeRun, payOrder, simulatorFigures } from './figures';
import { control } from './simulatorProcess';
import { median } from './stats';
import { simulatorClient } from '../test/simulator/client';

/** Five channels with different settlement cycles (T+1, T+2, T+3), so lines settle on different days. */
const CHANNELS = ['promptpay', 'truemoney', 'linepay', 'card', 'alipay'];

/**
 * Settlement → Get Many over a year of trading days for 5 channels (one line per channel and
 * day), through n8n's engine, with 50 ms added to every Ksher call: the node splits the year
 * into pieces Ksher accepts and asks for them together. The simulator's clock is moved one day
 * at a time while paying, so every line is a real day's payment, settled and transferred.
 */
export const settlementFigures = simulatorFigures(async (sim, note, progress, quick) => {
	const days = quick ? 31 : 365;
	const client = simulatorClient(sim.info);
	// The simulator's today in Bangkok, where its trading days are counted.
	const clock = (await (
		await fetch(`${sim.info.controlUrl}/clock`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: '{}',
		})
	).json()) as { bangkok: string };
	const firstDay = clock.bangkok.slice(0, 10);
	progress(`settlement: paying ${CHANNELS.length} orders a day for ${days} days`);
	for (let day = 0; day < days; day++) {
		for (const channel of CHANNELS) {
			const no = `Y${day}-${channel}`;
			await payOrder(
				client,
				sim.info,
				{ mch_order_no: no, total_fee: 10_000 + day, channel_list: channel },
				false,
			);
		}
		await control(sim.info, '/clock', { advanceDays: 1 });
	}
	const lastDay = new Date(Date.parse(`${firstDay}T00:00:00Z`) + (days - 1) * 86_400_000)
		.toISOString()
		.slice(0, 10);
	// Past every channel's cycle and transfer day.
	await control(sim.info, '/clock', { advanceDays: 5 });
	await addLatency(sim.info);

	const seconds: number[] = [];
	let calls = 0;
	for (let round = 0; round < 3; round++) {
		const callsSince = await countCalls(sim.info);
		progress(`settlement: ${firstDay}..${lastDay}, round ${round + 1}`);
		const { result, seconds: roundSeconds } = await nodeRun(sim, {
			parameters: {
				resource: 'settlement',
				operation: 'getAll',
				fromDate: firstDay,
				toDate: lastDay,
			},
			items: [{}],
		});
		seconds.push(roundSeconds);
		calls = (await callsSince()).byEndpoint.get_settlement_info ?? 0;
		// Every day of every channel exactly once, each with the amount paid that day.
		const seen = new Set(
			result.items.map(
				(i) =>
					`${String(i.channel)} ${String(i.tradingDayFrom)} ${String((i.ksher as { settlement_amount: number }).settlement_amount)}`,
			),
		);
		if (
			result.status !== 'success' ||
			result.items.length !== days * CHANNELS.length ||
			seen.size !== result.items.length
		) {
			throw new Error(
				`settlement year: ${result.status}, ${result.items.length} lines (${seen.size} distinct) for ${days * CHANNELS.length} channel-days: ${result.error?.message ?? ''}`,
			);
		}
	}
	note(
		`settlement_${days}_days_seconds`,
		median(seconds),
		's',
		quick
			? ''
			: `≤ 10 (${CHANNELS.length} channels, ${LATENCY_MS} ms per Ksher call, ${calls} get_settlement_info calls)`,
	);
});
