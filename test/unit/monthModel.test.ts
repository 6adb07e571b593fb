import {
	baht,
	checkMonth,
	expectations,
	markExpectedMismatches,
	type Observed,
	whenAgainstFaults,
} from '../month/model';
import { payDay, planMonth } from '../month/plan';

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
	};
	return { expected, observed };
}

const check = (month: ReturnType<typeof perfectMonth>) =>
	checkMonth(plan, month.expected, month.observed, dayName);
const aPaidOrder = (month: ReturnType<typeof perfectMonth>) => month.expected.paid[3];

describe("the month's check against the ledger", () => {
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
			'1 executions of watch never finished',
		]);
	});

	it("allows the runs n8n's queue recovery found stranded by a fault that strands runs, and only near one", () => {
		const month = perfectMonth();
		const from = new Date('2026-12-05T10:00:00.000Z');
		month.observed.faultsHit = [
			{ day: 2, kind: 'postgresStopped', caught: 3, from, to: new Date(from.getTime() + 10_000) },
			{
				day: 3,
				kind: 'workerKilled',
				caught: 1,
				from: new Date(from.getTime() + 600_000),
				to: new Date(from.getTime() + 603_000),
			},
		];
		month.observed.recovered = [
			{ workflow: 'record', run: 'record #40 running', at: from.getTime() + 19_000 },
			{ workflow: 'watch', run: 'watch #41 new', at: from.getTime() - 9_000 },
		];
		const within = check(month);
		expect(within.problems).toEqual([]);
		expect(within.figures.stranded).toBe(2);
		// A worker's kill does not strand a run (its job is run again or failed), and 10 s is the reach.
		month.observed.recovered = [
			{ workflow: 'record', run: 'record #50 running', at: from.getTime() + 601_000 },
			{ workflow: 'record', run: 'record #51 new', at: from.getTime() + 20_001 },
		];
		expect(check(month).problems).toEqual([
			"n8n's queue recovery found record #50 running, which no fault that strands runs explains (the webhook process killed, Redis restarted, PostgreSQL stopped, within 10 s)",
			"n8n's queue recovery found record #51 new, which no fault that strands runs explains (the webhook process killed, Redis restarted, PostgreSQL stopped, within 10 s)",
		]);
	});

	it('fails any run still unfinished after the recovery, whatever fault was near', () => {
		const month = perfectMonth();
		month.observed.unfinished.record = 2;
		month.observed.unfinished.books = 1;
		expect(check(month).problems).toEqual([
			'2 executions of record never finished',
			'1 executions of books never finished',
		]);
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
		month.observed.unfinishedRuns = [
			`record #812 running ${whenAgainstFaults('2026-12-05T10:01:04.500Z', faults)}`,
			`watch #9 new ${whenAgainstFaults('null', faults)}`,
		];
		expect(month.observed.unfinishedRuns[1]).toBe('watch #9 new at an unknown time');
		expect(check(month).problems).toEqual([
			"1 executions of record never finished: record #812 running at 10:01:04.500, 4.5 s from the start of day 3's workerKilled (3.0 s long)",
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
