import { aftercareDay, payDay, type FaultKind, type MonthPlan, type PlannedOrder } from './plan';

/**
 * What may come of a month's plan (the reference model), and the check of what a real n8n did
 * against it and against the simulator's ledger (the truth). Pure: the driver gathers what
 * happened into `Observed`.
 */

/** One refund the plan asks Ksher for, and where it must show up. */
export interface ExpectedRefund {
	fee: number;
	/** The customer gets one "Refund for order …" email from the watch: not for a partial PromptPay refund, which Ksher cannot list. */
	emailed: boolean;
	/** In Ksher refunds (the books): all but a partial PromptPay refund made in Ksher's portal. */
	recorded: boolean;
}

export interface Expected {
	paid: PlannedOrder[];
	unpaid: PlannedOrder[];
	/** Per order number: the refunds Ksher must hold at the end, no more. */
	refunds: Map<string, ExpectedRefund[]>;
	/** The refund queue's rows and the status each must end with. */
	queueRows: Array<{
		key: string;
		orderNumber: string;
		amount: string | null;
		status: 'refunded' | 'failed';
	}>;
	/** Trading days whose books must show exactly these channels as mismatches (what Ksher cannot list). */
	expectedMismatches: Map<string, string[]>;
}

export const baht = (satang: number) =>
	`${Math.floor(satang / 100)}.${String(satang % 100).padStart(2, '0')}`;
/** For people: 177,127.15. */
export const bahtGrouped = (satang: number) =>
	`${Math.floor(satang / 100).toLocaleString('en')}.${String(satang % 100).padStart(2, '0')}`;

/** The order number a person mistypes on the typo day: one digit dropped, an order that does not exist. */
export const typoOf = (no: string) => no.slice(0, -1);

export function expectations(plan: MonthPlan): Expected {
	const paid = plan.orders.filter((o) => payDay(o) !== undefined);
	const unpaid = plan.orders.filter((o) => payDay(o) === undefined);
	const refunds = new Map<string, ExpectedRefund[]>();
	const queueRows: Expected['queueRows'] = [];
	const expectedMismatches = new Map<string, string[]>();
	for (const order of paid) {
		const after = order.after;
		if (after.kind === 'none') continue;
		const partial = after.fee < order.fee;
		const listable = !(partial && order.channel === 'promptpay');
		if (after.kind === 'portal') {
			refunds.set(order.no, [{ fee: after.fee, emailed: listable, recorded: listable }]);
			continue;
		}
		const row = (suffix: string, amount: string | null, status: 'refunded' | 'failed') =>
			queueRows.push({ key: `${order.no}${suffix}`, orderNumber: order.no, amount, status });
		if (after.mistake === 'blank') row('', null, 'failed');
		else if (after.mistake === 'tooMuch') row('', baht(order.fee + 100), 'failed');
		else {
			row('', baht(after.fee), 'refunded');
			if (after.mistake === 'sameRowTwice') row('#2', baht(after.fee), 'refunded');
			// The queue records its refunds itself, PromptPay ones too.
			refunds.set(order.no, [{ fee: after.fee, emailed: listable, recorded: true }]);
		}
	}
	const typo = plan.faults.find((f) => f.kind === 'typoInQueue');
	const typoTarget = typo && paid.find((o) => payDay(o)! <= typo.day);
	if (typo && typoTarget)
		queueRows.push({
			key: 'typo',
			orderNumber: typoOf(typoTarget.no),
			amount: '10.00',
			status: 'failed',
		});
	return { paid, unpaid, refunds, queueRows, expectedMismatches };
}

/**
 * The size of the trigger's memory the README states: 8 bytes a notification packed, which base64 makes 11
 * characters, and 21 more for a notification dated hours after n8n's clock (kept by its own time too); in a
 * compressed month every notification is, since the simulator's days run ahead of n8n's clock. Then a header.
 */
export const MEMORY_BOUND = { perNotification: 32, fixed: 256 };

/** What the real n8n, the mail sink and the simulator hold at the end. */
export interface Observed {
	/** Per order number: Ksher's state, channel, payment day (Bangkok), refunds (satang). */
	ksher: Map<
		string,
		{ state: string; channel: string; paidDay: string; refunds: number[] } | undefined
	>;
	/** Email subjects per recipient-independent key: "Receipt for order X" → count. */
	mails: Array<{ subject: string; to: string[] }>;
	/** The trigger's items flagged possibleDuplicate, by order number. */
	flagged: Map<string, number>;
	/**
	 * Orders whose delivery a SIGKILL of the process receiving Ksher's notifications (regular n8n, or queue mode's
	 * webhook process) caught in flight (open when it hit, or never answered): the claim was in that process's
	 * memory only. The README's bound: such a run may go to the end twice unflagged. Every other repeat must be
	 * flagged.
	 */
	caughtByKill: Set<string>;
	/** Each fault that hit while customers paid, with how many notifications were on their way when it did. */
	/**
	 * The faults as they hit: `caught`, the notifications on their way when each began; `during`, those on their way
	 * at any moment of it (at least `caught`; a month's record before it had only `caught`).
	 */
	faultsHit: Array<{
		day: number;
		kind: FaultKind;
		caught: number;
		during?: number;
		from: Date;
		to: Date;
	}>;
	ordersTable: Array<Record<string, unknown>>;
	refundsTable: Array<Record<string, unknown>>;
	queueTable: Array<Record<string, unknown>>;
	/** Month-end reconciliation per trading day: the mismatch lines. */
	books: Map<string, string[]>;
	/** Each morning's reconciliation of the day before (channels not settled yet are not mismatches): its mismatch lines. */
	morning: Map<string, string[]>;
	/** Executions not finished (new, running, waiting), per workflow. */
	unfinished: Record<string, number>;
	/** Each of those runs, named: "record #812 running at 10:01:02.345, 2.1 s from the start of day 3's workerKilled (3.0 s long)". */
	unfinishedRuns?: string[];
	/** The record trigger's memory as n8n stored it at the end, and how many notifications Ksher sent it in all. */
	memory?: { bytes: number; notifications: number };
	/**
	 * Queue mode: the runs n8n lost track of (stored "new" or "running", no job in Redis) that its queue recovery
	 * marked crashed when the main process was started again at the month's end. n8n does this at the main
	 * process's start and every 3 hours; the README's table of faults says which faults leave such runs.
	 */
	recovered: Array<StrandedRun>;
	/**
	 * Runs still unfinished at the month's end that finished while the recovery was awaited (not marked crashed):
	 * only a worker's stalled job, which the queue runs again once its lock expires, may.
	 */
	finishedLate?: Array<StrandedRun>;
}

/** A run as the month's end found it: "record #812 new at 10:01:02.345, …" (`at`: when stored or started). */
export interface StrandedRun {
	workflow: string;
	status: string;
	run: string;
	at: number;
}

/**
 * The faults that leave runs n8n loses track of in queue mode, each with the runs it can leave (read in n8n's
 * scaling service, workflow runner and job processor, 1.123.81 and 2.41.1), and when: a run's window, or none
 * when the fault cannot have left it.
 */
const STRANDS: Partial<
	Record<
		FaultKind,
		{ statuses: string[]; window: (f: FaultHit, all: FaultHit[]) => [number, number] | undefined }
	>
> = {
	// The webhook process stores the execution, then queues its job: killed between the two, it leaves it "new".
	n8nKilled: {
		statuses: ['new'],
		window: (f) => [f.from.getTime() - 10_000, f.from.getTime() + 1_000],
	},
	// A worker killed with a job it had taken leaves its run "new" or "running" with the job still active in
	// Redis, until the queue's stalled-job check (its 60-s lock expired, every 30 s) runs it again (1.x) or fails
	// it (2.x). Redis restarted before that loses the job, and then only the recovery ends the run (CI's queue
	// month of 2026-12-05: a worker killed on day 2, Redis restarted 45 s later on day 4).
	workerKilled: {
		statuses: ['new', 'running'],
		window: (f, all) =>
			all.some(
				(r) =>
					r.kind === 'redisRestarted' &&
					r.from.getTime() >= f.from.getTime() &&
					r.from.getTime() <= f.to.getTime() + STALLED_JOB_CHECKED_MS,
			)
				? [f.from.getTime() - 10_000, f.from.getTime() + 1_000]
				: undefined,
	},
	// Redis restarted empty: a job waiting in it is gone, its execution stays "new".
	redisRestarted: {
		statuses: ['new'],
		window: (f) => [f.from.getTime() - 10_000, f.to.getTime() + 1_000],
	},
	// PostgreSQL stopped while a worker loaded the job ("new") or saved the run's end ("running").
	postgresStopped: {
		statuses: ['new', 'running'],
		window: (f) => [f.from.getTime() - 10_000, f.to.getTime() + 10_000],
	},
};

/**
 * The latest a killed worker's job is taken up again by the queue: its lock (60 s) plus one stalled check (30 s).
 * Counted from the worker's return (`to`) rather than its kill, so the window is a few seconds wider than n8n's.
 */
const STALLED_JOB_CHECKED_MS = 90_000;

type FaultHit = Observed['faultsHit'][number];

/**
 * The fault that explains a run n8n's queue recovery found, if one does: its kind leaves runs of that status,
 * the run was stored or started in its window, and (for the record workflow, whose runs are Ksher's deliveries)
 * the fault has not already explained as many runs as there were deliveries on their way while it hit.
 */
function strandedBy(run: StrandedRun, faults: FaultHit[], used: Map<FaultHit, number>) {
	return faults.find((f) => {
		const rule = STRANDS[f.kind];
		if (!rule || !rule.statuses.includes(run.status)) return false;
		const window = rule.window(f, faults);
		if (!window || !(run.at >= window[0] && run.at <= window[1])) return false;
		return run.workflow !== 'record' || (used.get(f) ?? 0) < (f.during ?? f.caught);
	});
}

export interface Verdict {
	problems: string[];
	figures: {
		receipts: number;
		missingReceipts: number;
		flaggedTwice: number;
		/** Unflagged second receipts of notifications a kill of the receiving process caught in flight (the README's bound). */
		killedTwice: number;
		/** Runs a fault left unfinished, marked crashed by n8n's queue recovery (`recovered`). */
		stranded: number;
		/** Runs still unfinished after that recovery (each one a problem). */
		unfinished: number;
		unflaggedTwice: number;
		refunds: number;
		refundEmails: number;
		overRefunds: number;
		reconciledDays: number;
		unexplainedMismatches: number;
		expectedMismatches: number;
	};
}

/** Everything that must hold at the end of the month; each problem in the shop's words. */
export function checkMonth(
	plan: MonthPlan,
	expected: Expected,
	observed: Observed,
	dayName: (day: number) => string,
): Verdict {
	const problems: string[] = [];
	const say = (problem: string) => problems.length < 200 && problems.push(problem);
	const count = (subject: string) => observed.mails.filter((m) => m.subject === subject).length;
	let receipts = 0;
	let missing = 0;
	let flaggedTwice = 0;
	let killedTwice = 0;
	let unflaggedTwice = 0;
	for (const order of expected.paid) {
		const k = observed.ksher.get(order.no);
		if (!k || !['SUCCESS', 'REFUND'].includes(k.state))
			say(`${order.no}: the plan paid it, Ksher says ${k?.state ?? 'no such order'}`);
		const n = count(`Receipt for order ${order.no}`);
		receipts += n;
		if (n === 0) {
			missing++;
			say(`${order.no}: paid, no receipt`);
		} else if (n > 1) {
			// A second receipt is allowed when its run said possibleDuplicate (a crash left the first unknown), or
			// unflagged for a notification in flight when the process receiving it was killed (the README's bound: a
			// kill after the email went out and before any save carried the claim to the database cannot be told).
			if ((observed.flagged.get(order.no) ?? 0) >= n - 1) flaggedTwice += n - 1;
			else if (n === 2 && observed.caughtByKill.has(order.no)) killedTwice++;
			else {
				unflaggedTwice += n - 1;
				say(`${order.no}: ${n} receipts, ${observed.flagged.get(order.no) ?? 0} flagged`);
			}
		}
	}
	for (const order of expected.unpaid) {
		if (count(`Receipt for order ${order.no}`) > 0) say(`${order.no}: never paid, got a receipt`);
		const k = observed.ksher.get(order.no);
		if (k && k.state !== 'NOTSURE') say(`${order.no}: never paid, Ksher says ${k.state}`);
	}

	let refunds = 0;
	let refundEmails = 0;
	let overRefunds = 0;
	for (const order of expected.paid) {
		const want = expected.refunds.get(order.no) ?? [];
		const got = observed.ksher.get(order.no)?.refunds ?? [];
		refunds += got.length;
		const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
		if (sum(got) > sum(want.map((r) => r.fee))) {
			overRefunds++;
			say(
				`${order.no}: Ksher refunded ${baht(sum(got))}, the plan asked ${baht(sum(want.map((r) => r.fee)))}`,
			);
		} else if (
			got.slice().sort().join() !==
			want
				.map((r) => r.fee)
				.sort()
				.join()
		)
			say(
				`${order.no}: Ksher holds refunds [${got.map(baht).join(', ')}], the plan asked [${want.map((r) => baht(r.fee)).join(', ')}]`,
			);
		const emails = count(`Refund for order ${order.no}`);
		refundEmails += emails;
		const wantEmails = want.filter((r) => r.emailed).length;
		if (emails !== wantEmails) say(`${order.no}: ${emails} refund emails, ${wantEmails} expected`);
	}

	// The Data Tables against the truth.
	const ordersRows = new Map<string, Array<Record<string, unknown>>>();
	for (const r of observed.ordersTable)
		ordersRows.set(String(r.orderNumber), [...(ordersRows.get(String(r.orderNumber)) ?? []), r]);
	for (const order of expected.paid) {
		const rows = ordersRows.get(order.no) ?? [];
		const k = observed.ksher.get(order.no);
		if (rows.length !== 1) say(`Ksher orders: ${rows.length} rows for paid order ${order.no}`);
		else if (
			rows[0].amount !== baht(order.fee) ||
			rows[0].channel !== order.channel ||
			String(rows[0].paidAt).slice(0, 10) !== k?.paidDay
		)
			say(
				`Ksher orders: ${order.no} recorded as ${String(rows[0].amount)} ${String(rows[0].channel)} ${String(rows[0].paidAt)}, Ksher has ${baht(order.fee)} ${order.channel} ${k?.paidDay}`,
			);
	}
	const paidNumbers = new Set(expected.paid.map((o) => o.no));
	for (const no of ordersRows.keys())
		if (!paidNumbers.has(no)) say(`Ksher orders: a row for ${no}, which nobody paid`);
	for (const order of expected.paid) {
		const want = (expected.refunds.get(order.no) ?? [])
			.filter((r) => r.recorded)
			.map((r) => baht(r.fee))
			.sort();
		const got = observed.refundsTable
			.filter((r) => r.orderNumber === order.no)
			.map((r) => String(r.refundAmount))
			.sort();
		if (got.join() !== want.join())
			say(`Ksher refunds: ${order.no} has [${got.join(', ')}], the truth is [${want.join(', ')}]`);
	}
	for (const row of expected.queueRows) {
		const rows = observed.queueTable.filter(
			(r) => r.orderNumber === row.orderNumber && (r.amount ?? null) === row.amount,
		);
		const wrong = rows.filter((r) => r.status !== row.status);
		if (rows.length === 0)
			say(`refund queue: the row for ${row.orderNumber} (${row.amount}) is gone`);
		else if (wrong.length)
			say(
				`refund queue: ${row.orderNumber} (${row.amount}) is ${wrong.map((r) => `${String(r.status)}: ${String(r.result)}`).join('; ')}, expected ${row.status}`,
			);
	}

	// The books: every day of the month, reconciled once every channel had settled.
	let unexplained = 0;
	let expectedCount = 0;
	for (let day = 1; day <= plan.days; day++) {
		const name = dayName(day);
		const lines = observed.books.get(name);
		if (!lines) {
			say(`books: no month-end reconciliation for ${name}`);
			continue;
		}
		const allowed = expected.expectedMismatches.get(name) ?? [];
		for (const line of lines) {
			if (allowed.some((channel) => line.startsWith(`${channel}:`))) expectedCount++;
			else {
				unexplained++;
				say(`books ${name}: ${line}`);
			}
		}
	}
	for (const [name, lines] of observed.morning) {
		const allowed = expected.expectedMismatches.get(name) ?? [];
		for (const line of lines)
			if (!allowed.some((channel) => line.startsWith(`${channel}:`))) {
				unexplained++;
				say(`morning books ${name}: ${line}`);
			}
	}
	for (const f of observed.faultsHit)
		if (f.caught === 0)
			say(`day ${f.day}: the fault "${f.kind}" hit no notification on its way (it tested nothing)`);
	const used = new Map<FaultHit, number>();
	for (const r of observed.recovered) {
		const fault = strandedBy(r, observed.faultsHit, used);
		if (fault) {
			if (r.workflow === 'record') used.set(fault, (used.get(fault) ?? 0) + 1);
		} else
			say(
				`n8n's queue recovery found ${r.run}, which no fault explains (a webhook process's kill leaves runs "new" stored up to its kill, a worker's kill "new" or "running" ones when Redis restarts within 90 s, a Redis restart "new" ones, a PostgreSQL stop "new" or "running" ones, within 10 s; a record run each per notification on its way during the fault)`,
			);
	}
	for (const r of observed.finishedLate ?? [])
		if (
			!observed.faultsHit.some(
				(f) =>
					f.kind === 'workerKilled' &&
					r.at >= f.from.getTime() - 10_000 &&
					r.at <= f.to.getTime() + 10_000,
			)
		)
			say(
				`${r.run} was still unfinished at the month's end and finished only after it (no worker's kill explains it)`,
			);
	if (
		observed.memory &&
		observed.memory.bytes >
			MEMORY_BOUND.perNotification * observed.memory.notifications + MEMORY_BOUND.fixed
	)
		say(
			`the trigger's memory takes ${observed.memory.bytes} bytes for ${observed.memory.notifications} notifications, more than the README's ${MEMORY_BOUND.perNotification} bytes a notification and ${MEMORY_BOUND.fixed} more`,
		);
	for (const [workflow, n] of Object.entries(observed.unfinished))
		if (n > 0)
			say(
				`${n} ${n === 1 ? 'execution' : 'executions'} of ${workflow} never finished${runsOf(observed, workflow)}`,
			);
	return {
		problems,
		figures: {
			receipts,
			missingReceipts: missing,
			flaggedTwice,
			killedTwice,
			stranded: observed.recovered.length,
			unfinished: Object.values(observed.unfinished).reduce((a, b) => a + b, 0),
			unflaggedTwice,
			refunds,
			refundEmails,
			overRefunds,
			reconciledDays: observed.books.size,
			unexplainedMismatches: unexplained,
			expectedMismatches: expectedCount,
		},
	};
}

/** The trading day (1-based) each partial PromptPay portal refund lands in, for `expectedMismatches`. */
export function markExpectedMismatches(
	plan: MonthPlan,
	expected: Expected,
	dayName: (day: number) => string,
): void {
	for (const order of expected.paid) {
		if (
			order.after.kind !== 'portal' ||
			order.channel !== 'promptpay' ||
			order.after.fee >= order.fee
		)
			continue;
		const day = dayName(aftercareDay(order, plan.days)!);
		expected.expectedMismatches.set(day, [
			...(expected.expectedMismatches.get(day) ?? []),
			'PromptPay',
		]);
	}
}

function runsOf(observed: Observed, workflow: string): string {
	const runs = (observed.unfinishedRuns ?? []).filter((r) => r.startsWith(`${workflow} `));
	return runs.length ? `: ${runs.join('; ')}` : '';
}

/** When a run was stored or began, against the nearest fault: what a failure message needs to say which fault left it. */
export function whenAgainstFaults(
	startedAt: string,
	faults: ReadonlyArray<{ day: number; kind: string; from: Date; to: Date }>,
): string {
	const at = Date.parse(startedAt);
	if (Number.isNaN(at)) return 'at an unknown time';
	const nearest = [...faults].sort(
		(a, b) => distance(at, a.from, a.to) - distance(at, b.from, b.to),
	)[0];
	const clock = new Date(at).toISOString().slice(11, 23);
	if (!nearest) return `at ${clock}, no fault that month`;
	const offset = (at - nearest.from.getTime()) / 1000;
	return `at ${clock}, ${offset.toFixed(1)} s from the start of day ${nearest.day}'s ${nearest.kind} (${(
		(nearest.to.getTime() - nearest.from.getTime()) /
		1000
	).toFixed(1)} s long)`;
}

function distance(at: number, from: Date, to: Date): number {
	if (at < from.getTime()) return from.getTime() - at;
	if (at > to.getTime()) return at - to.getTime();
	return 0;
}
