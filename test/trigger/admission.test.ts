import { NotificationLedger, type StoredMemory } from '../../nodes/KsherTrigger/ledger';
import { admit, memoryAdmission, windowAdmission } from '../../nodes/KsherTrigger/admission';
import type { NotificationCheck } from '../../nodes/protocol';

/**
 * Admission on its own: what the trigger decides about a verified notification before claiming
 * it (the replay window by the notification's kind, the memory, copies in flight, a full memory).
 * Signatures are not its business: the checks here stand for notifications already verified (the
 * trigger tests send real signed ones through the whole webhook).
 */
type Verified = Extract<NotificationCheck, { ok: true }>;

/** Ksher's time format (Bangkok), `hoursAgo` before now. */
function ksherTime(hoursAgo: number): string {
	const bangkok = new Date(Date.now() - hoursAgo * 3600_000 + 7 * 3600_000);
	return bangkok.toISOString().replace('T', ' ').slice(0, 19);
}

function verified(data: Record<string, unknown>, event: Verified['event'] = 'paid'): Verified {
	const order = String(data.mch_order_no ?? 'A-1');
	return {
		ok: true,
		data: { mch_order_no: order, total_fee: 10000, fee_type: 'THB', result: 'SUCCESS', ...data },
		envelope: {},
		event,
		dedupeKey: `mch1|${order}|${event}`,
	};
}

function warnings() {
	const said: Array<{ message: string; meta?: Record<string, unknown> }> = [];
	return {
		said,
		warn: (message: string, meta?: Record<string, unknown>) => said.push({ message, meta }),
	};
}

describe("the replay window, by the notification's own kind", () => {
	it('a payment inside the window is admitted, with its time', () => {
		const { said, warn } = warnings();
		const result = windowAdmission(verified({ time_end: ksherTime(1) }), warn);
		expect(result).toMatchObject({ admitted: true, at: expect.any(Number) });
		expect(said).toEqual([]);
	});

	it('a payment older than 48 hours is acknowledged without a run, and logged', () => {
		const { said, warn } = warnings();
		expect(
			windowAdmission(verified({ mch_order_no: 'OLD-1', time_end: ksherTime(49) }), warn),
		).toEqual({ admitted: false, answer: 'acknowledge' });
		expect(said[0].message).toMatch(
			/^Ksher Trigger: the notification for order OLD-1 \(paid .*\) is older than the 48-hour replay window/,
		);
	});

	it.each([
		['empty', ''],
		["not Ksher's format", '2026/12/01 10:00'],
	])('a payment whose time_end is %s is refused (422), naming the field', (_what, time) => {
		const { said, warn } = warnings();
		const result = windowAdmission(verified({ time_end: time }), warn);
		expect(result).toMatchObject({
			admitted: false,
			answer: { status: 422, reason: expect.stringContaining('time_end') },
		});
		expect(said[0].meta).toMatchObject({ field: 'time_end' });
	});

	it("a refund is measured from its refund_time, not the payment's time", () => {
		const { warn } = warnings();
		const refund = (refundHoursAgo: number) =>
			verified(
				{
					result: 'REFUND',
					time_end: ksherTime(100),
					refund_time: ksherTime(refundHoursAgo),
					mch_refund_no: 'R1',
				},
				'refunded',
			);
		expect(windowAdmission(refund(2), warn)).toMatchObject({ admitted: true });
		expect(windowAdmission(refund(50), warn)).toEqual({ admitted: false, answer: 'acknowledge' });
	});
});

describe('the memory', () => {
	const fresh = () => ({ ledger: new NotificationLedger(), stored: {} as StoredMemory });
	const admitted = (before: 'started' | undefined) => ({
		admitted: true,
		before,
		claim: expect.objectContaining({ record: expect.any(Function) }),
	});

	it('a new notification is admitted and claimed; once its run is done, a copy is acknowledged', async () => {
		const { ledger, stored } = fresh();
		const { warn } = warnings();
		const first = await memoryAdmission(ledger, stored, 'k1', warn, () => ledger.claim('k1'));
		expect(first).toEqual(admitted(undefined));
		if (!first.admitted) return;
		first.claim.record();
		first.claim.settle(true);
		expect(await memoryAdmission(ledger, stored, 'k1', warn, () => ledger.claim('k1'))).toEqual({
			admitted: false,
			answer: 'acknowledge',
		});
	});

	it('copies arriving together: exactly one is admitted (claimed before any other copy can look), the others wait for it', async () => {
		const { ledger, stored } = fresh();
		const copies = Array.from({ length: 6 }, () =>
			memoryAdmission(ledger, stored, 'k6', warnings().warn, () => ledger.claim('k6')),
		);
		// Let every copy run as far as it can before the admitted one's run ends.
		await new Promise((r) => setTimeout(r, 20));
		const running = await copies[0];
		expect(running).toEqual(admitted(undefined));
		if (!running.admitted) return;
		running.claim.record();
		running.claim.settle(true);
		expect(await Promise.all(copies.slice(1))).toEqual(
			Array.from({ length: 5 }, () => ({ admitted: false, answer: 'acknowledge' })),
		);
	});

	it('a run that started and did not finish is admitted again, as started (the item says possibleDuplicate)', async () => {
		const { ledger, stored } = fresh();
		const claim = ledger.claim('k2');
		claim.record();
		claim.settle('failed');
		expect(
			await memoryAdmission(ledger, stored, 'k2', warnings().warn, () => ledger.claim('k2')),
		).toEqual(admitted('started'));
	});

	it('a copy arriving while another is in flight waits for it: done → acknowledged, taken back → admitted', async () => {
		const { ledger, stored } = fresh();
		const first = ledger.claim('k3');
		first.record();
		const waiting = memoryAdmission(ledger, stored, 'k3', warnings().warn, () =>
			ledger.claim('k3'),
		);
		first.settle(true);
		expect(await waiting).toEqual({ admitted: false, answer: 'acknowledge' });

		const second = ledger.claim('k4');
		const waitingAgain = memoryAdmission(ledger, stored, 'k4', warnings().warn, () =>
			ledger.claim('k4'),
		);
		second.settle(false);
		expect(await waitingAgain).toEqual(admitted(undefined));
	});

	it('a full memory refuses (503) rather than forgetting, and says so', async () => {
		const ledger = new NotificationLedger(2);
		for (const key of ['a', 'b']) {
			const claim = ledger.claim(key);
			claim.record();
			claim.settle(true);
		}
		const { said, warn } = warnings();
		expect(
			await memoryAdmission(ledger, {} as StoredMemory, 'c', warn, () => ledger.claim('c')),
		).toEqual({
			admitted: false,
			answer: { status: 503, reason: "the trigger's memory of notifications is full, retry later" },
		});
		expect(said[0].message).toMatch(/memory holds .* notifications of the replay window/);
	});
});

it("admit: the window first (no memory touched for a refused one), then the memory, claiming with the notification's time", async () => {
	const ledger = new NotificationLedger();
	const { warn } = warnings();
	const times: Array<number | undefined> = [];
	const claimFor = (at: number | undefined) => {
		times.push(at);
		return ledger.claim('k-admit', Infinity, at);
	};
	expect(
		await admit(verified({ time_end: '' }), ledger, {} as StoredMemory, warn, claimFor),
	).toMatchObject({ admitted: false, answer: { status: 422 } });
	expect(times).toEqual([]);
	expect(
		await admit(verified({ time_end: ksherTime(1) }), ledger, {} as StoredMemory, warn, claimFor),
	).toMatchObject({ admitted: true, before: undefined });
	expect(times).toEqual([expect.any(Number)]);
});
