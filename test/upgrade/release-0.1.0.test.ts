import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';

import {
	Workflow,
	type IDataObject,
	type INode,
	type INodeParameters,
	type INodeProperties,
} from 'n8n-workflow';

import { Ksher } from '../../nodes/Ksher/Ksher.node';
import { nodeTypes, registerNodeType, runKsherNode } from '../helpers/n8n';
import { simulatorCredentials } from '../helpers/node';
import { startHarness, type SimulatorHarness } from '../helpers/simulator';

/**
 * Saved workflows are contracts (issue #30): a workflow saved with a released version runs on
 * this one with a money outcome never larger than what it asked. The fixtures are 0.1.0's own
 * files, as released (test/fixtures/releases/0.1.0: its node descriptions and its example
 * workflows), loaded the way n8n loads a saved workflow: `new Workflow(...)` keeps only the
 * parameters the node describes now, and drops the rest without a word. That drop is how 0.1.0's
 * refund sheet came to refund whole payments (its `amount` was dropped, and version 1 read the
 * empty new field as "everything that remains").
 */
const RELEASE = join(__dirname, '../fixtures/releases/0.1.0');
const release = JSON.parse(readFileSync(join(RELEASE, 'description.json'), 'utf8')) as {
	nodes: Record<string, { version: number; properties: INodeProperties[] }>;
};
const examples = readdirSync(join(RELEASE, 'examples')).map((file) => ({
	file,
	workflow: JSON.parse(readFileSync(join(RELEASE, 'examples', file), 'utf8')) as { nodes: INode[] },
}));

/** A saved node as n8n has it after loading the workflow into this version of the package. */
function loaded(type: string, typeVersion: number, parameters: INodeParameters): INodeParameters {
	const node: INode = {
		id: 'n',
		name: 'Node',
		type,
		typeVersion,
		position: [0, 0],
		parameters: structuredClone(parameters),
	};
	return new Workflow({
		id: 'w',
		nodes: [node],
		connections: {},
		active: false,
		nodeTypes,
	}).getNode('Node')!.parameters;
}

/** A value other than the default, as a user would have saved it, for each kind of 0.1.0 parameter. */
function savedValue(p: INodeProperties): unknown {
	switch (p.type) {
		case 'boolean':
			return !p.default;
		case 'number':
			return Number(p.default ?? 0) + 1;
		case 'options':
			return (p.options as Array<{ value: unknown }>)
				.map((o) => o.value)
				.find((v) => v !== p.default);
		case 'multiOptions':
			return (p.options as Array<{ value: unknown }>).slice(0, 1).map((o) => o.value);
		case 'collection':
			return Object.fromEntries(
				(p.options as INodeProperties[]).map((o) => [o.name, savedValue(o)]),
			);
		case 'fixedCollection': {
			const [group] = p.options as Array<{ name: string; values: INodeProperties[] }>;
			const entry = Object.fromEntries(
				group.values.map((v) => [v.name, v.type === 'string' ? `saved ${v.name}` : savedValue(v)]),
			);
			return { [group.name]: p.typeOptions?.multipleValues ? [entry] : entry };
		}
		default:
			return `={{ $json.${p.name} }}`;
	}
}

/** Every (resource, operation) of 0.1.0's Ksher node with the parameters a user could save there. */
function savedParameterSets(): Array<[string, INodeParameters]> {
	const { properties } = release.nodes['n8n-nodes-ksher.ksher'];
	const operations = properties.filter((p) => p.name === 'operation');
	return operations.flatMap((selector) =>
		(selector.options as Array<{ value: string }>).map(
			({ value: operation }): [string, INodeParameters] => {
				const resource = String(selector.displayOptions!.show!.resource![0]);
				const parameters: INodeParameters = { resource, operation };
				for (const p of properties) {
					const show = p.displayOptions?.show ?? {};
					if (p.name === 'resource' || p.name === 'operation' || p.type === 'notice') continue;
					if (show.resource && !show.resource.includes(resource)) continue;
					if (show.operation && !show.operation.includes(operation)) continue;
					// returnAll false shows Limit: save both as a user who set a limit would.
					parameters[p.name] = p.name === 'returnAll' ? false : (savedValue(p) as never);
				}
				return [`${resource} → ${operation}`, parameters];
			},
		),
	);
}

describe('0.1.0 workflows load into this version without losing a parameter', () => {
	it.each(savedParameterSets())(
		'Ksher node, %s: every saved parameter is still read',
		(_label, parameters) => {
			expect(loaded('n8n-nodes-ksher.ksher', 1, parameters)).toMatchObject(parameters);
		},
	);

	it('the parameter sets cover every operation and parameter of 0.1.0 (the check above is not vacuous)', () => {
		const sets = savedParameterSets();
		expect(sets.map(([label]) => label)).toEqual([
			'payment → cancel',
			'payment → create',
			'payment → get',
			'refund → create',
			'refund → getAll',
		]);
		expect(Object.keys(sets.find(([label]) => label === 'refund → create')![1])).toEqual([
			'resource',
			'operation',
			'orderNumber',
			'amount',
			'refundNumber',
			'options',
		]);
	});

	it('Ksher Trigger: every saved parameter is still read', () => {
		const parameters = Object.fromEntries(
			release.nodes['n8n-nodes-ksher.ksherTrigger'].properties
				.filter((p) => p.type !== 'notice')
				.map((p) => [p.name, savedValue(p)]),
		) as INodeParameters;
		expect(loaded('n8n-nodes-ksher.ksherTrigger', 1, parameters)).toMatchObject(parameters);
	});

	it.each(examples)(
		'example $file: each Ksher node keeps every parameter it was saved with',
		({ workflow }) => {
			const ours = workflow.nodes.filter((n) => n.type.startsWith('n8n-nodes-ksher.'));
			expect(ours.length).toBeGreaterThan(0);
			for (const node of ours)
				expect(loaded(node.type, node.typeVersion, node.parameters)).toMatchObject(node.parameters);
		},
	);
});

describe('0.1.0 refund workflows move no more money than they ask', () => {
	let h: SimulatorHarness;
	beforeAll(async () => {
		h = await startHarness();
		registerNodeType('n8n-nodes-ksher.ksherTool', new Ksher());
	});
	afterAll(() => h.sim.close());

	const refundsAt = (orderNo: string) =>
		(h.sim.order(orderNo)?.refunds ?? []).map((r) => [r.mch_refund_no, r.refund_fee]);
	const sheetNode = examples
		.find((e) => e.file === 'refund-from-spreadsheet.json')!
		.workflow.nodes.find((n) => n.type === 'n8n-nodes-ksher.ksher')!;
	async function paid(total = 10000, channel = 'truemoney'): Promise<string> {
		const { orderNo } = await h.createOrder({ total_fee: total });
		await h.payOrder(orderNo, channel);
		return orderNo;
	}
	/** 0.1.0's refund-sheet node exactly as saved (version 1, `amount` mapped), over these rows. */
	const runSheet = (rows: IDataObject[]) =>
		runKsherNode({
			credentials: simulatorCredentials(h) as never,
			parameters: sheetNode.parameters,
			typeVersion: sheetNode.typeVersion,
			items: rows,
			onError: 'continueRegularOutput',
		});

	it('the example is what 0.1.0 shipped: version 1, Refund Amount mapped as `amount`', () => {
		expect(sheetNode.typeVersion).toBe(1);
		expect(sheetNode.parameters).toMatchObject({
			resource: 'refund',
			operation: 'create',
			amount: '={{ $json.amount }}',
		});
	});

	it('a row asking 5.00 of a 100.00 payment refunds 5.00, and running the sheet again refunds nothing more', async () => {
		const orderNo = await paid();
		const first = await runSheet([{ orderNumber: orderNo, amount: '5.00' }]);
		expect(first.items[0]).toMatchObject({
			refundAmount: '5.00',
			alreadyRefunded: false,
			refundNumber: `${orderNo}-R500`,
		});
		const again = await runSheet([{ orderNumber: orderNo, amount: '5.00' }]);
		expect(again.items[0]).toMatchObject({ refundAmount: '5.00', alreadyRefunded: true });
		expect(refundsAt(orderNo)).toEqual([[`${orderNo}-R500`, 500]]);
	});

	it('a sheet 0.1.0 already refunded (…-R500) run again after the upgrade: nothing more', async () => {
		const orderNo = await paid();
		// What 0.1.0 left at Ksher: the refund under the number it derived from the order and the amount.
		await h.control('/refund', {
			mch_order_no: orderNo,
			refund_fee: 500,
			mch_refund_no: `${orderNo}-R500`,
		});
		const rerun = await runSheet([{ orderNumber: orderNo, amount: '5.00' }]);
		expect(rerun.items[0]).toMatchObject({ refundAmount: '5.00', alreadyRefunded: true });
		expect(refundsAt(orderNo)).toEqual([[`${orderNo}-R500`, 500]]);
	});

	it('a blank or missing cell is an error for its row (0.1.0 refunded everything there); the other rows are refunded', async () => {
		const [a, b, c] = [await paid(), await paid(), await paid()];
		const result = await runSheet([
			{ orderNumber: a, amount: '' },
			{ orderNumber: b },
			{ orderNumber: c, amount: '7.50' },
		]);
		expect(result.items[0]).toMatchObject({
			field: 'Refund Amount',
			error: `Refund Amount is empty for order ${a} (row 1): map the amount column or field, or choose "Everything That Remains"`,
		});
		expect(result.items[1]).toMatchObject({
			field: 'Refund Amount',
			error: expect.stringContaining(
				`Refund Amount is missing (this row has no such field: a blank cell, or a column of another name) for order ${b} (row 2)`,
			),
		});
		expect(result.items[2]).toMatchObject({ refundAmount: '7.50', alreadyRefunded: false });
		expect([refundsAt(a), refundsAt(b), refundsAt(c)]).toEqual([[], [], [[`${c}-R750`, 750]]]);
	});

	it("a Refund Amount left empty in the editor keeps 0.1.0's documented meaning: everything that remains", async () => {
		const orderNo = await paid();
		await h.control('/refund', { mch_order_no: orderNo, refund_fee: 2500 });
		const { amount: _amount, ...leftEmpty } = sheetNode.parameters;
		const result = await runKsherNode({
			credentials: simulatorCredentials(h) as never,
			parameters: leftEmpty,
			typeVersion: 1,
			items: [{ orderNumber: orderNo }],
		});
		expect(result.items[0]).toMatchObject({
			refundAmount: '75.00',
			refundNumber: `${orderNo}-RALL`,
		});
	});

	it("0.1.0's Ksher Tool with amount = $fromAI('amount'): the agent asks 5.00 and 5.00 is refunded; without an amount, nothing", async () => {
		const orderNo = await paid();
		const tool = (query: IDataObject) =>
			runKsherNode({
				nodeType: 'n8n-nodes-ksher.ksherTool',
				typeVersion: 1,
				credentials: simulatorCredentials(h) as never,
				parameters: {
					resource: 'refund',
					operation: 'create',
					orderNumber: orderNo,
					amount: "={{ $fromAI('amount') }}",
					refundNumber: '',
				},
				items: [query],
			});
		const asked = await tool({ amount: '5.00' });
		expect(asked.items[0]).toMatchObject({ refundAmount: '5.00', alreadyRefunded: false });
		const none = await tool({});
		expect(none.items[0]).toMatchObject({
			field: 'Refund Amount',
			error: expect.stringContaining(
				'give the amount to refund, or ask explicitly for everything that remains',
			),
		});
		expect(refundsAt(orderNo)).toEqual([[`${orderNo}-R500`, 500]]);
	});
});
