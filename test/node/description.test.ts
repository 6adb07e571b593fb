import { readFileSync } from 'fs';
import { join } from 'path';

import type { INodeProperties } from 'n8n-workflow';

import { Ksher } from '../../nodes/Ksher/Ksher.node';
import { KsherTrigger } from '../../nodes/KsherTrigger/KsherTrigger.node';

/**
 * n8n keeps a parameter's value when the user switches operation, if the other operation has
 * a parameter of the same name. So one name must mean one thing: the same label, type and
 * default wherever it appears (a payment's Amount once came up as the Refund Amount).
 */
describe('Ksher node description', () => {
	const byName = new Map<string, INodeProperties[]>();
	for (const property of new Ksher().description.properties) byName.set(property.name, [...(byName.get(property.name) ?? []), property]);
	// Each resource has its own Operation selector (n8n's idiom); n8n resets a selector whose
	// value is not among the new options, so it cannot carry a value over.
	const shared = [...byName].filter(([name, properties]) => properties.length > 1 && name !== 'operation');

	it('has parameters shared between operations (the check below is not vacuous)', () => {
		expect(shared.map(([name]) => name)).toContain('orderNumber');
	});

	it.each(shared)('"%s" means the same in every operation that has it', (_name, properties) => {
		const meaning = (p: INodeProperties) => ({ displayName: p.displayName, type: p.type, default: p.default, options: p.options });
		for (const p of properties.slice(1)) expect(meaning(p)).toEqual(meaning(properties[0]));
	});

	it('Refund Amount is not the payment\'s Amount', () => {
		const names = (label: string) => new Ksher().description.properties.filter((p) => p.displayName === label).map((p) => p.name);
		expect(names('Refund Amount')).toEqual(['refundAmount']);
		expect(names('Amount')).not.toContain('refundAmount');
	});
});

describe('documentation links', () => {
	// n8n's editor opens a node's documentationUrl as given, but appends "?utm_source=…" to the
	// codex link, after its #section, so that link would never reach the section.
	it.each([
		['Ksher', new Ksher().description.documentationUrl, 'ksher-node'],
		['Ksher Trigger', new KsherTrigger().description.documentationUrl, 'ksher-trigger'],
	])('%s links straight to its README section', (_node, url, section) => {
		expect(url).toBe(`https://github.com/n8n-nodes-ksher/n8n-nodes-ksher#${section}`);
		const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
		const anchors = [...readme.matchAll(/^#+ (.+)$/gm)].map((m) => m[1].toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-'));
		expect(anchors).toContain(section);
	});
});
