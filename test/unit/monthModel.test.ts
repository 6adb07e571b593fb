import {
	baht,
	checkMonth,
	expectations,
	markExpectedMismatches,
	MEMORY_BOUND,
	type Observed,
	whenAgainstFaults,
} from '../month/model';
import { payDay, planMonth, type FaultKind } from '../month/plan';

/**
 * The month's oracle (test/month/model.ts): it must pass what the plan allows and catch what it does not. A
 * month where n8n did exactly what the plan asked is built here; each test then changes one thing.
 */
const plan = planMonth({ seed: 11, days: 4, ordersPerDay: 25, mode: 'queue' });
const dayName = (day: number) => `2026-12-${String(5 + day).padStart(2, '0')}`;

function perfectMonth() {
	const expected = expectations(plan);
	markExpectedMismatches(plan, expected, dayName);
	const ksher: Observed['ksher'] = new Map();
	for (const o of plan.orders) ksher.set(o.no, undefined);
	const mails: Observed['mails'] = [];
	const ordersTable: Observed['ordersTable'] = [];
	const refundsTable: Observed['refundsTable'] = [];
	for (const o of expected.paid) {
		const refunds = (expected.refunds.get(o.no) ?? []).map((r) => r.fee);
		ksher.set(o.no, {
			state: refunds.length ? 'REFUND' : 'SUCCESS',
			channel: o.channel,
			paidDay: dayName(payDay(o)!),
			refunds,
		});
		mails.push({ subject: `Receipt for order ${o.no}`, to: [o.email] });
		ordersTable.push({
			orderNumber: o.no,
			amount: baht(o.fee),
			channel: o.channel,
			paidAt: `${dayName(payDay(o)!)}T10:00:00`,
		});
		for (const r of expected.refunds.get(o.no) ?? []) {
			if (r.emailed) mails.push({ subject: `Refund for order ${o.no}`, to: [o.email] });
			if (r.recorded) refundsTable.push({ orderNumber: o.no, refundAmount: baht(r.fee) });
		}
	}
	const books = new Map<string, string[]>();
	for (let day = 1; day <= plan.days; day++)
		books.set(
			dayName(day),
			(expected.expectedMismatches.get(dayName(day)) ?? []).map((c) => `${c}: 1.00 apart`),
		);
	const observed: Observed = {
		ksher,
		mails,
		flagged: new Map(),
		caughtByKill: new Set(),
		faultsHit: plan.faults
			.filter((f) => f.kind !== 'ksherUnreachable' && f.kind !== 'typoInQueue')
			.map((f) => ({ day: f.day, kind: f.kind, caught: 1, from: new Date(), to: new Date() })),
		ordersTable,
		refundsTable,
		queueTable: expected.queueRows.map((r) => ({
			orderNumber: r.orderNumber,
			amount: r.amount,
			status: r.status,
		})),
		books,
		morning: new Map(),
		unfinished: { record: 0, watch: 0, queue: 0, books: 0 },
		recovered: [],
		memory: { bytes: 31 * expected.paid.length + 40, notifications: expected.paid.length },
	};
	return { expected, observed };
}

const check = (month: ReturnType<typeof perfectMonth>) =>
	checkMonth(plan, month.expected, month.observed, dayName);
const aPaidOrder = (month: ReturnType<typeof perfectMonth>) => month.expected.paid[3];

describe("the month's check against the ledger", () => {
	it("finds a trigger memory larger than the README's size for the notifications it was sent", () => {
		const month = perfectMonth();
		const n = month.observed.memory!.notifications;
		month.observed.memory!.bytes = MEMORY_BOUND.perNotification * n + MEMORY_BOUND.fixed;
		expect(check(month).problems).toEqual([]);
		month.observed.memory!.bytes += 1;
		expect(check(month).problems).toEqual([
			`the trigger's memory takes ${month.observed.memory!.bytes} bytes for ${n} notifications, more than the README's 32 bytes a notification and 256 more`,
		]);
	});

	it('passes a month where n8n did what the plan asked, its expected PromptPay mismatch listed as expected', () => {
		const verdict = check(perfectMonth());
		expect(verdict.problems).toEqual([]);
		expect(verdict.figures.expectedMismatches).toBe(1);
		expect(plan.faults.map((f) => f.kind).sort()).toEqual([
			'ksherUnreachable',
			'n8nKilled',
			'postgresStopped',
			'redisRestarted',
			'typoInQueue',
			'workerKilled',
		]);
	});

	it('fails a second receipt that is neither flagged nor of a delivery a kill caught', () => {
		const month = perfectMonth();
		const order = aPaidOrder(month);
		month.observed.mails.push({ subject: `Receipt for order ${order.no}`, to: [order.email] });
		const verdict = check(month);
		expect(verdict.figures.unflaggedTwice).toBe(1);
		expect(verdict.problems).toEqual([`${order.no}: 2 receipts, 0 flagged`]);
	});

	it('allows a second receipt when its run was flagged possibleDuplicate', () => {
		const month = perfectMonth();
		const order = aPaidOrder(month);
		month.observed.mails.push({ subject: `Receipt for order ${order.no}`, to: [order.email] });
		month.observed.flagged.set(order.no, 1);
		const verdict = check(month);
		expect(verdict.problems).toEqual([]);
		expect(verdict.figures.flaggedTwice).toBe(1);
	});

	it("allows one unflagged second receipt of a delivery a kill of the receiving process caught (the README's bound), never two", () => {
		const month = perfectMonth();
		const order = aPaidOrder(month);
		month.observed.caughtByKill.add(order.no);
		month.observed.mails.push({ subject: `Receipt for order ${order.no}`, to: [order.email] });
		const once = check(month);
		expect(once.problems).toEqual([]);
		expect(once.figures.killedTwice).toBe(1);
		month.observed.mails.push({ subject: `Receipt for order ${order.no}`, to: [order.email] });
		expect(check(month).problems).toEqual([`${order.no}: 3 receipts, 0 flagged`]);
	});

	it('fails a missing receipt, and a receipt for an order nobody paid', () => {
		const month = perfectMonth();
		const order = aPaidOrder(month);
		month.observed.mails = month.observed.mails.filter(
			(m) => m.subject !== `Receipt for order ${order.no}`,
		);
		const unpaid = month.expected.unpaid[0];
		month.observed.mails.push({ subject: `Receipt for order ${unpaid.no}`, to: [unpaid.email] });
		const verdict = check(month);
		expect(verdict.figures.missingReceipts).toBe(1);
		expect(verdict.problems).toEqual(
			expect.arrayContaining([
				`${order.no}: paid, no receipt`,
				`${unpaid.no}: never paid, got a receipt`,
			]),
		);
	});

	it('fails a refund Ksher holds that nobody asked for, by one satang', () => {
		const month = perfectMonth();
		const order = aPaidOrder(month);
		const k = month.observed.ksher.get(order.no)!;
		k.refunds = [...k.refunds, 1];
		const verdict = check(month);
		expect(verdict.figures.overRefunds).toBe(1);
		expect(verdict.problems[0]).toMatch(new RegExp(`^${order.no}: Ksher refunded`));
	});

	it('fails a mismatch in the books the plan does not explain, and an execution left running', () => {
		const month = perfectMonth();
		month.observed.books.set(dayName(2), ['TrueMoney: Ksher 10.00, the books 0.00']);
		month.observed.unfinished.watch = 1;
		const verdict = check(month);
		expect(verdict.figures.unexplainedMismatches).toBe(1);
		expect(verdict.problems).toEqual([
			`books ${dayName(2)}: TrueMoney: Ksher 10.00, the books 0.00`,
			'1 execution of watch never finished',
		]);
	});

	describe("the runs n8n's queue recovery marked crashed", () => {
		const t0 = Date.parse('2026-12-05T10:00:00.000Z');
		const fault = (kind: FaultKind, at: number, long: number, caught = 1) => ({
			day: 2,
			kind,
			caught,
			from: new Date(t0 + at),
			to: new Date(t0 + at + long),
		});
		const run = (workflow: string, status: string, at: number, id = 1) => ({
			workflow,
			status,
			run: `${workflow} #${id} ${status}`,
			at: t0 + at,
		});
		const problemsWith = (
			faults: Observed['faultsHit'],
			recovered: Observed['recovered'],
			finishedLate: Observed['recovered'] = [],
		) => {
			const month = perfectMonth();
			Object.assign(month.observed, { faultsHit: faults, recovered, finishedLate });
			return check(month);
		};
		const unexplained = (r: { run: string }) =>
			`n8n's queue recovery found ${r.run}, which no fault explains (a webhook process's kill leaves runs "new" stored up to its kill, a worker's kill "new" or "running" ones when Redis restarts within 90 s, a Redis restart "new" ones, a PostgreSQL stop "new" or "running" ones, within 10 s; a record run each per notification on its way during the fault)`;

		it('allows what each fault leaves: the kill a "new" run stored before it, Redis a "new" one, PostgreSQL "new" or "running"', () => {
			const verdict = problemsWith(
				[
					fault('n8nKilled', 0, 7_000),
					fault('redisRestarted', 100_000, 3_000),
					fault('postgresStopped', 200_000, 10_000, 2),
				],
				[
					run('record', 'new', -9_000, 1),
					run('record', 'new', 102_000, 2),
					run('record', 'running', 219_000, 3),
					run('record', 'new', 195_000, 4),
					run('watch', 'running', 205_000, 5),
				],
			);
			expect(verdict.problems).toEqual([]);
			expect(verdict.figures.stranded).toBe(5);
		});

		it('fails a status the fault cannot leave, a run outside its window, a worker kill, and an unknown time', () => {
			const faults = [
				fault('n8nKilled', 0, 7_000),
				fault('workerKilled', 8_000, 3_000),
				fault('redisRestarted', 200_000, 3_000),
			];
			const bad = [
				// The webhook process does not run executions: a "running" one is not its kill's.
				run('record', 'running', -1_000, 1),
				// Stored after the kill (the restarted process's backlog): the kill did not leave it.
				run('record', 'new', 5_000, 2),
				// A worker's kill strands nothing unless Redis restarts before the queue takes its job up again (here 192 s
				// later), and n8nKilled is 8 s before it, only for "new" up to its kill.
				run('record', 'running', 9_000, 3),
				run('record', 'running', 201_000, 4),
				{ workflow: 'record', status: 'new', run: 'record #5 new at an unknown time', at: NaN },
			];
			expect(problemsWith(faults, bad).problems).toEqual(bad.map(unexplained));
		});

		it("allows a worker's kill a run it had taken only when Redis restarted before the queue took the job up again", () => {
			const taken = [run('record', 'new', 100, 44), run('record', 'running', -2_000, 45)];
			// CI's queue month of 2026-12-05: the worker killed on day 2, Redis restarted 45 s later.
			expect(
				problemsWith(
					[fault('workerKilled', 0, 11_000, 9), fault('redisRestarted', 45_000, 3_000, 1)],
					taken,
				).problems,
			).toEqual([]);
			// Redis restarted later than the stalled-job check (90 s after the worker was back), or not at all.
			expect(
				problemsWith(
					[fault('workerKilled', 0, 11_000, 9), fault('redisRestarted', 102_000, 3_000, 1)],
					taken,
				).problems,
			).toEqual(taken.map(unexplained));
			expect(problemsWith([fault('workerKilled', 0, 11_000, 9)], taken).problems).toEqual(
				taken.map(unexplained),
			);
		});

		it('explains no more record runs than there were notifications on their way during the fault', () => {
			const runs = [run('record', 'new', 1_000, 1), run('record', 'new', 2_000, 2)];
			expect(problemsWith([fault('postgresStopped', 0, 10_000, 1)], runs).problems).toEqual([
				unexplained(runs[1]),
			]);
			expect(problemsWith([fault('postgresStopped', 0, 10_000, 2)], runs).problems).toEqual([]);
			// One on its way when it began, a second one during it.
			expect(
				problemsWith([{ ...fault('postgresStopped', 0, 10_000, 1), during: 2 }], runs).problems,
			).toEqual([]);
		});

		it("fails a run that was unfinished at the month's end and finished after it, but for a worker's stalled job", () => {
			const late = [run('record', 'running', 9_000, 7), run('books', 'running', 50_000, 8)];
			expect(problemsWith([fault('workerKilled', 8_000, 3_000)], [], late).problems).toEqual([
				"books #8 running was still unfinished at the month's end and finished only after it (no worker's kill explains it)",
			]);
		});
	});

	it('fails any run still unfinished after the recovery, whatever fault was near', () => {
		const month = perfectMonth();
		month.observed.unfinished.record = 2;
		month.observed.unfinished.books = 1;
		const verdict = check(month);
		expect(verdict.problems).toEqual([
			'2 executions of record never finished',
			'1 execution of books never finished',
		]);
		expect(verdict.figures.unfinished).toBe(3);
	});

	it('names each run left unfinished and the fault nearest its start, so a failed CI run says what to look at', () => {
		const month = perfectMonth();
		const from = new Date('2026-12-05T10:00:00.000Z');
		const faults = [
			{
				day: 2,
				kind: 'redisRestarted' as const,
				caught: 1,
				from,
				to: new Date(from.getTime() + 3_000),
			},
			{
				day: 3,
				kind: 'workerKilled' as const,
				caught: 1,
				from: new Date(from.getTime() + 60_000),
				to: new Date(from.getTime() + 63_000),
			},
		];
		month.observed.unfinished.record = 1;
		month.observed.unfinished.watch = 1;
		month.observed.unfinishedRuns = [
			`record #812 running ${whenAgainstFaults('2026-12-05T10:01:04.500Z', faults)}`,
			`watch #9 new ${whenAgainstFaults('null', faults)}`,
		];
		expect(month.observed.unfinishedRuns[1]).toBe('watch #9 new at an unknown time');
		expect(check(month).problems).toEqual([
			"1 execution of record never finished: record #812 running at 10:01:04.500, 4.5 s from the start of day 3's workerKilled (3.0 s long)",
			'1 execution of watch never finished: watch #9 new at an unknown time',
		]);
		expect(whenAgainstFaults('2026-12-05T09:59:59.000Z', faults)).toBe(
			"at 09:59:59.000, -1.0 s from the start of day 2's redisRestarted (3.0 s long)",
		);
		expect(whenAgainstFaults('2026-12-05T10:00:01.000Z', [])).toBe(
			'at 10:00:01.000, no fault that month',
		);
	});

	it('fails a fault that hit while no notification was on its way: it tested nothing', () => {
		const month = perfectMonth();
		month.observed.faultsHit[1].caught = 0;
		const { day, kind } = month.observed.faultsHit[1];
		expect(check(month).problems).toEqual([
			`day ${day}: the fault "${kind}" hit no notification on its way (it tested nothing)`,
		]);
	});

	it('fails a Data Table row that differs from Ksher', () => {
		const month = perfectMonth();
		const row = month.observed.ordersTable[5];
		row.amount = '0.01';
		expect(check(month).problems).toEqual([
			expect.stringMatching(
				new RegExp(`^Ksher orders: ${String(row.orderNumber)} recorded as 0.01`),
			),
		]);
	});
});
