import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { launchBrowser } from '../harness/browser';
import { REPO_DIR, type N8nLine } from '../harness/n8n';
import { runMonth } from './driver';
import { checkMonth, expectations, markExpectedMismatches } from './model';
import { planMonth } from './plan';
import { monthReport, summaryLine } from './report';

/**
 * `npm run month`: a seeded month of a shop in a real n8n, checked against the simulator's ledger,
 * and its report (HTML, and a screenshot of it). Options: `--days=30 --orders=100 --seed=1
 * --n8n=2 --rate=5` (payments a second), `--mode=queue` (PostgreSQL, Redis, 2 workers or `--workers=N`, a webhook process; with
 * its faults: a worker killed, Redis restarted, PostgreSQL stopped), `--engine=legacy` (n8n's expression engine), `--n8n-env=K=V,…` (more of n8n's environment), `--out=DIR`
 * (default .month/), `--docs` (also writes docs/month/report.html and docs/images/month.png; in queue mode report-queue.html and month-queue.png).
 * Exits 1 when a check failed.
 */
const arg = (name: string, fallback: string) =>
	process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const log = (line: string) => process.stderr.write(`[month] ${line}\n`);

async function main(): Promise<number> {
	const days = Number(arg('days', '30'));
	const ordersPerDay = Number(arg('orders', '100'));
	const seed = Number(arg('seed', '1'));
	const line = arg('n8n', '2') as N8nLine;
	const out = arg('out', join(REPO_DIR, '.month'));
	const mode = arg('mode', 'regular');
	if (mode !== 'regular' && mode !== 'queue') throw new Error('--mode is regular or queue');
	const workers = arg('workers', '') ? Number(arg('workers', '')) : undefined;
	if (workers !== undefined && (mode !== 'queue' || !Number.isSafeInteger(workers) || workers < 1))
		throw new Error('--workers goes with --mode=queue and is a whole number above 0');
	if (![days, ordersPerDay, seed].every((n) => Number.isSafeInteger(n) && n > 0) || days < 2)
		throw new Error('--days (2 or more), --orders and --seed are whole numbers above 0');
	const plan = planMonth({
		seed,
		days,
		ordersPerDay,
		mode,
		...(arg('faults', '') === 'none' ? { faults: [] } : {}),
	});
	const expected = expectations(plan);
	log(
		`seed ${seed}: ${days} days, ${plan.orders.length} orders, ${expected.paid.length} to be paid, ${expected.refunds.size} refunded, ${expected.queueRows.length} refund queue rows`,
	);
	const work = mkdtempSync(join(tmpdir(), 'ksher-month-'));
	let keep = true;
	try {
		const run = await runMonth(
			plan,
			{
				line,
				mode,
				rate: Number(arg('rate', '5')),
				engine: arg('engine', '') || undefined,
				workers,
				env: Object.fromEntries(
					arg('n8n-env', '')
						.split(',')
						.filter(Boolean)
						.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
				),
				log,
			},
			work,
		);
		markExpectedMismatches(plan, expected, run.dayName);
		const verdict = checkMonth(plan, expected, run.observed, run.dayName);
		mkdirSync(out, { recursive: true });
		const html = join(out, 'report.html');
		writeFileSync(html, monthReport(plan, run, verdict));
		writeFileSync(
			join(out, 'month.json'),
			JSON.stringify(
				{
					plan: { seed, days, ordersPerDay, mode, n8n: run.n8n },
					days: run.days,
					sizes: run.sizes,
					figures: verdict.figures,
					problems: verdict.problems,
				},
				null,
				1,
			),
		);
		const png = join(out, 'report.png');
		const browser = await launchBrowser();
		try {
			const page = await browser.newPage({ viewport: { width: 1240, height: 900 } });
			await page.goto(`file://${html}`);
			await page.waitForSelector('body[data-ready="yes"]', { timeout: 30_000 });
			await page.screenshot({ path: png, fullPage: true });
		} finally {
			await browser.close();
		}
		if (process.argv.includes('--docs')) {
			// One report per mode in docs/: the latest month of each.
			const suffix = mode === 'queue' ? '-queue' : '';
			mkdirSync(join(REPO_DIR, 'docs/month'), { recursive: true });
			copyFileSync(html, join(REPO_DIR, `docs/month/report${suffix}.html`));
			copyFileSync(png, join(REPO_DIR, `docs/images/month${suffix}.png`));
		}
		for (const problem of verdict.problems) log(`✗ ${problem}`);
		process.stdout.write(`${summaryLine(plan, run, verdict)}\n`);
		process.stdout.write(
			`sizes: trigger memory ${run.sizes.memoryBytes} bytes, n8n database ${(run.sizes.databaseBytes / 1048576).toFixed(1)} MB, ${run.sizes.executions} executions kept after n8n's pruning (${run.sizes.recordRuns} record runs in all); ${Math.round(run.seconds)} s; report ${html}\n`,
		);
		keep = verdict.problems.length > 0 || !!process.env.KSHER_E2E_KEEP;
		return verdict.problems.length ? 1 : 0;
	} finally {
		if (keep) log(`kept the run's files (n8n log, mail) in ${work}`);
		else rmSync(work, { recursive: true, force: true });
	}
}

main().then(
	(code) => process.exit(code),
	(error: Error) => {
		log(`aborted: ${error.stack ?? error.message}`);
		process.exit(1);
	},
);
