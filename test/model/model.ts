import type { IDataObject } from 'n8n-workflow';

import type { CaseObservation, RunObservation, SeenRequest } from './runner';
import {
	DECIMALS,
	derivedRefundNumber,
	major,
	UNLISTED,
	type CaseInput,
	type Currency,
	type Scenario,
	type WorldOrder,
} from './scenario';

/**
 * The reference model of the refund path: what MAY happen to a case (a world, a sheet, options,
 * 1–3 runs with faults), checked against what did happen: Ksher's state at the simulator and the
 * node's output. Each property is named as in issue #30 item 3 (P1 … P8), with a part after the
 * dot (P6.held: a row reported refunded whose refund Ksher does not hold). The model never asks
 * the node what it did; it reads Ksher's refunds and the calls that reached Ksher.
 *
 * Some violations also carry a tag saying which known shape they have, so that a run can look past
 * one (REFUND_MODEL_SKIP) while it is being fixed: `unlistedDone` (a PromptPay/Alipay payment Ksher
 * shows fully refunded: any row reported done), `lostAnswerRecovery` (a refund call's answer was lost
 * and the refund then listed under its number is reported as this row's, new), `previewIgnoresCheckFirst`
 * (a preview's "already refunded" where Check All Rows First then refunds nothing and errs every
 * row), `afterFailedWouldTry` (a preview that counted an earlier "would try" row as done),
 * `earlierRowFailed` (a refund number two rows give for different amounts, the first of which
 * failed), `n8nMessage` (n8n replaced the node's "may have happened" message with its own).
 */

export interface Violation {
	rule: string;
	text: string;
	/** What the violation comes from, when it is one known shape (for REFUND_MODEL_SKIP when exploring past it). */
	tag?: string;
}

/** How often each property had something to judge (summed over all cases, printed with the summary). */
export const coverage: Record<string, number> = {};
const count = (what: string, n = 1) => {
	coverage[what] = (coverage[what] ?? 0) + n;
};

type Ask =
	| { kind: 'fixed'; minor: number }
	| { kind: 'remaining' }
	| { kind: 'invalid'; why: string };

/** A row as the model reads it: its order, what it asks, and the refund number it must use. */
export interface ModelRow {
	index: number;
	order: WorldOrder;
	ask: Ask;
	given?: string;
	/** The given number, or the derived one; undefined when the amount is unreadable and no number is given. */
	number?: string;
}

type Refund = { no: string; fee: number };

/**
 * A Refund Amount as the rules read it: a positive decimal with no more decimals than the
 * currency has; anything else (empty, missing, null, blank, zero, negative, "1,000", "1e2",
 * "5.001", "abc", true) is unreadable and moves no money.
 */
export function readAmount(value: unknown, currency: Currency): Ask {
	let text: string;
	if (typeof value === 'number') {
		if (!Number.isFinite(value)) return { kind: 'invalid', why: 'not finite' };
		text = String(value);
	} else if (typeof value === 'string') text = value.trim();
	else
		return {
			kind: 'invalid',
			why: value === undefined ? 'missing' : value === null ? 'null' : typeof value,
		};
	const m = /^(\d+)(?:\.(\d+))?$/.exec(text);
	if (!m) return { kind: 'invalid', why: `"${text}"` };
	const fraction = (m[2] ?? '').replace(/0+$/, '');
	if (fraction.length > DECIMALS[currency])
		return { kind: 'invalid', why: `"${text}" has too many decimals for ${currency}` };
	const minor = Number(BigInt(m[1] + fraction.padEnd(DECIMALS[currency], '0')));
	return minor > 0 ? { kind: 'fixed', minor } : { kind: 'invalid', why: 'zero' };
}

export function modelRows(input: CaseInput): ModelRow[] {
	const v1 = input.typeVersion === 1;
	const v1Empty = v1 && input.parameters.amount === '';
	const remaining = !v1 && input.parameters.whatToRefund === 'remaining';
	return input.items.map((item, index) => {
		const order = input.orders.find((o) => o.no === item.orderNumber)!;
		const ask: Ask =
			v1Empty || remaining ? { kind: 'remaining' } : readAmount(item.amount, order.currency);
		const given = String(item.ref ?? '').trim() || undefined;
		const number =
			given ??
			(ask.kind === 'fixed'
				? derivedRefundNumber(order.no, ask.minor, order.qr)
				: ask.kind === 'remaining'
					? derivedRefundNumber(order.no, 'all', order.qr)
					: undefined);
		return { index, order, ask, given, number };
	});
}

const sum = (refunds: Refund[]) => refunds.reduce((s, r) => s + r.fee, 0);
const minorOf = (text: unknown, currency: Currency): number | undefined => {
	const a = readAmount(text, currency);
	return a.kind === 'fixed' ? a.minor : text === '0' || text === '0.00' ? 0 : undefined;
};
const isError = (item: IDataObject | undefined) => item !== undefined && 'error' in item;
const saysMayHaveHappened = (text: unknown, item?: IDataObject) =>
	/may have happened|may or may not have/i.test(String(text ?? '')) ||
	item?.mayHaveSucceeded === true;

/** Which order a refund call or refund lookup names (by pay_mch_order_no or ksher_order_no), or a gateway lookup. */
function orderOfRequest(
	r: SeenRequest,
	input: CaseInput,
	obs: CaseObservation,
): WorldOrder | undefined {
	if (r.endpoint === 'gateway_order_query' || r.endpoint === 'order_query')
		return input.orders.find((o) => o.no === r.mchOrderNo);
	return input.orders.find(
		(o) =>
			obs.ids[o.no] &&
			((r.mchOrderNo && obs.ids[o.no].pay === r.mchOrderNo) ||
				(r.ksherOrderNo && obs.ids[o.no].ksher === r.ksherOrderNo)),
	);
}

/**
 * Which of a run's requests met an injected fault: the simulator applies a run's faults in the
 * order they were added, each to the next `count` requests of its endpoint.
 */
function faultedRequests(
	run: CaseInput['runs'][number],
	requests: SeenRequest[],
): Array<string | undefined> {
	const left = run.faults.map((f) => ({ ...f }));
	return requests.map((r) => {
		const fault = left.find((f) => f.endpoint === r.endpoint && f.count > 0);
		if (!fault) return undefined;
		fault.count--;
		return `${fault.type}/${fault.stage}`;
	});
}

export type Verdict =
	| { kind: 'fail'; why: string }
	| { kind: 'done' }
	| { kind: 'same'; row: number }
	| { kind: 'refund'; amount: number; unchecked: string[] };

/**
 * What the check of a whole sheet must conclude for each row (version 2 with Check All Rows First,
 * Preview Only or Stop Above Total), from Ksher's state before the run and the lookups that
 * failed: `fail` where the rules require it, `refund` with the amount and why the check cannot
 * vouch for it (`unchecked`: a PromptPay/Alipay payment, a refund number of the user's, an
 * unknown partial-refund setting). Conservative: it fails a row only where a rule says so.
 */
export function planRun(
	rows: ModelRow[],
	before: Record<string, Refund[]>,
	lookupFailed: Set<string>,
	partial: 'allowed' | 'refused' | 'unknown',
): Verdict[] {
	const numbers = new Map<string, { row: number; order: string; amount: number }>();
	const planned = new Map<string, number>();
	return rows.map((row): Verdict => {
		const o = row.order;
		if (row.ask.kind === 'invalid')
			return { kind: 'fail', why: `amount unreadable (${row.ask.why})` };
		if (o.kind !== 'paid') return { kind: 'fail', why: `order ${o.kind}` };
		if (lookupFailed.has(o.no)) return { kind: 'fail', why: 'its lookup failed' };
		const asked = row.ask.kind === 'fixed' ? row.ask.minor : undefined;
		if (asked !== undefined && asked > o.total)
			return { kind: 'fail', why: 'more than the payment' };
		const n = row.number!;
		const listed = !UNLISTED.includes(o.channel);
		const existing = before[o.no] ?? [];
		if (listed) {
			const ex = existing.find((r) => r.no === n);
			if (ex)
				return asked !== undefined && ex.fee !== asked
					? { kind: 'fail', why: `number ${n} used at Ksher for ${ex.fee}` }
					: { kind: 'done' };
		} else if (sum(existing) >= o.total) return { kind: 'done' };
		const earlier = numbers.get(n);
		if (earlier)
			return earlier.order === o.no && (asked === undefined || asked === earlier.amount)
				? { kind: 'same', row: earlier.row }
				: { kind: 'fail', why: `number ${n} is row ${earlier.row + 1}'s` };
		const plannedHere = planned.get(o.no) ?? 0;
		const left = (listed ? o.total - sum(existing) : o.total) - plannedHere;
		if (left <= 0) return { kind: 'fail', why: 'nothing remains' };
		const amount = asked ?? left;
		if (amount > left) return { kind: 'fail', why: 'more than remains' };
		const isPartial = amount !== o.total;
		if (isPartial && partial === 'refused') return { kind: 'fail', why: 'partial refunds refused' };
		const unchecked = [
			...(listed ? [] : ['unlisted']),
			...(row.given ? ['own number'] : []),
			...(isPartial && partial === 'unknown' ? ['partial unknown'] : []),
		];
		planned.set(o.no, plannedHere + amount);
		numbers.set(n, { row: row.index, order: o.no, amount });
		return { kind: 'refund', amount, unchecked };
	});
}

/** Judges one case; every violated property is listed. */
export function checkCase(scenario: Scenario, input: CaseInput, obs: CaseObservation): Violation[] {
	const violations: Violation[] = [];
	const fail = (rule: string, text: string, tag?: string) =>
		violations.push({ rule, text, ...(tag ? { tag } : {}) });
	// A row reported done because Ksher shows the payment fully refunded and cannot list its refunds.
	const unlistedNote = (item: IDataObject | undefined) =>
		/cannot list/.test(String(item?.note ?? '')) ? 'unlistedDone' : undefined;
	// A row whose refund call's answer was lost, reported from the refund Ksher then listed under its number.
	const recovered = (item: IDataObject | undefined) =>
		item?.recoveredFrom ? 'lostAnswerRecovery' : undefined;
	const unlistedDone = (item: IDataObject | undefined) => unlistedNote(item) ?? recovered(item);
	const rows = modelRows(input);
	const v2 = input.typeVersion === 2;
	const observable = (run: RunObservation) => input.continueOnFail || run.status === 'success';

	// Ksher's refunds only grow, and each run's new refunds are the ones added after the previous state.
	const states = [obs.before, ...obs.runs.map((r) => r.refunds)];
	const created: Array<Record<string, Refund[]>> = [];
	for (let k = 1; k < states.length; k++) {
		const fresh: Record<string, Refund[]> = {};
		for (const o of input.orders) {
			const was = states[k - 1][o.no] ?? [];
			const now = states[k][o.no] ?? [];
			if (now.length < was.length || was.some((r, i) => now[i].no !== r.no || now[i].fee !== r.fee))
				fail('P0.append', `Ksher's refunds of ${o.no} changed other than by additions in run ${k}`);
			fresh[o.no] = now.slice(was.length);
		}
		created.push(fresh);
		count(
			'refunds made',
			Object.values(fresh).reduce((n, list) => n + list.length, 0),
		);
		count(
			'of QR payments',
			input.orders.filter((o) => o.qr).reduce((n, o) => n + fresh[o.no].length, 0),
		);
	}
	const last = states[states.length - 1];

	// P2: one refund number once at Ksher (across the case's orders); every new refund is a row's, under the row's number.
	const seen = new Map<string, string>();
	for (const o of input.orders) {
		for (const r of last[o.no] ?? []) {
			if (seen.has(r.no))
				fail(
					'P2.twice',
					`refund number ${r.no} is at Ksher twice (orders ${seen.get(r.no)} and ${o.no})`,
				);
			seen.set(r.no, o.no);
		}
	}
	const rowsOf = (o: WorldOrder) =>
		rows.filter((r) => r.order.no === o.no && r.ask.kind !== 'invalid');
	for (const [k, fresh] of created.entries()) {
		for (const o of input.orders) {
			let before = sum(states[k][o.no] ?? []);
			for (const r of fresh[o.no]) {
				const owners = rowsOf(o).filter((row) => row.number === r.no);
				const fits = owners.filter((row) =>
					row.ask.kind === 'fixed' ? row.ask.minor === r.fee : r.fee <= o.total - before,
				);
				if (owners.length === 0)
					fail(
						'P2.owner',
						`run ${k + 1}: refund ${r.no} of ${major(r.fee, o.currency)} on ${o.no} is no row's (no readable row of that order has that number)`,
					);
				else if (fits.length === 0)
					fail(
						'P1.amount',
						`run ${k + 1}: refund ${r.no} of ${major(r.fee, o.currency)} on ${o.no} is not what its row${owners.length > 1 ? 's' : ''} asked (${owners.map((w) => `row ${w.index + 1}: ${w.ask.kind === 'fixed' ? major(w.ask.minor, o.currency) : w.ask.kind}`).join(', ')})`,
					);
				before += r.fee;
			}
		}
	}
	// P1: per order, no more than the rows asked (a refund number with an amount asks once), never more than the payment.
	for (const o of input.orders) {
		const fresh = created.flatMap((c) => c[o.no]);
		const moved = sum(fresh);
		const fixed = new Map<string, number>();
		for (const row of rowsOf(o))
			if (row.ask.kind === 'fixed') fixed.set(`${row.number}\u0000${row.ask.minor}`, row.ask.minor);
		const remainingRefunds = fresh.filter((r) =>
			rowsOf(o).some((row) => row.ask.kind === 'remaining' && row.number === r.no),
		);
		const asked = [...fixed.values()].reduce((s, a) => s + a, 0) + sum(remainingRefunds);
		if (moved > asked)
			fail(
				'P1.total',
				`order ${o.no}: the runs refunded ${major(moved, o.currency)}, the rows asked ${major(asked, o.currency)}`,
			);
		if (sum(last[o.no] ?? []) > o.total)
			fail(
				'P1.payment',
				`order ${o.no}: refunded ${major(sum(last[o.no] ?? []), o.currency)} of a ${major(o.total, o.currency)} payment`,
			);
	}

	obs.runs.forEach((run, k) => {
		const spec = input.runs[k];
		const label = `run ${k + 1}${spec.preview ? ' (preview)' : ''}`;
		const fresh = created[k];
		const freshNo = (o: WorldOrder, n: string | undefined) =>
			n !== undefined && fresh[o.no].some((r) => r.no === n);
		const faulted = faultedRequests(spec, run.requests);
		const refundCalls = run.requests
			.map((r, i) => ({ r, i, fault: faulted[i] }))
			.filter(({ r }) => r.endpoint === 'order_refund');
		const items = observable(run) ? run.items : undefined;

		// Every refund call is for a row of that order, under that row's number, for that row's amount.
		for (const { r } of refundCalls) {
			const o = orderOfRequest(r, input, obs);
			const owner =
				o &&
				rowsOf(o).find(
					(row) =>
						row.number === r.refundNo &&
						(row.ask.kind === 'fixed'
							? row.ask.minor === r.refundFee
							: (r.refundFee ?? 0) <= o.total),
				);
			if (!owner)
				fail(
					'P2.call',
					`${label}: order_refund ${r.refundNo} for ${r.refundFee} on ${o?.no ?? `an unknown order (${r.mchOrderNo ?? r.ksherOrderNo})`} is no row's refund`,
				);
		}

		count('runs');
		if (items) count('rows with output', items.length);
		count(
			'rows saying may have happened',
			items?.filter((item) => saysMayHaveHappened(item.error, item)).length ?? 0,
		);
		// P4: a preview makes no refund call.
		if (spec.preview && refundCalls.length)
			fail('P4.call', `${label} made ${refundCalls.length} order_refund call(s)`);

		// P6: the output is true to Ksher.
		if (items) {
			if (items.length !== rows.length)
				fail('P6.count', `${label}: ${items.length} output items for ${rows.length} rows`);
			items.forEach((item, i) => {
				const row = rows[i];
				if (!row) return;
				const o = row.order;
				if (spec.preview) return;
				if (isError(item)) {
					// A refund made under a number some rows share is told by one of them: refunded, or "may have happened".
					const told = rows.some(
						(x) =>
							x.order.no === o.no &&
							x.number === row.number &&
							(!isError(items[x.index]) ||
								saysMayHaveHappened(items[x.index]?.error, items[x.index])),
					);
					if (freshNo(o, row.number) && !told) {
						fail(
							'P6.mayHave',
							`${label} row ${i + 1}: an error ("${String(item.error).slice(0, 160)}"), yet Ksher now holds its refund ${row.number}; the error does not say it may have happened`,
						);
					}
					return;
				}
				// Names no refund: the payment is fully refunded and Ksher cannot list its refunds (PromptPay,
				// Alipay), so the node cannot show this row's. It claims only that nothing more can be refunded.
				if (item.refundNumber === null && item.alreadyRefunded === true) {
					const refundedAll = (run.refunds[o.no] ?? []).reduce((sum, r) => sum + r.fee, 0);
					if (refundedAll < o.total)
						fail(
							'P6.fullyRefunded',
							`${label} row ${i + 1}: names no refund as the payment is fully refunded, but Ksher holds ${major(refundedAll, o.currency)} of ${major(o.total, o.currency)}`,
						);
					return;
				}
				const n = String(item.refundNumber ?? '');
				const x = minorOf(item.refundAmount, o.currency);
				const held = (run.refunds[o.no] ?? []).find((r) => r.no === n);
				if (item.orderNumber !== o.no)
					fail(
						'P6.order',
						`${label} row ${i + 1}: reported for order ${String(item.orderNumber)}, the row's order is ${o.no}`,
					);
				if (!held)
					fail(
						'P6.held',
						`${label} row ${i + 1}: reported ${String(item.status)}${item.alreadyRefunded ? ' (alreadyRefunded)' : ''} as refund ${n} of ${String(item.refundAmount)} ${o.currency}, but Ksher holds no refund ${n} on ${o.no}${item.note ? ` [note: ${String(item.note).slice(0, 100)}]` : ''}`,
						unlistedDone(item),
					);
				// A null refundAmount claims no amount (only the refund number).
				else if (item.refundAmount !== null && held.fee !== x)
					fail(
						'P6.amount',
						`${label} row ${i + 1}: reported refund ${n} of ${String(item.refundAmount)}, Ksher holds ${major(held.fee, o.currency)}`,
						unlistedDone(item),
					);
				if (row.number !== undefined && n !== row.number)
					fail(
						'P2.number',
						`${label} row ${i + 1}: reported under refund number ${n}, the row's number is ${row.number}`,
					);
				if (row.ask.kind === 'fixed' && item.refundAmount !== null && x !== row.ask.minor)
					fail(
						'P6.asked',
						`${label} row ${i + 1}: reported ${String(item.refundAmount)} for a row asking ${major(row.ask.minor, o.currency)}`,
						unlistedDone(item),
					);
				if (item.alreadyRefunded === false && held && !freshNo(o, n))
					fail(
						'P6.new',
						`${label} row ${i + 1}: reported as a new refund (alreadyRefunded false), but ${n} was at Ksher before this run`,
						unlistedDone(item),
					);
				if (
					item.alreadyRefunded === true &&
					freshNo(o, n) &&
					!rows.some((other) => other.index !== i && other.order.no === o.no && other.number === n)
				) {
					fail(
						'P6.already',
						`${label} row ${i + 1}: reported alreadyRefunded, but ${n} was made by this run`,
					);
				}
			});
		} else if (run.error) {
			const i = run.error.itemIndex;
			const row = i === undefined ? undefined : rows[i];
			const shared =
				row &&
				rows.some(
					(x) => x.index !== row.index && x.order.no === row.order.no && x.number === row.number,
				);
			if (
				row &&
				!shared &&
				freshNo(row.order, row.number) &&
				!saysMayHaveHappened(`${run.error.message} ${run.error.description ?? ''}`)
			) {
				fail(
					'P6.mayHave',
					`${label}: the run failed at row ${row.index + 1} ("${run.error.message.slice(0, 160)}"), yet Ksher now holds its refund ${row.number}; the error does not say it may have happened`,
					/\(row \d+\)|order /.test(run.error.message) ? undefined : 'n8nMessage',
				);
			}
		}

		// P7: a refund number reused for another amount (same order: at Ksher, or an earlier readable row) is an error for that row.
		for (const row of rows) {
			if (row.ask.kind !== 'fixed' || row.number === undefined || row.order.kind !== 'paid')
				continue;
			const o = row.order;
			const asked = row.ask.minor;
			const atKsher = (states[k][o.no] ?? []).find((r) => r.no === row.number && r.fee !== asked);
			// What the number means in this sheet: its first readable use on this order.
			const first = rows.find(
				(x) =>
					x.index < row.index &&
					x.order.no === o.no &&
					x.number === row.number &&
					x.ask.kind === 'fixed' &&
					x.ask.minor <= o.total,
			);
			const earlier =
				first && first.ask.kind === 'fixed' && first.ask.minor !== asked ? first : undefined;
			if (!atKsher && !earlier) continue;
			count('P7 rows');
			const why = atKsher
				? `${row.number} is at Ksher for ${major(atKsher.fee, o.currency)}`
				: `${row.number} is also row ${earlier!.index + 1}'s`;
			const item = items?.[row.index];
			// The earlier row that gave the number its meaning did not get it (it failed): debatable, so told apart.
			const earlierFailed =
				!atKsher &&
				earlier &&
				(spec.preview
					? String(items?.[earlier.index]?.status) === 'cannot refund'
					: !(run.refunds[o.no] ?? []).some(
							(r) =>
								r.no === row.number && earlier.ask.kind === 'fixed' && r.fee === earlier.ask.minor,
						))
					? 'earlierRowFailed'
					: undefined;
			if (spec.preview) {
				const status = String(item?.status ?? '');
				// Ksher cannot list a PromptPay/Alipay payment's refunds: the check cannot see the number there.
				const unlisted = UNLISTED.includes(o.channel) && atKsher;
				if (
					item &&
					status !== 'cannot refund' &&
					!(
						unlisted &&
						(status === 'would try' || status === 'held back' || /^same refund as row/.test(status))
					)
				)
					fail(
						'P7.preview',
						`${label} row ${row.index + 1} (${major(asked, o.currency)}; ${why}): preview says "${status}"`,
						unlistedNote(item) ?? earlierFailed ?? recovered(item),
					);
			} else if (item && !isError(item))
				fail(
					'P7.output',
					`${label} row ${row.index + 1} (${major(asked, o.currency)}; ${why}): reported ${String(item.status)}${item.alreadyRefunded ? ' (alreadyRefunded)' : ''}, not an error`,
					unlistedNote(item) ?? earlierFailed ?? recovered(item),
				);
			else if (fresh[o.no].some((r) => r.no === row.number && r.fee === asked))
				fail(
					'P7.money',
					`${label} row ${row.index + 1} (${major(asked, o.currency)}; ${why}): Ksher now holds ${row.number} for this row's amount`,
					earlierFailed,
				);
		}

		if (!v2) return;
		const checked =
			spec.preview ||
			input.parameters.checkAllRowsFirst !== false ||
			input.parameters.stopAboveTotal !== undefined;
		if (!checked) return;

		// The check's view: which orders' lookups failed (a fault before the first refund call), what merchant_info said.
		const firstRefund = refundCalls.length ? refundCalls[0].i : run.requests.length;
		const lookupFailed = new Set<string>();
		let partial: 'allowed' | 'refused' | 'unknown' =
			input.partialRefunds === 'Y' ? 'allowed' : 'refused';
		let infoSeen = false;
		run.requests.slice(0, firstRefund).forEach((r, i) => {
			if (r.endpoint === 'merchant_info' && !infoSeen) {
				infoSeen = true;
				if (faulted[i]) partial = 'unknown';
			}
			if (
				faulted[i] &&
				['gateway_order_query', 'order_query', 'refund_query'].includes(r.endpoint)
			) {
				const o = orderOfRequest(r, input, obs);
				if (o) lookupFailed.add(o.no);
			}
		});
		const verdicts = planRun(rows, states[k], lookupFailed, partial);
		const failing = verdicts.map((v, i) => ({ v, i })).filter(({ v }) => v.kind === 'fail');

		// P8: Stop Above Total: the run's new money per currency within its limit; a breach moves nothing.
		const limits = (
			input.parameters.stopAboveTotal as
				| { limits: Array<{ currency: Currency; total: string }> }
				| undefined
		)?.limits;
		let breach: string | undefined;
		if (limits && !spec.preview) {
			const limit = (c: Currency) =>
				Math.min(...limits.filter((l) => l.currency === c).map((l) => minorOf(l.total, c) ?? 0));
			const plannedBy = new Map<Currency, number>();
			verdicts.forEach(
				(v, i) =>
					v.kind === 'refund' &&
					plannedBy.set(
						rows[i].order.currency,
						(plannedBy.get(rows[i].order.currency) ?? 0) + v.amount,
					),
			);
			for (const [c, total] of plannedBy)
				if (total > limit(c))
					breach = `the rows would refund ${major(total, c)}, Stop Above Total ${Number.isFinite(limit(c)) ? major(limit(c), c) : `has no ${c} limit`}`;
			count('P8 runs');
			if (breach) count('P8 breaches');
			const movedBy = new Map<Currency, number>();
			for (const o of input.orders)
				movedBy.set(o.currency, (movedBy.get(o.currency) ?? 0) + sum(fresh[o.no]));
			for (const [c, moved] of movedBy)
				if (moved > 0 && moved > (Number.isFinite(limit(c)) ? limit(c) : 0))
					fail(
						'P8.limit',
						`${label}: refunded ${major(moved, c)} ${c} in one run, Stop Above Total allows ${Number.isFinite(limit(c)) ? major(limit(c), c) : 'none'}`,
					);
			if (breach && refundCalls.length)
				fail(
					'P8.breach',
					`${label}: ${breach}, yet ${refundCalls.length} order_refund call(s) were made`,
				);
		}

		// P5: Check All Rows First: a failed row (or a breach) means no refund call; otherwise the unvouched rows go first and a failure stops sending.
		if (!spec.preview && input.parameters.checkAllRowsFirst !== false) {
			count(
				failing.length
					? 'P5 runs with a failing row'
					: refundCalls.length
						? 'P5 runs sending'
						: 'P5 runs sending nothing',
			);
			if (!failing.length && verdicts.some((v) => v.kind === 'refund' && v.unchecked.length))
				count('P5 runs with unvouched rows');
			if (failing.length && refundCalls.length) {
				fail(
					'P5.failedRow',
					`${label}: row${failing.length > 1 ? 's' : ''} ${failing.map(({ v, i }) => `${i + 1} (${(v as { why: string }).why})`).join(', ')} fail${failing.length > 1 ? '' : 's'} the check, yet ${refundCalls.length} order_refund call(s) were made (${refundCalls.map(({ r }) => r.refundNo).join(', ')})`,
				);
			} else if (!breach && refundCalls.length) {
				const rowOfCall = (r: SeenRequest) =>
					rows.find((row) => row.number === r.refundNo && verdicts[row.index].kind === 'refund');
				const unvouched = (r: SeenRequest) => {
					const row = rowOfCall(r);
					return (
						row !== undefined &&
						(verdicts[row.index] as { unchecked: string[] }).unchecked.length > 0
					);
				};
				// Unvouched rows go one at a time, so each failure is known before the next call; checked rows go
				// Concurrency at a time, so a failure there only stops what starts after it (known with Concurrency 1).
				const sequential =
					Number((input.parameters.options as { concurrency?: number }).concurrency ?? 1) === 1;
				let seenVouched = false;
				let stopped: string | undefined;
				let stoppedByUnvouched = false;
				for (const { r, fault } of refundCalls) {
					const row = rowOfCall(r);
					if (stopped) {
						fail(
							'P5.afterFailure',
							`${label}: order_refund ${r.refundNo} was sent after ${stopped} failed`,
						);
						break;
					}
					if (unvouched(r) && seenVouched)
						fail(
							'P5.order',
							`${label}: order_refund ${r.refundNo} (a row the check cannot vouch for) was sent after a checked row's refund`,
						);
					if (!unvouched(r)) seenVouched = true;
					const outputError = items && row ? isError(items[row.index]) : undefined;
					// Without the rows' output: a call that made no refund failed, unless Ksher had that refund on that order before (a re-run, reported done).
					const had = row && (states[k][row.order.no] ?? []).some((x) => x.no === r.refundNo);
					const failedHere =
						outputError ??
						(!fault && !had && !fresh[row?.order.no ?? '']?.some((x) => x.no === r.refundNo));
					if (failedHere && (unvouched(r) || sequential)) {
						stopped = `${r.refundNo}${row ? ` (row ${row.index + 1})` : ''}`;
						stoppedByUnvouched = unvouched(r);
					}
				}
				if (stopped && stoppedByUnvouched) {
					for (const o of input.orders) {
						for (const r of fresh[o.no]) {
							const row = rows.find((x) => x.order.no === o.no && x.number === r.no);
							if (
								row &&
								verdicts[row.index].kind === 'refund' &&
								!(verdicts[row.index] as { unchecked: string[] }).unchecked.length
							)
								fail(
									'P5.checkedAfterFailure',
									`${label}: sending stopped at ${stopped}, yet the checked row ${row.index + 1}'s refund ${r.no} was made`,
								);
						}
					}
				}
			}
		}

		// P4: what a preview says is what the next run does (same sheet, no faults in either run).
		const next = obs.runs[k + 1];
		const nextSpec = input.runs[k + 1];
		if (
			!spec.preview ||
			!next ||
			nextSpec.preview ||
			spec.faults.length ||
			nextSpec.faults.length ||
			!items
		)
			return;
		count('P4 preview→run pairs');
		const nextFresh = created[k + 1];
		const nextItems = observable(next) ? next.items : undefined;
		const statuses = items.map((item) => String(item.status ?? ''));
		const unsure = statuses.some((s) => s === 'cannot refund' || s === 'would try');
		// With Check All Rows First, one row that cannot be refunded keeps every row from being refunded in the next run.
		const blockedNext =
			input.parameters.checkAllRowsFirst !== false && statuses.includes('cannot refund')
				? 'previewIgnoresCheckFirst'
				: undefined;
		const wouldTryFailed = nextItems
			? statuses.some((s, i) => s === 'would try' && isError(nextItems[i]))
			: statuses.includes('would try');
		items.forEach((item, i) => {
			const row = rows[i];
			const o = row.order;
			const n = String(item.refundNumber ?? row.number ?? '');
			const x = minorOf(item.refundAmount, o.currency);
			const out = nextItems?.[i];
			const sharedNumber = rows.some(
				(other) => other.index !== i && other.order.no === o.no && other.number === n,
			);
			const madeNext = nextFresh[o.no].some((r) => r.no === n && (x === undefined || r.fee === x));
			const status = statuses[i];
			// The preview counts an earlier "would try" row as refunded; when Ksher refused it, later rows of its order may differ.
			const afterFailedWouldTry = statuses.some(
				(st, j) =>
					j < i &&
					st === 'would try' &&
					rows[j].order.no === o.no &&
					(nextItems
						? isError(nextItems[j])
						: !nextFresh[o.no].some((r) => r.no === rows[j].number)),
			)
				? 'afterFailedWouldTry'
				: undefined;
			const tag = unlistedDone(out) ?? afterFailedWouldTry;
			if (status === 'would refund') {
				if (item.wouldRefund !== true)
					fail(
						'P4.shape',
						`${label} row ${i + 1}: status "would refund" with wouldRefund ${String(item.wouldRefund)}`,
					);
				const excused = wouldTryFailed || (!nextItems && unsure);
				if (!madeNext && !sharedNumber && !excused)
					fail(
						'P4.wouldRefund',
						`${label} row ${i + 1}: preview said "would refund" ${n} of ${String(item.refundAmount)}, the next run did not refund it${out ? ` (it said: ${String(out.error ?? out.status).slice(0, 200)})` : next.error ? ` (the run failed: ${next.error.message.slice(0, 160)})` : ''}`,
						blockedNext ?? tag,
					);
				if (out && !excused && isError(out))
					fail(
						'P4.wouldRefund',
						`${label} row ${i + 1}: preview said "would refund", the next run's row is an error: ${String(out.error).slice(0, 200)}`,
						blockedNext ?? tag,
					);
			} else if (status === 'already refunded') {
				if (madeNext && !sharedNumber)
					fail(
						'P4.already',
						`${label} row ${i + 1}: preview said "already refunded", the next run refunded ${n}`,
						tag,
					);
				if (out && (isError(out) || out.alreadyRefunded !== true))
					fail(
						'P4.already',
						`${label} row ${i + 1}: preview said "already refunded", the next run said: ${String(out.error ?? `${String(out.status)} alreadyRefunded ${String(out.alreadyRefunded)}`).slice(0, 200)}`,
						blockedNext ?? unlistedDone(item) ?? tag,
					);
			} else if (status === 'cannot refund') {
				if (
					row.number &&
					nextFresh[o.no].some((r) => r.no === row.number) &&
					!rows.some(
						(other) => other.index !== i && other.order.no === o.no && other.number === row.number,
					)
				)
					fail(
						'P4.cannot',
						`${label} row ${i + 1}: preview said "cannot refund", the next run refunded ${row.number}`,
						tag,
					);
				if (out && !isError(out))
					fail(
						'P4.cannot',
						`${label} row ${i + 1}: preview said "cannot refund", the next run said ${String(out.status)}${out.alreadyRefunded ? ' (alreadyRefunded)' : ''}`,
						tag,
					);
			} else if (status === 'held back') {
				// Passed the check, but another row fails it: Check All Rows First refunds nothing.
				if (madeNext && !sharedNumber)
					fail(
						'P4.heldBack',
						`${label} row ${i + 1}: preview said "held back", the next run refunded ${n}`,
					);
				if (out && !isError(out))
					fail(
						'P4.heldBack',
						`${label} row ${i + 1}: preview said "held back", the next run said ${String(out.status)}${out.alreadyRefunded ? ' (alreadyRefunded)' : ''}`,
					);
			} else if (status === 'would try') {
				if (
					item.wouldRefund !== null ||
					typeof item.unchecked !== 'string' ||
					item.unchecked === ''
				)
					fail(
						'P4.shape',
						`${label} row ${i + 1}: status "would try" needs wouldRefund null and an unchecked text (got ${String(item.wouldRefund)}, ${JSON.stringify(item.unchecked)})`,
					);
				if (out && isError(out) && madeNext && !sharedNumber)
					fail(
						'P4.wouldTry',
						`${label} row ${i + 1}: preview said "would try", the next run's row is an error yet ${n} was refunded`,
					);
			} else if (!/^same refund as row \d+$/.test(status))
				fail('P4.shape', `${label} row ${i + 1}: unknown preview status "${status}"`);
		});
	});
	return violations;
}

// ---------------------------------------------------------------------------------------------
// A readable account of a case, for the failure message of a shrunk counterexample.

export function describeCase(
	scenario: Scenario,
	input: CaseInput,
	obs: CaseObservation | undefined,
	violations: Violation[],
): string {
	const lines: string[] = [];
	lines.push('VIOLATIONS:');
	for (const v of violations) lines.push(`  [${v.rule}${v.tag ? `:${v.tag}` : ''}] ${v.text}`);
	lines.push(`WORLD (allow_partial_refund ${input.partialRefunds}):`);
	for (const o of input.orders)
		lines.push(
			`  ${o.no}: ${o.kind}${o.qr ? ' QR' : ''} ${o.channel} ${major(o.total, o.currency)} ${o.currency}${o.portal.length ? `, portal refunds ${o.portal.map((p) => `${p.no}=${major(p.fee, o.currency)}`).join(', ')}` : ''}`,
		);
	const { resource: _r, operation: _o, orderNumber: _n, ...shown } = input.parameters;
	lines.push(
		`NODE: version ${input.typeVersion}, continueOnFail ${input.continueOnFail}, ${JSON.stringify(shown)}`,
	);
	lines.push('SHEET:');
	const rows = modelRows(input);
	input.items.forEach((item, i) =>
		lines.push(
			`  row ${i + 1}: order ${String(item.orderNumber)}, amount ${'amount' in item ? JSON.stringify(item.amount) : '(missing)'}, ref ${JSON.stringify(item.ref)} → asks ${rows[i].ask.kind === 'fixed' ? major(rows[i].ask.minor, rows[i].order.currency) : rows[i].ask.kind}${rows[i].number ? ` under ${rows[i].number}` : ''}`,
		),
	);
	input.runs.forEach((run, k) => {
		lines.push(
			`RUN ${k + 1}${run.preview ? ' (Preview Only)' : ''}${run.faults.length ? `, faults ${run.faults.map((f) => `${f.type}/${f.stage}×${f.count} on ${f.endpoint}`).join(', ')}` : ''}:`,
		);
		const seen = obs?.runs[k];
		if (!seen) return void lines.push('  (not run)');
		lines.push(
			`  status ${seen.status}${seen.error ? `, error at item ${String(seen.error.itemIndex)}: ${seen.error.message} — ${String(seen.error.description ?? '')}` : ''}`,
		);
		lines.push(
			`  calls: ${seen.requests.map((r) => `${r.endpoint}${r.refundNo ? `(${r.refundNo}, ${r.refundFee})` : ''}`).join(', ') || 'none'}`,
		);
		seen.items.forEach((item, i) => {
			const {
				orderNumber: _on,
				solution: _s,
				refundedAt: _ra,
				ksherRefundNumber: _k,
				channelRefundNumber: _c,
				...rest
			} = item;
			lines.push(`  out ${i + 1}: ${JSON.stringify(rest).slice(0, 400)}`);
		});
		lines.push(
			`  Ksher after: ${input.orders.map((o) => `${o.no}=[${(seen.refunds[o.no] ?? []).map((r) => `${r.no}:${major(r.fee, o.currency)}`).join(', ')}]`).join(' ')}`,
		);
	});
	lines.push(`SCENARIO: ${JSON.stringify(scenario)}`);
	return lines.join('\n');
}
