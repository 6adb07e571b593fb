import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { removeStaleInstalls } from '../harness/n8n';

/**
 * The e2e's n8n installs are cached, one directory per line and version, and an install in progress holds a lock
 * file beside its directory that other processes wait on (CI's prefetch installs while the unit tests run). The
 * clean-up of a line's stale installs must leave the locks: it once removed the install's own, and the e2e,
 * finding no lock, emptied the directory the prefetch was still installing into (a clean-clone CI, 2026-12-05).
 */
describe("the e2e's n8n install cache", () => {
	let root: string;
	beforeEach(() => {
		root = mkdtempSync(join(tmpdir(), 'ksher-install-cache-'));
	});
	afterEach(() => rmSync(root, { recursive: true, force: true }));

	it("removes the line's other installs, and keeps its locks, this install and the other line's", () => {
		const key = 'n8n-1.123.81-node-22.23.5-6a7c869036';
		for (const d of [
			key,
			'n8n-1.100.0-node-22.1.0-0123456789',
			'n8n-2.41.1-node-24.21.0-dcce21b72e',
		])
			mkdirSync(join(root, d, 'node_modules'), { recursive: true });
		writeFileSync(join(root, `${key}.installing`), '4242');
		writeFileSync(join(root, 'n8n-2.41.1-node-24.21.0-dcce21b72e.installing'), '4343');
		removeStaleInstalls(root, '1', key);
		expect(readdirSync(root).sort()).toEqual(
			[
				key,
				`${key}.installing`,
				'n8n-2.41.1-node-24.21.0-dcce21b72e',
				'n8n-2.41.1-node-24.21.0-dcce21b72e.installing',
			].sort(),
		);
		expect(existsSync(join(root, key, 'node_modules'))).toBe(true);
	});
});
