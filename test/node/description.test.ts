import { readFileSync } from 'fs';
import { join } from 'path';

import type { INodeProperties } from 'n8n-workflow';

import * as account from '../../nodes/Ksher/actions/account/Account.resource';
import * as payment from '../../nodes/Ksher/actions/payment/Payment.resource';
import * as refund from '../../nodes/Ksher/actions/refund/Refund.resource';
import * as settlement from '../../nodes/Ksher/actions/settlement/Settlement.resource';
import { Ksher } from '../../nodes/Ksher/Ksher.node';
import { TIMEOUTS } from '../../nodes/protocol';
import { KsherTrigger } from '../../nodes/KsherTrigger/KsherTrigger.node';

/**
 * n8n keeps a parameter's value when the user switches operation, if the other operation has
 * a parameter of the same name. So one name must mean one thing: the same label, type and
 * default wherever it appears (a payment's Amount once came up as the Refund Amount).
 */
describe('Ksher node description', () => {
	// What a node added today gets (version 2). Version 1 keeps 0.1.0's names (its Refund Amount is
	// `amount`, as saved workflows have it): a saved workflow is a contract, see the upgrade fixtures.
	const current = (p: INodeProperties) =>
		!p.displayOptions?.show?.['@version'] ||
		(p.displayOptions.show['@version'] as number[]).includes(2);
	const byName = new Map<string, INodeProperties[]>();
	for (const property of new Ksher().description.properties.filter(current))
		byName.set(property.name, [...(byName.get(property.name) ?? []), property]);
	// Each resource has its own Operation selector (n8n's idiom); n8n resets a selector whose
	// value is not among the new options, so it cannot carry a value over.
	const shared = [...byName].filter(
		([name, properties]) => properties.length > 1 && name !== 'operation',
	);

	it('has parameters shared between operations (the check below is not vacuous)', () => {
		expect(shared.map(([name]) => name)).toContain('orderNumber');
	});

	it.each(shared)('"%s" means the same in every operation that has it', (_name, properties) => {
		const meaning = (p: INodeProperties) => ({
			displayName: p.displayName,
			type: p.type,
			default: p.default,
			options: p.options,
		});
		for (const p of properties.slice(1)) expect(meaning(p)).toEqual(meaning(properties[0]));
	});

	it("Refund Amount is not the payment's Amount", () => {
		const names = (label: string) => [
			...new Set(
				new Ksher().description.properties
					.filter(current)
					.filter((p) => p.displayName === label)
					.map((p) => p.name),
			),
		];
		expect(names('Refund Amount')).toEqual(['refundAmount']);
		expect(names('Amount')).not.toContain('refundAmount');
	});

	it("version 1's Refund → Create reads 0.1.0's `amount`, shown as Refund Amount (not hidden: a value carried over from Create Payment is seen)", () => {
		const v1Refund = new Ksher().description.properties.filter(
			(p) =>
				p.name === 'amount' &&
				(p.displayOptions?.show?.['@version'] as number[] | undefined)?.includes(1) &&
				(p.displayOptions?.show?.operation as string[] | undefined)?.includes('create') &&
				(p.displayOptions?.show?.resource as string[] | undefined)?.includes('refund'),
		);
		expect(v1Refund).toHaveLength(1);
		expect(v1Refund[0]).toMatchObject({
			displayName: 'Refund Amount',
			type: 'string',
			default: '',
		});
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
		const anchors = [...readme.matchAll(/^#+ (.+)$/gm)].map((m) =>
			m[1]
				.toLowerCase()
				.replace(/[^\w\- ]/g, '')
				.replace(/ /g, '-'),
		);
		expect(anchors).toContain(section);
	});
});

describe('one home for each rule', () => {
	it("the Timeout option's default is the protocol's call timeout, and its maximum the allowed maximum", () => {
		const options = new Ksher().description.properties.find((p) => p.name === 'options')!
			.options as INodeProperties[];
		const timeout = options.find((o) => o.name === 'timeout')!;
		expect(timeout.default).toBe(TIMEOUTS.callMs / 1000);
		expect(timeout.typeOptions?.maxValue).toBe(TIMEOUTS.maxCallMs / 1000);
	});

	it('every operation the editor offers has a runner in its resource file, and no runner is unreachable', () => {
		const resources = {
			account: account.operations,
			payment: payment.operations,
			refund: refund.operations,
			settlement: settlement.operations,
		} as Record<string, Record<string, unknown>>;
		const properties = new Ksher().description.properties;
		const offered = properties
			.filter((p) => p.name === 'operation')
			.flatMap((p) =>
				(p.options as Array<{ value: string }>).map(
					(o) => `${String(p.displayOptions?.show?.resource)}:${o.value}`,
				),
			);
		const runnable = Object.entries(resources).flatMap(([resource, ops]) =>
			Object.keys(ops).map((op) => `${resource}:${op}`),
		);
		expect(offered.sort()).toEqual(runnable.sort());
	});
});

describe('words in the editor', () => {
	/** The subtitle n8n shows under a node on the canvas, for these parameters. */
	const subtitle = (template: unknown, parameters: Record<string, unknown>) => {
		const expression = String(template)
			.replace(/^=\{\{/, '')
			.replace(/\}\}$/, '');
		return new Function('$parameter', `return ${expression};`)(parameters) as string;
	};

	it('the canvas shows each operation by its action name, not its raw values', () => {
		const description = new Ksher().description;
		const operations = description.properties.filter((p) => p.name === 'operation');
		for (const selector of operations) {
			for (const option of selector.options as Array<{ value: string; action: string }>) {
				expect(
					subtitle(description.subtitle, {
						resource: selector.displayOptions?.show?.resource?.[0],
						operation: option.value,
					}),
				).toBe(option.action);
			}
		}
		expect(subtitle(description.subtitle, { resource: 'refund', operation: 'create' })).toBe(
			'Create a refund',
		);
	});

	it('the trigger shows its events by name', () => {
		expect(
			subtitle(new KsherTrigger().description.subtitle, { events: ['paid', 'refunded'] }),
		).toBe('Payment Paid, Payment Refunded');
	});

	it("both nodes describe the package (n8n's node search shows one description for both)", () => {
		expect(new KsherTrigger().description.description).toBe(new Ksher().description.description);
		expect(new Ksher().description.description).toMatch(
			/payment links.*refunds.*settlements.*verified payments/,
		);
	});

	it("the trigger's notice links to the README and does not send people to Ksher settings for the Notify URL", () => {
		const notice = new KsherTrigger().description.properties.find((p) => p.type === 'notice')!;
		expect(notice.displayName).toContain(
			'href="https://github.com/n8n-nodes-ksher/n8n-nodes-ksher#ksher-trigger"',
		);
		expect(notice.displayName).not.toMatch(/Ksher settings|see the README\)/);
	});

	it('version 2 of the trigger (and so the node search) offers no "Payment Refunded" event, which Ksher never sends; version 1 keeps it', () => {
		type Events = Omit<INodeProperties, 'options'> & {
			options: Array<{ value: string; description: string }>;
		};
		const events = new KsherTrigger().description.properties.filter(
			(p) => p.name === 'events',
		) as unknown as Events[];
		const forVersion = (v: number) =>
			events.find((p) => (p.displayOptions?.show?.['@version'] as number[]).includes(v))!;
		// n8n's node search lists the options of the first property displayed as "Events" as trigger events.
		expect(events[0]).toBe(forVersion(2));
		expect(forVersion(2).options.map((o) => o.value)).toEqual(['any', 'paid']);
		expect(forVersion(2).default).toEqual(['paid']);
		const refunded = forVersion(1).options.find((o) => o.value === 'refunded')!;
		expect(refunded.description).toMatch(/does not send refund notifications/);
		expect(forVersion(1).default).toEqual(['paid', 'refunded']);
	});
});
