import { createHash } from 'crypto';

import {
	formatWatchState,
	isWatched,
	KsherInputError,
	MAX_WATCH_STATE_LENGTH,
	parseWatchState,
	refundId,
	SKETCH_SUMS,
	watchChanges,
	type KsherRefund,
	type WatchState,
} from '../../nodes/protocol';

const now = new Date('2026-11-30T10:00:00Z');
const refund = (
	no: string,
	fee: number,
	state = 'REFUNDSUCCESS',
	time = '2026-11-30 17:00:00',
): KsherRefund => ({
	mch_refund_no: no,
	ksher_refund_no: `700${no}`,
	channel_refund_no: '',
	refund_fee: fee,
	refund_state: state,
	refund_time: state ? time : '',
});
const NONE = { count: 0, within: 0, latest: '', sums: [] };

const errorOf = (f: () => unknown): unknown => {
	try {
		f();
	} catch (e) {
		return e;
	}
	return undefined;
};

describe('watch state', () => {
	it('round-trips, and equal states are equal strings (version 2, and version 1 as it was stored)', () => {
		const { state } = watchChanges(
			{ since: '2026-11-01T00:00:00.000Z', status: 'paid', refunds: NONE },
			{ result: 'SUCCESS', paidAt: null, totalMinor: 1000, refunds: [refund('A-R1', 100)] },
			now,
		);
		const text = formatWatchState(state);
		expect(text).toMatch(
			/^\{"v":2,"since":"2026-11-01T00:00:00.000Z","status":"paid","refunds":1,"within":1,"latest":"2026-11-30 17:00:00","sums":"[0-9a-z]+"\}$/,
		);
		expect(parseWatchState(text)).toEqual(state);
		expect(parseWatchState(JSON.parse(text))).toEqual(state);
		expect(formatWatchState(parseWatchState(text)!)).toBe(text);
		const v1 = JSON.stringify({
			v: 1,
			since: '2026-11-01T00:00:00.000Z',
			status: 'paid',
			refunds: [refundId('A-R1')],
		});
		expect(formatWatchState(parseWatchState(v1)!)).toBe(v1);
		expect(parseWatchState('')).toBeUndefined();
		expect(parseWatchState(null)).toBeUndefined();
	});

	it.each([
		['paid', /not JSON/],
		['[]', /expected a JSON object/],
		['{"v":3,"since":"2026-01-01","status":"paid","refunds":[]}', /unknown version 3/],
		['{"v":1,"since":"yesterday","status":"paid","refunds":[]}', /no valid "since"/],
		['{"v":1,"since":"2026-01-01","status":"done","refunds":[]}', /unknown status "done"/],
		['{"v":1,"since":"2026-01-01","status":"paid","refunds":["INV-1-R1"]}', /malformed "refunds"/],
		[
			'{"v":2,"since":"2026-01-01","status":"paid","refunds":0,"within":0,"latest":"","sums":""}',
			/no valid "since"/,
		],
		[
			'{"v":2,"since":"2026-01-01T00:00:00.000Z","status":"paid","refunds":[],"within":0,"latest":"","sums":""}',
			/malformed "refunds" count/,
		],
		[
			'{"v":2,"since":"2026-01-01T00:00:00.000Z","status":"paid","refunds":-1,"within":0,"latest":"","sums":""}',
			/malformed "refunds" count/,
		],
		[
			'{"v":2,"since":"2026-01-01T00:00:00.000Z","status":"paid","refunds":2,"within":1,"latest":"","sums":"1.2"}',
			/malformed "within"/,
		],
		[
			'{"v":2,"since":"2026-01-01T00:00:00.000Z","status":"paid","refunds":1,"within":1,"latest":"yesterday","sums":"1"}',
			/malformed "latest"/,
		],
		[
			'{"v":2,"since":"2026-01-01T00:00:00.000Z","status":"paid","refunds":2,"within":2,"latest":"","sums":"1"}',
			/malformed "sums"/,
		],
		[
			'{"v":2,"since":"2026-01-01T00:00:00.000Z","status":"paid","refunds":1,"within":1,"latest":"","sums":"zzzzzzzzzzzz"}',
			/malformed "sums"/,
		],
		[
			'{"v":2,"since":"2026-01-01T00:00:00.000Z","status":"paid","refunds":1,"within":1,"latest":"","sums":"A"}',
			/malformed "sums"/,
		],
	])('refuses %s with an error naming the field', (text, why) => {
		const error = errorOf(() => parseWatchState(text));
		expect(error).toBeInstanceOf(KsherInputError);
		expect((error as KsherInputError).field).toBe('Last Watch State');
		expect((error as Error).message).toMatch(why);
	});

	it(`is at most ${MAX_WATCH_STATE_LENGTH} characters whatever it holds`, () => {
		const widest = formatWatchState({
			since: new Date(8.64e15).toISOString(),
			status: 'refunded',
			refunds: {
				count: Number.MAX_SAFE_INTEGER,
				within: Number.MAX_SAFE_INTEGER,
				latest: '9999-12-31 23:59:59',
				sums: new Array(SKETCH_SUMS).fill((BigInt(1) << BigInt(61)) - BigInt(2)),
			},
		});
		expect(widest.length).toBe(MAX_WATCH_STATE_LENGTH);
		expect(Buffer.byteLength(widest)).toBeLessThanOrEqual(MAX_WATCH_STATE_LENGTH);
		expect(parseWatchState(widest)).toBeDefined();
	});

	it('stops watching finished orders and orders past the window', () => {
		const since = (days: number) => new Date(now.getTime() - days * 86_400_000).toISOString();
		expect(isWatched(undefined, now, 30)).toBe(true);
		expect(isWatched({ since: since(29), status: 'paid', refunds: NONE }, now, 30)).toBe(true);
		expect(isWatched({ since: since(31), status: 'paid', refunds: NONE }, now, 30)).toBe(false);
		expect(isWatched({ since: since(1), status: 'refunded', refunds: NONE }, now, 30)).toBe(false);
		expect(isWatched({ since: since(1), status: 'closed', refunds: NONE }, now, 30)).toBe(false);
	});
});

describe('watchChanges', () => {
	const paidState: WatchState = {
		since: '2026-11-30T09:00:00.000Z',
		status: 'paid',
		refunds: NONE,
	};
	const seen = (
		refunds: KsherRefund[] | undefined,
		totalMinor = 1_000_000,
		result = 'SUCCESS',
	) => ({ result, paidAt: null, totalMinor, refunds });
	/** One watch run whose every change is stored (as the workflow does): the refund numbers reported, and the state stored. */
	const run = (state: WatchState | undefined, refunds: KsherRefund[], totalMinor?: number) => {
		const { changes, state: after } = watchChanges(state, seen(refunds, totalMinor), now);
		// Stored as text and read back, as the workflow does.
		for (const c of changes)
			expect(formatWatchState(c.stateAfter).length).toBeLessThanOrEqual(MAX_WATCH_STATE_LENGTH);
		return {
			numbers: changes.filter((c) => c.event === 'refunded').map((c) => c.refund!.mch_refund_no),
			state: parseWatchState(formatWatchState(after))!,
		};
	};
	const many = (n: number, prefix = 'R', time = '2026-11-30 17:00:00') =>
		Array.from({ length: n }, (_, i) => refund(`${prefix}${i + 1}`, 1, 'REFUNDSUCCESS', time));

	it('a failed refund is not reported; a processing one is reported once it succeeds', () => {
		const first = seen([refund('R1', 100, 'REFUNDFAIL'), refund('R2', 100, '')], 1000);
		expect(watchChanges(paidState, first, now).changes).toEqual([]);
		const later = watchChanges(
			paidState,
			{ ...first, refunds: [refund('R1', 100, 'REFUNDFAIL'), refund('R2', 100)] },
			now,
		);
		expect(later.changes.map((c) => c.refund?.mch_refund_no)).toEqual(['R2']);
		expect(later.state).toMatchObject({ status: 'paid', refunds: { count: 1 } });
	});

	it('a first sight of a paid order starts its window at the payment time', () => {
		const { changes, state } = watchChanges(
			undefined,
			{ result: 'SUCCESS', paidAt: '2026-11-30T15:00:00+07:00', totalMinor: 1000, refunds: [] },
			now,
		);
		expect(changes.map((c) => c.event)).toEqual(['paid']);
		expect(state).toEqual({ since: '2026-11-30T08:00:00.000Z', status: 'paid', refunds: NONE });
	});

	it('a REFUND order whose refunds Ksher cannot list is reported refunded once, without a refund', () => {
		const { changes, state } = watchChanges(paidState, seen(undefined, 1000, 'REFUND'), now);
		expect(changes).toEqual([{ event: 'refunded', refund: undefined, stateAfter: state }]);
		expect(state.status).toBe('refunded');
	});

	it('an unpaid order that failed or is still open is no change; nothing is invented from an unknown result', () => {
		for (const result of ['NOTSURE', 'PAYERROR', 'USERPAYING', '']) {
			expect(
				watchChanges(undefined, { result, paidAt: null, totalMinor: 1000, refunds: undefined }, now)
					.changes,
			).toEqual([]);
		}
	});

	it.each([101, 1000])(
		'%i refunds: each reported once, none on the next run, then only the new one; the state stays bounded',
		(n) => {
			const refunds = many(n);
			const first = run(paidState, refunds);
			expect(first.numbers).toEqual(refunds.map((r) => r.mch_refund_no));
			expect(run(first.state, refunds).numbers).toEqual([]);
			// Listed in another order next time: still nothing new.
			expect(run(first.state, [...refunds].reverse()).numbers).toEqual([]);
			const more = [...refunds, refund('NEW', 1, 'REFUNDSUCCESS', '2026-11-30 17:00:00')];
			const second = run(first.state, more);
			expect(second.numbers).toEqual(['NEW']);
			expect(run(second.state, more).numbers).toEqual([]);
			expect(formatWatchState(second.state).length).toBeLessThanOrEqual(MAX_WATCH_STATE_LENGTH);
		},
	);

	it('a state stored after any one change of a run: the next run reports exactly the rest', () => {
		const refunds = many(60);
		const { changes } = watchChanges(paidState, seen(refunds), now);
		for (const k of [0, 1, 31, 32, 33, 45, 59]) {
			const stored = parseWatchState(formatWatchState(changes[k].stateAfter))!;
			expect(run(stored, refunds).numbers).toEqual(
				refunds.slice(k + 1).map((r) => r.mch_refund_no),
			);
		}
	});

	it('many refunds between two runs, on an order with many reported: told apart by Ksher time, and by the sums when stamped in the same second', () => {
		const old = many(200, 'A', '2026-11-30 17:00:00');
		const { state } = run(paidState, old);
		// 500 later ones, 20 of them stamped in the same second as the newest reported, in a shuffled list.
		const later = [
			...many(20, 'S', '2026-11-30 17:00:00'),
			...many(480, 'B', '2026-11-30 17:05:00'),
		];
		const list = shuffle([...old, ...later], 7);
		expect(run(state, list).numbers.sort()).toEqual(later.map((r) => r.mch_refund_no).sort());
	});

	it('refunds processing for a while are reported when they succeed, even stamped before the newest reported', () => {
		const done = many(100, 'A', '2026-11-30 17:00:00');
		const slow = Array.from({ length: 30 }, (_, i) => refund(`P${i}`, 1, ''));
		const { state, numbers } = run(paidState, [...slow, ...done]);
		expect(numbers).toHaveLength(100);
		// They succeed later, Ksher stamping them with when they were asked for (earlier than the rest).
		const succeeded = slow.map((r, i) =>
			i % 3 === 2
				? { ...r, refund_state: 'REFUNDFAIL' }
				: { ...r, refund_state: 'REFUNDSUCCESS', refund_time: '2026-11-30 16:00:00' },
		);
		const next = run(state, [...done, ...succeeded]);
		expect(next.numbers).toEqual(
			succeeded.filter((r) => r.refund_state === 'REFUNDSUCCESS').map((r) => r.mch_refund_no),
		);
		expect(run(next.state, shuffle([...done, ...succeeded], 3)).numbers).toEqual([]);
	});

	it('fully refunded once what was reported covers the amount', () => {
		const refunds = many(101);
		const { changes, state } = watchChanges(paidState, seen(refunds, 101), now);
		expect(changes.map((c) => c.stateAfter.status)).toEqual([
			...new Array(100).fill('paid'),
			'refunded',
		]);
		expect(state.status).toBe('refunded');
	});

	it('a state that cannot be matched to the list is an error that reports nothing, and says what to store to go on', () => {
		const { state } = run(paidState, many(100, 'A'));
		// Another order's refunds.
		const other = many(100, 'X');
		const wrong = errorOf(() => watchChanges(state, seen(other), now)) as KsherInputError;
		expect(wrong).toBeInstanceOf(KsherInputError);
		expect(wrong.message).toMatch(
			/records 100 refunds reported, which cannot be matched to the 100 refunds Ksher lists/,
		);
		// More than 32 reported and more than 32 new, all stamped in the same second as the newest reported,
		// and listed out of order: neither time nor place tells them apart.
		const crowd = shuffle([...many(100, 'A'), ...many(40, 'C')], 11);
		const error = errorOf(() => watchChanges(state, seen(crowd), now)) as KsherInputError;
		expect(error).toBeInstanceOf(KsherInputError);
		expect(error.message).toMatch(
			/records 100 refunds reported, which cannot be matched to the 140 refunds/,
		);
		const offered = /store this state: (\{.*\})$/.exec(error.solution)?.[1];
		expect(run(parseWatchState(offered)!, crowd).numbers).toEqual([]);
		// The same refunds in the order they were made: told apart by their place in the list.
		expect(run(state, [...many(100, 'A'), ...many(40, 'C')]).numbers).toEqual(
			many(40, 'C').map((r) => r.mch_refund_no),
		);
	});

	it('a list in the order made: a run in the middle of a burst of refunds stamped in one second, or stopped half-way, loses and repeats none', () => {
		const burst = many(1000, 'B', '2026-11-30 17:00:00');
		const mid = run(paidState, burst.slice(0, 500));
		expect(run(mid.state, burst).numbers).toEqual(burst.slice(500).map((r) => r.mch_refund_no));
		const { changes } = watchChanges(paidState, seen(burst), now);
		const halfWay = parseWatchState(formatWatchState(changes[499].stateAfter))!;
		expect(run(halfWay, burst).numbers).toEqual(burst.slice(500).map((r) => r.mch_refund_no));
	});

	describe('a state stored by version 1 (the last 100 short ids of the refunds reported)', () => {
		const v1 = (numbers: string[]): WatchState =>
			parseWatchState(
				JSON.stringify({
					v: 1,
					since: '2026-11-30T09:00:00.000Z',
					status: 'paid',
					refunds: numbers.map(v1Id),
				}),
			)!;

		it('with fewer than 100 ids it knows every refund reported: exactly the others are new; the next state is version 2', () => {
			const refunds = many(5);
			const { changes, state } = watchChanges(v1(['R1', 'R3', 'R4']), seen(refunds), now);
			expect(changes.map((c) => c.refund!.mch_refund_no)).toEqual(['R2', 'R5']);
			expect(formatWatchState(state)).toMatch(/^\{"v":2,.*"refunds":5,/);
			expect(run(state, refunds).numbers).toEqual([]);
		});

		it('with 100 ids (full: it may have forgotten some) on 101 refunds: none reported again; one made later is reported', () => {
			const refunds = many(101);
			// What version 1 stored after reporting all 101: the last 100 in list order. It forgot R1, and
			// cannot tell R1 (reported, forgotten) from a refund that succeeded after it last ran.
			const old = v1(refunds.slice(1).map((r) => r.mch_refund_no));
			expect(watchChanges(old, seen(refunds), now).changes).toEqual([]);
			// A refund Ksher stamped after the newest one it kept was made after it last ran: new.
			const later = [...refunds, refund('LATER', 1, 'REFUNDSUCCESS', '2026-11-30 17:00:01')];
			const { numbers, state } = run(old, later);
			expect(numbers).toEqual(['LATER']);
			expect(run(state, later).numbers).toEqual([]);
			// One made in the same second as the newest it kept, listed after all of them: new too.
			const same = [...refunds, refund('SAME', 1)];
			expect(run(old, same).numbers).toEqual(['SAME']);
		});
	});

	it.each([
		['in the order made', false],
		['shuffled on every run', true],
	])(
		"random histories (refunds made, processing, succeeding or failing; Ksher's list %s; states stored after any change): each successful refund reported exactly once",
		(_order, shuffled) => {
			for (let seed = 1; seed <= 15; seed++) {
				const random = prng(seed);
				const refunds: KsherRefund[] = [];
				const reported = new Map<string, number>();
				let stored: WatchState | undefined = paidState;
				let second = 0;
				for (let step = 0; step < 60; step++) {
					// Ksher's side: a few new refunds (some processing first), some processing ones settle.
					const made = Math.floor(random() * 8);
					second += Math.floor(random() * 2);
					const time = `2026-11-30 17:${String(Math.floor(second / 60)).padStart(2, '0')}:${String(second % 60).padStart(2, '0')}`;
					for (let i = 0; i < made; i++)
						refunds.push(
							refund(`S${seed}-${refunds.length}`, 1, random() < 0.3 ? '' : 'REFUNDSUCCESS', time),
						);
					for (const [i, r] of refunds.entries()) {
						if (r.refund_state !== '' || random() > 0.3) continue;
						const stamp = random() < 0.5 ? time : '2026-11-30 16:00:00';
						refunds[i] = {
							...r,
							refund_state: random() < 0.8 ? 'REFUNDSUCCESS' : 'REFUNDFAIL',
							refund_time: stamp,
						};
					}
					// The watch: the workflow stores every change's state, or stops after some of them.
					const { changes } = watchChanges(
						stored,
						seen(shuffled ? shuffle(refunds, seed * 100 + step) : refunds),
						now,
					);
					const handled = random() < 0.2 ? Math.floor(random() * changes.length) : changes.length;
					for (const c of changes.slice(0, handled)) {
						const no = c.refund!.mch_refund_no;
						reported.set(no, (reported.get(no) ?? 0) + 1);
						stored = parseWatchState(formatWatchState(c.stateAfter));
					}
				}
				const { changes } = watchChanges(stored, seen(refunds), now);
				for (const c of changes)
					reported.set(c.refund!.mch_refund_no, (reported.get(c.refund!.mch_refund_no) ?? 0) + 1);
				const succeeded = refunds
					.filter((r) => r.refund_state === 'REFUNDSUCCESS')
					.map((r) => r.mch_refund_no);
				expect([...reported.keys()].sort()).toEqual(succeeded.sort());
				expect([...reported.values()].filter((n) => n !== 1)).toEqual([]);
			}
		},
	);
});

/** Version 1's id, as it wrote it (8 hex characters of SHA-256 of the refund number). */
function v1Id(refundNumber: string): string {
	return createHash('sha256').update(refundNumber, 'utf8').digest('hex').slice(0, 8);
}

function prng(seed: number): () => number {
	let s = seed >>> 0;
	return () => {
		s = (s * 1664525 + 1013904223) >>> 0;
		return s / 2 ** 32;
	};
}

function shuffle<T>(list: T[], seed: number): T[] {
	const random = prng(seed);
	const out = [...list];
	for (let i = out.length - 1; i > 0; i--) {
		const j = Math.floor(random() * (i + 1));
		[out[i], out[j]] = [out[j], out[i]];
	}
	return out;
}
