import { readFileSync } from 'fs';
import { join } from 'path';

import { idOf, storedIds, type StoredMemory } from '../../nodes/KsherTrigger/ledger';
import {
	deliverAll,
	describeAnswers,
	notAcknowledged,
	paidNotification,
	settledRunCheck,
	shuffle,
} from '../harness/exactlyOnce';
import { ONCE_ONLY_WEBHOOK_ID, WORKFLOW_IDS } from '../harness/workflows';
import { webhookServed, type E2eContext } from './context';
import { assert, step } from './steps';

/**
 * One run per notification in one real n8n (regular mode): concurrent copies, bursts, shuffled
 * repeats, and a restart. Entered and left with n8n running.
 */
export async function exactlyOnceSteps(ctx: E2eContext): Promise<void> {
	const { n8n, rest, work } = ctx;
	const sim = ctx.sim;
	const cliOk = ctx.cli;
	// Exactly once, in this real n8n: every copy is answered by n8n only after the execution
	// it started (if any) was stored, so the counts below are final when the answers are in.
	const onceUrl = `${n8n.url}/webhook/${ONCE_ONLY_WEBHOOK_ID}/webhook`;
	const onceOrders: Array<{ orderNo: string; body: string }> = [];
	const checkRuns = async (what: string) => {
		const check = await settledRunCheck(
			() => rest.triggeredOrders(WORKFLOW_IDS.onceOnly),
			onceOrders.map((o) => o.orderNo),
		);
		assert(
			check.twice.length === 0 && check.missing.length === 0 && check.extra.length === 0,
			`${what}: ${check.twice.length} orders ran twice (${check.twice.slice(0, 3).join(', ')}), ${check.missing.length} never ran, ${check.extra.length} unexpected`,
		);
		return onceOrders.length;
	};
	await step(
		'one n8n: 2, 12 and 50 concurrent copies of one notification start exactly 1 execution each, every copy acknowledged',
		async () => {
			const counts = [];
			for (const copies of [2, 12, 50]) {
				const n = paidNotification(sim!, `ONCE${copies}`);
				onceOrders.push(n);
				const answers = await Promise.all(
					Array.from({ length: copies }, () =>
						fetch(onceUrl, {
							method: 'POST',
							headers: { 'content-type': 'text/plain;charset=utf-8' },
							body: n.body,
						}).then(async (r) => ({ status: r.status, body: await r.text(), ms: 0 })),
					),
				);
				assert(
					notAcknowledged(answers).length === 0,
					`${copies} copies: ${describeAnswers(answers)}`,
				);
				counts.push(`${copies} copies → 1`);
			}
			await checkRuns('after the concurrent copies');
			return counts.join(', ');
		},
	);
	await step(
		'one n8n: 30 orders notified at once, then each once more one by one: exactly 30 executions',
		async () => {
			const batch = Array.from({ length: 30 }, () => paidNotification(sim!, 'BURST'));
			onceOrders.push(...batch);
			const first = await Promise.all(
				batch.map((o) => deliverAll([{ url: onceUrl, body: o.body }], 1).then((a) => a[0])),
			);
			assert(notAcknowledged(first).length === 0, `at once: ${describeAnswers(first)}`);
			const again = await deliverAll(
				batch.map((o) => ({ url: onceUrl, body: o.body })),
				1,
			);
			assert(notAcknowledged(again).length === 0, `one by one: ${describeAnswers(again)}`);
			await checkRuns('after 30 at once and each again');
			return '30 + 30 deliveries → 30 executions';
		},
	);
	await step(
		'one n8n: 200 orders × 3 deliveries, shuffled, 25 in flight: exactly 200 executions; one more of each: none',
		async () => {
			const batch = Array.from({ length: 200 }, () => paidNotification(sim!, 'LOAD'));
			onceOrders.push(...batch);
			const jobs = shuffle(
				batch.flatMap((o) => [o, o, o]).map((o) => ({ url: onceUrl, body: o.body })),
			);
			const answers = await deliverAll(jobs, 25);
			assert(notAcknowledged(answers).length === 0, `600 deliveries: ${describeAnswers(answers)}`);
			await checkRuns('after 600 shuffled deliveries');
			// Runs that end after later deliveries were handled (each waits 1 s) must not have
			// saved an older copy of the trigger's memory over a newer one.
			await new Promise((r) => setTimeout(r, 3000));
			const more = await deliverAll(
				onceOrders.map((o) => ({ url: onceUrl, body: o.body })),
				10,
			);
			assert(notAcknowledged(more).length === 0, `one more of each: ${describeAnswers(more)}`);
			const total = await checkRuns('after one more delivery of each');
			return `600 + ${more.length} deliveries → ${total} executions in all, none twice`;
		},
	);
	await step(
		"restart n8n: the trigger's stored memory holds every order; delivering each again starts nothing",
		async () => {
			await n8n!.stop();
			const exported = join(work, 'once-only.json');
			await cliOk(['export:workflow', `--id=${WORKFLOW_IDS.onceOnly}`, `--output=${exported}`]);
			const workflow = JSON.parse(readFileSync(exported, 'utf8')) as
				| Array<{ staticData?: Record<string, StoredMemory> }>
				| { staticData?: Record<string, StoredMemory> };
			const staticData = (Array.isArray(workflow) ? workflow[0] : workflow).staticData ?? {};
			const stored = storedIds(staticData['node:Ksher Trigger'] ?? {});
			const missing = onceOrders.filter(
				(o) => !stored.has(idOf(`${sim!.info.appid}|${o.orderNo}|paid|`)),
			);
			assert(
				missing.length === 0,
				`${missing.length} of ${onceOrders.length} orders are missing from the stored memory, e.g. ${missing
					.slice(0, 3)
					.map((o) => o.orderNo)
					.join(', ')}`,
			);
			await n8n!.start();
			await rest.login();
			await webhookServed('the trigger webhooks to be registered again', onceUrl, 30_000);
			const answers = await deliverAll(
				onceOrders.map((o) => ({ url: onceUrl, body: o.body })),
				10,
			);
			assert(
				notAcknowledged(answers).length === 0,
				`after the restart: ${describeAnswers(answers)}`,
			);
			const total = await checkRuns('after the restart');
			return `${stored.size} entries stored; ${answers.length} deliveries after the restart → 0 new executions (${total} in all)`;
		},
	);
}
