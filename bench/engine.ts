import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { startSimulator, type Simulator } from '../test/simulator/server';
import {
	ACK,
	deliver,
	deliverAll,
	paidNotification,
	percentile,
} from '../test/harness/exactlyOnce';
import {
	activateArgs,
	createN8n,
	ensureN8n,
	installPackage,
	packPackage,
	type N8nInstall,
	type N8nLine,
} from '../test/harness/n8n';
import {
	credentialsFile,
	LOAD_WEBHOOK_ID,
	loadWorkflows,
	WEBHOOK_NODE_PATH,
} from '../test/harness/workflows';
import type { Figures } from './figures';
import { median } from './stats';

/** One n8n set-up to measure: a line, its expression engine, and any extra n8n settings. */
interface EngineCase {
	name: string;
	line: N8nLine;
	env: NodeJS.ProcessEnv;
	label: string;
}

/** The n8n each line installs (test/harness/package.json, test/harness/n8n1/package.json). */
const VERSIONS: Record<N8nLine, string> = { '1': '1.123.81', '2': '2.41.1' };

/** A case for `line` on `engine`: `name` is its --engines= name, `remark` ends its label. */
function engineCase(
	name: string,
	line: N8nLine,
	engine: string,
	remark = '',
	env: NodeJS.ProcessEnv = {},
): EngineCase {
	return {
		name,
		line,
		env: { N8N_EXPRESSION_ENGINE: engine, ...env },
		label: `n8n ${VERSIONS[line]}, ${engine}${remark}`,
	};
}

/**
 * The engines each n8n line knows, as a shop runs them: 2.41's default `vm`, `quickjs` (what the
 * e2e's regular mode uses), `legacy`, and `vm` with n8n's lazy isolate acquisition
 * (N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE=true); 1.123's `vm` (its default) and `legacy`.
 */
function cases(only?: string[]): EngineCase[] {
	const all: EngineCase[] = [
		engineCase('vm', '2', 'vm', ' (its default)'),
		engineCase('vm_lazy', '2', 'vm', ', N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE=true', {
			N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE: 'true',
		}),
		engineCase('quickjs', '2', 'quickjs'),
		engineCase('legacy', '2', 'legacy'),
		engineCase('1x_vm', '1', 'vm', ' (its default)'),
		engineCase('1x_legacy', '1', 'legacy'),
	];
	return only ? all.filter((c) => only.includes(c.name)) : all;
}

/** Trigger → No Op, for both receivers: the measured path ends in a run, as a shop's does. */
function measuredWorkflows() {
	return loadWorkflows().map((wf) => {
		const [start] = wf.nodes;
		wf.nodes.push({
			id: `${wf.id}-noop`,
			name: 'No Op',
			type: 'n8n-nodes-base.noOp',
			typeVersion: 1,
			position: [240, 0],
			parameters: {},
		});
		wf.connections = { [start.name]: { main: [[{ node: 'No Op', type: 'main', index: 0 }]] } };
		if (start.type === 'n8n-nodes-base.webhook') start.parameters.options = { rawBody: true };
		return wf;
	});
}

interface Measured {
	ksherP50: number;
	webhookP50: number;
	ksherPerSecond: number;
	webhookPerSecond: number;
}

/**
 * Starts the case's n8n (regular mode, SQLite) with both workflows active, then sends the same
 * kind of genuine signed notifications to the Ksher Trigger and to n8n's Webhook node:
 * one by one, alternating (acknowledgement latency), then 10 at a time (throughput), each
 * receiver twice in the order K W W K so both see the same machine.
 */
async function measure(
	install: N8nInstall,
	tarball: string,
	sim: Simulator,
	c: EngineCase,
	sizes: { latency: number; throughput: number },
	progress: (l: string) => void,
): Promise<Measured> {
	const work = mkdtempSync(join(tmpdir(), `ksher-engine-${c.name}-`));
	const userFolder = join(work, 'n8n');
	const filesDir = join(work, 'files');
	mkdirSync(filesDir, { recursive: true });
	installPackage(userFolder, tarball);
	const n8n = await createN8n(install, userFolder, filesDir, undefined, c.env);
	try {
		const cli = async (args: string[]) => {
			const r = await n8n.cli(args);
			if (r.code !== 0)
				throw new Error(`n8n ${args[0]} failed: ${(r.stderr || r.stdout).slice(-800)}`);
		};
		writeFileSync(
			join(work, 'credentials.json'),
			JSON.stringify(credentialsFile({ sim: sim.info, smtp: { host: '127.0.0.1', port: 1 } })),
		);
		mkdirSync(join(work, 'workflows'));
		const workflows = measuredWorkflows();
		for (const wf of workflows)
			writeFileSync(join(work, 'workflows', `${wf.id}.json`), JSON.stringify(wf));
		await cli(['import:credentials', `--input=${join(work, 'credentials.json')}`]);
		await cli(['import:workflow', '--separate', `--input=${join(work, 'workflows')}`]);
		for (const wf of workflows) await cli(activateArgs(install, wf.id));
		await n8n.start();
		const ksherUrl = `${n8n.url}/webhook/${LOAD_WEBHOOK_ID}/webhook`;
		const webhookUrl = `${n8n.url}/webhook/${WEBHOOK_NODE_PATH}`;
		// Readiness is not registration: post until the webhooks answer something other than 404.
		for (const url of [ksherUrl, webhookUrl]) {
			for (
				let i = 0;
				i < 120 && (await fetch(url, { method: 'POST', body: 'x' })).status === 404;
				i++
			)
				await new Promise((r) => setTimeout(r, 500));
		}
		const body = () => paidNotification(sim, `ENG-${c.name}`).body;
		const check = (answers: Array<{ status: number; body: string }>, what: string) => {
			const bad = answers.filter(
				(a) => a.status !== 200 || (what === 'Ksher Trigger' && a.body !== ACK),
			);
			if (bad.length)
				throw new Error(
					`${c.label}: ${bad.length} of ${answers.length} deliveries to the ${what} were not acknowledged (${bad[0].status} ${bad[0].body.slice(0, 120)})`,
				);
		};
		progress(`engine ${c.name}: warm-up`);
		check(
			await deliverAll(
				Array.from({ length: 10 }, () => ({ url: ksherUrl, body: body() })),
				1,
			),
			'Ksher Trigger',
		);
		check(
			await deliverAll(
				Array.from({ length: 10 }, () => ({ url: webhookUrl, body: body() })),
				1,
			),
			'Webhook node',
		);

		progress(`engine ${c.name}: ${sizes.latency} notifications one by one to each, alternating`);
		const ksherMs: number[] = [];
		const webhookMs: number[] = [];
		for (let i = 0; i < sizes.latency; i++) {
			const pair = i % 2 === 0 ? ['k', 'w'] : ['w', 'k'];
			for (const which of pair) {
				const answer = await deliver(which === 'k' ? ksherUrl : webhookUrl, body());
				check([answer], which === 'k' ? 'Ksher Trigger' : 'Webhook node');
				(which === 'k' ? ksherMs : webhookMs).push(answer.ms);
			}
		}

		progress(`engine ${c.name}: ${sizes.throughput} notifications 10 at a time to each (K W W K)`);
		const rate = async (url: string, what: string) => {
			const jobs = Array.from({ length: sizes.throughput }, () => ({ url, body: body() }));
			const started = performance.now();
			const answers = await deliverAll(jobs, 10);
			const seconds = (performance.now() - started) / 1000;
			check(answers, what);
			return sizes.throughput / seconds;
		};
		const ksherRates = [await rate(ksherUrl, 'Ksher Trigger')];
		const webhookRates = [
			await rate(webhookUrl, 'Webhook node'),
			await rate(webhookUrl, 'Webhook node'),
		];
		ksherRates.push(await rate(ksherUrl, 'Ksher Trigger'));
		return {
			ksherP50: percentile(ksherMs, 50),
			webhookP50: percentile(webhookMs, 50),
			ksherPerSecond: median(ksherRates),
			webhookPerSecond: median(webhookRates),
		};
	} finally {
		await n8n.stop();
		rmSync(work, { recursive: true, force: true });
	}
}

/**
 * `npm run bench -- --only=engine`: what one notification costs the real n8n the e2e installs,
 * next to n8n's own Webhook node, per expression engine. `--engines=vm,vm_lazy` picks cases.
 */
export const engineFigures: Figures = async (note, progress, quick) => {
	const only = process.argv
		.find((a) => a.startsWith('--engines='))
		?.slice('--engines='.length)
		.split(',');
	const sizes = quick ? { latency: 20, throughput: 60 } : { latency: 60, throughput: 200 };
	const work = mkdtempSync(join(tmpdir(), 'ksher-engine-'));
	const tarball = packPackage(work);
	const sim = await startSimulator({ timeScale: 0.001 });
	const table: string[] = [];
	try {
		for (const c of cases(only)) {
			const install = await ensureN8n(c.line);
			const m = await measure(install, tarball, sim, c, sizes, progress);
			const ackRatio = m.ksherP50 / m.webhookP50;
			const throughputRatio = m.ksherPerSecond / m.webhookPerSecond;
			note(`engine_${c.name}_ksher_ack_p50_ms`, m.ksherP50, 'ms');
			note(`engine_${c.name}_webhook_ack_p50_ms`, m.webhookP50, 'ms');
			note(`engine_${c.name}_ksher_per_s`, m.ksherPerSecond, '/s', '(10 in flight)');
			note(`engine_${c.name}_webhook_per_s`, m.webhookPerSecond, '/s', '(10 in flight)');
			note(`engine_${c.name}_ack_ratio`, ackRatio, '×', '≤ 1.2');
			note(`engine_${c.name}_throughput_ratio`, throughputRatio, '×', '≥ 0.9');
			table.push(
				`| ${c.label} | ${m.ksherP50.toFixed(0)} ms | ${m.webhookP50.toFixed(0)} ms | ${ackRatio.toFixed(2)}× | ${m.ksherPerSecond.toFixed(1)} | ${m.webhookPerSecond.toFixed(1)} | ${throughputRatio.toFixed(2)}× |`,
			);
		}
	} finally {
		await sim.close();
		rmSync(work, { recursive: true, force: true });
	}
	progress(
		`engine table (README):\n| n8n and engine | Ksher ack p50 | Webhook node p50 | ratio | Ksher /s (c10) | Webhook /s (c10) | ratio |\n|---|---|---|---|---|---|---|\n${table.join('\n')}`,
	);
};
