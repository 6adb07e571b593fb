import { sleep } from 'n8n-workflow';

/**
 * What the trigger needs to know about n8n's answer to a request: whether it went out
 * with a 200, and a way to act until it has. (n8n's rules for community nodes allow no
 * timers of their own: waits use n8n's sleep.)
 */
export type Answerable = {
	once?: (event: 'close', listener: () => void) => unknown;
	writableFinished?: boolean;
	statusCode?: number;
	/** Set once the response (or its connection) has closed: a 'close' listener added then never fires. */
	closed?: boolean;
	destroyed?: boolean;
	socket?: { destroyed?: boolean } | null;
	send?: (body?: unknown) => unknown;
	json?: (body?: unknown) => unknown;
};

/**
 * How long a claim whose connection Ksher closed first (its 10 s timeout) waits for n8n's own answer before the
 * next copy leaves it *started* and runs (flagged possibleDuplicate). Copies wait for it meanwhile (up to
 * IN_FLIGHT_WAIT_MS each, then 503): a busy n8n can take tens of seconds past Ksher's timeout to store a run.
 * A deadline on the claim, not a timer: nothing keeps the process busy for a request n8n never finishes.
 */
export const ANSWER_AFTER_CLOSE_WAIT_MS = 5 * 60_000;

/**
 * n8n's answer as n8n hands it over (res.send / res.json), which it does even when Ksher has closed the
 * connection meanwhile: true for a 2xx. The answer itself goes out unchanged. Undefined when the response
 * has no such methods (an in-process benchmark).
 */
export function answerHandedOver(res: Answerable): Promise<boolean> | undefined {
	const send = res.send?.bind(res);
	const json = res.json?.bind(res);
	if (!send || !json) return undefined;
	return new Promise<boolean>((resolve) => {
		const handOver = (original: (body?: unknown) => unknown, body?: unknown) => {
			const status = res.statusCode ?? 200;
			resolve(status >= 200 && status < 300);
			return original(body);
		};
		res.send = (body?: unknown) => handOver(send, body);
		res.json = (body?: unknown) => handOver(json, body);
	});
}

/** The outcome, or undefined once the deadline (epoch ms) has passed without one. */
export async function settledWithin(
	outcome: Promise<boolean>,
	deadline: number,
): Promise<boolean | undefined> {
	let settled: boolean | undefined;
	void outcome.then((ran) => (settled = ran));
	while (settled === undefined && Date.now() < deadline) {
		await Promise.race([outcome, sleep(Math.min(250, Math.max(1, deadline - Date.now())))]);
	}
	return settled;
}

/** Whether the response has closed already (Ksher gave up while this request waited): no 'close' will come. */
function alreadyClosed(res: Answerable): boolean {
	return res.closed === true || res.destroyed === true || res.socket?.destroyed === true;
}

/** Calls back with the status n8n answered with, or 0 when the connection ended without an answer. */
export function whenAnswered(res: Answerable, callback: (status: number) => void): void {
	if (typeof res.once !== 'function') {
		// Not an HTTP response (an in-process benchmark): nothing will be answered on it.
		callback(200);
		return;
	}
	const status = () => (res.writableFinished ? (res.statusCode ?? 0) : 0);
	if (alreadyClosed(res)) callback(status());
	else res.once('close', () => callback(status()));
}

/**
 * Calls mark() on the next turn of the event loop, then with growing gaps (5 ms … 2 s, then
 * every 2 s), until the answer has gone out: an answer that waits for the whole run (Acknowledge
 * "When the Workflow Has Finished") comes after a save that must still carry the claim. A few
 * wake-ups per request, not one every few milliseconds: under load many answers are pending at once.
 */
export function keepMarkedUntilAnswered(res: Answerable, mark: () => void, maxMs = 3600_000): void {
	if (typeof res.once !== 'function') return;
	// Until the connection has closed (answered or not): marking on after that kept a process busy for an hour
	// for a request n8n might never finish. A connection Ksher closed before this request got here (a copy
	// that waited for another's outcome) still gets the first few marks, which n8n's save after its
	// WorkflowRunner cleared the mark needs (else the claim reaches the database only with a later request,
	// and a restart before that runs the payment again unflagged): at most 625 ms, nothing left running.
	const closedBefore = alreadyClosed(res);
	let answered = false;
	if (!closedBefore) res.once('close', () => (answered = true));
	void (async () => {
		const until = Date.now() + maxMs;
		for (const gap of [0, 5, 20, 100, 500]) {
			await sleep(gap);
			if (answered) return;
			mark();
		}
		if (closedBefore) return;
		while (!answered && Date.now() < until) {
			await sleep(2000);
			if (!answered) mark();
		}
	})();
}
