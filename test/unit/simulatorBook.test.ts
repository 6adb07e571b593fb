import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { startHarness, type SimulatorHarness } from '../helpers/simulator';

/** The demo's simulator keeps its book in .demo/: a restarted simulator knows what the last one did. */
describe('the simulator book (bookFile): orders, refunds, clock and account settings outlive a restart', () => {
	let dir: string;
	const started: SimulatorHarness[] = [];
	const start = async () => {
		const h = await startHarness({
			keysDir: join(dir, 'keys'),
			bookFile: join(dir, 'simulator-book.json'),
		});
		started.push(h);
		return h;
	};
	beforeEach(() => {
		dir = mkdtempSync(join(tmpdir(), 'ksher-book-'));
	});
	afterEach(async () => {
		for (const h of started.splice(0)) await h.sim.close();
		rmSync(dir, { recursive: true, force: true });
	});

	it('a paid and refunded order, the moved clock and a setting are there after a restart; a refund number stays used', async () => {
		const first = await start();
		const { orderNo } = await first.createOrder();
		await first.payOrder(orderNo);
		await first.control('/refund', {
			mch_order_no: orderNo,
			refund_fee: 5050,
			mch_refund_no: 'R1',
		});
		const clock = await first.control<{ now: string }>('/clock', { advanceDays: 3 });
		await first.control('/merchant-settings', { allow_partial_refund: 'N' });
		await first.sim.close();
		started.length = 0;

		const second = await start();
		const { data } = await second.client.call('gateway_order_query', { mch_order_no: orderNo });
		expect(data).toMatchObject({ mch_order_no: orderNo, result: 'SUCCESS', total_fee: 15050 });
		expect(second.sim.order(orderNo)?.refunds.map((r) => [r.mch_refund_no, r.refund_fee])).toEqual([
			['R1', 5050],
		]);
		const now = await second.control<{ now: string }>('/clock', { advanceDays: 0 });
		expect(Date.parse(now.body.now) - Date.parse(clock.body.now)).toBeGreaterThanOrEqual(0);
		expect(Date.parse(now.body.now) - Date.now()).toBeGreaterThan(3 * 86_400_000 - 60_000);
		const info = await second.client.call('merchant_info', {});
		expect(JSON.stringify(info.data)).toContain('"allow_partial_refund":"N"');
		// Reusing the refund number is refused as before the restart.
		const again = await second.control('/refund', {
			mch_order_no: orderNo,
			refund_fee: 100,
			mch_refund_no: 'R1',
		});
		expect(again).toEqual({ status: 409, body: { error: 'refund number R1 was already used' } });
	});

	it('a book of another version is refused, not half read', async () => {
		writeFileSync(join(dir, 'simulator-book.json'), JSON.stringify({ version: 2, orders: [] }));
		await expect(start()).rejects.toThrow(/a simulator book of version 2/);
	});
});
