import { spawnSync } from 'child_process';
import { generateKeyPairSync } from 'crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { initialWatchState } from '../../nodes/protocol';
import { startSimulator, type Simulator } from '../simulator/server';
import {
	activateArgs,
	createN8n,
	ensureN8n,
	installPackage,
	linesFromArgs,
	N8N_LINES,
	packPackage,
	parseExecuteOutput,
	REPO_DIR,
	type N8nInstance,
	type N8nLine,
} from '../harness/n8n';
import { queueModeSteps } from './queueSteps';
import { N8nRest, OWNER } from '../harness/rest';
import {
	assert,
	assertStayedOffline,
	log,
	report,
	results,
	runningIn,
	step,
	waitFor,
} from './steps';
import { startSmtpSink, type SmtpSink } from '../harness/smtp';
import { ACK } from '../harness/exactlyOnce';
import { agentSteps } from './agentSteps';
import { browserSteps } from './browserSteps';
import { startFakeOpenAi, type FakeOpenAi } from '../harness/fakeOpenAi';
import { executeSteps } from './executeSteps';
import { crashSteps } from './crashSteps';
import { exactlyOnceSteps } from './exactlyOnceSteps';
import { createExampleTables, watchSteps } from './watchSteps';
import { refundSheetSteps, refundWorkflowSteps } from './refundSteps';
import {
	booksWorkflow,
	credentialsFile,
	exampleWorkflows,
	loadExample,
	onceOnlyWorkflow,
	REFUND_QUEUE_COLUMNS,
	refundSheetForReal,
	refundWorkflows,
	TRIGGER_WEBHOOK_ID,
	watchWorkflows,
	WORKFLOW_IDS,
} from '../harness/workflows';
import { simulatorClient } from '../simulator/client';

/**
 * `npm run test:e2e`: the package as users get it (packed, installed into a real n8n's
 * community-nodes folder), against the simulator and a local SMTP sink, fully offline.
 */

/**
 * `-- --n8n=1` or `-- --n8n=2` runs one n8n line (default: both, 1.x first); `-- --only=regular`
 * (with the crash steps), `-- --only=crash` or `-- --only=queue` one part.
 */
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const timings: Record<string, number> = {};

async function main(): Promise<number> {
	for (const line of linesFromArgs(process.argv, N8N_LINES)) await runLine(line);
	return report(timings);
}

async function runLine(line: N8nLine): Promise<void> {
	const work = mkdtempSync(join(tmpdir(), 'ksher-e2e-'));
	const userFolder = join(work, 'n8n');
	const filesDir = join(work, 'files');
	mkdirSync(filesDir, { recursive: true });
	let sim: Simulator | undefined;
	let smtp: SmtpSink | undefined;
	let fake: FakeOpenAi | undefined;
	let n8n: N8nInstance | undefined;
	try {
		const t0 = Date.now();
		const install = await ensureN8n(line);
		runningIn(install);
		timings[`install ${line}.x`] = (Date.now() - t0) / 1000;
		const tarball = packPackage(work);
		await step('the packed package holds what n8n needs and nothing else', async () => {
			const listing = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
				.stdout.split('\n')
				.filter(Boolean);
			const must = [
				'package/package.json',
				'package/index.js',
				'package/LICENSE',
				'package/README.md',
				'package/dist/credentials/KsherApi.credentials.js',
				'package/dist/nodes/Ksher/Ksher.node.js',
				'package/dist/nodes/Ksher/Ksher.node.json',
				'package/dist/nodes/KsherTrigger/KsherTrigger.node.js',
				'package/dist/icons/ksher.svg',
				'package/dist/icons/ksher.dark.svg',
			];
			const missing = must.filter((f) => !listing.includes(f));
			assert(missing.length === 0, `missing: ${missing.join(', ')}`);
			const unwanted = listing.filter((f) =>
				/(^package\/(test|bench|examples|scripts|nodes|credentials)\/)|\.test\.|\.ts$(?<!\.d\.ts)|\.pem$|\.npmrc$/.test(
					f,
				),
			);
			assert(unwanted.length === 0, `unexpected files: ${unwanted.slice(0, 10).join(', ')}`);
			const manifest = JSON.parse(
				spawnSync('tar', ['-xOzf', tarball, 'package/package.json'], { encoding: 'utf8' }).stdout,
			) as { dependencies?: object };
			assert(
				!manifest.dependencies || Object.keys(manifest.dependencies).length === 0,
				'the package has runtime dependencies',
			);
			return `${listing.length} files, no runtime dependencies`;
		});
		installPackage(userFolder, tarball);
		sim = await startSimulator({ timeScale: 0.001 });
		smtp = await startSmtpSink({ dir: join(work, 'mail') });
		fake = await startFakeOpenAi();
		const regularMode = async () => {
			if (!sim || !smtp) return;
			n8n = await createN8n(install, userFolder, filesDir);
			const triggerUrl = `${n8n.url}/webhook/${TRIGGER_WEBHOOK_ID}/webhook`;
			const client = simulatorClient(sim.info);
			const control = async (path: string, body: unknown) => {
				const r = await fetch(`${sim!.info.controlUrl}${path}`, {
					method: 'POST',
					headers: { 'content-type': 'application/json' },
					body: JSON.stringify(body),
				});
				const text = await r.text();
				assert(r.status === 200, `simulator ${path} answered ${r.status}: ${text}`);
				return JSON.parse(text) as Record<string, unknown>;
			};

			const credentials = credentialsFile({ sim: sim.info, smtp, openAiUrl: fake?.url });
			writeFileSync(join(work, 'credentials.json'), JSON.stringify(credentials));
			mkdirSync(join(work, 'workflows'));
			for (const wf of [
				...exampleWorkflows({ filesDir, triggerUrl, email: 'buyer@example.com' }),
				refundSheetForReal(filesDir),
				onceOnlyWorkflow(),
			])
				writeFileSync(join(work, 'workflows', `${wf.id}.json`), JSON.stringify(wf));

			let orderNumber = '';
			const unpaidOrder = async (no: string, total = 10000) => {
				await client.call('gateway_pay', {
					mch_order_no: no,
					total_fee: total,
					fee_type: 'THB',
					channel_list: 'promptpay,card,truemoney',
					mch_code: no,
					mch_redirect_url: 'https://shop.example/ok',
					mch_redirect_url_fail: 'https://shop.example/ok',
					product_name: 'e2e item',
					refer_url: 'https://shop.example',
				});
				return no;
			};
			const cliOk = async (args: string[]) => {
				const r = await n8n!.cli(args);
				assert(
					r.code === 0,
					`n8n ${args[0]} failed (${r.code}): ${(r.stderr || r.stdout).slice(-1500)}`,
				);
				return r;
			};
			const execute = async (id: string) => {
				const r = await n8n!.cli(['execute', `--id=${id}`, '--rawOutput']);
				const run = parseExecuteOutput(r.stdout) as {
					status?: string;
					data: {
						resultData: {
							runData: Record<
								string,
								Array<{ data?: { main: Array<Array<{ json: Record<string, unknown> }>> } }>
							>;
							error?: { message: string };
						};
					};
				};
				assert(
					r.code === 0 && run.status === 'success',
					`execute ${id} failed: ${run.data.resultData.error?.message ?? r.stderr.slice(-800)}`,
				);
				return (node: string) =>
					run.data.resultData.runData[node]?.[0]?.data?.main[0]?.map((i) => i.json) ?? [];
			};

			const setupOk = await step(
				'import credentials and example workflows, publish the receipt workflow',
				async () => {
					await cliOk(['import:credentials', `--input=${join(work, 'credentials.json')}`]);
					await cliOk(['import:workflow', '--separate', `--input=${join(work, 'workflows')}`]);
					await cliOk(activateArgs(install, WORKFLOW_IDS.receipt));
					await cliOk(activateArgs(install, WORKFLOW_IDS.onceOnly));
					const types = await cliOk(['export:nodes', `--output=${join(work, 'nodes.json')}`]);
					const exported = JSON.parse(readFileSync(join(work, 'nodes.json'), 'utf8')) as Array<{
						name: string;
					}>;
					const names = exported.map((n) => n.name).filter((n) => n.startsWith('n8n-nodes-ksher.'));
					assert(
						names.includes('n8n-nodes-ksher.ksher') &&
							names.includes('n8n-nodes-ksher.ksherTrigger'),
						`node types not loaded: ${names.join(', ')} ${types.stderr.slice(-300)}`,
					);
					return `node types ${names.join(', ')}`;
				},
			);
			if (!setupOk) return;

			await step(
				'Create Payment through `n8n execute` returns a simulator checkout link',
				async () => {
					const output = await execute(WORKFLOW_IDS.paymentLink);
					const [item] = output('Create Payment');
					assert(
						item &&
							typeof item.paymentUrl === 'string' &&
							item.paymentUrl.startsWith(sim!.info.checkoutUrl),
						`unexpected output ${JSON.stringify(item)}`,
					);
					orderNumber = String(item.orderNumber);
					const page = await (await fetch(String(item.paymentUrl))).text();
					assert(page.includes('150.50 THB'), 'the checkout page does not show the amount');
					return `${orderNumber} → ${String(item.paymentUrl)}`;
				},
			);

			const started = Date.now();
			await n8n.start();
			timings[`n8n ${line}.x start`] = (Date.now() - started) / 1000;
			const rest = new N8nRest(n8n.url);
			await rest.login();
			await rest.createApiKey();
			const exampleTables = await createExampleTables(rest);
			const refundQueueTable = await rest.createDataTable(
				`Ksher refund queue ${Date.now()}`,
				REFUND_QUEUE_COLUMNS,
			);
			await waitFor(
				'the trigger webhook to be registered',
				async () =>
					(await fetch(triggerUrl, { method: 'POST', body: 'x' })).status === 400 || undefined,
				30_000,
			);

			await step(
				'paying calls the production webhook: exactly one receipt execution and one email',
				async () => {
					assert(orderNumber, 'no order from the previous step');
					await control('/pay', { mch_order_no: orderNumber, channel: 'promptpay' });
					const mail = await waitFor('the receipt email', () => smtp!.mails[0]);
					assert(mail.text.includes(orderNumber), 'the email lacks the order number');
					assert(mail.text.includes('150.50 THB'), 'the email lacks the amount');
					assert(mail.to.includes('buyer@example.com'), `the email went to ${mail.to.join(', ')}`);
					const executions = await waitFor('the execution', async () => {
						const list = await rest.executions(WORKFLOW_IDS.receipt);
						return list.length ? list : undefined;
					});
					assert(
						executions.length === 1 && executions[0].status === 'success',
						`executions: ${JSON.stringify(executions.map((e) => e.status))}`,
					);
					const first = sim!.deliveries.find((d) => d.mch_order_no === orderNumber);
					assert(
						first?.acknowledged && first.response === ACK,
						`Ksher got ${first?.status} ${first?.response}`,
					);
					return `email "${mail.subject}" to ${mail.to.join(', ')}`;
				},
			);

			await step(
				'5 re-deliveries of the notification: all acknowledged, no new execution or email',
				async () => {
					for (let i = 0; i < 5; i++) await control('/notify', { mch_order_no: orderNumber });
					await waitFor(
						'6 acknowledged deliveries',
						() =>
							sim!.deliveries.filter((d) => d.mch_order_no === orderNumber && d.acknowledged)
								.length >= 6 || undefined,
						30_000,
					);
					await new Promise((r) => setTimeout(r, 3000));
					const attempts = sim!.deliveries.filter((d) => d.mch_order_no === orderNumber);
					assert(
						attempts.every((a) => a.status === 200 && a.response === ACK),
						`answers: ${attempts.map((a) => `${a.status} ${a.response}`).join('; ')}`,
					);
					assert(smtp!.mails.length === 1, `${smtp!.mails.length} emails`);
					const executions = await rest.executions(WORKFLOW_IDS.receipt);
					assert(executions.length === 1, `${executions.length} executions`);
					return `${attempts.length} deliveries, 1 execution, 1 email`;
				},
			);

			await step('forged and tampered notifications get 401, no execution, no email', async () => {
				const genuine = JSON.parse(
					sim!.deliveries.find((d) => d.mch_order_no === orderNumber)!.body,
				) as { data: Record<string, unknown>; sign: string };
				const forged = {
					...genuine,
					sign: genuine.sign.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')),
				};
				const tampered = {
					...genuine,
					data: { ...genuine.data, total_fee: 1, mch_order_no: `${orderNumber}-X` },
				};
				const answers = [];
				for (const body of [forged, tampered]) {
					const r = await fetch(triggerUrl, {
						method: 'POST',
						headers: { 'content-type': 'text/plain;charset=utf-8' },
						body: JSON.stringify(body),
					});
					answers.push(`${r.status} ${await r.text()}`);
					assert(r.status === 401, `answered ${r.status}`);
				}
				await new Promise((r) => setTimeout(r, 1500));
				assert(
					(await rest.executions(WORKFLOW_IDS.receipt)).length === 1,
					'a forged notification started an execution',
				);
				assert(smtp!.mails.length === 1, 'a forged notification sent an email');
				return answers.join(' | ');
			});

			await step(
				'credential test: succeeds with the imported credential, fails clearly with a wrong key',
				async () => {
					const good = await rest.testCredential(credentials[0]);
					assert(good.status === 'OK', `good credential: ${good.message}`);
					const wrongKey = generateKeyPairSync('rsa', { modulusLength: 1024 })
						.privateKey.export({ type: 'pkcs1', format: 'pem' })
						.toString();
					const bad = await rest.testCredential({
						...credentials[0],
						data: { ...credentials[0].data, privateKey: wrongKey },
					});
					assert(
						bad.status === 'Error' && /rejected the signature/.test(bad.message),
						`wrong key: ${bad.status} ${bad.message}`,
					);
					assert(
						!bad.message.includes(wrongKey.split('\n')[1]),
						'the message contains key material',
					);
					return `OK: "${good.message}" / Error: "${bad.message.slice(0, 90)}…"`;
				},
			);

			await exactlyOnceSteps({ n8n, rest, sim, work, cli: cliOk });

			const stopStarted = Date.now();
			await n8n.stop();
			timings[`n8n ${line}.x stop`] = (Date.now() - stopStarted) / 1000;

			const fullyRefunded = await refundSheetSteps({
				sim,
				filesDir,
				execute,
				control,
				unpaidOrder,
			});
			await executeSteps({
				sim,
				work,
				filesDir,
				orderNumber,
				fullyRefunded,
				cli: cliOk,
				execute,
				control,
				unpaidOrder,
			});
			if (fake) await agentSteps({ n8n, work, sim, fake, control });

			// The refund queue and the refund with approval, imported and active before n8n starts again.
			await step(
				'refund queue and refund-with-approval examples: import with a Data Table, publish',
				async () => {
					mkdirSync(join(work, 'refund-workflows'));
					for (const wf of refundWorkflows(refundQueueTable.tableId, 2))
						writeFileSync(join(work, 'refund-workflows', `${wf.id}.json`), JSON.stringify(wf));
					await cliOk([
						'import:workflow',
						'--separate',
						`--input=${join(work, 'refund-workflows')}`,
					]);
					await cliOk(activateArgs(install, WORKFLOW_IDS.refundQueue));
					await cliOk(activateArgs(install, WORKFLOW_IDS.refundApproval));
					return `table ${refundQueueTable.tableId}, queue every 2 s`;
				},
			);

			await watchSteps(
				{ install, n8n, rest, sim, smtp, client, work, cli: cliOk, control },
				exampleTables,
			);
			await refundWorkflowSteps(
				{
					n8n,
					rest,
					sim,
					smtp,
					client,
					control,
					artifactsDir: join(REPO_DIR, '.e2e-artifacts', `n8n-${install.version}`),
				},
				refundQueueTable,
			);

			// A new user's first minutes, in a real browser, against this n8n (still running).
			const browserOrder = `BROWSER-${Date.now().toString(36)}`;
			const resultUrl = `${sim.info.checkoutUrl}/result?mail=${encodeURIComponent(smtp.viewerUrl)}`;
			// Tables of their own, which no active workflow watches: the email must come from the run in the browser.
			const browserTables = await createExampleTables(rest);
			const { data: link } = await client.call('gateway_pay', {
				mch_order_no: browserOrder,
				total_fee: 15050,
				fee_type: 'THB',
				channel_list: 'promptpay,card,truemoney,linepay',
				mch_code: browserOrder,
				mch_redirect_url: resultUrl,
				mch_redirect_url_fail: resultUrl,
				mch_notify_url: triggerUrl,
				product_name: 'Thai silk scarf',
				refer_url: 'https://shop.example',
				attach: JSON.stringify({ email: 'buyer@example.com' }),
			});
			await browserSteps({
				editorUrl: n8n.url,
				login: { email: OWNER.email, password: OWNER.password },
				payment: { payUrl: String(link.pay_content), orderNumber: browserOrder },
				mailUrl: smtp.viewerUrl,
				workflows: Object.fromEntries(
					[
						...exampleWorkflows({ filesDir, triggerUrl }),
						...watchWorkflows({ orders: '', refunds: '' }, 2),
						booksWorkflow({ orders: '', refunds: '' }),
						...refundWorkflows('', 2),
					].map((wf) => [wf.id, wf.name]),
				),
				panelWorkflow: WORKFLOW_IDS.paymentLink,
				receiptWorkflow: WORKFLOW_IDS.recordPaid,
				refundSheetWorkflow: WORKFLOW_IDS.refundSheet,
				artifactsDir: join(REPO_DIR, '.e2e-artifacts', `n8n-${install.version}`),
				line,
				watch: {
					// The example file as users download it: no table picked, every 5 minutes.
					exampleFile: (() => {
						const file = join(work, 'watch-orders-email-refunds.json');
						writeFileSync(file, JSON.stringify(loadExample('watch-orders-email-refunds.json')));
						return file;
					})(),
					tables: { orders: browserTables.orders.name, refunds: browserTables.refunds.name },
					refundedOrder: async () => {
						const no = `UI-WATCH-${Date.now().toString(36)}`;
						await unpaidOrder(no, 15050);
						await control('/pay', { mch_order_no: no, channel: 'truemoney', notify: false });
						await rest.insertDataTableRows(browserTables.orders, [
							{
								orderNumber: no,
								email: 'ui-watch@example.com',
								watchState: initialWatchState('paid', new Date()),
							},
						]);
						await control('/refund', { mch_order_no: no, refund_fee: 5000 });
						return no;
					},
					mailSubjects: () => smtp!.mails.map((m) => m.subject),
				},
			});
			await n8n.stop();

			await step('n8n made no connection outside this machine', async () => {
				const guarded = assertStayedOffline(userFolder, 5);
				return `no DNS lookup or connection to any non-loopback address in ${guarded} n8n processes (checked by a preload)`;
			});
		};
		const figures: Record<string, string> = {};
		if (!only || only === 'regular') await regularMode();
		if (!only || only === 'regular' || only === 'crash') {
			const client = simulatorClient(sim.info);
			await crashSteps({ install, work, tarball, sim, smtp, client, figures });
		}
		if (!only || only === 'queue')
			await queueModeSteps({ install, work, tarball, sim: sim!, smtp: smtp!, figures });
	} finally {
		await n8n?.stop().catch(() => undefined);
		await smtp?.close().catch(() => undefined);
		await fake?.close().catch(() => undefined);
		await sim?.close().catch(() => undefined);
		if (results.every((r) => r.ok) && !process.env.KSHER_E2E_KEEP)
			rmSync(work, { recursive: true, force: true });
		else log(`kept the run's files (logs, mail, CSVs) in ${work}`);
	}
}

main().then(
	(code) => process.exit(code),
	(error: Error) => {
		process.stderr.write(`[e2e] aborted: ${error.stack ?? error.message}\n`);
		report({});
		process.exit(1);
	},
);
