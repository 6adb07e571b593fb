import { spawnSync } from 'child_process';
import { mkdirSync } from 'fs';
import { join } from 'path';

import { chromium, type Browser, type Page } from 'playwright-core';

import { ensureDebianCommand } from './services';

/** Debian's Chromium (apt-installed when missing) under playwright-core: no browser download. */
export async function launchBrowser(): Promise<Browser> {
	const bin = spawnSync('sh', ['-c', `command -v ${ensureDebianCommand('chromium')}`], {
		encoding: 'utf8',
	}).stdout.trim();
	return await chromium.launch({
		executablePath: bin,
		headless: true,
		// Root in CI; and none of Chromium's own background calls (updates, safe browsing, sync).
		args: [
			'--no-sandbox',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
			'--no-first-run',
			'--disable-default-apps',
			'--disable-domain-reliability',
		],
	});
}

/** Numbered screenshots in `dir`, `<prefix>-NN-<name>.png`. */
export function screenshotter(
	dir: string,
	prefix: string,
): (page: Page, name: string) => Promise<string> {
	mkdirSync(dir, { recursive: true });
	let shot = 0;
	return async (page, name) => {
		const file = join(dir, `${prefix}-${String(++shot).padStart(2, '0')}-${name}.png`);
		await page.screenshot({ path: file, fullPage: false });
		return file;
	};
}
