import type { KsherClient } from '../nodes/protocol';
import type { NodeRun, runKsherNode } from '../test/helpers/n8n';
import type { SimulatorInfo } from '../test/simulator/server';
import { control, startSimulatorProcess } from './simulatorProcess';

/** How a part reports one figure to bench/run.ts: its JSON key, value, unit and goal. */
export type Note = (name: string, value: number, unit: string, goal?: string) => void;

/** One part of the benchmark, as bench/run.ts calls it. */
export type Figures = (
	note: Note,
	progress: (line: string) => void,
	quick: boolean,
) => Promise<void>;

type SimulatorProcess = Awaited<ReturnType<typeof startSimulatorProcess>>;

/** A part measured against the simulator in a process of its own, stopped however the part ends. */
export function simulatorFigures(
	part: (sim: SimulatorProcess, ...args: Parameters<Figures>) => Promise<void>,
): Figures {
	return async (...args) => {
		const sim = await startSimulatorProcess();
		try {
			await part(sim, ...args);
		} finally {
			await sim.stop();
		}
	};
}

/** What the figures add to Ksher calls: a gateway some way off, in milliseconds. */
export const LATENCY_MS = 50;

/** LATENCY_MS before every Ksher call from now on (`only` narrows it, e.g. to one endpoint). */
export function addLatency(info: SimulatorInfo, only: Record<string, unknown> = {}): Promise<void> {
	return control(info, '/faults', {
		type: 'latency',
		ms: LATENCY_MS,
		count: -1,
		stage: 'before',
		...only,
	});
}

/** The node's credentials for the simulator's merchant. */
export function ksherCredentials(sim: { info: SimulatorInfo }) {
	return {
		appId: sim.info.appid,
		privateKey: sim.info.merchantPrivateKey,
		signVersion: 'V1',
		ksherPublicKey: sim.info.ksherPublicKey,
		environment: 'custom',
		gatewayUrl: sim.info.gatewayUrl,
		apiUrl: sim.info.apiUrl,
	};
}

/**
 * Creates an order as a shop does (gateway_pay; `order` overrides the defaults below), then
 * pays it at the simulator with the order's channel (the /pay default), which notifies the
 * shop unless `notify` is false.
 */
export async function payOrder(
	client: KsherClient,
	info: SimulatorInfo,
	order: { mch_order_no: string } & Record<string, unknown>,
	notify?: boolean,
): Promise<void> {
	const { mch_order_no: no, ...rest } = order;
	await client.call('gateway_pay', {
		mch_order_no: no,
		total_fee: 10_000,
		fee_type: 'THB',
		channel_list: 'promptpay',
		mch_code: no,
		mch_redirect_url: 'https://x.example',
		mch_redirect_url_fail: 'https://x.example',
		product_name: 'bench',
		refer_url: 'https://x.example',
		...rest,
	});
	await control(info, '/pay', { mch_order_no: no, notify });
}

/**
 * Starts counting the simulator's calls (from its request log): the function returned gives
 * the endpoints called since.
 */
export async function countCalls(
	info: SimulatorInfo,
): Promise<() => Promise<{ total: number; byEndpoint: Record<string, number> }>> {
	const requestLog = async () =>
		(await (await fetch(`${info.controlUrl}/requests`)).json()) as Array<{ endpoint: string }>;
	const from = (await requestLog()).length;
	return async () => {
		const log = await requestLog();
		const byEndpoint: Record<string, number> = {};
		for (const r of log.slice(from)) byEndpoint[r.endpoint] = (byEndpoint[r.endpoint] ?? 0) + 1;
		return { total: log.length - from, byEndpoint };
	};
}

/**
 * Source → the Ksher node (or `options.nodeType`) through n8n's engine, with the simulator's
 * credentials: the run and the seconds it took.
 */
export async function nodeRun(
	sim: { info: SimulatorInfo },
	options: Omit<Parameters<typeof runKsherNode>[0], 'credentials'>,
): Promise<{ result: NodeRun; seconds: number }> {
	// Loaded here rather than with this module, so that the client part runs without n8n.
	const n8nHelpers = await import('../test/helpers/n8n');
	const started = process.hrtime.bigint();
	const result = await n8nHelpers.runKsherNode({ credentials: ksherCredentials(sim), ...options });
	return { result, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}
