/** The few n8n REST calls the e2e and the demo need (owner, login, API key, credential test, executions). */
export const OWNER = { email: 'owner@example.com', password: 'Ksher-Demo-Passw0rd', firstName: 'Ksher', lastName: 'Demo' };

export class N8nRest {
	private cookie = '';
	private apiKey = '';

	constructor(readonly url: string) {}

	private async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown }> {
		const response = await fetch(`${this.url}${path}`, {
			method,
			headers: { 'content-type': 'application/json', ...(this.cookie ? { cookie: this.cookie } : {}), ...headers },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const setCookie = response.headers.get('set-cookie');
		if (setCookie) this.cookie = setCookie.split(';')[0];
		const text = await response.text();
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
		await this.call('POST', '/rest/owner/setup', OWNER);
		const login = await this.call('POST', '/rest/login', { emailOrLdapLoginId: OWNER.email, password: OWNER.password });
		if (login.status !== 200) throw new Error(`n8n login failed: ${login.status} ${JSON.stringify(login.json).slice(0, 300)}`);
	}

	async createApiKey(): Promise<void> {
		const scopes = ['workflow:read', 'execution:read', 'execution:list'];
		const created = await this.call('POST', '/rest/api-keys', { label: `e2e-${Date.now()}`, scopes, expiresAt: null });
		const key = (created.json as { data?: { rawApiKey?: string } }).data?.rawApiKey;
		if (!key) throw new Error(`could not create an n8n API key: ${created.status} ${JSON.stringify(created.json).slice(0, 300)}`);
		this.apiKey = key;
	}

	async executions(workflowId: string): Promise<Array<Record<string, unknown>>> {
		const result = await this.call('GET', `/api/v1/executions?workflowId=${workflowId}&includeData=true&limit=250`, undefined, { 'X-N8N-API-KEY': this.apiKey });
		if (result.status !== 200) throw new Error(`listing executions failed: ${result.status}`);
		return ((result.json as { data?: Array<Record<string, unknown>> }).data ?? []) as Array<Record<string, unknown>>;
	}

	/** The editor's "Test" button for a credential. */
	async testCredential(credential: { id: string; name: string; type: string; data: Record<string, unknown> }): Promise<{ status: string; message: string }> {
		const result = await this.call('POST', '/rest/credentials/test', { credentials: credential });
		const data = (result.json as { data?: { status: string; message: string } }).data;
		if (!data) throw new Error(`credential test call failed: ${result.status} ${JSON.stringify(result.json).slice(0, 300)}`);
		return data;
	}
}
