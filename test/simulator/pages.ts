import type { IncomingMessage, ServerResponse } from 'http';

import { checkoutPage, resultPage } from './checkout';
import { readBody } from './http';
import { markPaid } from './notifications';
import { queryResult } from './state';
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
		const order = world.byUuid.get(
			new URL(req.url ?? '', 'http://x').searchParams.get('order_uuid') ?? '',
		);
		if (!order) return html(404, '<!doctype html><p>Unknown payment link.</p>');
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
			res.writeHead(302, {
				location: `${order.params.mch_redirect_url_fail}${order.params.mch_redirect_url_fail.includes('?') ? '&' : '?'}mch_order_no=${encodeURIComponent(order.mch_order_no)}`,
			});
			return void res.end();
		}
		const problem = markPaid(world, order, form.get('channel') ?? '');
		if (problem) return html(409, checkoutPage(order, false, problem));
		res.writeHead(302, {
			location: `${order.params.mch_redirect_url}${order.params.mch_redirect_url.includes('?') ? '&' : '?'}mch_order_no=${encodeURIComponent(order.mch_order_no)}`,
		});
		return void res.end();
	}
	return html(404, '<!doctype html><p>Not found.</p>');
}
