import { spawn, spawnSync, type ChildProcess } from 'child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'fs';
import { createServer } from 'net';
import { join } from 'path';

import { REPO_DIR } from '../test/harness/n8n';
import { N8nRest } from '../test/harness/rest';
import { WORKFLOW_IDS } from '../test/harness/workflows';

/**
 * The README's first command as a new user runs it, on this checkout made fresh (no dist/, no
 * .demo/): `npm start` to "ready", pay the printed checkout link, see the receipt email, Ctrl-C
 * (SIGINT to npm), nothing left running. Then a start killed in the middle of its set-up (the
 * whole process group, SIGKILL) and one more start, which must recover and work the same.
 * `.ci/run` runs it after `npm test`.
 */
const DEMO = join(REPO_DIR, '.demo');
const PORTS = [5678, 8866, 8025];
const log = (line: string) => process.stdout.write(`[demo-check] ${line}\n`);

interface Run {
	child: ChildProcess;
	output: () => string;
	exited: Promise<number | null>;
}

function npmStart(): Run {
	// Its own process group, as a terminal gives it: Ctrl-C and a closed terminal reach the group.
	const child = spawn('npm', ['start'], {
		cwd: REPO_DIR,
		detached: true,
		stdio: ['ignore', 'pipe', 'pipe'],
		env: { ...process.env, FORCE_COLOR: '0' },
	});
	let text = '';
	child.stdout!.on('data', (c: Buffer) => (text += c.toString()));
	child.stderr!.on('data', (c: Buffer) => (text += c.toString()));
	const exited = new Promise<number | null>((resolve) =>
		child.once('exit', (code) => resolve(code)),
	);
	return { child, output: () => text, exited };
}

async function waitFor<T>(
	what: string,
	check: () => T | undefined | Promise<T | undefined>,
	ms: number,
	run?: Run,
): Promise<T> {
	const until = Date.now() + ms;
	for (;;) {
		const value = await check();
		if (value !== undefined) return value;
		if (run && run.child.exitCode !== null)
			throw new Error(
				`npm start exited (${run.child.exitCode}) while waiting for ${what}:\n${run.output().slice(-3000)}`,
			);
		if (Date.now() > until)
			throw new Error(
				`timed out after ${ms / 1000} s waiting for ${what}${run ? `:\n${run.output().slice(-3000)}` : ''}`,
			);
		await new Promise((r) => setTimeout(r, 500));
	}
}

const portFree = (port: number) =>
	new Promise<boolean>((resolve) => {
		const probe = createServer();
		probe.once('error', () => resolve(false));
		probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
	});

/** Processes of this demo still alive: anything whose command line names its folder or script. */
function leftovers(): string[] {
	return readdirSync('/proc')
		.filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
		.map((p) => {
			try {
				return `${p} ${readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()}`;
			} catch {
				return '';
			}
		})
		.filter((line) => line.includes(DEMO) || line.includes('demo/demo.ts'));
}

/** Ready, then pays the link it printed and waits for the receipt among the mail files. */
async function payAndSeeReceipt(
	run: Run,
): Promise<{ said: string; checkout: string; editor: string }> {
	await waitFor(
		'"is ready"',
		() => (run.output().includes('is ready') ? true : undefined),
		15 * 60_000,
		run,
	);
	const out = run.output();
	const checkout = /Checkout link\s+(\S+)/.exec(out)?.[1];
	const editor = /n8n editor\s+(\S+)/.exec(out)?.[1] ?? '';
	const order = /order\s+(\S+) \(150\.50 THB\)/.exec(out)?.[1];
	const simulator = /Simulator\s+(\S+)/.exec(out)?.[1];
	if (!checkout?.startsWith('http') || !order || !simulator)
		throw new Error(
			`the ready banner lacks the checkout link, order or simulator:\n${out.slice(-2000)}`,
		);
	const page = await fetch(checkout);
	if (page.status !== 200 || !(await page.text()).includes('150.50 THB'))
		throw new Error(`the checkout link does not show the payment: ${page.status}`);
	const paid = await fetch(`${simulator}/control/pay`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ mch_order_no: order, channel: 'promptpay' }),
	});
	if (paid.status !== 200) throw new Error(`paying answered ${paid.status}`);
	const mailDir = join(DEMO, 'mail');
	const file = await waitFor(
		'the receipt email in .demo/mail',
		() =>
			existsSync(mailDir)
				? readdirSync(mailDir).find((f) =>
						readFileSync(join(mailDir, f), 'utf8').includes(`Receipt for order ${order}`),
					)
				: undefined,
		60_000,
		run,
	);
	return { said: `${order} paid, receipt ${file}`, checkout, editor };
}

async function stopWithCtrlC(run: Run): Promise<void> {
	process.kill(run.child.pid!, 'SIGINT');
	const code = await Promise.race([
		run.exited,
		new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000)),
	]);
	if (code === 'timeout') throw new Error('npm start did not stop within 60 s of SIGINT');
	await waitFor(
		'every demo process to end',
		() => (leftovers().length === 0 ? true : undefined),
		30_000,
	).catch(() => {
		throw new Error(`still running after SIGINT:\n${leftovers().join('\n')}`);
	});
	for (const port of PORTS)
		if (!(await portFree(port))) throw new Error(`port ${port} is still taken after SIGINT`);
}

async function main(): Promise<void> {
	const started = Date.now();
	log('as a fresh clone: no dist/, no .demo/');
	spawnSync('node', ['scripts/clean.mjs'], { cwd: REPO_DIR });
	rmSync(DEMO, { recursive: true, force: true });
	if (existsSync(join(REPO_DIR, 'dist'))) throw new Error('dist/ is still there');

	log('npm start (1): to ready, pay, receipt, Ctrl-C');
	const first = npmStart();
	const one = await payAndSeeReceipt(first);
	log(one.said);
	// The user edits a workflow (renames the books, as any saved change): a later start must keep it.
	const edited = 'My books (edited in the demo)';
	const rest = new N8nRest(one.editor);
	await rest.login();
	await rest.renameWorkflow(WORKFLOW_IDS.books, edited);
	await stopWithCtrlC(first);
	log('stopped by SIGINT; no process left, ports 5678, 8866, 8025 free');

	log('npm start (2): killed (SIGKILL to its process group) while it imports the workflows');
	const second = npmStart();
	await waitFor(
		'the import step',
		() => (second.output().includes('Importing the') ? true : undefined),
		10 * 60_000,
		second,
	);
	process.kill(-second.child.pid!, 'SIGKILL');
	await second.exited;

	log('npm start (3): after the killed one, to ready, pay, receipt, Ctrl-C');
	const third = npmStart();
	const three = await payAndSeeReceipt(third);
	log(three.said);
	// The user's edit survived both starts, and the simulator still has the first start's order, paid.
	const after = new N8nRest(three.editor);
	await after.login();
	const name = await after.workflowName(WORKFLOW_IDS.books);
	if (name !== edited) throw new Error(`the edited workflow was replaced: its name is "${name}"`);
	const page = await (await fetch(one.checkout)).text();
	if (!page.includes('This order is already paid.'))
		throw new Error(`the first start's order is gone from the simulator: ${page.slice(0, 300)}`);
	log(`kept: the edited workflow ("${name}") and the first start's order (paid) at the simulator`);
	await stopWithCtrlC(third);
	log(`passed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

main().then(
	() => process.exit(0),
	(error: Error) => {
		process.stderr.write(`[demo-check] FAILED: ${error.message}\n`);
		for (const line of leftovers()) {
			try {
				process.kill(Number(line.split(' ')[0]), 'SIGKILL');
			} catch {
				// Gone meanwhile.
			}
		}
		process.exit(1);
	},
);
