import { spawnSync } from 'child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { NotificationLedger, type StoredMemory } from '../nodes/KsherTrigger/ledger';
import { startSimulator } from '../test/simulator/server';
import {
	deliverLikeKsher,
	paidNotification,
	percentile,
	type KsherDelivery,
} from '../test/harness/exactlyOnce';
import {
	activateArgs,
	ensureN8n,
	installPackage,
	packPackage,
	type N8nLine,
} from '../test/harness/n8n';
import { createQueueCluster, type QueueCluster } from '../test/harness/queue';
import {
	credentialsFile,
	LOAD_WEBHOOK_ID,
	loadWorkflows,
	WEBHOOK_NODE_PATH,
} from '../test/harness/workflows';
import type { Figures } from './figures';

/**
 * `npm run bench -- --only=queue`: the queue-mode acknowledgement under a steady rate, as a shop's
 * busiest hour meets it: PostgreSQL, Redis, a main process, 2 workers and one webhook process taking
 * every notification, the Ksher Trigger first, then n8n's own Webhook node with the same bodies on
 * the same cluster. Each second of sending is reported (sent, acknowledged, p50, p99), and for each
 * receiver the statements PostgreSQL ran per notification (pg_stat_statements) and how busy the
 * webhook process was. Options: `--line=1|2` (2), `--rate=50` a second, `--seconds=20`,
 * `--memory=100000` notifications already in the trigger's memory, `--pool=N`
 * (DB_POSTGRESDB_POOL_SIZE, n8n's default 2), `--runs=N` runs on fresh clusters,
 * `--profile=DIR` a CPU profile of the webhook process per receiver (read it in Chrome's DevTools).
 */
const arg = (name: string, fallback: string) =>
	process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;

/** Ksher's first five retries (1 s, 2 s, 2 s, 10 s, 30 s), 10× faster: 4.3 s in all, so a run ends soon after its sending. */
const RETRIES = 5;

interface Phase {
	name: string;
	deliveries: KsherDelivery[];
	seconds: number;
	/** Per second of sending: first deliveries sent, their acknowledgement p50 and p99. */
	timeline: Array<{ second: number; sent: number; p50: number; p99: number }>;
	statementsPerNotification: number;
	topStatements: string[];
	webhookCpuSeconds: number;
	/** Share of the machine's CPU (all cores) each used while sending, and how busy the machine was. */
	cpuShare: string;
}

/** The n8n database's statement counts, by statement (pg_stat_statements, as the n8n user). */
function statementCounts(c: QueueCluster): Map<string, number> {
	const { port, database, user, password } = c.database;
	const r = spawnSync(
		'psql',
		[
			'-h',
			'127.0.0.1',
			'-p',
			String(port),
			'-U',
			user,
			'-d',
			database,
			'-At',
			'-F',
			'\t',
			'-c',
			"SELECT calls, regexp_replace(query, '\\s+', ' ', 'g') FROM pg_stat_statements",
		],
		{ encoding: 'utf8', env: { ...process.env, PGPASSWORD: password } },
	);
	if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
	const counts = new Map<string, number>();
	for (const line of r.stdout.split('\n').filter(Boolean)) {
		const [calls, query] = line.split('\t');
		counts.set(query, (counts.get(query) ?? 0) + Number(calls));
	}
	return counts;
}

/** CPU seconds a process and its children have used (utime + stime, from /proc). */
function cpuSeconds(pid: number | undefined): number {
	if (!pid) return 0;
	const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
	return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The machine's busy and total CPU seconds so far (all cores, /proc/stat). */
function machineCpu(): { busy: number; total: number } {
	const [, ...ticks] = readFileSync('/proc/stat', 'utf8')
		.split('\n')[0]
		.trim()
		.split(/\s+/)
		.map(Number);
	const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0) / 100;
	const idle = (ticks[3] + ticks[4]) / 100;
	return { busy: total - idle, total };
}

/** CPU seconds by who used them: the webhook process, the workers, main, PostgreSQL and everything else. */
function cpuByRole(c: QueueCluster): Record<string, number> {
	const pg = spawnSync('pgrep', ['-u', 'postgres'], { encoding: 'utf8' })
		.stdout.split('\n')
		.filter(Boolean)
		.map(Number);
	const sum = (pids: Array<number | undefined>) =>
		pids.reduce<number>((s, pid) => {
			try {
				return s + cpuSeconds(pid);
			} catch {
				return s;
			}
		}, 0);
	const m = machineCpu();
	const roles = {
		webhook: sum(c.webhooks.map((p) => p.child?.pid)),
		workers: sum(c.workers.map((p) => p.child?.pid)),
		main: sum([c.main.child?.pid]),
		postgres: sum(pg),
	};
	return { ...roles, machine: m.busy, total: m.total };
}

/** A CPU profile of the process at `pid` for `ms`, written to `file`, over the inspector (SIGUSR1). */
function profile(nodeBin: string, pid: number, ms: number, file: string): Promise<void> {
	process.kill(pid, 'SIGUSR1');
	const script = `
const list = await (await fetch('http://127.0.0.1:9229/json/list')).json();
const ws = new WebSocket(list[0].webSocketDebuggerUrl);
let id = 0; const waiting = new Map();
const send = (method, params = {}) => new Promise((res) => { const i = ++id; waiting.set(i, res); ws.send(JSON.stringify({ id: i, method, params })); });
ws.onmessage = (m) => { const d = JSON.parse(m.data); if (waiting.has(d.id)) { waiting.get(d.id)(d.result); waiting.delete(d.id); } };
await new Promise((r) => (ws.onopen = r));
await send('Profiler.enable'); await send('Profiler.start');
await new Promise((r) => setTimeout(r, ${ms}));
const { profile } = await send('Profiler.stop');
(await import('fs')).writeFileSync(${JSON.stringify(file)}, JSON.stringify(profile));
process.exit(0);`;
	return new Promise((resolve, reject) => {
		// Node 24's global WebSocket (the bench itself runs on Node 20); a moment for the inspector to open.
		setTimeout(() => {
			const r = spawnSync(nodeBin, ['--input-type=module', '-e', script], {
				encoding: 'utf8',
				timeout: ms + 30_000,
			});
			if (r.status === 0) resolve();
			else reject(new Error(`profiling the webhook process: ${r.stderr}`));
		}, 500);
	});
}

/** Waits (up to 5 minutes) until n8n's processes use less than a tenth of a core between them, over 2 s. */
async function idle(c: QueueCluster, progress: (l: string) => void): Promise<void> {
	const pids = [c.main, ...c.workers, ...c.webhooks].map((p) => p.child?.pid);
	const total = () => pids.reduce<number>((s, pid) => s + cpuSeconds(pid), 0);
	const until = Date.now() + 300_000;
	for (;;) {
		const before = total();
		await new Promise((r) => setTimeout(r, 2000));
		const used = (total() - before) / 2;
		if (used < 0.1) return;
		if (Date.now() > until) {
			progress(
				`queue: n8n still busy (${(used * 100).toFixed(0)} % of a core) after 5 minutes; measuring anyway`,
			);
			return;
		}
	}
}

/** The trigger's memory with `entries` notifications, done, as a shop's last 48 hours leave it. */
function seededMemory(appid: string, entries: number): StoredMemory {
	const seed = new NotificationLedger();
	for (let i = 0; i < entries; i++) {
		const claim = seed.claim(`${appid}|SEED-${i}|paid|`);
		claim.record();
		claim.settle(true);
	}
	const memory: StoredMemory = {};
	seed.persistInto(memory);
	return JSON.parse(JSON.stringify(memory)) as StoredMemory;
}

export const queueFigures: Figures = async (note, progress) => {
	const line = arg('line', '2') as N8nLine;
	const rate = Number(arg('rate', '50'));
	const seconds = Number(arg('seconds', '20'));
	const memory = Number(arg('memory', '100000'));
	const pool = arg('pool', '');
	const runs = Number(arg('runs', '1'));
	const profileDir = arg('profile', '');
	process.env.KSHER_E2E_PG_LOG ??= 'slow';
	const install = await ensureN8n(line);
	const work = mkdtempSync(join(tmpdir(), 'ksher-bench-queue-'));
	const tarball = packPackage(work);
	const sim = await startSimulator({ timeScale: 0.001 });
	const summary: string[] = [];
	try {
		for (let run = 1; run <= runs; run++) {
			const dir = join(work, `run${run}`);
			const userFolder = join(dir, 'n8n');
			const filesDir = join(dir, 'files');
			mkdirSync(filesDir, { recursive: true });
			installPackage(userFolder, tarball);
			const cluster = await createQueueCluster(
				install,
				userFolder,
				filesDir,
				join(dir, 'services'),
				{
					N8N_EXPRESSION_ENGINE: 'legacy',
					...(pool ? { DB_POSTGRESDB_POOL_SIZE: pool } : {}),
				},
			);
			try {
				writeFileSync(
					join(dir, 'credentials.json'),
					JSON.stringify(credentialsFile({ sim: sim.info, smtp: { host: '127.0.0.1', port: 1 } })),
				);
				mkdirSync(join(dir, 'workflows'));
				const workflows = loadWorkflows();
				if (memory > 0)
					workflows[0].staticData = {
						'node:Ksher Trigger': seededMemory(sim.info.appid, memory),
					};
				for (const wf of workflows)
					writeFileSync(join(dir, 'workflows', `${wf.id}.json`), JSON.stringify(wf));
				const cli = async (args: string[]) => {
					const r = await cluster.cli(args);
					if (r.code !== 0)
						throw new Error(`n8n ${args[0]}: ${(r.stderr || r.stdout).slice(-600)}`);
				};
				await cli(['import:credentials', `--input=${join(dir, 'credentials.json')}`]);
				await cli(['import:workflow', '--separate', `--input=${join(dir, 'workflows')}`]);
				for (const wf of workflows) await cli(activateArgs(install, wf.id));
				await cluster.start({ workers: 2, webhooks: 1 });
				const hook = cluster.webhooks[0];
				const urls = {
					ksher: `${hook.url}/webhook/${LOAD_WEBHOOK_ID}/webhook`,
					webhook: `${hook.url}/webhook/${WEBHOOK_NODE_PATH}`,
				};
				for (const url of Object.values(urls))
					for (
						let i = 0;
						i < 120 && (await fetch(url, { method: 'POST', body: 'x' })).status === 404;
						i++
					)
						await new Promise((r) => setTimeout(r, 500));
				const phases: Phase[] = [];
				// n8n's Webhook node first: the phase that leaves a backlog (of runs, or of Ksher's retries) must not
				// be the one measured second. Each phase starts once the cluster is idle again.
				// Both warmed up first (200 each at 10/s, alternating): a fresh n8n process answers its first
				// hundreds of requests several times slower (module loading, the JIT), whichever node receives them.
				progress('queue: warming up both receivers');
				await deliverLikeKsher(
					Array.from({ length: 400 }, (_, i) => ({
						url: i % 2 ? urls.webhook : urls.ksher,
						body: paidNotification(sim, 'WARM').body,
					})),
					20,
					0.1,
					(a) => a.status === 200,
					RETRIES,
				);
				for (const name of ['webhook', 'ksher'] as const) {
					await idle(cluster, progress);
					const count = rate * seconds;
					const jobs = Array.from({ length: count }, () => ({
						url: urls[name],
						body: paidNotification(sim, `BENCH${run}`).body,
					}));
					const before = statementCounts(cluster);
					const cpuBefore = cpuSeconds(hook.child?.pid);
					const rolesBefore = cpuByRole(cluster);
					const profiled =
						profileDir && hook.child?.pid
							? profile(
									install.node,
									hook.child.pid,
									seconds * 1000,
									join(profileDir, `webhook-${line}x-${name}-run${run}.cpuprofile`),
								)
							: undefined;
					const started = performance.now();
					const deliveries = await deliverLikeKsher(
						jobs,
						rate,
						0.1,
						name === 'ksher' ? undefined : (a) => a.status === 200,
						RETRIES,
					);
					const elapsed = (performance.now() - started) / 1000;
					await profiled;
					const cpu = cpuSeconds(hook.child?.pid) - cpuBefore;
					const rolesAfter = cpuByRole(cluster);
					const wall = rolesAfter.total - rolesBefore.total;
					const share = (k: string) =>
						`${k} ${(((rolesAfter[k] - rolesBefore[k]) / wall) * 100).toFixed(0)} %`;
					const cpuShare = `machine busy ${share('machine')} (${share('webhook')}, ${share('workers')}, ${share('main')}, ${share('postgres')})`;
					const after = statementCounts(cluster);
					const diff = [...after]
						.map(([q, n]) => [q, n - (before.get(q) ?? 0)] as const)
						.filter(([, n]) => n > 0)
						.sort((a, b) => b[1] - a[1]);
					const total = diff.reduce((s, [, n]) => s + n, 0);
					const timeline = Array.from({ length: seconds }, (_, s) => {
						const firsts = deliveries.slice(s * rate, (s + 1) * rate).map((d) => d.answers[0].ms);
						return {
							second: s + 1,
							sent: firsts.length,
							p50: percentile(firsts, 50),
							p99: percentile(firsts, 99),
						};
					});
					phases.push({
						name,
						deliveries,
						seconds: elapsed,
						timeline,
						statementsPerNotification: total / count,
						topStatements: diff
							.slice(0, 12)
							.map(([q, n]) => `${(n / count).toFixed(2)}/notification  ${q.slice(0, 140)}`),
						webhookCpuSeconds: cpu,
						cpuShare,
					});
				}
				for (const p of phases) {
					const firsts = p.deliveries.map((d) => d.answers[0]);
					const acked = firsts.filter((a) => a.status === 200).length;
					const never = p.deliveries.filter((d) => !d.acknowledged).length;
					const p50 = percentile(
						firsts.map((a) => a.ms),
						50,
					);
					const p99 = percentile(
						firsts.map((a) => a.ms),
						99,
					);
					const label =
						p.name === 'ksher' ? `Ksher Trigger (memory ${memory})` : "n8n's Webhook node";
					progress(
						`queue run ${run}, ${label}: ${p.deliveries.length} at ${rate}/s: first deliveries acknowledged ${acked}, never ${never}; p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms; ${p.statementsPerNotification.toFixed(1)} statements a notification; webhook process ${((p.webhookCpuSeconds / p.deliveries.length) * 1000).toFixed(1)} ms CPU a notification (${((p.webhookCpuSeconds / seconds) * 100).toFixed(0)} % of a core); ${p.cpuShare}\n  per second (sent p50/p99 ms): ${p.timeline.map((t) => `${t.p50.toFixed(0)}/${t.p99.toFixed(0)}`).join(' ')}\n  ${p.topStatements.join('\n  ')}`,
					);
					note(`queue_${line}x_${p.name}_p50_run${run}`, p50, 'ms');
					note(
						`queue_${line}x_${p.name}_p99_run${run}`,
						p99,
						'ms',
						p.name === 'ksher' ? '< 1000' : '',
					);
					note(
						`queue_${line}x_${p.name}_statements_run${run}`,
						p.statementsPerNotification,
						'/notification',
					);
					note(
						`queue_${line}x_${p.name}_cpu_ms_run${run}`,
						(p.webhookCpuSeconds / p.deliveries.length) * 1000,
						'ms',
					);
					if (p.name === 'ksher')
						summary.push(
							`run ${run}: p99 ${p99.toFixed(0)} ms${never ? `, ${never} never acknowledged` : ''}`,
						);
				}
			} finally {
				await cluster.stop();
			}
		}
	} finally {
		await sim.close();
		rmSync(work, { recursive: true, force: true });
	}
	progress(
		`queue mode, ${line}.x, ${rate}/s for ${seconds} s, memory ${memory}: ${summary.join('; ')}`,
	);
};
