import { channelInfo, fromMinorUnits } from '../../nodes/protocol';
import type { Order } from './state';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The payer's side: a small checkout page that lists the order's channels. */
export function checkoutPage(order: Order, open: boolean, message = ''): string {
	const amount = `${fromMinorUnits(order.total_fee, order.fee_type)} ${order.fee_type}`;
	const title = escape(order.params.shop_name || 'Ksher Simulator');
	const buttons = order.channel_list
		.map(
			(c) =>
				`<button name="channel" value="${escape(c)}" type="submit">${escape(channelInfo(c)?.name ?? c)}</button>`,
		)
		.join('\n');
	const body = open
		? `<form method="post" action="page/pay"><input type="hidden" name="order_uuid" value="${order.order_uuid}">
<p>Choose how to pay:</p><div class="channels">${buttons}</div></form>
<form method="post" action="page/fail"><input type="hidden" name="order_uuid" value="${order.order_uuid}"><button class="fail" type="submit">Fail / Cancel</button></form>`
		: `<p class="closed">${escape(message || 'This payment link is no longer valid.')}</p>`;
	return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title} · Pay ${escape(amount)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.2rem;color:${escape(order.params.color || '#FF6A13')}}.amount{font-size:2rem;font-weight:700}
.channels{display:grid;gap:.5rem}button{font-size:1rem;padding:.7rem;border-radius:.4rem;border:1px solid #ccc;background:#fff;cursor:pointer}
button:hover{border-color:#FF6A13}.fail{margin-top:1rem;width:100%;color:#a00}.closed{color:#a00}small{color:#777}</style></head>
<body><h1>${title}</h1><p>${escape(order.params.product_name || '')}</p><p class="amount">${escape(amount)}</p>
<p><small>Order ${escape(order.params.mch_code || order.mch_order_no)} · Ksher Gateway Pay simulator, no real money moves</small></p>
${body}</body></html>`;
}

const STATES: Record<string, string> = {
	SUCCESS: 'Paid',
	REFUND: 'Paid, then refunded',
	NOTSURE: 'Not paid yet',
	PAYERROR: 'The last payment attempt failed; the link can still be paid',
	CLOSED: 'Cancelled or expired: nothing was charged',
};

/**
 * Where the demo's payment links send the payer back: the order and its state as Ksher
 * would report it, and (when the demo passes `mail`) a link to the emails n8n sent.
 */
export function resultPage(
	orderNo: string,
	order: Order | undefined,
	result: string,
	mailUrl?: string,
): string {
	const amount = order
		? `${fromMinorUnits(order.total_fee, order.fee_type)} ${order.fee_type}`
		: '';
	const channel = order?.channel
		? ` with ${escape(channelInfo(order.channel)?.name ?? order.channel)}`
		: '';
	const state = order
		? `${STATES[result] ?? result}${result === 'SUCCESS' || result === 'REFUND' ? channel : ''}`
		: 'Unknown order';
	const mail =
		mailUrl && /^https?:\/\//.test(mailUrl)
			? `<p><a href="${escape(mailUrl)}">See the emails n8n sent →</a></p>`
			: '';
	return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Order ${escape(orderNo)} · ${escape(state)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.2rem;color:#FF6A13}.state{font-size:1.5rem;font-weight:700}small{color:#777}</style></head>
<body><h1>Order ${escape(orderNo)}</h1><p class="state" id="state">${escape(state)}</p>${amount ? `<p>${escape(amount)}</p>` : ''}
<p><small>The page your shop's success URL would show. It is not proof of payment: the signed notification
(or Payment → Get) is. Ksher Gateway Pay simulator, no real money moves.</small></p>${mail}</body></html>`;
}
