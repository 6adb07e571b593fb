import fc from 'fast-check';

import { checkCase, coverage, describeCase, type Violation } from './model';
import { startPool, type CasePool } from './pool';
import { materialize, scenarioArb, type Scenario } from './scenario';

/**
 * The refund path against a reference model (issue #30 item 3). fast-check generates worlds
 * (paid, unpaid and unknown orders, payment links and QR payments (version 2, Payment Type from the
 * sheet), over wallets Ksher can and cannot list the refunds of, earlier
 * refunds made in the portal, partial refunds allowed or not), sheets of 1–6 rows (good, bad and
 * excessive amounts; derived, fresh, shared and already used refund numbers), the node's options
 * (version 1 or 2, What to Refund, Check All Rows First, Preview Only, Stop Above Total, Continue
 * On Fail, Concurrency), faults on Ksher's answers, and 1–3 runs of the same sheet. Every case runs
 * Source → Ksher (Refund → Create) through n8n's engine against the simulator over HTTP with real
 * signatures, and the model (model.ts) judges what Ksher then holds and what the node said.
 *
 * Environment: FC_SEED (replay a seed), REFUND_MODEL_RUNS (cases, default 10,000),
 * FC_LANE + FC_PATH (replay one shrunk counterexample, printed on failure),
 * REFUND_MODEL_WORKERS (processes running cases, default 2; 0 runs them in this process),
 * REFUND_MODEL_LANES (lanes per worker, each with its own simulator, default 3),
 * REFUND_MODEL_SKIP (comma-separated rules or tags, e.g. "P4.shape,unlistedDone", not to fail on:
 * for exploring past a known violation only; the default is every rule; see model.ts),
 * REFUND_MODEL_STATS=1 (time per case and the slowest cases).
 */
const RUNS = Number(process.env.REFUND_MODEL_RUNS ?? 10_000);
// A fixed seed by default, so that CI judges the same 10,000 cases every time (a failure replays, and
// never depends on luck); FC_SEED explores others.
const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : 20_261_202;
const WORKERS = Number(process.env.REFUND_MODEL_WORKERS ?? 2);
const LANES_PER_WORKER = Number(process.env.REFUND_MODEL_LANES ?? 3);
const SKIP = new Set(
	(process.env.REFUND_MODEL_SKIP ?? '')
		.split(',')
		.map((s) => s.trim())
		.filter(Boolean),
);
const STATS: Array<{ ms: number; runMs: number[]; calls: number; faults: string }> | undefined =
	process.env.REFUND_MODEL_STATS ? [] : undefined;
const REPLAY =
	process.env.FC_PATH !== undefined
		? { lane: Number(process.env.FC_LANE ?? 0), path: process.env.FC_PATH }
		: undefined;

let pool: CasePool;
beforeAll(async () => {
	pool = await startPool(WORKERS);
}, 120_000);
afterAll(async () => {
	await pool?.close();
});

interface LaneResult {
	lane: number;
	numRuns: number;
	failed: boolean;
	path?: string;
	numShrinks: number;
	report?: string;
	rules: string[];
}

class ModelViolation extends Error {
	constructor(
		readonly report: string,
		readonly violations: Violation[],
	) {
		super(report);
	}
}

it('refunds: every case within the reference model (P1–P8)', async () => {
	const started = Date.now();
	const lanes = REPLAY ? 1 : Math.max(1, WORKERS) * Math.max(1, LANES_PER_WORKER);
	let executed = 0;
	const runLane = async (slot: number): Promise<LaneResult> => {
		const lane = REPLAY ? REPLAY.lane : slot;
		const numRuns = REPLAY ? 1 : Math.floor(RUNS / lanes) + (slot < RUNS % lanes ? 1 : 0);
		let counter = 0;
		const tag =
			String.fromCharCode(97 + (lane % 26)) + (lane >= 26 ? String(Math.floor(lane / 26)) : '');
		const property = fc.asyncProperty(scenarioArb, async (scenario: Scenario) => {
			const caseId = `${tag}${(counter++).toString(36)}`;
			const input = materialize(scenario, caseId);
			const t0 = Date.now();
			const observation = await pool.run(lane, input);
			executed++;
			if (STATS)
				STATS.push({
					ms: Date.now() - t0,
					runMs: observation.runs.map((r) => r.ms),
					calls: observation.runs.reduce((n, r) => n + r.requests.length, 0),
					faults: input.runs.map((r) => r.faults.map((f) => f.type).join('+')).join('|'),
				});
			const violations = checkCase(scenario, input, observation).filter(
				(v) => ![...SKIP].some((s) => v.rule === s || v.rule.startsWith(`${s}.`) || v.tag === s),
			);
			if (violations.length)
				throw new ModelViolation(
					describeCase(scenario, input, observation, violations),
					violations,
				);
		});
		const details = await fc.check(property, {
			seed: SEED + lane,
			numRuns,
			...(REPLAY ? { path: REPLAY.path } : {}),
			interruptAfterTimeLimit: 600_000,
		});
		const error = details.errorInstance;
		return {
			lane,
			numRuns: details.numRuns,
			failed: details.failed,
			path: details.counterexamplePath ?? undefined,
			numShrinks: details.numShrinks,
			report: details.failed
				? error instanceof ModelViolation
					? error.report
					: String(error instanceof Error ? (error.stack ?? error.message) : error)
				: undefined,
			rules:
				error instanceof ModelViolation
					? [...new Set(error.violations.map((v) => (v.tag ? `${v.rule}:${v.tag}` : v.rule)))]
					: details.failed
						? ['harness']
						: [],
		};
	};
	const cpuBefore = await pool.cpuMs();
	const results = await Promise.all(Array.from({ length: lanes }, (_, slot) => runLane(slot)));
	const cpuSeconds = ((await pool.cpuMs()) - cpuBefore) / 1000;
	const cases = results.reduce((s, r) => s + r.numRuns, 0);
	const failures = results.filter((r) => r.failed);
	const seconds = ((Date.now() - started) / 1000).toFixed(1);
	console.log(
		[
			`refund model: ${cases} cases, ${failures.length} violations, ${seconds} s`,
			`  seed ${SEED} (FC_SEED=${SEED}), ${lanes} lanes (lane i uses seed+i), ${executed} cases run counting shrinking, ${cpuSeconds.toFixed(1)} s CPU in ${Math.max(1, WORKERS)} process${WORKERS > 1 ? 'es' : ''}${SKIP.size ? `, rules not failed on: ${[...SKIP].join(', ')}` : ''}`,
			`  judged: ${Object.entries(coverage)
				.map(([what, n]) => `${what} ${n}`)
				.join(', ')}`,
			...failures.map(
				(f) =>
					`  lane ${f.lane}: [${f.rules.join(', ')}] after ${f.numRuns} cases, ${f.numShrinks} shrinks — replay: FC_SEED=${SEED} FC_LANE=${f.lane} FC_PATH=${f.path}`,
			),
		].join('\n'),
	);
	if (STATS) {
		const total = STATS.reduce((a, b) => a + b.ms, 0);
		const runs = STATS.reduce((a, b) => a + b.runMs.length, 0);
		const runMs = STATS.reduce((a, b) => a + b.runMs.reduce((x, y) => x + y, 0), 0);
		const slow = [...STATS].sort((a, b) => b.ms - a.ms).slice(0, 8);
		console.log(
			`stats: ${STATS.length} cases, ${(total / STATS.length).toFixed(1)} ms/case (lane wall), ${runs} runs ${(runMs / runs).toFixed(1)} ms/run, ${(STATS.reduce((a, b) => a + b.calls, 0) / STATS.length).toFixed(1)} calls/case\nslowest: ${slow.map((x) => `${x.ms}ms [${x.runMs.join(',')}] ${x.faults}`).join('\n  ')}`,
		);
	}
	if (failures.length) {
		throw new Error(
			failures
				.map(
					(f) =>
						`── lane ${f.lane} (FC_SEED=${SEED} FC_LANE=${f.lane} FC_PATH=${f.path}) ──\n${f.report}`,
				)
				.join('\n\n'),
		);
	}
	expect(cases).toBeGreaterThanOrEqual(REPLAY ? 1 : RUNS);
}, 900_000);
