/** How many items go to Ksher at once: the node's option, and its bounds. */
export const DEFAULT_CONCURRENCY = 4;
export const MAX_CONCURRENCY = 20;
