import { spawn, spawnSync, type ChildProcess } from 'child_process';
import { createWriteStream, existsSync, readFileSync } from 'fs';
import { createServer } from 'net';
import { join } from 'path';

import {
	freePort,
	killTree,
	n8nEnvironment,
	runCli,
	stopChild,
	type CliResult,
	type N8nInstall,
} from './n8n';
import { postgresBinDir, startPostgres, startRedis, type Postgres, type Service } from './services';

/**
 * n8n in queue mode on this machine, as merchants run it when one n8n is not enough:
 * PostgreSQL, Redis, one main process, workers (`n8n worker`) that run the executions, and
 * webhook processes (`n8n webhook`) that receive production webhooks. All share one user
 * folder (with the community package) and one encryption key. The main process serves the
 * editor and the API only (N8N_DISABLE_PRODUCTION_MAIN_PROCESS), as in n8n's guide.
 */
export interface QueueProcess {
	role: 'main' | 'worker' | 'webhook';
	url: string;
	logFile: string;
	child?: ChildProcess;
	index?: number;
	port?: number;
}

export interface QueueCluster {
	main: QueueProcess;
	workers: QueueProcess[];
	webhooks: QueueProcess[];
	/** An n8n CLI command against the same database (run before main starts to publish). */
	cli: (args: string[]) => Promise<CliResult>;
	/** Starts main, then the workers and webhook processes; started again, each process keeps its port. */
	start: (options: { workers: number; webhooks: number }) => Promise<void>;
	/** Stops the n8n processes, PostgreSQL and Redis staying up (n8n's CLI then reads the database). */
	stopN8n: () => Promise<void>;
	/** Stops everything: n8n, then Redis and PostgreSQL. */
	stop: () => Promise<void>;
	/** The size of n8n's PostgreSQL database in bytes. */
	databaseBytes: () => number;
	/** The PostgreSQL database n8n uses. */
	database: { port: number; database: string; user: string; password: string };
	/** When each of these executions was stored (ISO time), from PostgreSQL: n8n's API gives only the start. */
	storedAt: (executionIds: string[]) => Map<string, string>;
	/** Which worker logs name an execution id as started there. */
	workerOf: (executionId: string) => string[];
	/** Stops one n8n process as an operator would (SIGTERM, n8n's shutdown); it stays down until restart(). */
	stopOne: (proc: QueueProcess) => Promise<void>;
	/** SIGKILL to one n8n process (and its task runner); it stays down until restart(). */
	kill: (proc: QueueProcess) => Promise<void>;
	/** Starts a killed or stopped process again on the same port, as a container's restart policy does. */
	restart: (proc: QueueProcess) => Promise<void>;
	/** PostgreSQL stopped as a crash would, down for `ms`, started again. */
	bouncePostgres: (ms: number) => Promise<void>;
	/** Redis killed and started again (empty: no persistence), down for `ms`. */
	bounceRedis: (ms: number) => Promise<void>;
}

/**
 * The README's queue-mode set-up on n8n 1.x: 10 PostgreSQL connections per n8n process, not n8n's default 2.
 * With 2, n8n 1.123.81's webhook process taking 50 notifications a second stopped enqueueing for the rest of
 * the step, or queued its database check (SELECT 1, 5 s limit) behind the load's writes and answered "503
 * Database is not ready!" for minutes: tens to hundreds never acknowledged, in 3 runs of 2026-12-03 (two of
 * them sharing the machine). On 2.41.1 the default passed, and 10 connections made the check miss in the 2
 * runs tried (docs/measurements.md). The e2e's queue mode and the month's use it.
 */
export const QUEUE_DB_POOL: Record<'1' | '2', NodeJS.ProcessEnv> = {
	'1': { DB_POSTGRESDB_POOL_SIZE: '10' },
	'2': {},
};

const log = (line: string) => process.stderr.write(`[e2e] ${line}\n`);

export async function createQueueCluster(
	install: N8nInstall,
	userFolder: string,
	filesDir: string,
	servicesDir: string,
	extraEnv: NodeJS.ProcessEnv = {},
): Promise<QueueCluster> {
	let postgres: Postgres | undefined;
	let redis: Service | undefined;
	const started = Date.now();
	postgres = await startPostgres();
	redis = await startRedis(servicesDir);
	log(
		`queue mode: PostgreSQL on ${postgres.port}, Redis on ${redis.port} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
	);

	const base = (port: number, name: string): NodeJS.ProcessEnv => ({
		...n8nEnvironment(install, userFolder, port, 0, filesDir),
		N8N_ENCRYPTION_KEY: 'ksher-e2e-queue-mode-encryption-key',
		EXECUTIONS_MODE: 'queue',
		QUEUE_BULL_REDIS_HOST: '127.0.0.1',
		QUEUE_BULL_REDIS_PORT: String(redis!.port),
		DB_TYPE: 'postgresdb',
		DB_POSTGRESDB_HOST: '127.0.0.1',
		DB_POSTGRESDB_PORT: String(postgres!.port),
		DB_POSTGRESDB_DATABASE: postgres!.database,
		DB_POSTGRESDB_USER: postgres!.user,
		DB_POSTGRESDB_PASSWORD: postgres!.password,
		N8N_EVENTBUS_LOGWRITER_LOGBASENAME: `n8nEventLog-${name}`,
		N8N_DISABLE_PRODUCTION_MAIN_PROCESS: 'true',
		...extraEnv,
	});

	const processes: QueueProcess[] = [];
	const healthPorts = new Map<string, number>();
	const spawnN8n = async (
		role: QueueProcess['role'],
		index: number,
		fixedPort?: number,
	): Promise<QueueProcess> => {
		// A process started again takes its old port, unless something else took it meanwhile (another part of the
		// e2e): then it fails here, rather than reading that other process's readiness as its own.
		const port = fixedPort ?? (await freePort());
		if (fixedPort !== undefined) await portStillFree(fixedPort);
		const name = `${role}${index}`;
		const env = { ...base(port, name), N8N_RUNNERS_BROKER_PORT: String(await freePort()) };
		let health = `http://127.0.0.1:${port}/healthz/readiness`;
		if (role === 'worker') {
			const healthPort = healthPorts.get(name) ?? (await freePort());
			healthPorts.set(name, healthPort);
			Object.assign(env, {
				QUEUE_HEALTH_CHECK_ACTIVE: 'true',
				QUEUE_HEALTH_CHECK_PORT: String(healthPort),
				N8N_WORKER_SERVER_ADDRESS: '127.0.0.1',
			});
			health = `http://127.0.0.1:${healthPort}/healthz/readiness`;
		}
		const logFile = join(userFolder, `${name}.log`);
		const out = createWriteStream(logFile, { flags: 'a' });
		const child = spawn(install.node, [install.n8n, role === 'main' ? 'start' : role], {
			cwd: userFolder,
			env,
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		child.stdout?.pipe(out);
		child.stderr?.pipe(out);
		const proc: QueueProcess = {
			role,
			url: `http://127.0.0.1:${port}`,
			logFile,
			child,
			index,
			port,
		};
		processes.push(proc);
		const since = Date.now();
		for (;;) {
			if (child.exitCode !== null)
				throw new Error(`n8n ${role} exited with ${child.exitCode} while starting; see ${logFile}`);
			if (Date.now() - since > 180_000)
				throw new Error(`n8n ${role} did not become ready within 180 s; see ${logFile}`);
			const ready = await fetch(health).then(
				(r) => r.status === 200,
				() => false,
			);
			if (ready) break;
			await new Promise((r) => setTimeout(r, 500));
		}
		log(`queue mode: ${name} ready in ${((Date.now() - since) / 1000).toFixed(1)} s`);
		return proc;
	};

	const cluster: QueueCluster = {
		main: { role: 'main', url: '', logFile: '' },
		database: {
			port: postgres.port,
			database: postgres.database,
			user: postgres.user,
			password: postgres.password,
		},
		workers: [],
		webhooks: [],
		cli: async (args) =>
			runCli(install, userFolder, args, {
				...base(await freePort(), 'cli'),
				N8N_RUNNERS_BROKER_PORT: String(await freePort()),
			}),
		start: async ({ workers, webhooks }) => {
			// Main first: its first start runs the database migrations.
			cluster.main = await spawnN8n('main', 0, cluster.main.port);
			const rest = await Promise.all([
				...Array.from({ length: workers }, (_, i) =>
					spawnN8n('worker', i + 1, cluster.workers[i]?.port),
				),
				...Array.from({ length: webhooks }, (_, i) =>
					spawnN8n('webhook', i + 1, cluster.webhooks[i]?.port),
				),
			]);
			cluster.workers = rest.filter((p) => p.role === 'worker');
			cluster.webhooks = rest.filter((p) => p.role === 'webhook');
		},
		stopN8n: async () => {
			await Promise.all(
				processes
					.filter((p) => p.role !== 'main')
					.map((p) => (p.child ? stopChild(p.child) : undefined)),
			);
			await Promise.all(
				processes
					.filter((p) => p.role === 'main')
					.map((p) => (p.child ? stopChild(p.child) : undefined)),
			);
		},
		stop: async () => {
			await cluster.stopN8n();
			await redis?.stop();
			await postgres?.stop();
			redis = undefined;
			postgres = undefined;
		},
		stopOne: async (proc) => {
			const child = proc.child;
			proc.child = undefined;
			if (child) await stopChild(child);
		},
		kill: async (proc) => {
			const child = proc.child;
			proc.child = undefined;
			if (child) await killTree(child);
		},
		restart: async (proc) => {
			const again = await spawnN8n(proc.role, proc.index ?? 0, proc.port);
			proc.child = again.child;
		},
		bouncePostgres: async (ms) => {
			await postgres!.bounce(ms);
		},
		bounceRedis: async (ms) => {
			await redis!.bounce(ms);
		},
		databaseBytes: () =>
			Number(psql(cluster.database, 'SELECT pg_database_size(current_database())').trim()),
		storedAt: (ids) => {
			const stored = new Map<string, string>();
			const numeric = ids.filter((id) => /^\d+$/.test(id));
			if (numeric.length === 0) return stored;
			const rows = psql(
				cluster.database,
				`SELECT id, to_char("createdAt" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') FROM execution_entity WHERE id IN (${numeric.join(',')})`,
			);
			for (const row of rows.split('\x1e').filter(Boolean)) {
				const [id, at] = row.split('\x1f');
				stored.set(id.trim(), at.trim());
			}
			return stored;
		},
		workerOf: (executionId) =>
			cluster.workers.filter((w) => startedBy(w).includes(executionId)).map((w) => w.logFile),
	};
	return cluster;
}

/**
 * The runs of a workflow's Ksher Trigger as PostgreSQL holds them: each finished execution's order (found by its
 * prefix, '?' when not exactly one) and whether its item was flagged possibleDuplicate, and how many executions
 * failed with no order in them (n8n failed them before they started). Read from the database, not n8n's API:
 * n8n 2.41 redacts the data of runs whose credentials it "could not check" under load, for every user, so its API
 * listed 224 finished runs without their item in a load step of 2026-12-05.
 */
export function triggerRunsInDatabase(
	c: QueueCluster,
	workflowId: string,
	orderPrefix: string,
): { runs: Array<{ order: string; flagged: boolean }>; failedStarts: number } {
	const runs: Array<{ order: string; flagged: boolean }> = [];
	let failedStarts = 0;
	for (const run of triggerRunsAfter(c, workflowId, orderPrefix, 0)) {
		if ((run.status !== 'success' && run.status !== 'error') || !run.hasData) continue;
		if (run.status === 'error' && run.order === undefined) failedStarts++;
		else runs.push({ order: run.order ?? '?', flagged: run.flagged });
	}
	return { runs, failedStarts };
}

/**
 * Every execution of a workflow with an id above `afterId`, any status, as PostgreSQL holds it: its order (by the
 * prefix; undefined when none is in its data, '?' when several are), whether n8n has stored its data, and whether its item was flagged
 * possibleDuplicate. Reading from an id on lets a caller read each run about once, before n8n's pruning (by
 * default it keeps the newest 10,000 executions) deletes it.
 */
export function triggerRunsAfter(
	c: QueueCluster,
	workflowId: string,
	orderPrefix: string,
	afterId: number,
): Array<{ id: number; status: string; hasData: boolean; order?: string; flagged: boolean }> {
	const out = psql(
		c.database,
		`SELECT e.id, e.status, coalesce(d.data, '') FROM execution_entity e LEFT JOIN execution_data d ON d."executionId" = e.id WHERE e."workflowId" = '${workflowId}' AND e.id > ${Math.trunc(afterId)}`,
	);
	const pattern = new RegExp(`"(${orderPrefix}-[A-Za-z0-9-]+)"`, 'g');
	const runs: Array<{
		id: number;
		status: string;
		hasData: boolean;
		order?: string;
		flagged: boolean;
	}> = [];
	for (const record of out.split('\x1e')) {
		const [id, status, data = ''] = record.split('\x1f');
		if (!id?.trim() || !status) continue;
		const orders = new Set([...data.matchAll(pattern)].map((m) => m[1]));
		runs.push({
			id: Number(id),
			status: status.trim(),
			hasData: data !== '',
			order: orders.size === 0 ? undefined : orders.size === 1 ? [...orders][0] : '?',
			// n8n stores run data flattened (flatted): booleans stay inline, and the item has the key only when true.
			flagged: data.includes('"possibleDuplicate":true'),
		});
	}
	return runs;
}

/** One query's rows through psql: fields split by \x1f, rows by \x1e, no header. */
function psql(db: QueueCluster['database'], query: string): string {
	const r = spawnSync(
		join(postgresBinDir(), 'psql'),
		[
			...['-h', '127.0.0.1', '-p', String(db.port), '-U', db.user, '-d', db.database],
			...['-A', '-t', '-F', '\x1f', '-R', '\x1e', '-c', query],
		],
		{ encoding: 'utf8', env: { ...process.env, PGPASSWORD: db.password }, maxBuffer: 1 << 30 },
	);
	if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
	return r.stdout;
}

/** Resolves if `port` can be listened on (within 15 s: a killed process's socket may linger a moment); else throws. */
async function portStillFree(port: number): Promise<void> {
	const until = Date.now() + 15_000;
	for (;;) {
		const free = await new Promise<boolean>((resolvePromise) => {
			const server = createServer();
			server.once('error', () => resolvePromise(false));
			server.listen(port, '127.0.0.1', () => server.close(() => resolvePromise(true)));
		});
		if (free) return;
		if (Date.now() > until)
			throw new Error(
				`port ${port}, an n8n process's before it stopped, is taken by another process`,
			);
		await new Promise((r) => setTimeout(r, 500));
	}
}

/** The executions a worker's log says it started, in order (its line "Worker started execution 14 (job 13)"). */
export function startedBy(worker: QueueProcess): string[] {
	if (!worker.logFile || !existsSync(worker.logFile)) return [];
	return [...readFileSync(worker.logFile, 'utf8').matchAll(/Worker started execution (\d+) /g)].map(
		(m) => m[1],
	);
}
