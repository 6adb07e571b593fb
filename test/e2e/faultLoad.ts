import type { Simulator } from '../simulator/server';
import { paidNotificationData } from '../harness/exactlyOnce';
import type { N8nRest } from '../harness/rest';
import { FINISHING_WORKFLOW_IDS } from '../harness/workflows';
import { createOrder, type LineContext } from './context';
import { assert, log, waitFor } from './steps';

/**
 * Payments under faults: the load the crash steps and queue mode both drive (payments at a rate,
 * Ksher's retries, faults at chosen moments) and the notification data they sign. A helper of the
 * e2e's, not a step module: step modules import it, never each other.
 */

/** Where the load goes: the finishing workflow `FINISHING_WORKFLOW_IDS.crash` (a run ends in an email), at `notifyUrl`. */
export interface FaultLoad {
	/** The n8n REST API as it is now (n8n may have been restarted). */
	rest: () => N8nRest;
	notifyUrl: string;
}

export interface Fault {
	/** When, in ms after the first payment. */
	atMs: number;
	what: string;
	act: () => Promise<void>;
}

export interface FaultOutcome {
	summary: string;
	lost: number;
	/** Notifications Ksher never got its acknowledgement for (it would go on delivering them for 29 hours). */
	unacknowledged: number;
	duplicates: number;
	/** Deliveries open when a fault hit, plus those n8n itself answered with an error (its run's end not recorded): what can run twice. */
	mayRunTwice: number;
}

/** Creates `count` orders, pays them at `perSecond` while the faults happen, and counts what came of them once Ksher has given up or everything is acknowledged. */
export async function paymentsUnderFaults(
	ctx: LineContext,
	load: FaultLoad,
	prefix: string,
	count: number,
	perSecond: number,
	faults: Fault[],
): Promise<FaultOutcome> {
	const { sim, smtp, client } = ctx;
	const workflowId = FINISHING_WORKFLOW_IDS.crash;
	const orders: string[] = [];
	for (let i = 0; i < count; i++) {
		const no = `${prefix}-${Date.now().toString(36)}-${i}`;
		await createOrder(client, no, { product_name: 'fault item', mch_notify_url: load.notifyUrl });
		orders.push(no);
	}
	const mine = new Set(orders);
	// Ksher's schedule 100× faster (10 ms, 20 ms, 20 ms, 100 ms, 0.3 s, 0.6 s, 6 s, 36 s, 108 s, 180 s, …, ~17 minutes
	// in all): faster still, a restart of n8n would outlast it, which the real 29 hours never do.
	const scale = (await (
		await fetch(`${sim.info.controlUrl}/time-scale`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ timeScale: 0.01 }),
		})
	).json()) as { previous: number };
	try {
		return await underFaults();
	} finally {
		await fetch(`${sim.info.controlUrl}/time-scale`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ timeScale: scale.previous }),
		});
	}
	async function underFaults(): Promise<FaultOutcome> {
		const statusesBefore = await load.rest().executionStatuses(workflowId);
		const started = Date.now();
		const pay = (no: string) =>
			fetch(`${sim.info.controlUrl}/pay`, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ mch_order_no: no, channel: 'promptpay' }),
			}).then((r) => assert(r.status === 200, `simulator /pay answered ${r.status}`));
		const paying = Promise.all(
			orders.map(async (no, i) => {
				const wait = started + (i * 1000) / perSecond - Date.now();
				if (wait > 0) await new Promise((r) => setTimeout(r, wait));
				await pay(no);
			}),
		);
		// Deliveries still open when a fault hits: the runs it may cut short.
		const open = () =>
			sim.deliveries.filter(
				(d) => mine.has(d.mch_order_no) && d.status === null && d.error === undefined,
			).length;
		let inFlightAtFaults = 0;
		const happened: string[] = [];
		for (const fault of faults) {
			const wait = started + fault.atMs - Date.now();
			if (wait > 0) await new Promise((r) => setTimeout(r, wait));
			const inFlight = open();
			inFlightAtFaults += inFlight;
			const t0 = Date.now();
			await fault.act();
			happened.push(
				`${fault.what} at ${((t0 - started) / 1000).toFixed(1)} s with ${inFlight} deliveries open (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
			);
			log(`fault: ${happened.at(-1)}`);
		}
		await paying;

		const runsOf = (no: string) => smtp.mails.filter((m) => m.subject === `Run for ${no}`);
		const attemptsOf = (no: string) => sim.deliveries.filter((d) => d.mch_order_no === no);
		const settled = (no: string) =>
			attemptsOf(no).some((a) => a.acknowledged) && runsOf(no).length > 0;
		// Every order is done within a few minutes unless something is lost (or Ksher's 6 s, 36 s, 108 s retries are still to come).
		await waitFor(
			'every order acknowledged and its workflow finished',
			() => (orders.every(settled) ? true : undefined),
			300_000,
		).catch(() => undefined);
		await new Promise((r) => setTimeout(r, 3000));

		const acknowledged = orders.filter((no) => attemptsOf(no).some((a) => a.acknowledged)).length;
		const tries = new Map<number, number>();
		for (const no of orders) {
			const attempts = attemptsOf(no);
			const upTo = attempts.findIndex((a) => a.acknowledged);
			const n = upTo === -1 ? attempts.length : upTo + 1;
			tries.set(n, (tries.get(n) ?? 0) + 1);
		}
		const lost = orders.filter((no) => runsOf(no).length === 0);
		const twice = orders.filter((no) => runsOf(no).length > 1);
		const extraRuns = twice.flatMap((no) => runsOf(no).slice(1));
		const flagged = extraRuns.filter((m) => m.text.includes('possibleDuplicate=true')).length;
		const firstFlagged = orders.filter((no) =>
			runsOf(no)[0]?.text.includes('possibleDuplicate=true'),
		).length;
		// Newest first: the executions this load started are the first ones.
		const all = await load.rest().executionStatuses(workflowId);
		const statuses = all.slice(0, all.length - statusesBefore.length);
		const byStatus = new Map<string, number>();
		for (const s of statuses) byStatus.set(s, (byStatus.get(s) ?? 0) + 1);
		const finished = orders.reduce((n, no) => n + runsOf(no).length, 0);
		// n8n's own error answers (not the trigger's {"result":"FAIL"} refusals): a run whose outcome n8n could not record.
		const n8nErrors = orders
			.flatMap(attemptsOf)
			.filter(
				(a) => a.status !== null && a.status >= 500 && !a.response.startsWith('{"result":"FAIL"'),
			).length;
		const summary = [
			`${count} paid, ${acknowledged} acknowledged`,
			`deliveries per notification ${[...tries]
				.sort(([a], [b]) => a - b)
				.map(([n, k]) => `${n}×: ${k}`)
				.join(', ')}`,
			`${statuses.length} executions (${[...byStatus].map(([s, n]) => `${n} ${s}`).join(', ')})`,
			`${finished} finished runs`,
			`${lost.length} lost`,
			`${twice.length} finished twice (${flagged} of the repeats flagged possibleDuplicate; ${firstFlagged} first runs flagged)`,
			`${inFlightAtFaults} deliveries open at the faults, ${n8nErrors} answered with an n8n error`,
			happened.join('; '),
			// Each order that ran to the end twice: when its deliveries and emails happened (s from the start), to tell which path it took.
			...twice.map((no) => {
				const at = (iso: string) => ((Date.parse(iso) - started) / 1000).toFixed(1);
				const sent = attemptsOf(no)
					.map((a) => `${at(a.at)} ${a.status ?? a.error ?? 'open'}`)
					.join(', ');
				const ran = runsOf(no)
					.map((m) => `${at(m.at)}${m.text.includes('possibleDuplicate=true') ? ' flagged' : ''}`)
					.join(', ');
				return `${no}: deliveries ${sent}; emails ${ran}`;
			}),
		].join('; ');
		log(`figure: ${summary}`);
		return {
			summary,
			lost: lost.length,
			unacknowledged: count - acknowledged,
			duplicates: twice.length,
			mayRunTwice: inFlightAtFaults + n8nErrors,
		};
	}
}

/**
 * What the shop needs after a fault: every paid order's workflow finished and acknowledged, and
 * no more orders finished twice than the runs the fault cut short or n8n failed. Fails the step
 * otherwise; returns the outcome's summary.
 */
export function everyWorkflowFinished(outcome: FaultOutcome): string {
	assert(
		outcome.lost === 0 && outcome.unacknowledged === 0,
		`${outcome.lost} orders never finished, ${outcome.unacknowledged} never acknowledged: ${outcome.summary}`,
	);
	assert(
		outcome.duplicates <= outcome.mayRunTwice,
		`${outcome.duplicates} orders finished twice, more than the ${outcome.mayRunTwice} runs cut short or failed by n8n: ${outcome.summary}`,
	);
	return outcome.summary;
}

/** A paid notification's data for an order the simulator need not know (the trigger only verifies it). */
export function notificationData(
	sim: Simulator,
	orderNo: string,
	timeEnd: string,
): Record<string, unknown> {
	return paidNotificationData(sim, orderNo, timeEnd, {
		ksherOrderNo: `700${Date.now()}${Math.floor(Math.random() * 1e6)}`,
		nonce: `m${Math.random().toString(16).slice(2)}`.padEnd(32, '0').slice(0, 32),
		payOrderNo: `26${Date.now()}`,
	});
}
