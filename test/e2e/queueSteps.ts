import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';

import { KsherClient } from '../../nodes/protocol';
import type { Simulator } from '../simulator/server';
import { ACK, deliverAll, deliverAtRate, describeAnswers, notAcknowledged, paidNotification, percentile, settledRunCheck, type Answer } from './exactlyOnce';
import { activateArgs, installPackage, type N8nInstall } from './n8n';
import { createQueueCluster, type QueueCluster } from './queue';
import { N8nRest } from './rest';
import { assert, assertStayedOffline, log, step, waitFor } from './steps';
import type { SmtpSink } from './smtp';
import { credentialsFile, exampleWorkflows, LOAD_WEBHOOK_ID, loadWorkflows, ONCE_ONLY_WEBHOOK_ID, onceOnlyWorkflow, TRIGGER_WEBHOOK_ID, WEBHOOK_NODE_PATH, WORKFLOW_IDS } from './workflows';

/** Four copies of each notification, 1.1 s apart as Ksher's first retries are, all notifications at once. */
async function retried(orders: Array<{ body: string }>, url: (order: number, copy: number) => string): Promise<Answer[]> {
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
export async function queueModeSteps(options: { install: N8nInstall; work: string; tarball: string; sim: Simulator; smtp: SmtpSink; figures: Record<string, string> }): Promise<void> {
	const { install, work, tarball, sim, smtp, figures } = options;
	const userFolder = join(work, 'queue-n8n');
	const filesDir = join(work, 'queue-files');
	mkdirSync(filesDir, { recursive: true });
	installPackage(userFolder, tarball);
	let cluster: QueueCluster | undefined;
	try {
		const ok = await step('queue mode: PostgreSQL, Redis, main, 2 workers and 2 webhook processes start with the package', async () => {
			const started = Date.now();
			cluster = await createQueueCluster(install, userFolder, filesDir, join(work, 'queue-services'), { N8N_EXPRESSION_ENGINE: 'legacy' });
			const credentials = credentialsFile({ sim: sim.info, smtp });
			writeFileSync(join(work, 'queue-credentials.json'), JSON.stringify(credentials));
			mkdirSync(join(work, 'queue-workflows'));
			const workflows = [exampleWorkflows({ filesDir, triggerUrl: 'unused', email: 'queue-buyer@example.com' })[0], onceOnlyWorkflow(), ...loadWorkflows()];
			for (const wf of workflows) writeFileSync(join(work, 'queue-workflows', `${wf.id}.json`), JSON.stringify(wf));
			const cli = async (args: string[]) => {
				const r = await cluster!.cli(args);
				assert(r.code === 0, `n8n ${args[0]} failed (${r.code}): ${(r.stderr || r.stdout).slice(-1500)}`);
			};
			await cli(['import:credentials', `--input=${join(work, 'queue-credentials.json')}`]);
			await cli(['import:workflow', '--separate', `--input=${join(work, 'queue-workflows')}`]);
			// Published before main starts: main registers the webhooks in the database at start.
			for (const wf of workflows) await cli(activateArgs(install, wf.id));
			await cluster.start({ workers: 2, webhooks: 2 });
			return `ready in ${((Date.now() - started) / 1000).toFixed(0)} s (main ${cluster.main.url}, webhooks ${cluster.webhooks.map((w) => w.url).join(', ')})`;
		});
		if (!ok || !cluster) return;
		const c = cluster;
		const rest = new N8nRest(c.main.url);
		await rest.login();
		await rest.createApiKey();
		const hook = (i: number, webhookId: string) => `${c.webhooks[i].url}/webhook/${webhookId}/webhook`;
		for (const w of [0, 1]) await waitFor(`webhook process ${w + 1} to serve the trigger`, async () => (await fetch(hook(w, ONCE_ONLY_WEBHOOK_ID), { method: 'POST', body: 'x' })).status === 400 || undefined, 60_000);

		await step('queue mode: paying in the simulator gives exactly one receipt execution, run by a worker, and one email', async () => {
			const client = new KsherClient({ appId: sim.info.appid, privateKey: sim.info.merchantPrivateKey, ksherPublicKey: sim.info.ksherPublicKey, gatewayUrl: sim.info.gatewayUrl, apiUrl: sim.info.apiUrl });
			const orderNo = `QUEUE-${Date.now()}`;
			await client.call('gateway_pay', {
				mch_order_no: orderNo, total_fee: 15050, fee_type: 'THB', channel_list: 'promptpay', mch_code: orderNo, mch_redirect_url: 'https://shop.example/ok',
				mch_redirect_url_fail: 'https://shop.example/ok', product_name: 'queue item', refer_url: 'https://shop.example', mch_notify_url: hook(0, TRIGGER_WEBHOOK_ID),
				attach: JSON.stringify({ email: 'queue-buyer@example.com' }),
			});
			const before = smtp.mails.length;
			const pay = await fetch(`${sim.info.controlUrl}/pay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mch_order_no: orderNo, channel: 'promptpay' }) });
			assert(pay.status === 200, `simulator /pay answered ${pay.status}`);
			const mail = await waitFor('the receipt email', () => smtp.mails.slice(before).find((m) => m.text.includes(orderNo)), 60_000);
			const executions = await waitFor('the execution', async () => {
				const list = (await rest.executions(WORKFLOW_IDS.receipt)).filter((e) => e.status === 'success');
				return list.length ? list : undefined;
			});
			await new Promise((r) => setTimeout(r, 2000));
			const all = await rest.executions(WORKFLOW_IDS.receipt);
			assert(all.length === 1 && executions.length === 1, `${all.length} executions`);
			const ranOn = c.workerOf(String(all[0].id));
			assert(ranOn.length === 1, `execution ${String(all[0].id)} ran on ${ranOn.length} workers`);
			assert(smtp.mails.slice(before).filter((m) => m.text.includes(orderNo)).length === 1, 'more than one email');
			const delivery = sim.deliveries.find((d) => d.mch_order_no === orderNo);
			assert(delivery?.acknowledged && delivery.response === ACK, `Ksher got ${delivery?.status} ${delivery?.response}`);
			return `execution ${String(all[0].id)} on ${ranOn[0].split('/').pop()}, email "${mail.subject}"`;
		});

		const spaced: string[] = [];
		await step('queue mode: Ksher\'s retries of one notification (≥ 1 s apart) alternating between the 2 webhook processes: 0 duplicates', async () => {
			for (let n = 0; n < 4; n++) {
				const o = paidNotification(sim, 'SPACED');
				spaced.push(o.orderNo);
				const answers = await retried([o], (_i, copy) => hook((n + copy) % 2, ONCE_ONLY_WEBHOOK_ID));
				assert(notAcknowledged(answers).length === 0, describeAnswers(answers));
			}
			const check = await settledRunCheck(() => rest.triggeredOrders(WORKFLOW_IDS.onceOnly), spaced);
			assert(check.twice.length === 0 && check.missing.length === 0 && check.extra.length === 0, `${check.twice.length} ran twice, ${check.missing.length} never ran, ${check.extra.length} unexpected`);
			return `4 notifications × 4 copies, one notification at a time → ${check.executions} executions`;
		});

		const mixed: string[] = [];
		await step('queue mode: 10 notifications in flight together, each retried ≥ 1 s apart alternating between the 2 webhook processes: duplicates measured', async () => {
			const orders = Array.from({ length: 10 }, () => paidNotification(sim, 'MIXED'));
			mixed.push(...orders.map((o) => o.orderNo));
			const answers = await retried(orders, (i, copy) => hook((i + copy) % 2, ONCE_ONLY_WEBHOOK_ID));
			assert(notAcknowledged(answers).length === 0, describeAnswers(answers));
			const check = await settledRunCheck(() => rest.triggeredOrders(WORKFLOW_IDS.onceOnly), [...spaced, ...mixed]);
			assert(check.missing.length === 0 && check.extra.length === 0, `${check.missing.length} never ran, ${check.extra.length} unexpected`);
			figures.queue_mixed_duplicates = `${check.twice.length} of 10 orders ran twice`;
			return `${figures.queue_mixed_duplicates} (10 notifications × 4 copies, 1.1 s apart, alternating processes)`;
		});

		const concurrentOrders: string[] = [];
		await step('queue mode: copies at the same moment on both webhook processes: duplicates measured', async () => {
			const orders = Array.from({ length: 20 }, () => paidNotification(sim, 'SPLIT'));
			concurrentOrders.push(...orders.map((o) => o.orderNo));
			const answers = await Promise.all(orders.flatMap((o) => [0, 1, 0, 1, 0, 1].map((w) => deliverAll([{ url: hook(w, ONCE_ONLY_WEBHOOK_ID), body: o.body }], 1).then((a) => a[0]))));
			assert(notAcknowledged(answers).length === 0, describeAnswers(answers));
			const check = await settledRunCheck(async () => (await rest.triggeredOrders(WORKFLOW_IDS.onceOnly)).filter((o) => o.startsWith('SPLIT') || o === '?'), concurrentOrders);
			assert(check.missing.length === 0 && check.extra.length === 0, `${check.missing.length} never ran, ${check.extra.length} unexpected`);
			figures.queue_split_duplicates = `${check.twice.length} of 20 orders ran twice (6 copies each, 3 on each webhook process, all at once)`;
			return figures.queue_split_duplicates;
		});

		await step('queue mode, recommended set-up (the Ksher webhook path routed to one webhook process): 6 copies at once → 0 duplicates', async () => {
			const orders = Array.from({ length: 20 }, () => paidNotification(sim, 'ROUTED'));
			const answers = await Promise.all(orders.flatMap((o) => Array.from({ length: 6 }, () => deliverAll([{ url: hook(0, ONCE_ONLY_WEBHOOK_ID), body: o.body }], 1).then((a) => a[0]))));
			assert(notAcknowledged(answers).length === 0, describeAnswers(answers));
			const all = await rest.triggeredOrders(WORKFLOW_IDS.onceOnly);
			const routed = orders.map((o) => o.orderNo);
			const check = await settledRunCheck(async () => (await rest.triggeredOrders(WORKFLOW_IDS.onceOnly)).filter((o) => o.startsWith('ROUTED') || o === '?'), routed);
			assert(check.twice.length === 0 && check.missing.length === 0 && check.extra.length === 0, `${check.twice.length} ran twice, ${check.missing.length} never ran, ${check.extra.length} unexpected (of ${all.length})`);
			// And Ksher's retries of notifications in flight together, all to that one process.
			const later = Array.from({ length: 10 }, () => paidNotification(sim, 'ROUTEDRETRY'));
			const retries = await retried(later, () => hook(0, ONCE_ONLY_WEBHOOK_ID));
			assert(notAcknowledged(retries).length === 0, describeAnswers(retries));
			const again = await settledRunCheck(async () => (await rest.triggeredOrders(WORKFLOW_IDS.onceOnly)).filter((o) => o.startsWith('ROUTED') || o === '?'), [...routed, ...later.map((o) => o.orderNo)]);
			assert(again.twice.length === 0 && again.missing.length === 0 && again.extra.length === 0, `retries: ${again.twice.length} ran twice, ${again.missing.length} never ran, ${again.extra.length} unexpected`);
			return `20 orders × 6 copies at once → 20 executions; 10 notifications × 4 retries 1.1 s apart → 10`;
		});

		await step('queue mode load: 1,000 orders at 50/s to one webhook process, 10 % sent twice at once: 1,000 executions, none twice; n8n\'s Webhook node alongside', async () => {
			const orders = Array.from({ length: 1000 }, () => paidNotification(sim, 'LOAD'));
			const jobs = orders.flatMap((o, i) => (i % 10 === 0 ? [o, o] : [o]).map((x) => ({ url: hook(0, LOAD_WEBHOOK_ID), body: x.body, slot: i })));
			const compare = jobs.map((j) => ({ ...j, url: `${c.webhooks[0].url}/webhook/${WEBHOOK_NODE_PATH}` }));
			// One after the other, each once the workers are idle again, so both meet the same machine.
			const started = Date.now();
			const ours = await deliverAtRate(jobs, 50);
			const sendSeconds = (Date.now() - started) / 1000;
			assert(notAcknowledged(ours).length === 0, `Ksher Trigger: ${describeAnswers(ours)}`);
			const check = await settledRunCheck(() => rest.triggeredOrders(WORKFLOW_IDS.load), orders.map((o) => o.orderNo), 300_000);
			assert(check.twice.length === 0 && check.missing.length === 0 && check.extra.length === 0, `${check.twice.length} ran twice, ${check.missing.length} never ran, ${check.extra.length} unexpected`);
			const theirs = await deliverAtRate(compare, 50);
			assert(theirs.every((a) => a.status === 200), `Webhook node: ${describeAnswers(theirs)}`);
			await waitFor('the Webhook node\'s executions', async () => ((await rest.executionCount(WORKFLOW_IDS.webhookNode)) >= compare.length ? true : undefined), 300_000);
			const p = (a: Answer[], q: number) => percentile(a.map((x) => x.ms), q);
			figures.queue_load = `${jobs.length} deliveries in ${sendSeconds.toFixed(1)} s → ${check.executions} executions; acknowledgement p50 ${p(ours, 50).toFixed(1)} ms, p99 ${p(ours, 99).toFixed(1)} ms; n8n Webhook node p50 ${p(theirs, 50).toFixed(1)} ms, p99 ${p(theirs, 99).toFixed(1)} ms; p50 ratio ${(p(ours, 50) / p(theirs, 50)).toFixed(2)}`;
			log(`figure: ${figures.queue_load}`);
			return figures.queue_load;
		});
		await step('queue mode: no n8n process made a connection outside this machine', async () => `none in ${assertStayedOffline(userFolder, 5)} n8n processes`);
	} finally {
		await cluster?.stop().catch((e: Error) => log(`stopping the queue-mode cluster: ${e.message}`));
	}
}
