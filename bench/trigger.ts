import { WebhookContext } from 'n8n-core';
import { Workflow, type IDataObject, type INode, type IWebhookData } from 'n8n-workflow';

import { KsherTrigger } from '../nodes/KsherTrigger/KsherTrigger.node.ts';
import { makeAdditionalData, nodeTypes } from '../test/helpers/n8n';
import { startSimulator } from '../test/simulator/server';
import { ksherTime } from '../test/simulator/state';
import { ksherCredentials, type Figures } from './figures';
import { percentile } from './stats';

/**
 * The trigger's webhook() on genuine notifications, in-process through n8n-core's
 * WebhookContext (verification, de-duplication, emit), and the heap growth of its
 * seen-notification memory after 100,000 distinct notifications.
 */
export const triggerFigures: Figures = async (note, progress, quick) => {
	const sim = await startSimulator({ port: 0 });
	await sim.close();
	const credentials = ksherCredentials(sim);
	const node: INode = {
		id: 'trigger',
		name: 'Ksher Trigger',
		type: 'n8n-nodes-ksher.ksherTrigger',
		typeVersion: 1,
		position: [0, 0],
		webhookId: '11111111-2222-4333-8444-555555555555',
		parameters: { events: ['paid', 'refunded'] },
		credentials: { ksherApi: { id: 'cred-1', name: 'Ksher' } },
	};
	// As n8n does for every request: the workflow and its static data loaded afresh, saved whole afterwards.
	let workflowId = 'wf-bench';
	let storedStaticData = '{}';
	const stored = { nodes: [node], connections: {}, active: true, nodeTypes };
	const trigger = new KsherTrigger();
	// Its method and path as the trigger's description declares them.
	const [webhookDescription] = trigger.description.webhooks!;
	const { httpMethod, path } = webhookDescription;
	const webhookData = {
		httpMethod,
		node: node.name,
		path,
		webhookDescription,
		workflowId,
	} as unknown as IWebhookData;
	const base = {
		appid: sim.info.appid,
		attach: '',
		cash_fee: 15050,
		cash_fee_type: 'THB',
		channel: 'promptpay',
		channel_order_no: '4200',
		fee_type: 'THB',
		ksher_order_no: '70020261127140600000001',
		nonce_str: 'abcdefabcdefabcdefabcdefabcdefab',
		openid: '',
		pay_mch_order_no: '2611271406000001',
		rate: '1.000000',
		result: 'SUCCESS',
		time_end: ksherTime(new Date()),
		total_fee: 15050,
	};
	const body = (i: number) =>
		Buffer.from(sim.signedNotification({ ...base, mch_order_no: `N-${i}` }));

	let emitted = 0;
	const deliver = async (raw: Buffer) => {
		const res = {
			statusCode: 0,
			status(c: number) {
				this.statusCode = c;
				return this;
			},
			setHeader() {
				return this;
			},
			end() {
				return this;
			},
		};
		const req = { rawBody: raw, headers: {}, body: {}, params: {}, query: {} };
		const workflow = new Workflow({
			...stored,
			id: workflowId,
			staticData: JSON.parse(storedStaticData) as IDataObject,
		});
		const context = new WebhookContext(
			workflow,
			node,
			makeAdditionalData(credentials, 'bench', undefined, { httpRequest: req, httpResponse: res }),
			'webhook',
			webhookData,
			[],
			null,
		);
		const result = await trigger.webhook.call(context);
		if (workflow.staticData.__dataChanged === true)
			storedStaticData = JSON.stringify(workflow.staticData);
		if (result.workflowData) emitted++;
		// A genuine notification is answered by n8n with the node's webhookResponse (200).
		return result.webhookResponse !== undefined ? 200 : res.statusCode;
	};

	const count = quick ? 2000 : 20_000;
	const bodies = Array.from({ length: count + 2000 }, (_, i) => body(i));
	for (let i = 0; i < 2000; i++) await deliver(bodies[count + i]);
	progress(`trigger: ${count} genuine notifications through webhook()`);
	const latencies: number[] = [];
	const started = process.hrtime.bigint();
	for (let i = 0; i < count; i++) {
		const t = process.hrtime.bigint();
		if ((await deliver(bodies[i])) !== 200) throw new Error('a genuine notification was refused');
		latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
	}
	const seconds = Number(process.hrtime.bigint() - started) / 1e9;
	if (emitted !== count + 2000) throw new Error(`emitted ${emitted}, expected ${count + 2000}`);
	note('trigger_notifications_per_s', count / seconds, '/s');
	note('trigger_p99_ms', percentile(latencies, 99), 'ms');

	// Memory: 100,000 distinct notifications into a fresh workflow's static data.
	const gc = (globalThis as { gc?: () => void }).gc;
	const heap = () => {
		gc?.();
		gc?.();
		return process.memoryUsage().heapUsed;
	};
	// A fresh workflow: the trigger's memory is per workflow (and per process).
	workflowId = 'wf-bench-memory';
	storedStaticData = '{}';
	const total = quick ? 10_000 : 100_000;
	progress(
		`trigger: ${total} distinct notifications for the memory figure${gc ? '' : ' (run node with --expose-gc for an exact figure)'}`,
	);
	const before = heap();
	// Distinct orders, each signed as Ksher would sign it.
	for (let i = 0; i < total; i++) await deliver(body(1_000_000 + i));
	const after = heap();
	note(
		'dedupe_memory_mb_after_100k',
		(after - before) / 1024 / 1024,
		'MB',
		'(all 100,000 kept: the 48-hour window)',
	);
};
