/** How many items go to Ksher at once: the node's option, and its bounds. */
export const DEFAULT_CONCURRENCY = 4;
export const MAX_CONCURRENCY = 20;

/** Runs items with at most `limit` in flight; after the first failure no new item starts. */
export async function runBounded(count: number, limit: number, run: (index: number) => Promise<void>): Promise<void> {
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
