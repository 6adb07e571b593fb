import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { linesFromArgs, N8N_LINES, type N8nLine } from '../harness/n8n';
import { agentSteps } from './agentSteps';
import { browserSteps } from './browserSteps';
import {
	closeLine,
	openLine,
	regularContext,
	timed,
	type E2eContext,
	type LineContext,
} from './context';
import { crashSteps } from './crashSteps';
import { PARTS, runInLanes, writeOutcomeIfAsked, type Part, type Unit } from './lanes';
import { exactlyOnceSteps } from './exactlyOnceSteps';
import { executeSteps } from './executeSteps';
import { offlineStep, packageSteps } from './packageSteps';
import { queueModeSteps } from './queueSteps';
import { receiptSteps } from './receiptSteps';
import { refundImportStep, refundSheetSteps, refundWorkflowSteps } from './refundSteps';
import { monthSteps } from './monthSteps';
import { abortedStep, log, report, results } from './steps';
import { watchSteps } from './watchSteps';

/**
 * `npm run test:e2e`: the package as users get it (packed, installed into a real n8n's
 * community-nodes folder), against the simulator and a local SMTP sink, fully offline.
 */

/**
 * `-- --n8n=1` or `-- --n8n=2` runs one n8n line (default: both); `-- --only=regular`, `crash`, `queue`,
 * `month` or `queue-month` (or several, comma-separated) runs those parts (default: regular, crash and queue
 * on each line, the short month in regular mode on 2.x and in queue mode on 1.x). Parts run two at a time, each in a process of its own (lanes.ts);
 * `-- --lanes=1` runs them one after the other in this process.
 */
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const lanesArg =
	process.argv.find((a) => a.startsWith('--lanes='))?.slice('--lanes='.length) ?? '2';
const lanes = Number(lanesArg);
if (!Number.isInteger(lanes) || lanes < 1)
	throw new Error(`--lanes=${lanesArg}: give how many parts run at a time (1 or more)`);
const timings: Record<string, number> = {};

function unitsFromArgs(): Unit[] {
	const asked = only?.split(',').map((p) => p.trim());
	const unknown = asked?.filter((p) => !PARTS.includes(p as Part)) ?? [];
	if (unknown.length > 0)
		throw new Error(`--only=${only}: the parts are ${PARTS.join(', ')} (comma-separated)`);
	return linesFromArgs(process.argv, N8N_LINES).flatMap((line) =>
		PARTS.filter((part) =>
			asked
				? asked.includes(part)
				: // One short month a line, for CI's time budget: regular mode on 2.x, queue mode on 1.x; between them
					// every fault of the month (`npm run month -- --n8n=1 --mode=…` runs any other).
					(part !== 'month' || line === '2') && (part !== 'queue-month' || line === '1'),
		).map((part) => ({ line, part })),
	);
}

async function main(): Promise<number> {
	const units = unitsFromArgs();
	if (lanes > 1 && units.length > 1) await runInLanes(units, lanes, timings);
	else
		for (const line of [...new Set(units.map((u) => u.line))])
			await runLine(
				line,
				units.filter((u) => u.line === line).map((u) => u.part),
			);
	writeOutcomeIfAsked(timings);
	// Each part holds its package step and at least one of its own: a run with fewer ran almost nothing.
	return report(timings, 2 * units.length);
}

/** One n8n line's parts in order, each on the line's one context; its files kept if a step failed. */
async function runLine(line: N8nLine, parts: Part[]): Promise<void> {
	const work = mkdtempSync(join(tmpdir(), 'ksher-e2e-'));
	let ctx: LineContext | undefined;
	try {
		ctx = await openLine(line, work, timings);
		await packageSteps(ctx);
		if (parts.includes('regular')) await regularMode(await regularContext(ctx));
		if (parts.includes('crash')) await crashSteps(ctx);
		if (parts.includes('queue')) await queueModeSteps(ctx);
		if (parts.includes('month')) await monthSteps(line, work, ctx.artifactsDir, 'regular');
		if (parts.includes('queue-month')) await monthSteps(line, work, ctx.artifactsDir, 'queue');
	} finally {
		await closeLine(ctx);
		if (results.every((r) => r.ok) && !process.env.KSHER_E2E_KEEP)
			rmSync(work, { recursive: true, force: true });
		else log(`kept the run's files (logs, mail, CSVs) in ${work}`);
	}
}

/**
 * Regular mode, in the order the n8n state each part needs: stopped (imports, `n8n execute`),
 * then running; the receipt steps start n8n, the watch steps start it again.
 */
async function regularMode(ctx: E2eContext): Promise<void> {
	const receipts = await receiptSteps(ctx);
	if (!receipts) return;
	const { orderNumber, tables } = receipts;
	await exactlyOnceSteps(ctx);
	await timed(ctx, `n8n ${ctx.line}.x stop`, () => ctx.n8n.stop());

	const fullyRefunded = await refundSheetSteps(ctx, tables.example);
	await executeSteps(ctx, { orderNumber, fullyRefunded });
	await agentSteps(ctx);
	// The refund queue and the refund with approval, imported and active before n8n starts again.
	await refundImportStep(ctx, tables.refundQueue, tables.example.refunds);

	await watchSteps(ctx, tables.example);
	await refundWorkflowSteps(ctx, tables.refundQueue, tables.example);
	await browserSteps(ctx);
	await ctx.n8n.stop();
	await offlineStep(ctx);
}

// A run whose lanes never settled (it must not end as a success without its report).
process.on('beforeExit', () => {
	process.stderr.write('[e2e] ended without a report\n');
	process.exit(1);
});

main().then(
	(code) => process.exit(code),
	(error: Error) => {
		process.stderr.write(`[e2e] aborted: ${error.stack ?? error.message}\n`);
		abortedStep(error);
		writeOutcomeIfAsked({});
		report({});
		process.exit(1);
	},
);
