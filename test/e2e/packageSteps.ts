import { spawnSync } from 'child_process';

import { installPackage } from '../harness/n8n';
import type { E2eContext, LineContext } from './context';
import { assert, assertStayedOffline, step } from './steps';

/**
 * The package as users get it: what `npm pack` puts in the tarball, which is then installed into
 * the regular-mode n8n's community-nodes folder; and, once regular mode is over, that this n8n
 * made no connection beyond this machine.
 */
export async function packageSteps(ctx: LineContext): Promise<void> {
	const { tarball } = ctx;
	await step('the packed package holds what n8n needs and nothing else', async () => {
		const listing = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
			.stdout.split('\n')
			.filter(Boolean);
		const must = [
			'package/package.json',
			'package/index.js',
			'package/LICENSE',
			'package/README.md',
			'package/dist/credentials/KsherApi.credentials.js',
			'package/dist/nodes/Ksher/Ksher.node.js',
			'package/dist/nodes/Ksher/Ksher.node.json',
			'package/dist/nodes/KsherTrigger/KsherTrigger.node.js',
			'package/dist/icons/ksher.svg',
			'package/dist/icons/ksher.dark.svg',
		];
		const missing = must.filter((f) => !listing.includes(f));
		assert(missing.length === 0, `missing: ${missing.join(', ')}`);
		const unwanted = listing.filter((f) =>
			/(^package\/(test|bench|examples|scripts|nodes|credentials)\/)|\.test\.|\.ts$(?<!\.d\.ts)|\.pem$|\.npmrc$/.test(
				f,
			),
		);
		assert(unwanted.length === 0, `unexpected files: ${unwanted.slice(0, 10).join(', ')}`);
		const manifest = JSON.parse(
			spawnSync('tar', ['-xOzf', tarball, 'package/package.json'], { encoding: 'utf8' }).stdout,
		) as { dependencies?: object };
		assert(
			!manifest.dependencies || Object.keys(manifest.dependencies).length === 0,
			'the package has runtime dependencies',
		);
		return `${listing.length} files, no runtime dependencies`;
	});
	installPackage(ctx.userFolder, tarball);
}

/** The network guard's record of every process of the regular-mode n8n (entered with n8n stopped). */
export async function offlineStep(ctx: E2eContext): Promise<void> {
	await step('n8n made no connection outside this machine', async () => {
		const guarded = assertStayedOffline(ctx.userFolder, 5);
		return `no DNS lookup or connection to any non-loopback address in ${guarded} n8n processes (checked by a preload)`;
	});
}
