import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import { simulatorCredentials } from '../helpers/node';
import { startHarness, type SimulatorHarness } from '../helpers/simulator';
import { startTrigger } from '../helpers/trigger';
import { recordFigure } from './figures';
import { guardUnhandledRejections } from './guard';
import { KSHER_ACK as ACK } from '../simulator/notifications';

/**
 * Duplicate deliveries emitted more than once: 0 (100 orders × 13 deliveries, interleaved and
 * concurrent, then once more each after a restart), measured with n8n's real storage
 * semantics: static data reloaded for every request and saved whole afterwards, and runs
 * that save an older copy when they end (test/helpers/trigger.ts).
 */
guardUnhandledRejections('duplicates');

let h: SimulatorHarness;
beforeAll(async () => {
	h = await startHarness();
});
afterAll(() => h.sim.close());

it('100 orders × 13 deliveries, shuffled and 25 at a time, then each again after a restart: exactly 100 events, every delivery acknowledged', async () => {
	const trigger = await startTrigger({
		credentials: simulatorCredentials(h) as ICredentialDataDecryptedObject,
		runSavesStaleCopyAfterMs: 3,
	});
	try {
		const bodies: string[] = [];
		for (let i = 0; i < 100; i++) {
			const { orderNo } = await h.createOrder();
			await h.payOrder(orderNo);
			const o = h.sim.order(orderNo)!;
			const body = h.sim.signedNotification({
				appid: h.sim.info.appid,
				attach: '',
				cash_fee: o.total_fee,
				cash_fee_type: 'THB',
				channel: 'promptpay',
				channel_order_no: '',
				fee_type: 'THB',
				ksher_order_no: o.ksher_order_no,
				mch_order_no: orderNo,
				nonce_str: `n${i}`.padEnd(32, '0'),
				openid: '',
				pay_mch_order_no: o.pay_mch_order_no,
				rate: '1.000000',
				result: 'SUCCESS',
				time_end: o.time_end,
				total_fee: o.total_fee,
			});
			for (let d = 0; d < 13; d++) bodies.push(body);
		}
		for (let i = bodies.length - 1; i > 0; i--) {
			const j = Math.floor(Math.random() * (i + 1));
			[bodies[i], bodies[j]] = [bodies[j], bodies[i]];
		}
		const answers: Array<{ status: number; body: string }> = [];
		for (let i = 0; i < bodies.length; i += 25)
			answers.push(...(await Promise.all(bodies.slice(i, i + 25).map((b) => trigger.post(b)))));
		trigger.restart();
		const once = [...new Set(bodies)];
		for (let i = 0; i < once.length; i += 25)
			answers.push(...(await Promise.all(once.slice(i, i + 25).map((b) => trigger.post(b)))));
		const perOrder = new Map<string, number>();
		for (const item of trigger.emitted)
			perOrder.set(String(item.orderNumber), (perOrder.get(String(item.orderNumber)) ?? 0) + 1);
		const duplicates = [...perOrder.values()].filter((n) => n > 1).length;
		recordFigure(
			'Duplicate deliveries emitted more than once',
			duplicates,
			`${answers.length} deliveries of 100 notifications (a restart before the last 100) → ${trigger.emitted.length} events`,
		);
		expect(answers.filter((a) => a.status !== 200 || a.body !== ACK)).toEqual([]);
		expect(duplicates).toBe(0);
		expect(perOrder.size).toBe(100);
		expect(trigger.emitted).toHaveLength(100);
	} finally {
		await trigger.close();
	}
});
