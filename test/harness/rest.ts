import { fetchWithin } from './http';

/** The few n8n REST calls the e2e and the demo need (owner, login, API key, credential test, executions). */
export const OWNER = {
	email: 'owner@example.com',
	password: 'Ksher-Demo-Passw0rd',
	firstName: 'Ksher',
	lastName: 'Demo',
};

/** An execution as the public API lists it with its data: each node's runs and their items. */
type ExecutionWithData = {
	id?: string | number;
	status?: string;
	data?: {
		resultData?: {
			runData?: Record<
				string,
				Array<{ data?: { main?: Array<Array<{ json?: Record<string, unknown> }>> } }>
			>;
		};
	};
};

/** The first item a node output in an execution (its first run, first output), if it got that far. */
const firstItem = (execution: ExecutionWithData, node: string) =>
	execution.data?.resultData?.runData?.[node]?.[0]?.data?.main?.[0]?.[0]?.json;

export class N8nRest {
	private cookie = '';
	private apiKey = '';

	constructor(readonly url: string) {}

	private async call(
		method: string,
		path: string,
		body?: unknown,
		headers: Record<string, string> = {},
	): Promise<{ status: number; json: unknown }> {
		// A call n8n never answers fails the step after 2 minutes rather than leaving it waiting.
		const { response, text } = await fetchWithin(
			`${this.url}${path}`,
			{
				method,
				headers: {
					'content-type': 'application/json',
					...(this.cookie ? { cookie: this.cookie } : {}),
					...headers,
				},
				body: body === undefined ? undefined : JSON.stringify(body),
			},
			120_000,
			`n8n did not answer ${method} ${path} within 120 s`,
		);
		const setCookie = response.headers.get('set-cookie');
		if (setCookie) this.cookie = setCookie.split(';')[0];
		let json: unknown = text;
		try {
			json = JSON.parse(text);
		} catch {
			// Keep the text.
		}
		return { status: response.status, json };
	}

	/** Creates the owner on a fresh instance (skipped when one exists), then logs in. */
	async login(): Promise<void> {
		// n8n 1.x reports ready before its REST routes are mounted: wait for them (404 until then).
		const since = Date.now();
		while (
			(await this.call('POST', '/rest/owner/setup', OWNER)).status === 404 &&
			Date.now() - since < 60_000
		)
			await new Promise((r) => setTimeout(r, 500));
		const login = await this.call('POST', '/rest/login', {
			emailOrLdapLoginId: OWNER.email,
			password: OWNER.password,
		});
		if (login.status !== 200)
			throw new Error(
				`n8n login failed: ${login.status} ${JSON.stringify(login.json).slice(0, 300)}`,
			);
	}

	async createApiKey(): Promise<void> {
		const scopes = ['workflow:read', 'execution:read', 'execution:list'];
		const created = await this.call('POST', '/rest/api-keys', {
			label: `e2e-${Date.now()}`,
			scopes,
			expiresAt: null,
		});
		const key = (created.json as { data?: { rawApiKey?: string } }).data?.rawApiKey;
		if (!key)
			throw new Error(
				`could not create an n8n API key: ${created.status} ${JSON.stringify(created.json).slice(0, 300)}`,
			);
		this.apiKey = key;
	}

	async executions(workflowId: string): Promise<Array<Record<string, unknown>>> {
		const result = await this.call(
			'GET',
			`/api/v1/executions?workflowId=${workflowId}&includeData=true&limit=250`,
			undefined,
			{ 'X-N8N-API-KEY': this.apiKey },
		);
		if (result.status !== 200) throw new Error(`listing executions failed: ${result.status}`);
		return ((result.json as { data?: Array<Record<string, unknown>> }).data ?? []) as Array<
			Record<string, unknown>
		>;
	}

	/** A workflow's executions, newest first, one page at a time (`query`: more of the API's parameters). */
	private async *executionPages<T>(
		workflowId: string,
		query: string,
		limit: number,
	): AsyncGenerator<T[]> {
		let cursor = '';
		do {
			const result = await this.call(
				'GET',
				`/api/v1/executions?workflowId=${workflowId}${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
				undefined,
				{ 'X-N8N-API-KEY': this.apiKey },
			);
			if (result.status !== 200) throw new Error(`listing executions failed: ${result.status}`);
			const page = result.json as { data?: T[]; nextCursor?: string | null };
			yield page.data ?? [];
			cursor = page.nextCursor ?? '';
		} while (cursor);
	}

	/**
	 * The order number of every execution of a workflow started by its Ksher Trigger, all pages ('?' for one
	 * without the trigger's item). `failedStarts`: given the count of executions n8n created but failed before
	 * the trigger's item was in them (status error, no item: a database error under load), which are then left
	 * out, since nothing of the workflow ran.
	 */
	async triggeredOrders(
		workflowId: string,
		node = 'Ksher Trigger',
		failedStarts?: (count: number) => void,
	): Promise<string[]> {
		const orders: string[] = [];
		let failed = 0;
		for await (const page of this.executionPages<ExecutionWithData>(
			workflowId,
			'&includeData=true',
			100,
		))
			for (const execution of page) {
				const started = firstItem(execution, node);
				if (failedStarts && execution.status === 'error' && !started) {
					failed++;
					continue;
				}
				orders.push(String(started?.orderNumber ?? '?'));
			}
		failedStarts?.(failed);
		return orders;
	}

	/** Every item a node output, across all executions of a workflow. */
	async nodeItems(workflowId: string, node: string): Promise<Array<Record<string, unknown>>> {
		const items: Array<Record<string, unknown>> = [];
		for await (const page of this.executionPages<ExecutionWithData>(
			workflowId,
			'&includeData=true',
			100,
		))
			for (const execution of page)
				for (const run of execution.data?.resultData?.runData?.[node] ?? [])
					for (const item of run.data?.main?.[0] ?? []) if (item.json) items.push(item.json);
		return items;
	}

	/**
	 * A workflow's executions with an id above `afterId`, newest first: each one's status and the first item `node`
	 * output (none for a run that has not got that far, or whose data n8n has not saved yet). Reading stops at
	 * `afterId`, so a caller that remembers where it stopped reads each run about once, before n8n's pruning
	 * (by default it keeps the newest 10,000 executions) can delete it.
	 */
	async runsAfter(
		workflowId: string,
		node: string,
		afterId: number,
	): Promise<Array<{ id: number; status: string; item?: Record<string, unknown> }>> {
		const runs: Array<{ id: number; status: string; item?: Record<string, unknown> }> = [];
		for await (const page of this.executionPages<ExecutionWithData>(
			workflowId,
			'&includeData=true',
			100,
		))
			for (const execution of page) {
				const id = Number(execution.id);
				if (id <= afterId) return runs;
				runs.push({
					id,
					status: String(execution.status),
					item: firstItem(execution, node),
				});
			}
		return runs;
	}

	/** How many executions a workflow has (any status, or one status), all pages. */
	async executionCount(workflowId: string, status?: 'success' | 'error'): Promise<number> {
		let count = 0;
		for await (const page of this.executionPages(
			workflowId,
			status ? `&status=${status}` : '',
			250,
		))
			count += page.length;
		return count;
	}

	/** Every execution's status ("success", "crashed", "error", …), all pages, without their data. */
	async executionStatuses(workflowId: string): Promise<string[]> {
		return (await this.executionSummaries(workflowId)).map((e) => e.status);
	}

	/**
	 * Every execution's id, status, start and end (ISO times; "null" for one n8n stored but never started, or not
	 * ended: the public API has no creation time), newest first, all pages, without their data.
	 */
	async executionSummaries(
		workflowId: string,
	): Promise<Array<{ id: string; status: string; startedAt: string; stoppedAt: string }>> {
		const all: Array<{ id: string; status: string; startedAt: string; stoppedAt: string }> = [];
		for await (const page of this.executionPages<{
			id?: string;
			status?: string;
			startedAt?: string;
			stoppedAt?: string;
		}>(workflowId, '', 250))
			all.push(
				...page.map((e) => ({
					id: String(e.id),
					status: String(e.status),
					startedAt: String(e.startedAt),
					stoppedAt: String(e.stoppedAt),
				})),
			);
		return all;
	}

	private async data<T>(method: string, path: string, body?: unknown): Promise<T> {
		const result = await this.call(method, path, body);
		const data = (result.json as { data?: T }).data;
		if (result.status !== 200 || data === undefined)
			throw new Error(
				`${method} ${path} failed: ${result.status} ${JSON.stringify(result.json).slice(0, 300)}`,
			);
		return data;
	}

	/** A workflow's name as n8n holds it. */
	async workflowName(id: string): Promise<string> {
		return (await this.data<{ name: string }>('GET', `/rest/workflows/${id}`)).name;
	}

	/** Renames a workflow, as a user does in the editor (and saves). */
	async renameWorkflow(id: string, name: string): Promise<void> {
		const { versionId } = await this.data<{ versionId: string }>('GET', `/rest/workflows/${id}`);
		await this.data('PATCH', `/rest/workflows/${id}`, { name, versionId });
	}

	/** Creates a Data Table of text columns in the owner's personal project; returns its id. */
	async createDataTable(
		name: string,
		columns: string[],
	): Promise<{ projectId: string; tableId: string }> {
		const project = await this.data<{ id: string }>('GET', '/rest/projects/personal');
		const table = await this.data<{ id: string }>(
			'POST',
			`/rest/projects/${project.id}/data-tables`,
			{ name, columns: columns.map((c) => ({ name: c, type: 'string' })) },
		);
		return { projectId: project.id, tableId: table.id };
	}

	/** Adds the columns a table lacks (a table made for an earlier version of the examples). */
	async addMissingColumns(tableId: string, columns: string[]): Promise<string[]> {
		const project = await this.data<{ id: string }>('GET', '/rest/projects/personal');
		const base = `/rest/projects/${project.id}/data-tables/${tableId}/columns`;
		const have = new Set(
			(await this.data<Array<{ name: string }>>('GET', base)).map((column) => column.name),
		);
		const missing = columns.filter((column) => !have.has(column));
		for (const name of missing) await this.data('POST', base, { name, type: 'string' });
		return missing;
	}

	/** Every row of a Data Table, page by page (n8n gives at most 50 rows a page, whatever `take` asks). */
	async dataTableRows(table: {
		projectId: string;
		tableId: string;
	}): Promise<Array<Record<string, unknown>>> {
		const rows: Array<Record<string, unknown>> = [];
		for (;;) {
			const page = await this.data<{ data: Array<Record<string, unknown>>; count: number }>(
				'GET',
				`/rest/projects/${table.projectId}/data-tables/${table.tableId}/rows?take=50&skip=${rows.length}`,
			);
			rows.push(...page.data);
			if (page.data.length === 0 || rows.length >= page.count) return rows;
		}
	}

	async insertDataTableRows(
		table: { projectId: string; tableId: string },
		rows: Array<Record<string, string | null>>,
	): Promise<void> {
		await this.data(
			'POST',
			`/rest/projects/${table.projectId}/data-tables/${table.tableId}/insert`,
			{ data: rows, returnType: 'count' },
		);
	}

	/** Sets `data` on the rows where every `where` column equals its value (what a person editing the table does). */
	async updateDataTableRows(
		table: { projectId: string; tableId: string },
		where: Record<string, string | number>,
		data: Record<string, string | null>,
	): Promise<void> {
		const filters = Object.entries(where).map(([columnName, value]) => ({
			columnName,
			condition: 'eq',
			value,
		}));
		await this.data(
			'PATCH',
			`/rest/projects/${table.projectId}/data-tables/${table.tableId}/rows`,
			{ filter: { type: 'and', filters }, data },
		);
	}

	/** Deletes the rows where every `where` column equals its value. */
	async deleteDataTableRows(
		table: { projectId: string; tableId: string },
		where: Record<string, string | number>,
	): Promise<void> {
		const filter = JSON.stringify({
			type: 'and',
			filters: Object.entries(where).map(([columnName, value]) => ({
				columnName,
				condition: 'eq',
				value,
			})),
		});
		await this.data(
			'DELETE',
			`/rest/projects/${table.projectId}/data-tables/${table.tableId}/rows?filter=${encodeURIComponent(filter)}`,
		);
	}

	/** The editor's "Test" button for a credential. */
	async testCredential(credential: {
		id: string;
		name: string;
		type: string;
		data: Record<string, unknown>;
	}): Promise<{ status: string; message: string }> {
		const result = await this.call('POST', '/rest/credentials/test', { credentials: credential });
		const data = (result.json as { data?: { status: string; message: string } }).data;
		if (!data)
			throw new Error(
				`credential test call failed: ${result.status} ${JSON.stringify(result.json).slice(0, 300)}`,
			);
		return data;
	}
}
