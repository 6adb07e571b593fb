import { ensureN8n, linesFromArgs, N8N_LINES } from './n8n';

/** Installs (or finds) the cached n8n of each line (`--n8n=1` or `--n8n=2` for one) and prints where they are. */
(async () => {
	const installs = [];
	for (const line of linesFromArgs(process.argv, N8N_LINES)) installs.push(await ensureN8n(line));
	return installs;
})().then(
	(install) => process.stdout.write(`${JSON.stringify(install)}\n`),
	(error: Error) => {
		process.stderr.write(`${error.message}\n`);
		process.exit(1);
	},
);
