import { readFileSync } from 'fs';
import { join } from 'path';

/** The package.json fields n8n's community-node listing and npm's provenance read. */
interface Manifest {
	name: string;
	version: string;
	keywords: string[];
	license: string;
	homepage: string;
	author?: { name?: string };
	repository: { type: string; url: string };
	files: string[];
	scripts: Record<string, string>;
	dependencies?: Record<string, string>;
	peerDependencies: Record<string, string>;
	n8n: { n8nNodesApiVersion: number; nodes: string[]; credentials: string[] };
}
const pkg = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as Manifest;

describe("package.json for n8n's listing", () => {
	it('is findable as an n8n community node and says where it comes from', () => {
		expect(pkg.name).toMatch(/^(@[\w-]+\/)?n8n-nodes-[\w-]+$/);
		expect(pkg.keywords).toContain('n8n-community-node-package');
		expect(pkg.license).toBe('MIT');
		expect(pkg.repository).toEqual({
			type: 'git',
			url: expect.stringMatching(/^git\+https:\/\/github\.com\/.+\.git$/),
		});
		// Provenance ties the tarball to this repository: homepage and repository must agree.
		expect(pkg.homepage).toBe(
			`${pkg.repository.url.replace(/^git\+/, '').replace(/\.git$/, '')}#readme`,
		);
		expect(pkg.author?.name).toBeTruthy();
	});

	it("declares n8n's nodes API version and only built files that exist after a build", () => {
		expect(pkg.n8n.n8nNodesApiVersion).toBe(1);
		for (const file of [...pkg.n8n.nodes, ...pkg.n8n.credentials])
			expect(file).toMatch(/^dist\/.+\.js$/);
		expect(pkg.files).toEqual(['dist', 'index.js']);
	});

	it('has no runtime dependencies and builds before any publish', () => {
		expect(pkg.dependencies ?? {}).toEqual({});
		expect(Object.keys(pkg.peerDependencies)).toEqual(['n8n-workflow']);
		expect(pkg.scripts.prepublishOnly).toBe('npm run build && npm run lint && npm run test:unit');
		expect(pkg.version).toMatch(/^\d+\.\d+\.\d+$/);
	});

	it('the changelog has an entry for this version', () => {
		const changelog = readFileSync(join(__dirname, '../../CHANGELOG.md'), 'utf8');
		expect(changelog).toMatch(new RegExp(`^## \\[${pkg.version.replace(/\./g, '\\.')}\\]`, 'm'));
		expect(changelog).toMatch(/^## \[Unreleased\]/m);
	});
});
