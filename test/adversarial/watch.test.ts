import type { IDataObject } from 'n8n-workflow';

import { runNode } from '../helpers/node';
import { startHarness, type SimulatorHarness } from '../helpers/simulator';
import { recordFigure } from './figures';
import { guardUnhandledRejections } from './guard';

/**
 * Watch: refunds reported other than once: 0. Two orders get 1,000 refunds each at the portal,
 * in waves of 100, while Payment → Watch for Changes runs between the waves through n8n's real
 * engine, its state stored the way the example workflow does (each change's state replaces the
 * one it was computed from). What Ksher may do is done to it: refunds shown as processing (no
 * state, no time) for a wave and then successful, stamped when they were asked for, i.e. before
 * newer refunds already reported; one order's list is shuffled before every run; the other's
 * waves are made as fast as they go, many in one second, and the workflow stops part-way through
 * every other run (only some changes stored, as when n8n is restarted mid-run). The stored state
 * never exceeds its stated bound (574 characters, docs/reference.md).
 */
guardUnhandledRejections('watch');

const STATE_BOUND = 574;
let h: SimulatorHarness;
beforeAll(async () => {
	h = await startHarness();
});
afterAll(() => h.sim.close());

function prng(seed: number): () => number {
	let s = seed >>> 0;
	return () => {
		s = (s * 1664525 + 1013904223) >>> 0;
		return s / 2 ** 32;
	};
}

interface Outcome {
	reportedOtherThanOnce: number;
	longestState: number;
	runs: number;
	/** Runs after which only part of the changes were stored, and refunds shown as processing first. */
	stopped: number;
	processingFirst: number;
}

/** The simulator's own record of the order's refunds (what refund_query lists), changed as Ksher might. */
type HeldRefund = { refund_state: string; refund_time: string };

async function scenario(
	seed: number,
	options: { shuffle: boolean; stopMidRun: boolean },
): Promise<Outcome> {
	const random = prng(seed);
	const { orderNo } = await h.createOrder({ total_fee: 200_000 });
	await h.payOrder(orderNo, 'truemoney');
	const refunds = h.sim.order(orderNo)!.refunds as unknown as HeldRefund[];
	let watchState = JSON.stringify({
		v: 1,
		since: new Date().toISOString(),
		status: 'paid',
		refunds: [],
	});
	const times = new Map<string, number>();
	let longestState = watchState.length;
	let runs = 0;
	let stopped = 0;
	let processingFirst = 0;
	const watch = async (stop: boolean) => {
		if (options.shuffle) {
			for (let i = refunds.length - 1; i > 0; i--) {
				const j = Math.floor(random() * (i + 1));
				[refunds[i], refunds[j]] = [refunds[j], refunds[i]];
			}
		}
		const result = await runNode(
			h,
			{
				resource: 'payment',
				operation: 'watch',
				orderNumber: orderNo,
				watchState: '={{ $json.watchState }}',
			},
			{ rows: [{ watchState }] },
		);
		expect(result.status).toBe('success');
		runs++;
		const handled: IDataObject[] = stop
			? result.items.slice(0, Math.floor(random() * result.items.length))
			: result.items;
		if (handled.length < result.items.length) stopped++;
		for (const item of handled) {
			expect(item.previousWatchState).toBe(watchState);
			watchState = String(item.watchState);
			longestState = Math.max(longestState, Buffer.byteLength(watchState));
			const no = String(item.refundNumber);
			times.set(no, (times.get(no) ?? 0) + 1);
		}
		return result.items.length;
	};

	let held: Array<{ refund: HeldRefund; was: HeldRefund }> = [];
	for (let wave = 0; wave < 10; wave++) {
		// The shuffled order's waves a second or more apart (as between scheduled runs), so refund times still
		// order them; the other's in one burst: its list keeps the order they were made in.
		if (options.shuffle) await h.control('/clock', { advanceDays: 1.2 / 86_400 });
		const numbers = Array.from({ length: 100 }, (_, i) => `W${seed}-${wave}-${i}`);
		await h.refundAtPortal(orderNo, numbers);
		// Last wave's processing refunds succeed now, stamped as when they were asked for.
		for (const { refund, was } of held) Object.assign(refund, was);
		held = [];
		for (const refund of refunds.slice(-100)) {
			if (random() < 0.1) {
				held.push({ refund, was: { ...refund } });
				processingFirst++;
				Object.assign(refund, { refund_state: '', refund_time: '' });
			}
		}
		await watch(options.stopMidRun && wave % 2 === 1);
	}
	for (const { refund, was } of held) Object.assign(refund, was);
	while ((await watch(false)) > 0);
	if (options.shuffle) await h.control('/clock', { reset: true });

	const all = refunds.map((r) => (r as unknown as { mch_refund_no: string }).mch_refund_no);
	expect(all).toHaveLength(1000);
	return {
		reportedOtherThanOnce: all.filter((no) => times.get(no) !== 1).length,
		longestState,
		runs,
		stopped,
		processingFirst,
	};
}

const outcomes: Outcome[] = [];
afterAll(() => {
	if (outcomes.length === 0) return;
	const sum = (f: (o: Outcome) => number) => outcomes.reduce((s, o) => s + f(o), 0);
	const longest = Math.max(...outcomes.map((o) => o.longestState));
	recordFigure(
		'Watch: refunds reported other than once',
		sum((o) => o.reportedOtherThanOnce),
		`${outcomes.length} orders × 1,000 refunds each (${sum((o) => o.runs)} runs, ${sum((o) => o.processingFirst)} refunds processing first, ${sum((o) => o.stopped)} runs stopped mid-way): reported once each, state at most ${longest} bytes (bound ${STATE_BOUND})`,
	);
});

it.each([
	['its list shuffled before every run', 1, { shuffle: true, stopMidRun: false }],
	[
		'made in bursts, many in one second, every other run stopped part-way',
		2,
		{ shuffle: false, stopMidRun: true },
	],
])(
	'1,000 refunds on one order, %s, 10 %% processing first: each reported exactly once, the state within its bound',
	async (_how, seed, options) => {
		const outcome = await scenario(seed, options);
		outcomes.push(outcome);
		expect(outcome.processingFirst).toBeGreaterThan(0);
		if (options.stopMidRun) expect(outcome.stopped).toBeGreaterThan(0);
		expect(outcome.reportedOtherThanOnce).toBe(0);
		expect(outcome.longestState).toBeLessThanOrEqual(STATE_BOUND);
	},
);
