/**
 * A fetch and its body within a deadline kept by a timer of the harness's own, not only by the fetch's signal: in a
 * queue-mode load step on Node 20 (1,100 deliveries at 50/s, n8n answering late) a fetch stayed pending after its
 * abort, and the step waited for good with no timer left. Past the deadline the fetch is aborted and this rejects
 * with `timeoutMessage`; a fetch that settles later is ignored.
 */
export async function fetchWithin(
	url: string,
	init: RequestInit,
	timeoutMs: number | undefined,
	timeoutMessage: string,
): Promise<{ response: Response; text: string }> {
	const controller = new AbortController();
	let timer: NodeJS.Timeout | undefined;
	const answered = (async () => {
		const response = await fetch(url, { ...init, signal: controller.signal });
		return { response, text: await response.text() };
	})();
	const timedOut = new Promise<never>((_, reject) => {
		if (timeoutMs)
			timer = setTimeout(() => {
				controller.abort();
				reject(new Error(timeoutMessage));
			}, timeoutMs);
	});
	try {
		return await Promise.race([answered, timedOut]);
	} finally {
		clearTimeout(timer);
		answered.catch(() => undefined);
	}
}
