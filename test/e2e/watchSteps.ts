import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';

import { initialWatchState } from '../../nodes/protocol';
import { activateArgs } from '../harness/n8n';
import {
	BOOKS_WEBHOOK_PATH,
	booksWorkflow,
	RECORD_WEBHOOK_ID,
	watchWorkflows,
	WORKFLOW_IDS,
} from '../harness/workflows';
import {
	createOrder,
	moreRuns,
	tableIds,
	webhookServed,
	type E2eContext,
	type Tables,
} from './context';
import { assert, step, waitFor } from './steps';

/**
 * Refund events and missed payments through Payment → Watch for Changes, in the real n8n:
 * the two examples import and run on a schedule (every 2 s here), and each change reaches the
 * customer once, across runs and across a restart. Entered with n8n stopped; leaves it running.
 */
export async function watchSteps(ctx: E2eContext, tables: Tables): Promise<void> {
	const table = tables.orders;
	const { sim, smtp, rest, n8n } = ctx;
	const recordUrl = `${n8n.url}/webhook/${RECORD_WEBHOOK_ID}/webhook`;
	const mailsFor = (orderNo: string, subject: string) =>
		smtp.mails.filter((m) => m.subject === `${subject} for order ${orderNo}`);
	/** Returns once `count` more scheduled runs have finished: the last began after anything done before the call. */
	// Watch runs that ended red: only those a row Ksher cannot check made (the typed-rows step), none else.
	let redRuns = 0;
	const runsAfter = async (count: number) => {
		await moreRuns(rest, WORKFLOW_IDS.watch, count, 'watch');
		const failed = await rest.executionCount(WORKFLOW_IDS.watch, 'error');
		assert(failed === redRuns, `${failed - redRuns} watch runs failed`);
	};
	const order = async (prefix: string, notify: boolean) => {
		const no = `${prefix}-${Date.now().toString(36)}`;
		await createOrder(ctx.client, no, {
			channel_list: 'promptpay,card,truemoney',
			product_name: 'e2e watched item',
			attach: JSON.stringify({ email: 'watcher@example.com' }),
			...(notify ? { mch_notify_url: recordUrl } : {}),
		});
		return no;
	};
	const paymentEmail = (orderNo: string) =>
		waitFor('the payment email', () => mailsFor(orderNo, 'Payment received')[0], 30_000);
	let watched = '';
	let unnotified = '';

	const ready = await step(
		'watch examples: import with a Data Table, publish, start n8n',
		async () => {
			const dir = join(ctx.work, 'watch-workflows');
			mkdirSync(dir, { recursive: true });
			for (const wf of [
				...watchWorkflows(tableIds(tables), 2),
				booksWorkflow(tableIds(tables), true),
			])
				writeFileSync(join(dir, `${wf.id}.json`), JSON.stringify(wf));
			await ctx.cli(['import:workflow', '--separate', `--input=${dir}`]);
			await ctx.cli(activateArgs(ctx.install, WORKFLOW_IDS.recordPaid));
			await ctx.cli(activateArgs(ctx.install, WORKFLOW_IDS.watch));
			await ctx.cli(activateArgs(ctx.install, WORKFLOW_IDS.books));
			await n8n.start();
			await rest.login();
			await webhookServed("the record workflow's webhook", recordUrl, 30_000);
			await runsAfter(1);
			return `table ${table.tableId}, watch every 2 s`;
		},
	);
	if (!ready) return;

	await step(
		'a notified payment: one trigger workflow emails the receipt and records the order; the watch does not report it again',
		async () => {
			watched = await order('WATCH', true);
			await ctx.control('/pay', { mch_order_no: watched, channel: 'truemoney' });
			const row = await waitFor('the recorded row', async () =>
				(await rest.dataTableRows(table)).find(
					(r) => r.orderNumber === watched && /"status":"paid"/.test(String(r.watchState)),
				),
			);
			await runsAfter(2);
			// One trigger workflow does both: the receipt, and the row the watch reads.
			const receipts = mailsFor(watched, 'Receipt');
			const mails = smtp.mails.filter(
				(m) => m.subject.endsWith(watched) && !m.subject.startsWith('Receipt'),
			);
			assert(receipts.length === 1, `${receipts.length} receipts for the recorded payment`);
			assert(
				mails.length === 0,
				`emails about a payment the trigger already reported: ${mails.map((m) => m.subject).join('; ')}`,
			);
			return `row ${String(row.orderNumber)} → ${String(row.email)}, state ${String(row.watchState)}`;
		},
	);

	await step(
		'a refund made at Ksher (not through n8n): exactly one refund email after the next run, none from later runs',
		async () => {
			await ctx.control('/refund', { mch_order_no: watched, refund_fee: 5000 });
			const mail = await waitFor('the refund email', () => mailsFor(watched, 'Refund')[0], 30_000);
			await runsAfter(2);
			assert(
				mailsFor(watched, 'Refund').length === 1,
				`${mailsFor(watched, 'Refund').length} refund emails`,
			);
			assert(
				mail.text.includes('Refunded: 50.00 THB') &&
					mail.text.includes('paid with TrueMoney') &&
					mail.to.includes('watcher@example.com'),
				`email: ${mail.to.join(', ')} ${mail.text}`,
			);
			return `"${mail.subject}": ${mail.text.split('\n')[1]}`;
		},
	);

	await step('a second partial refund: a second email, once', async () => {
		await ctx.control('/refund', { mch_order_no: watched, refund_fee: 1000 });
		await waitFor('the second refund email', () => mailsFor(watched, 'Refund')[1], 30_000);
		await runsAfter(2);
		const mails = mailsFor(watched, 'Refund');
		assert(
			mails.length === 2 && mails[1].text.includes('Refunded: 10.00 THB'),
			`${mails.length} refund emails: ${mails.map((m) => m.text.split('\n')[1]).join('; ')}`,
		);
		return mails.map((m) => m.text.split('\n')[1]).join(', ');
	});

	await step(
		'overlapping runs (each takes 5 s, one starts every 2 s): a refund still gives exactly one email',
		async () => {
			await ctx.control('/faults', {
				type: 'latency',
				ms: 5000,
				count: -1,
				endpoint: 'refund_query',
				stage: 'before',
			});
			try {
				await new Promise((r) => setTimeout(r, 6000));
				await ctx.control('/refund', { mch_order_no: watched, refund_fee: 500 });
				await waitFor('the third refund email', () => mailsFor(watched, 'Refund')[2], 30_000);
				// Every run in flight when the refund happened, and two after, have finished.
				await new Promise((r) => setTimeout(r, 12_000));
			} finally {
				await ctx.control('/faults/clear', {});
			}
			await runsAfter(1);
			const mails = mailsFor(watched, 'Refund');
			const saw = (await rest.nodeItems(WORKFLOW_IDS.watch, 'Watch for Changes')).filter(
				(i) => i.orderNumber === watched && i.refundAmount === '5.00',
			).length;
			assert(
				mails.length === 3,
				`${mails.length} refund emails (expected 3): ${mails.map((m) => m.text.split('\n')[1]).join('; ')}`,
			);
			assert(
				saw >= 2,
				`only ${saw} runs reported the refund: the runs did not overlap, so this step proved nothing`,
			);
			return `${saw} overlapping runs reported the 5.00 THB refund; 1 stored it and emailed`;
		},
	);

	await step(
		'a payment made with notifications suppressed: exactly one paid item and one email',
		async () => {
			unnotified = await order('SILENT', false);
			// The row as Create Payment's output would be stored: its watchState says "created, unpaid".
			await rest.insertDataTableRows(table, [
				{
					orderNumber: unnotified,
					email: 'watcher@example.com',
					watchState: initialWatchState('pending', new Date()),
				},
			]);
			await runsAfter(1);
			await ctx.control('/pay', { mch_order_no: unnotified, channel: 'card', notify: false });
			const mail = await paymentEmail(unnotified);
			await runsAfter(2);
			assert(
				sim.deliveries.every((d) => d.mch_order_no !== unnotified),
				'Ksher notified the payment after all',
			);
			assert(
				mailsFor(unnotified, 'Payment received').length === 1,
				`${mailsFor(unnotified, 'Payment received').length} payment emails`,
			);
			const paidItems = await rest.nodeItems(WORKFLOW_IDS.watch, 'Watch for Changes');
			const paid = paidItems.filter((i) => i.orderNumber === unnotified && i.event === 'paid');
			assert(paid.length === 1, `${paid.length} paid items for ${unnotified}`);
			return `"${mail.subject}": ${mail.text.split('\n')[2]}`;
		},
	);

	await step(
		'rows typed by hand: a state left empty (null) is reported once, not on every run; an order Ksher does not know goes to the error output, the other rows still run, and the run ends red until the row is removed',
		async () => {
			const typed = await order('TYPED', false);
			await ctx.control('/pay', { mch_order_no: typed, channel: 'card', notify: false });
			const unknown = `NOPE-${Date.now().toString(36)}`;
			// The unknown order first: it must not keep the rows after it from being checked.
			await rest.insertDataTableRows(table, [
				{ orderNumber: unknown, email: 'watcher@example.com', watchState: null },
				{ orderNumber: typed, email: 'watcher@example.com', watchState: null },
			]);
			const mail = await paymentEmail(typed);
			// While the unknown order is in the table, every run ends red (after checking the other rows).
			const red = await rest.executionCount(WORKFLOW_IDS.watch, 'error');
			await waitFor(
				'3 more watch runs, red',
				async () =>
					(await rest.executionCount(WORKFLOW_IDS.watch, 'error')) >= red + 3 ? true : undefined,
				60_000,
			);
			assert(
				mailsFor(typed, 'Payment received').length === 1,
				`${mailsFor(typed, 'Payment received').length} payment emails for a row whose state was null`,
			);
			const problems = (await rest.nodeItems(WORKFLOW_IDS.watch, 'Rows With Problems')).filter(
				(p) => p.orderNumber === unknown,
			);
			assert(
				problems.length >= 3 && /ORDER_NOT_EXIST/.test(String(problems[0].error)),
				`the unknown order on the error output: ${JSON.stringify(problems[0])}`,
			);
			// The user removes the row, as the red run's message says: the runs are green again.
			await rest.deleteDataTableRows(table, { orderNumber: unknown });
			await new Promise((r) => setTimeout(r, 3000));
			redRuns = await rest.executionCount(WORKFLOW_IDS.watch, 'error');
			await runsAfter(2);
			const stored = (await rest.dataTableRows(table)).find((r) => r.orderNumber === typed);
			assert(
				/"status":"paid"/.test(String(stored?.watchState)),
				`the null state was not replaced: ${JSON.stringify(stored)}`,
			);
			return `"${mail.subject}" once; ${problems.length} runs sent ${unknown} to the error output ("${String(problems[0].error).slice(0, 70)}…") and ended red; the row removed: green again`;
		},
	);

	await step(
		'restart n8n between runs, with a refund made while it was down: one email for it, nothing repeated',
		async () => {
			const before = smtp.mails.length;
			await n8n.stop();
			await ctx.control('/refund', { mch_order_no: watched, refund_fee: 2000 });
			await n8n.start();
			await rest.login();
			await waitFor('the fourth refund email', () => mailsFor(watched, 'Refund')[3], 60_000);
			await runsAfter(3);
			const refunds = mailsFor(watched, 'Refund').length;
			const payments = mailsFor(unnotified, 'Payment received').length;
			assert(
				refunds === 4 && payments === 1 && smtp.mails.length === before + 1,
				`after the restart: ${refunds} refund emails, ${payments} payment emails, ${smtp.mails.length - before} new emails`,
			);
			const rows = await rest.dataTableRows(table);
			const state = (r: Record<string, unknown>) =>
				r.watchState
					? String((JSON.parse(String(r.watchState)) as { status?: string }).status)
					: 'no state (Ksher does not know the order)';
			return `${refunds} refund emails, ${payments} payment email; stored states: ${rows.map((r) => `${String(r.orderNumber)} ${state(r)}`).join(', ')}`;
		},
	);

	await booksSteps(ctx, tables, recordUrl);
}

/**
 * The books (issue #26): payments recorded by the receipt-and-record workflow and refunds
 * recorded by the watch, against what the simulator settles, through the daily reconciliation
 * example. On a day of their own (the simulator's clock moved forward), so that only these
 * orders are on it.
 */
async function booksSteps(ctx: E2eContext, tables: Tables, recordUrl: string): Promise<void> {
	const { rest, smtp, sim } = ctx;
	const booksUrl = `${ctx.n8n.url}/webhook/${BOOKS_WEBHOOK_PATH}`;
	const reconcile = async (day: string) => {
		const before = smtp.mails.length;
		const r = await fetch(booksUrl, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ day }),
		});
		assert(r.status === 200, `the reconciliation webhook answered ${r.status}`);
		return await waitFor(
			'the reconciliation email',
			() =>
				smtp.mails
					.slice(before)
					.find((m) => m.subject.startsWith(`Ksher reconciliation for ${day}`)),
			60_000,
		);
	};
	let day = '';
	const orders: Record<string, string> = {};
	try {
		await booksOnTheirDay();
	} finally {
		// The steps after these pay orders "today".
		await ctx.control('/clock', { reset: true });
	}
	async function booksOnTheirDay() {
		const recorded = await step(
			'books: on a day of their own, 3 payments on two channels recorded by the trigger, the TrueMoney one refunded in part and recorded by the watch',
			async () => {
				const clock = await ctx.control('/clock', { advanceDays: 10 });
				day = String(clock.bangkok).slice(0, 10);
				for (const [name, total, channel] of [
					['BOOKS-A', 15050, 'promptpay'],
					['BOOKS-B', 10000, 'promptpay'],
					['BOOKS-C', 50000, 'truemoney'],
				] as const) {
					const no = `${name}-${Date.now().toString(36)}`;
					await createOrder(ctx.client, no, {
						total_fee: total,
						channel_list: 'promptpay,truemoney',
						product_name: 'e2e books item',
						attach: JSON.stringify({ email: 'books@example.com' }),
						mch_notify_url: recordUrl,
					});
					await ctx.control('/pay', { mch_order_no: no, channel });
					orders[name] = no;
				}
				await waitFor(
					'the 3 recorded payments',
					async () =>
						(await rest.dataTableRows(tables.orders)).filter(
							(r) =>
								Object.values(orders).includes(String(r.orderNumber)) &&
								String(r.paidAt).startsWith(day),
						).length === 3
							? true
							: undefined,
					60_000,
				);
				// A TrueMoney payment: Ksher cannot list the refunds of PromptPay payments, so the watch sees a partial one there only once the order is refunded in full.
				await ctx.control('/refund', { mch_order_no: orders['BOOKS-C'], refund_fee: 5050 });
				const refund = await waitFor(
					'the recorded refund',
					async () =>
						(await rest.dataTableRows(tables.refunds)).find(
							(r) => r.orderNumber === orders['BOOKS-C'],
						),
					60_000,
				);
				assert(
					refund.refundAmount === '50.50' && String(refund.refundedAt).startsWith(day),
					`recorded refund: ${JSON.stringify(refund)}`,
				);
				return `trading day ${day}: ${Object.values(orders).join(', ')}; refund ${String(refund.refundNumber)} 50.50`;
			},
		);
		if (!recorded) return;

		await step(
			'books: the next morning, the reconciliation email shows what Ksher settled per channel, commission and VAT, and 0 mismatches',
			async () => {
				await ctx.control('/clock', { advanceDays: 1 });
				const mail = await reconcile(day);
				assert(
					mail.subject === `Ksher reconciliation for ${day}: 0 mismatches`,
					`subject: ${mail.subject}\n${mail.text}`,
				);
				// PromptPay: 150.50 + 100.00 paid → 250.50; 1.5 % of 250.50 = 3.76, VAT 0.26. TrueMoney: 500.00 paid, 50.50 refunded → 449.50; 7.50, 0.53.
				for (const expected of [
					'PromptPay: paid 250.50, refunded 0.00; Ksher settled 250.50',
					'commission -3.76, VAT -0.26',
					'TrueMoney: paid 500.00, refunded 50.50; Ksher settled 449.50',
					'commission -7.50, VAT -0.53',
					'0 mismatches',
				]) {
					assert(mail.text.includes(expected), `the email lacks "${expected}":\n${mail.text}`);
				}
				const settled = sim.requests.filter((r) => r.endpoint === 'get_settlement_info').at(-1);
				assert(
					settled?.params.begin_date === day && settled.params.end_date === day,
					`asked Ksher for ${settled?.params.begin_date}..${settled?.params.end_date}`,
				);
				return mail.text
					.split('\n')
					.filter((l) => /settled|mismatch/.test(l))
					.join(' | ');
			},
		);

		await step(
			'books: a recorded payment deleted from the table: run again, exactly its channel is the one mismatch, by its amount',
			async () => {
				await rest.deleteDataTableRows(tables.orders, { orderNumber: orders['BOOKS-B'] });
				const mail = await reconcile(day);
				assert(
					mail.subject === `Ksher reconciliation for ${day}: 1 mismatch`,
					`subject: ${mail.subject}\n${mail.text}`,
				);
				assert(
					mail.text.includes(
						'PromptPay: Ksher settled 250.50, the records say 150.50 (paid 150.50 minus refunded 0.00)',
					),
					`the email:\n${mail.text}`,
				);
				return mail.text
					.split('\n')
					.filter((l) => l.startsWith('- '))
					.join(' | ');
			},
		);
	}
}
