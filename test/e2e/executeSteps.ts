import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';

import type { Simulator } from '../simulator/server';
import { csvRows } from './csv';
import { assert, step } from './steps';
import { operationWorkflow, WORKFLOW_IDS } from './workflows';

type Output = (node: string) => Array<Record<string, unknown>>;

/**
 * Workflows run with `n8n execute` (n8n stopped): the refund spreadsheet twice, then Get Payment,
 * Get Many refunds and Cancel on the orders earlier steps made.
 */
export async function executeSteps(ctx: {
	sim: Simulator;
	work: string;
	filesDir: string;
	/** The order the receipt steps paid (PromptPay, 150.50 THB). */
	orderNumber: string;
	cli: (args: string[]) => Promise<unknown>;
	execute: (id: string) => Promise<Output>;
	control: (path: string, body: unknown) => Promise<unknown>;
	unpaidOrder: (no: string) => Promise<string>;
}): Promise<void> {
	const { work, filesDir, execute, control, unpaidOrder, orderNumber } = ctx;
	const sim = ctx.sim;
	const cliOk = ctx.cli;
	let fullyRefunded = '';
	const ops = [
		operationWorkflow('ksherE2eGetPay01', 'e2e: get payment', { resource: 'payment', operation: 'get', orderNumber: '' }),
		operationWorkflow('ksherE2eRefunds1', 'e2e: get many refunds', { resource: 'refund', operation: 'getAll', orderNumber: '' }),
		operationWorkflow('ksherE2eCancel01', 'e2e: cancel payment', { resource: 'payment', operation: 'cancel', orderNumber: '' }),
	];

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
		assert(refunds.length === 1 && refunds[0].refundAmount === '100.00' && refunds[0].status === 'refunded', `get many: ${JSON.stringify(refunds)}`);
		const [cancel] = (await execute(ops[2].id))('Ksher');
		assert(cancel?.cancelled === true && sim!.order(cancelNo)?.cancelled === true, `cancel: ${JSON.stringify(cancel)}`);
		return `get: ${String(get.status)}, refunds: ${refunds.length}, cancelled: ${cancelNo}`;
	});
}
