import { readFileSync } from 'fs';
import { join } from 'path';

import type { INodeProperties } from 'n8n-workflow';

import * as account from '../../nodes/Ksher/actions/account/Account.resource';
import * as payment from '../../nodes/Ksher/actions/payment/Payment.resource';
import * as refund from '../../nodes/Ksher/actions/refund/Refund.resource';
import { Ksher } from '../../nodes/Ksher/Ksher.node';
import { TIMEOUTS } from '../../nodes/protocol';
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
		const names = (label: string) => [...new Set(new Ksher().description.properties.filter((p) => p.displayName === label).map((p) => p.name))];
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

describe('one home for each rule', () => {
	it('the Timeout option\'s default is the protocol\'s call timeout, and its maximum the allowed maximum', () => {
		const options = new Ksher().description.properties.find((p) => p.name === 'options')!.options as INodeProperties[];
		const timeout = options.find((o) => o.name === 'timeout')!;
		expect(timeout.default).toBe(TIMEOUTS.callMs / 1000);
		expect(timeout.typeOptions?.maxValue).toBe(TIMEOUTS.maxCallMs / 1000);
	});

	it('every operation the editor offers has a runner in its resource file, and no runner is unreachable', () => {
		const resources = { account: account.operations, payment: payment.operations, refund: refund.operations } as Record<string, Record<string, unknown>>;
		const properties = new Ksher().description.properties;
		const offered = properties
			.filter((p) => p.name === 'operation')
			.flatMap((p) => (p.options as Array<{ value: string }>).map((o) => `${String(p.displayOptions?.show?.resource)}:${o.value}`));
		const runnable = Object.entries(resources).flatMap(([resource, ops]) => Object.keys(ops).map((op) => `${resource}:${op}`));
		expect(offered.sort()).toEqual(runnable.sort());
	});
});
