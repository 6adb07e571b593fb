import { ensureN8n } from './n8n';

/** `npm run e2e:setup`: installs (or finds) the cached n8n and prints where it is. */
ensureN8n().then(
	(install) => process.stdout.write(`${JSON.stringify(install)}\n`),
	(error: Error) => {
		process.stderr.write(`${error.message}\n`);
		process.exit(1);
	},
);
