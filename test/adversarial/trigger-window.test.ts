import { fakeDate, signedPaid, triggerSuite } from '../helpers/trigger';
import { recordFigure } from './figures';
import { guardUnhandledRejections } from './guard';

/**
 * Trigger window: replays of genuine notifications 48 hours and more after their first delivery, when
 * the trigger's memory of them may be gone, start no run (issue #30, finding 5). Each notification is
 * genuinely signed (the simulator's Ksher key) and shaped the way an adversary would pick: a time_end
 * empty, missing, in another format, or ahead of the clock (hours, days, year 9999); refunds whose
 * payment and refund times disagree; a result the trigger calls "other". Each is delivered as Ksher
 * would (at 0, 1, 3 and 31 hours), then replayed every half hour from 48 to 60 hours later (across the
 * hour the old memory forgot in) and every 6 hours to 13 days later (past the 10 days ahead), with
 * restarts, to version 1 and version 2 triggers. Only Date is
 * faked: the harness keeps n8n's storage semantics with real timers (test/helpers/trigger.ts).
 */
guardUnhandledRejections('trigger-window');

const HOUR = 3600_000;
const T0 = Date.parse('2026-12-01T05:00:00Z');
const bangkok = (ms: number) =>
	new Date(ms + 7 * HOUR).toISOString().slice(0, 19).replace('T', ' ');
const refund = { mch_refund_no: 'R1', refund_fee: 5000 };

/** What an adversary holding genuine signed notifications would replay. `drop`: fields left out. */
const SHAPES: Array<{ name: string; fields: Record<string, unknown>; drop?: string[] }> = [
	{ name: 'time_end empty', fields: { time_end: '' } },
	{ name: 'time_end missing', fields: {}, drop: ['time_end'] },
	{ name: 'time_end blank', fields: { time_end: '   ' } },
	{ name: 'time_end with slashes', fields: { time_end: '2026/12/01 12:00:00' } },
	{ name: 'time_end ISO in UTC', fields: { time_end: '2026-12-01T05:00:00Z' } },
	{ name: 'time_end with milliseconds', fields: { time_end: '2026-12-01 12:00:00.000' } },
	{ name: 'time_end zeros', fields: { time_end: '0000-00-00 00:00:00' } },
	{ name: 'time_end as Unix seconds', fields: { time_end: String(T0 / 1000) } },
	{ name: 'time_end as a number', fields: { time_end: 20261201120000 } },
	{ name: 'time_end in year 9999', fields: { time_end: '9999-12-31 23:59:59' } },
	{ name: 'time_end 10 days ahead', fields: { time_end: bangkok(T0 + 240 * HOUR) } },
	{ name: 'time_end 3 hours ahead', fields: { time_end: bangkok(T0 + 3 * HOUR) } },
	{ name: 'time_end 1 h 59 min ahead', fields: { time_end: bangkok(T0 + 2 * HOUR - 60_000) } },
	{ name: 'time_end 1 hour ahead', fields: { time_end: bangkok(T0 + HOUR) } },
	{ name: 'time_end now', fields: { time_end: bangkok(T0) } },
	{ name: 'time_end 31 hours ago', fields: { time_end: bangkok(T0 - 31 * HOUR) } },
	{
		name: 'refund (result SUCCESS) refunded now, paid 3 days ago',
		fields: { ...refund, time_end: bangkok(T0 - 72 * HOUR), refund_time: bangkok(T0) },
	},
	{
		name: 'refund (result SUCCESS), no times',
		fields: { ...refund, time_end: '', refund_time: '' },
	},
	{
		name: 'refund (result SUCCESS), refund_time empty, paid now',
		fields: { ...refund, time_end: bangkok(T0), refund_time: '' },
	},
	{
		name: 'refund (result REFUND), refund_time 1 h 59 min ahead',
		fields: { ...refund, result: 'REFUND', refund_time: bangkok(T0 + 2 * HOUR - 60_000) },
	},
	{
		name: 'refund (result REFUND), refund_time in year 9999',
		fields: { ...refund, result: 'REFUND', time_end: '', refund_time: '9999-01-01 00:00:00' },
	},
	{
		name: 'result PAYERROR (event "other"), time_end empty',
		fields: { result: 'PAYERROR', time_end: '' },
	},
];

const suite = triggerSuite();
afterEach(() => jest.useRealTimers());

it('genuine notifications replayed from 48 hours to 13 days later, across restarts, to version 1 and 2 triggers: 0 runs', async () => {
	let replays = 0;
	let replayRuns = 0;
	let firstRuns = 0;
	const ranAgain: string[] = [];
	for (const typeVersion of [1, 2]) {
		fakeDate(T0);
		const t = await suite.trigger({ typeVersion, parameters: { events: ['any'] } });
		const bodies = SHAPES.map((shape, i) => {
			// No time_end of its own: each shape says what it holds there, if anything.
			const order = {
				mch_order_no: `REPLAY-${typeVersion}-${i}`,
				ksher_order_no: `70020261201${typeVersion}${String(i).padStart(4, '0')}`,
				pay_mch_order_no: `2612010${typeVersion}${String(i).padStart(4, '0')}`,
				total_fee: 15050,
			};
			const fields = { nonce_str: `r${typeVersion}${i}`.padEnd(32, '0'), ...shape.fields };
			return { shape: shape.name, body: signedPaid(suite.h.sim, order, fields, shape.drop).body };
		});
		// The first delivery (Ksher's, or the adversary's first), then Ksher's retries within the window.
		for (const hours of [0, 1, 3, 31]) {
			jest.setSystemTime(T0 + hours * HOUR);
			for (const { body } of bodies) await t.post(body);
		}
		firstRuns += t.emitted.length;
		const before = t.emitted.length;
		// Every half hour from 48 to 60 hours, then every 6 hours to 13 days; n8n restarted before them and at
		// 54 hours, so each part is answered from the stored memory alone. (The clock only moves forward: one that
		// jumps ahead by days and back is beyond this, see docs/guarantees.md.)
		const later = [
			...Array.from({ length: 25 }, (_, i) => 48 + i / 2),
			...Array.from({ length: 42 }, (_, i) => 66 + 6 * i),
		];
		for (const hours of later) {
			if (hours === 48 || hours === 54) t.restart();
			jest.setSystemTime(T0 + hours * HOUR);
			for (const { shape, body } of bodies) {
				replays++;
				const runsBefore = t.emitted.length;
				await t.post(body);
				if (t.emitted.length > runsBefore) ranAgain.push(`v${typeVersion} ${shape} at ${hours} h`);
			}
		}
		replayRuns += t.emitted.length - before;
		jest.useRealTimers();
	}
	recordFigure(
		'Trigger window: replays that ran',
		replayRuns,
		`trigger window: ${replays} replays after 48 h, ${replayRuns} runs (${SHAPES.length} genuine notifications × 2 trigger versions, ${firstRuns} first runs)`,
	);
	expect(ranAgain).toEqual([]);
	expect(replayRuns).toBe(0);
	// Per version, the 11 with a readable time (a refund's own, else its payment's) ran, once; the 11 without
	// were refused every time.
	expect(firstRuns).toBe(2 * 11);
});
