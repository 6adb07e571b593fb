import { spawn, type ChildProcess } from 'child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { ensureN8n, packPackage, REPO_DIR, type N8nLine } from '../harness/n8n';
import { lineLabel, log, results, type StepResult } from './steps';

/**
 * The e2e's parts (one n8n line's regular mode, its crashes, its queue mode, a short month in either mode), each in a
 * process of its own, run two at a time: the machine has 2 cores and most steps wait (on Ksher's
 * retry schedule, n8n's schedules, a restart), so two parts side by side take about half the wall
 * time of one after the other (measured in docs/measurements.md#ci). Nothing is shared between parts
 * but the n8n installs (read only) and the artifacts folder of a line, where no two parts write the
 * same file.
 *
 * A queue mode (the queue part, the month in queue mode) never runs beside another: the load and the faults
 * fill both cores with n8n's own processes, and two of them at once would measure each other.
 */
export type Part = 'regular' | 'crash' | 'queue' | 'month' | 'queue-month';
export const PARTS: readonly Part[] = ['regular', 'crash', 'queue', 'month', 'queue-month'];

/**
 * `KSHER_E2E_DEMO=1` (what `.ci/run` sets) adds one more part: the README's first command as a new user
 * runs it (`npm run test:demo`: no dist/, no .demo/, `npm start`, pay, receipt, Ctrl-C, a start killed and one
 * that recovers), beside the others. It may: the parts share one tarball, packed before any starts, so none
 * needs dist/ after that, and the demo's fixed ports (5678, 8866, 8025) are none of theirs. Not without the
 * variable: the demo check deletes .demo/, a developer's demo database.
 */
type RunPart = Part | 'demo';

export interface Unit {
	line: N8nLine;
	part: Part;
}
type RunUnit = { line: N8nLine; part: RunPart };

/**
 * About how many minutes each part takes beside another (rounded up from the runs of 2026-12-05 in
 * docs/measurements.md#ci): the longest start first, so that the two lanes end close together; a part
 * still running after three times as long is stuck.
 */
const MINUTES: Record<RunPart, Record<N8nLine, number>> = {
	regular: { '1': 16, '2': 19 },
	queue: { '1': 10, '2': 9 },
	crash: { '1': 5, '2': 5 },
	month: { '1': 4, '2': 4 },
	// Measured alone on 2026-12-05: 2.8 minutes on 1.x, 4.4 on 2.x.
	'queue-month': { '1': 5, '2': 6 },
	demo: { '1': 5, '2': 5 },
};
const EXCLUSIVE: ReadonlySet<RunPart> = new Set(['queue', 'queue-month']);

/** What a part's process leaves for the parent: its steps and its timings. */
interface UnitOutcome {
	results: StepResult[];
	timings: Record<string, number>;
}

/** Where a part's process writes its outcome when its parent asked for one (KSHER_E2E_OUTCOME). */
export function writeOutcomeIfAsked(timings: Record<string, number>): void {
	const file = process.env.KSHER_E2E_OUTCOME;
	if (!file) return;
	// Whole or not at all: a process killed while writing leaves no half a file to be read as an outcome.
	writeFileSync(`${file}.part`, JSON.stringify({ results, timings } satisfies UnitOutcome));
	renameSync(`${file}.part`, file);
}

/**
 * Runs `units` in `lanes` processes at a time; their steps join this process's `results` (the
 * report is the parent's) and their timings `timings`. A part's process that died without an
 * outcome is one failed step, with the end of its output.
 */
export async function runInLanes(
	units: Unit[],
	lanes: number,
	timings: Record<string, number>,
): Promise<void> {
	const all: RunUnit[] = process.env.KSHER_E2E_DEMO
		? [...units, { line: '2', part: 'demo' }]
		: units;
	// Both installs first, one after the other: two parts of a line must not race to install it (the
	// demo's line included, which `npm start` runs).
	const labels = new Map<N8nLine, string>();
	for (const line of [...new Set(all.map((u) => u.line))]) {
		const install = await ensureN8n(line);
		labels.set(line, lineLabel(install));
	}
	const dir = mkdtempSync(join(tmpdir(), 'ksher-e2e-lanes-'));
	const tarball = packPackage(dir);
	const pending = [...all].sort((a, b) => MINUTES[b.part][b.line] - MINUTES[a.part][a.line]);
	const running = new Set<RunUnit>();
	// Lanes waiting for a queue mode to end; all are woken when any part ends.
	const waiting: Array<() => void> = [];
	const next = (): RunUnit | undefined => {
		// While one queue mode runs, no other one starts (any of the exclusive parts blocks them all).
		const busy = [...running].some((u) => EXCLUSIVE.has(u.part));
		const i = pending.findIndex((u) => !(busy && EXCLUSIVE.has(u.part)));
		return i < 0 ? undefined : pending.splice(i, 1)[0];
	};
	const lane = async (): Promise<void> => {
		while (pending.length > 0 && !stopped) {
			const unit = next();
			if (!unit) {
				// Every part left waits for one running now (queue mode beside queue mode).
				await new Promise<void>((r) => waiting.push(r));
				continue;
			}
			running.add(unit);
			try {
				const outcome = await runUnit(
					unit,
					join(dir, `${unit.line}-${unit.part}.json`),
					labels.get(unit.line)!,
					tarball,
				);
				results.push(...outcome.results);
				Object.assign(timings, outcome.timings);
			} finally {
				running.delete(unit);
				for (const wake of waiting.splice(0)) wake();
			}
		}
	};
	// Stopping the run (Ctrl-C, SIGTERM from CI) stops the parts and what they started (PostgreSQL, which
	// pg_ctl starts in a session of its own, excepted).
	const stop = (signal: NodeJS.Signals) => {
		log(`${signal}: stopping ${children.size} part(s)`);
		for (const child of children) stopGroup(child, 'SIGTERM');
		stopped = signal;
	};
	process.on('SIGINT', stop);
	process.on('SIGTERM', stop);
	try {
		await Promise.all(Array.from({ length: lanes }, () => lane()));
	} finally {
		process.off('SIGINT', stop);
		process.off('SIGTERM', stop);
		rmSync(dir, { recursive: true, force: true });
	}
	if (stopped) process.exit(stopped === 'SIGINT' ? 130 : 143);
}

const children = new Set<ChildProcess>();

/** A signal to a part's whole process group (it may have ended already). */
function stopGroup(child: ChildProcess, signal: NodeJS.Signals): void {
	try {
		process.kill(-child.pid!, signal);
	} catch {
		// gone
	}
}
let stopped: NodeJS.Signals | undefined;

/** One part in a process of its own (this file's run.ts with --n8n and --only), its output prefixed. */
function runUnit(
	unit: RunUnit,
	outcomeFile: string,
	label: string,
	tarball: string,
): Promise<UnitOutcome> {
	const tag = unit.part === 'demo' ? 'demo' : `${unit.line}.x ${unit.part}`;
	const started = Date.now();
	log(`${tag}: started`);
	return new Promise((resolvePromise) => {
		const child = spawn(
			process.execPath,
			unit.part === 'demo'
				? [...process.execArgv, join(REPO_DIR, 'demo', 'demoCheck.ts')]
				: [
						...process.execArgv,
						join(__dirname, 'run.ts'),
						`--n8n=${unit.line}`,
						`--only=${unit.part}`,
						'--lanes=1',
						// What else the run was asked (the load's rate) holds for each part.
						...process.argv.filter((a) => a.startsWith('--load=')),
					],
			{
				cwd: REPO_DIR,
				env: { ...process.env, KSHER_E2E_OUTCOME: outcomeFile, KSHER_E2E_TARBALL: tarball },
				stdio: ['ignore', 'pipe', 'pipe'],
				// A process group of its own, so that stopping the part stops its n8n, Redis and Chromium too.
				detached: true,
			},
		);
		const tail: string[] = [];
		const relay = (stream: NodeJS.ReadableStream, keep: boolean) => {
			let buffered = '';
			stream.setEncoding('utf8');
			stream.on('data', (chunk: string) => {
				buffered += chunk;
				const lines = buffered.split('\n');
				buffered = lines.pop() ?? '';
				for (const line of lines) {
					if (keep) process.stderr.write(`${tag} │ ${line}\n`);
					tail.push(line);
					if (tail.length > 40) tail.shift();
				}
			});
			stream.on('end', () => {
				if (buffered && keep) process.stderr.write(`${tag} │ ${buffered}\n`);
				if (buffered) tail.push(buffered);
			});
		};
		// stderr is the progress (streamed, each line tagged); stdout is the part's own report, which the
		// parent's report replaces (kept for a part that died before writing its outcome).
		relay(child.stderr!, true);
		// The demo check's progress is on its stdout.
		relay(child.stdout!, unit.part === 'demo');
		children.add(child);
		// A part that takes three times as long as it does is stuck: stopped, it is a failed step, and the others go on.
		const deadline = setTimeout(
			() => {
				log(`${tag}: still running after ${3 * MINUTES[unit.part][unit.line]} min, stopped`);
				stopGroup(child, 'SIGTERM');
				setTimeout(() => stopGroup(child, 'SIGKILL'), 15_000).unref();
			},
			3 * MINUTES[unit.part][unit.line] * 60_000,
		);
		child.on('error', (error) => tail.push(`could not start: ${error.message}`));
		child.on('close', (code, signal) => {
			clearTimeout(deadline);
			children.delete(child);
			const how = signal ?? `exit ${code}`;
			log(`${tag}: ended (${how}) after ${((Date.now() - started) / 60_000).toFixed(1)} min`);
			let outcome: UnitOutcome | undefined = demoOutcome(unit, code, started, tail, label);
			if (!outcome)
				try {
					const parsed = JSON.parse(readFileSync(outcomeFile, 'utf8')) as UnitOutcome;
					if (Array.isArray(parsed?.results)) outcome = parsed;
				} catch {
					// none, or not an outcome: the failed step below
				}
			// Each step under its part's name (every part has its own "packed package" step) and its line.
			const steps = (outcome?.results ?? []).map((r) => ({
				...r,
				step: `${unit.part}: ${r.step}`,
				line: label,
			}));
			// The process's exit code is its own report's: a failure its steps do not show (it aborted between
			// steps, ran too few, was killed) is one more failed step.
			if (code !== 0 || signal || !outcome)
				if (steps.every((r) => r.ok))
					steps.push({
						step: `${unit.part}: the part's process`,
						ok: false,
						seconds: (Date.now() - started) / 1000,
						detail: `ended (${how})${outcome ? '' : ' without its outcome'}; its last output: ${tail.slice(-15).join(' ⏎ ')}`,
						line: label,
					});
			resolvePromise({ results: steps, timings: outcome?.timings ?? {} });
		});
	});
}

/** The demo check writes no outcome: its exit code is its one step. */
function demoOutcome(
	unit: RunUnit,
	code: number | null,
	started: number,
	tail: string[],
	label: string,
): UnitOutcome | undefined {
	if (unit.part !== 'demo') return undefined;
	const said = tail.filter((l) => l.startsWith('[demo-check]'));
	return {
		results: [
			{
				step: "the README's first command as a new user runs it (`npm run test:demo`: no dist/, no .demo/, npm start, pay, receipt, Ctrl-C; a start killed while it imports; one that recovers)",
				ok: code === 0,
				seconds: (Date.now() - started) / 1000,
				detail: code === 0 ? (said.at(-1) ?? '') : tail.slice(-15).join(' ⏎ '),
				line: label,
			},
		],
		timings: {},
	};
}
