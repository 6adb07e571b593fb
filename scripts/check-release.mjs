// The release path, checked where it cannot run (no GitHub here): the workflows parse, pin
// their actions by version, call the same .ci/run, and publish only with provenance after it;
// package.json builds before any publish; the packed tarball holds what n8n loads and nothing
// else. Part of `npm run lint`, so CI and prepublishOnly both run it.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

import { parse } from 'yaml';

const root = new URL('..', import.meta.url).pathname;
const problems = [];
const check = (ok, message) => ok || problems.push(message);
const workflow = (name) => parse(readFileSync(`${root}.github/workflows/${name}`, 'utf8'));
const steps = (wf) => Object.values(wf.jobs).flatMap((job) => job.steps ?? []);

for (const name of ['ci.yml', 'release.yml']) {
	const wf = workflow(name);
	check(wf.jobs && Object.keys(wf.jobs).length > 0, `${name}: no jobs`);
	for (const step of steps(wf)) {
		if (step.uses)
			check(
				/^[\w.-]+\/[\w.-]+@v\d+\.\d+\.\d+$/.test(step.uses),
				`${name}: "${step.uses}" is not pinned to a version (owner/action@vX.Y.Z)`,
			);
	}
	check(
		steps(wf).some((s) => s.run === '.ci/run'),
		`${name}: does not run .ci/run`,
	);
}
const ci = workflow('ci.yml');
check(
	ci.on && 'push' in ci.on && 'pull_request' in ci.on,
	'ci.yml: must run on push and pull_request',
);
const release = workflow('release.yml');
check(
	release.permissions?.['id-token'] === 'write',
	'release.yml: provenance needs permissions id-token: write',
);
check(Array.isArray(release.on?.push?.tags), 'release.yml: must run on version tags');
const releaseSteps = steps(release);
const publish = releaseSteps.findIndex((s) => /\bnpm publish\b/.test(s.run ?? ''));
check(
	publish >= 0 && /--provenance\b/.test(releaseSteps[publish].run),
	'release.yml: npm publish must use --provenance',
);
check(
	publish > releaseSteps.findIndex((s) => s.run === '.ci/run'),
	'release.yml: publish must come after .ci/run',
);

const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));
check(
	/npm run build\b/.test(pkg.scripts?.prepublishOnly ?? '') &&
		/npm run lint\b/.test(pkg.scripts.prepublishOnly) &&
		/npm run test:unit\b/.test(pkg.scripts.prepublishOnly),
	'package.json: prepublishOnly must build, lint and run the unit tests',
);
check(/clean/.test(pkg.scripts?.build ?? ''), 'package.json: build must start from a clean dist/');

// What `npm publish` would ship, without the registry.
const [packed] = JSON.parse(
	execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
		cwd: root,
		encoding: 'utf8',
	}),
);
const files = packed.files.map((f) => f.path);
for (const must of [
	'package.json',
	'index.js',
	'LICENSE',
	'README.md',
	...pkg.n8n.nodes,
	...pkg.n8n.credentials,
	'dist/icons/ksher.svg',
])
	check(files.includes(must), `the tarball lacks ${must}`);
const stray = files.filter((f) =>
	/^(test|bench|examples|scripts|nodes|credentials|\.github)\/|\.test\.|\.pem$|\.npmrc$|(?<!\.d)\.ts$/.test(
		f,
	),
);
check(
	stray.length === 0,
	`the tarball holds files users do not need: ${stray.slice(0, 5).join(', ')}`,
);

if (problems.length) {
	console.error(`release check FAIL:\n- ${problems.join('\n- ')}`);
	process.exit(1);
}
console.log(
	`release check: workflows pinned and provenance-ready; tarball ${files.length} files (${packed.name}@${packed.version})`,
);
