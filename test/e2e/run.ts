import { spawnSync } from 'child_process';
import { generateKeyPairSync } from 'crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { idOf, storedIds, type StoredMemory } from '../../nodes/KsherTrigger/ledger';
import { KsherClient } from '../../nodes/protocol';
import { startSimulator, type Simulator } from '../simulator/server';
import { activateArgs, createN8n, ensureN8n, installPackage, linesFromArgs, N8N_LINES, packPackage, parseExecuteOutput, REPO_DIR, type N8nInstance, type N8nLine } from './n8n';
import { queueModeSteps } from './queueSteps';
import { N8nRest, OWNER } from './rest';
import { assert, assertStayedOffline, log, report, results, runningIn, step, waitFor } from './steps';
import { startSmtpSink, type SmtpSink } from './smtp';
import { ACK, deliverAll, describeAnswers, notAcknowledged, paidNotification, settledRunCheck, shuffle } from './exactlyOnce';
import { agentSteps } from './agentSteps';
import { browserSteps } from './browser';
import { startFakeOpenAi, type FakeOpenAi } from './fakeOpenAi';
import { createWatchTable, watchSteps } from './watchSteps';
import { credentialsFile, exampleWorkflows, ONCE_ONLY_WEBHOOK_ID, onceOnlyWorkflow, operationWorkflow, TRIGGER_WEBHOOK_ID, watchWorkflows, WORKFLOW_IDS } from './workflows';

/**
 * `npm run test:e2e`: the package as users get it (packed, installed into a real n8n's
 * community-nodes folder), against the simulator and a local SMTP sink, fully offline.
 */
function csvRows(text: string): Array<Record<string, string>> {
	const parseLine = (line: string) => {
		const out: string[] = [];
		let cur = '';
		let quoted = false;
		for (let i = 0; i < line.length; i++) {
			const c = line[i];
			if (quoted) {
				if (c === '"' && line[i + 1] === '"') {
					cur += '"';
					i++;
				} else if (c === '"') quoted = false;
				else cur += c;
			} else if (c === '"') quoted = true;
			else if (c === ',') {
				out.push(cur);
				cur = '';
			} else cur += c;
		}
		out.push(cur);
		return out;
	};
	const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l !== '');
	const header = parseLine(lines[0]);
	return lines.slice(1).map((l) => Object.fromEntries(parseLine(l).map((v, i) => [header[i], v])));
}

/**
 * `-- --n8n=1` or `-- --n8n=2` runs one n8n line (default: both, 1.x first); `-- --only=regular`
 * or `-- --only=queue` one part (queue mode runs on the 2.x line).
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
			const listing = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
			const must = ['package/package.json', 'package/index.js', 'package/LICENSE', 'package/README.md', 'package/dist/credentials/KsherApi.credentials.js', 'package/dist/nodes/Ksher/Ksher.node.js', 'package/dist/nodes/Ksher/Ksher.node.json', 'package/dist/nodes/KsherTrigger/KsherTrigger.node.js', 'package/dist/icons/ksher.svg', 'package/dist/icons/ksher.dark.svg'];
			const missing = must.filter((f) => !listing.includes(f));
			assert(missing.length === 0, `missing: ${missing.join(', ')}`);
			const unwanted = listing.filter((f) => /(^package\/(test|bench|examples|scripts|nodes|credentials)\/)|\.test\.|\.ts$(?<!\.d\.ts)|\.pem$|\.npmrc$/.test(f));
			assert(unwanted.length === 0, `unexpected files: ${unwanted.slice(0, 10).join(', ')}`);
			const manifest = JSON.parse(spawnSync('tar', ['-xOzf', tarball, 'package/package.json'], { encoding: 'utf8' }).stdout) as { dependencies?: object };
			assert(!manifest.dependencies || Object.keys(manifest.dependencies).length === 0, 'the package has runtime dependencies');
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
			const client = new KsherClient({ appId: sim.info.appid, privateKey: sim.info.merchantPrivateKey, ksherPublicKey: sim.info.ksherPublicKey, gatewayUrl: sim.info.gatewayUrl, apiUrl: sim.info.apiUrl });
			const control = async (path: string, body: unknown) => {
				const r = await fetch(`${sim!.info.controlUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
				const text = await r.text();
				assert(r.status === 200, `simulator ${path} answered ${r.status}: ${text}`);
				return JSON.parse(text) as Record<string, unknown>;
			};

			const credentials = credentialsFile({ sim: sim.info, smtp, openAiUrl: fake?.url });
			writeFileSync(join(work, 'credentials.json'), JSON.stringify(credentials));
			mkdirSync(join(work, 'workflows'));
			for (const wf of [...exampleWorkflows({ filesDir, triggerUrl, email: 'buyer@example.com' }), onceOnlyWorkflow()]) writeFileSync(join(work, 'workflows', `${wf.id}.json`), JSON.stringify(wf));
			const ops = [
				operationWorkflow('ksherE2eGetPay01', 'e2e: get payment', { resource: 'payment', operation: 'get', orderNumber: '' }),
				operationWorkflow('ksherE2eRefunds1', 'e2e: get many refunds', { resource: 'refund', operation: 'getAll', orderNumber: '' }),
				operationWorkflow('ksherE2eCancel01', 'e2e: cancel payment', { resource: 'payment', operation: 'cancel', orderNumber: '' }),
			];

			let orderNumber = '';
			let fullyRefunded = '';
			const unpaidOrder = async (no: string, total = 10000) => {
				await client.call('gateway_pay', { mch_order_no: no, total_fee: total, fee_type: 'THB', channel_list: 'promptpay,card,truemoney', mch_code: no, mch_redirect_url: 'https://shop.example/ok', mch_redirect_url_fail: 'https://shop.example/ok', product_name: 'e2e item', refer_url: 'https://shop.example' });
				return no;
			};
			const cliOk = async (args: string[]) => {
				const r = await n8n!.cli(args);
				assert(r.code === 0, `n8n ${args[0]} failed (${r.code}): ${(r.stderr || r.stdout).slice(-1500)}`);
				return r;
			};
			const execute = async (id: string) => {
				const r = await n8n!.cli(['execute', `--id=${id}`, '--rawOutput']);
				const run = parseExecuteOutput(r.stdout) as { status?: string; data: { resultData: { runData: Record<string, Array<{ data?: { main: Array<Array<{ json: Record<string, unknown> }>> } }>>; error?: { message: string } } } };
				assert(r.code === 0 && run.status === 'success', `execute ${id} failed: ${run.data.resultData.error?.message ?? r.stderr.slice(-800)}`);
				return (node: string) => run.data.resultData.runData[node]?.[0]?.data?.main[0]?.map((i) => i.json) ?? [];
			};

			const setupOk = await step('import credentials and example workflows, publish the receipt workflow', async () => {
				await cliOk(['import:credentials', `--input=${join(work, 'credentials.json')}`]);
				await cliOk(['import:workflow', '--separate', `--input=${join(work, 'workflows')}`]);
				await cliOk(activateArgs(install, WORKFLOW_IDS.receipt));
				await cliOk(activateArgs(install, WORKFLOW_IDS.onceOnly));
				const types = await cliOk(['export:nodes', `--output=${join(work, 'nodes.json')}`]);
				const exported = JSON.parse(readFileSync(join(work, 'nodes.json'), 'utf8')) as Array<{ name: string }>;
				const names = exported.map((n) => n.name).filter((n) => n.startsWith('n8n-nodes-ksher.'));
				assert(names.includes('n8n-nodes-ksher.ksher') && names.includes('n8n-nodes-ksher.ksherTrigger'), `node types not loaded: ${names.join(', ')} ${types.stderr.slice(-300)}`);
				return `node types ${names.join(', ')}`;
			});
			if (!setupOk) return;

			await step('Create Payment through `n8n execute` returns a simulator checkout link', async () => {
				const output = await execute(WORKFLOW_IDS.paymentLink);
				const [item] = output('Create Payment');
				assert(item && typeof item.paymentUrl === 'string' && item.paymentUrl.startsWith(sim!.info.checkoutUrl), `unexpected output ${JSON.stringify(item)}`);
				orderNumber = String(item.orderNumber);
				const page = await (await fetch(String(item.paymentUrl))).text();
				assert(page.includes('150.50 THB'), 'the checkout page does not show the amount');
				return `${orderNumber} → ${String(item.paymentUrl)}`;
			});

			const started = Date.now();
			await n8n.start();
			timings[`n8n ${line}.x start`] = (Date.now() - started) / 1000;
			const rest = new N8nRest(n8n.url);
			await rest.login();
			await rest.createApiKey();
			const watchTable = await createWatchTable(rest);
			await waitFor('the trigger webhook to be registered', async () => (await fetch(triggerUrl, { method: 'POST', body: 'x' })).status === 400 || undefined, 30_000);

			await step('paying calls the production webhook: exactly one receipt execution and one email', async () => {
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
				assert(executions.length === 1 && executions[0].status === 'success', `executions: ${JSON.stringify(executions.map((e) => e.status))}`);
				const first = sim!.deliveries.find((d) => d.mch_order_no === orderNumber);
				assert(first?.acknowledged && first.response === ACK, `Ksher got ${first?.status} ${first?.response}`);
				return `email "${mail.subject}" to ${mail.to.join(', ')}`;
			});

			await step('5 re-deliveries of the notification: all acknowledged, no new execution or email', async () => {
				for (let i = 0; i < 5; i++) await control('/notify', { mch_order_no: orderNumber });
				await waitFor('6 acknowledged deliveries', () => sim!.deliveries.filter((d) => d.mch_order_no === orderNumber && d.acknowledged).length >= 6 || undefined, 30_000);
				await new Promise((r) => setTimeout(r, 3000));
				const attempts = sim!.deliveries.filter((d) => d.mch_order_no === orderNumber);
				assert(attempts.every((a) => a.status === 200 && a.response === ACK), `answers: ${attempts.map((a) => `${a.status} ${a.response}`).join('; ')}`);
				assert(smtp!.mails.length === 1, `${smtp!.mails.length} emails`);
				const executions = await rest.executions(WORKFLOW_IDS.receipt);
				assert(executions.length === 1, `${executions.length} executions`);
				return `${attempts.length} deliveries, 1 execution, 1 email`;
			});

			await step('forged and tampered notifications get 401, no execution, no email', async () => {
				const genuine = JSON.parse(sim!.deliveries.find((d) => d.mch_order_no === orderNumber)!.body) as { data: Record<string, unknown>; sign: string };
				const forged = { ...genuine, sign: genuine.sign.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')) };
				const tampered = { ...genuine, data: { ...genuine.data, total_fee: 1, mch_order_no: `${orderNumber}-X` } };
				const answers = [];
				for (const body of [forged, tampered]) {
					const r = await fetch(triggerUrl, { method: 'POST', headers: { 'content-type': 'text/plain;charset=utf-8' }, body: JSON.stringify(body) });
					answers.push(`${r.status} ${await r.text()}`);
					assert(r.status === 401, `answered ${r.status}`);
				}
				await new Promise((r) => setTimeout(r, 1500));
				assert((await rest.executions(WORKFLOW_IDS.receipt)).length === 1, 'a forged notification started an execution');
				assert(smtp!.mails.length === 1, 'a forged notification sent an email');
				return answers.join(' | ');
			});

			await step('credential test: succeeds with the imported credential, fails clearly with a wrong key', async () => {
				const good = await rest.testCredential(credentials[0]);
				assert(good.status === 'OK', `good credential: ${good.message}`);
				const wrongKey = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
				const bad = await rest.testCredential({ ...credentials[0], data: { ...credentials[0].data, privateKey: wrongKey } });
				assert(bad.status === 'Error' && /rejected the signature/.test(bad.message), `wrong key: ${bad.status} ${bad.message}`);
				assert(!bad.message.includes(wrongKey.split('\n')[1]), 'the message contains key material');
				return `OK: "${good.message}" / Error: "${bad.message.slice(0, 90)}…"`;
			});

			// Exactly once, in this real n8n: every copy is answered by n8n only after the execution
			// it started (if any) was stored, so the counts below are final when the answers are in.
			const onceUrl = `${n8n.url}/webhook/${ONCE_ONLY_WEBHOOK_ID}/webhook`;
			const onceOrders: Array<{ orderNo: string; body: string }> = [];
			const checkRuns = async (what: string) => {
				const check = await settledRunCheck(() => rest.triggeredOrders(WORKFLOW_IDS.onceOnly), onceOrders.map((o) => o.orderNo));
				assert(check.twice.length === 0 && check.missing.length === 0 && check.extra.length === 0, `${what}: ${check.twice.length} orders ran twice (${check.twice.slice(0, 3).join(', ')}), ${check.missing.length} never ran, ${check.extra.length} unexpected`);
				return onceOrders.length;
			};
			await step('one n8n: 2, 12 and 50 concurrent copies of one notification start exactly 1 execution each, every copy acknowledged', async () => {
				const counts = [];
				for (const copies of [2, 12, 50]) {
					const n = paidNotification(sim!, `ONCE${copies}`);
					onceOrders.push(n);
					const answers = await Promise.all(Array.from({ length: copies }, () => fetch(onceUrl, { method: 'POST', headers: { 'content-type': 'text/plain;charset=utf-8' }, body: n.body }).then(async (r) => ({ status: r.status, body: await r.text(), ms: 0 }))));
					assert(notAcknowledged(answers).length === 0, `${copies} copies: ${describeAnswers(answers)}`);
					counts.push(`${copies} copies → 1`);
				}
				await checkRuns('after the concurrent copies');
				return counts.join(', ');
			});
			await step('one n8n: 30 orders notified at once, then each once more one by one: exactly 30 executions', async () => {
				const batch = Array.from({ length: 30 }, () => paidNotification(sim!, 'BURST'));
				onceOrders.push(...batch);
				const first = await Promise.all(batch.map((o) => deliverAll([{ url: onceUrl, body: o.body }], 1).then((a) => a[0])));
				assert(notAcknowledged(first).length === 0, `at once: ${describeAnswers(first)}`);
				const again = await deliverAll(batch.map((o) => ({ url: onceUrl, body: o.body })), 1);
				assert(notAcknowledged(again).length === 0, `one by one: ${describeAnswers(again)}`);
				await checkRuns('after 30 at once and each again');
				return '30 + 30 deliveries → 30 executions';
			});
			await step('one n8n: 200 orders × 3 deliveries, shuffled, 25 in flight: exactly 200 executions; one more of each: none', async () => {
				const batch = Array.from({ length: 200 }, () => paidNotification(sim!, 'LOAD'));
				onceOrders.push(...batch);
				const jobs = shuffle(batch.flatMap((o) => [o, o, o]).map((o) => ({ url: onceUrl, body: o.body })));
				const answers = await deliverAll(jobs, 25);
				assert(notAcknowledged(answers).length === 0, `600 deliveries: ${describeAnswers(answers)}`);
				await checkRuns('after 600 shuffled deliveries');
				// Runs that end after later deliveries were handled (each waits 1 s) must not have
				// saved an older copy of the trigger's memory over a newer one.
				await new Promise((r) => setTimeout(r, 3000));
				const more = await deliverAll(onceOrders.map((o) => ({ url: onceUrl, body: o.body })), 10);
				assert(notAcknowledged(more).length === 0, `one more of each: ${describeAnswers(more)}`);
				const total = await checkRuns('after one more delivery of each');
				return `600 + ${more.length} deliveries → ${total} executions in all, none twice`;
			});
			await step('restart n8n: the trigger\'s stored memory holds every order; delivering each again starts nothing', async () => {
				await n8n!.stop();
				const exported = join(work, 'once-only.json');
				await cliOk(['export:workflow', `--id=${WORKFLOW_IDS.onceOnly}`, `--output=${exported}`]);
				const workflow = JSON.parse(readFileSync(exported, 'utf8')) as Array<{ staticData?: Record<string, StoredMemory> }> | { staticData?: Record<string, StoredMemory> };
				const staticData = (Array.isArray(workflow) ? workflow[0] : workflow).staticData ?? {};
				const stored = storedIds(staticData['node:Ksher Trigger'] ?? {});
				const missing = onceOrders.filter((o) => !stored.has(idOf(`${sim!.info.appid}|${o.orderNo}|paid|`)));
				assert(missing.length === 0, `${missing.length} of ${onceOrders.length} orders are missing from the stored memory, e.g. ${missing.slice(0, 3).map((o) => o.orderNo).join(', ')}`);
				await n8n!.start();
				await rest.login();
				await waitFor('the trigger webhooks to be registered again', async () => (await fetch(onceUrl, { method: 'POST', body: 'x' })).status === 400 || undefined, 30_000);
				const answers = await deliverAll(onceOrders.map((o) => ({ url: onceUrl, body: o.body })), 10);
				assert(notAcknowledged(answers).length === 0, `after the restart: ${describeAnswers(answers)}`);
				const total = await checkRuns('after the restart');
				return `${stored.size} entries stored; ${answers.length} deliveries after the restart → 0 new executions (${total} in all)`;
			});

			const stopStarted = Date.now();
			await n8n.stop();
			timings[`n8n ${line}.x stop`] = (Date.now() - stopStarted) / 1000;

			await step('refund spreadsheet (50 rows): valid rows refunded once, bad rows explained, a re-run refunds nothing', async () => {
				const rows: Array<{ orderNumber: string; amount: string; reason: string; expect: 'full' | 'partial' | 'fail' }> = [];
				const paid = (prefix: string) => unpaidOrder(`${prefix}-${Date.now().toString(36)}-${rows.length}`);
				for (let i = 0; i < 40; i++) rows.push({ orderNumber: await paid('FULL'), amount: '', reason: 'customer returned it', expect: 'full' });
				for (let i = 0; i < 4; i++) rows.push({ orderNumber: await paid('PART'), amount: '25.50', reason: 'partial refund', expect: 'partial' });
				for (let i = 0; i < 2; i++) rows.push({ orderNumber: await paid('OVER'), amount: '500.00', reason: 'over-refund', expect: 'fail' });
				for (let i = 0; i < 2; i++) rows.push({ orderNumber: await paid('UNPAID'), amount: '10', reason: 'never paid', expect: 'fail' });
				rows.push({ orderNumber: await paid('BADAMT'), amount: '12,50', reason: 'malformed amount', expect: 'fail' });
				rows.push({ orderNumber: await paid('BADAMT'), amount: 'ten', reason: 'malformed amount', expect: 'fail' });
				// TrueMoney: Ksher lists its refunds (Get Many below needs that; PromptPay's it cannot).
				for (const row of rows) if (!row.orderNumber.startsWith('UNPAID')) await control('/pay', { mch_order_no: row.orderNumber, channel: 'truemoney' });
				assert(rows.length === 50, `${rows.length} rows`);
				writeFileSync(join(filesDir, 'refunds.csv'), `orderNumber,amount,reason\n${rows.map((r) => `${r.orderNumber},"${r.amount}",${r.reason}`).join('\n')}\n`);

				const refundTotals = () => rows.map((r) => (sim!.order(r.orderNumber)?.refunds ?? []).reduce((s, x) => s + x.refund_fee, 0));
				const expected = rows.map((r) => (r.expect === 'full' ? 10000 : r.expect === 'partial' ? 2550 : 0));
				for (const run of [1, 2]) {
					await execute(WORKFLOW_IDS.refundSheet);
					const out = csvRows(readFileSync(join(filesDir, 'refund-results.csv'), 'utf8'));
					assert(out.length === 50, `run ${run}: ${out.length} result rows`);
					out.forEach((o, i) => {
						const want = rows[i];
						assert(o.orderNumber === want.orderNumber, `run ${run} row ${i}: order ${o.orderNumber}`);
						if (want.expect === 'fail') assert(o.status === 'failed' && o.error && o.solution, `run ${run} row ${i} (${want.reason}): ${JSON.stringify(o)}`);
						else assert(o.status === (run === 1 ? 'refunded' : 'already refunded') && o.refundNumber, `run ${run} row ${i}: ${JSON.stringify(o)}`);
					});
					const totals = refundTotals();
					assert(JSON.stringify(totals) === JSON.stringify(expected), `run ${run}: refunded amounts differ from what was asked`);
					assert(rows.every((r) => (sim!.order(r.orderNumber)?.refunds.length ?? 0) <= 1), `run ${run}: an order was refunded twice`);
				}
				fullyRefunded = rows[0].orderNumber;
				const sample = csvRows(readFileSync(join(filesDir, 'refund-results.csv'), 'utf8'));
				return `44 refunded once, 6 explained (e.g. "${sample[44].error.slice(0, 70)}…")`;
			});

			await step('Get Payment, Get Many refunds and Cancel through `n8n execute`', async () => {
				assert(orderNumber && fullyRefunded, 'earlier steps did not produce the orders to look at');
				const paidNo = orderNumber;
				const cancelNo = await unpaidOrder(`CANCEL-${Date.now()}`);
				ops[0].nodes[1].parameters.orderNumber = paidNo;
				ops[1].nodes[1].parameters.orderNumber = fullyRefunded;
				ops[2].nodes[1].parameters.orderNumber = cancelNo;
				rmSync(join(work, 'ops'), { recursive: true, force: true });
				mkdirSync(join(work, 'ops'));
				for (const wf of ops) writeFileSync(join(work, 'ops', `${wf.id}.json`), JSON.stringify(wf));
				await cliOk(['import:workflow', '--separate', `--input=${join(work, 'ops')}`]);
				const [get] = (await execute(ops[0].id))('Ksher');
				assert(get?.status === 'paid' && get.orderNumber === paidNo && get.amount === '150.50' && get.channel === 'promptpay', `get: ${JSON.stringify(get)}`);
				const refunds = (await execute(ops[1].id))('Ksher');
				assert(refunds.length === 1 && refunds[0].amount === '100.00' && refunds[0].status === 'refunded', `get many: ${JSON.stringify(refunds)}`);
				const [cancel] = (await execute(ops[2].id))('Ksher');
				assert(cancel?.cancelled === true && sim!.order(cancelNo)?.cancelled === true, `cancel: ${JSON.stringify(cancel)}`);
				return `get: ${String(get.status)}, refunds: ${refunds.length}, cancelled: ${cancelNo}`;
			});
			if (fake) await agentSteps({ n8n, work, sim, fake, control });

			await watchSteps({ install, n8n, rest, sim, smtp, client, work, cli: cliOk, control }, watchTable);

			// A new user's first minutes, in a real browser, against this n8n (still running).
			const browserOrder = `BROWSER-${Date.now().toString(36)}`;
			const resultUrl = `${sim.info.checkoutUrl}/result?mail=${encodeURIComponent(smtp.viewerUrl)}`;
			const { data: link } = await client.call('gateway_pay', {
				mch_order_no: browserOrder, total_fee: 15050, fee_type: 'THB', channel_list: 'promptpay,card,truemoney,linepay', mch_code: browserOrder,
				mch_redirect_url: resultUrl, mch_redirect_url_fail: resultUrl, mch_notify_url: triggerUrl, product_name: 'Thai silk scarf',
				refer_url: 'https://shop.example', attach: JSON.stringify({ email: 'buyer@example.com' }),
			});
			await browserSteps({
				editorUrl: n8n.url,
				login: { email: OWNER.email, password: OWNER.password },
				payment: { payUrl: String(link.pay_content), orderNumber: browserOrder },
				mailUrl: smtp.viewerUrl,
				workflows: Object.fromEntries([...exampleWorkflows({ filesDir, triggerUrl }), ...watchWorkflows('', 2)].map((wf) => [wf.id, wf.name])),
				panelWorkflow: WORKFLOW_IDS.paymentLink,
				artifactsDir: join(REPO_DIR, '.e2e-artifacts', `n8n-${install.version}`),
			});
			await n8n.stop();

			await step('n8n made no connection outside this machine', async () => {
				const guarded = assertStayedOffline(userFolder, 5);
				return `no DNS lookup or connection to any non-loopback address in ${guarded} n8n processes (checked by a preload)`;
			});
		};
		const figures: Record<string, string> = {};
		if (only !== 'queue') await regularMode();
		if (only !== 'regular') await queueModeSteps({ install, work, tarball, sim: sim!, smtp: smtp!, figures });
	} finally {
		await n8n?.stop().catch(() => undefined);
		await smtp?.close().catch(() => undefined);
		await fake?.close().catch(() => undefined);
		await sim?.close().catch(() => undefined);
		if (results.every((r) => r.ok) && !process.env.KSHER_E2E_KEEP) rmSync(work, { recursive: true, force: true });
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
