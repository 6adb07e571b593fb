import { existsSync, readFileSync, renameSync, writeFileSync } from 'fs';

import type { Order } from './state';
import type { World } from './world';

/**
 * The simulator's book in a file: its orders (with their refunds), the refund numbers used, its
 * clock and the account's settings, so that a demo's world outlives a restart as Ksher's does.
 * Not kept: notifications still to be retried and unpaid links' expiry timers (a restarted
 * simulator neither retries nor expires them), deliveries and requests (logs), faults.
 */
interface Book {
	version: 1;
	orders: Order[];
	usedRefundNos: Record<string, string[]>;
	clockOffsetMs: number;
	commissionBasisPoints: number;
	accounts: Record<string, { allow_partial_refund: 'Y' | 'N'; qr_payments: 'Y' | 'N' }>;
}

function bookOf(world: World): Book {
	return {
		version: 1,
		orders: [...world.orders.values()],
		usedRefundNos: Object.fromEntries(
			[...world.usedRefundNos].map(([appid, numbers]) => [appid, [...numbers]]),
		),
		clockOffsetMs: world.clockOffsetMs,
		commissionBasisPoints: world.settlement.commissionBasisPoints,
		accounts: Object.fromEntries(
			[...world.merchants].map(([appid, m]) => [
				appid,
				{ allow_partial_refund: m.allow_partial_refund, qr_payments: m.qr_payments },
			]),
		),
	};
}

/** Loads the book kept in `file`, if there is one; returns how many orders it held. */
export function loadBook(world: World, file: string): number {
	if (!existsSync(file)) return 0;
	const book = JSON.parse(readFileSync(file, 'utf8')) as Book;
	if (book.version !== 1) throw new Error(`${file}: a simulator book of version ${book.version}`);
	for (const order of book.orders) world.addOrder(order);
	for (const [appid, numbers] of Object.entries(book.usedRefundNos))
		world.usedRefundNos.set(appid, new Set(numbers));
	world.clockOffsetMs = book.clockOffsetMs;
	world.settlement.commissionBasisPoints = book.commissionBasisPoints;
	for (const [appid, settings] of Object.entries(book.accounts)) {
		const merchant = world.merchants.get(appid);
		// Merchants added over the control API are not kept (their keys are not): only the default one is.
		if (merchant) Object.assign(merchant, settings);
	}
	return book.orders.length;
}

/**
 * Keeps the book in `file`: written whenever it changed, checked every `everyMs` (and written
 * whole to a temporary file first, so a kill mid-write leaves the previous book). Returns a
 * function that writes it a last time and stops.
 */
export function keepBook(world: World, file: string, everyMs = 1000): () => void {
	let last = '';
	const save = () => {
		const text = JSON.stringify(bookOf(world));
		if (text === last) return;
		writeFileSync(`${file}.tmp`, text);
		renameSync(`${file}.tmp`, file);
		last = text;
	};
	const timer = setInterval(save, everyMs);
	timer.unref();
	return () => {
		clearInterval(timer);
		save();
	};
}
