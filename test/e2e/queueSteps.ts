import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';

import {
	ACK,
	deliverAll,
	deliverLikeKsher,
	deliveryCounts,
	describeAnswers,
	notAcknowledged,
	paidNotification,
	percentile,
	settledRunCheck,
	type Answer,
	type KsherDelivery,
} from '../harness/exactlyOnce';
import { activateArgs, installPackage } from '../harness/n8n';
import {
	createQueueCluster,
	QUEUE_DB_POOL,
	triggerRunsInDatabase,
	type QueueCluster,
	type QueueProcess,
} from '../harness/queue';
import { N8nRest } from '../harness/rest';
import {
	credentialsFile,
	exampleWorkflows,
	FINISHING_WEBHOOK_IDS,
	finishingWorkflow,
	LOAD_WEBHOOK_ID,
	loadWorkflows,
	ONCE_ONLY_WEBHOOK_ID,
	onceOnlyWorkflow,
	TRIGGER_WEBHOOK_ID,
	WEBHOOK_NODE_PATH,
	WORKFLOW_IDS,
} from '../harness/workflows';
import { createOrder, succeeding, webhookServed, type LineContext } from './context';
import { everyWorkflowFinished, paymentsUnderFaults, type Fault } from './faultLoad';
import { assert, assertStayedOffline, log, step, waitFor } from './steps';

/**
 * Ksher's retry schedule compressed 10×: 0.1 s, 0.2 s, 0.2 s, 1 s, 3 s, 6 s, 60 s, 6 min, and no further (the
 * rest is hours apart). Compressed 100× (10 ms, 20 ms, …), a delivery that timed out after 10 s was sent again
 * three times within 50 ms: a storm Ksher never makes, which in the CI run of 2026-12-03 kept n8n 2.41.1's
 * webhook process answering "503 Database is not ready!" for 19 minutes (docs/performance.md).
 */
const KSHER_TIME_SCALE = 0.1;
const KSHER_RETRIES = 8;

/**
 * The load step's rate. CI sends its 1,000 orders at 10 a second, which this 2-core machine's cluster runs as
 * they come even beside another part of the e2e (at 20 a second beside the month, n8n 2.41 once fell behind
 * and the step took 9 minutes: docs/measurements.md); `-- --load=50` sends them at 50 a second, past what it
 * runs, with n8n's own Webhook node delivered the same load first for comparison: 3 to 10 minutes a line, the
 * step CI ran until 2026-12-05. The assertions are the same at any rate.
 */
const LOAD_ARG = process.argv.find((a) => a.startsWith('--load='))?.slice('--load='.length);
const LOAD_PER_SECOND = Number(LOAD_ARG ?? 10);
const LOAD_COMPARED = LOAD_ARG !== undefined;

/** A count once it has stopped growing for 10 s (5 minutes at most): the executions of a load once the workers are idle. */
async function countSettled(count: () => Promise<number>): Promise<number> {
	const until = Date.now() + 300_000;
	let last = await count();
	while (Date.now() < until) {
		await new Promise((r) => setTimeout(r, 10_000));
		const now = await count();
		if (now === last) return now;
		last = now;
	}
	return last;
}

/** Four copies of each notification, 1.1 s apart as Ksher's first retries are, all notifications at once. */
async function retried(
	orders: Array<{ body: string }>,
	url: (order: number, copy: number) => string,
): Promise<Answer[]> {
	const answers: Answer[] = [];
	await Promise.all(
		orders.map(async (o, i) => {
			for (let copy = 0; copy < 4; copy++) {
				answers.push(...(await deliverAll([{ url: url(i, copy), body: o.body }], 1)));
				await new Promise((r) => setTimeout(r, 1100));
			}
		}),
	);
	return answers;
}

/**
 * The Ksher Trigger in n8n's queue mode: PostgreSQL, Redis, a main process, 2 workers and
 * 2 webhook processes. Expression engine: legacy (see the README: n8n 2.41's default engine
 * costs every webhook request an isolate, 100-200 ms of CPU here, whichever node receives it).
 */
export async function queueModeSteps(ctx: LineContext): Promise<void> {
	const { install, work, tarball, sim, smtp, client, figures } = ctx;
	const userFolder = join(work, 'queue-n8n');
	const filesDir = join(work, 'queue-files');
	mkdirSync(filesDir, { recursive: true });
	installPackage(userFolder, tarball);
	let cluster: QueueCluster | undefined;
	try {
		const ok = await step(
			'queue mode: PostgreSQL, Redis, main, 2 workers and 2 webhook processes start with the package',
			async () => {
				const started = Date.now();
				cluster = await createQueueCluster(
					install,
					userFolder,
					filesDir,
					join(work, 'queue-services'),
					{ N8N_EXPRESSION_ENGINE: 'legacy', ...QUEUE_DB_POOL[install.line] },
				);
				const credentials = credentialsFile({ sim: sim.info, smtp });
				writeFileSync(join(work, 'queue-credentials.json'), JSON.stringify(credentials));
				mkdirSync(join(work, 'queue-workflows'));
				// The fault steps' trigger gives up on a run after 30 s (10 minutes by default), so that a run n8n loses runs again within the step.
				const workflows = [
					exampleWorkflows({ filesDir, triggerUrl: 'unused', email: 'queue-buyer@example.com' })[0],
					onceOnlyWorkflow(),
					// The load answers once each run has finished, the trigger's default: with "When the Run Is Stored",
					// n8n 2.41 answered 200 for hundreds of runs it had stored as failed before they started, and those
					// orders never ran (docs/guarantees.md). It gives up on a run n8n never reports after 1 minute, its
					// 10 minutes at the load's 10× retry schedule.
					...loadWorkflows('finished', { giveUpAfterMinutes: 10 * KSHER_TIME_SCALE }),
					finishingWorkflow('crash', { email: true, giveUpAfterMinutes: 0.5 }),
				];
				for (const wf of workflows)
					writeFileSync(join(work, 'queue-workflows', `${wf.id}.json`), JSON.stringify(wf));
				const cli = succeeding((args) => cluster!.cli(args));
				await cli(['import:credentials', `--input=${join(work, 'queue-credentials.json')}`]);
				await cli(['import:workflow', '--separate', `--input=${join(work, 'queue-workflows')}`]);
				// Published before main starts: main registers the webhooks in the database at start.
				for (const wf of workflows) await cli(activateArgs(install, wf.id));
				await cluster.start({ workers: 2, webhooks: 2 });
				return `ready in ${((Date.now() - started) / 1000).toFixed(0)} s (main ${cluster.main.url}, webhooks ${cluster.webhooks.map((w) => w.url).join(', ')})`;
			},
		);
		if (!ok || !cluster) return;
		const c = cluster;
		const rest = new N8nRest(c.main.url);
		await rest.login();
		await rest.createApiKey();
		const hook = (i: number, webhookId: string) =>
			`${c.webhooks[i].url}/webhook/${webhookId}/webhook`;
		/** Paid notifications of `count` new orders numbered `prefix…`, their numbers added to `into`. */
		const newOrders = (count: number, prefix: string, into: string[]) => {
			const orders = Array.from({ length: count }, () => paidNotification(sim, prefix));
			into.push(...orders.map((o) => o.orderNo));
			return orders;
		};
		/** The order numbers of the once-only workflow's runs that start with `prefix` (or that n8n lost: '?'). */
		const onceOnlyRuns = (prefix: string) => async () =>
			(await rest.triggeredOrders(WORKFLOW_IDS.onceOnly)).filter(
				(o) => o.startsWith(prefix) || o === '?',
			);
		for (const w of [0, 1])
			await webhookServed(
				`webhook process ${w + 1} to serve the trigger`,
				hook(w, ONCE_ONLY_WEBHOOK_ID),
				60_000,
			);

		await step(
			'queue mode: paying in the simulator gives exactly one receipt execution, run by a worker, and one email',
			async () => {
				const orderNo = `QUEUE-${Date.now()}`;
				await createOrder(client, orderNo, {
					product_name: 'queue item',
					mch_notify_url: hook(0, TRIGGER_WEBHOOK_ID),
					attach: JSON.stringify({ email: 'queue-buyer@example.com' }),
				});
				const before = smtp.mails.length;
				const pay = await fetch(`${sim.info.controlUrl}/pay`, {
					method: 'POST',
					headers: { 'content-type': 'application/json' },
					body: JSON.stringify({ mch_order_no: orderNo, channel: 'promptpay' }),
				});
				assert(pay.status === 200, `simulator /pay answered ${pay.status}`);
				const mail = await waitFor(
					'the receipt email',
					() => smtp.mails.slice(before).find((m) => m.text.includes(orderNo)),
					60_000,
				);
				const executions = await waitFor('the execution', async () => {
					const list = (await rest.executions(WORKFLOW_IDS.receipt)).filter(
						(e) => e.status === 'success',
					);
					return list.length ? list : undefined;
				});
				await new Promise((r) => setTimeout(r, 2000));
				const all = await rest.executions(WORKFLOW_IDS.receipt);
				assert(all.length === 1 && executions.length === 1, `${all.length} executions`);
				const ranOn = c.workerOf(String(all[0].id));
				assert(ranOn.length === 1, `execution ${String(all[0].id)} ran on ${ranOn.length} workers`);
				assert(
					smtp.mails.slice(before).filter((m) => m.text.includes(orderNo)).length === 1,
					'more than one email',
				);
				const delivery = sim.deliveries.find((d) => d.mch_order_no === orderNo);
				assert(
					delivery?.acknowledged && delivery.response === ACK,
					`Ksher got ${delivery?.status} ${delivery?.response}`,
				);
				return `execution ${String(all[0].id)} on ${ranOn[0].split('/').pop()}, email "${mail.subject}"`;
			},
		);

		const spaced: string[] = [];
		await step(
			"queue mode: Ksher's retries of one notification (≥ 1 s apart) alternating between the 2 webhook processes: 0 duplicates",
			async () => {
				for (let n = 0; n < 4; n++) {
					const o = paidNotification(sim, 'SPACED');
					spaced.push(o.orderNo);
					const answers = await retried([o], (_i, copy) =>
						hook((n + copy) % 2, ONCE_ONLY_WEBHOOK_ID),
					);
					assert(notAcknowledged(answers).length === 0, describeAnswers(answers));
				}
				const check = await settledRunCheck(
					() => rest.triggeredOrders(WORKFLOW_IDS.onceOnly),
					spaced,
				);
				assert(
					check.twice.length === 0 && check.missing.length === 0 && check.extra.length === 0,
					`${check.twice.length} ran twice, ${check.missing.length} never ran, ${check.extra.length} unexpected`,
				);
				return `4 notifications × 4 copies, one notification at a time → ${check.executions} executions`;
			},
		);

		const mixed: string[] = [];
		await step(
			'queue mode: 10 notifications in flight together, each retried ≥ 1 s apart alternating between the 2 webhook processes: duplicates measured',
			async () => {
				const orders = newOrders(10, 'MIXED', mixed);
				const answers = await retried(orders, (i, copy) =>
					hook((i + copy) % 2, ONCE_ONLY_WEBHOOK_ID),
				);
				assert(notAcknowledged(answers).length === 0, describeAnswers(answers));
				const check = await settledRunCheck(
					() => rest.triggeredOrders(WORKFLOW_IDS.onceOnly),
					[...spaced, ...mixed],
				);
				assert(
					check.missing.length === 0 && check.extra.length === 0,
					`${check.missing.length} never ran, ${check.extra.length} unexpected`,
				);
				figures.queue_mixed_duplicates = `${check.twice.length} of 10 orders ran twice`;
				return `${figures.queue_mixed_duplicates} (10 notifications × 4 copies, 1.1 s apart, alternating processes)`;
			},
		);

		const concurrentOrders: string[] = [];
		await step(
			'queue mode: copies at the same moment on both webhook processes: duplicates measured',
			async () => {
				const orders = newOrders(20, 'SPLIT', concurrentOrders);
				const answers = await Promise.all(
					orders.flatMap((o) =>
						[0, 1, 0, 1, 0, 1].map((w) =>
							deliverAll([{ url: hook(w, ONCE_ONLY_WEBHOOK_ID), body: o.body }], 1).then(
								(a) => a[0],
							),
						),
					),
				);
				assert(notAcknowledged(answers).length === 0, describeAnswers(answers));
				const check = await settledRunCheck(onceOnlyRuns('SPLIT'), concurrentOrders);
				assert(
					check.missing.length === 0 && check.extra.length === 0,
					`${check.missing.length} never ran, ${check.extra.length} unexpected`,
				);
				figures.queue_split_duplicates = `${check.twice.length} of 20 orders ran twice (6 copies each, 3 on each webhook process, all at once)`;
				return figures.queue_split_duplicates;
			},
		);

		await step(
			'queue mode, recommended set-up (the Ksher webhook path routed to one webhook process): 6 copies at once → 0 duplicates',
			async () => {
				const orders = Array.from({ length: 20 }, () => paidNotification(sim, 'ROUTED'));
				const answers = await Promise.all(
					orders.flatMap((o) =>
						Array.from({ length: 6 }, () =>
							deliverAll([{ url: hook(0, ONCE_ONLY_WEBHOOK_ID), body: o.body }], 1).then(
								(a) => a[0],
							),
						),
					),
				);
				assert(notAcknowledged(answers).length === 0, describeAnswers(answers));
				const all = await rest.triggeredOrders(WORKFLOW_IDS.onceOnly);
				const routed = orders.map((o) => o.orderNo);
				const check = await settledRunCheck(onceOnlyRuns('ROUTED'), routed);
				assert(
					check.twice.length === 0 && check.missing.length === 0 && check.extra.length === 0,
					`${check.twice.length} ran twice, ${check.missing.length} never ran, ${check.extra.length} unexpected (of ${all.length})`,
				);
				// And Ksher's retries of notifications in flight together, all to that one process.
				const later = Array.from({ length: 10 }, () => paidNotification(sim, 'ROUTEDRETRY'));
				const retries = await retried(later, () => hook(0, ONCE_ONLY_WEBHOOK_ID));
				assert(notAcknowledged(retries).length === 0, describeAnswers(retries));
				const again = await settledRunCheck(onceOnlyRuns('ROUTED'), [
					...routed,
					...later.map((o) => o.orderNo),
				]);
				assert(
					again.twice.length === 0 && again.missing.length === 0 && again.extra.length === 0,
					`retries: ${again.twice.length} ran twice, ${again.missing.length} never ran, ${again.extra.length} unexpected`,
				);
				return `20 orders × 6 copies at once → 20 executions; 10 notifications × 4 retries 1.1 s apart → 10`;
			},
		);

		// The load runs before the faults, on a cluster that has lost nothing: in a run whose load came
		// right after the Redis restart below, n8n 2.41.1's webhook process fell behind while it still
		// waited for the jobs Redis lost (docs/guarantees.md lists every run's figures).
		await step(
			`queue mode load: 1,000 orders at ${LOAD_PER_SECOND}/s to one webhook process, 10 % sent twice at once, each acknowledged once its run has finished (the trigger's default), unacknowledged ones delivered again as Ksher does: every order runs, none twice unflagged, every one acknowledged${LOAD_COMPARED ? "; n8n's Webhook node alongside" : ''}`,
			async () => {
				const orders = Array.from({ length: 1000 }, () => paidNotification(sim, 'LOAD'));
				const jobs = orders.flatMap((o, i) =>
					(i % 10 === 0 ? [o, o] : [o]).map((x) => ({
						url: hook(0, LOAD_WEBHOOK_ID),
						body: x.body,
						slot: i,
					})),
				);
				const compare = LOAD_COMPARED
					? jobs.map((j) => ({ ...j, url: `${c.webhooks[0].url}/webhook/${WEBHOOK_NODE_PATH}` }))
					: [];
				// One after the other, each once the workers are idle again, so both meet the same machine; n8n's
				// Webhook node first, so that no backlog of ours is left for it to meet (docs/performance.md).
				// n8n itself may answer 503 ("Database is not ready!") when the machine is busy: Ksher delivers again.
				// The Webhook node (responseMode lastNode) answers with its item once the run has finished: any 200 is its acknowledgement. It is
				// the comparison only: what n8n made of it (each delivery that reached it is a run, retries included)
				// is reported, not asserted, and it gets Ksher's first six retries (the sixth 6 s after the fifth).
				const theirs = await deliverLikeKsher(
					compare,
					LOAD_PER_SECOND,
					KSHER_TIME_SCALE,
					(answer) => answer.status === 200,
					6,
				);
				const theirRuns = LOAD_COMPARED
					? await countSettled(() => rest.executionCount(WORKFLOW_IDS.webhookNode))
					: 0;
				const started = Date.now();
				const ours = await deliverLikeKsher(
					jobs,
					LOAD_PER_SECOND,
					KSHER_TIME_SCALE,
					undefined,
					KSHER_RETRIES,
				);
				const sendSeconds = (Date.now() - started) / 1000;
				// Ksher's retries go on for 29 hours, the next one an hour after these (6 minutes at this scale): what the
				// storm left unacknowledged is delivered again once n8n is idle, as those later retries would be. In runs
				// of 2026-12-04: n8n answering "503 Database is not ready!" to every request for minutes, and runs whose end
				// the webhook process never heard of, whose copies wait until the trigger gives up on them and runs them
				// again, flagged. Each must then be acknowledged, and start no second unflagged run (checked below).
				const left = jobs.filter((_, i) => !ours[i].acknowledged);
				await countSettled(() => rest.executionCount(WORKFLOW_IDS.load));
				const later = await deliverLikeKsher(
					left.map((job, i) => ({ ...job, slot: i })),
					10,
					KSHER_TIME_SCALE,
					undefined,
					5,
				);
				assert(
					later.every((d) => d.acknowledged),
					`Ksher Trigger: ${later.filter((d) => !d.acknowledged).length} of the ${left.length} the storm left unacknowledged were still not acknowledged once n8n was idle; during the storm: ${describeAnswers(ours.flatMap((d) => d.answers))}; after: ${describeAnswers(later.flatMap((d) => d.answers))}`,
				);
				let failedStarts = 0;
				let runs: Array<{ order: string; flagged: boolean }> = [];
				// Every acknowledgement came after its run had finished: what the database holds now is every run. The
				// executions n8n stored as failed before they started (no order in them) were answered with an error,
				// and Ksher's next delivery ran their order. Read from PostgreSQL: n8n's API hides the items of runs it
				// redacted under load (triggerRunsInDatabase).
				const check = await settledRunCheck(
					async () => {
						({ runs, failedStarts } = triggerRunsInDatabase(c, WORKFLOW_IDS.load, 'LOAD'));
						return runs.map((r) => r.order);
					},
					orders.map((o) => o.orderNo),
				);
				// The guarantee of "When the Workflow Has Finished": every order runs to its end, and any run after the
				// first is flagged possibleDuplicate. Past this machine's capacity n8n answers errors for runs that
				// finished (and for runs it never started), so repeats, each flagged, are expected and counted.
				const unflagged = new Map<string, number>();
				for (const r of runs)
					if (!r.flagged) unflagged.set(r.order, (unflagged.get(r.order) ?? 0) + 1);
				const twiceUnflagged = [...unflagged].filter(([, n]) => n > 1).map(([o]) => o);
				assert(
					twiceUnflagged.length === 0 && check.missing.length === 0 && check.extra.length === 0,
					`${twiceUnflagged.length} ran twice unflagged (${twiceUnflagged.slice(0, 3).join(', ')}), ${check.missing.length} never ran, ${check.extra.length} unexpected`,
				);
				const first = (d: KsherDelivery[]) => d.map((x) => x.answers[0]);
				const p = (a: Answer[], q: number) =>
					percentile(
						a.map((x) => x.ms),
						q,
					);
				figures.queue_load = `${jobs.length} notifications in ${sendSeconds.toFixed(1)} s → ${check.executions} runs of ${orders.length} orders, every order run, none twice unflagged (${check.twice.length} orders ran more than once, every repeat flagged possibleDuplicate; and ${failedStarts} executions n8n stored as failed before they started, answered with an error, each order run after them); deliveries per notification ${deliveryCounts(ours)} (${left.length} unacknowledged after Ksher's first ${KSHER_RETRIES} retries, each acknowledged when delivered again once n8n was idle); first-delivery acknowledgement p50 ${p(first(ours), 50).toFixed(1)} ms, p99 ${p(first(ours), 99).toFixed(1)} ms${LOAD_COMPARED ? `; n8n Webhook node p50 ${p(first(theirs), 50).toFixed(1)} ms, p99 ${p(first(theirs), 99).toFixed(1)} ms (deliveries ${deliveryCounts(theirs)}; ${theirRuns} executions for ${compare.length} deliveries); p50 ratio ${(p(first(ours), 50) / p(first(theirs), 50)).toFixed(2)}` : ''}`;
				log(`figure: ${figures.queue_load}`);
				return figures.queue_load;
			},
		);

		// Faults under load, each on its own: Ksher's retries (the simulator's, compressed) must
		// bring every paid order's workflow to its end, whatever n8n itself makes of the fault.
		const underFault = async (name: string, prefix: string, fault: Fault) => {
			await step(
				`queue mode, ${name}: 60 payments at 5/s with Ksher's retries: every workflow finished, duplicates counted`,
				async () => {
					const outcome = await paymentsUnderFaults(
						ctx,
						{ rest: () => rest, notifyUrl: hook(0, FINISHING_WEBHOOK_IDS.crash) },
						prefix,
						60,
						5,
						[fault],
					);
					figures[`queue_fault_${prefix}`] = outcome.summary;
					return everyWorkflowFinished(outcome);
				},
			);
		};
		// The process is looked up when the fault strikes, as the fault itself would find it.
		const killAndRestart = (proc: () => QueueProcess) => async () => {
			await c.kill(proc());
			await c.restart(proc());
		};
		const faults: Array<[name: string, prefix: string, what: string, act: Fault['act']]> = [
			[
				'a webhook process SIGKILLed and restarted',
				'QKILLHOOK',
				'webhook process SIGKILL + restart',
				killAndRestart(() => c.webhooks[0]),
			],
			[
				'a worker SIGKILLed in the middle of runs (and restarted)',
				'QKILLWORKER',
				'worker SIGKILL + restart',
				killAndRestart(() => c.workers[0]),
			],
			[
				'PostgreSQL stopped for 10 s',
				'QPGDOWN',
				'PostgreSQL down 10 s',
				() => c.bouncePostgres(10_000),
			],
			[
				'Redis restarted (empty)',
				'QREDIS',
				'Redis killed and restarted',
				() => c.bounceRedis(1000),
			],
		];
		for (const [name, prefix, what, act] of faults)
			await underFault(name, prefix, { atMs: 4000, what, act });

		await step(
			'queue mode: no n8n process made a connection outside this machine',
			async () => `none in ${assertStayedOffline(userFolder, 5)} n8n processes`,
		);
	} finally {
		await cluster?.stop().catch((e: Error) => log(`stopping the queue-mode cluster: ${e.message}`));
	}
}
