import fc from 'fast-check';
import type { IDataObject } from 'n8n-workflow';

import { exampleRun } from '../helpers/exampleRun';
import { startHarness, type SimulatorHarness } from '../helpers/simulator';
import sheetExample from '../../examples/refund-from-spreadsheet.json';

/**
 * The refund sheet example (#31: a sheet is refunded only after its own preview was approved),
 * model-based: generated sheets (good rows, blank and unreadable amounts, too much, unknown and
 * unpaid orders, a row twice), a manager who approves or declines, a refund made at Ksher's portal
 * while the approval waits, and the sheet run again. Our nodes run with the example's own parameters
 * against the simulator over HTTP; the example's own routing (IF, Set, Stop and Error) is evaluated
 * on what they really output, with n8n's `$('Node').all()` / `.item`. Checked against a small model:
 * money moves only after an approval, only when every row passed, exactly the previewed amounts
 * (the total the manager read), never twice, never beyond what was paid.
 */
let h: SimulatorHarness;
beforeAll(async () => {
	h = await startHarness();
});
afterAll(() => h.sim.close());
const { node, evaluate, ifTrue, setFields, runNode } = exampleRun(sheetExample, () => h);

const refunded = (orderNo: string) =>
	(h.sim.order(orderNo)?.refunds ?? []).reduce((t, r) => t + r.refund_fee, 0);

/** A sheet row: the order it names (by index into the orders), and what its amount cell holds. */
type Cell =
	| { kind: 'amount'; minor: number }
	| { kind: 'blank' }
	| { kind: 'unreadable'; text: string }
	| { kind: 'tooMuch' };
const rowArb = fc.record({
	order: fc.nat({ max: 4 }),
	cell: fc.oneof(
		{
			weight: 20,
			arbitrary: fc.record({
				kind: fc.constant('amount' as const),
				minor: fc.integer({ min: 1, max: 3000 }),
			}),
		},
		{ weight: 1, arbitrary: fc.constant({ kind: 'blank' as const }) },
		{
			weight: 1,
			arbitrary: fc.record({
				kind: fc.constant('unreadable' as const),
				text: fc.constantFrom('12,50', '฿20', '1.005', 'ten', '-5'),
			}),
		},
		{ weight: 1, arbitrary: fc.constant({ kind: 'tooMuch' as const }) },
	) as fc.Arbitrary<Cell>,
});
const scenarioArb = fc.record({
	/** Each order: paid (and how much), or never paid, or unknown to Ksher. */
	orders: fc.array(
		fc.oneof(
			{
				weight: 30,
				arbitrary: fc.record({
					kind: fc.constant('paid' as const),
					minor: fc.integer({ min: 3000, max: 20000 }),
				}),
			},
			{ weight: 1, arbitrary: fc.constant({ kind: 'unpaid' as const, minor: 0 }) },
			{ weight: 1, arbitrary: fc.constant({ kind: 'unknown' as const, minor: 0 }) },
		),
		{ minLength: 5, maxLength: 5 },
	),
	rows: fc.array(rowArb, { minLength: 1, maxLength: 4 }),
	/** Row 1 repeated as the sheet's last row (a row pasted twice). */
	pastedTwice: fc.boolean(),
	approved: fc.boolean(),
	/** A refund of order 0 made at Ksher's portal while the approval waits: none, 1.00, or all that remains. */
	portal: fc.constantFrom('none', 'none', 'some', 'rest'),
});

const fmt = (minor: number) => `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, '0')}`;

test('a refund sheet moves money only after its preview was approved, exactly what the manager read, once', async () => {
	let seed = 0;
	// What the generated runs reached: each path must be taken, or the property proves nothing there.
	const reached = { refused: 0, declined: 0, refunded: 0, changedSinceThePreview: 0, twice: 0 };
	await fc.assert(
		fc.asyncProperty(scenarioArb, async (scenario) => {
			seed++;
			const orderNos: string[] = [];
			for (const [i, o] of scenario.orders.entries()) {
				if (o.kind === 'unknown') {
					orderNos.push(`NOPE-${seed}-${i}`);
					continue;
				}
				const { orderNo } = await h.createOrder({ total_fee: o.minor || 10000 });
				if (o.kind === 'paid') await h.payOrder(orderNo, 'truemoney');
				orderNos.push(orderNo);
			}
			const rows = [...scenario.rows, ...(scenario.pastedTwice ? [scenario.rows[0]] : [])];
			const sheet: IDataObject[] = rows.map(({ order, cell }) => {
				const amount =
					cell.kind === 'amount'
						? fmt(cell.minor)
						: cell.kind === 'tooMuch'
							? fmt((scenario.orders[order].minor || 10000) + 1)
							: cell.kind === 'unreadable'
								? cell.text
								: undefined;
				// n8n's CSV step leaves a blank cell out of the row.
				return {
					orderNumber: orderNos[order],
					...(amount === undefined ? {} : { amount }),
					reason: 'x',
				};
			});
			const before = orderNos.map(refunded);

			// The model: the sheet passes only if every row names a paid order with a readable amount, and each
			// order's distinct amounts (a row twice is one refund) fit in what was paid.
			const distinct = new Map<string, number>();
			let passes = true;
			for (const { order, cell } of rows) {
				const o = scenario.orders[order];
				if (o.kind !== 'paid' || cell.kind !== 'amount') passes = false;
				else distinct.set(`${order}:${cell.minor}`, cell.minor);
			}
			const perOrder = new Map<number, number>();
			for (const [key, minor] of distinct) {
				const order = Number(key.split(':')[0]);
				perOrder.set(order, (perOrder.get(order) ?? 0) + minor);
			}
			for (const [order, minor] of perOrder)
				if (minor > scenario.orders[order].minor) passes = false;

			// The run: preview, then the example's routing.
			const outputs: Record<string, IDataObject[]> = { Rows: sheet };
			outputs['Check Refunds'] = await runNode('Check Refunds', sheet);
			expect(orderNos.map(refunded)).toEqual(before);
			const refused = ifTrue('Rows Refused?', outputs);
			expect(refused).toBe(!passes);
			if (refused) {
				const message = String(
					evaluate(String(node('Sheet Has Problems').parameters.errorMessage), {}, outputs),
				);
				const failed = outputs['Check Refunds'].filter((i) => i.error).length;
				expect(message).toContain(
					`${failed} of ${sheet.length} ${sheet.length === 1 ? 'row' : 'rows'} of refunds.csv cannot be refunded`,
				);
				expect(message).not.toMatch(/undefined|null|NaN/);
				reached.refused++;
				return;
			}
			expect(ifTrue('Anything to Refund?', outputs)).toBe(true);
			const summary = setFields('Summary', outputs);
			const expectedTotal = [...distinct.values()].reduce((t, m) => t + m, 0);
			expect(summary).toMatchObject({ count: distinct.size, total: `${fmt(expectedTotal)} THB` });
			expect(String(summary.lines)).not.toMatch(/undefined|null|NaN/);
			// One line per row: what it moves, or why it moves nothing (a row pasted twice: the same refund).
			const lines = String(summary.lines).split('\n');
			expect(lines).toHaveLength(sheet.length);
			if (scenario.pastedTwice)
				expect(lines.at(-1)).toMatch(/^Row \d+: order \S+, the same refund as row 1 /);

			if (scenario.portal !== 'none' && scenario.orders[0].kind === 'paid') {
				const room = scenario.orders[0].minor - refunded(orderNos[0]);
				const portal = scenario.portal === 'some' ? Math.min(100, room) : room;
				if (portal > 0)
					await h.control('/refund', { mch_order_no: orderNos[0], refund_fee: portal });
			}
			const afterPortal = orderNos.map(refunded);
			if (!scenario.approved) {
				expect(ifTrue('Approved?', outputs, { data: { approved: false } })).toBe(false);
				expect(orderNos.map(refunded)).toEqual(afterPortal);
				reached.declined++;
				return;
			}
			expect(ifTrue('Approved?', outputs, { data: { approved: true } })).toBe(true);
			const approvedRows = setFields('Previewed Rows', outputs).rows as IDataObject[];
			expect(approvedRows).toEqual(sheet);
			outputs.Refund = await runNode('Refund', approvedRows);
			const moved = orderNos.map((o, i) => refunded(o) - afterPortal[i]);
			const total = moved.reduce((t, m) => t + m, 0);
			// Exactly what the manager read, or (something changed since the preview) nothing at all.
			expect([0, expectedTotal]).toContain(total);
			if (total === 0) {
				expect(ifTrue('Rows Not Refunded?', outputs)).toBe(true);
				reached.changedSinceThePreview++;
			} else {
				reached.refunded++;
				if (scenario.pastedTwice) reached.twice++;
				expect(ifTrue('Rows Not Refunded?', outputs)).toBe(false);
				for (const [order, minor] of perOrder) expect(moved[order]).toBe(minor);
			}
			for (const [i, o] of scenario.orders.entries())
				if (o.kind === 'paid') expect(refunded(orderNos[i])).toBeLessThanOrEqual(o.minor);
			// Every refund made is recorded; nothing the run did not make.
			const recorded = outputs.Refund.filter((item) => ifTrue('Refunds Made', outputs, item));
			// (A row pasted twice passes as well, with the same refund number: one row in the table.)
			expect(new Set(recorded.map((item) => item.refundNumber)).size).toBe(
				total === 0 ? 0 : distinct.size,
			);

			// The sheet run again: nothing more to refund, nobody asked, no money.
			const again: Record<string, IDataObject[]> = { Rows: sheet };
			again['Check Refunds'] = await runNode('Check Refunds', sheet);
			if (total > 0) {
				expect(ifTrue('Rows Refused?', again)).toBe(false);
				expect(ifTrue('Anything to Refund?', again)).toBe(false);
			}
			expect(orderNos.map(refunded)).toEqual(orderNos.map((o, i) => afterPortal[i] + moved[i]));
		}),
		{ numRuns: 80, seed: 20261203 },
	);
	expect(reached).toEqual(
		Object.fromEntries(Object.entries(reached).map(([k, n]) => [k, n > 0 ? n : 'never'])),
	);
}, 120_000);
