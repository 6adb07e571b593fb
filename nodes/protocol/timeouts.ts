/** Every wait on Ksher, in one place. */
export const TIMEOUTS = {
	/** A call by the client and by the Ksher node (its Timeout option's default). */
	callMs: 30_000,
	/** The most the Ksher node's Timeout option allows. */
	maxCallMs: 300_000,
	/** The trigger's Confirm With Ksher lookup: Ksher is waiting for the webhook's answer meanwhile. */
	triggerConfirmMs: 15_000,
	/** The credential's Test button. */
	credentialTestMs: 20_000,
} as const;
