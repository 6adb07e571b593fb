import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';

import { csvRows } from '../harness/csv';
import { operationWorkflow, releasedRefundSheet } from '../harness/workflows';
import type { E2eContext } from './context';
import { assert, step } from './steps';

/**
 * Workflows run with `n8n execute` (n8n stopped), after the refund spreadsheet (refundSteps.ts): 0.1.0's
 * refund sheet as that release saved it, then Get Payment, Get Many refunds and Cancel on the orders earlier
 * steps made.
 */
export async function executeSteps(
	ctx: E2eContext,
	orders: {
		/** The order the receipt steps paid (PromptPay, 150.50 THB). */
		orderNumber: string;
		/** An order the refund sheet refunded in full (refundSheetSteps). */
		fullyRefunded: string;
	},
): Promise<void> {
	const { work, filesDir, execute, control, unpaidOrder } = ctx;
	const { orderNumber, fullyRefunded } = orders;
	const sim = ctx.sim;
	const cliOk = ctx.cli;
	const ops = [
		operationWorkflow('ksherE2eGetPay01', 'e2e: get payment', {
			resource: 'payment',
			operation: 'get',
			orderNumber: '',
		}),
		operationWorkflow('ksherE2eRefunds1', 'e2e: get many refunds', {
			resource: 'refund',
			operation: 'getAll',
			orderNumber: '',
		}),
		operationWorkflow('ksherE2eCancel01', 'e2e: cancel payment', {
			resource: 'payment',
			operation: 'cancel',
			orderNumber: '',
		}),
	];

	// Issue #30: a refund sheet saved with 0.1.0 (Refund Amount saved as `amount`, version 1) once
	// refunded whole payments here, its amount dropped on load and read as "everything that remains".
	await step(
		"0.1.0's refund-sheet example, imported as that release saved it: no more refunded than its rows ask; run again: nothing",
		async () => {
			const sheet = releasedRefundSheet('0.1.0', filesDir);
			const stamp = Date.now().toString(36);
			const [asked, blank, earlier, other] = await Promise.all(
				['V010-A', 'V010-BLANK', 'V010-DONE', 'V010-B'].map((p) => unpaidOrder(`${p}-${stamp}`)),
			);
			for (const no of [asked, blank, earlier, other])
				await control('/pay', { mch_order_no: no, channel: 'truemoney' });
			// What 0.1.0 itself left at Ksher for the row it had already refunded: its derived number.
			await control('/refund', {
				mch_order_no: earlier,
				refund_fee: 500,
				mch_refund_no: `${earlier}-R500`,
			});
			writeFileSync(
				join(filesDir, '0.1.0-refunds.csv'),
				`orderNumber,amount,reason\n${asked},5.00,one item\n${blank},,blank cell\n${earlier},5.00,refunded by 0.1.0\n${other},7.50,another\n`,
			);
			rmSync(join(work, 'release'), { recursive: true, force: true });
			mkdirSync(join(work, 'release'));
			writeFileSync(join(work, 'release', `${sheet.id}.json`), JSON.stringify(sheet));
			await cliOk(['import:workflow', '--separate', `--input=${join(work, 'release')}`]);
			const held = () =>
				[asked, blank, earlier, other].map((no) =>
					(sim.order(no)?.refunds ?? []).map((r) => `${r.mch_refund_no}:${r.refund_fee}`).join(' '),
				);
			const want = [`${asked}-R500:500`, '', `${earlier}-R500:500`, `${other}-R750:750`];
			const outcomes: string[] = [];
			for (const run of [1, 2]) {
				await execute(sheet.id);
				const out = csvRows(readFileSync(join(filesDir, '0.1.0-refund-results.csv'), 'utf8'));
				outcomes.push(out.map((o) => o.status).join(', '));
				assert(
					JSON.stringify(held()) === JSON.stringify(want),
					`run ${run}: Ksher holds ${JSON.stringify(held())}, the rows asked ${JSON.stringify(want)}`,
				);
				assert(
					out[1]?.status === 'failed' && /Refund Amount is (empty|missing)/.test(out[1].error),
					`run ${run}, the blank cell: ${JSON.stringify(out[1])}`,
				);
				assert(
					out[2]?.status === 'already refunded',
					`run ${run}, the row 0.1.0 refunded: ${JSON.stringify(out[2])}`,
				);
				assert(
					out[0]?.status === (run === 1 ? 'refunded' : 'already refunded'),
					`run ${run}, row 1: ${JSON.stringify(out[0])}`,
				);
			}
			return `Ksher holds 5.00, nothing, 0.1.0's 5.00, 7.50; statuses: ${outcomes.join(' | ')}`;
		},
	);

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
		assert(
			get?.status === 'paid' &&
				get.orderNumber === paidNo &&
				get.amount === '150.50' &&
				get.channel === 'promptpay',
			`get: ${JSON.stringify(get)}`,
		);
		const refunds = (await execute(ops[1].id))('Ksher');
		assert(
			refunds.length === 1 &&
				refunds[0].refundAmount === '100.00' &&
				refunds[0].status === 'refunded',
			`get many: ${JSON.stringify(refunds)}`,
		);
		const [cancel] = (await execute(ops[2].id))('Ksher');
		assert(
			cancel?.cancelled === true && sim!.order(cancelNo)?.cancelled === true,
			`cancel: ${JSON.stringify(cancel)}`,
		);
		return `get: ${String(get.status)}, refunds: ${refunds.length}, cancelled: ${cancelNo}`;
	});
}
