import { createServer, type IncomingMessage, type Server } from 'http';
import type { AddressInfo } from 'net';

/**
 * A stand-in for an OpenAI-compatible chat-completions endpoint, so n8n's AI Agent can run
 * offline. No model: the user's prompt is a script, one line per tool call,
 *   call <tool name> <JSON arguments>
 * The fake asks for the next call each time the agent sends the previous tool result, then
 * answers with every tool result it was given, so the agent's output shows what the tools said.
 */
export interface ChatRequest {
	tools: string[];
	messages: Array<{ role: string; content: unknown; name?: string }>;
}

export interface FakeOpenAi {
	url: string;
	requests: ChatRequest[];
	close(): Promise<void>;
}

const text = (content: unknown): string =>
	typeof content === 'string'
		? content
		: Array.isArray(content)
			? content
					.map((p) =>
						typeof p === 'object' && p && 'text' in p ? String((p as { text: unknown }).text) : '',
					)
					.join('')
			: '';

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
	const chunks: Buffer[] = [];
	for await (const chunk of req) chunks.push(chunk as Buffer);
	return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
}

export async function startFakeOpenAi(): Promise<FakeOpenAi> {
	const requests: ChatRequest[] = [];
	let ids = 0;
	const server: Server = createServer((req, res) => {
		void (async () => {
			if (req.method !== 'POST' || !/\/chat\/completions$/.test(req.url ?? '')) {
				res
					.writeHead(404, { 'content-type': 'application/json' })
					.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
				return;
			}
			const input = await body(req);
			const messages = (input.messages ?? []) as ChatRequest['messages'];
			const tools = ((input.tools ?? []) as Array<{ function?: { name?: string } }>).map((t) =>
				String(t.function?.name ?? ''),
			);
			requests.push({ tools, messages });
			const prompt = text(messages.filter((m) => m.role === 'user').at(-1)?.content);
			const calls = prompt
				.split('\n')
				.map((line) => /^call (\S+) (\{.*\})\s*$/.exec(line.trim()))
				.filter((m): m is RegExpExecArray => m !== null);
			const done = messages.filter((m) => m.role === 'tool').length;
			const model = String(input.model ?? 'fake');
			const created = Math.floor(Date.now() / 1000);
			const id = `chatcmpl-${++ids}`;
			let message: Record<string, unknown>;
			let finish: string;
			if (done < calls.length) {
				const [, wanted, args] = calls[done];
				const name = tools.find((t) => t.toLowerCase() === wanted.toLowerCase()) ?? wanted;
				message = {
					role: 'assistant',
					content: null,
					tool_calls: [
						{ id: `call_${ids}`, type: 'function', function: { name, arguments: args } },
					],
				};
				finish = 'tool_calls';
			} else {
				const results = messages
					.filter((m) => m.role === 'tool')
					.map((m, i) => `result ${i + 1}: ${text(m.content)}`);
				message = { role: 'assistant', content: `Tool results:\n${results.join('\n')}` };
				finish = 'stop';
			}
			const usage = { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 };
			if (input.stream) {
				res.writeHead(200, { 'content-type': 'text/event-stream' });
				const chunk = (delta: unknown, finish_reason: string | null) =>
					res.write(
						`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason }] })}\n\n`,
					);
				const toolCalls = message.tool_calls as Array<Record<string, unknown>> | undefined;
				chunk(
					{
						role: 'assistant',
						...(toolCalls
							? { tool_calls: toolCalls.map((c, index) => ({ index, ...c })) }
							: { content: message.content }),
					},
					null,
				);
				chunk({}, finish);
				res.write(
					`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage })}\n\n`,
				);
				res.end('data: [DONE]\n\n');
				return;
			}
			res.writeHead(200, { 'content-type': 'application/json' });
			res.end(
				JSON.stringify({
					id,
					object: 'chat.completion',
					created,
					model,
					choices: [{ index: 0, message, finish_reason: finish }],
					usage,
				}),
			);
		})().catch((error: Error) => {
			if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
			res.end(JSON.stringify({ error: { message: error.message } }));
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return {
		url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
		requests,
		close: () => new Promise((resolve) => server.close(() => resolve())),
	};
}
