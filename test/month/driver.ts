import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';

import { listSettlements } from '../../nodes/protocol';
import { activateArgs, type N8nLine } from '../harness/n8n';
import { N8nRest } from '../harness/rest';
import {
	BOOKS_WEBHOOK_PATH,
	booksWorkflow,
	RECORD_WEBHOOK_ID,
	REFUND_QUEUE_COLUMNS,
	refundWorkflows,
	watchWorkflows,
	WORKFLOW_IDS,
} from '../harness/workflows';
import {
	closeLine,
	createExampleTables,
	createOrder,
	openLine,
	tableIds,
	webhookServed,
	type LineContext,
	type Table,
	type TableRef,
	type Tables,
} from '../e2e/context';
import { waitFor } from '../e2e/steps';
import { FlaggedRuns, UNFINISHED } from './flags';
import { baht, typoOf, whenAgainstFaults, type Observed } from './model';
import { queueMonthN8n, regularMonthN8n, type MonthN8n } from './n8n';
import {
	besideTheWatch,
	figuresOf,
	quantile,
	type Beside,
	type GroupFigures,
	type TimedRun,
} from './timing';
import {
	aftercareDay,
	MID_PAYMENT_FAULTS,
	payDay,
	type FaultKind,
	type MonthPlan,
	type PlannedOrder,
} from './plan';

/**
 * Plays a month's plan in a real n8n (regular mode, or queue mode: `n8n.ts`), on the shipped examples
 * changed only where a month in minutes needs it (credentials, table ids; the watch and the refund
 * queue every few seconds instead of every 5 and 10 minutes; the morning reconciliation started by
 * a webhook for the day the simulator's clock is on), and gathers what happened.
 *
 * Time: each simulated day starts at 09:00 Bangkok on the simulator's clock (POST /clock moves it a
 * day at a time); n8n's own clock cannot move, so what n8n schedules by the clock (the watch, the
 * queue) runs every few seconds, and the reconciliation that runs "every morning at 8" is started
 * by the driver each simulated morning through a Webhook node in place of its Schedule Trigger.
 */

export interface MonthOptions {
	line: N8nLine;
	/** Regular mode (one process, SQLite; the default) or queue mode (PostgreSQL, Redis, workers, a webhook process). */
	mode?: 'regular' | 'queue';
	/** Payments a second (customers paying one after another). */
	rate: number;
	/** n8n's expression engine (N8N_EXPRESSION_ENGINE), when not the harness's (2.x: vm; 1.x: legacy). */
	engine?: string;
	/** More of n8n's environment (`--n8n-env=N8N_EXPRESSION_ENGINE_POOL_SIZE=4`). */
	env?: Record<string, string>;
	/** Worker processes in queue mode (queueMonthN8n's default when not given). */
	workers?: number;
	log: (line: string) => void;
}

/** Per simulated day, for the report. */
export interface DayFigures {
	day: number;
	date: string;
	orders: number;
	paid: number;
	paidSatang: number;
	refundedSatang: number;
	settledSatang: number;
	transferredSatang: number;
	morningMismatches: number | null;
	emails: number;
	receiptRuns: number;
	duplicates: number;
	ackP50: number;
	ackP99: number;
	/**
	 * Where the acknowledgement's time went, for the record runs of the day's payments (ms): the run itself (n8n's
	 * start to end) and, in queue mode, its wait between being stored and a worker starting it (null when n8n
	 * does not say).
	 */
	runP50: number | null;
	runP99: number | null;
	queuedP50: number | null;
	queuedP99: number | null;
	seconds: number;
	faults: string[];
}

export interface MonthRun {
	observed: Observed;
	days: DayFigures[];
	dayName: (day: number) => string;
	sizes: {
		memoryBytes: number;
		databaseBytes: number;
		/** The executions n8n holds at the end (after its pruning), and the record runs the month read day by day. */
		executions: number;
		recordRuns: number;
		ordersRows: number;
	};
	seconds: number;
	n8n: string;
	mode: 'regular' | 'queue';
	/** The record runs of the month's payments by what the watch was doing when each started. */
	beside: Record<Beside, GroupFigures>;
}

const WATCH_PATH = 'ksher-month-watch';
const QUEUE_PATH = 'ksher-month-queue';

/**
 * The example with its Schedule Trigger replaced by a Webhook node that answers when the run has
 * ended: the driver starts the runs the schedule would (n8n's clock cannot be sped up), never two at
 * once, so a compressed day does not pile up runs a real day spreads over 24 hours.
 */
function startedByDriver<T extends { nodes: Array<Record<string, unknown>> }>(
	workflow: T,
	path: string,
): T {
	const trigger = workflow.nodes.find((n) => n.type === 'n8n-nodes-base.scheduleTrigger');
	if (!trigger)
		throw new Error(`${String((workflow as { name?: string }).name)} has no Schedule Trigger`);
	Object.assign(trigger, {
		type: 'n8n-nodes-base.webhook',
		typeVersion: 2,
		webhookId: `5b0f3f5e-7c2a-4e4b-9a43-${Buffer.from(path).toString('hex').slice(-12)}`,
		parameters: {
			httpMethod: 'POST',
			path,
			responseMode: 'lastNode',
			responseData: 'noData',
			options: {},
		},
	});
	return workflow;
}

/** The date of a Ksher time ("2026-12-05 09:01:20" or "20261205090120"), YYYY-MM-DD. */
const dateOf = (ksherTime: string) =>
	ksherTime.replace(/\D/g, '').replace(/^(\d{4})(\d{2})(\d{2}).*$/, '$1-$2-$3');

const FAULT_NAMES: Record<FaultKind, string> = {
	n8nKilled: 'n8n SIGKILLed mid-payments',
	workerKilled: 'a worker SIGKILLed mid-payments',
	redisRestarted: 'Redis restarted mid-payments',
	postgresStopped: 'PostgreSQL stopped 10 s mid-payments',
	ksherUnreachable: 'Ksher unreachable',
	typoInQueue: 'a mistyped order number in the queue',
};

export async function runMonth(
	plan: MonthPlan,
	options: MonthOptions,
	work: string,
): Promise<MonthRun> {
	const started = Date.now();
	const mode = options.mode ?? 'regular';
	const line = await openLine(options.line, work, {});
	let n8n: MonthN8n | undefined;
	// Ctrl-C (or a CI timeout) stops the n8n it started too, rather than leaving it running; a second signal (npx
	// and tsx pass the first one on, so it often comes twice) does not cut that short.
	let closing = false;
	const interrupted = (signal: NodeJS.Signals) => {
		if (closing) return;
		closing = true;
		void (n8n?.close() ?? Promise.resolve())
			.then(() => closeLine(line))
			.finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
	};
	process.on('SIGINT', interrupted);
	process.on('SIGTERM', interrupted);
	try {
		const env = {
			// As the README's Performance section asks: on 2.x, expression isolates acquired lazily.
			...(options.line === '2' ? { N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE: 'true' } : {}),
			...(options.engine ? { N8N_EXPRESSION_ENGINE: options.engine } : {}),
			...options.env,
		};
		n8n =
			mode === 'queue'
				? await queueMonthN8n(line, env, options.workers)
				: await regularMonthN8n(line, env);
		const unsupported = plan.faults.filter(
			(f) => MID_PAYMENT_FAULTS.includes(f.kind) && !n8n!.faults.includes(f.kind),
		);
		if (unsupported.length)
			throw new Error(`${mode} mode has no fault ${unsupported.map((f) => f.kind).join(', ')}`);
		return await playMonth(line, n8n, plan, options, started);
	} finally {
		process.off('SIGINT', interrupted);
		process.off('SIGTERM', interrupted);
		await n8n?.close();
		await closeLine(line);
	}
}

async function playMonth(
	ctx: LineContext,
	n8n: MonthN8n,
	plan: MonthPlan,
	options: MonthOptions,
	started: number,
): Promise<MonthRun> {
	const { sim, smtp, control, log } = { ...ctx, log: options.log };
	// Ksher's retry schedule 100 times faster: a retry 10 ms after a failed delivery, then 20 ms, …, 6 s, 36 s, 108 s.
	await control('/time-scale', { timeScale: 0.01 });
	// Day 1 starts at the next 09:00 in Bangkok on the simulator's clock, so that a day never straddles midnight.
	const clock = await control('/clock', { advanceDays: 0 });
	const bangkokNow = Date.parse(String(clock.now)) + 7 * 3600_000;
	const nineAm = Math.ceil((bangkokNow - 9 * 3600_000) / 86_400_000) * 86_400_000 + 9 * 3600_000;
	await control('/clock', { advanceDays: (nineAm - bangkokNow) / 86_400_000 });
	const firstDate = new Date(nineAm).toISOString().slice(0, 10);
	const dayName = (day: number) =>
		new Date(Date.parse(`${firstDate}T00:00:00Z`) + (day - 1) * 86_400_000)
			.toISOString()
			.slice(0, 10);
	let clockDay = 1;
	const toDay = async (day: number) => {
		if (day > clockDay) await control('/clock', { advanceDays: day - clockDay });
		clockDay = day;
	};

	// Set-up as a shop does it: credentials, tables (n8n makes them through its API, so n8n runs first), the examples.
	writeFileSync(join(ctx.work, 'credentials.json'), JSON.stringify(n8n.credentials));
	await n8n.cli(['import:credentials', `--input=${join(ctx.work, 'credentials.json')}`]);
	await n8n.start({ editorOnly: true });
	const rest = new N8nRest(n8n.restUrl());
	await rest.login();
	await rest.createApiKey();
	const tables: Tables = await createExampleTables(rest);
	const queue: Table = {
		...(await rest.createDataTable(`Ksher refund queue ${Date.now()}`, REFUND_QUEUE_COLUMNS)),
		name: 'queue',
	};
	await n8n.stop();
	const dir = join(ctx.work, 'month-workflows');
	mkdirSync(dir, { recursive: true });
	const ids = tableIds(tables);
	const [record, watch] = watchWorkflows(ids);
	// Ksher's retries come 100 times faster here, so the trigger gives up on a run n8n never reports after 30 s
	// rather than its default 10 minutes (6 s compressed would be shorter than a run beside the watch).
	const trigger = record.nodes.find((n) => n.type === 'n8n-nodes-ksher.ksherTrigger')!;
	trigger.parameters.options = {
		...(trigger.parameters.options as object),
		giveUpAfterMinutes: 0.5,
	};
	const [refundQueue] = refundWorkflows({ refundQueue: queue.tableId, refunds: ids.refunds });
	for (const wf of [
		record,
		startedByDriver(watch, WATCH_PATH),
		booksWorkflow(ids, true),
		startedByDriver(refundQueue, QUEUE_PATH),
	])
		writeFileSync(join(dir, `${wf.id}.json`), JSON.stringify(wf));
	await n8n.cli(['import:workflow', '--separate', `--input=${dir}`]);
	for (const id of [
		WORKFLOW_IDS.recordPaid,
		WORKFLOW_IDS.watch,
		WORKFLOW_IDS.books,
		WORKFLOW_IDS.refundQueue,
	])
		await n8n.cli(activateArgs(ctx.install, id));
	await n8n.start();
	await rest.login();
	const hooks = n8n.webhookUrl();
	const notifyUrl = `${hooks}/webhook/${RECORD_WEBHOOK_ID}/webhook`;
	await webhookServed("the record workflow's Ksher Trigger", notifyUrl, 60_000);
	log(
		`${n8n.version}, ${n8n.mode} mode, ready (webhooks at ${hooks}, editor at ${n8n.restUrl()}); month starts ${firstDate}`,
	);

	/**
	 * A POST to one of n8n's webhooks, sent again if its connection was closed before any answer: fetch reuses an
	 * idle keep-alive connection, which n8n's server closes after a while (Node's default: 5 s), so a request sent then meets a reset
	 * that n8n never read (seen once in a 4-day month, day 3's watch call: "fetch failed", ECONNRESET).
	 */
	const postHook = async (path: string, init: RequestInit = {}): Promise<Response> => {
		for (let attempt = 1; ; attempt++) {
			try {
				return await fetch(`${hooks}/webhook/${path}`, { method: 'POST', ...init });
			} catch (error) {
				const code = String((error as { cause?: { code?: unknown } }).cause?.code ?? '');
				if (attempt >= 3 || !['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE'].includes(code)) throw error;
				log(
					`n8n closed the connection of a call to /webhook/${path} before answering (${code}); sending it again`,
				);
			}
		}
	};
	/** One run of the watch or the queue, as its schedule would start it; returns when the run has ended (red or green). */
	const runNow = async (path: string): Promise<number> => {
		// 404 only while n8n registers the workflow's webhook (at its start).
		for (let attempt = 0; ; attempt++) {
			const r = await postHook(path, { signal: AbortSignal.timeout(600_000) });
			await r.text();
			if (r.status !== 404 || attempt >= 60) return r.status;
			await new Promise((resolve) => setTimeout(resolve, 1000));
		}
	};
	const watchRun = () => runNow(WATCH_PATH);
	const queueRun = () => runNow(QUEUE_PATH);

	const figures: DayFigures[] = [];
	/** Each day's payments, from the first to every notification acknowledged (real time, ms). */
	const paymentWindows = new Map<number, [number, number]>();
	const morning = new Map<string, string[]>();
	const caughtByKill = new Set<string>();
	/** Each fault that hit while customers paid: how many notifications it caught on their way, and when. */
	const hit: Observed['faultsHit'] = [];
	const reconcile = async (day: string): Promise<string[]> => {
		const before = smtp.mails.filter((m) =>
			m.subject.startsWith(`Ksher reconciliation for ${day}`),
		).length;
		await waitFor(
			'the reconciliation webhook',
			async () => {
				const r = await postHook(BOOKS_WEBHOOK_PATH, {
					headers: { 'content-type': 'application/json' },
					body: JSON.stringify({ day }),
				});
				return r.status === 200 || undefined;
			},
			60_000,
		);
		const mail = await waitFor(
			`the reconciliation email for ${day}`,
			() =>
				smtp.mails.filter((m) => m.subject.startsWith(`Ksher reconciliation for ${day}`))[before],
			120_000,
		);
		return mail.text
			.split('\n')
			.filter((l) => l.startsWith('- '))
			.map((l) => l.slice(2));
	};
	/** Customers pay one after another at `rate` a second (each payment's notification goes out as it is paid). */
	const pay = async (orders: PlannedOrder[]) => {
		const paying: Array<Promise<unknown>> = [];
		for (const order of orders) {
			const paid = control('/pay', { mch_order_no: order.no, channel: order.channel });
			paid.catch(() => undefined); // thrown by Promise.all below, not as an unhandled rejection meanwhile
			paying.push(paid);
			await new Promise((r) => setTimeout(r, 1000 / options.rate));
		}
		await Promise.all(paying);
	};
	// The record runs flagged possibleDuplicate, read at each day's end, before n8n's pruning can take them (flags.ts).
	const flaggedRuns = new FlaggedRuns();
	const readFlags = async () =>
		flaggedRuns.add(await n8n.recordRunsAfter(rest, `M${plan.seed}`, flaggedRuns.after));
	const queueRows = () => rest.dataTableRows(queue);
	const allAcknowledged = (orders: PlannedOrder[]) => {
		const acked = new Set(
			sim.deliveries.filter((d) => d.acknowledged && d.event === 'paid').map((d) => d.mch_order_no),
		);
		return orders.filter((o) => !acked.has(o.no));
	};

	for (let day = 1; day <= plan.days; day++) {
		const dayStarted = Date.now();
		const mailsBefore = smtp.mails.length;
		const deliveriesBefore = sim.deliveries.length;
		await toDay(day);
		const date = dayName(day);
		const faults = plan.faults.filter((f) => f.day === day).map((f) => f.kind);
		log(
			`day ${day} (${date})${faults.length ? `: ${faults.map((f) => FAULT_NAMES[f]).join(', ')}` : ''}`,
		);

		// 08:00: yesterday's books.
		let morningMismatches: number | null = null;
		if (day > 1) {
			const lines = await reconcile(dayName(day - 1));
			morning.set(dayName(day - 1), lines);
			morningMismatches = lines.length;
		}

		// The day's orders, then who pays today (today's customers and yesterday's late ones).
		const made = plan.orders.filter((o) => o.day === day);
		for (const order of made)
			await createOrder(ctx.client, order.no, {
				total_fee: order.fee,
				channel_list: 'promptpay,truemoney,card,linepay',
				product_name: 'month item',
				attach: JSON.stringify({ email: order.email }),
				mch_notify_url: notifyUrl,
			});
		const paying = plan.orders.filter((o) => payDay(o) === day);
		// The watch's schedule comes round while customers pay (not on a day a fault hits them: its run would be cut short too).
		const hits = faults.filter((f) => MID_PAYMENT_FAULTS.includes(f));
		const watchStarted = Date.now();
		let watchSeconds = 0;
		const watching = (hits.length ? Promise.resolve(0) : watchRun()).then(
			(status) => ((watchSeconds = (Date.now() - watchStarted) / 1000), status),
		);
		// Its failure is thrown where it is awaited, after the payments, not as an unhandled rejection that ends the process.
		watching.catch(() => undefined);
		if (hits.length) {
			// The day's payments in one slice more than its faults: each fault hits while the next slice is being paid
			// and notified, once a notification is on its way to n8n (5 s at most), so that it has something to cut short.
			const slice = Math.ceil(paying.length / (hits.length + 1));
			await pay(paying.slice(0, slice));
			for (const [i, kind] of hits.entries()) {
				const next = pay(paying.slice((i + 1) * slice, (i + 2) * slice));
				next.catch(() => undefined); // thrown at `await next`, after the fault
				const open = () =>
					sim.deliveries.filter(
						(d) => d.event === 'paid' && d.status === null && d.error === undefined,
					);
				// Looked for every 20 ms (a delivery is open for 50–300 ms here; waitFor's 250 ms could miss them all).
				let caught = open();
				for (const until = Date.now() + 5000; !caught.length && Date.now() < until; caught = open())
					await new Promise((r) => setTimeout(r, 20));
				// Every notification on its way at any moment of the fault, not only at its start: a run the fault leaves
				// unfinished is one of these (the check's bound on such runs).
				const during = new Set(caught.map((d) => d.id));
				const sampling = setInterval(() => open().forEach((d) => during.add(d.id)), 20);
				const t0 = new Date();
				// A kill of the process that receives Ksher's notifications (regular n8n, or the webhook process) with a
				// delivery in flight may run it twice unflagged: its claim was in that process's memory only (the README's bound).
				if (kind === 'n8nKilled') for (const d of caught) caughtByKill.add(d.mch_order_no);
				await n8n.fault(kind).finally(() => clearInterval(sampling));
				hit.push({
					day,
					kind,
					caught: caught.length,
					during: during.size,
					from: t0,
					to: new Date(),
				});
				log(
					`day ${day}: ${FAULT_NAMES[kind]} with ${caught.length} notifications on their way, back after ${((Date.now() - t0.getTime()) / 1000).toFixed(1)} s`,
				);
				await next;
			}
		} else await pay(paying);
		const missed = await waitFor(
			"every payment's notification acknowledged",
			() => (allAcknowledged(paying).length === 0 ? [] : undefined),
			300_000,
		).catch(() => allAcknowledged(paying));
		if (missed.length)
			log(`day ${day}: ${missed.length} notifications not acknowledged after 5 minutes`);
		paymentWindows.set(day, [watchStarted, Date.now()]);
		await watching;

		// Refunds: in Ksher's portal, and rows in the refund queue (with people's mistakes).
		const after = plan.orders.filter((o) => aftercareDay(o, plan.days) === day);
		const rows: Array<Record<string, string | null>> = [];
		const approveAgain: string[] = [];
		for (const order of after) {
			if (order.after.kind === 'portal')
				await control('/refund', { mch_order_no: order.no, refund_fee: order.after.fee });
			else if (order.after.kind === 'queue') {
				const { mistake, fee } = order.after;
				const amount =
					mistake === 'blank' ? null : mistake === 'tooMuch' ? baht(order.fee + 100) : baht(fee);
				const row = {
					orderNumber: order.no,
					amount,
					status: 'approved',
					reason: `month ${mistake}`,
					refundNumber: null,
				};
				rows.push(row);
				if (mistake === 'sameRowTwice') rows.push({ ...row });
				if (mistake === 'approvedAgain') approveAgain.push(order.no);
			}
		}
		if (faults.includes('typoInQueue')) {
			const target = plan.orders.find((o) => payDay(o) !== undefined && payDay(o)! <= day)!;
			rows.push({
				orderNumber: typoOf(target.no),
				amount: '10.00',
				status: 'approved',
				reason: 'month typo',
				refundNumber: null,
			});
		}
		const outage = faults.includes('ksherUnreachable');
		if (outage)
			// Every call to Ksher fails before Ksher does anything, as when its servers cannot be reached.
			await control('/faults', { type: 'reset', count: -1, stage: 'before' });
		if (rows.length) await rest.insertDataTableRows(queue, rows);
		const approvedLeft = async () => (await queueRows()).filter((r) => r.status === 'approved');
		await queueRun();
		if (outage) {
			// The watch's run ends red too (its orders could not be checked); then Ksher is back.
			const status = await watchRun();
			if (status === 200) log(`day ${day}: the watch's run during the outage answered ${status}`);
			await control('/faults/clear', {});
			// Staff see the rows the outage failed ("the connection to Ksher broke") and approve them again.
			for (const r of await queueRows())
				if (
					r.status === 'failed' &&
					/reach|connect|reset|network|socket|fetch/i.test(String(r.result))
				)
					await rest.updateDataTableRows(queue, { id: Number(r.id) }, { status: 'approved' });
			await queueRun();
		}
		if (approveAgain.length) {
			// Someone sets refunded rows back to approved: no second refund.
			for (const no of approveAgain)
				await rest.updateDataTableRows(queue, { orderNumber: no }, { status: 'approved' });
			await queueRun();
		}
		const left = await approvedLeft();
		if (left.length)
			throw new Error(
				`day ${day}: ${left.length} approved rows of the refund queue were not handled`,
			);
		// The watch once more after the day's refunds: each is recorded and its customer told.
		await watchRun();

		const firstAttempts = sim.deliveries
			.slice(deliveriesBefore)
			.filter((d) => d.attempt === 1 && d.event === 'paid' && d.ms !== undefined)
			.map((d) => d.ms!);
		const q = (p: number) => quantile(firstAttempts, p) ?? 0;
		const dayMails = smtp.mails.slice(mailsBefore);
		figures.push({
			day,
			date,
			orders: made.length,
			paid: paying.length,
			paidSatang: paying.reduce((a, o) => a + o.fee, 0),
			refundedSatang: 0,
			settledSatang: 0,
			transferredSatang: 0,
			morningMismatches,
			emails: dayMails.length,
			receiptRuns: dayMails.filter((m) => m.subject.startsWith('Receipt for order')).length,
			duplicates: 0,
			ackP50: q(0.5),
			ackP99: q(0.99),
			runP50: null,
			runP99: null,
			queuedP50: null,
			queuedP99: null,
			seconds: (Date.now() - dayStarted) / 1000,
			faults: faults.map((f) => FAULT_NAMES[f]),
		});
		log(
			`day ${day}: ${made.length} orders, ${paying.length} paid, ${dayMails.length} emails, ack p50 ${q(0.5).toFixed(0)} ms p99 ${q(0.99).toFixed(0)} ms (a watch run of ${watchSeconds.toFixed(1)} s alongside), ${((Date.now() - dayStarted) / 1000).toFixed(0)} s`,
		);
		await readFlags();
	}

	// Month end: four more days, so every channel has settled (cards T+3) and transferred; each day reconciled again.
	await toDay(plan.days + 4);
	const books = new Map<string, string[]>();
	for (let day = 1; day <= plan.days; day++) books.set(dayName(day), await reconcile(dayName(day)));
	const settlements = await listSettlements(ctx.client, {
		from: dayName(1),
		to: dayName(plan.days),
	});
	for (const f of figures) {
		for (const l of settlements.lines.filter((x) => x.begin_date === f.date)) {
			f.settledSatang += l.settlement_amount;
			f.transferredSatang += l.transfer_amount;
		}
	}

	// What n8n and Ksher hold.
	const ksher: Observed['ksher'] = new Map();
	for (const order of plan.orders) {
		const o = sim.order(order.no);
		ksher.set(
			order.no,
			o && {
				state: o.state,
				channel: o.channel,
				paidDay: dateOf(o.time_end),
				refunds: o.refunds.map((r) => r.refund_fee),
			},
		);
		for (const r of o?.refunds ?? []) {
			const f = figures.find((x) => x.date === dateOf(r.refund_time));
			if (f) f.refundedSatang += r.refund_fee;
		}
	}
	// The runs n8n has not finished. In queue mode n8n's own clean-up of the runs it lost track of (an execution
	// "new" or "running" with no job in Redis: a webhook process killed between storing and queueing it, Redis
	// restarted under it, PostgreSQL stopped under its save) is the main process's queue recovery, which runs
	// when the main process starts and every 3 hours (N8N_EXECUTIONS_QUEUE_RECOVERY_INTERVAL, read in n8n's
	// scaling.service.js). A month is minutes long, so the main process is restarted here, as an operator would,
	// and only what that recovery leaves is unfinished. What it marked crashed is checked against the faults.
	const workflows = {
		record: WORKFLOW_IDS.recordPaid,
		watch: WORKFLOW_IDS.watch,
		queue: WORKFLOW_IDS.refundQueue,
		books: WORKFLOW_IDS.books,
	};
	const notFinished = async () => {
		let left: Array<{ workflow: string; id: string; status: string; at: string }> = [];
		const status = new Map<string, string>();
		let count = 0;
		for (const [workflow, id] of Object.entries(workflows)) {
			const all = await rest.executionSummaries(id);
			count += all.length;
			for (const e of all) status.set(e.id, e.status);
			for (const e of all)
				if (UNFINISHED.includes(e.status))
					left.push({
						workflow,
						id: e.id,
						status: e.status,
						at: e.startedAt,
					});
		}
		// A run stored but never started: when it was stored.
		const stored = n8n.storedAt(
			left.filter((e) => Number.isNaN(Date.parse(e.at))).map((e) => e.id),
		);
		left = left.map((e) => ({ ...e, at: stored.get(e.id) ?? e.at }));
		return { left, count, status };
	};
	const before = await notFinished();
	const executions = before.count;
	let left = before.left;
	const describe = (e: (typeof left)[number]) =>
		`${e.workflow} #${e.id} ${e.status} ${whenAgainstFaults(e.at, hit)}`;
	let recovered: Observed['recovered'] = [];
	let finishedLate: Observed['recovered'] = [];
	if (n8n.restartMain && left.length > 0) {
		log(
			`${left.length} runs not finished (${left.map(describe).join('; ')}); restarting the main process, whose queue recovery marks the runs n8n lost track of crashed`,
		);
		await n8n.restartMain();
		// The recovery runs just after the main process is ready, and n8n's API answers 404 for a moment after
		// that: give both 30 s.
		const since = Date.now();
		let after: Awaited<ReturnType<typeof notFinished>> | undefined;
		for (;;) {
			after = await notFinished().catch((e: unknown) => {
				if (Date.now() - since > 30_000) throw e;
				return undefined;
			});
			if ((after && after.left.length === 0) || Date.now() - since > 30_000) break;
			await new Promise((r) => setTimeout(r, 500));
		}
		if (!after)
			throw new Error("n8n's API did not answer within 30 s of the main process's restart");
		// Only what the recovery marked crashed: a run that finished meanwhile (a worker's stalled job run again)
		// simply finished.
		const asFound = (e: (typeof left)[number]) => ({
			workflow: e.workflow,
			status: e.status,
			run: describe(e),
			at: Date.parse(e.at),
		});
		recovered = left.filter((e) => after.status.get(e.id) === 'crashed').map(asFound);
		finishedLate = left
			.filter((e) => !['crashed', ...UNFINISHED].includes(after.status.get(e.id) ?? 'crashed'))
			.map(asFound);
		left = after.left;
	}
	const unfinished: Record<string, number> = Object.fromEntries(
		Object.keys(workflows).map((w) => [w, left.filter((e) => e.workflow === w).length]),
	);
	const unfinishedRuns = left.map(describe);
	// Where each day's acknowledgement time went: the record runs stored while its customers paid, their own
	// length, and in queue mode their wait from stored to started (PostgreSQL; n8n's API has no creation time).
	// Then the month's runs by what the watch was doing when each started (test/month/timing.ts).
	const ranOn = n8n.ranOn();
	const timed = async (workflowId: string): Promise<TimedRun[]> => {
		const runs = await rest.executionSummaries(workflowId);
		const stored = n8n.storedAt(runs.map((e) => e.id));
		return runs
			.map((e) => ({
				id: e.id,
				stored: Date.parse(stored.get(e.id) ?? e.startedAt),
				started: Date.parse(e.startedAt),
				stopped: Date.parse(e.stoppedAt),
				process: ranOn.get(e.id) ?? (n8n.mode === 'regular' ? 'n8n' : undefined),
			}))
			.filter((r) => !Number.isNaN(r.stored + r.started + r.stopped));
	};
	const records = await timed(WORKFLOW_IDS.recordPaid);
	const knowsStored = n8n.mode === 'queue';
	const ms = (x: number | null) => (x === null ? '?' : `${x.toFixed(0)}`);
	const payingRecords: TimedRun[] = [];
	for (const f of figures) {
		const [from, to] = paymentWindows.get(f.day) ?? [0, -1];
		const runs = records.filter((r) => r.stored >= from && r.stored <= to);
		payingRecords.push(...runs);
		const g = figuresOf(runs);
		f.runP50 = g.runP50;
		f.runP99 = g.runP99;
		if (knowsStored) {
			f.queuedP50 = g.queuedP50;
			f.queuedP99 = g.queuedP99;
		}
		log(
			`day ${f.day}: ack p50 ${ms(f.ackP50)} / p99 ${ms(f.ackP99)} ms; its ${runs.length} record runs: run p50 ${ms(g.runP50)} / p99 ${ms(g.runP99)} ms${knowsStored ? `, stored → started p50 ${ms(g.queuedP50)} / p99 ${ms(g.queuedP99)} ms` : ''}`,
		);
	}
	const beside = besideTheWatch(payingRecords, await timed(WORKFLOW_IDS.watch));
	// Regular mode has one process, so "watch on another process" is empty there: not printed.
	for (const [group, g] of Object.entries(beside).filter(([, g]) => g.runs > 0))
		log(
			`the month's record runs, ${group}: ${g.runs} runs, run p50 ${ms(g.runP50)} / p99 ${ms(g.runP99)} ms${knowsStored ? `, stored → started p50 ${ms(g.queuedP50)} / p99 ${ms(g.queuedP99)} ms` : ''}`,
		);
	writeFileSync(join(ctx.work, 'record-runs.json'), JSON.stringify(payingRecords));
	// What the runs left behind, read once the recovery's wait is over (a run may have ended during it).
	await readFlags();
	const flagged = flaggedRuns.byOrder();
	for (const f of figures)
		f.duplicates = plan.orders
			.filter((o) => payDay(o) === f.day)
			.reduce((a, o) => a + (flagged.get(o.no) ?? 0), 0);
	const observed: Observed = {
		ksher,
		mails: smtp.mails.map((m) => ({ subject: m.subject, to: m.to })),
		flagged,
		caughtByKill: new Set([
			...caughtByKill,
			// A delivery the receiving process never answered (killed with it in flight).
			...sim.deliveries
				.filter(
					(d) => d.event === 'paid' && d.status === null && /fetch failed/.test(d.error ?? ''),
				)
				.map((d) => d.mch_order_no),
		]),
		faultsHit: hit,
		ordersTable: await rest.dataTableRows(tables.orders),
		refundsTable: await rest.dataTableRows(tables.refunds),
		queueTable: await queueRows(),
		books,
		morning,
		unfinished,
		unfinishedRuns,
		recovered,
		finishedLate,
	};
	await n8n.stop();
	writeFileSync(
		join(ctx.work, 'deliveries.json'),
		JSON.stringify(sim.deliveries.map(({ body: _body, ...d }) => d)),
	);
	const exported = join(ctx.work, 'record-workflow.json');
	await n8n.cli(['export:workflow', `--id=${WORKFLOW_IDS.recordPaid}`, `--output=${exported}`]);
	const wf = JSON.parse(readFileSync(exported, 'utf8')) as
		| { staticData?: unknown }
		| Array<{ staticData?: unknown }>;
	const memoryBytes = JSON.stringify((Array.isArray(wf) ? wf[0] : wf).staticData ?? {}).length;
	const databaseBytes = n8n.databaseBytes();
	observed.memory = {
		bytes: memoryBytes,
		// Each notification Ksher sent (its retries are attempts of one delivery).
		notifications: new Set(sim.deliveries.map((d) => d.delivery)).size,
	};
	return {
		observed,
		days: figures,
		dayName,
		sizes: {
			memoryBytes,
			databaseBytes,
			executions,
			recordRuns: flaggedRuns.runs,
			ordersRows: observed.ordersTable.length,
		},
		seconds: (Date.now() - started) / 1000,
		n8n: n8n.version,
		mode: n8n.mode,
		beside,
	};
}

export type { TableRef };
