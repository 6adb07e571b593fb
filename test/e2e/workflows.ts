import { readFileSync } from 'fs';
import { join } from 'path';

import { REPO_DIR } from './n8n';

export const TRIGGER_WEBHOOK_ID = '5b0f3f5e-7c2a-4e4b-9a43-6b2f2b0d0001';
export const WORKFLOW_IDS = { receipt: 'ksherReceipt0001', refundSheet: 'ksherRefundCsv01', paymentLink: 'ksherPayLink0001' };
export const CREDENTIAL_IDS = { ksher: 'ksherCredential01', smtp: 'smtpCredential001' };

type Workflow = { id: string; name: string; nodes: Array<Record<string, unknown> & { name: string; parameters: Record<string, unknown> }>; [key: string]: unknown };

export function loadExample(file: string): Workflow {
	return JSON.parse(readFileSync(join(REPO_DIR, 'examples', file), 'utf8')) as Workflow;
}

/** The example workflows, pointed at this run's files, trigger URL and payment details. */
export function exampleWorkflows(options: { filesDir: string; triggerUrl: string; email?: string }): Workflow[] {
	const receipt = loadExample('receipt-on-payment.json');
	const sheet = loadExample('refund-from-spreadsheet.json');
	for (const node of sheet.nodes) {
		if (typeof node.parameters.fileSelector === 'string') node.parameters.fileSelector = node.parameters.fileSelector.replace('/data', options.filesDir);
		if (typeof node.parameters.fileName === 'string') node.parameters.fileName = node.parameters.fileName.replace('/data', options.filesDir);
	}
	const link = loadExample('create-payment-link.json');
	const create = link.nodes.find((n) => n.name === 'Create Payment')!;
	create.parameters.notifyUrl = options.triggerUrl;
	create.parameters.additionalFields = { ...(create.parameters.additionalFields as object), attach: JSON.stringify({ email: options.email ?? 'customer@example.com' }) };
	return [receipt, sheet, link];
}

/** A Manual Trigger → Ksher workflow for one operation. */
export function operationWorkflow(id: string, name: string, parameters: Record<string, unknown>): Workflow {
	return {
		id,
		name,
		active: false,
		settings: { executionOrder: 'v1' },
		nodes: [
			{ id: `${id}-start`, name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
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
		connections: { Start: { main: [[{ node: 'Ksher', type: 'main', index: 0 }]] } },
	};
}

export function credentialsFile(options: { sim: { appid: string; merchantPrivateKey: string; ksherPublicKey: string; gatewayUrl: string; apiUrl: string }; smtp: { host: string; port: number } }) {
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
			data: { user: '', password: '', host: options.smtp.host, port: options.smtp.port, secure: false, disableStartTls: true },
		},
	];
}
