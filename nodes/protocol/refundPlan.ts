import { runBounded } from './bounded';
import type { KsherClient } from './client';
import { KsherInputError } from './errors';
import { atRow } from './refundAmounts';
import {
	decideRefund,
	money,
	orderKey,
	RunMemory,
	type PartialRefunds,
	type RefundDecision,
	type RefundRequest,
	type RefundsKnown,
} from './refundRules';
import { listRefunds, paidOrder, type PaidOrder } from './refunds';

/**
 * Checking a whole sheet before any money moves: each order is looked up once (its state and
 * its refund list), the account's partial-refund setting once when a row is partial, then every
 * row is decided in order by the one rule set (refundRules.ts), so that two rows of one order
 * together cannot exceed what remains, a refund number cannot mean two refunds, a row Ksher has
 * already done is recognised as done, and what cannot be checked is said per row. Makes no call
 * that moves money.
 */

export type RefundCheck = { ok: true; plan: RefundDecision } | { ok: false; error: unknown };

interface OrderFacts {
	order: PaidOrder;
	refunds: RefundsKnown;
}

async function lookUp(client: KsherClient, request: RefundRequest): Promise<OrderFacts> {
	const order = await paidOrder(client, request.orderNumber, request.qrChannel);
	// Ksher answers nothing for some wallets (PromptPay, Alipay): then only a fully refunded order's balance is known.
	return { order, refunds: (await listRefunds(client, order.refundTarget)) ?? 'unlisted' };
}

/**
 * merchant_info's `allow_partial_refund`. Ksher signs only part of merchant_info (signature.ts),
 * not this flag: it is used to refuse a partial row early, or to leave it unflagged; a false "Y"
 * only means Ksher refuses that row itself, moving nothing. Not readable: the rows say so.
 */
async function partialRefunds(client: KsherClient): Promise<PartialRefunds> {
	const flag = await client.call('merchant_info').then(
		({ data }) => data.allow_partial_refund,
		() => undefined,
	);
	return flag === 'Y' ? 'allowed' : flag === 'N' ? 'refused' : 'unknown';
}

function decideAll(
	rows: Array<RefundRequest | { error: unknown }>,
	facts: Map<string, { value: OrderFacts } | { error: unknown }>,
	partial: PartialRefunds,
	independent: boolean,
): RefundCheck[] {
	const memory = new RunMemory(independent);
	return rows.map((request): RefundCheck => {
		if (!('orderNumber' in request)) return { ok: false, error: request.error };
		const known = facts.get(orderKey(request))!;
		if ('error' in known) return { ok: false, error: atRow(known.error, request) };
		try {
			return {
				ok: true,
				plan: decideRefund(request, known.value.order, known.value.refunds, partial, memory),
			};
		} catch (error) {
			return { ok: false, error: atRow(error, request) };
		}
	});
}

/**
 * Checks every row (see above); each order's lookup failing is that order's rows' error.
 * `independent`: the rows will be sent on their own (Check All Rows First off), so a row that fits
 * only if an earlier row Ksher may refuse is refused is "would try", not an error.
 */
export async function checkRefunds(
	client: KsherClient,
	rows: Array<RefundRequest | { error: unknown }>,
	concurrency: number,
	independent = false,
): Promise<RefundCheck[]> {
	const orders = [
		...new Map(rows.flatMap((r) => ('orderNumber' in r ? [[orderKey(r), r] as const] : []))),
	];
	const facts = new Map<string, { value: OrderFacts } | { error: unknown }>();
	await runBounded(orders.length, concurrency, async (index) => {
		const [key, request] = orders[index];
		facts.set(
			key,
			await lookUp(client, request).then(
				(value) => ({ value }),
				(error: unknown) => ({ error }),
			),
		);
	});
	const checks = decideAll(rows, facts, 'unread', independent);
	// Only a partial refund depends on the account's setting: ask once, then decide again knowing it.
	const partial = checks.some(
		(c) => c.ok && c.plan.action === 'refund' && c.plan.amount !== c.plan.order.total,
	);
	return partial ? decideAll(rows, facts, await partialRefunds(client), independent) : checks;
}

/** Rows that will be sent and may refund: checked, and those the check could not vouch for. */
export const mayRefund = (
	check: RefundCheck,
): check is { ok: true; plan: Extract<RefundDecision, { action: 'refund' }> } =>
	check.ok && check.plan.action === 'refund';

/** Stop Above Total: per currency, in minor units. */
export type RefundCeilings = Record<string, number>;

/**
 * The error every row gets when the rows together would refund more than a ceiling allows (or
 * refund a currency that has no ceiling while others have one); undefined when within them.
 */
export function ceilingBreach(
	checks: RefundCheck[],
	ceilings: RefundCeilings,
): KsherInputError | undefined {
	if (Object.keys(ceilings).length === 0) return undefined;
	const totals = new Map<string, number>();
	for (const check of checks) {
		if (mayRefund(check))
			totals.set(
				check.plan.order.currency,
				(totals.get(check.plan.order.currency) ?? 0) + check.plan.amount,
			);
	}
	for (const [currency, total] of totals) {
		const ceiling = ceilings[currency];
		if (ceiling === undefined) {
			return new KsherInputError(
				'Stop Above Total',
				`Nothing was refunded: the rows would refund ${money(total, currency)}, and Stop Above Total has no limit for ${currency}`,
				`Add a Stop Above Total limit for ${currency}, or remove the ${currency} rows.`,
			);
		}
		if (total > ceiling) {
			return new KsherInputError(
				'Stop Above Total',
				`Nothing was refunded: the rows together would refund ${money(total, currency)}, above Stop Above Total ${money(ceiling, currency)}`,
				'Check the sheet (a wrong column or extra rows?), split it into smaller runs, or raise Stop Above Total.',
			);
		}
	}
	return undefined;
}
