// Runs n8n's verification scanner (@n8n/scan-community-package) the way the Creator Portal
// does, without the registry steps: its ESLint config over the sources (package.json,
// nodes/, credentials/) and over the packed tarball's JavaScript. Inline eslint-disable
// comments are ignored, as in the real scan. Run after `npm run build`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
	analyzePackage,
	SOURCE_FILE_PATTERNS,
} from '@n8n/scan-community-package/scanner/scanner.mjs';

const root = new URL('..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'ksher-scan-'));
let failed = false;
try {
	const source = await analyzePackage(root, SOURCE_FILE_PATTERNS);
	const [{ filename }] = JSON.parse(
		execFileSync('npm', ['pack', '--json', '--pack-destination', work], {
			cwd: root,
			encoding: 'utf8',
		}),
	);
	execFileSync('tar', ['-xzf', join(work, filename), '-C', work]);
	const tarball = await analyzePackage(join(work, 'package'), ['**/*.js', 'package.json']);
	for (const [name, result] of [
		['sources', source],
		['packed tarball', tarball],
	]) {
		if (result.passed) console.log(`n8n scanner: ${name} pass`);
		else {
			failed = true;
			console.error(`n8n scanner: ${name} FAIL: ${result.message}\n${result.details ?? ''}`);
		}
	}
} finally {
	rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
