// Prints the adversarial suite's figures after a jest run that included it.
const { existsSync, readdirSync, readFileSync, rmSync } = require('fs');
const { join } = require('path');
const { tmpdir } = require('os');

const DIR = join(tmpdir(), 'ksher-adversarial-figures');

class AdversarialSummary {
	onRunStart() {
		rmSync(DIR, { recursive: true, force: true });
	}

	onRunComplete() {
		if (!existsSync(DIR)) return;
		const all = readdirSync(DIR).map((f) => JSON.parse(readFileSync(join(DIR, f), 'utf8')));
		if (all.length === 0) return;
		// One line for the unhandled rejections of all files.
		const guards = all.filter((f) => f.name.startsWith('Unhandled promise rejections'));
		const figures = all.filter((f) => !guards.includes(f));
		if (guards.length) {
			figures.push({
				name: 'Unhandled promise rejections',
				value: guards.reduce((s, g) => s + g.value, 0),
				detail: `across ${guards.length} adversarial test files`,
			});
		}
		const order = [
			'Forged notifications accepted',
			'Duplicate deliveries emitted more than once',
			'Refunds executed twice',
			'Key leaks',
			'Bad input with a clear error',
			'Faults survived',
			'Unhandled promise rejections',
		];
		figures.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
		const width = Math.max(...figures.map((f) => f.name.length));
		const lines = figures.map(
			(f) => `  ${f.name.padEnd(width)}  ${String(f.value).padStart(6)}  ${f.detail}`,
		);
		process.stdout.write(`\nAdversarial suite\n${lines.join('\n')}\n\n`);
	}
}

module.exports = AdversarialSummary;
