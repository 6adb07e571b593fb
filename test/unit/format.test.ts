import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

/**
 * The code is formatted with the n8n-nodes-starter's Prettier settings (.prettierrc.js), and
 * `npm run lint` fails on a file formatted otherwise: shown here on a file of each kind, run the
 * way lint runs Prettier.
 */
const ROOT = join(__dirname, '../..');
const prettier = (...args: string[]) =>
	spawnSync(process.execPath, [require.resolve('prettier/bin/prettier.cjs'), ...args], {
		cwd: ROOT,
		encoding: 'utf8',
	});

it("npm run lint runs Prettier's check over the tree", () => {
	const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
		scripts: Record<string, string>;
	};
	expect(scripts.lint.split(' && ')).toContain('prettier --check .');
	expect(scripts.format).toBe('prettier --write .');
});

it('a file formatted otherwise fails the check; formatted, it passes', () => {
	const dir = mkdtempSync(join(tmpdir(), 'ksher-format-'));
	const file = join(dir, 'sample.ts');
	writeFileSync(file, 'const amount = {value: "1.00", currency:"THB"}\n  export default amount;\n');
	const config = ['--config', join(ROOT, '.prettierrc.js')];
	const before = prettier('--check', ...config, file);
	expect(before.status).toBe(1);
	expect(before.stderr).toContain('Code style issues found');
	expect(prettier('--write', ...config, file).status).toBe(0);
	expect(readFileSync(file, 'utf8')).toBe(
		"const amount = { value: '1.00', currency: 'THB' };\nexport default amount;\n",
	);
	expect(prettier('--check', ...config, file).status).toBe(0);
});
