import { createServer, type IncomingMessage, type ServerResponse } from 'http';
import type { AddressInfo } from 'net';

import { WebhookContext } from 'n8n-core';
import {
	Workflow,
	type ICredentialDataDecryptedObject,
	type IDataObject,
	type INode,
	type IWebhookData,
	type IWebhookResponseData,
} from 'n8n-workflow';

import { KsherTrigger } from '../../nodes/KsherTrigger/KsherTrigger.node.ts';
import type { Simulator, SimulatorOptions } from '../simulator/server';
import type { Order } from '../simulator/state';
import { makeAdditionalData, nodeTypes } from './n8n';
import { simulatorCredentials } from './node';
import { startHarness, type SimulatorHarness } from './simulator';

export interface Delivery {
	status: number;
	body: string;
	emitted: IDataObject[];
}

/**
 * The Ksher Trigger behind a real HTTP server, handled the way a real n8n (2.41) handles a
 * production webhook request (packages/cli/src/webhooks/live-webhooks.ts, webhook-helpers.ts,
 * workflow-runner.ts):
 * - for every request the workflow and its static data are loaded afresh from the
 *   "database" (here `store.json`), never shared with other requests;
 * - webhook() runs through n8n-core's WebhookContext with a real request (n8n's `rawBody`)
 *   and response;
 * - when it returns workflow data, the run starts: the request's static data is wrapped in a
 *   second Workflow (which clears its "changed" mark), the run reloads the static data from
 *   the database and the execution is stored; then the request's static data is saved whole
 *   if it is marked changed (last writer wins), and only then does the answer go out: the
 *   description's responseData, else the node's `webhookResponse` (responseMode onReceived);
 * - otherwise the static data is saved, then the node's own answer (or webhookResponse) goes out.
 * Each step that touches the database yields, so concurrent requests interleave as they do
 * in n8n. `restart()` models a new n8n process: the node's modules are loaded afresh, and
 * only the database survives.
 */
export interface TriggerServer {
	url: string;
	/** Every answer the trigger gave, in order. */
	deliveries: Delivery[];
	/** Every item of a stored execution, i.e. of a run n8n started. */
	emitted: IDataObject[];
	/** Every item of a run that got to its end (not cut short by a crash, not failed). */
	finished: IDataObject[];
	/** The static data as stored in the "database". */
	staticData: () => IDataObject;
	post: (body: string | Buffer, contentType?: string) => Promise<{ status: number; body: string }>;
	/** A new process: the trigger's modules are loaded afresh; the stored static data stays. */
	restart: () => void;
	/**
	 * n8n killed (SIGKILL) and started again: requests in flight never save and never answer
	 * (their connections drop), runs in flight never finish; then as restart().
	 */
	crash: () => void;
	close: () => Promise<void>;
}

export interface TriggerOptions {
	credentials: ICredentialDataDecryptedObject;
	parameters?: INode['parameters'];
	mode?: 'webhook' | 'manual';
	/**
	 * Models a workflow whose other nodes change static data (a Code node, another trigger):
	 * each run saves the copy it loaded when it started, this many ms after it started.
	 */
	runSavesStaleCopyAfterMs?: number;
	/** How long storing the execution takes for a delivery (1-based), as a busy n8n would: Ksher may stop waiting first. */
	storeDelayMs?: (delivery: number) => number;
	/** Makes storing the execution fail for these delivery numbers (1-based), as a database error would. */
	failStoringExecution?: (delivery: number) => boolean;
	/**
	 * For these deliveries n8n stores and queues the run (a worker runs it), then answers 500 "Workflow could not
	 * be started!" without saving the static data: n8n 2.41 in queue mode when a database write fails after
	 * it queued the job (Acknowledge "When the Run Is Stored").
	 */
	answerErrorAfterQueuing?: (delivery: number) => boolean;
	/**
	 * For these deliveries n8n stores the execution as failed before it starts (its credential check's database
	 * query timed out) and answers as if it had run: 200 "Workflow executed successfully but no data was returned"
	 * (Acknowledge "When the Workflow Has Finished"), n8n 2.41's WorkflowRunner.run under load.
	 */
	failStartAnswering200?: (delivery: number) => boolean;
	/** The trigger node's version (default 1). */
	typeVersion?: number;
	/** What the "database" holds for the workflow's static data at the start. */
	staticData?: IDataObject;
	/** How long a run takes (Acknowledge "When the Workflow Has Finished" answers after it). */
	runMs?: number;
	/** Makes the run of these deliveries fail (a node errors): n8n then answers 500 "Error in workflow". */
	failRun?: (delivery: number) => boolean;
	/** Makes the run of these deliveries never end (an execution stuck "running"): n8n never answers, Ksher times out. */
	hangRun?: (delivery: number) => boolean;
	/**
	 * Ksher stops waiting for these deliveries (closes its connection) once n8n has stored the execution:
	 * n8n goes on (the run, the save of the static data) and its answer goes nowhere.
	 */
	dropConnection?: (delivery: number) => boolean;
	/** Kills n8n (as crash()) when this delivery (1-based) reaches this step. */
	crashAt?: {
		delivery: number;
		step: 'before storing the execution' | 'before saving the static data' | 'before answering';
	};
}

type TriggerClass = new () => KsherTrigger;

/** The trigger class from a fresh module registry: what a restarted n8n process loads. */
function freshTriggerClass(): TriggerClass {
	let loaded: TriggerClass | undefined;
	jest.isolateModules(() => {
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const module = require('../../nodes/KsherTrigger/KsherTrigger.node.ts') as {
			KsherTrigger: TriggerClass;
		};
		loaded = module.KsherTrigger;
	});
	return loaded!;
}

const databaseLatency = () =>
	new Promise<void>((resolve) => setTimeout(resolve, Math.random() * 3));

export async function startTrigger(options: TriggerOptions): Promise<TriggerServer> {
	const node: INode = {
		id: 'trigger',
		name: 'Ksher Trigger',
		type: 'n8n-nodes-ksher.ksherTrigger',
		typeVersion: options.typeVersion ?? 1,
		position: [0, 0],
		webhookId: '11111111-2222-4333-8444-555555555555',
		parameters: { events: ['paid', 'refunded'], ...(options.parameters ?? {}) },
		credentials: { ksherApi: { id: 'cred-1', name: 'Ksher test' } },
	};
	const workflowId = `wf-trigger-${++harnessCount}`;
	const store = { json: JSON.stringify(options.staticData ?? {}) };
	let trigger = new KsherTrigger();
	const deliveries: Delivery[] = [];
	const emitted: IDataObject[] = [];
	const finished: IDataObject[] = [];
	let counter = 0;
	/** The workflow n8n builds around static data it loaded: for the request, and again for the run. */
	const workflowOf = (staticData: IDataObject) =>
		new Workflow({
			id: workflowId,
			nodes: [node],
			connections: {},
			active: true,
			nodeTypes,
			staticData,
		});

	const save = async (workflow: Workflow) => {
		await databaseLatency();
		if (workflow.staticData.__dataChanged === true) {
			store.json = JSON.stringify(workflow.staticData);
			workflow.staticData.__dataChanged = false;
		}
	};

	let generation = 0;
	const crash = () => {
		generation++;
		trigger = new (freshTriggerClass())();
	};
	const handle = async (req: IncomingMessage & { rawBody?: Buffer }, res: ServerResponse) => {
		const delivery = ++counter;
		const born = generation;
		const crashesAt = (step: NonNullable<TriggerOptions['crashAt']>['step']) => {
			if (options.crashAt?.delivery === delivery && options.crashAt.step === step) crash();
		};
		/** After a crash, this request's process is gone: nothing more of it happens. */
		const dead = () => {
			if (born === generation) return false;
			res.socket?.destroy();
			return true;
		};
		const chunks: Buffer[] = [];
		for await (const chunk of req) chunks.push(chunk as Buffer);
		req.rawBody = Buffer.concat(chunks);
		// The express additions the node and n8n use.
		const response = Object.assign(res, {
			status(code: number) {
				res.statusCode = code;
				return response;
			},
			json(body: unknown) {
				res.setHeader('content-type', 'application/json; charset=utf-8');
				return response.send(body === undefined ? '' : JSON.stringify(body));
			},
			send(body?: unknown) {
				if (!res.writableEnded) res.end(body === undefined ? '' : String(body));
				return response;
			},
		});
		await databaseLatency();
		const loaded = JSON.parse(store.json) as IDataObject;
		const workflow = workflowOf(loaded);
		const webhookData = {
			httpMethod: 'POST',
			node: node.name,
			path: 'webhook',
			webhookDescription: trigger.description.webhooks![0],
			workflowId,
		} as unknown as IWebhookData;
		const additionalData = makeAdditionalData(options.credentials, `hook-${delivery}`, undefined, {
			httpRequest: req,
			httpResponse: response,
		});
		const context = new WebhookContext(
			workflow,
			node,
			additionalData,
			options.mode ?? 'webhook',
			webhookData,
			[],
			null,
		);
		let result: IWebhookResponseData;
		try {
			result = await trigger.webhook.call(context);
		} catch (error) {
			if (!res.headersSent)
				res.writeHead(500).end(JSON.stringify({ error: (error as Error).message }));
			throw error;
		}
		if (dead()) return [];
		if (result.workflowData === undefined) {
			await save(workflow);
			if (dead()) return [];
			if (!result.noWebhookResponse)
				response.status(200).json(result.webhookResponse ?? { message: 'Webhook call received' });
			return [];
		}
		// WorkflowRunner.run(): establishContextForPersistence() wraps the request's static data
		// in a second Workflow, which clears its "changed" mark; then the run's own copy of the
		// static data is loaded, and the execution stored.
		workflowOf(loaded);
		const runStaticData = store.json;
		crashesAt('before storing the execution');
		await databaseLatency();
		const storeDelay = options.storeDelayMs?.(delivery) ?? 0;
		if (storeDelay > 0) await new Promise((r) => setTimeout(r, storeDelay));
		if (dead()) return [];
		if (options.failStoringExecution?.(delivery)) {
			if (!res.headersSent) response.status(500).json({ code: 0, message: 'Error in workflow' });
			return [];
		}
		const items = result.workflowData[0].map((i) => i.json);
		emitted.push(...items);
		if (options.dropConnection?.(delivery)) res.socket?.destroy();
		if (options.runSavesStaleCopyAfterMs !== undefined) {
			setTimeout(() => {
				store.json = runStaticData;
			}, options.runSavesStaleCopyAfterMs);
		}
		// The description's fields as n8n 2.41 resolves them natively from the node's parameters.
		const description = trigger.description.webhooks![0] as unknown as Record<
			string | symbol,
			unknown
		>;
		const resolvers = description[Symbol.for('n8n.webhookDescriptionResolvers')] as Record<
			string,
			{ resolve: (p: unknown) => unknown }
		>;
		const parameters = {
			acknowledge: node.typeVersion >= 2 ? 'finished' : 'stored',
			...node.parameters,
		};
		const responseMode = resolvers.responseMode.resolve(parameters);
		if (responseMode === 'lastNode') {
			// The run, then (live-webhooks' responseCallback) the static data is saved and n8n answers:
			// no data for a run that went well, 500 "Error in workflow" for one that failed.
			if (options.runMs) await new Promise((r) => setTimeout(r, options.runMs));
			if (dead()) return [];
			if (options.hangRun?.(delivery)) {
				res.socket?.destroy();
				return [];
			}
			if (options.failStartAnswering200?.(delivery)) {
				response
					.status(200)
					.json({ message: 'Workflow executed successfully but no data was returned' });
				return [];
			}
			const failed = options.failRun?.(delivery) === true;
			if (!failed) finished.push(...items);
			crashesAt('before saving the static data');
			if (dead()) return [];
			await save(workflow);
			crashesAt('before answering');
			if (dead()) return [];
			if (failed) response.status(500).json({ message: 'Error in workflow' });
			else response.status(200).json(undefined);
			return failed ? [] : items;
		}
		if (options.answerErrorAfterQueuing?.(delivery)) {
			finished.push(...items);
			response.status(500).json({ code: 0, message: 'Workflow could not be started!' });
			return items;
		}
		crashesAt('before saving the static data');
		if (dead()) return [];
		await save(workflow);
		crashesAt('before answering');
		if (dead()) return [];
		finished.push(...items);
		// extractWebhookOnReceivedResponse(): the description's responseData wins over webhookResponse;
		// sendStaticResponse() hands a string to res.send, anything else to res.json.
		const onReceived = resolvers.responseData.resolve(parameters) ??
			result.webhookResponse ?? { message: 'Workflow was started' };
		if (!result.noWebhookResponse && !res.headersSent) {
			if (typeof onReceived === 'string') response.status(200).send(onReceived);
			else response.status(200).json(onReceived);
		}
		return items;
	};

	const server = createServer((req, res) => {
		const originalEnd = res.end.bind(res);
		let body = '';
		res.end = ((chunk?: unknown, ...rest: unknown[]) => {
			if (typeof chunk === 'string' || Buffer.isBuffer(chunk)) body += chunk.toString();
			return originalEnd(chunk as never, ...(rest as never[]));
		}) as typeof res.end;
		const handled = handle(req, res).then(
			(items) => void deliveries.push({ status: res.statusCode, body, emitted: items }),
			() => void deliveries.push({ status: 500, body, emitted: [] }),
		);
		active.add(handled);
		void handled.finally(() => active.delete(handled));
	});
	// n8n may still be saving after the answer went out: post() resolves once that is done too.
	const active = new Set<Promise<void>>();
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook/${node.webhookId}/webhook`;
	return {
		url,
		deliveries,
		emitted,
		finished,
		staticData: () => JSON.parse(store.json) as IDataObject,
		post: async (body, contentType = 'text/plain;charset=utf-8') => {
			const response = await fetch(url, {
				method: 'POST',
				headers: { 'content-type': contentType },
				body,
			});
			const answer = { status: response.status, body: await response.text() };
			await Promise.all([...active]);
			return answer;
		},
		restart: () => {
			trigger = new (freshTriggerClass())();
		},
		crash,
		close: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}

let harnessCount = 0;

/**
 * The simulator a test file's triggers verify against (started before its tests, closed after them),
 * and `trigger()`, which starts a Ksher Trigger with the simulator's credentials and closes it after
 * the file's tests. `h` is set once the file's beforeAll hooks have run.
 */
export function triggerSuite(harnessOptions: SimulatorOptions = { timeScale: 0.001 }) {
	const triggers: TriggerServer[] = [];
	const suite = {
		h: undefined as unknown as SimulatorHarness,
		trigger: async (options: Partial<TriggerOptions> = {}) => {
			const t = await startTrigger({
				credentials: simulatorCredentials(suite.h) as ICredentialDataDecryptedObject,
				...options,
			});
			triggers.push(t);
			return t;
		},
	};
	beforeAll(async () => {
		suite.h = await startHarness(harnessOptions);
	});
	afterAll(async () => {
		await Promise.all(triggers.map((t) => t.close()));
		await suite.h.sim.close();
	});
	return suite;
}

/** Fakes only Date, from `now` on: the harness's database latency and n8n's sleeps keep real timers. */
export const fakeDate = (now: number | Date) =>
	jest.useFakeTimers({
		now,
		doNotFake: [
			'nextTick',
			'setImmediate',
			'setTimeout',
			'clearTimeout',
			'setInterval',
			'clearInterval',
			'queueMicrotask',
			'hrtime',
			'performance',
		],
	});

/** The numbers a paid notification carries; without `time_end`, the notification has none. */
export type PaidOrder = Pick<
	Order,
	'mch_order_no' | 'ksher_order_no' | 'pay_mch_order_no' | 'total_fee'
> & { time_end?: string };

/**
 * Ksher's paid notification of `order`, signed with the simulator's Ksher key: its data (in Ksher's
 * field order, `fields` over it, new ones last, the `drop` ones left out) and the body Ksher posts.
 */
export function signedPaid(
	sim: Simulator,
	order: PaidOrder,
	fields: Record<string, unknown> = {},
	drop: string[] = [],
): { data: Record<string, unknown>; body: string } {
	const data: Record<string, unknown> = {
		appid: sim.info.appid,
		attach: '',
		cash_fee: order.total_fee,
		cash_fee_type: 'THB',
		channel: 'promptpay',
		channel_order_no: '',
		fee_type: 'THB',
		ksher_order_no: order.ksher_order_no,
		mch_order_no: order.mch_order_no,
		nonce_str: 'abcdefabcdefabcdefabcdefabcdefab',
		openid: '',
		pay_mch_order_no: order.pay_mch_order_no,
		rate: '1.000000',
		result: 'SUCCESS',
		// Only where known: a notification without one (a replay's shape) has no such field at all.
		...(order.time_end === undefined ? {} : { time_end: order.time_end }),
		total_fee: order.total_fee,
		...fields,
	};
	for (const field of drop) delete data[field];
	return { data, body: sim.signedNotification(data) };
}

/**
 * A fresh simulator order (`create` over the defaults), paid by `channel`, and Ksher's signed
 * notification of it; `fields` (or what they are for the paid order) go over its data.
 */
export async function payFreshOrder(
	h: SimulatorHarness,
	options: {
		create?: Record<string, unknown>;
		channel?: string;
		fields?: Record<string, unknown> | ((order: Order) => Record<string, unknown>);
	} = {},
): Promise<{ orderNo: string; data: Record<string, unknown>; body: string }> {
	const { orderNo } = await h.createOrder(options.create);
	await h.payOrder(orderNo, options.channel);
	const order = h.sim.order(orderNo)!;
	const { fields = {} } = options;
	return {
		orderNo,
		...signedPaid(h.sim, order, typeof fields === 'function' ? fields(order) : fields),
	};
}
