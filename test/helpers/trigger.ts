import { createServer, type IncomingMessage, type ServerResponse } from 'http';
import type { AddressInfo } from 'net';

import { WebhookContext } from 'n8n-core';
import { Workflow, type ICredentialDataDecryptedObject, type IDataObject, type INode, type IWebhookData, type IWebhookResponseData } from 'n8n-workflow';

import { KsherTrigger } from '../../nodes/KsherTrigger/KsherTrigger.node.ts';
import { makeAdditionalData, nodeTypes } from './n8n';

export interface Delivery {
	status: number;
	body: string;
	emitted: IDataObject[];
}

/**
 * The Ksher Trigger behind a real HTTP server: each POST becomes a real request object
 * (with n8n's `rawBody`) handed to the node's webhook() through n8n-core's WebhookContext,
 * against one long-lived workflow whose static data persists between calls, as in an
 * active n8n workflow.
 */
export interface TriggerServer {
	url: string;
	/** Every answer the trigger gave, in order. */
	deliveries: Delivery[];
	/** Every item that would have started a workflow run. */
	emitted: IDataObject[];
	staticData: () => IDataObject;
	post: (body: string | Buffer, contentType?: string) => Promise<{ status: number; body: string }>;
	close: () => Promise<void>;
}

export async function startTrigger(options: { credentials: ICredentialDataDecryptedObject; parameters?: INode['parameters']; mode?: 'webhook' | 'manual' }): Promise<TriggerServer> {
	const node: INode = {
		id: 'trigger',
		name: 'Ksher Trigger',
		type: 'n8n-nodes-ksher.ksherTrigger',
		typeVersion: 1,
		position: [0, 0],
		webhookId: '11111111-2222-4333-8444-555555555555',
		parameters: { events: ['paid', 'refunded'], ...(options.parameters ?? {}) },
		credentials: { ksherApi: { id: 'cred-1', name: 'Ksher test' } },
	};
	const workflow = new Workflow({ id: 'wf-trigger', nodes: [node], connections: {}, active: true, nodeTypes, staticData: {} });
	const trigger = new KsherTrigger();
	const deliveries: Delivery[] = [];
	const emitted: IDataObject[] = [];
	let counter = 0;

	const handle = async (req: IncomingMessage & { rawBody?: Buffer }, res: ServerResponse) => {
		const chunks: Buffer[] = [];
		for await (const chunk of req) chunks.push(chunk as Buffer);
		req.rawBody = Buffer.concat(chunks);
		// The two express additions the node uses.
		const response = Object.assign(res, {
			status(code: number) {
				res.statusCode = code;
				return response;
			},
		});
		const webhookData = { httpMethod: 'POST', node: node.name, path: 'webhook', webhookDescription: trigger.description.webhooks![0], workflowId: workflow.id } as unknown as IWebhookData;
		const additionalData = makeAdditionalData(options.credentials, `hook-${++counter}`, undefined, { httpRequest: req, httpResponse: response });
		const context = new WebhookContext(workflow, node, additionalData, options.mode ?? 'webhook', webhookData, [], null);
		let result: IWebhookResponseData;
		try {
			result = await trigger.webhook.call(context);
		} catch (error) {
			if (!res.headersSent) res.writeHead(500).end(JSON.stringify({ error: (error as Error).message }));
			throw error;
		}
		const items = (result.workflowData?.[0] ?? []).map((i) => i.json);
		emitted.push(...items);
		if (!result.noWebhookResponse && !res.writableEnded) res.writeHead(200).end(JSON.stringify({ message: 'Workflow was started' }));
		return items;
	};

	const server = createServer((req, res) => {
		const originalEnd = res.end.bind(res);
		let body = '';
		res.end = ((chunk?: unknown, ...rest: unknown[]) => {
			if (typeof chunk === 'string' || Buffer.isBuffer(chunk)) body += chunk.toString();
			return originalEnd(chunk as never, ...(rest as never[]));
		}) as typeof res.end;
		handle(req, res).then(
			(items) => deliveries.push({ status: res.statusCode, body, emitted: items }),
			() => deliveries.push({ status: 500, body, emitted: [] }),
		);
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook/${node.webhookId}/webhook`;
	return {
		url,
		deliveries,
		emitted,
		staticData: () => workflow.staticData as IDataObject,
		post: async (body, contentType = 'text/plain;charset=utf-8') => {
			const response = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body });
			return { status: response.status, body: await response.text() };
		},
		close: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}
