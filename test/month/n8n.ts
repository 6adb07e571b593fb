import { statSync } from 'fs';
import { join } from 'path';

import { installPackage, type CliResult } from '../harness/n8n';
import {
	createQueueCluster,
	QUEUE_DB_POOL,
	startedBy,
	triggerRunsAfter,
	type QueueProcess,
} from '../harness/queue';
import type { N8nRest } from '../harness/rest';
import { credentialsFile, WORKFLOW_IDS } from '../harness/workflows';
import { regularContext, succeeding, type LineContext } from '../e2e/context';
import type { RecordRun } from './flags';
import type { FaultKind } from './plan';

/**
 * The n8n a month runs in, as the driver needs it, in either of the set-ups shops run: regular mode (one
 * process, SQLite) or queue mode (PostgreSQL, Redis, a main process, 2 workers, and one webhook process that
 * receives every production webhook: the README's recommended routing of the Ksher path to one process).
 */
export interface MonthN8n {
	mode: 'regular' | 'queue';
	/** "n8n 2.41.1 (Node 24…)". */
	version: string;
	/** The credentials file to import (Ksher, SMTP). */
	credentials: unknown;
	/** An n8n CLI command that must succeed; against the database even while n8n is stopped. */
	cli: (args: string[]) => Promise<CliResult>;
	/**
	 * Every process up and ready (`editorOnly`: what the editor's API needs, for the set-up before the workflows
	 * are imported; in queue mode the main process alone).
	 */
	start: (options?: { editorOnly?: boolean }) => Promise<void>;
	stop: () => Promise<void>;
	/**
	 * Queue mode: the main process stopped as an operator would and started again; its start runs n8n's queue
	 * recovery, which marks crashed the runs n8n lost track of. Regular mode has no such recovery to run.
	 */
	restartMain?: () => Promise<void>;
	/** The process that ran each execution, by id, where the set-up can tell (queue mode: the workers' logs). */
	ranOn: () => Map<string, string>;
	/** When each of these executions was stored (ISO time), where the set-up can tell (queue mode: PostgreSQL). */
	storedAt: (executionIds: string[]) => Map<string, string>;
	/** Where Ksher's notifications and the driver's webhook calls go (queue mode: the webhook process). */
	webhookUrl: () => string;
	/** The editor's REST API (queue mode: the main process). */
	restUrl: () => string;
	/** A fault that hits while customers pay; resolves once n8n is back (the set-up's restart policy). */
	fault: (kind: FaultKind) => Promise<void>;
	/** The faults this set-up has. */
	faults: FaultKind[];
	/** n8n's database in bytes (SQLite's file, PostgreSQL's database). */
	databaseBytes: () => number;
	/**
	 * The record workflow's executions with an id above `afterId`, any status: each one's order (undefined when its
	 * trigger's item is not in it) and whether that item was flagged possibleDuplicate.
	 */
	recordRunsAfter: (rest: N8nRest, orderPrefix: string, afterId: number) => Promise<RecordRun[]>;
	/** Stops n8n and what this set-up started beside it (PostgreSQL, Redis); never throws. */
	close: () => Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How long a killed n8n process stays down before it is started again (a container's restart policy). */
const DOWN_MS = 3000;

/** Regular mode, set up as the README's Performance section asks: on 2.x, expression isolates acquired lazily. */
export async function regularMonthN8n(
	line: LineContext,
	env: NodeJS.ProcessEnv,
): Promise<MonthN8n> {
	installPackage(line.userFolder, line.tarball);
	const ctx = await regularContext(line, env);
	const { n8n } = ctx;
	return {
		mode: 'regular',
		version: `n8n ${line.install.version} (Node ${line.install.nodeVersion})`,
		credentials: ctx.credentials,
		cli: ctx.cli,
		start: () => n8n.start(),
		stop: () => n8n.stop(),
		storedAt: () => new Map(),
		ranOn: () => new Map(),
		webhookUrl: () => n8n.url,
		restUrl: () => n8n.url,
		faults: ['n8nKilled'],
		fault: async (kind) => {
			if (kind !== 'n8nKilled') throw new Error(`regular mode has no fault "${kind}"`);
			await n8n.kill();
			await sleep(DOWN_MS);
			await n8n.start();
		},
		databaseBytes: () => statSync(join(line.userFolder, '.n8n', 'database.sqlite')).size,
		recordRunsAfter: async (rest, _orderPrefix, afterId) =>
			(await rest.runsAfter(WORKFLOW_IDS.recordPaid, 'Ksher Trigger', afterId)).map((run) => ({
				id: run.id,
				status: run.status,
				order: run.item === undefined ? undefined : String(run.item.orderNumber),
				flagged: run.item?.possibleDuplicate === true,
			})),
		close: async () => {
			await n8n.stop().catch(() => undefined);
		},
	};
}

/**
 * Queue mode as the README sets it up: on 1.x 10 PostgreSQL connections a process; on 2.x expression isolates
 * acquired lazily. Its faults: the webhook process, or the worker that started the latest run, SIGKILLed and
 * started again 3 s later; Redis
 * restarted (empty, as n8n's Redis keeps nothing); PostgreSQL stopped for 10 s.
 */
export async function queueMonthN8n(
	line: LineContext,
	env: NodeJS.ProcessEnv,
	workers = 2,
): Promise<MonthN8n> {
	const userFolder = join(line.work, 'queue-n8n');
	installPackage(userFolder, line.tarball);
	const cluster = await createQueueCluster(
		line.install,
		userFolder,
		line.filesDir,
		join(line.work, 'queue-services'),
		{ ...QUEUE_DB_POOL[line.line], ...env },
	);
	const size = { workers, webhooks: 1 };
	/** The worker that started the latest execution (its log says so): the one likeliest to be running one now. */
	const busiestWorker = () => {
		const latest = (w: QueueProcess) => Math.max(-1, ...startedBy(w).map(Number));
		return [...cluster.workers].sort((a, b) => latest(b) - latest(a))[0];
	};
	return {
		mode: 'queue',
		version: `n8n ${line.install.version} (Node ${line.install.nodeVersion})`,
		credentials: credentialsFile({ sim: line.sim.info, smtp: line.smtp }),
		cli: succeeding((args) => cluster.cli(args)),
		start: (options) => cluster.start(options?.editorOnly ? { workers: 0, webhooks: 0 } : size),
		stop: () => cluster.stopN8n(),
		restartMain: async () => {
			await cluster.stopOne(cluster.main);
			await cluster.restart(cluster.main);
		},
		storedAt: (ids) => cluster.storedAt(ids),
		ranOn: () =>
			new Map(cluster.workers.flatMap((w) => startedBy(w).map((id) => [id, `worker${w.index}`]))),
		webhookUrl: () => cluster.webhooks[0].url,
		restUrl: () => cluster.main.url,
		faults: ['n8nKilled', 'workerKilled', 'redisRestarted', 'postgresStopped'],
		fault: async (kind) => {
			if (kind === 'n8nKilled' || kind === 'workerKilled') {
				const proc = kind === 'n8nKilled' ? cluster.webhooks[0] : busiestWorker();
				await cluster.kill(proc);
				await sleep(DOWN_MS);
				await cluster.restart(proc);
			} else if (kind === 'redisRestarted') await cluster.bounceRedis(DOWN_MS);
			else if (kind === 'postgresStopped') await cluster.bouncePostgres(10_000);
			else throw new Error(`queue mode has no fault "${kind}" while customers pay`);
		},
		databaseBytes: () => cluster.databaseBytes(),
		// From PostgreSQL, not n8n's API: n8n 2.41 leaves out the data of runs under load (harness/queue.ts).
		recordRunsAfter: async (_rest, orderPrefix, afterId) =>
			triggerRunsAfter(cluster, WORKFLOW_IDS.recordPaid, orderPrefix, afterId),
		close: async () => {
			await cluster.stop().catch(() => undefined);
		},
	};
}
