import { FlaggedRuns, type RecordRun } from '../month/flags';

/**
 * The month counts the record runs flagged possibleDuplicate day by day (test/month/flags.ts), because n8n's
 * pruning deletes a busy month's early executions before its end. Each run's last word must count once: a flag
 * read once stays counted after its run is pruned, a run still going is read again, a run read twice counts once.
 */
describe('the record runs flagged possibleDuplicate, read day by day', () => {
	const run = (id: number, status: string, order?: string, flagged = false): RecordRun => ({
		id,
		status,
		order,
		flagged,
	});

	it('keeps the flags of runs that n8n later prunes', () => {
		const flags = new FlaggedRuns();
		expect(flags.add([run(1, 'success', 'A'), run(2, 'success', 'A', true)])).toBe(2);
		// Day 2: n8n has pruned 1 and 2; only the new runs are read.
		expect(flags.add([run(3, 'success', 'B'), run(4, 'error', 'B', true)])).toBe(4);
		expect(flags.add([])).toBe(4);
		expect([...flags.byOrder()]).toEqual([
			['A', 1],
			['B', 1],
		]);
		expect(flags.runs).toBe(4);
	});

	it('reads a run again until it has finished, and counts it once', () => {
		const flags = new FlaggedRuns();
		// Run 6 is still going when the day ends (its data, and so its flag, is not stored yet).
		expect(
			flags.add([run(5, 'success', 'C'), run(6, 'running'), run(7, 'success', 'D', true)]),
		).toBe(5);
		// The next read starts after 5: 6 has finished flagged, 7 is read a second time.
		expect(
			flags.add([run(6, 'success', 'C', true), run(7, 'success', 'D', true), run(8, 'new')]),
		).toBe(7);
		expect([...flags.byOrder()].sort()).toEqual([
			['C', 1],
			['D', 1],
		]);
		expect(flags.runs).toBe(3);
	});

	it('does not count an unfinished run, a run without its order, or one before where it reads from', () => {
		const flags = new FlaggedRuns();
		flags.add([run(10, 'success', 'E')]);
		flags.add([
			run(9, 'success', 'E', true),
			run(11, 'waiting', 'F', true),
			run(12, 'success', undefined, true),
		]);
		expect(flags.byOrder().size).toBe(0);
		expect(flags.after).toBe(10);
	});
});
