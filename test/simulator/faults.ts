/** Fault injection: the next N matching protocol requests misbehave in a chosen way. */
export const FAULT_TYPES = [
	'latency',
	'http500',
	'reset',
	'nonjson',
	'empty',
	'wrongkey',
	'tampered',
	'nosign',
	'nonce',
] as const;
export type FaultType = (typeof FAULT_TYPES)[number];

export interface Fault {
	type: FaultType;
	/** Endpoint name to match (e.g. "order_refund"); all endpoints when absent. */
	endpoint?: string;
	/** How many requests it applies to; -1 = until reset. */
	remaining: number;
	/** Added latency for "latency" faults, in ms. */
	ms: number;
	/** "after": Ksher processes the request, then the answer goes wrong (default). "before": nothing is processed. */
	stage: 'before' | 'after';
}

export function parseFault(input: unknown): Fault | string {
	if (typeof input !== 'object' || input === null) return 'body must be a JSON object';
	const f = input as Record<string, unknown>;
	if (typeof f.type !== 'string' || !(FAULT_TYPES as readonly string[]).includes(f.type)) {
		return `type must be one of ${FAULT_TYPES.join(', ')}`;
	}
	const count = f.count === undefined ? 1 : Number(f.count);
	if (!Number.isInteger(count) || (count < 1 && count !== -1))
		return 'count must be a positive integer, or -1 for "until reset"';
	const ms = f.ms === undefined ? (f.type === 'latency' ? 1000 : 0) : Number(f.ms);
	if (!Number.isFinite(ms) || ms < 0 || ms > 600_000) return 'ms must be between 0 and 600000';
	const stage = f.stage === undefined ? 'after' : f.stage;
	if (stage !== 'before' && stage !== 'after') return 'stage must be "before" or "after"';
	if (f.endpoint !== undefined && typeof f.endpoint !== 'string')
		return 'endpoint must be a string';
	return {
		type: f.type as FaultType,
		endpoint: f.endpoint as string | undefined,
		remaining: count,
		ms,
		stage,
	};
}

export function takeFault(faults: Fault[], endpoint: string): Fault | undefined {
	const index = faults.findIndex((f) => !f.endpoint || f.endpoint === endpoint);
	if (index < 0) return undefined;
	const fault = faults[index];
	if (fault.remaining > 0 && --fault.remaining === 0) faults.splice(index, 1);
	return fault;
}
