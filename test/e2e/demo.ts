import { existsSync, mkdirSync, writeFileSync } from 'fs';
import { createServer } from 'net';
import { join } from 'path';

import { startSimulator, type Simulator } from '../simulator/server';
import { activateArgs, createN8n, ensureN8n, freePort, installPackage, linesFromArgs, packPackage, parseExecuteOutput, REPO_DIR, type N8nInstance } from './n8n';
import { N8nRest, OWNER } from './rest';
import { startSmtpSink, type SmtpSink } from './smtp';
import { credentialsFile, exampleWorkflows, TRIGGER_WEBHOOK_ID, WORKFLOW_IDS } from './workflows';

/**
 * `npm start`: n8n with this package installed, against the local Ksher simulator and an
 * SMTP sink, with the credential and the example workflows (the receipt workflow active).
 * State lives in .demo/ so logins, keys and history survive restarts. Ctrl-C stops it all.
 */
const DEMO = join(REPO_DIR, '.demo');
const log = (line: string) => process.stdout.write(`${line}\n`);

async function portOr(preferred: number): Promise<number> {
	const free = await new Promise<boolean>((resolve) => {
		const probe = createServer();
		probe.once('error', () => resolve(false));
		probe.listen(preferred, '127.0.0.1', () => probe.close(() => resolve(true)));
	});
	return free ? preferred : freePort();
}

async function main() {
	let sim: Simulator | undefined;
	let smtp: SmtpSink | undefined;
	let n8n: N8nInstance | undefined;
	const stopAll = async () => {
		await n8n?.stop().catch(() => undefined);
		await smtp?.close().catch(() => undefined);
		await sim?.close().catch(() => undefined);
	};
	let stopping = false;
	const onSignal = () => {
		if (stopping) return;
		stopping = true;
		log('\nStopping n8n, the simulator and the mail sink…');
		void stopAll().then(() => process.exit(0));
	};
	process.on('SIGINT', onSignal);
	process.on('SIGTERM', onSignal);

	try {
		// `npm start -- --n8n=1` runs the demo on n8n's 1.x line instead of 2.x.
		const [line] = linesFromArgs(process.argv, ['2']);
		const install = await ensureN8n(line);
		// One n8n user folder (database) per line: 2.x migrates a database beyond what 1.x reads.
		const userFolder = join(DEMO, line === '2' ? 'n8n' : 'n8n-1');
		const filesDir = join(DEMO, 'files');
		mkdirSync(filesDir, { recursive: true });
		log('Installing the freshly built package into n8n (as Settings → Community Nodes would)…');
		installPackage(userFolder, packPackage(join(DEMO, 'pack')));

		sim = await startSimulator({ port: await portOr(8866), keysDir: join(DEMO, 'keys'), timeScale: 1 });
		smtp = await startSmtpSink({ dir: join(DEMO, 'mail') });
		n8n = await createN8n(install, userFolder, filesDir, await portOr(5678));
		const triggerUrl = `${n8n.url}/webhook/${TRIGGER_WEBHOOK_ID}/webhook`;

		const setupDir = join(DEMO, 'setup');
		mkdirSync(join(setupDir, 'workflows'), { recursive: true });
		writeFileSync(join(setupDir, 'credentials.json'), JSON.stringify(credentialsFile({ sim: sim.info, smtp })));
		const resultUrl = `${sim.info.checkoutUrl}/result?mail=${encodeURIComponent(smtp.viewerUrl)}`;
		for (const wf of exampleWorkflows({ filesDir, triggerUrl, email: 'customer@example.com', resultUrl })) writeFileSync(join(setupDir, 'workflows', `${wf.id}.json`), JSON.stringify(wf));
		if (!existsSync(join(filesDir, 'refunds.csv'))) writeFileSync(join(filesDir, 'refunds.csv'), 'orderNumber,amount,reason\n');

		log('Importing the Ksher credential and the example workflows…');
		for (const args of [
			['import:credentials', `--input=${join(setupDir, 'credentials.json')}`],
			['import:workflow', '--separate', `--input=${join(setupDir, 'workflows')}`],
			activateArgs(install, WORKFLOW_IDS.receipt),
		]) {
			const r = await n8n.cli(args);
			if (r.code !== 0) throw new Error(`n8n ${args[0]} failed: ${(r.stderr || r.stdout).slice(-1500)}`);
		}
		log('Creating a payment link with the Ksher node (n8n execute)…');
		const created = await n8n.cli(['execute', `--id=${WORKFLOW_IDS.paymentLink}`, '--rawOutput']);
		const run = parseExecuteOutput(created.stdout) as { data: { resultData: { runData: Record<string, Array<{ data: { main: Array<Array<{ json: { paymentUrl?: string; orderNumber?: string } }>> } }>> } } };
		const payment = run.data.resultData.runData['Create Payment']?.[0]?.data.main[0][0].json;

		log('Starting n8n…');
		await n8n.start();
		await new N8nRest(n8n.url).login();

		log(`
────────────────────────────────────────────────────────────────────────
 n8n with n8n-nodes-ksher is running (everything on this machine, offline)

 n8n editor      ${n8n.url}
   login         ${OWNER.email}  /  ${OWNER.password}
   receipt flow  ${n8n.url}/workflow/${WORKFLOW_IDS.receipt}
 Checkout link   ${payment?.paymentUrl ?? '(could not create one; see .demo/n8n/n8n.log)'}
   order         ${payment?.orderNumber ?? ''} (150.50 THB) — open it and click a channel: it pays at once
 Received email  ${smtp.viewerUrl}  (files in .demo/mail/)
 Simulator       ${sim.info.controlUrl.replace(/\/control$/, '')}  (control API under /control)

 Paying runs the active workflow "Ksher: email a receipt when a customer pays":
 the Ksher Trigger verifies the simulator's signed notification and Send Email
 delivers the receipt to the mail page above. The other example workflows are
 in the editor too. Ctrl-C (or SIGINT/SIGTERM to npm) stops everything.
────────────────────────────────────────────────────────────────────────`);
		await new Promise(() => undefined);
	} catch (error) {
		process.stderr.write(`npm start failed: ${(error as Error).message}\n`);
		await stopAll();
		process.exit(1);
	}
}

void main();
