import { spawnSync } from 'child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { createServer } from 'net';
import { join } from 'path';

import { startSimulator, type Simulator } from '../test/simulator/server';
import {
	activateArgs,
	createN8n,
	ensureN8n,
	firstRealError,
	freePort,
	installPackage,
	linesFromArgs,
	packPackage,
	parseExecuteOutput,
	REPO_DIR,
	type N8nInstall,
	type N8nInstance,
} from '../test/harness/n8n';
import { N8nRest, OWNER } from '../test/harness/rest';
import { startSmtpSink, type SmtpSink } from '../test/harness/smtp';
import {
	booksWorkflow,
	CHAT_ORDER_PATH,
	credentialsFile,
	exampleWorkflows,
	RECORD_WEBHOOK_ID,
	REFUND_QUEUE_COLUMNS,
	REFUNDS_TABLE_COLUMNS,
	refundWorkflows,
	WATCH_TABLE_COLUMNS,
	watchWorkflows,
	WORKFLOW_IDS,
} from '../test/harness/workflows';

/**
 * `npm start`: n8n with this package installed, against the local Ksher simulator and an SMTP
 * sink, with the credential, both Data Tables and every example workflow (the receipt-and-record,
 * watch, refund queue and approval workflows active). It builds the package itself: npm skips
 * `prestart` under this repository's ignore-scripts. State lives in .demo/ so logins, keys and
 * history survive restarts; a start that cannot use it (an earlier start was killed during its
 * first set-up) starts n8n's demo database afresh, saying so. `npm start -- --reset` starts from
 * scratch. Ctrl-C stops it all.
 */
const DEMO = join(REPO_DIR, '.demo');
const PORTS = { n8n: 5678, simulator: 8866, mail: 8025 };
const log = (line: string) => process.stdout.write(`${line}\n`);

/** What the demo's n8n database holds once its first set-up has finished. */
interface DemoState {
	tables: { orders: string; refunds: string; refundQueue: string };
	/** The example workflows imported (and the live ones activated) so far: a later start leaves them as the user made them. */
	imported?: string[];
}

async function portOr(preferred: number): Promise<number> {
	const free = await new Promise<boolean>((resolve) => {
		const probe = createServer();
		probe.once('error', () => resolve(false));
		probe.listen(preferred, '127.0.0.1', () => probe.close(() => resolve(true)));
	});
	return free ? preferred : freePort();
}

/** Builds dist/ (npm's ignore-scripts skips pre-scripts, so the demo cannot rely on `prestart`). */
function build(): void {
	log('Building the package (TypeScript → dist/)…');
	const result = spawnSync('npm', ['run', 'build', '--silent'], {
		cwd: REPO_DIR,
		encoding: 'utf8',
	});
	if (result.status !== 0)
		throw new Error(
			`building the package failed: ${firstRealError(`${result.stdout}\n${result.stderr}`)}`,
		);
	if (!existsSync(join(REPO_DIR, 'dist', 'nodes', 'Ksher', 'Ksher.node.js')))
		throw new Error('the build left no dist/nodes/Ksher/Ksher.node.js');
}

/** An n8n left running by an earlier start that was killed (its pid is kept beside its data). */
function stopLeftover(pidFile: string): void {
	if (!existsSync(pidFile)) return;
	const pid = Number(readFileSync(pidFile, 'utf8'));
	rmSync(pidFile, { force: true });
	const cmdline =
		Number.isInteger(pid) && existsSync(`/proc/${pid}/cmdline`)
			? readFileSync(`/proc/${pid}/cmdline`, 'utf8')
			: '';
	if (!cmdline.includes('n8n')) return;
	log(`Stopping the n8n an earlier start left running (pid ${pid})…`);
	try {
		process.kill(pid, 'SIGKILL');
	} catch {
		// Already gone.
	}
	for (let i = 0; i < 50 && existsSync(`/proc/${pid}`); i++) spawnSync('sleep', ['0.1']);
}

async function cliOk(n8n: N8nInstance, args: string[]): Promise<string> {
	const r = await n8n.cli(args);
	if (r.code !== 0)
		throw new Error(`n8n ${args[0]} failed: ${firstRealError(`${r.stderr}\n${r.stdout}`)}`);
	return r.stdout;
}

/** The first set-up of a demo database: the owner and the two Data Tables the examples use (n8n creates tables only over its REST API). */
async function firstSetup(n8n: N8nInstance): Promise<DemoState> {
	log(
		'First start of this demo database: creating the owner and the Data Tables (Ksher orders, Ksher refunds, Ksher refund queue)…',
	);
	await n8n.start();
	try {
		const rest = new N8nRest(n8n.url);
		await rest.login();
		const orders = await rest.createDataTable('Ksher orders', WATCH_TABLE_COLUMNS);
		const refunds = await rest.createDataTable('Ksher refunds', REFUNDS_TABLE_COLUMNS);
		const refundQueue = await rest.createDataTable('Ksher refund queue', REFUND_QUEUE_COLUMNS);
		return {
			tables: {
				orders: orders.tableId,
				refunds: refunds.tableId,
				refundQueue: refundQueue.tableId,
			},
		};
	} finally {
		await n8n.stop();
	}
}

interface Started {
	n8n: N8nInstance;
	payment?: { paymentUrl?: string; orderNumber?: string };
}

/** Imports the credential and every example (pointed at this demo), activates the live ones, makes a payment link and starts n8n. */
async function startDemo(
	install: N8nInstall,
	userFolder: string,
	sim: Simulator,
	smtp: SmtpSink,
	pidFile: string,
	onN8n: (n8n: N8nInstance) => void,
): Promise<Started> {
	const filesDir = join(DEMO, 'files');
	mkdirSync(filesDir, { recursive: true });
	log('Installing the freshly built package into n8n (as Settings → Community Nodes would)…');
	installPackage(userFolder, packPackage(join(DEMO, 'pack')));
	const n8n = await createN8n(install, userFolder, filesDir, await portOr(PORTS.n8n));
	onN8n(n8n);
	const setupDir = join(DEMO, 'setup');
	mkdirSync(join(setupDir, 'workflows'), { recursive: true });
	writeFileSync(
		join(setupDir, 'credentials.json'),
		JSON.stringify(credentialsFile({ sim: sim.info, smtp })),
	);
	log('Importing the Ksher credential…');
	await cliOk(n8n, ['import:credentials', `--input=${join(setupDir, 'credentials.json')}`]);

	const stateFile = join(userFolder, 'demo-state.json');
	const state: DemoState = existsSync(stateFile)
		? (JSON.parse(readFileSync(stateFile, 'utf8')) as DemoState)
		: await firstSetup(n8n);
	// A database set up by an earlier version of the demo lacks a table: start it afresh.
	if (!state.tables?.orders || !state.tables.refunds || !state.tables.refundQueue)
		throw new Error('the demo database was set up by an earlier version of the demo');
	writeFileSync(stateFile, JSON.stringify(state));

	// Payments made through the demo notify the workflow that both emails the receipt and records the order.
	const notifyUrl = `${n8n.url}/webhook/${RECORD_WEBHOOK_ID}/webhook`;
	const resultUrl = `${sim.info.checkoutUrl}/result?mail=${encodeURIComponent(smtp.viewerUrl)}`;
	const workflows = [
		...exampleWorkflows({
			filesDir,
			triggerUrl: notifyUrl,
			email: 'customer@example.com',
			resultUrl,
			refundsTable: state.tables.refunds,
		}),
		...watchWorkflows(state.tables),
		booksWorkflow(state.tables),
		...refundWorkflows(state.tables),
	];
	if (!existsSync(join(filesDir, 'refunds.csv')))
		writeFileSync(join(filesDir, 'refunds.csv'), 'orderNumber,amount,reason\n');
	// Only examples this database does not have yet are imported: the user's edits (and what they turned on
	// or off) are kept; `npm start -- --reset` starts over.
	const imported = new Set(state.imported ?? []);
	const fresh = workflows.filter((wf) => !imported.has(wf.id));
	if (imported.size > 0)
		log(
			`Keeping the ${workflows.length - fresh.length} example workflows as you left them (npm start -- --reset starts over).`,
		);
	if (fresh.length > 0) {
		rmSync(join(setupDir, 'workflows'), { recursive: true, force: true });
		mkdirSync(join(setupDir, 'workflows'));
		for (const wf of fresh)
			writeFileSync(join(setupDir, 'workflows', `${wf.id}.json`), JSON.stringify(wf));
		log(`Importing ${fresh.length} example workflow${fresh.length > 1 ? 's' : ''}…`);
		await cliOk(n8n, ['import:workflow', '--separate', `--input=${join(setupDir, 'workflows')}`]);
		const live = new Set<string>([
			WORKFLOW_IDS.recordPaid,
			WORKFLOW_IDS.watch,
			WORKFLOW_IDS.refundQueue,
			WORKFLOW_IDS.refundApproval,
			WORKFLOW_IDS.books,
			WORKFLOW_IDS.chatQr,
		]);
		for (const wf of fresh) if (live.has(wf.id)) await cliOk(n8n, activateArgs(install, wf.id));
		state.imported = [...imported, ...fresh.map((wf) => wf.id)];
		writeFileSync(stateFile, JSON.stringify(state));
	}

	log('Creating a payment link with the Ksher node (n8n execute)…');
	const created = await cliOk(n8n, ['execute', `--id=${WORKFLOW_IDS.paymentLink}`, '--rawOutput']);
	const run = parseExecuteOutput(created) as {
		data: {
			resultData: {
				runData: Record<
					string,
					Array<{
						data: { main: Array<Array<{ json: { paymentUrl?: string; orderNumber?: string } }>> };
					}>
				>;
			};
		};
	};
	const payment = run.data.resultData.runData['Create Payment']?.[0]?.data.main[0][0].json;

	log('Starting n8n…');
	await n8n.start();
	writeFileSync(pidFile, String(n8n.pid()));
	const rest = new N8nRest(n8n.url);
	await rest.login();
	// A demo database set up for earlier examples lacks the columns newer ones write (the queue's result,
	// the refunds' customerTold): added before anything runs that writes them.
	for (const [tableId, columns] of [
		[state.tables.orders, WATCH_TABLE_COLUMNS],
		[state.tables.refunds, REFUNDS_TABLE_COLUMNS],
		[state.tables.refundQueue, REFUND_QUEUE_COLUMNS],
	] as const) {
		const added = await rest.addMissingColumns(tableId, columns);
		if (added.length)
			log(
				`Added the column${added.length > 1 ? 's' : ''} ${added.join(', ')} the examples now use.`,
			);
	}
	return { n8n, payment };
}

async function main() {
	let sim: Simulator | undefined;
	let smtp: SmtpSink | undefined;
	let n8n: N8nInstance | undefined;
	let pidFile: string | undefined;
	const stopAll = async () => {
		await n8n?.stop().catch(() => undefined);
		if (pidFile) rmSync(pidFile, { force: true });
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
		if (process.argv.includes('--reset')) {
			log(
				"--reset: deleting .demo/ (n8n's demo database, the simulator's keys, received mail) to start from scratch…",
			);
			rmSync(DEMO, { recursive: true, force: true });
		}
		// `npm start -- --n8n=1` runs the demo on n8n's 1.x line instead of 2.x.
		const [line] = linesFromArgs(process.argv, ['2']);
		// One n8n user folder (database) per line: 2.x migrates a database beyond what 1.x reads.
		const userFolder = join(DEMO, line === '2' ? 'n8n' : 'n8n-1');
		pidFile = join(DEMO, `n8n-${line}.pid`);
		mkdirSync(DEMO, { recursive: true });
		stopLeftover(pidFile);
		build();
		const install = await ensureN8n(line);
		// A database whose first set-up never finished (that start was killed or failed) is not reused.
		if (existsSync(userFolder) && !existsSync(join(userFolder, 'demo-state.json'))) {
			log(
				`An earlier start did not finish its first set-up: starting n8n's demo database afresh (${userFolder}).`,
			);
			rmSync(userFolder, { recursive: true, force: true });
		}
		sim = await startSimulator({
			port: await portOr(PORTS.simulator),
			keysDir: join(DEMO, 'keys'),
			// Its orders, refunds and clock too: the watch keeps finding the orders it watches after a restart.
			bookFile: join(DEMO, 'simulator-book.json'),
			timeScale: 1,
		});
		smtp = await startSmtpSink({ dir: join(DEMO, 'mail'), viewerPort: await portOr(PORTS.mail) });
		let started: Started;
		try {
			started = await startDemo(
				install,
				userFolder,
				sim,
				smtp,
				pidFile,
				(instance) => (n8n = instance),
			);
		} catch (error) {
			if (stopping) return;
			// Whatever an interrupted start left behind, a fresh database recovers from it.
			log(
				`Could not start from the existing demo database (${(error as Error).message}); starting it afresh…`,
			);
			await n8n?.stop().catch(() => undefined);
			rmSync(userFolder, { recursive: true, force: true });
			started = await startDemo(
				install,
				userFolder,
				sim,
				smtp,
				pidFile,
				(instance) => (n8n = instance),
			);
		}
		const { payment } = started;
		const url = started.n8n.url;
		// The trading day of payments made now: the simulator's today in Bangkok (its clock may be ahead).
		const clock = (await (
			await fetch(`${sim.info.controlUrl}/clock`, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ advanceDays: 0 }),
			})
		).json()) as { bangkok: string };
		const bangkokToday = clock.bangkok.slice(0, 10);
		log(`
────────────────────────────────────────────────────────────────────────
 n8n with n8n-nodes-ksher is ready (everything on this machine, offline)

 n8n editor      ${url}
   login         ${OWNER.email}  /  ${OWNER.password}
   receipt flow  ${url}/workflow/${WORKFLOW_IDS.recordPaid}
 Checkout link   ${payment?.paymentUrl ?? '(could not create one; see .demo/n8n/n8n.log)'}
   order         ${payment?.orderNumber ?? ''} (150.50 THB): open it and click a channel, it pays at once
 Received email  ${smtp.viewerUrl}  (files in .demo/mail/)
 Simulator       ${sim.info.controlUrl.replace(/\/control$/, '')}  (control API under /control)

 Paying runs "Ksher: on payment, email a receipt and record the order": the Ksher
 Trigger verifies the simulator's signed notification, the receipt goes to the
 mail page above and the order to the Data Table "Ksher orders", which "email the
 customer when a refund happens" watches every 5 minutes (refund at the simulator:
 POST /control/refund). The refund queue, the refund-with-approval form and the
 daily reconciliation (every morning at 8) are active too; all 9 example workflows
 are in the editor. Sell in chat: a QR by email for an order posted as JSON:
   curl -d '{"orderNumber":"CHAT-1","amount":"89.00","email":"you@example.com"}' \\
        -H 'content-type: application/json' ${url}/webhook/${CHAT_ORDER_PATH}
   then pay it at ${sim.info.checkoutUrl}/scan (paste Create QR's qrPayload) or: POST /control/pay
 Books on the first day: Ksher settles a day's payments 1-3 days later (card T+3).
 Pay a few orders, move the simulator's clock on, then run "Daily reconciliation"
 with Report Day set to ${bangkokToday} (open it, edit Report Day, Execute workflow):
   curl -H 'content-type: application/json' -d '{"advanceDays":3}' \\
        ${sim.info.controlUrl}/clock
   (the clock stays ahead, kept in .demo/; -d '{"reset":true}' puts it back)
 Later starts keep your workflow edits and the simulator's orders and clock.
 Ctrl-C (or SIGINT/SIGTERM to npm) stops everything; npm start -- --reset starts over.
────────────────────────────────────────────────────────────────────────`);
		await new Promise(() => undefined);
	} catch (error) {
		process.stderr.write(`npm start failed: ${(error as Error).message}\n`);
		await stopAll();
		process.exit(1);
	}
}

void main();
