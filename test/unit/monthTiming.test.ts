import { besideTheWatch, quantile } from '../month/timing';

/**
 * The month's evidence for the wait behind the watch (test/month/timing.ts): each record run counted once, in the
 * group of what the watch was doing when it started.
 */
describe("where the acknowledgement's time goes beside the watch", () => {
	const run = (id: string, started: number, length: number, process?: string, queued = 0) => ({
		id,
		stored: started - queued,
		started,
		stopped: started + length,
		process,
	});

	it('puts each record run in one group by the watch run going when it started, and on which process', () => {
		const watches = [run('w1', 1_000, 10_000, 'worker1'), run('w2', 30_000, 5_000, 'worker2')];
		const records = [
			run('r1', 500, 40, 'worker1'), // before any watch
			run('r2', 2_000, 900, 'worker1', 300), // beside w1, same worker
			run('r3', 3_000, 60, 'worker2', 20), // beside w1, other worker
			run('r4', 11_000, 50, 'worker1'), // the instant w1 ended: still beside it
			run('r5', 11_001, 45, 'worker1'), // after it
			run('r6', 31_000, 70, undefined), // beside w2, process unknown: not counted as the same
		];
		const g = besideTheWatch(records, watches);
		expect(g['no watch running']).toEqual({
			runs: 2,
			runP50: 45,
			runP99: 45,
			queuedP50: 0,
			queuedP99: 0,
		});
		expect(g['watch on the same process']).toEqual({
			runs: 2,
			runP50: 900,
			runP99: 900,
			queuedP50: 300,
			queuedP99: 300,
		});
		expect(g['watch on another process'].runs).toBe(2);
		expect(g['watch on another process'].runP99).toBe(70);
	});

	it('says nothing rather than 0 for an empty group', () => {
		expect(besideTheWatch([], [])['watch on the same process']).toEqual({
			runs: 0,
			runP50: null,
			runP99: null,
			queuedP50: null,
			queuedP99: null,
		});
		expect(quantile([5, 1, 3], 0.5)).toBe(3);
		expect(quantile([5, 1, 3], 0.99)).toBe(5);
	});
});
