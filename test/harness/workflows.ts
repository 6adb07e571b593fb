import { readFileSync } from 'fs';
import { join } from 'path';

import { REPO_DIR } from './n8n';

export const TRIGGER_WEBHOOK_ID = '5b0f3f5e-7c2a-4e4b-9a43-6b2f2b0d0001';
export const WORKFLOW_IDS = {
	receipt: 'ksherReceipt0001',
	refundSheet: 'ksherRefundCsv01',
	paymentLink: 'ksherPayLink0001',
	onceOnly: 'ksherOnceOnly001',
	load: 'ksherLoadOnly001',
	webhookNode: 'n8nWebhookLoad01',
	recordPaid: 'ksherRecordPaid1',
	watch: 'ksherWatchOrder1',
	refundQueue: 'ksherRefundQueue',
	refundApproval: 'ksherRefundOkay1',
	books: 'ksherBooksDaily1',
	chatQr: 'ksherChatQr0001',
};
/** The sell-in-chat example's webhook (its Chat Order node): /webhook/<path>. */
export const CHAT_ORDER_PATH = 'ksher-chat-order';
/** The e2e runs the daily reconciliation from a webhook instead of every morning. */
export const BOOKS_WEBHOOK_PATH = 'ksher-books-e2e';
/** The refund queue's columns: staff write orderNumber, amount, reason and status; the workflow writes status, result and refundNumber. */
export const REFUND_QUEUE_COLUMNS = [
	'orderNumber',
	'amount',
	'status',
	'reason',
	'refundNumber',
	'result',
];
export const REFUND_FORM_WEBHOOK_ID = '5b0f3f5e-7c2a-4e4b-9a43-6b2f2b0d0801';
export const RECORD_WEBHOOK_ID = '5b0f3f5e-7c2a-4e4b-9a43-6b2f2b0d0401';
export const WATCH_TABLE_COLUMNS = [
	'orderNumber',
	'email',
	'watchState',
	'amount',
	'currency',
	'channel',
	'paidAt',
];
export const REFUNDS_TABLE_COLUMNS = [
	'orderNumber',
	'refundNumber',
	'refundAmount',
	'currency',
	'channel',
	'refundedAt',
	'customerTold',
];
export const ONCE_ONLY_WEBHOOK_ID = '5b0f3f5e-7c2a-4e4b-9a43-6b2f2b0d0002';
export const LOAD_WEBHOOK_ID = '5b0f3f5e-7c2a-4e4b-9a43-6b2f2b0d0004';
/** n8n's own Webhook node (isFullPath): /webhook/<path>. */
export const WEBHOOK_NODE_PATH = 'ksher-compare';
export const CREDENTIAL_IDS = {
	ksher: 'ksherCredential01',
	smtp: 'smtpCredential001',
	openAi: 'openAiFakeCred01',
};

type Workflow = {
	id: string;
	name: string;
	nodes: Array<Record<string, unknown> & { name: string; parameters: Record<string, unknown> }>;
	[key: string]: unknown;
};

export function loadExample(file: string): Workflow {
	return JSON.parse(readFileSync(join(REPO_DIR, 'examples', file), 'utf8')) as Workflow;
}

/**
 * The example workflows, pointed at this run's files, trigger URL and payment details, and the
 * refund sheet at the refunds table when there is one yet (it records the refunds it makes).
 */
export function exampleWorkflows(options: {
	filesDir: string;
	triggerUrl: string;
	email?: string;
	resultUrl?: string;
	refundsTable?: string;
}): Workflow[] {
	const receipt = loadExample('receipt-on-payment.json');
	const sheet = refundSheetWorkflow(options.filesDir, options.refundsTable);
	const link = loadExample('create-payment-link.json');
	const create = link.nodes.find((n) => n.name === 'Create Payment')!;
	create.parameters.notifyUrl = options.triggerUrl;
	// The payer lands on a page that exists here (the simulator's order page), not on shop.example.
	if (options.resultUrl) {
		create.parameters.successRedirectUrl = options.resultUrl;
		create.parameters.failureRedirectUrl = options.resultUrl;
	}
	create.parameters.additionalFields = {
		...(create.parameters.additionalFields as object),
		attach: JSON.stringify({ email: options.email ?? 'customer@example.com' }),
	};
	const chat = loadExample('sell-in-chat-qr.json');
	chat.nodes.find((n) => n.name === 'Create QR')!.parameters.notifyUrl = options.triggerUrl;
	return [receipt, sheet, link, chat];
}

/**
 * 0.1.0's refund-sheet example exactly as that release shipped it (test/fixtures/releases), as a
 * user who built on 0.1.0 has it saved: only its files moved to this run's folder and its id
 * made its own. Same credential id as today's examples.
 */
export function releasedRefundSheet(release: string, filesDir: string): Workflow {
	const sheet = JSON.parse(
		readFileSync(
			join(REPO_DIR, 'test/fixtures/releases', release, 'examples/refund-from-spreadsheet.json'),
			'utf8',
		),
	) as Workflow;
	sheet.id = `ksherRefund${release.replace(/\D/g, '')}`.padEnd(16, '0').slice(0, 16);
	sheet.name = `${sheet.name} (as saved with ${release})`;
	for (const node of sheet.nodes) {
		for (const key of ['fileSelector', 'fileName'] as const) {
			if (typeof node.parameters[key] === 'string')
				node.parameters[key] = (node.parameters[key] as string).replace(
					'/data/',
					`${filesDir}/${release}-`,
				);
		}
	}
	return sheet;
}

/** The refund sheet, reading and writing this run's files, and recording in `refundsTable` when given. */
export function refundSheetWorkflow(filesDir: string, refundsTable?: string): Workflow {
	const sheet = loadExample('refund-from-spreadsheet.json');
	for (const node of sheet.nodes) {
		for (const key of ['fileSelector', 'fileName'] as const)
			if (typeof node.parameters[key] === 'string')
				node.parameters[key] = (node.parameters[key] as string).replace('/data', filesDir);
	}
	if (refundsTable) pointAtTables(sheet, { refunds: refundsTable });
	return sheet;
}

/**
 * The refund queue (pointed at this n8n's queue table, every `seconds` instead of 10 minutes) and
 * the approval example; both record the refunds they make in the refunds table.
 */
export function refundWorkflows(
	tables: { refundQueue: string; refunds: string },
	seconds?: number,
): Workflow[] {
	const queue = loadExample('refund-queue-data-table.json');
	const approval = loadExample('refund-with-approval.json');
	for (const workflow of [queue, approval]) {
		pointAtTables(workflow, tables);
		for (const node of workflow.nodes) {
			if (node.type === 'n8n-nodes-base.scheduleTrigger' && seconds)
				node.parameters.rule = { interval: [{ field: 'seconds', secondsInterval: seconds }] };
		}
	}
	return [queue, approval];
}

/** This n8n's Data Tables for the examples that keep orders: the recorded orders and the recorded refunds. */
export interface ExampleTables {
	orders: string;
	refunds: string;
}

/** Points each Data Table node at this n8n's table of the name the example gives it (users pick theirs in the node). */
function pointAtTables(
	workflow: Workflow,
	tables: Partial<ExampleTables & { refundQueue: string }>,
): void {
	const byName: Record<string, string | undefined> = {
		'Ksher orders': tables.orders,
		'Ksher refunds': tables.refunds,
		'Ksher refund queue': tables.refundQueue,
	};
	for (const node of workflow.nodes) {
		if (node.type !== 'n8n-nodes-base.dataTable') continue;
		const name = (node.parameters.dataTableId as { cachedResultName?: string }).cachedResultName;
		const id = byName[String(name)];
		if (id === undefined) throw new Error(`${workflow.name}: ${node.name} uses table "${name}"`);
		node.parameters.dataTableId = { __rl: true, mode: 'id', value: id };
	}
}

/**
 * The two watch examples, pointed at this n8n's Data Tables (users pick theirs in the node) and,
 * for a test that cannot wait 5 minutes per run, scheduled every `seconds` instead.
 */
export function watchWorkflows(tables: ExampleTables, seconds?: number): Workflow[] {
	const record = loadExample('record-paid-orders.json');
	const watch = loadExample('watch-orders-email-refunds.json');
	for (const workflow of [record, watch]) pointAtTables(workflow, tables);
	for (const node of watch.nodes) {
		if (node.type === 'n8n-nodes-base.scheduleTrigger' && seconds)
			node.parameters.rule = { interval: [{ field: 'seconds', secondsInterval: seconds }] };
	}
	return [record, watch];
}

/**
 * The daily reconciliation, pointed at this n8n's tables; for the e2e, started by a webhook
 * (POST /webhook/<BOOKS_WEBHOOK_PATH> with {"day": "YYYY-MM-DD"}) instead of every morning, for
 * the trading day it is given (the simulator's clock runs ahead of n8n's).
 */
export function booksWorkflow(tables: ExampleTables, onRequest = false): Workflow {
	const books = loadExample('daily-reconciliation.json');
	pointAtTables(books, tables);
	if (onRequest) {
		books.nodes.find((n) => n.name === 'Report Day')!.parameters.assignments = {
			assignments: [{ id: 'd1', name: 'day', value: '={{ $json.body.day }}', type: 'string' }],
		};
		const trigger = books.nodes.find((n) => n.name === 'Every Morning')!;
		Object.assign(trigger, {
			type: 'n8n-nodes-base.webhook',
			typeVersion: 2,
			webhookId: '5b0f3f5e-7c2a-4e4b-9a43-6b2f2b0d0901',
			parameters: {
				httpMethod: 'POST',
				path: BOOKS_WEBHOOK_PATH,
				responseMode: 'onReceived',
				options: {},
			},
		});
	}
	return books;
}

/**
 * Ksher Trigger → Wait (1 s): a run that is still going when later copies arrive, for the
 * exactly-once checks.
 */
export function onceOnlyWorkflow(): Workflow {
	const id = WORKFLOW_IDS.onceOnly;
	return testWorkflow(
		id,
		'e2e: one run per notification',
		[
			{
				id: `${id}-trigger`,
				name: 'Ksher Trigger',
				type: 'n8n-nodes-ksher.ksherTrigger',
				typeVersion: 1,
				position: [0, 0],
				webhookId: ONCE_ONLY_WEBHOOK_ID,
				parameters: { events: ['paid'], options: {} },
				credentials: { ksherApi: { id: CREDENTIAL_IDS.ksher, name: 'Ksher account' } },
			},
			waitOneSecond(id, '5b0f3f5e-7c2a-4e4b-9a43-6b2f2b0d0003'),
		],
		{ 'Ksher Trigger': { main: [[{ node: 'Wait', type: 'main', index: 0 }]] } },
	);
}

/** A Wait node of 1 s after the trigger: the run is still going when later copies arrive. */
function waitOneSecond(workflowId: string, webhookId: string): Workflow['nodes'][number] {
	return {
		id: `${workflowId}-wait`,
		name: 'Wait',
		type: 'n8n-nodes-base.wait',
		typeVersion: 1.1,
		position: [240, 0],
		parameters: { resume: 'timeInterval', amount: 1, unit: 'seconds' },
		webhookId,
	};
}

/**
 * A Ksher Trigger alone, and n8n's own Webhook node alone: the load comparison's two receivers, answering at the
 * same moment: once the execution is stored ('stored': the Webhook node's responseMode onReceived) or once the
 * run has finished ('finished', the trigger's default: the Webhook node's lastNode).
 */
export function loadWorkflows(
	acknowledge: 'stored' | 'finished' = 'stored',
	options: { giveUpAfterMinutes?: number } = {},
): Workflow[] {
	return [
		testWorkflow(WORKFLOW_IDS.load, 'e2e: Ksher Trigger under load', [
			{
				// (n8n 2.41 also evaluates an expression, so takes an isolate, for every request to a version-1 node of
				// any kind: webhook-helpers' parseRequestBody.)
				id: `${WORKFLOW_IDS.load}-trigger`,
				name: 'Ksher Trigger',
				type: 'n8n-nodes-ksher.ksherTrigger',
				typeVersion: 2,
				position: [0, 0],
				webhookId: LOAD_WEBHOOK_ID,
				parameters: { acknowledge, events: ['paid'], options },
				credentials: { ksherApi: { id: CREDENTIAL_IDS.ksher, name: 'Ksher account' } },
			},
		]),
		testWorkflow(WORKFLOW_IDS.webhookNode, 'e2e: n8n Webhook node under load', [
			{
				id: `${WORKFLOW_IDS.webhookNode}-webhook`,
				name: 'Webhook',
				type: 'n8n-nodes-base.webhook',
				typeVersion: 2,
				position: [0, 0],
				webhookId: '5b0f3f5e-7c2a-4e4b-9a43-6b2f2b0d0005',
				parameters: {
					httpMethod: 'POST',
					path: WEBHOOK_NODE_PATH,
					responseMode: acknowledge === 'finished' ? 'lastNode' : 'onReceived',
					options: {},
				},
			},
		]),
	];
}

/** A Manual Trigger → Ksher workflow for one operation. */
export function operationWorkflow(
	id: string,
	name: string,
	parameters: Record<string, unknown>,
): Workflow {
	return testWorkflow(
		id,
		name,
		[
			manualStart(id),
			{
				id: `${id}-ksher`,
				name: 'Ksher',
				type: 'n8n-nodes-ksher.ksher',
				typeVersion: 1,
				position: [240, 0],
				parameters,
				credentials: { ksherApi: { id: CREDENTIAL_IDS.ksher, name: 'Ksher account' } },
			},
		],
		{ Start: { main: [[{ node: 'Ksher', type: 'main', index: 0 }]] } },
	);
}

/** The Manual Trigger (Start) that `n8n execute` runs a workflow from. */
function manualStart(workflowId: string): Workflow['nodes'][number] {
	return {
		id: `${workflowId}-start`,
		name: 'Start',
		type: 'n8n-nodes-base.manualTrigger',
		typeVersion: 1,
		position: [0, 0],
		parameters: {},
	};
}

/** A workflow of the tests' own, imported inactive (each step publishes what it needs). */
function testWorkflow(
	id: string,
	name: string,
	nodes: Workflow['nodes'],
	connections: Record<string, unknown> = {},
): Workflow {
	return { id, name, active: false, settings: { executionOrder: 'v1' }, nodes, connections };
}

export function credentialsFile(options: {
	sim: {
		appid: string;
		merchantPrivateKey: string;
		ksherPublicKey: string;
		gatewayUrl: string;
		apiUrl: string;
	};
	smtp: { host: string; port: number };
	openAiUrl?: string;
}) {
	return [
		{
			id: CREDENTIAL_IDS.ksher,
			name: 'Ksher account',
			type: 'ksherApi',
			data: {
				appId: options.sim.appid,
				privateKey: options.sim.merchantPrivateKey,
				signVersion: 'V1',
				ksherPublicKey: options.sim.ksherPublicKey,
				environment: 'custom',
				gatewayUrl: options.sim.gatewayUrl,
				apiUrl: options.sim.apiUrl,
			},
		},
		{
			id: CREDENTIAL_IDS.smtp,
			name: 'SMTP account',
			type: 'smtp',
			data: {
				user: '',
				password: '',
				host: options.smtp.host,
				port: options.smtp.port,
				secure: false,
				disableStartTls: true,
			},
		},
		...(options.openAiUrl
			? [
					{
						id: CREDENTIAL_IDS.openAi,
						name: 'Local chat model',
						type: 'openAiApi',
						data: { apiKey: 'sk-local-no-model', url: options.openAiUrl },
					},
				]
			: []),
	];
}

/**
 * Manual Trigger → AI Agent, with a chat model at `openAiUrl` (the e2e's fake) and three Ksher
 * Tool nodes, each fixed to one operation: the agent fills only the values marked $fromAI.
 */
export function agentWorkflow(id: string, prompt: string): Workflow {
	const ksherCredential = { ksherApi: { id: CREDENTIAL_IDS.ksher, name: 'Ksher account' } };
	const tool = (
		name: string,
		y: number,
		description: string,
		parameters: Record<string, unknown>,
	) => ({
		id: `${id}-${name.replace(/ /g, '')}`,
		name,
		type: 'n8n-nodes-ksher.ksherTool',
		typeVersion: 2,
		position: [y, 240],
		parameters: {
			descriptionType: 'manual',
			toolDescription: description,
			...parameters,
			options: {},
		},
		credentials: ksherCredential,
	});
	// With a default the agent may leave the value out (n8n makes it optional in the tool's schema).
	const fromAi = (key: string, description: string, fallback?: string) =>
		`={{ $fromAI('${key}', '${description}', 'string'${fallback === undefined ? '' : `, '${fallback}'`}) }}`;
	return testWorkflow(
		id,
		`e2e: AI Agent with the Ksher Tool (${id})`,
		[
			manualStart(id),
			{
				id: `${id}-agent`,
				name: 'AI Agent',
				type: '@n8n/n8n-nodes-langchain.agent',
				typeVersion: 2.2,
				position: [240, 0],
				parameters: {
					promptType: 'define',
					text: prompt,
					options: {
						systemMessage: 'You take payments for a shop with the Ksher tools.',
						maxIterations: 10,
					},
				},
			},
			{
				id: `${id}-model`,
				name: 'Chat Model',
				type: '@n8n/n8n-nodes-langchain.lmChatOpenAi',
				typeVersion: 1.2,
				position: [120, 240],
				parameters: { model: { __rl: true, mode: 'id', value: 'gpt-4o-mini' }, options: {} },
				credentials: { openAiApi: { id: CREDENTIAL_IDS.openAi, name: 'Local chat model' } },
			},
			tool('Create Payment', 280, 'Create a Ksher payment link for an order', {
				resource: 'payment',
				operation: 'create',
				orderNumber: fromAi('orderNumber', 'the shop order number'),
				amount: fromAi('amount', 'the amount in THB, e.g. 99.00'),
				productName: 'Order from the assistant',
				channels: ['promptpay', 'card'],
				successRedirectUrl: 'https://shop.example/thank-you',
			}),
			tool('Get Payment', 440, 'Get the state of a Ksher payment', {
				resource: 'payment',
				operation: 'get',
				orderNumber: fromAi('orderNumber', 'the shop order number'),
			}),
			tool('Refund Payment', 600, 'Refund a paid Ksher payment', {
				resource: 'refund',
				operation: 'create',
				orderNumber: fromAi('orderNumber', 'the shop order number'),
				whatToRefund: fromAi(
					'whatToRefund',
					'amount to refund refundAmount, or remaining to refund everything not refunded yet',
					'amount',
				),
				refundAmount: fromAi('refundAmount', 'the amount to refund in THB', ''),
			}),
		],
		{
			Start: { main: [[{ node: 'AI Agent', type: 'main', index: 0 }]] },
			'Chat Model': {
				ai_languageModel: [[{ node: 'AI Agent', type: 'ai_languageModel', index: 0 }]],
			},
			'Create Payment': { ai_tool: [[{ node: 'AI Agent', type: 'ai_tool', index: 0 }]] },
			'Get Payment': { ai_tool: [[{ node: 'AI Agent', type: 'ai_tool', index: 0 }]] },
			'Refund Payment': { ai_tool: [[{ node: 'AI Agent', type: 'ai_tool', index: 0 }]] },
		},
	);
}

export const FINISHING_WEBHOOK_IDS = {
	crash: '5b0f3f5e-7c2a-4e4b-9a43-6b2f2b0d0901',
	confirm: '5b0f3f5e-7c2a-4e4b-9a43-6b2f2b0d0902',
	memoryFull: '5b0f3f5e-7c2a-4e4b-9a43-6b2f2b0d0903',
	memoryEmpty: '5b0f3f5e-7c2a-4e4b-9a43-6b2f2b0d0904',
};
export const FINISHING_WORKFLOW_IDS = {
	crash: 'ksherCrashRun001',
	confirm: 'ksherConfirm0001',
	memoryFull: 'ksherMemoryFull1',
	memoryEmpty: 'ksherMemoryNone1',
};

/**
 * A Ksher Trigger as new nodes come (version 2: Ksher is answered once the run has finished),
 * optionally followed by a 1 s Wait and an email whose subject names the order: the email is
 * the run's last step, so one email = one run that got to its end.
 */
export function finishingWorkflow(
	kind: keyof typeof FINISHING_WORKFLOW_IDS,
	options: {
		email?: boolean;
		confirmWithKsher?: boolean;
		giveUpAfterMinutes?: number;
		staticData?: Record<string, unknown>;
	} = {},
): Workflow {
	const id = FINISHING_WORKFLOW_IDS[kind];
	const nodes: Workflow['nodes'] = [
		{
			id: `${id}-trigger`,
			name: 'Ksher Trigger',
			type: 'n8n-nodes-ksher.ksherTrigger',
			typeVersion: 2,
			position: [0, 0],
			webhookId: FINISHING_WEBHOOK_IDS[kind],
			parameters: {
				events: ['paid'],
				options: {
					...(options.confirmWithKsher ? { confirmWithKsher: true } : {}),
					...(options.giveUpAfterMinutes ? { giveUpAfterMinutes: options.giveUpAfterMinutes } : {}),
				},
			},
			credentials: { ksherApi: { id: CREDENTIAL_IDS.ksher, name: 'Ksher account' } },
		},
	];
	const connections: Record<string, unknown> = {};
	if (options.email) {
		nodes.push(
			waitOneSecond(
				id,
				`${FINISHING_WEBHOOK_IDS[kind].slice(0, -4)}9${FINISHING_WEBHOOK_IDS[kind].slice(-3)}`,
			),
			{
				id: `${id}-email`,
				name: 'Send Email',
				type: 'n8n-nodes-base.emailSend',
				typeVersion: 2.1,
				position: [480, 0],
				parameters: {
					fromEmail: 'shop@example.com',
					toEmail: 'runs@example.com',
					subject: "=Run for {{ $('Ksher Trigger').item.json.orderNumber }}",
					emailFormat: 'text',
					text: "=possibleDuplicate={{ $('Ksher Trigger').item.json.possibleDuplicate === true }}",
					options: {},
				},
				credentials: { smtp: { id: CREDENTIAL_IDS.smtp, name: 'SMTP account' } },
			},
		);
		connections['Ksher Trigger'] = { main: [[{ node: 'Wait', type: 'main', index: 0 }]] };
		connections.Wait = { main: [[{ node: 'Send Email', type: 'main', index: 0 }]] };
	}
	return {
		...testWorkflow(id, `e2e: Ksher Trigger v2 (${kind})`, nodes, connections),
		...(options.staticData ? { staticData: options.staticData } : {}),
	};
}
