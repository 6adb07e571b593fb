import { mkdirSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

/** Where adversarial tests leave their figures for the summary reporter (one file per figure). */
export const FIGURES_DIR = join(tmpdir(), 'ksher-adversarial-figures');

export function recordFigure(name: string, value: number, detail: string): void {
	mkdirSync(FIGURES_DIR, { recursive: true });
	writeFileSync(
		join(FIGURES_DIR, `${name.replace(/[^a-z0-9]+/gi, '-')}.json`),
		JSON.stringify({ name, value, detail }),
	);
}
