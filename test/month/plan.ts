import fc from 'fast-check';

/**
 * A shop's month, drawn from a seed with fast-check's generators (the same seed gives the same
 * month): the orders of each day and what their customers and staff do with them, and the faults.
 * Pure data: `model.ts` says what may come of it, `driver.ts` makes it happen in a real n8n.
 */

export const CHANNELS = ['promptpay', 'truemoney', 'card', 'linepay'] as const;
export type Channel = (typeof CHANNELS)[number];

/** What happens to a paid order after its payment, at most one kind per order. */
export type Aftercare =
	| { kind: 'none' }
	/** Staff refund it in Ksher's portal (outside n8n); `fee` in satang, the whole payment or part of it. */
	| { kind: 'portal'; fee: number; afterDays: number }
	/**
	 * Staff add a row to the refund queue (a Data Table), with the mistakes people make: an empty
	 * amount, more than was paid, the same row twice, a refunded row set back to approved.
	 */
	| { kind: 'queue'; fee: number; mistake: QueueMistake; afterDays: number };

export type QueueMistake = 'none' | 'blank' | 'tooMuch' | 'sameRowTwice' | 'approvedAgain';

export interface PlannedOrder {
	no: string;
	/** The day (1-based) the order is made. */
	day: number;
	fee: number;
	channel: Channel;
	email: string;
	/** The customer pays the same day, the next day, or never. */
	pays: 'sameDay' | 'nextDay' | 'never';
	after: Aftercare;
}

/**
 * `n8nKilled`: the n8n that receives Ksher's notifications SIGKILLed (regular mode: n8n; queue mode: the
 * webhook process). Queue mode only: a worker SIGKILLed, Redis restarted (empty), PostgreSQL stopped for 10 s.
 * Each of these hits while customers pay; Ksher unreachable hits the refund queue; the typo is a person's.
 */
export type FaultKind =
	| 'n8nKilled'
	| 'workerKilled'
	| 'redisRestarted'
	| 'postgresStopped'
	| 'ksherUnreachable'
	| 'typoInQueue';
/** The faults that hit while customers pay (half the day's payments made, the rest on their way). */
export const MID_PAYMENT_FAULTS: FaultKind[] = [
	'n8nKilled',
	'workerKilled',
	'redisRestarted',
	'postgresStopped',
];
export interface Fault {
	day: number;
	kind: FaultKind;
}

export interface MonthPlan {
	seed: number;
	days: number;
	ordersPerDay: number;
	orders: PlannedOrder[];
	faults: Fault[];
}

const weighted = <T>(...pairs: Array<[number, T]>) =>
	fc.oneof(...pairs.map(([weight, value]) => ({ weight, arbitrary: fc.constant(value) })));

/** One order's draw: amount 50.00–3,000.00 THB in satang, channel, payer, and what follows. */
const orderDraw = fc.record({
	fee: fc.integer({ min: 5_000, max: 300_000 }),
	channel: weighted<Channel>([50, 'promptpay'], [20, 'truemoney'], [20, 'card'], [10, 'linepay']),
	pays: weighted<PlannedOrder['pays']>([86, 'sameDay'], [6, 'nextDay'], [8, 'never']),
	after: weighted<'none' | 'portalFull' | 'portalPart' | 'queue'>(
		[90, 'none'],
		[3, 'portalFull'],
		[2, 'portalPart'],
		[5, 'queue'],
	),
	mistake: weighted<QueueMistake>(
		[60, 'none'],
		[10, 'blank'],
		[10, 'tooMuch'],
		[10, 'sameRowTwice'],
		[10, 'approvedAgain'],
	),
	part: fc.integer({ min: 10, max: 90 }),
	afterDays: fc.integer({ min: 0, max: 2 }),
});

export function planMonth(options: {
	seed: number;
	days: number;
	ordersPerDay: number;
	faults?: Fault[];
	mode?: 'regular' | 'queue';
}): MonthPlan {
	const { seed, days, ordersPerDay } = options;
	// Without fast-check's bias towards edge values: a month of ordinary amounts, not of 50.01 and 2,999.99.
	const draws = fc.sample(
		fc.noBias(
			fc.array(orderDraw, { minLength: days * ordersPerDay, maxLength: days * ordersPerDay }),
		),
		{
			seed,
			numRuns: 1,
		},
	)[0];
	const orders: PlannedOrder[] = draws.map((d, i) => {
		const day = Math.floor(i / ordersPerDay) + 1;
		// A part of the payment, in whole satang: `part` % of it, at least 1 satang short of all of it.
		const part = Math.max(1, Math.min(d.fee - 100, Math.floor((d.fee * d.part) / 100)));
		const after: Aftercare =
			d.pays === 'never' || d.after === 'none'
				? { kind: 'none' }
				: d.after === 'queue' || d.channel === 'promptpay'
					? // PromptPay refunds go through n8n (the queue): Ksher gives no refund time for them, so a
						// portal refund is recorded by the watch at the time n8n finds it, and n8n's clock is not the
						// simulated one here (the one partial PromptPay portal refund, below, is the exception).
						{
							kind: 'queue',
							fee: d.after === 'portalFull' ? d.fee : part,
							mistake: d.after === 'queue' ? d.mistake : 'none',
							afterDays: d.afterDays,
						}
					: // A part refunded in the portal is tried on PromptPay only once a month (below): Ksher
						// cannot list it, so it is the reconciliation's one expected mismatch.
						{
							kind: 'portal',
							fee: d.after === 'portalPart' ? part : d.fee,
							afterDays: d.afterDays,
						};
		return {
			no: `M${seed}-D${String(day).padStart(2, '0')}-${String(i).padStart(6, '0')}`,
			day,
			fee: d.fee,
			channel: d.channel,
			email: `customer${i}@example.com`,
			pays: day === days && d.pays === 'nextDay' ? 'sameDay' : d.pays,
			after,
		};
	});
	// The one partial PromptPay refund made outside n8n: the reconciliation must list it, not hide it.
	const promptpay = orders.find(
		(o) =>
			o.channel === 'promptpay' && o.pays === 'sameDay' && o.after.kind === 'none' && o.day < days,
	);
	if (promptpay)
		promptpay.after = { kind: 'portal', fee: Math.floor(promptpay.fee / 2), afterDays: 0 };
	return {
		seed,
		days,
		ordersPerDay,
		orders,
		faults: options.faults ?? defaultFaults(days, options.mode),
	};
}

/** One fault of each kind the mode has, spread over the month (a short month gets several a day). */
export function defaultFaults(days: number, mode: 'regular' | 'queue' = 'regular'): Fault[] {
	const at = (fraction: number) => Math.min(days, Math.max(1, Math.round(days * fraction)));
	return [
		{ day: at(0.3), kind: 'n8nKilled' },
		{ day: at(0.6), kind: 'ksherUnreachable' },
		{ day: at(0.5), kind: 'typoInQueue' },
		...(mode === 'queue'
			? ([
					{ day: at(0.45), kind: 'workerKilled' },
					// A short month (5 days or fewer) has Redis on PostgreSQL's day, so that one day of it has no fault
					// while customers pay: the day the watch runs beside the payments.
					{ day: at(days <= 5 ? 0.9 : 0.75), kind: 'redisRestarted' },
					{ day: at(0.9), kind: 'postgresStopped' },
				] as Fault[])
			: []),
	];
}

/** The day an order is paid on, or undefined. */
export function payDay(order: PlannedOrder): number | undefined {
	if (order.pays === 'never') return undefined;
	return order.pays === 'sameDay' ? order.day : order.day + 1;
}

/** The day its aftercare happens on (never after the month's last day). */
export function aftercareDay(order: PlannedOrder, days: number): number | undefined {
	const paid = payDay(order);
	if (paid === undefined || order.after.kind === 'none') return undefined;
	return Math.min(days, paid + order.after.afterDays);
}
