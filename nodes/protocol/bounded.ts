/**
 * Runs `run` for indexes 0…count-1 with at most `limit` in flight; after the first failure no
 * new index starts, and that failure is thrown once the ones in flight have ended. A caller that
 * wants every outcome catches inside `run`.
 */
export async function runBounded(
	count: number,
	limit: number,
	run: (index: number) => Promise<void>,
): Promise<void> {
	let next = 0;
	let failure: { error: unknown } | undefined;
	const worker = async () => {
		while (!failure && next < count) {
			const index = next++;
			await run(index).catch((error: unknown) => {
				failure ??= { error };
			});
		}
	};
	await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
	if (failure) throw failure.error;
}
