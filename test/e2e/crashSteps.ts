import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';

import {
	idOf,
	NotificationLedger,
	storedIds,
	type StoredMemory,
} from '../../nodes/KsherTrigger/ledger';
import { ksherTime } from '../simulator/state';
import { ACK, deliver, percentile, type Answer } from '../harness/exactlyOnce';
import { activateArgs, createN8n, installPackage, type N8nInstance } from '../harness/n8n';
import { N8nRest } from '../harness/rest';
import {
	credentialsFile,
	FINISHING_WEBHOOK_IDS,
	FINISHING_WORKFLOW_IDS,
	finishingWorkflow,
} from '../harness/workflows';
import { createOrder, succeeding, webhookServed, type LineContext } from './context';
import { everyWorkflowFinished, notificationData, paymentsUnderFaults } from './faultLoad';
import { assert, step, waitFor } from './steps';

/**
 * Crashes, Ksher outages, replays and a full memory in one real n8n (regular mode, SQLite), its
 * own instance so that killing it disturbs nothing else: issue #25's proof.
 *
 * Payments notified the way Ksher notifies them (the simulator: its retry schedule, compressed
 * by its time scale, and a 10 s timeout per delivery) to a workflow whose last step is an email,
 * while something fails: what the shop needs is that every paid order's workflow ran to its end.
 */
export async function crashSteps(ctx: LineContext): Promise<void> {
	const { install, work, tarball, sim, smtp, client, figures } = ctx;
	const userFolder = join(work, 'crash-n8n');
	installPackage(userFolder, tarball);
	let n8n: N8nInstance | undefined;
	let onDefault: N8nInstance | undefined;
	try {
		const seed = new NotificationLedger();
		const seeded = 100_000;
		for (let i = 0; i < seeded; i++) {
			const claim = seed.claim(`${sim.info.appid}|SEED-${i}|paid|`);
			claim.record();
			claim.settle(true);
		}
		const memory: StoredMemory = {};
		seed.persistInto(memory);
		// Give Up on a Run After: 30 s (10 minutes by default), so that a run n8n loses runs again within the step.
		const workflows = [
			finishingWorkflow('crash', { email: true, giveUpAfterMinutes: 0.5 }),
			finishingWorkflow('confirm', { confirmWithKsher: true }),
			finishingWorkflow('memoryFull', {
				staticData: { 'node:Ksher Trigger': JSON.parse(JSON.stringify(memory)) as object },
			}),
			finishingWorkflow('memoryEmpty'),
		];
		const ready = await step(
			'crashes: a separate n8n with four version-2 triggers (one with 100,000 notifications in its memory), published',
			async () => {
				n8n = await createN8n(install, userFolder, join(work, 'crash-files'), undefined, {
					N8N_EXPRESSION_ENGINE: 'legacy',
				});
				const dir = join(work, 'crash-workflows');
				mkdirSync(dir, { recursive: true });
				for (const wf of workflows) writeFileSync(join(dir, `${wf.id}.json`), JSON.stringify(wf));
				writeFileSync(
					join(work, 'crash-credentials.json'),
					JSON.stringify(credentialsFile({ sim: sim.info, smtp })),
				);
				const cli = succeeding((args) => n8n!.cli(args));
				await cli(['import:credentials', `--input=${join(work, 'crash-credentials.json')}`]);
				await cli(['import:workflow', '--separate', `--input=${dir}`]);
				for (const wf of workflows) await cli(activateArgs(install, wf.id));
				await n8n.start();
				return `${String(JSON.stringify(memory).length)} characters of memory imported`;
			},
		);
		if (!ready || !n8n) return;
		const instance = n8n;
		const rest = new N8nRest(instance.url);
		const signIn = async () => {
			await rest.login();
			await rest.createApiKey();
		};
		await signIn();
		const url = (kind: keyof typeof FINISHING_WEBHOOK_IDS) =>
			`${instance.url}/webhook/${FINISHING_WEBHOOK_IDS[kind]}/webhook`;
		for (const kind of Object.keys(FINISHING_WEBHOOK_IDS) as Array<
			keyof typeof FINISHING_WEBHOOK_IDS
		>)
			await webhookServed(`the ${kind} trigger to be registered`, url(kind), 60_000);

		await step(
			"kill -9 under load (regular mode): 300 payments at 4/s, Ksher's retries, n8n SIGKILLed twice at random moments and restarted: every workflow finished",
			async () => {
				const kill = async () => {
					await instance.kill();
					await instance.start();
				};
				const first = 4000 + Math.random() * 8000;
				const outcome = await paymentsUnderFaults(
					ctx,
					{ rest: () => rest, notifyUrl: url('crash') },
					`KILL${install.line}`,
					300,
					4,
					[
						{ atMs: first, what: 'SIGKILL + restart', act: kill },
						// The second once n8n is back and busy again.
						{ atMs: first + 18_000 + Math.random() * 8000, what: 'SIGKILL + restart', act: kill },
					],
				);
				figures[`kill_regular_${install.line}`] = outcome.summary;
				return everyWorkflowFinished(outcome);
			},
		);
		await signIn();

		await step(
			'Confirm With Ksher while Ksher is down: every notification answered 503; once Ksher is back, each starts exactly one run',
			async () => {
				const control = (path: string, body: unknown) =>
					fetch(`${sim.info.controlUrl}${path}`, {
						method: 'POST',
						headers: { 'content-type': 'application/json' },
						body: JSON.stringify(body),
					});
				const orders: string[] = [];
				await control('/faults', {
					type: 'http500',
					endpoint: 'gateway_order_query',
					count: -1,
					stage: 'before',
				});
				try {
					for (let i = 0; i < 10; i++) {
						const no = `DOWN${install.line}-${Date.now().toString(36)}-${i}`;
						await createOrder(client, no, {
							product_name: 'outage item',
							mch_notify_url: url('confirm'),
						});
						await control('/pay', { mch_order_no: no, channel: 'promptpay' });
						orders.push(no);
					}
					// Ksher's first retries come within a second (compressed): all refused while Ksher cannot be asked.
					await waitFor(
						'4 deliveries of each',
						() =>
							orders.every(
								(no) =>
									sim.deliveries.filter((d) => d.mch_order_no === no && d.status !== null).length >=
									4,
							)
								? true
								: undefined,
						60_000,
					);
				} finally {
					await control('/faults/clear', {});
				}
				const whileDown = sim.deliveries.filter(
					(d) => orders.includes(d.mch_order_no) && d.status !== null,
				);
				assert(
					whileDown.every((d) => d.status === 503 && !d.acknowledged),
					`while Ksher was down: ${[...new Set(whileDown.map((d) => `${d.status} ${d.response.slice(0, 60)}`))].join('; ')}`,
				);
				const downCount = whileDown.length;
				await waitFor(
					'every notification acknowledged once Ksher is back',
					() =>
						orders.every((no) =>
							sim.deliveries.some((d) => d.mch_order_no === no && d.acknowledged),
						)
							? true
							: undefined,
					120_000,
				);
				await new Promise((r) => setTimeout(r, 2000));
				const runs = await rest.triggeredOrders(FINISHING_WORKFLOW_IDS.confirm);
				for (const no of orders)
					assert(
						runs.filter((r) => r === no).length === 1,
						`${no} started ${runs.filter((r) => r === no).length} runs`,
					);
				const total = sim.deliveries.filter((d) => orders.includes(d.mch_order_no)).length;
				return `10 notifications: ${downCount} deliveries answered 503 while Ksher was down, ${total} in all; then 10 runs, one each`;
			},
		);

		await step(
			"replay window: a genuine notification paid 3 days ago is acknowledged, starts no run, and n8n's log says why",
			async () => {
				const before = (await rest.executionStatuses(FINISHING_WORKFLOW_IDS.memoryEmpty)).length;
				const no = `REPLAY${install.line}-${Date.now().toString(36)}`;
				const answer = await deliver(
					url('memoryEmpty'),
					sim.signedNotification(
						notificationData(sim, no, ksherTime(new Date(Date.now() - 72 * 3600_000))),
					),
				);
				assert(
					answer.status === 200 && answer.body === ACK,
					`answered ${answer.status} ${answer.body}`,
				);
				await new Promise((r) => setTimeout(r, 1500));
				assert(
					(await rest.executionStatuses(FINISHING_WORKFLOW_IDS.memoryEmpty)).length === before,
					'the replayed notification started a run',
				);
				const line = await waitFor(
					'the log line',
					() =>
						readFileSync(instance.logFile, 'utf8')
							.split('\n')
							.find((l) => l.includes(no) && l.includes('replay window')),
					10_000,
				);
				return line.replace(/\s+/g, ' ').slice(0, 160);
			},
		);

		// The memory's cost, on the expression engine n8n runs by default (vm on both lines), in the same
		// n8n started again: the crash steps above run `legacy`, where a request costs least and n8n's own
		// reading and writing of the 1 MB of static data is most of it (see docs/performance.md).
		await step(
			"the trigger's memory with 100,000 notifications stored, on n8n's default expression engine: acknowledgement p50 within 2× of an empty memory; a stored one starts nothing",
			async () => {
				await instance.stop();
				onDefault = await createN8n(
					install,
					userFolder,
					join(work, 'crash-files'),
					undefined,
					install.line === '1' ? { N8N_EXPRESSION_ENGINE: 'vm' } : {},
				);
				await onDefault.start();
				const defaultRest = new N8nRest(onDefault.url);
				await defaultRest.login();
				await defaultRest.createApiKey();
				const at = (kind: 'memoryFull' | 'memoryEmpty') =>
					`${onDefault!.url}/webhook/${FINISHING_WEBHOOK_IDS[kind]}/webhook`;
				for (const kind of ['memoryFull', 'memoryEmpty'] as const)
					await webhookServed(`the ${kind} trigger to be registered`, at(kind), 60_000);
				const sample = async (kind: 'memoryFull' | 'memoryEmpty', i: number) => {
					const body = sim.signedNotification(
						notificationData(
							sim,
							`MEM-${kind}-${Date.now().toString(36)}-${i}`,
							ksherTime(new Date()),
						),
					);
					const answer = await deliver(at(kind), body);
					assert(
						answer.status === 200 && answer.body === ACK,
						`${kind}: ${answer.status} ${answer.body}`,
					);
					return answer;
				};
				// The first request of each takes the stored memory in; then they alternate, on the same machine.
				await sample('memoryFull', -1);
				await sample('memoryEmpty', -1);
				const full: Answer[] = [];
				const empty: Answer[] = [];
				for (let i = 0; i < 40; i++) {
					full.push(await sample('memoryFull', i));
					empty.push(await sample('memoryEmpty', i));
				}
				const p50 = (a: Answer[]) =>
					percentile(
						a.map((x) => x.ms),
						50,
					);
				const ratio = p50(full) / p50(empty);
				// One of the 100,000, delivered again: acknowledged, no run.
				const before = (await defaultRest.executionStatuses(FINISHING_WORKFLOW_IDS.memoryFull))
					.length;
				const again = await deliver(
					at('memoryFull'),
					sim.signedNotification(notificationData(sim, 'SEED-4242', ksherTime(new Date()))),
				);
				assert(
					again.status === 200 && again.body === ACK,
					`a stored notification: ${again.status} ${again.body}`,
				);
				await new Promise((r) => setTimeout(r, 1500));
				const after = (await defaultRest.executionStatuses(FINISHING_WORKFLOW_IDS.memoryFull))
					.length;
				assert(after === before, `a stored notification started ${after - before} runs`);
				figures[`memory_${install.line}`] =
					`p50 ${p50(full).toFixed(1)} ms with ${seeded} stored vs ${p50(empty).toFixed(1)} ms empty (×${ratio.toFixed(2)}, vm)`;
				await onDefault.stop();
				assert(
					ratio <= 2,
					`acknowledgement with 100,000 stored: ${figures[`memory_${install.line}`]}`,
				);
				return figures[`memory_${install.line}`];
			},
		);

		await step(
			'the stored memory after all this: the 100,000 seeded notifications and the new ones',
			async () => {
				await onDefault?.stop();
				await instance.stop();
				const exported = join(work, 'crash-memory.json');
				const r = await instance.cli([
					'export:workflow',
					`--id=${FINISHING_WORKFLOW_IDS.memoryFull}`,
					`--output=${exported}`,
				]);
				assert(r.code === 0, `export failed: ${r.stderr.slice(-500)}`);
				const workflow = JSON.parse(readFileSync(exported, 'utf8')) as
					| Array<{ staticData?: Record<string, StoredMemory> }>
					| { staticData?: Record<string, StoredMemory> };
				const ids = storedIds(
					(Array.isArray(workflow) ? workflow[0] : workflow).staticData?.['node:Ksher Trigger'] ??
						{},
				);
				assert(
					ids.has(idOf(`${sim.info.appid}|SEED-0|paid|`)) && ids.size >= seeded + 41,
					`${ids.size} stored`,
				);
				return `${ids.size} notifications stored`;
			},
		);
	} finally {
		await onDefault?.stop().catch(() => undefined);
		await n8n?.stop().catch(() => undefined);
	}
}
