import { mkdirSync, mkdtempSync, writeFileSync } from 'fs';
import { join } from 'path';

import type { N8nLine } from '../harness/n8n';
import { runMonth } from '../month/driver';
import { checkMonth, expectations, markExpectedMismatches } from '../month/model';
import { planMonth } from '../month/plan';
import { monthReport, summaryLine } from '../month/report';
import { assert, log, step } from './steps';

/**
 * A short month (`npm run month` runs a whole one): 4 days of 30 orders in a real n8n of its own,
 * with one fault of each kind the mode has (n8n SIGKILLed while customers pay, Ksher unreachable while
 * refunds are queued, a mistyped order number in the refund queue; in queue mode also a worker SIGKILLed,
 * Redis restarted and PostgreSQL stopped while customers pay), checked against the simulator's ledger.
 * Its report goes to the e2e's artifacts.
 */
export async function monthSteps(
	line: N8nLine,
	work: string,
	artifactsDir: string,
	mode: 'regular' | 'queue',
): Promise<void> {
	const faults =
		mode === 'queue'
			? 'the webhook process killed, a worker killed, Redis restarted, PostgreSQL stopped, Ksher unreachable, a mistyped refund row'
			: 'n8n killed, Ksher unreachable, a mistyped refund row';
	await step(
		`a short month in ${mode} mode (4 days, 30 orders a day, ${faults}): every paid order one receipt, every refund what was asked and emailed once, the books of every day balanced, the Data Tables equal to Ksher, no run left unfinished`,
		async () => {
			const plan = planMonth({ seed: 7, days: 4, ordersPerDay: 30, mode });
			const expected = expectations(plan);
			const dir = mkdtempSync(join(work, 'month-'));
			const run = await runMonth(plan, { line, mode, rate: 5, log }, dir);
			markExpectedMismatches(plan, expected, run.dayName);
			const verdict = checkMonth(plan, expected, run.observed, run.dayName);
			mkdirSync(artifactsDir, { recursive: true });
			writeFileSync(
				join(artifactsDir, mode === 'queue' ? 'month-queue-report.html' : 'month-report.html'),
				monthReport(plan, run, verdict),
			);
			assert(
				verdict.problems.length === 0,
				`${verdict.problems.length} problems: ${verdict.problems.slice(0, 8).join('; ')}`,
			);
			return summaryLine(plan, run, verdict);
		},
	);
}
