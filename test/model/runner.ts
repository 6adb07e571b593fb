import { Agent, request } from 'http';

import { setGlobalState, type IDataObject } from 'n8n-workflow';

import { runNode } from '../helpers/node';
import type { SimulatorHarness } from '../helpers/simulator';
import type { CaseInput } from './scenario';

/**
 * Runs one case of the refund model: the world is made at the simulator (one control call), then
 * the sheet runs through n8n's engine (Source → Ksher, Refund → Create) against the simulator
 * over HTTP, once per run, with that run's faults. What comes back is what the model judges:
 * the node's output and Ksher's state (the simulator's), never the node's own account of it.
 */

export interface SeenRequest {
	endpoint: string;
	/** The order as the request names it: mch_order_no (gateway order, or pay_mch_order_no) or ksher_order_no. */
	mchOrderNo?: string;
	ksherOrderNo?: string;
	refundNo?: string;
	refundFee?: number;
}

export interface RunObservation {
	status: string;
	items: IDataObject[];
	error?: { message: string; description?: string | null; itemIndex?: number };
	requests: SeenRequest[];
	/** Every order's refunds at Ksher after the run (Ksher appends; never rewrites). */
	refunds: Record<string, Array<{ no: string; fee: number }>>;
	ms: number;
}

export interface CaseObservation {
	/** Each world order's numbers at Ksher (pay_mch_order_no, ksher_order_no), to map refund calls back to orders. */
	ids: Record<string, { pay: string; ksher: string }>;
	/** Refunds at Ksher before the first run (the portal's). */
	before: Record<string, Array<{ no: string; fee: number }>>;
	runs: RunObservation[];
}

// The instance's time zone (GENERIC_TIMEZONE) as UTC: n8n's expressions then compute $now without
// the time-zone tables, a tenth of each expression's cost; the refund path never reads the time.
setGlobalState({ defaultTimezone: 'UTC' });

/** The merchant key's size: 512 bits, like the SDKs' example key that Ksher accepted (API.md §4.3), for cheaper signing. */
export const MODEL_KEY_BITS = 512;

/** What each lane's simulator was last told about partial refunds, and how many cases ran since its last reset. */
const laneState = new WeakMap<SimulatorHarness, { partial: 'Y' | 'N'; sinceReset: number }>();
/** Orders pile up in the simulator (and its refund lookups scan them): forget them every so often. */
const RESET_EVERY = 25;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The control API over one kept-alive connection per lane: a world, its faults and their clearing are
// a few calls per case, and fetch's streams cost more than the calls themselves.
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function control(
	h: SimulatorHarness,
	path: string,
	body: unknown,
): Promise<Record<string, unknown>> {
	const url = new URL(`${h.sim.info.controlUrl}${path}`);
	const text = JSON.stringify(body);
	return new Promise((resolve, reject) => {
		const req = request(
			{
				host: url.hostname,
				port: url.port,
				path: url.pathname,
				method: 'POST',
				agent,
				headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
			},
			(res) => {
				let answer = '';
				res.setEncoding('utf8');
				res.on('data', (chunk: string) => (answer += chunk));
				res.on('end', () =>
					res.statusCode === 200
						? resolve(JSON.parse(answer) as Record<string, unknown>)
						: reject(new Error(`control ${path} → ${res.statusCode} ${answer}`)),
				);
			},
		);
		req.on('error', reject);
		req.end(text);
	});
}

function refundsOf(
	h: SimulatorHarness,
	orders: CaseInput['orders'],
): Record<string, Array<{ no: string; fee: number }>> {
	const out: Record<string, Array<{ no: string; fee: number }>> = {};
	for (const o of orders)
		out[o.no] = (h.sim.order(o.no)?.refunds ?? []).map((r) => ({
			no: r.mch_refund_no,
			fee: r.refund_fee,
		}));
	return out;
}

export async function runCase(h: SimulatorHarness, input: CaseInput): Promise<CaseObservation> {
	let state = laneState.get(h);
	if (!state) laneState.set(h, (state = { partial: 'Y', sinceReset: 0 }));
	if (++state.sinceReset >= RESET_EVERY) {
		await control(h, '/reset', {});
		state.sinceReset = 0;
	}
	if (state.partial !== input.partialRefunds) {
		await control(h, '/merchant-settings', { allow_partial_refund: input.partialRefunds });
		state.partial = input.partialRefunds;
	}
	const made = input.orders.filter((o) => o.kind !== 'unknown');
	if (made.length) {
		await control(h, '/orders', {
			orders: made.map((o) => ({
				mch_order_no: o.no,
				total_fee: o.total,
				fee_type: o.currency,
				channel: o.channel,
				qr: o.qr,
				paid: o.kind === 'paid',
				refunds: o.portal.map((p) => ({ mch_refund_no: p.no, refund_fee: p.fee })),
			})),
		});
	}
	const ids: CaseObservation['ids'] = {};
	for (const o of made) {
		const order = h.sim.order(o.no)!;
		ids[o.no] = { pay: order.pay_mch_order_no, ksher: order.ksher_order_no };
	}
	const observation: CaseObservation = { ids, before: refundsOf(h, input.orders), runs: [] };

	for (const run of input.runs) {
		for (const fault of run.faults) await control(h, '/faults', fault);
		const mark = h.sim.requests.length;
		const started = Date.now();
		const result = await runNode(h, run.parameters as IDataObject, {
			rows: input.items as IDataObject[],
			continueOnFail: input.continueOnFail,
			typeVersion: input.typeVersion,
		});
		// A request delayed at Ksher may still act after the node gave up on it: wait until Ksher is done.
		while (h.sim.stats.inFlight > 0) await sleep(5);
		const ms = Date.now() - started;
		if (run.faults.length) await control(h, '/faults/clear', {});
		observation.runs.push({
			status: result.status,
			items: result.items,
			error: result.error && {
				message: result.error.message,
				description: result.error.description,
				itemIndex: result.error.itemIndex,
			},
			requests: h.sim.requests.slice(mark).map(({ endpoint, params }) => ({
				endpoint,
				mchOrderNo: params.mch_order_no,
				ksherOrderNo: params.ksher_order_no,
				refundNo: params.mch_refund_no,
				refundFee: params.refund_fee === undefined ? undefined : Number(params.refund_fee),
			})),
			refunds: refundsOf(h, input.orders),
			ms,
		});
	}
	return observation;
}
