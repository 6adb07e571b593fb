import { KSHER_ACK, RETRY_SCHEDULE_S } from '../simulator/notifications';
import type { Simulator } from '../simulator/server';
import { ksherTime } from '../simulator/state';
import { fetchWithin } from './http';

/**
 * Deliveries of genuine, correctly signed notifications straight to a trigger URL, the way
 * Ksher (or a replay) would send them, with controlled concurrency; and the checks of how
 * many executions they started.
 */
/** The acknowledgement Ksher requires, as Ksher's side of the tests states it. */
export const ACK = KSHER_ACK;

export interface Answer {
	status: number;
	body: string;
	ms: number;
}

let serial = 0;

/** A genuine paid notification for an order number that is unique to this run. */
export function paidNotification(
	sim: Simulator,
	prefix: string,
): { orderNo: string; body: string } {
	const n = ++serial;
	const orderNo = `${prefix}-${Date.now().toString(36)}-${n}`;
	const body = sim.signedNotification(
		paidNotificationData(sim, orderNo, ksherTime(new Date()), {
			ksherOrderNo: `7002026113000${String(n).padStart(10, '0')}`,
			nonce: `e2e${n}`.padEnd(32, '0'),
			payOrderNo: `2611300000${String(n).padStart(6, '0')}`,
		}),
	);
	return { orderNo, body };
}

/**
 * The data of Ksher's notification that `orderNo` was paid 150.50 THB by PromptPay at `timeEnd`
 * (unsigned); `ids` are Ksher's own numbers for it, which each notification needs of its own.
 */
export function paidNotificationData(
	sim: Simulator,
	orderNo: string,
	timeEnd: string,
	ids: { ksherOrderNo: string; nonce: string; payOrderNo: string },
): Record<string, unknown> {
	return {
		appid: sim.info.appid,
		attach: '',
		cash_fee: 15050,
		cash_fee_type: 'THB',
		channel: 'promptpay',
		channel_order_no: '',
		fee_type: 'THB',
		ksher_order_no: ids.ksherOrderNo,
		mch_order_no: orderNo,
		nonce_str: ids.nonce,
		openid: '',
		pay_mch_order_no: ids.payOrderNo,
		rate: '1.000000',
		result: 'SUCCESS',
		time_end: timeEnd,
		total_fee: 15050,
	};
}

export async function deliver(url: string, body: string, timeoutMs?: number): Promise<Answer> {
	const started = performance.now();
	try {
		const { response, text } = await fetchWithin(
			url,
			{ method: 'POST', headers: { 'content-type': 'text/plain;charset=utf-8' }, body },
			timeoutMs,
			'The operation was aborted due to timeout',
		);
		return { status: response.status, body: text, ms: performance.now() - started };
	} catch (error) {
		return { status: 0, body: (error as Error).message, ms: performance.now() - started };
	}
}

/** Sends each (url, body) with at most `inFlight` requests open at once; answers in input order. */
export async function deliverAll(
	jobs: Array<{ url: string; body: string }>,
	inFlight: number,
): Promise<Answer[]> {
	const answers: Answer[] = new Array<Answer>(jobs.length);
	let next = 0;
	const worker = async () => {
		while (next < jobs.length) {
			const i = next++;
			answers[i] = await deliver(jobs[i].url, jobs[i].body);
		}
	};
	await Promise.all(Array.from({ length: Math.min(inFlight, jobs.length) }, worker));
	return answers;
}

export function shuffle<T>(items: T[]): T[] {
	for (let i = items.length - 1; i > 0; i--) {
		const j = Math.floor(Math.random() * (i + 1));
		[items[i], items[j]] = [items[j], items[i]];
	}
	return items;
}

export const notAcknowledged = (answers: Answer[]) =>
	answers.filter((a) => a.status !== 200 || a.body !== ACK);

export function describeAnswers(answers: Answer[]): string {
	const counts = new Map<string, number>();
	for (const a of answers)
		counts.set(
			`${a.status} ${a.body.slice(0, 80)}`,
			(counts.get(`${a.status} ${a.body.slice(0, 80)}`) ?? 0) + 1,
		);
	return [...counts].map(([k, n]) => `${n}× ${k}`).join('; ');
}

/** Order numbers that started more than one run, and those that started none. */
export function runCheck(
	expected: string[],
	started: string[],
): { twice: string[]; missing: string[]; extra: string[] } {
	const counts = new Map<string, number>();
	for (const o of started) counts.set(o, (counts.get(o) ?? 0) + 1);
	const want = new Set(expected);
	return {
		twice: [...counts].filter(([, n]) => n > 1).map(([o]) => o),
		missing: expected.filter((o) => !counts.has(o)),
		extra: [...counts.keys()].filter((o) => !want.has(o)),
	};
}

export function percentile(values: number[], p: number): number {
	const sorted = [...values].sort((a, b) => a - b);
	return (
		sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0
	);
}

/**
 * The runs a workflow's trigger started, once n8n has them all: an execution is stored
 * before the trigger is answered, but its trigger output appears only when it runs (on a
 * worker, in queue mode). Waits until every execution shows its order and the count is
 * at least the expected one, then compares.
 */
export async function settledRunCheck(
	list: () => Promise<string[]>,
	expected: string[],
	timeoutMs = 120_000,
): Promise<ReturnType<typeof runCheck> & { executions: number }> {
	const started = Date.now();
	let orders = await list();
	while (
		(orders.includes('?') || orders.length < expected.length) &&
		Date.now() - started < timeoutMs
	) {
		await new Promise((r) => setTimeout(r, 500));
		orders = await list();
	}
	// A moment more, so that a late duplicate would be seen too.
	await new Promise((r) => setTimeout(r, 1000));
	orders = await list();
	return { ...runCheck(expected, orders), executions: orders.length };
}

/** What one notification went through when delivered the way Ksher delivers. */
export interface KsherDelivery {
	/** Every answer, in order; the last is the acknowledgement unless Ksher gave up. */
	answers: Answer[];
	acknowledged: boolean;
}

/**
 * Delivers each job the way Ksher does: the first delivery at its slot (a steady rate), then,
 * while it is not acknowledged, again after each delay of Ksher's retry schedule (compressed by
 * `timeScale`), with Ksher's 10 s timeout per delivery. Resolves when every job is acknowledged
 * or has run out of retries (Ksher's, or the first `retries` of them).
 */
export async function deliverLikeKsher(
	jobs: Array<{ url: string | (() => string); body: string; slot?: number }>,
	perSecond: number,
	timeScale: number,
	acknowledges: (answer: Answer) => boolean = (answer) =>
		answer.status === 200 && answer.body === ACK,
	retries = RETRY_SCHEDULE_S.length,
): Promise<KsherDelivery[]> {
	const started = performance.now();
	return Promise.all(
		jobs.map(async (job, i) => {
			const due = started + ((job.slot ?? i) * 1000) / perSecond;
			const wait = due - performance.now();
			if (wait > 0) await new Promise((r) => setTimeout(r, wait));
			const answers: Answer[] = [];
			for (let attempt = 0; ; attempt++) {
				const answer = await deliver(
					typeof job.url === 'string' ? job.url : job.url(),
					job.body,
					10_000,
				);
				answers.push(answer);
				if (acknowledges(answer)) return { answers, acknowledged: true };
				if (attempt >= Math.min(retries, RETRY_SCHEDULE_S.length))
					return { answers, acknowledged: false };
				await new Promise((r) => setTimeout(r, RETRY_SCHEDULE_S[attempt] * 1000 * timeScale));
			}
		}),
	);
}

/** "1 delivery: 280, 2: 15, 4: 5": how many deliveries each notification took to be acknowledged. */
export function deliveryCounts(deliveries: KsherDelivery[]): string {
	const counts = new Map<number, number>();
	for (const d of deliveries) counts.set(d.answers.length, (counts.get(d.answers.length) ?? 0) + 1);
	const given = deliveries.filter((d) => !d.acknowledged).length;
	return (
		[...counts]
			.sort(([a], [b]) => a - b)
			.map(([n, k], i) => `${i === 0 ? `${n} deliver${n === 1 ? 'y' : 'ies'}` : n}: ${k}`)
			.join(', ') + (given ? `; ${given} never acknowledged` : '')
	);
}
