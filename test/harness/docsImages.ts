import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'fs';
import { join } from 'path';

import { PNG } from 'pngjs';

import { REPO_DIR } from './n8n';

/**
 * The README's pictures (docs/images/) are screenshots the browser step takes, and the step checks
 * they are still what a user sees: the fresh screenshot must match the committed one but for a
 * small share of pixels (an order number, a time). KSHER_UPDATE_DOCS_IMAGES=1 writes the fresh
 * ones instead. Compared on n8n's 2.x line, whose editor the pictures show.
 */
export const DOCS_IMAGES = join(REPO_DIR, 'docs', 'images');

/** Share of pixels that differ noticeably (any channel by more than 48), 1 when the sizes differ. */
export function pixelDifference(a: Buffer, b: Buffer): number {
	const x = PNG.sync.read(a);
	const y = PNG.sync.read(b);
	if (x.width !== y.width || x.height !== y.height) return 1;
	let different = 0;
	for (let i = 0; i < x.data.length; i += 4) {
		if (
			Math.abs(x.data[i] - y.data[i]) > 48 ||
			Math.abs(x.data[i + 1] - y.data[i + 1]) > 48 ||
			Math.abs(x.data[i + 2] - y.data[i + 2]) > 48
		)
			different++;
	}
	return different / (x.width * x.height);
}

/** Compares (or, when asked, refreshes) one README picture; returns what it did, throws when it is stale. */
export function checkDocsImage(name: string, fresh: string, tolerance = 0.03): string {
	const committed = join(DOCS_IMAGES, name);
	if (process.env.KSHER_UPDATE_DOCS_IMAGES) {
		mkdirSync(DOCS_IMAGES, { recursive: true });
		copyFileSync(fresh, committed);
		return `docs/images/${name} written`;
	}
	if (!existsSync(committed))
		throw new Error(
			`docs/images/${name} is missing: run the e2e with KSHER_UPDATE_DOCS_IMAGES=1 and look at it`,
		);
	const share = pixelDifference(readFileSync(committed), readFileSync(fresh));
	if (share > tolerance)
		throw new Error(
			`docs/images/${name} is no longer what the editor shows (${(share * 100).toFixed(1)} % of pixels differ; fresh one: ${fresh}). Look at both, then refresh with KSHER_UPDATE_DOCS_IMAGES=1`,
		);
	return `docs/images/${name} current (${(share * 100).toFixed(1)} % of pixels differ)`;
}
