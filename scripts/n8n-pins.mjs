#!/usr/bin/env node
// `npm run check:n8n`: whether npm has a newer n8n than the e2e pins, per line (test/harness/package.json
// for 2.x, test/harness/n8n1/package.json for 1.x). A newer patch of the pinned minor exits 1 (pin it:
// change the version, run `npm install --package-lock-only --ignore-scripts` in that folder, then the
// e2e); a newer minor or major is only reported. Asks the npm registry; nothing else.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const lines = [
	['1.x', join(root, 'test/harness/n8n1/package.json')],
	['2.x', join(root, 'test/harness/package.json')],
];
const published = JSON.parse(
	execFileSync('npm', ['view', 'n8n', 'versions', '--json'], { encoding: 'utf8' }),
)
	.filter((v) => /^\d+\.\d+\.\d+$/.test(v))
	.map((v) => v.split('.').map(Number));
const newest = (filter) =>
	published
		.filter(filter)
		.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2])
		.at(-1);
const text = (v) => v.join('.');

let stale = false;
for (const [line, manifest] of lines) {
	const pin = JSON.parse(readFileSync(manifest, 'utf8')).dependencies.n8n.split('.').map(Number);
	const patch = newest(([a, b]) => a === pin[0] && b === pin[1]);
	const onLine = newest(([a]) => a === pin[0]);
	const notes = [];
	if (patch && text(patch) !== text(pin)) {
		stale = true;
		notes.push(`newer patch ${text(patch)}: pin it`);
	}
	if (onLine && onLine[1] !== pin[1]) notes.push(`newer minor on the line: ${text(onLine)}`);
	console.log(
		`n8n ${line}: pinned ${text(pin)}${notes.length ? `; ${notes.join('; ')}` : ', the newest patch'}`,
	);
}
process.exit(stale ? 1 : 0);
