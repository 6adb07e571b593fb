import type { IncomingMessage, ServerResponse } from 'http';

import { checkoutPage, resultPage } from './checkout';
import { readBody } from './http';
import { markPaid } from './notifications';
import { queryResult, type Order } from './state';
import type { World } from './world';

/** The payer's pages: checkout (pay or fail), and the order page used as a success URL. */
export async function handlePages(
	world: World,
	req: IncomingMessage,
	res: ServerResponse,
	path: string,
): Promise<void> {
	const html = (status: number, text: string) => {
		res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
		res.end(text);
	};
	if (req.method === 'GET' && path === '/page') {
		// A payment link's page (order_uuid), or a QR's as the customer's app shows it once scanned:
		// by its text (code, e.g. a PromptPay payload pasted here) or by Ksher's order number.
		const query = new URL(req.url ?? '', 'http://x').searchParams;
		const code = query.get('code')?.trim();
		const ksherNo = query.get('ksher_order_no');
		const order = code
			? [...world.orders.values()].find((o) => o.qr_payload === code)
			: ksherNo
				? [...world.orders.values()].find((o) => o.kind === 'qr' && o.ksher_order_no === ksherNo)
				: world.byUuid.get(query.get('order_uuid') ?? '');
		if (!order) return html(404, '<!doctype html><p>Unknown payment link or QR.</p>');
		const result = queryResult(order);
		const open = result === 'NOTSURE' || result === 'PAYERROR';
		return html(
			200,
			checkoutPage(
				order,
				open,
				result === 'SUCCESS' || result === 'REFUND' ? 'This order is already paid.' : '',
			),
		);
	}
	if (req.method === 'GET' && path === '/page/scan') {
		// The customer's banking app, for the demo: paste the QR's text (Create QR's qrPayload), pay it.
		return html(
			200,
			`<!doctype html><meta charset="utf-8"><title>Scan a QR (simulator)</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}textarea{width:100%;height:6rem}</style>
<h1>Pay a QR</h1><p>Paste the QR's text (Create QR's <code>qrPayload</code>), as a banking app reads it when it scans the QR.</p>
<form method="get" action="/page"><textarea name="code" required></textarea><p><button type="submit">Continue</button></p></form>
<p><small>Ksher simulator, no real money moves.</small></p>`,
		);
	}
	if (req.method === 'GET' && path === '/page/result') {
		const query = new URL(req.url ?? '', 'http://x').searchParams;
		const no = query.get('mch_order_no') ?? '';
		const order = world.findOrder(no, query.get('appid') ?? world.defaultAppid);
		return html(
			order ? 200 : 404,
			resultPage(no, order, order ? queryResult(order) : '', query.get('mail') ?? undefined),
		);
	}
	if (req.method === 'POST' && (path === '/page/pay' || path === '/page/fail')) {
		const form = new URLSearchParams(await readBody(req));
		const order = world.byUuid.get(form.get('order_uuid') ?? '');
		if (!order) return html(404, '<!doctype html><p>Unknown payment link.</p>');
		if (path === '/page/fail') {
			if (order.state !== 'SUCCESS') {
				order.state = 'PAYERROR';
				order.failed_attempts++;
			}
			res.writeHead(302, { location: back(order, order.params.mch_redirect_url_fail) });
			return void res.end();
		}
		const problem = markPaid(world, order, form.get('channel') ?? '');
		if (problem) return html(409, checkoutPage(order, false, problem));
		res.writeHead(302, { location: back(order, order.params.mch_redirect_url) });
		return void res.end();
	}
	return html(404, '<!doctype html><p>Not found.</p>');
}

/** Where the payer goes after paying: the shop's redirect URL, or for a QR (none) the order page. */
function back(order: Order, redirect: string | undefined): string {
	const no = `mch_order_no=${encodeURIComponent(order.mch_order_no)}`;
	if (order.kind === 'qr' || !redirect) return `/page/result?${no}`;
	return `${redirect}${redirect.includes('?') ? '&' : '?'}${no}`;
}
