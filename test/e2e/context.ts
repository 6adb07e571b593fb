import { mkdirSync } from 'fs';
import { join } from 'path';

import type { KsherClient } from '../../nodes/protocol';
import { simulatorClient } from '../simulator/client';
import { startSimulator, type Simulator } from '../simulator/server';
import { startFakeOpenAi, type FakeOpenAi } from '../harness/fakeOpenAi';
import {
	createN8n,
	ensureN8n,
	packPackage,
	parseExecuteOutput,
	REPO_DIR,
	type CliResult,
	type ExecutedRun,
	type N8nInstall,
	type N8nInstance,
	type N8nLine,
} from '../harness/n8n';
import { N8nRest } from '../harness/rest';
import { startSmtpSink, type SmtpSink } from '../harness/smtp';
import {
	credentialsFile,
	REFUNDS_TABLE_COLUMNS,
	TRIGGER_WEBHOOK_ID,
	WATCH_TABLE_COLUMNS,
} from '../harness/workflows';
import { assert, runningIn, waitFor } from './steps';

/**
 * What every step module takes: one n8n line's run, built here and nowhere else. A step module
 * needs nothing from another one but, at most, a value an earlier step produced (an order
 * number, a table), which `run.ts` passes it as one more argument.
 */

/** What a line has before any n8n runs; the crash and queue-mode steps start n8n of their own. */
export interface LineContext {
	line: N8nLine;
	install: N8nInstall;
	/** The run's temp folder: logs, mail, CSVs (kept when a step failed). */
	work: string;
	/** The regular-mode n8n's user folder (the package installed into it) and its files folder (the CSVs). */
	userFolder: string;
	filesDir: string;
	/** The package as `npm pack` made it. */
	tarball: string;
	sim: Simulator;
	smtp: SmtpSink;
	/** The local chat model n8n's AI Agent talks to. */
	fake: FakeOpenAi;
	/** The simulator's merchant, as a shop's own code calls Ksher. */
	client: KsherClient;
	/** A POST to the simulator's control API (pay, refund, faults, clock); fails the step unless it answers 200. */
	control: (path: string, body: unknown) => Promise<Record<string, unknown>>;
	/** Creates an order nobody has paid yet (a payment link), `total` in satang; returns its number. */
	unpaidOrder: (no: string, total?: number) => Promise<string>;
	/** What the crash and queue-mode steps measured, by name. */
	figures: Record<string, string>;
	/** Seconds per phase (install, n8n start and stop), for the report. */
	timings: Record<string, number>;
	/** Where the browser steps leave their screenshots. */
	artifactsDir: string;
	/** What closeLine stops, last started first. */
	teardown: Array<() => Promise<unknown>>;
}

/** The regular-mode n8n (SQLite, one process) and what talks to it. */
export interface E2eContext extends LineContext {
	/** Created stopped: the steps start and stop it as the state they need says. */
	n8n: N8nInstance;
	/** Its REST API; signed in once n8n has started (receiptSteps). */
	rest: N8nRest;
	/** The receipt workflow's Ksher Trigger. */
	triggerUrl: string;
	/** The credentials imported into n8n: Ksher, SMTP, the chat model. */
	credentials: ReturnType<typeof credentialsFile>;
	/** An n8n CLI command that must succeed (exit 0), else the step fails with its output. */
	cli: (args: string[]) => Promise<CliResult>;
	/** `n8n execute` of a workflow that must succeed; returns each node's output items. */
	execute: (id: string) => Promise<NodeOutput>;
	/** `n8n execute` of a workflow whatever its outcome (a Stop and Error, a run left waiting for an approval). */
	executeAny: (id: string) => Promise<AnyRun>;
}

/** What `n8n execute` said of a run: exit code, status (`success`, `error`, `waiting`), error message, each node's output. */
export type AnyRun = {
	code: number;
	status: string;
	error: string;
	output: NodeOutput;
	text: string;
};

export type NodeOutput = (node: string) => Array<Record<string, unknown>>;

/** A Data Table of the running n8n, with the name the editor shows. */
export type TableRef = { projectId: string; tableId: string };
export type Table = TableRef & { name: string };
/** The example tables of one n8n: recorded orders and recorded refunds. */
export type Tables = { orders: Table; refunds: Table };

/** Installs the line's n8n, packs the package, starts the simulator, the mail sink and the chat model. */
export async function openLine(
	line: N8nLine,
	work: string,
	timings: Record<string, number>,
): Promise<LineContext> {
	const teardown: LineContext['teardown'] = [];
	try {
		const filesDir = join(work, 'files');
		mkdirSync(filesDir, { recursive: true });
		const t0 = Date.now();
		const install = await ensureN8n(line);
		runningIn(install);
		timings[`install ${line}.x`] = (Date.now() - t0) / 1000;
		// One tarball for every part when lanes.ts packed it before they started (no part then needs dist/).
		const tarball = process.env.KSHER_E2E_TARBALL ?? packPackage(work);
		const sim = await startSimulator({ timeScale: 0.001 });
		teardown.push(() => sim.close());
		const smtp = await startSmtpSink({ dir: join(work, 'mail') });
		teardown.push(() => smtp.close());
		const fake = await startFakeOpenAi();
		teardown.push(() => fake.close());
		const client = simulatorClient(sim.info);
		const control = async (path: string, body: unknown) => {
			const r = await fetch(`${sim.info.controlUrl}${path}`, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify(body),
			});
			const text = await r.text();
			assert(r.status === 200, `simulator ${path} answered ${r.status}: ${text}`);
			return JSON.parse(text) as Record<string, unknown>;
		};
		const unpaidOrder = async (no: string, total = 10000) => {
			await createOrder(client, no, {
				total_fee: total,
				channel_list: 'promptpay,card,truemoney',
				product_name: 'e2e item',
			});
			return no;
		};
		return {
			line,
			install,
			work,
			userFolder: join(work, 'n8n'),
			filesDir,
			tarball,
			sim,
			smtp,
			fake,
			client,
			control,
			unpaidOrder,
			figures: {},
			timings,
			artifactsDir: join(REPO_DIR, '.e2e-artifacts', `n8n-${install.version}`),
			teardown,
		};
	} catch (error) {
		await closeLine({ teardown });
		throw error;
	}
}

/** The regular-mode n8n of a line, created stopped, and the helpers of the steps that use it. */
export async function regularContext(
	line: LineContext,
	overrides: NodeJS.ProcessEnv = {},
): Promise<E2eContext> {
	const n8n = await createN8n(line.install, line.userFolder, line.filesDir, undefined, overrides);
	line.teardown.push(() => n8n.stop());
	const cli = succeeding((args) => n8n.cli(args));
	const execute = async (id: string) => {
		const r = await n8n.cli(['execute', `--id=${id}`, '--rawOutput']);
		const run = parseExecuteOutput(r.stdout) as ExecutedRun;
		assert(
			r.code === 0 && run.status === 'success',
			`execute ${id} failed: ${run.data.resultData.error?.message ?? r.stderr.slice(-800)}`,
		);
		return (node: string) =>
			run.data.resultData.runData[node]?.[0]?.data?.main[0]?.map((i) => i.json) ?? [];
	};
	const executeAny = async (id: string): Promise<AnyRun> => {
		const r = await n8n.cli(['execute', `--id=${id}`, '--rawOutput']);
		const text = `${r.stdout}\n${r.stderr}`;
		let run: ExecutedRun | undefined;
		try {
			run = parseExecuteOutput(r.stdout) as ExecutedRun;
		} catch {
			// A failed run may be logged in another shape: its code and text still tell.
		}
		return {
			code: r.code,
			status: run?.status ?? (r.code === 0 ? 'unknown' : 'error'),
			error: run?.data.resultData.error?.message ?? '',
			output: (node: string) =>
				run?.data.resultData.runData[node]?.[0]?.data?.main[0]?.map((i) => i.json) ?? [],
			text,
		};
	};
	return {
		...line,
		n8n,
		rest: new N8nRest(n8n.url),
		triggerUrl: `${n8n.url}/webhook/${TRIGGER_WEBHOOK_ID}/webhook`,
		credentials: credentialsFile({ sim: line.sim.info, smtp: line.smtp, openAiUrl: line.fake.url }),
		cli,
		execute,
		executeAny,
	};
}

/** An n8n's CLI that fails the step unless the command succeeds (exit 0), with the end of its output. */
export function succeeding(cli: (args: string[]) => Promise<CliResult>) {
	return async (args: string[]) => {
		const r = await cli(args);
		assert(
			r.code === 0,
			`n8n ${args[0]} failed (${r.code}): ${(r.stderr || r.stdout).slice(-1500)}`,
		);
		return r;
	};
}

/** Stops what the line started (n8n, the chat model, the mail sink, the simulator); never throws. */
export async function closeLine(ctx: Pick<LineContext, 'teardown'> | undefined): Promise<void> {
	for (const stop of [...(ctx?.teardown ?? [])].reverse()) await stop().catch(() => undefined);
}

/** Runs `fn` and records its seconds as `label` in the report's timings. */
export async function timed(ctx: LineContext, label: string, fn: () => Promise<void>) {
	const started = Date.now();
	await fn();
	ctx.timings[label] = (Date.now() - started) / 1000;
}

/**
 * An order as a shop's checkout creates it (gateway_pay): 150.50 THB, PromptPay, the shop's
 * redirect pages, unless `fields` say otherwise (Ksher's parameter names).
 */
export function createOrder(client: KsherClient, no: string, fields: Record<string, unknown>) {
	return client.call('gateway_pay', {
		mch_order_no: no,
		total_fee: 15050,
		fee_type: 'THB',
		channel_list: 'promptpay',
		mch_code: no,
		mch_redirect_url: 'https://shop.example/ok',
		mch_redirect_url_fail: 'https://shop.example/ok',
		refer_url: 'https://shop.example',
		...fields,
	});
}

/** Waits until n8n serves a trigger's webhook: the trigger answers a body it cannot read with 400. */
export async function webhookServed(what: string, url: string, timeoutMs: number): Promise<void> {
	await waitFor(
		what,
		async () => (await fetch(url, { method: 'POST', body: 'x' })).status === 400 || undefined,
		timeoutMs,
	);
}

/** Returns once `count` more runs of a workflow have succeeded, the first begun after the call. */
export async function moreRuns(
	rest: N8nRest,
	workflowId: string,
	count: number,
	what: string,
): Promise<void> {
	const base = await rest.executionCount(workflowId, 'success');
	await waitFor(
		`${count} more ${what} runs`,
		async () =>
			(await rest.executionCount(workflowId, 'success')) >= base + count + 1 ? true : undefined,
		60_000,
	);
}

/** While n8n runs: the Data Tables the order-keeping examples use (n8n creates tables through its REST API only). */
export async function createExampleTables(rest: N8nRest): Promise<Tables> {
	const stamp = Date.now();
	const create = async (name: string, columns: string[]) => ({
		...(await rest.createDataTable(name, columns)),
		name,
	});
	return {
		orders: await create(`Ksher orders ${stamp}`, WATCH_TABLE_COLUMNS),
		refunds: await create(`Ksher refunds ${stamp}`, REFUNDS_TABLE_COLUMNS),
	};
}

/** The workflows' view of the tables: their ids. */
export const tableIds = (tables: Tables) => ({
	orders: tables.orders.tableId,
	refunds: tables.refunds.tableId,
});
