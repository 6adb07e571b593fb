import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';

import type { Browser } from 'playwright-core';

import { launchBrowser, screenshotter } from '../harness/browser';
import { csvRows } from '../harness/csv';
import { activateArgs } from '../harness/n8n';
import {
	RECORD_WEBHOOK_ID,
	REFUND_FORM_WEBHOOK_ID,
	refundSheetWorkflow,
	refundWorkflows,
	WORKFLOW_IDS,
} from '../harness/workflows';
import {
	createOrder,
	moreRuns,
	timed,
	type E2eContext,
	type TableRef,
	type Tables,
} from './context';
import { assert, step, waitFor } from './steps';

/**
 * Refunds from a sheet fail closed, in the real n8n (issues #22 and #31), through the example as
 * users import it, run with `n8n execute`: a mis-mapped column or one bad row refunds nothing, asks
 * nobody and fails the run, with the reason; a correct sheet is only previewed and waits for the
 * manager's approval; the approval (n8n started to receive it) refunds exactly the previewed rows,
 * even after the sheet was changed, records them once in *Ksher refunds*; a second run refunds
 * nothing and asks nobody. Returns a fully refunded order for later steps.
 */
export async function refundSheetSteps(ctx: E2eContext, tables: Tables): Promise<string> {
	const { sim, smtp, filesDir, executeAny, control, cli, work } = ctx;
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
	const csv = (file: string) => csvRows(readFileSync(join(filesDir, file), 'utf8'));
	const statuses = (out: Array<Record<string, string>>) =>
		[...new Set(out.map((o) => o.status))].join(', ');
	const approvalMails = () =>
		smtp.mails.filter(
			(m) => m.to.includes('manager@example.com') && /from refunds\.csv/.test(m.subject),
		);
	/** A run the sheet must refuse: red (exit code and status), with the example's reason, nothing sent, nobody asked. */
	const refusedRun = async (failedRows: number) => {
		const before = { calls: refundCalls(), mails: approvalMails().length };
		const run = await executeAny(WORKFLOW_IDS.refundSheet);
		const reason = `${failedRows} of ${rows.length} rows of refunds.csv cannot be refunded, so nothing was refunded and nobody was asked to approve`;
		assert(run.code !== 0 && run.status === 'error', `the run did not fail: ${run.status}`);
		assert(
			run.text.includes(reason),
			`the run's error does not say "${reason}": ${run.error || run.text.slice(-600)}`,
		);
		assert(
			refundCalls() === before.calls,
			`${refundCalls() - before.calls} refund calls reached Ksher`,
		);
		assert(approvalMails().length === before.mails, 'the manager was asked to approve');
		return csv('refund-preview.csv');
	};
	let ready = false;

	await step('refund sheet example: import it, recording in the Ksher refunds table', async () => {
		mkdirSync(join(work, 'sheet'));
		const sheet = refundSheetWorkflow(filesDir, tables.refunds.tableId);
		writeFileSync(join(work, 'sheet', `${sheet.id}.json`), JSON.stringify(sheet));
		await cli(['import:workflow', '--separate', `--input=${join(work, 'sheet')}`]);
		return `table ${tables.refunds.tableId}`;
	});

	await step(
		'refund sheet, mis-mapped (the column is "Amount", the node reads "amount"): the run fails, nothing refunded, nobody asked, each row says why',
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
			const out = await refusedRun(50);
			assert(out.length === 50, `${out.length} preview rows`);
			const missing = out.filter(
				(o) =>
					o.status === 'failed' &&
					/Refund Amount is missing \(this row has no such field: a blank cell, or a column of another name\) for order \S+ \(row \d+\)/.test(
						o.error,
					),
			);
			assert(
				missing.length === 50,
				`${missing.length} of 50 rows say the amount is missing: ${JSON.stringify(out[0])}`,
			);
			ready = true;
			return `red, 0 refund calls, no approval email; row 1: "${out[0].error}"`;
		},
	);
	if (!ready) return '';

	await step(
		'refund sheet with 6 bad rows: the run fails, 44 "held back", 6 explained in refund-preview.csv, no refund call, nobody asked',
		async () => {
			writeSheet(rows);
			const out = await refusedRun(6);
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

	let fullyRefunded = '';
	await step(
		'refund sheet corrected: previewed, the manager asked (44 rows, 4102.00 THB), nothing refunded yet; the sheet changed meanwhile; approve (n8n started): exactly the previewed rows refunded, each recorded once; run again: nothing, nobody asked',
		async () => {
			const good = rows.filter((r) => r.expect !== 'fail');
			writeSheet(good);
			const before = refundCalls();
			const preview = await executeAny(WORKFLOW_IDS.refundSheet);
			assert(
				preview.code === 0 && preview.status === 'waiting',
				`the run is ${preview.status}, not waiting: ${preview.error}`,
			);
			assert(refundCalls() === before, 'money moved before the approval');
			const previewed = csv('refund-preview.csv');
			assert(
				previewed.length === 44 && previewed.every((o) => o.status === 'would refund'),
				`preview: ${statuses(previewed)}`,
			);
			const approval = await waitFor('the approval email', () => approvalMails().at(-1), 10_000);
			assert(
				approval.subject === 'Approve 44 refunds from refunds.csv, 4102.00 THB in all?',
				`subject: ${approval.subject}`,
			);
			assert(
				approval.text.includes(`Row 1: order ${good[0].orderNumber}, 100.00 THB`),
				`the email does not list row 1: ${approval.text.slice(0, 400)}`,
			);
			// After the preview, someone changes the sheet: the approval still refunds what the manager saw.
			const late = await paid('LATE');
			await control('/pay', { mch_order_no: late, channel: 'truemoney' });
			writeSheet([
				{ ...good[0], amount: '1.00' },
				...good.slice(1),
				{ orderNumber: late, amount: '100.00', reason: 'added late', expect: 'full' },
			]);
			const approve = [...`${approval.text}\n${approval.raw}`.matchAll(/href="([^"]+)"/g)]
				.map((m) => m[1].replace(/&amp;/g, '&'))
				.find((h) => h.includes('approved=true'));
			assert(approve, 'no approve link in the email');
			rmSync(join(filesDir, 'refund-results.csv'), { force: true });
			await timed(ctx, `n8n ${ctx.line}.x start`, () => ctx.n8n.start());
			const person = {
				'user-agent':
					'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
			};
			const refundTotals = () =>
				good.map((r) =>
					(sim.order(r.orderNumber)?.refunds ?? []).reduce((t, x) => t + x.refund_fee, 0),
				);
			const expected = good.map((r) => (r.expect === 'full' ? 10000 : 2550));
			try {
				// n8n answers ready before it serves its waiting webhooks: a manager opening the link that
				// early gets a 404, and would open it again.
				await waitFor(
					'the approve link to be answered',
					async () => ((await fetch(approve!, { headers: person })).ok ? true : undefined),
					30_000,
				);
				const results = await waitFor(
					'refund-results.csv of the approved run',
					() => {
						try {
							const out = csv('refund-results.csv');
							return out.length === 44 ? out : undefined;
						} catch {
							return undefined;
						}
					},
					60_000,
				);
				results.forEach((o, i) =>
					assert(
						o.orderNumber === good[i].orderNumber &&
							o.status === 'refunded' &&
							o.refundNumber &&
							o.remainingAfter === (good[i].expect === 'full' ? '0.00' : '74.50'),
						`row ${i + 1}: ${JSON.stringify(o)}`,
					),
				);
				assert(refundCalls() - before === 44, `${refundCalls() - before} refund calls`);
				assert(
					JSON.stringify(refundTotals()) === JSON.stringify(expected),
					'refunded amounts differ from the previewed rows',
				);
				assert(
					(sim.order(late)?.refunds ?? []).length === 0,
					'the row added after the preview was refunded',
				);
				const recorded = await waitFor(
					'the 44 refunds in Ksher refunds',
					async () => {
						const mine = (await ctx.rest.dataTableRows(tables.refunds)).filter((r) =>
							good.some((g) => g.orderNumber === r.orderNumber),
						);
						return mine.length >= 44 ? mine : undefined;
					},
					30_000,
				);
				assert(
					recorded.length === 44 &&
						recorded.every((r) => r.refundNumber && !r.customerTold) &&
						new Set(recorded.map((r) => r.orderNumber)).size === 44,
					`recorded: ${recorded.length} ${JSON.stringify(recorded[0])}`,
				);
				// The approve link opened again: n8n has nothing left to resume.
				await fetch(approve!, { headers: person });
				await new Promise((r) => setTimeout(r, 2000));
				assert(refundCalls() - before === 44, 'the second click refunded');
			} finally {
				await timed(ctx, `n8n ${ctx.line}.x stop`, () => ctx.n8n.stop());
			}
			// Run again (every row refunded already: green, nobody asked, no refund call): the browser step does
			// it from the editor. Not here: n8n 2.x's `n8n execute` does not load the Data Table module, which the
			// sheet's preview then uses to record the refunds it finds made.
			assert(
				good.every((r) => (sim.order(r.orderNumber)?.refunds.length ?? 0) === 1),
				'an order was refunded twice',
			);
			for (const row of rows.filter((r) => r.expect === 'fail'))
				assert(
					(sim.order(row.orderNumber)?.refunds ?? []).length === 0,
					`${row.orderNumber} was refunded`,
				);
			fullyRefunded = good[0].orderNumber;
			return `44 refunded once (40 × 100.00, 4 × 25.50) after approval, none of the late changes; recorded 44; the link opened again refunded nothing`;
		},
	);
	return fullyRefunded;
}

/**
 * The refund queue (the Data Table `queueTable`, read every 2 s) and the refund with approval,
 * imported and published while n8n is stopped, to run once it starts again.
 */
export async function refundImportStep(
	ctx: E2eContext,
	queueTable: TableRef,
	refundsTable: TableRef,
): Promise<void> {
	const { work, cli, install } = ctx;
	await step(
		'refund queue and refund-with-approval examples: import with a Data Table, publish',
		async () => {
			mkdirSync(join(work, 'refund-workflows'));
			for (const wf of refundWorkflows(
				{ refundQueue: queueTable.tableId, refunds: refundsTable.tableId },
				2,
			))
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
export async function refundWorkflowSteps(
	ctx: E2eContext,
	queueTable: TableRef,
	tables: Tables,
): Promise<void> {
	const { rest, sim, smtp, client } = ctx;
	const refundsOf = (orderNo: string) => sim.order(orderNo)?.refunds ?? [];
	const recordUrl = `${ctx.n8n.url}/webhook/${RECORD_WEBHOOK_ID}/webhook`;
	/**
	 * A paid order. `watched`: paid with a notification, so the receipt workflow records it in Ksher
	 * orders and the refund watch (active since the watch steps, every 2 s) watches it too.
	 */
	const paidOrder = async (
		prefix: string,
		email: string,
		watched = false,
		channel = 'truemoney',
	) => {
		const no = `${prefix}-${Date.now().toString(36)}`;
		await createOrder(client, no, {
			channel_list: 'promptpay,card,truemoney',
			product_name: 'e2e refund item',
			attach: JSON.stringify({ email }),
			...(watched ? { mch_notify_url: recordUrl } : {}),
		});
		await ctx.control('/pay', { mch_order_no: no, channel, notify: watched });
		if (watched)
			await waitFor(
				'the order to be recorded in Ksher orders',
				async () =>
					(await rest.dataTableRows(tables.orders)).some((r) => r.orderNumber === no) || undefined,
				30_000,
			);
		return no;
	};
	const queueRuns = (count: number) => moreRuns(rest, WORKFLOW_IDS.refundQueue, count, 'queue');
	const watchRuns = (count: number) => moreRuns(rest, WORKFLOW_IDS.watch, count, 'watch');
	const recordedRefunds = async (orderNo: string) =>
		(await rest.dataTableRows(tables.refunds)).filter((r) => r.orderNumber === orderNo);
	const customerRefundMails = (to: string, orderNo: string) =>
		smtp.mails.filter((m) => m.to.includes(to) && m.subject === `Refund for order ${orderNo}`);

	await step(
		"refund queue (Data Table, every 2 s): approved rows refunded or failed, the outcome in result and staff's reason kept, the run with failed rows red; others untouched; later runs touch nothing twice; the refund recorded once and its customer emailed once (by the watch)",
		async () => {
			const ok = await paidOrder('QUEUE-OK', 'queue@example.com', true);
			const blank = await paidOrder('QUEUE-BLANK', 'queue@example.com');
			const waiting = await paidOrder('QUEUE-WAIT', 'queue@example.com');
			const unknown = `QUEUE-NONE-${Date.now().toString(36)}`;
			await rest.insertDataTableRows(queueTable, [
				{
					orderNumber: ok,
					amount: '20.00',
					status: 'approved',
					reason: 'scratched',
					refundNumber: null,
				},
				{
					orderNumber: blank,
					amount: null,
					status: 'approved',
					reason: 'forgot amount',
					refundNumber: null,
				},
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
			// The run that failed rows is red in Executions; the runs after it, with nothing approved, are green.
			const red = await rest.executionCount(WORKFLOW_IDS.refundQueue, 'error');
			assert(red >= 1, 'the run that failed rows is not red in Executions');
			const [okRow, blankRow, waitingRow, unknownRow] = [
				await rowOf(ok),
				await rowOf(blank),
				await rowOf(waiting),
				await rowOf(unknown),
			];
			assert(
				okRow.status === 'refunded' &&
					okRow.refundNumber === `${ok}-R2000` &&
					!okRow.result &&
					okRow.reason === 'scratched',
				`the approved row: ${JSON.stringify(okRow)}`,
			);
			assert(
				blankRow.status === 'failed' &&
					/Refund Amount is null/.test(String(blankRow.result)) &&
					blankRow.reason === 'forgot amount',
				`the blank amount: ${JSON.stringify(blankRow)}`,
			);
			assert(
				unknownRow.status === 'failed' &&
					/has no payment with this order number/.test(String(unknownRow.result)),
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
					again.result === 'already refunded earlier' &&
					again.reason === 'scratched' &&
					refundsOf(ok).length === 1,
				`re-approved row: ${JSON.stringify(again)}, ${refundsOf(ok).length} refunds`,
			);
			// The refund is in Ksher refunds once (re-approving wrote the same row again), and the watch,
			// which finds it not yet told, emails the customer once and marks it told.
			await watchRuns(3);
			const recorded = await recordedRefunds(ok);
			const mails = customerRefundMails('queue@example.com', ok);
			assert(
				recorded.length === 1 &&
					recorded[0].refundNumber === `${ok}-R2000` &&
					recorded[0].refundAmount === '20.00' &&
					recorded[0].customerTold === 'yes' &&
					recorded[0].channel === 'truemoney',
				`Ksher refunds holds for ${ok}: ${JSON.stringify(recorded)}`,
			);
			assert(mails.length === 1, `${mails.length} customer emails for the queue's refund`);
			return `refunded ${ok} (${String(okRow.refundNumber)}), reason kept; failed: "${String(blankRow.result).slice(0, 70)}…"; re-approved → "${String(again.result)}", still 1 refund, 1 record, 1 customer email`;
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
		const STAFF = 'staff@example.com';
		/** The email the staff member who asked gets, once the request has an outcome. */
		const staffMail = (orderNo: string, outcome: string) =>
			waitFor(
				`the staff email "${outcome}"`,
				() => mailsTo(STAFF, `Refund request for order ${orderNo}: ${outcome}`)[0],
				30_000,
			);
		/** Staff fill the form in the browser. */
		const submitRequest = async (orderNo: string, amount: string) => {
			await page.goto(formUrl);
			await page.getByLabel('Order Number').fill(orderNo);
			await page.getByLabel('Amount').fill(amount);
			await page.getByLabel('Reason').fill('Arrived damaged');
			await page.getByLabel('Your Email').fill(STAFF);
			await screenshot(page, 'form');
			await page.getByRole('button', { name: /submit/i }).click();
			await page.getByText('email you the outcome').waitFor({ timeout: 30_000 });
		};
		/** Staff ask for a refund; returns the approval email the manager gets. */
		const requestRefund = async (orderNo: string, amount: string) => {
			await submitRequest(orderNo, amount);
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
			'refund with approval (Chromium), the order also watched: form → approval email → approve → exactly 1 refund, recorded once as told, and 1 customer email (the watch sends none); the approve link again → still 1',
			async () => {
				const orderNo = await paidOrder('APPROVE', 'approve-buyer@example.com', true);
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
				// The watch runs every 2 s: three runs after the refund, it has seen it.
				await watchRuns(3);
				const recorded = await recordedRefunds(orderNo);
				assert(
					refundsOf(orderNo).length === 1 &&
						customerRefundMails('approve-buyer@example.com', orderNo).length === 1,
					`after the second click: ${refundsOf(orderNo).length} refunds, ${customerRefundMails('approve-buyer@example.com', orderNo).length} customer emails`,
				);
				assert(
					recorded.length === 1 &&
						recorded[0].refundNumber === `${orderNo}-R2500` &&
						recorded[0].customerTold === 'yes' &&
						recorded[0].channel === 'truemoney',
					`Ksher refunds holds for ${orderNo}: ${JSON.stringify(recorded)}`,
				);
				const told = await staffMail(orderNo, 'refunded');
				assert(
					told.text.includes(`Refunded 25.00 THB for order ${orderNo}`),
					`staff email: ${told.text}`,
				);
				return `"${customerMail.subject}"; the second click showed "${second}"; staff told "${told.subject}"`;
			},
		);

		await step(
			'refund with approval: what cannot be refunded (an unknown order, more than was paid) reaches no manager, and staff are told why',
			async () => {
				const orderNo = await paidOrder('TOO-MUCH', 'too-much-buyer@example.com');
				const unknown = `NO-SUCH-${Date.now().toString(36)}`;
				await submitRequest(unknown, '10.00');
				const unknownMail = await staffMail(unknown, 'cannot be refunded');
				await submitRequest(orderNo, '500.00');
				const tooMuch = await staffMail(orderNo, 'cannot be refunded');
				await screenshot(page, 'cannot-be-refunded');
				assert(
					/has no payment with this order number/.test(unknownMail.text) &&
						/500\.00/.test(tooMuch.text) &&
						/150\.50/.test(tooMuch.text),
					`staff emails: "${unknownMail.text}" / "${tooMuch.text}"`,
				);
				const asked = smtp.mails.filter(
					(m) =>
						m.to.includes('manager@example.com') &&
						(m.subject.includes(unknown) || m.subject.includes(orderNo)),
				);
				assert(
					asked.length === 0,
					`the manager was asked: ${asked.map((m) => m.subject).join('; ')}`,
				);
				assert(refundsOf(orderNo).length === 0, 'money moved');
				return `${unknown}: "${unknownMail.text.split('\n')[0].slice(0, 110)}…"; 500.00 of 150.50: "${tooMuch.text.split('\n')[0].slice(0, 110)}…"`;
			},
		);

		await step(
			'refund with approval: two requests approved while both waited (100.00 + 60.00 of 150.50): the first refunded, the second fails at Ksher and staff are told; the same request twice approved twice: 1 refund, 1 customer email',
			async () => {
				const orderNo = await paidOrder('TWO-ASKS', 'two-asks-buyer@example.com');
				const first = await requestRefund(orderNo, '100.00');
				const second = await requestRefund(orderNo, '60.00');
				await openFromEmail(link(first, true));
				await staffMail(orderNo, 'refunded');
				await openFromEmail(link(second, true));
				const failed = await staffMail(orderNo, 'failed');
				assert(
					/but it was not refunded/.test(failed.text) &&
						refundsOf(orderNo)
							.map((r) => r.refund_fee)
							.join() === '10000',
					`after the second approval: ${failed.text}; refunds ${JSON.stringify(refundsOf(orderNo))}`,
				);

				const twice = await paidOrder('TWICE', 'twice-buyer@example.com');
				const a = await requestRefund(twice, '20.00');
				// The same request again: the manager gets a second approval email (n8n's form makes a new run).
				await submitRequest(twice, '20.00');
				const b = await waitFor(
					'the second approval email',
					() =>
						mailsTo('manager@example.com', `Approve a refund of 20.00 THB for order ${twice}?`)[1],
					30_000,
				);
				await openFromEmail(link(a, true));
				await staffMail(twice, 'refunded');
				await openFromEmail(link(b, true));
				const again = await staffMail(twice, 'refunded already');
				await new Promise((r) => setTimeout(r, 2000));
				const customer = customerRefundMails('twice-buyer@example.com', twice);
				assert(
					refundsOf(twice).length === 1 && customer.length === 1,
					`approved twice: ${refundsOf(twice).length} refunds, ${customer.length} customer emails`,
				);
				return `"${failed.text.split('\n')[0].slice(0, 120)}…"; approved twice → "${again.subject}", 1 refund, 1 customer email`;
			},
		);

		await step(
			'refund with approval, a PromptPay payment refunded in full, the order watched: 1 refund, 1 record, 1 customer email (the watch, which sees only "fully refunded" without a number, finds it recorded)',
			async () => {
				const orderNo = await paidOrder('PP-FULL', 'pp-buyer@example.com', true, 'promptpay');
				const approval = await requestRefund(orderNo, '150.50');
				await openFromEmail(link(approval, true));
				await staffMail(orderNo, 'refunded');
				await watchRuns(3);
				const recorded = await recordedRefunds(orderNo);
				const mails = customerRefundMails('pp-buyer@example.com', orderNo);
				assert(
					refundsOf(orderNo).length === 1 && recorded.length === 1 && mails.length === 1,
					`${refundsOf(orderNo).length} refunds, ${recorded.length} records (${JSON.stringify(recorded)}), ${mails.length} customer emails`,
				);
				return `1 refund (${String(recorded[0].refundNumber)}), 1 record, 1 customer email`;
			},
		);

		await step(
			'refund with approval (Chromium): decline → no refund, no customer email, staff told',
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
				const told = await staffMail(orderNo, 'declined');
				return `declined: 0 refunds, 0 customer emails; staff told "${told.subject}"`;
			},
		);
	} finally {
		await browser?.close().catch(() => undefined);
	}
}
