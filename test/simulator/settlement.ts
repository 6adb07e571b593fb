// The simulator answers the very shape the node reads (SettlementLine): one definition, in the protocol.
import { GATEWAY_CHANNELS, type SettlementLine } from '../../nodes/protocol';
import type { Order } from './state';
import type { World } from './world';

/**
 * How the simulator settles, as Ksher describes settlement (daily cut-off, per channel, after
 * the channel's cycle from merchant_info): per merchant, channel and trading day (Bangkok date
 * of the payment, or of the refund), payments minus refunds; a commission on that day's payments
 * and 7 % VAT on the commission, both rounded half up to whole satang and reported negative
 * (deducted); settled `T+n` days after the trading day, transferred the day after, when what is
 * left is positive. Choices where Ksher's behaviour is unknown are listed in docs/simulator.md.
 */
export const VAT_PERCENT = 7;

/** Settlement cycle per channel, as merchant_info reports it (`settlement_time_type`). */
export function settlementCycle(channel: string): string {
	if (channel === 'card') return 'T+3';
	if (/_instal$/.test(channel)) return 'T+5';
	if (channel === 'linepay' || channel === 'airpay') return 'T+2';
	return 'T+1';
}

export const SETTLEMENT_CHANNELS = GATEWAY_CHANNELS.map((c) => c.value);

const DAY_MS = 86_400_000;
/** The Bangkok date of a Ksher time ("YYYY-MM-DD HH:MM:SS", already Bangkok time). */
const dayOf = (ksherTime: string) => ksherTime.slice(0, 10);
const addDays = (date: string, days: number) =>
	new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
/** a × b ÷ c rounded half up, for non-negative integers. */
const roundHalfUp = (a: number, b: number, c: number) => Math.floor((a * b * 2 + c) / (2 * c));

/** The merchant's settlement lines whose trading day is in begin..end and which are settled by `today` (Bangkok date). */
export function settlementLines(
	world: World,
	appid: string,
	begin: string,
	end: string,
	today: string,
	channel?: string,
): SettlementLine[] {
	const days = new Map<string, { payments: number; refunds: number }>();
	const add = (order: Order, day: string, what: 'payments' | 'refunds', minor: number) => {
		if (
			day < begin ||
			day > end ||
			(channel && order.channel !== channel) ||
			order.fee_type !== 'THB'
		)
			return;
		const key = `${order.channel}\u0000${day}`;
		const totals = days.get(key) ?? { payments: 0, refunds: 0 };
		totals[what] += minor;
		days.set(key, totals);
	};
	for (const order of world.orders.values()) {
		if (order.appid !== appid || !order.time_end) continue;
		add(order, dayOf(order.time_end), 'payments', order.total_fee);
		for (const refund of order.refunds)
			add(order, dayOf(refund.refund_time), 'refunds', refund.refund_fee);
	}
	const rate = world.settlement.commissionBasisPoints;
	const lines: SettlementLine[] = [];
	for (const [key, totals] of [...days].sort(([a], [b]) => a.localeCompare(b))) {
		const [payChannel, day] = key.split('\u0000');
		const settlementDate = addDays(day, Number(settlementCycle(payChannel).slice(2)));
		if (settlementDate > today) continue;
		const commission = roundHalfUp(totals.payments, rate, 10_000);
		const vat = roundHalfUp(commission, VAT_PERCENT, 100);
		const net = totals.payments - totals.refunds - commission - vat;
		const transferDate = addDays(settlementDate, 1);
		const transferred = net > 0 && transferDate <= today;
		lines.push({
			begin_date: day,
			end_date: day,
			settlement_date: settlementDate,
			transfer_date: transferred ? transferDate : '',
			pay_channel: payChannel,
			settlement_amount: totals.payments - totals.refunds,
			commission_fee: -commission,
			vat: -vat,
			transfer_amount: transferred ? net : 0,
		});
	}
	return lines;
}
