import { ensureN8n, N8N_LINES } from './n8n';

/**
 * Installs both n8n lines the e2e runs into the cache, one after the other (`.ci/run` starts this in
 * the background while it builds, lints and runs the unit tests; the e2e waits for an install in
 * progress rather than starting its own). Exits 1 if an install failed: the e2e then tries again
 * and reports it.
 */
async function main() {
	for (const line of N8N_LINES) await ensureN8n(line);
}

main().then(
	() => process.exit(0),
	(error: Error) => {
		process.stderr.write(`[prefetch] ${error.message}\n`);
		process.exit(1);
	},
);
