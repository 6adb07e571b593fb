import { payFreshOrder, triggerSuite } from '../helpers/trigger';
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

// The simulator's defaults (real time scale), as this figure has always been measured.
const suite = triggerSuite({});

it('100 orders × 13 deliveries, shuffled and 25 at a time, then each again after a restart: exactly 100 events, every delivery acknowledged', async () => {
	// Closed with the simulator after the file's tests.
	const trigger = await suite.trigger({ runSavesStaleCopyAfterMs: 3 });
	const bodies: string[] = [];
	for (let i = 0; i < 100; i++) {
		const { body } = await payFreshOrder(suite.h, {
			fields: { nonce_str: `n${i}`.padEnd(32, '0') },
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
});
