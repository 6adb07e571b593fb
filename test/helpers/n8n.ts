import 'reflect-metadata';

import { ExecutionLifecycleHooks, WorkflowExecute } from 'n8n-core';
import {
	ICredentialsHelper,
	LoggerProxy,
	NodeConnectionTypes,
	NodeHelpers,
	Workflow,
	type ICredentialDataDecryptedObject,
	type ICredentials,
	type IDataObject,
	type IExecuteFunctions,
	type IHttpRequestOptions,
	type INode,
	type INodeExecutionData,
	type INodeProperties,
	type INodeType,
	type INodeTypes,
	type INodeTypeDescription,
	type IRun,
	type IVersionedNodeType,
	type IWorkflowExecuteAdditionalData,
} from 'n8n-workflow';

import { KsherApi } from '../../credentials/KsherApi.credentials';
import { Ksher } from '../../nodes/Ksher/Ksher.node.ts';
import { KsherTrigger } from '../../nodes/KsherTrigger/KsherTrigger.node.ts';

/** Everything n8n logs during the tests, kept for leak checks instead of printed. */
export const n8nLog: string[] = [];
const keep =
	(level: string) =>
	(message: string, meta?: object): void => {
		n8nLog.push(
			`${level} ${message} ${meta ? JSON.stringify(meta, (_k, v: unknown) => (v instanceof Error ? { message: v.message, stack: v.stack } : v)) : ''}`,
		);
	};
const keepingLogger = {
	error: keep('error'),
	warn: keep('warn'),
	info: keep('info'),
	debug: keep('debug'),
	scoped: () => keepingLogger,
};
LoggerProxy.init(keepingLogger as never);
// Nodes log through `this.logger`: the Logger from n8n-core's own copy of n8n's container (whose
// constructor would take LoggerProxy over too).
const fromN8nCore = (name: string) =>
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	require(require.resolve(name, { paths: [require.resolve('n8n-core')] })) as Record<
		string,
		unknown
	>;
(fromN8nCore('@n8n/di').Container as { set: (key: unknown, value: unknown) => void }).set(
	fromN8nCore('@n8n/backend-common').Logger,
	keepingLogger,
);

/** A start node that emits the items it is given, so tests can feed the Ksher node a "sheet". */
class Source implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Source',
		name: 'source',
		group: ['transform'],
		version: 1,
		description: 'Emits test items',
		defaults: { name: 'Source' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		properties: [{ displayName: 'Items', name: 'items', type: 'json', default: '[]' }],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = JSON.parse(this.getNodeParameter('items', 0) as string) as IDataObject[];
		return [items.map((json) => ({ json, pairedItem: { item: 0 } }))];
	}
}

/** The Ksher node's newest version: what a node added in the editor today gets. */
export const KSHER_NODE_VERSION = Math.max(...[new Ksher().description.version].flat());

const nodeTypeInstances: Record<string, INodeType> = {
	'test.source': new Source(),
	'n8n-nodes-ksher.ksher': new Ksher(),
	'n8n-nodes-ksher.ksherTrigger': new KsherTrigger(),
};

/** Lets tools (the benchmark's ceiling node) run a node type of their own through the same harness. */
export function registerNodeType(type: string, node: INodeType): void {
	nodeTypeInstances[type] = node;
}

export const nodeTypes: INodeTypes = {
	getByName: (type: string): INodeType | IVersionedNodeType => nodeTypeInstances[type],
	getByNameAndVersion: (type: string, version?: number): INodeType =>
		NodeHelpers.getVersionedNodeType(nodeTypeInstances[type], version),
	getKnownTypes: () => ({}),
};

/** Hands our test credentials to nodes; the engine's real decryption is not what is under test. */
export class TestCredentialsHelper extends ICredentialsHelper {
	constructor(private readonly data: ICredentialDataDecryptedObject) {
		super();
	}
	getParentTypes(): string[] {
		return [];
	}
	isCredentialUsableByNode(): boolean {
		return true;
	}
	async authenticate(
		_c: ICredentialDataDecryptedObject,
		_t: string,
		requestOptions: IHttpRequestOptions,
	): Promise<IHttpRequestOptions> {
		return requestOptions;
	}
	async preAuthentication() {
		return undefined;
	}
	async runPreAuthentication() {
		return undefined;
	}
	async getCredentials(): Promise<ICredentials> {
		throw new Error('not used');
	}
	async getDecrypted(): Promise<ICredentialDataDecryptedObject> {
		return this.data;
	}
	async updateCredentials() {}
	async updateCredentialsOauthTokenData() {}
	getCredentialsProperties(): INodeProperties[] {
		return new KsherApi().properties;
	}
}

export interface NodeRun {
	status: IRun['status'];
	items: IDataObject[];
	/** What went to the error output (On Error: Continue (using error output)). */
	errorItems: IDataObject[];
	pairedItems: unknown[];
	error?: { message: string; description?: string | null; itemIndex?: number; name: string };
	run: IRun;
}

let executionCounter = 0;

export function makeAdditionalData(
	credentials: ICredentialDataDecryptedObject,
	executionId: string,
	hooks?: ExecutionLifecycleHooks,
	extra: Record<string, unknown> = {},
): IWorkflowExecuteAdditionalData {
	return {
		hooks,
		credentialsHelper: new TestCredentialsHelper(credentials),
		executionId,
		currentNodeExecutionIndex: 0,
		variables: {},
		userId: 'user-1',
		restApiUrl: 'http://127.0.0.1/rest',
		instanceBaseUrl: 'http://127.0.0.1/',
		webhookBaseUrl: 'http://127.0.0.1/webhook',
		webhookWaitingBaseUrl: 'http://127.0.0.1/webhook-waiting',
		webhookTestBaseUrl: 'http://127.0.0.1/webhook-test',
		formWaitingBaseUrl: 'http://127.0.0.1/form-waiting',
		setExecutionStatus: () => undefined,
		sendDataToUI: () => undefined,
		...extra,
	} as unknown as IWorkflowExecuteAdditionalData;
}

/** Runs Source → Ksher through n8n's real WorkflowExecute. */
export async function runKsherNode(options: {
	credentials: ICredentialDataDecryptedObject;
	parameters: INode['parameters'];
	items?: IDataObject[];
	continueOnFail?: boolean;
	/** n8n's On Error setting (Continue On Fail is `continueRegularOutput`). */
	onError?: 'continueRegularOutput' | 'continueErrorOutput';
	/** Another registered node type in the Ksher node's place (default: the Ksher node). */
	nodeType?: string;
	/** The node's typeVersion (default: the newest, what a node added today gets). */
	typeVersion?: number;
}): Promise<NodeRun> {
	const nodes: INode[] = [
		{
			id: 'source',
			name: 'Source',
			type: 'test.source',
			typeVersion: 1,
			position: [0, 0],
			parameters: { items: JSON.stringify(options.items ?? [{}]) },
		},
		{
			id: 'ksher',
			name: 'Ksher',
			type: options.nodeType ?? 'n8n-nodes-ksher.ksher',
			typeVersion: options.typeVersion ?? KSHER_NODE_VERSION,
			position: [200, 0],
			parameters: options.parameters,
			credentials: { ksherApi: { id: 'cred-1', name: 'Ksher test' } },
			...(options.onError || options.continueOnFail
				? { onError: options.onError ?? ('continueRegularOutput' as const) }
				: {}),
		},
	];
	const connections = {
		Source: { main: [[{ node: 'Ksher', type: NodeConnectionTypes.Main, index: 0 }]] },
	};
	const workflow = new Workflow({ id: 'wf-test', nodes, connections, active: false, nodeTypes });
	const executionId = `exec-${++executionCounter}`;
	const hooks = new ExecutionLifecycleHooks('manual', executionId, {
		id: 'wf-test',
		name: 'test',
		nodes,
		connections,
		active: false,
		settings: {},
	} as never);
	const additionalData = makeAdditionalData(options.credentials, executionId, hooks);
	const run = await new WorkflowExecute(additionalData, 'manual').run({
		workflow,
		startNode: workflow.getNode('Source')!,
	});
	const task = run.data.resultData.runData.Ksher?.[0];
	const output = task?.data?.main?.[0] ?? [];
	const error = run.data.resultData.error as
		| (NodeRun['error'] & { context?: { itemIndex?: number } })
		| undefined;
	return {
		status: run.status,
		items: output.map((o) => o.json),
		errorItems: (task?.data?.main?.[1] ?? []).map((o) => o.json),
		pairedItems: output.map((o) => o.pairedItem),
		error: error && {
			message: error.message,
			description: error.description,
			itemIndex: error.context?.itemIndex,
			name: error.name,
		},
		run,
	};
}
