import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';

import type { Browser } from 'playwright-core';

import { launchBrowser, screenshotter } from '../harness/browser';
import { csvRows } from '../harness/csv';
import { activateArgs } from '../harness/n8n';
import { REFUND_FORM_WEBHOOK_ID, refundWorkflows, WORKFLOW_IDS } from '../harness/workflows';
import { createOrder, moreRuns, type E2eContext, type TableRef } from './context';
import { assert, step, waitFor } from './steps';

/**
 * Refunds from a sheet fail closed, in the real n8n (issue #22), through the example as users
 * import it, run with `n8n execute` (n8n stopped): a mis-mapped column refunds nothing, the
 * preview moves no money, one bad row keeps every refund back, the corrected sheet refunds
 * exactly its rows, and a second run nothing more. Returns a fully refunded order for later steps.
 */
export async function refundSheetSteps(ctx: E2eContext): Promise<string> {
	const { sim, filesDir, execute, control } = ctx;
	type Row = {
		orderNumber: string;
		amount: string;
		reason: string;
		expect: 'full' | 'partial' | 'fail';
	};
	const rows: Row[] = [];
	const paid = (prefix: string) =>
		ctx.unpaidOrder(`${prefix}-${Date.now().toString(36)}-${rows.length}`);
	const refundCalls = () => sim.requests.filter((r) => r.endpoint === 'order_refund').length;
	const writeSheet = (sheet: Row[], amountHeader = 'amount') =>
		writeFileSync(
			join(filesDir, 'refunds.csv'),
			`orderNumber,${amountHeader},reason\n${sheet.map((r) => `${r.orderNumber},"${r.amount}",${r.reason}`).join('\n')}\n`,
		);
	const results = () => csvRows(readFileSync(join(filesDir, 'refund-results.csv'), 'utf8'));
	const statuses = (out: Array<Record<string, string>>) =>
		[...new Set(out.map((o) => o.status))].join(', ');
	let ready = false;

	await step(
		'refund sheet, mis-mapped (the column is "Amount", the node reads "amount"): nothing refunded, each row says why',
		async () => {
			for (let i = 0; i < 40; i++)
				rows.push({
					orderNumber: await paid('FULL'),
					amount: '100.00',
					reason: 'customer returned it',
					expect: 'full',
				});
			for (let i = 0; i < 4; i++)
				rows.push({
					orderNumber: await paid('PART'),
					amount: '25.50',
					reason: 'partial refund',
					expect: 'partial',
				});
			for (let i = 0; i < 2; i++)
				rows.push({
					orderNumber: await paid('OVER'),
					amount: '500.00',
					reason: 'over-refund',
					expect: 'fail',
				});
			for (let i = 0; i < 2; i++)
				rows.push({
					orderNumber: await paid('UNPAID'),
					amount: '10',
					reason: 'never paid',
					expect: 'fail',
				});
			rows.push({
				orderNumber: await paid('BADAMT'),
				amount: '12,50',
				reason: 'malformed amount',
				expect: 'fail',
			});
			rows.push({
				orderNumber: await paid('BLANK'),
				amount: '',
				reason: 'blank cell',
				expect: 'fail',
			});
			// TrueMoney: Ksher lists its refunds (Get Many later needs that; PromptPay's it cannot).
			for (const row of rows)
				if (!row.orderNumber.startsWith('UNPAID'))
					await control('/pay', { mch_order_no: row.orderNumber, channel: 'truemoney' });
			assert(rows.length === 50, `${rows.length} rows`);
			writeSheet(rows, 'Amount');
			const before = refundCalls();
			await execute(WORKFLOW_IDS.refundSheetForReal);
			const out = results();
			assert(refundCalls() === before, `${refundCalls() - before} refund calls reached Ksher`);
			assert(out.length === 50, `${out.length} result rows`);
			const missing = out.filter(
				(o) =>
					o.status === 'failed' &&
					/Refund Amount is missing \(the expression found no such field\) for order \S+ \(row \d+\)/.test(
						o.error,
					),
			);
			assert(
				missing.length === 50,
				`${missing.length} of 50 rows say the amount is missing: ${JSON.stringify(out[0])}`,
			);
			ready = true;
			return `0 refund calls; row 1: "${out[0].error}"`;
		},
	);
	if (!ready) return '';

	await step(
		'refund sheet, Preview Only (as the example ships): 44 "held back" (6 rows fail the check, so the run would refund none), 6 explained, no refund call',
		async () => {
			writeSheet(rows);
			const before = refundCalls();
			await execute(WORKFLOW_IDS.refundSheet);
			const out = results();
			assert(refundCalls() === before, `${refundCalls() - before} refund calls reached Ksher`);
			out.forEach((o, i) => {
				const want = rows[i];
				assert(o.orderNumber === want.orderNumber, `row ${i + 1}: order ${o.orderNumber}`);
				if (want.expect === 'fail')
					assert(
						o.status === 'failed' && o.error && o.solution,
						`row ${i + 1} (${want.reason}): ${JSON.stringify(o)}`,
					);
				else
					assert(
						o.status === 'held back' &&
							o.refundAmount === (want.expect === 'full' ? '100.00' : '25.50') &&
							o.remainingAfter === (want.expect === 'full' ? '0.00' : '74.50'),
						`row ${i + 1}: ${JSON.stringify(o)}`,
					);
			});
			return `${statuses(out)}; e.g. "${out[44].error.slice(0, 80)}…"`;
		},
	);

	await step(
		'refund sheet for real with the 6 bad rows still in it: nothing refunded (Check All Rows First), every row says why',
		async () => {
			const before = refundCalls();
			await execute(WORKFLOW_IDS.refundSheetForReal);
			const out = results();
			assert(refundCalls() === before, `${refundCalls() - before} refund calls reached Ksher`);
			out.forEach((o, i) =>
				assert(
					o.status === (rows[i].expect === 'fail' ? 'failed' : 'not refunded') && o.error,
					`row ${i + 1}: ${JSON.stringify(o)}`,
				),
			);
			return `${statuses(out)}; a good row says "${out[0].error.slice(0, 90)}…"`;
		},
	);

	let fullyRefunded = '';
	await step(
		'refund sheet corrected (bad rows removed): exactly its refunds; run again: nothing new',
		async () => {
			const good = rows.filter((r) => r.expect !== 'fail');
			writeSheet(good);
			const refundTotals = () =>
				good.map((r) =>
					(sim.order(r.orderNumber)?.refunds ?? []).reduce((s, x) => s + x.refund_fee, 0),
				);
			const expected = good.map((r) => (r.expect === 'full' ? 10000 : 2550));
			for (const run of [1, 2]) {
				const before = refundCalls();
				await execute(WORKFLOW_IDS.refundSheetForReal);
				const out = results();
				assert(out.length === good.length, `run ${run}: ${out.length} result rows`);
				out.forEach((o, i) =>
					assert(
						o.orderNumber === good[i].orderNumber &&
							o.status === (run === 1 ? 'refunded' : 'already refunded') &&
							o.refundNumber,
						`run ${run} row ${i + 1}: ${JSON.stringify(o)}`,
					),
				);
				assert(
					refundCalls() - before === (run === 1 ? good.length : 0),
					`run ${run}: ${refundCalls() - before} refund calls`,
				);
				assert(
					JSON.stringify(refundTotals()) === JSON.stringify(expected),
					`run ${run}: refunded amounts differ from what was asked`,
				);
				assert(
					good.every((r) => (sim.order(r.orderNumber)?.refunds.length ?? 0) === 1),
					`run ${run}: an order was refunded twice`,
				);
			}
			for (const row of rows.filter((r) => r.expect === 'fail'))
				assert(
					(sim.order(row.orderNumber)?.refunds ?? []).length === 0,
					`${row.orderNumber} was refunded`,
				);
			fullyRefunded = good[0].orderNumber;
			return `44 refunded once (40 × 100.00, 4 × 25.50); the second run made no refund call`;
		},
	);
	return fullyRefunded;
}

/**
 * The refund queue (the Data Table `queueTable`, read every 2 s) and the refund with approval,
 * imported and published while n8n is stopped, to run once it starts again.
 */
export async function refundImportStep(ctx: E2eContext, queueTable: TableRef): Promise<void> {
	const { work, cli, install } = ctx;
	await step(
		'refund queue and refund-with-approval examples: import with a Data Table, publish',
		async () => {
			mkdirSync(join(work, 'refund-workflows'));
			for (const wf of refundWorkflows(queueTable.tableId, 2))
				writeFileSync(join(work, 'refund-workflows', `${wf.id}.json`), JSON.stringify(wf));
			await cli(['import:workflow', '--separate', `--input=${join(work, 'refund-workflows')}`]);
			await cli(activateArgs(install, WORKFLOW_IDS.refundQueue));
			await cli(activateArgs(install, WORKFLOW_IDS.refundApproval));
			return `table ${queueTable.tableId}, queue every 2 s`;
		},
	);
}

/**
 * The refund queue (a Data Table on a schedule) and the refund with approval (form → approval
 * email → refund → customer email, in Chromium), in the running n8n.
 */
export async function refundWorkflowSteps(ctx: E2eContext, queueTable: TableRef): Promise<void> {
	const { rest, sim, smtp, client } = ctx;
	const refundsOf = (orderNo: string) => sim.order(orderNo)?.refunds ?? [];
	const paidOrder = async (prefix: string, email: string) => {
		const no = `${prefix}-${Date.now().toString(36)}`;
		await createOrder(client, no, {
			channel_list: 'promptpay,card,truemoney',
			product_name: 'e2e refund item',
			attach: JSON.stringify({ email }),
		});
		await ctx.control('/pay', { mch_order_no: no, channel: 'truemoney', notify: false });
		return no;
	};
	const queueRuns = (count: number) => moreRuns(rest, WORKFLOW_IDS.refundQueue, count, 'queue');

	await step(
		'refund queue (Data Table, every 2 s): approved rows refunded or failed with the reason, others untouched; later runs touch nothing twice',
		async () => {
			const ok = await paidOrder('QUEUE-OK', 'queue@example.com');
			const blank = await paidOrder('QUEUE-BLANK', 'queue@example.com');
			const waiting = await paidOrder('QUEUE-WAIT', 'queue@example.com');
			const unknown = `QUEUE-NONE-${Date.now().toString(36)}`;
			await rest.insertDataTableRows(queueTable, [
				{ orderNumber: ok, amount: '20.00', status: 'approved', reason: null, refundNumber: null },
				{ orderNumber: blank, amount: null, status: 'approved', reason: null, refundNumber: null },
				{
					orderNumber: waiting,
					amount: '5.00',
					status: 'requested',
					reason: null,
					refundNumber: null,
				},
				{
					orderNumber: unknown,
					amount: '1.00',
					status: 'approved',
					reason: null,
					refundNumber: null,
				},
			]);
			const rowOf = async (orderNo: string) =>
				(await rest.dataTableRows(queueTable)).find((r) => r.orderNumber === orderNo)!;
			await waitFor(
				'the approved rows to be handled',
				async () => {
					const rows = await rest.dataTableRows(queueTable);
					return (
						rows.filter(
							(r) =>
								[ok, blank, unknown].includes(String(r.orderNumber)) && r.status !== 'approved',
						).length === 3 || undefined
					);
				},
				60_000,
			);
			await queueRuns(3);
			const [okRow, blankRow, waitingRow, unknownRow] = [
				await rowOf(ok),
				await rowOf(blank),
				await rowOf(waiting),
				await rowOf(unknown),
			];
			assert(
				okRow.status === 'refunded' && okRow.refundNumber === `${ok}-R2000` && !okRow.reason,
				`the approved row: ${JSON.stringify(okRow)}`,
			);
			assert(
				blankRow.status === 'failed' && /Refund Amount is null/.test(String(blankRow.reason)),
				`the blank amount: ${JSON.stringify(blankRow)}`,
			);
			assert(
				unknownRow.status === 'failed' &&
					/has no payment with this order number/.test(String(unknownRow.reason)),
				`the unknown order: ${JSON.stringify(unknownRow)}`,
			);
			assert(
				waitingRow.status === 'requested',
				`a row not approved was touched: ${JSON.stringify(waitingRow)}`,
			);
			assert(
				refundsOf(ok)
					.map((r) => r.refund_fee)
					.join() === '2000' &&
					refundsOf(blank).length === 0 &&
					refundsOf(waiting).length === 0,
				'Ksher holds other refunds than the approved row asked',
			);

			// Someone sets the refunded row back to approved (or a run died before writing back): no second refund.
			await rest.updateDataTableRows(queueTable, { orderNumber: ok }, { status: 'approved' });
			await waitFor(
				'the row to be handled again',
				async () => ((await rowOf(ok)).status !== 'approved' ? true : undefined),
				60_000,
			);
			const again = await rowOf(ok);
			assert(
				again.status === 'refunded' &&
					again.reason === 'already refunded earlier' &&
					refundsOf(ok).length === 1,
				`re-approved row: ${JSON.stringify(again)}, ${refundsOf(ok).length} refunds`,
			);
			return `refunded ${ok} (${String(okRow.refundNumber)}); failed: "${String(blankRow.reason).slice(0, 70)}…"; re-approved → "${String(again.reason)}", still 1 refund`;
		},
	);

	let browser: Browser | undefined;
	try {
		browser = await launchBrowser();
		// n8n answers approval links opened by a bot (its user agent test counts "HeadlessChrome") with an
		// empty page, so that mail scanners cannot approve: the browser introduces itself as a person's would.
		const userAgent = (
			(await (await browser.newPage()).evaluate('navigator.userAgent')) as string
		).replace('HeadlessChrome', 'Chrome');
		const page = await (
			await browser.newContext({ viewport: { width: 1280, height: 860 }, userAgent })
		).newPage();
		const screenshot = screenshotter(ctx.artifactsDir, 'approval');
		const formUrl = `${ctx.n8n.url}/form/${REFUND_FORM_WEBHOOK_ID}`;
		const mailsTo = (to: string, subject: string) =>
			smtp.mails.filter((m) => m.to.includes(to) && m.subject === subject);
		/** Staff fill the form in the browser; returns the approval email the manager gets. */
		const requestRefund = async (orderNo: string, amount: string) => {
			await page.goto(formUrl);
			await page.getByLabel('Order Number').fill(orderNo);
			await page.getByLabel('Amount').fill(amount);
			await page.getByLabel('Reason').fill('Arrived damaged');
			await screenshot(page, 'form');
			await page.getByRole('button', { name: /submit/i }).click();
			await page
				.getByText("The refund waits for a manager's approval")
				.waitFor({ timeout: 30_000 });
			return await waitFor(
				'the approval email',
				() =>
					mailsTo(
						'manager@example.com',
						`Approve a refund of ${amount} THB for order ${orderNo}?`,
					)[0],
				30_000,
			);
		};
		/**
		 * The manager opens a link from the email. n8n sends the email a moment before it marks the run as
		 * waiting, and a link opened in between gets n8n's "The execution is running already" (409): a
		 * person would open it again, and so does the test (a manager takes longer than that to read it).
		 */
		const openFromEmail = async (href: string) => {
			for (let attempt = 0; attempt < 30; attempt++) {
				await page.goto(href);
				if (!/is running already/.test(await page.locator('body').innerText())) return;
				await page.waitForTimeout(1000);
			}
			throw new Error(`n8n still says the run is running, 30 s after its email: ${href}`);
		};
		const link = (mail: { raw: string; text: string }, approved: boolean) => {
			const hrefs = [...`${mail.text}\n${mail.raw}`.matchAll(/href="([^"]+)"/g)].map((m) =>
				m[1].replace(/&amp;/g, '&'),
			);
			const found = hrefs.find((h) => h.includes(`approved=${approved}`));
			assert(
				found,
				`no ${approved ? 'approve' : 'decline'} link in the approval email: ${hrefs.join(' ')}`,
			);
			return found!;
		};

		await step(
			'refund with approval (Chromium): form → approval email → approve → exactly 1 refund and 1 customer email; the approve link again → still 1',
			async () => {
				const orderNo = await paidOrder('APPROVE', 'approve-buyer@example.com');
				const approval = await requestRefund(orderNo, '25.00');
				assert(refundsOf(orderNo).length === 0, 'money moved before the approval');
				await openFromEmail(link(approval, true));
				await screenshot(page, 'approved');
				const customerMail = await waitFor(
					'the customer email',
					() => mailsTo('approve-buyer@example.com', `Refund for order ${orderNo}`)[0],
					30_000,
				);
				assert(
					customerMail.text.includes('We have refunded 25.00 THB') &&
						customerMail.text.includes(`${orderNo}-R2500`),
					`customer email: ${customerMail.text}`,
				);
				assert(
					refundsOf(orderNo)
						.map((r) => r.refund_fee)
						.join() === '2500',
					`refunds at Ksher: ${JSON.stringify(refundsOf(orderNo))}`,
				);
				await page.goto(link(approval, true));
				const second = (await page.locator('body').innerText()).replace(/\s+/g, ' ').slice(0, 120);
				await screenshot(page, 'approved-again');
				await new Promise((r) => setTimeout(r, 3000));
				assert(
					refundsOf(orderNo).length === 1 &&
						mailsTo('approve-buyer@example.com', `Refund for order ${orderNo}`).length === 1,
					`after the second click: ${refundsOf(orderNo).length} refunds, ${mailsTo('approve-buyer@example.com', `Refund for order ${orderNo}`).length} customer emails`,
				);
				return `"${customerMail.subject}"; the second click showed "${second}"`;
			},
		);

		await step(
			'refund with approval (Chromium): decline → no refund, no customer email',
			async () => {
				const orderNo = await paidOrder('DECLINE', 'decline-buyer@example.com');
				const approval = await requestRefund(orderNo, '30.00');
				await openFromEmail(link(approval, false));
				await screenshot(page, 'declined');
				await waitFor(
					'the declined run to finish',
					async () => {
						const answers = await rest.nodeItems(WORKFLOW_IDS.refundApproval, 'Ask for Approval');
						return (
							answers.some(
								(r) => (r.data as { approved?: boolean } | undefined)?.approved === false,
							) || undefined
						);
					},
					30_000,
				);
				await new Promise((r) => setTimeout(r, 2000));
				assert(
					refundsOf(orderNo).length === 0 &&
						mailsTo('decline-buyer@example.com', `Refund for order ${orderNo}`).length === 0,
					`declined, yet ${refundsOf(orderNo).length} refunds`,
				);
				return 'declined: 0 refunds, 0 customer emails';
			},
		);
	} finally {
		await browser?.close().catch(() => undefined);
	}
}
