/** Small timing helpers: warm up, repeat rounds, report medians (the machine is shared and noisy). */
export function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	const mid = Math.floor(sorted.length / 2);
	return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function percentile(values: number[], p: number): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Median over rounds of the mean time per call, in microseconds. */
export function microsPerCall(
	fn: () => unknown,
	options: { calls?: number; rounds?: number; warmup?: number } = {},
): number {
	const calls = options.calls ?? 2000;
	const rounds = options.rounds ?? 7;
	for (let i = 0; i < (options.warmup ?? calls); i++) fn();
	const perRound: number[] = [];
	for (let r = 0; r < rounds; r++) {
		const start = process.hrtime.bigint();
		for (let i = 0; i < calls; i++) fn();
		perRound.push(Number(process.hrtime.bigint() - start) / 1000 / calls);
	}
	return median(perRound);
}

/**
 * Ratio a/b measured in many short interleaved rounds (a b, then b a, alternately), so
 * that both sides see the same machine load and drift cancels out; returns the median of
 * the per-round ratios and the two medians. This machine changes speed by up to 2× from
 * one second to the next, so short rounds matter more than long ones.
 */
export function interleavedRatio(
	a: () => unknown,
	b: () => unknown,
	options: { calls?: number; rounds?: number } = {},
): { ratio: number; aMicros: number; bMicros: number } {
	const calls = options.calls ?? 100;
	const rounds = options.rounds ?? 101;
	const time = (fn: () => unknown) => {
		const start = process.hrtime.bigint();
		for (let i = 0; i < calls; i++) fn();
		return Number(process.hrtime.bigint() - start) / 1000 / calls;
	};
	for (let i = 0; i < 5; i++) {
		time(a);
		time(b);
	}
	const ratios: number[] = [];
	const as: number[] = [];
	const bs: number[] = [];
	for (let r = 0; r < rounds; r++) {
		let ta: number;
		let tb: number;
		if (r % 2 === 0) {
			ta = time(a);
			tb = time(b);
		} else {
			tb = time(b);
			ta = time(a);
		}
		as.push(ta);
		bs.push(tb);
		ratios.push(ta / tb);
	}
	return { ratio: median(ratios), aMicros: median(as), bMicros: median(bs) };
}
