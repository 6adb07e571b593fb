import type { INodeProperties } from 'n8n-workflow';

import { Ksher } from '../../nodes/Ksher/Ksher.node';

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
