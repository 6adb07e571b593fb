import type { IDataObject } from 'n8n-workflow';

import { NotificationLedger, type StoredMemory } from '../../nodes/KsherTrigger/ledger';
import { outsideReplayWindow, replayWindow, REPLAY_WINDOW_MS } from '../../nodes/protocol';
import { n8nLog } from '../helpers/n8n';
import {
	payFreshOrder,
	signedPaid,
	triggerSuite,
	type TriggerOptions,
	type TriggerServer,
} from '../helpers/trigger';
import { KSHER_ACK as ACK } from '../simulator/notifications';

/**
 * Crashes, failed runs, replays and a full memory, with n8n's storage semantics (the harness
 * reloads and saves the static data per request, stores the execution before answering, and on
 * crash() drops every request and run in flight as SIGKILL does). "Finished" counts runs that
 * got to their end; "emitted" every run that started.
 */
const suite = triggerSuite();
const { trigger } = suite;

let nonce = 0;
/** A genuine paid notification, paid `agoMs` ago (as of its payment in the simulator). */
const paidNotification = (agoMs = 0) =>
	payFreshOrder(suite.h, {
		fields: () => ({
			nonce_str: `c${++nonce}`.padEnd(32, '0'),
			time_end: new Date(Date.now() - agoMs + 7 * 3600_000)
				.toISOString()
				.slice(0, 19)
				.replace('T', ' '),
		}),
	});

const count = (items: IDataObject[], orderNo: string) =>
	items.filter((i) => i.orderNumber === orderNo).length;

/** The answer to `body`, or status 0 where n8n's kill or a hung run left the connection without one. */
const answerOf = (t: TriggerServer, body: string) =>
	t.post(body).catch(() => ({ status: 0, body: '' }));

type KillStep = NonNullable<TriggerOptions['crashAt']>['step'];
/** A trigger of `typeVersion` whose n8n is killed when its `delivery`th request reaches `step`. */
const killedAt = (typeVersion: number, delivery: number, step: KillStep) =>
	trigger({ typeVersion, crashAt: { delivery, step } });

describe('the replay window', () => {
	it('a genuine notification paid longer ago than the window is acknowledged, starts nothing, and is logged', async () => {
		const t = await trigger();
		const old = await paidNotification(REPLAY_WINDOW_MS + 3600_000);
		const recent = await paidNotification(REPLAY_WINDOW_MS - 3600_000);
		expect(await t.post(old.body)).toEqual({ status: 200, body: ACK });
		expect(await t.post(recent.body)).toEqual({ status: 200, body: ACK });
		expect(t.emitted.map((i) => i.orderNumber)).toEqual([recent.orderNo]);
		expect(
			n8nLog.some(
				(line) => line.includes(`order ${old.orderNo}`) && line.includes('48-hour replay window'),
			),
		).toBe(true);
	});

	it('is measured from the payment time, and for a refund from the refund time; a notification without a readable time is refused (not acknowledged), not let in', () => {
		const now = Date.parse('2026-12-10T00:00:00Z');
		expect(outsideReplayWindow({ time_end: '2026-12-07 23:00:00' }, now)).toBe(true); // 49 h before, in Bangkok time
		expect(outsideReplayWindow({ time_end: '2026-12-08 08:00:00' }, now)).toBe(false); // 47 h before
		expect(
			outsideReplayWindow(
				{ result: 'REFUND', time_end: '2026-11-01 10:00:00', refund_time: '2026-12-09 10:00:00' },
				now,
			),
		).toBe(false);
		expect(
			outsideReplayWindow(
				{ result: 'REFUND', time_end: '2026-11-01 10:00:00', refund_time: '' },
				now,
			),
		).toBe(true);
		// A refund-shaped notification with result SUCCESS is a refund to the trigger, and measured as one.
		expect(
			outsideReplayWindow(
				{
					result: 'SUCCESS',
					mch_refund_no: 'R1',
					time_end: '2026-11-01 10:00:00',
					refund_time: '2026-12-09 10:00:00',
				},
				now,
			),
		).toBe(false);
		expect(outsideReplayWindow({ time_end: 'yesterday' }, now)).toBe(false);
		expect(replayWindow({ time_end: 'yesterday' }, 'paid', now)).toMatchObject({
			verdict: 'refused',
			field: 'time_end',
		});
	});

	it("covers Ksher's whole retry schedule with room to spare (2 hours of polling, then retries for about 29 hours)", () => {
		const retries =
			[1, 2, 2, 10, 30, 60, 600, 3600, 3 * 3600, 5 * 3600, 8 * 3600, 12 * 3600].reduce(
				(a, b) => a + b,
				0,
			) * 1000;
		expect(2 * 3600_000 + retries).toBeLessThan(REPLAY_WINDOW_MS - 12 * 3600_000);
		// The memory outlasts the window by a slack for times a little ahead of the clock (further ahead, by their own time).
		expect(NotificationLedger.MAX_AGE_MS).toBe(REPLAY_WINDOW_MS + NotificationLedger.SLACK_MS);
	});
});

describe('Acknowledge "When the Workflow Has Finished" (version 2)', () => {
	const finishing = (extra: Partial<TriggerOptions> = {}) =>
		trigger({ typeVersion: 2, runMs: 150, ...extra });

	/** Its first run was not acknowledged: run twice (the second flagged), finished once; a further copy runs nothing. */
	async function expectRanAgainFlagged(t: TriggerServer, orderNo: string, body: string) {
		expect(t.emitted.map((i) => [i.orderNumber, i.possibleDuplicate ?? false])).toEqual([
			[orderNo, false],
			[orderNo, true],
		]);
		expect(count(t.finished, orderNo)).toBe(1);
		expect(await t.post(body)).toEqual({ status: 200, body: ACK });
		expect(count(t.emitted, orderNo)).toBe(2);
	}

	it('Ksher gets its acknowledgement once the run has finished, and copies meanwhile wait for it', async () => {
		const t = await finishing();
		const { orderNo, body } = await paidNotification();
		const started = Date.now();
		const answers = await Promise.all([t.post(body), t.post(body), t.post(body)]);
		expect(Date.now() - started).toBeGreaterThanOrEqual(140);
		expect(answers).toEqual([
			{ status: 200, body: ACK },
			{ status: 200, body: ACK },
			{ status: 200, body: ACK },
		]);
		expect([count(t.emitted, orderNo), count(t.finished, orderNo)]).toEqual([1, 1]);
	});

	it("a run that fails is not acknowledged: Ksher's next delivery runs it again, marked possibleDuplicate", async () => {
		const t = await finishing({ failRun: (delivery) => delivery === 1 });
		const { orderNo, body } = await paidNotification();
		const first = await t.post(body);
		expect(first.status).toBe(500);
		const second = await t.post(body);
		expect(second).toEqual({ status: 200, body: ACK });
		await expectRanAgainFlagged(t, orderNo, body);
	});

	it('a run n8n failed before it started, answered 200 "no data was returned", is not acknowledged: the next delivery runs it, flagged', async () => {
		// n8n stores the execution as failed when its credential check's database query times out (hundreds of them
		// in the e2e's queue-mode load), and its code answers an execution that ended without run data with 200.
		const t = await finishing({ failStartAnswering200: (delivery) => delivery === 1 });
		const { orderNo, body } = await paidNotification();
		const first = await t.post(body);
		expect(first.status).toBe(500);
		expect(first.body).not.toBe(ACK);
		expect(t.finished).toEqual([]);
		expect(await t.post(body)).toEqual({ status: 200, body: ACK });
		await expectRanAgainFlagged(t, orderNo, body);
	});

	it('a run whose end n8n never reports (stuck "running") is given up on after Give Up on a Run After, and the next delivery runs it again, flagged', async () => {
		const t = await finishing({
			parameters: { options: { giveUpAfterMinutes: 0.01 } },
			hangRun: (delivery) => delivery === 1,
		});
		const { orderNo, body } = await paidNotification();
		expect((await answerOf(t, body)).status).toBe(0);
		const started = Date.now();
		// Delivered again at once: it waits for the stuck run until its deadline (0.6 s), then runs it again.
		expect(await t.post(body)).toEqual({ status: 200, body: ACK });
		expect(Date.now() - started).toBeGreaterThanOrEqual(400);
		await expectRanAgainFlagged(t, orderNo, body);
	});

	it('without that deadline passed, a copy waits for the run in flight and is answered with it, not run', async () => {
		const t = await finishing({ runMs: 300, parameters: { options: { giveUpAfterMinutes: 10 } } });
		const { orderNo, body } = await paidNotification();
		const [a, b] = await Promise.all([
			t.post(body),
			new Promise((r) => setTimeout(r, 50)).then(() => t.post(body)),
		]);
		expect([a, b]).toEqual([
			{ status: 200, body: ACK },
			{ status: 200, body: ACK },
		]);
		expect(count(t.emitted, orderNo)).toBe(1);
	});

	it("n8n killed with runs in flight: every order's run finishes once Ksher delivers again, and what can run twice is bounded", async () => {
		const t = await finishing({ runMs: 200 });
		const done = await Promise.all(Array.from({ length: 10 }, () => paidNotification()));
		for (const o of done) expect(await t.post(o.body)).toEqual({ status: 200, body: ACK });
		const inFlight = await Promise.all(Array.from({ length: 10 }, () => paidNotification()));
		const cut = inFlight.map((o) => t.post(o.body));
		await new Promise((r) => setTimeout(r, 100));
		t.crash();
		const answers = await Promise.all(cut.map((p) => p.catch(() => ({ status: 0, body: '' }))));
		expect(answers.every((a) => a.status !== 200)).toBe(true);
		expect(
			inFlight.every(
				(o) => count(t.emitted, o.orderNo) === 1 && count(t.finished, o.orderNo) === 0,
			),
		).toBe(true);
		// Ksher delivers everything it has no acknowledgement for; and, as a duplicate delivery would, the acknowledged ones once more.
		for (const o of [...inFlight, ...done])
			expect(await t.post(o.body)).toEqual({ status: 200, body: ACK });
		// Nothing is lost: the runs the kill cut short ran again, to their end (n8n keeps the first ones under Executions as crashed).
		for (const o of inFlight)
			expect([count(t.emitted, o.orderNo), count(t.finished, o.orderNo)]).toEqual([2, 1]);
		// Of the acknowledged ones, only the last ran again, flagged: n8n saves a request's static data as it answers,
		// before the run's outcome is known, so "finished" reaches the database with the next request's save, which the kill cut.
		const ranAgain = done.filter((o) => count(t.emitted, o.orderNo) !== 1);
		expect(ranAgain.map((o) => o.orderNo)).toEqual([done[9].orderNo]);
		expect(
			t.emitted
				.filter((i) => i.orderNumber === done[9].orderNo)
				.map((i) => i.possibleDuplicate ?? false),
		).toEqual([false, true]);
		// After the next save, a duplicate delivery of any of them starts nothing.
		const emittedBefore = t.emitted.length;
		for (const o of [...inFlight, ...done])
			expect(await t.post(o.body)).toEqual({ status: 200, body: ACK });
		expect(t.emitted.length).toBe(emittedBefore);
	});
});

describe('Acknowledge "When the Run Is Stored" (version 1) and a kill', () => {
	/** A fresh notification whose first delivery n8n's kill cuts at `step`: not acknowledged, the next delivery is. */
	async function killedOnFirstDelivery(typeVersion: number, step: KillStep) {
		const t = await killedAt(typeVersion, 1, step);
		const cut = await paidNotification();
		expect((await answerOf(t, cut.body)).status).not.toBe(200);
		expect(await t.post(cut.body)).toEqual({ status: 200, body: ACK });
		return { t, cut };
	}

	it("killed before the execution is stored: no acknowledgement, and Ksher's next delivery runs it", async () => {
		const t = await killedAt(1, 2, 'before storing the execution');
		const acked = await paidNotification();
		expect(await t.post(acked.body)).toEqual({ status: 200, body: ACK });
		const cut = await paidNotification();
		expect((await answerOf(t, cut.body)).status).not.toBe(200);
		expect(count(t.emitted, cut.orderNo)).toBe(0);
		expect(await t.post(cut.body)).toEqual({ status: 200, body: ACK });
		expect(await t.post(acked.body)).toEqual({ status: 200, body: ACK });
		expect([count(t.emitted, acked.orderNo), count(t.emitted, cut.orderNo)]).toEqual([1, 1]);
	});

	it("killed after the execution is stored, before the static data is saved: no acknowledgement, so Ksher's next delivery runs it again", async () => {
		const { t, cut } = await killedOnFirstDelivery(1, 'before saving the static data');
		// The first run, cut short, stays under Executions as crashed.
		expect([count(t.emitted, cut.orderNo), count(t.finished, cut.orderNo)]).toEqual([2, 1]);
	});

	it('killed after the static data is saved, before the answer: version 1 does not run it again (its run is lost); version 2 runs it again, flagged', async () => {
		const { t: v1, cut: lostInV1 } = await killedOnFirstDelivery(1, 'before answering');
		expect([count(v1.emitted, lostInV1.orderNo), count(v1.finished, lostInV1.orderNo)]).toEqual([
			1, 0,
		]);

		const { t: v2, cut: keptInV2 } = await killedOnFirstDelivery(2, 'before answering');
		expect(v2.emitted.map((i) => i.possibleDuplicate ?? false)).toEqual([false, true]);
		expect(count(v2.finished, keptInV2.orderNo)).toBe(2);
	});
});

describe('a memory that holds the whole window', () => {
	it('100,000 stored notifications: a new one runs, a stored one is acknowledged without a run, and all stay stored', async () => {
		const seed = new NotificationLedger();
		for (let i = 0; i < 100_000; i++) {
			const claim = seed.claim(`${suite.h.sim.info.appid}|SEED-${i}|paid|`);
			claim.record();
			claim.settle(true);
		}
		const stored: StoredMemory = {};
		seed.persistInto(stored);
		const staticData = { 'node:Ksher Trigger': JSON.parse(JSON.stringify(stored)) as IDataObject };
		const t = await trigger({ staticData });
		const fresh = await paidNotification();
		expect(await t.post(fresh.body)).toEqual({ status: 200, body: ACK });
		expect(count(t.emitted, fresh.orderNo)).toBe(1);
		// One of the 100,000, delivered again.
		const { h } = suite;
		const { orderNo } = await h
			.createOrder({ mch_order_no: 'SEED-99999' })
			.catch(() => ({ orderNo: 'SEED-99999' }));
		await h.payOrder(orderNo).catch(() => undefined);
		const { body } = signedPaid(h.sim, h.sim.order('SEED-99999')!, {
			nonce_str: 'seed'.padEnd(32, '0'),
		});
		expect(await t.post(body)).toEqual({ status: 200, body: ACK });
		expect(count(t.emitted, 'SEED-99999')).toBe(0);
		const after = t.staticData()['node:Ksher Trigger'] as StoredMemory;
		// 8 bytes a notification: 32 base64 characters for every 3.
		expect(String(after.ksherSeen).length).toBeGreaterThan((100_001 * 32) / 3);
	});

	it('a full memory refuses new notifications (503, Ksher delivers again later) instead of forgetting', () => {
		const ledger = new NotificationLedger(3);
		for (const key of ['a', 'b', 'c']) {
			const claim = ledger.claim(key);
			claim.record();
			claim.settle(true);
		}
		expect(ledger.full()).toBe(true);
		expect(ledger.has('a')).toBe(true);
		// Older than the window, they leave it and make room.
		expect(ledger.full(Date.now() + NotificationLedger.MAX_AGE_MS + 3600_000)).toBe(false);
	});
});
