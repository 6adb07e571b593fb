import { REPLAY_WINDOW_MS, replayWindow, type NotificationCheck } from '../protocol';
import { settledWithin } from './answer';
import { NotificationLedger, type Claim, type ClaimState, type StoredMemory } from './ledger';

/**
 * Admission: whether a verified notification may start a run, before anything is claimed. A
 * notification is turned away when it is outside the replay window (acknowledged, never run),
 * has no readable time (refused loudly: see replayWindow), is already done (acknowledged), is
 * being handled by another copy that does not finish in time (503: Ksher delivers again), or
 * when the memory is full (503 rather than forgetting). Nothing here answers n8n or Ksher: it
 * says what to answer.
 */

/** An answer for Ksher: its acknowledgement, or a refusal with a status and a reason. */
export type Answer = 'acknowledge' | { status: number; reason: string };

export type Admission =
	| { admitted: true; before: ClaimState | undefined; claim: Claim }
	| { admitted: false; answer: Answer };

type Verified = Extract<NotificationCheck, { ok: true }>;
type Warn = (message: string, meta?: Record<string, unknown>) => void;

/** How long a copy waits for another copy's outcome before asking Ksher to send it again. */
export const IN_FLIGHT_WAIT_MS = 60_000;

/** The replay window, measured by the notification's own kind: a refund from its refund time, anything else from its payment time. */
export function windowAdmission(
	check: Verified,
	warn: Warn,
): { admitted: true; at: number | undefined } | { admitted: false; answer: Answer } {
	const replay = replayWindow(check.data, check.event);
	const order = String(check.data.mch_order_no);
	if (replay.verdict === 'refused') {
		// No time to measure the window from: running it would let a replay of the same signed body run again
		// once the memory has let it go. Refused, never run, and said; Ksher keeps retrying.
		warn(
			`Ksher Trigger: the notification for order ${order} is refused (not acknowledged, no run): ${replay.reason}. Check the order with Payment → Get; Payment → Watch for Changes reports it.`,
			{ dedupeKey: check.dedupeKey, field: replay.field },
		);
		return { admitted: false, answer: { status: 422, reason: replay.reason } };
	}
	if (replay.verdict === 'outside') {
		// A captured notification replayed long after the payment (or refund): acknowledged, never run.
		const when =
			replay.field === 'refund_time'
				? `refunded ${String(check.data.refund_time)}`
				: `paid ${String(check.data.time_end)}`;
		warn(
			`Ksher Trigger: the notification for order ${order} (${when}, Bangkok time) is older than the ${REPLAY_WINDOW_MS / 3600_000}-hour replay window: acknowledged without starting the workflow. Check the order with Payment → Get if it is genuine and new to you.`,
			{ dedupeKey: check.dedupeKey },
		);
		return { admitted: false, answer: 'acknowledge' };
	}
	return { admitted: true, at: replay.at };
}

/**
 * The memory: what other processes stored is taken in, a copy in flight decides this one (unless
 * its run is given up on meanwhile: then this one runs it again), a done one is acknowledged.
 * An admitted notification is claimed (`claim`) right after the last check, with no await in
 * between: returning first and claiming in the caller would let another copy of this process,
 * resumed in between, pass the same checks, and both would run.
 */
export async function memoryAdmission(
	ledger: NotificationLedger,
	stored: StoredMemory,
	dedupeKey: string,
	warn: Warn,
	claim: () => Claim,
): Promise<
	| { admitted: true; before: ClaimState | undefined; claim: Claim }
	| { admitted: false; answer: Answer }
> {
	if (ledger.absorb(stored)) ledger.persistInto(stored);
	const waitUntil = Date.now() + IN_FLIGHT_WAIT_MS;
	for (let inFlight = ledger.inFlight(dedupeKey); inFlight; inFlight = ledger.inFlight(dedupeKey)) {
		const ran = await settledWithin(
			inFlight,
			Math.min(waitUntil, ledger.deadlineOf(dedupeKey) ?? waitUntil),
		);
		if (ran === undefined && ledger.inFlight(dedupeKey) === undefined) continue;
		if (ran === undefined)
			return {
				admitted: false,
				answer: {
					status: 503,
					reason: 'another delivery of this notification is still being handled, retry later',
				},
			};
	}
	const before = ledger.state(dedupeKey);
	if (before === 'done') return { admitted: false, answer: 'acknowledge' };
	if (ledger.full()) {
		// Forgetting would let a repeat start a second run: refuse, and Ksher delivers it again later.
		warn(
			`Ksher Trigger: its memory holds ${NotificationLedger.MAX_ENTRIES} notifications of the replay window; refusing new ones (503) until older ones leave the window.`,
		);
		return {
			admitted: false,
			answer: { status: 503, reason: "the trigger's memory of notifications is full, retry later" },
		};
	}
	return { admitted: true, before, claim: claim() };
}

/**
 * Both, in order: the window first (it needs no memory), then the memory, which claims an
 * admitted notification through `claimFor` (given the notification's own time, which the memory
 * keeps it until).
 */
export async function admit(
	check: Verified,
	ledger: NotificationLedger,
	stored: StoredMemory,
	warn: Warn,
	claimFor: (datedAt: number | undefined) => Claim,
): Promise<Admission> {
	const window = windowAdmission(check, warn);
	if (!window.admitted) return window;
	return await memoryAdmission(ledger, stored, check.dedupeKey, warn, () => claimFor(window.at));
}
