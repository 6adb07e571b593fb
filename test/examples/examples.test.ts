import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';

import { NodeHelpers, type IDataObject, type INode, type INodeTypeDescription } from 'n8n-workflow';

import { Ksher } from '../../nodes/Ksher/Ksher.node';
import { KsherTrigger } from '../../nodes/KsherTrigger/KsherTrigger.node';
import { createQr, initialWatchState } from '../../nodes/protocol';
import { runKsherNode } from '../helpers/n8n';
import { simulatorCredentials } from '../helpers/node';
import { startHarness, uniqueOrderNo, type SimulatorHarness } from '../helpers/simulator';
import { startTrigger } from '../helpers/trigger';

/**
 * Every example workflow, checked in seconds (the real-n8n e2e imports and runs them too, in
 * minutes): our nodes' parameters are ones the node has, for the chosen operation; each Ksher
 * node runs as configured, through n8n's engine against the simulator, with the input its
 * previous node would give; and every field the rest of the workflow reads from a Ksher node
 * (`$json.x` right after it, `$('Name').item.json.x` anywhere) is in that node's output.
 */
type Workflow = {
	name: string;
	nodes: Array<INode & { parameters: IDataObject }>;
	connections: Record<string, { main?: Array<Array<{ node: string }>> }>;
};

const dir = join(__dirname, '../../examples');
const examples = readdirSync(dir)
	.filter((f) => f.endsWith('.json'))
	.map((file) => [file, JSON.parse(readFileSync(join(dir, file), 'utf8')) as Workflow] as const);

const OURS: Record<string, INodeTypeDescription> = {
	'n8n-nodes-ksher.ksher': new Ksher().description,
	'n8n-nodes-ksher.ksherTrigger': new KsherTrigger().description,
};

let h: SimulatorHarness;
beforeAll(async () => {
	h = await startHarness();
});
afterAll(() => h.sim.close());

/** What the node before each Ksher node hands it in that example, given real orders at the simulator. */
async function inputFor(file: string, node: string): Promise<IDataObject[]> {
	const paid = async (channel = 'truemoney') => {
		const { orderNo } = await h.createOrder();
		await h.payOrder(orderNo, channel);
		return orderNo;
	};
	// With a row that fails: the example writes each row's error and solution to its result sheet.
	// Preview Only, as the example ships: the row with an empty amount is the one that fails.
	// The approved run (Refund) gets the rows that passed the check; a PromptPay row, which Ksher cannot
	// fully check, is one the preview says it "would try".
	// A row pasted twice is the same refund as the first.
	if (file === 'refund-from-spreadsheet.json') {
		const returned = { orderNumber: await paid(), amount: '150.50', reason: 'returned' };
		return [
			returned,
			{ orderNumber: await paid('promptpay'), amount: '25.50', reason: 'partly' },
			returned,
			...(node === 'Check Refunds'
				? [{ orderNumber: await paid(), amount: '', reason: 'blank cell' }]
				: []),
		];
	}
	// The report day: payments on two channels, one refunded in part, settled (the simulator's clock moved on).
	if (file === 'daily-reconciliation.json') return [{ day: await settledDay() }];
	// Rows of the refund queue table: one approved row is fine, the other has an empty amount cell.
	if (file === 'refund-queue-data-table.json') {
		return [
			{
				id: 1,
				orderNumber: await paid(),
				amount: '20.00',
				status: 'approved',
				reason: null,
				refundNumber: null,
			},
			{
				id: 2,
				orderNumber: await paid(),
				amount: null,
				status: 'approved',
				reason: null,
				refundNumber: null,
			},
		];
	}
	// The form's answer; the refund reads it by the form's node name (see paramsFor). The check before
	// the approval also gets a mistyped order number: the request it stops, with the reason for staff.
	if (file === 'refund-with-approval.json') {
		const request = (orderNumber: string) => ({
			'Order Number': orderNumber,
			Amount: '25.00',
			Reason: 'damaged on arrival',
			'Your Email': 'staff@example.com',
		});
		return node === 'Check Refund'
			? [request(await paid()), request(uniqueOrderNo('TYPO'))]
			: [request(await paid())];
	}
	if (file === 'watch-orders-email-refunds.json') {
		const refundedNo = await paid();
		await h.control('/refund', { mch_order_no: refundedNo, refund_fee: 5000 });
		const { orderNo: silent } = await h.createOrder();
		const pending = initialWatchState('pending', new Date());
		await h.control('/pay', { mch_order_no: silent, channel: 'card', notify: false });
		// A QR payment (Create QR) in the same table, refunded at the portal: found by its channel.
		const qrNo = uniqueOrderNo('QW');
		await createQr(h.client, { orderNumber: qrNo, amount: '150.50' });
		await h.control('/pay', { mch_order_no: qrNo, notify: false });
		await h.control('/refund', { mch_order_no: qrNo, refund_fee: 5000 });
		return [
			{
				orderNumber: refundedNo,
				email: 'a@example.com',
				channel: 'truemoney',
				watchState: initialWatchState('paid', new Date()),
			},
			{ orderNumber: silent, email: 'b@example.com', channel: null, watchState: pending },
			{
				orderNumber: qrNo,
				email: 'c@example.com',
				channel: 'promptpay',
				watchState: initialWatchState('paid', new Date()),
			},
		];
	}
	// The chat's order as its webhook posts it.
	if (file === 'sell-in-chat-qr.json')
		return [
			{ body: { orderNumber: uniqueOrderNo('CHAT'), amount: '89.00', email: 'c@example.com' } },
		];
	return [{}];
}

/** Today's payments (two PromptPay, one TrueMoney; one refunded in part), settled: the simulator's clock moves two days on. */
let settled: Promise<string> | undefined;
function settledDay(): Promise<string> {
	settled ??= (async () => {
		const day = new Date(Date.now() + 7 * 3600_000).toISOString().slice(0, 10);
		for (const [total, channel] of [
			[15050, 'promptpay'],
			[10000, 'promptpay'],
			[50000, 'truemoney'],
		] as const) {
			const { orderNo } = await h.createOrder({
				total_fee: total,
				channel_list: 'promptpay,truemoney',
			});
			await h.payOrder(orderNo, channel);
			if (total === 15050) await h.control('/refund', { mch_order_no: orderNo, refund_fee: 5050 });
		}
		await h.control('/clock', { advanceDays: 2 });
		return day;
	})();
	return settled;
}

/**
 * A node's parameters as the test runs it alone: a reference to the node that produced its input
 * (`$('Refund Request').item.json`) reads that input here (`$json`), since only the Ksher node runs.
 */
function paramsFor(file: string, node: INode & { parameters: IDataObject }): IDataObject {
	if (file !== 'refund-with-approval.json') return node.parameters;
	return JSON.parse(
		JSON.stringify(node.parameters).replace(/\$\('Refund Request'\)\.item\.json/g, '$json'),
	) as IDataObject;
}

/**
 * The output fields a workflow reads from a node: `$json.x` in its direct successors, `$('Name').item.json.x`
 * anywhere. Not its error output's (On Error: Continue (using error output)): those items are n8n's `error`
 * and `message`, which the router's tests cover.
 */
function fieldsRead(workflow: Workflow, node: INode): string[] {
	const nodeName = node.name;
	const outputs = workflow.connections[nodeName]?.main ?? [];
	const regular = node.onError === 'continueErrorOutput' ? outputs.slice(0, -1) : outputs;
	const next = new Set(regular.flat().map((c) => c.node));
	const fields = new Set<string>();
	for (const node of workflow.nodes) {
		const text = JSON.stringify(node.parameters);
		const named = new RegExp(`\\$\\('${nodeName}'\\)\\.item\\.json\\.(\\w+)`, 'g');
		for (const m of text.matchAll(named)) fields.add(m[1]);
		// `$('Name').all().filter(i => i.json.x …)`: every `i.json.x` of an expression that reads all its items.
		for (const expression of text.match(/\{\{[\s\S]*?\}\}/g) ?? [])
			if (expression.includes(`$('${nodeName}').all()`))
				for (const m of expression.matchAll(/\bi\.json\.(\w+)/g)) fields.add(m[1]);
		if (next.has(node.name)) for (const m of text.matchAll(/\$json\.(\w+)/g)) fields.add(m[1]);
	}
	return [...fields];
}

describe.each(examples)('example %s', (file, workflow) => {
	const ours = workflow.nodes.filter((n) => n.type in OURS);

	it('uses our nodes, and only parameters they have for the chosen operation', () => {
		expect(ours.length).toBeGreaterThan(0);
		for (const node of ours) {
			const effective =
				NodeHelpers.getNodeParameters(
					OURS[node.type].properties,
					node.parameters,
					true,
					false,
					node,
					OURS[node.type],
				) ?? {};
			const unknown = Object.keys(node.parameters).filter((k) => !(k in effective));
			expect({ node: node.name, unknown }).toEqual({ node: node.name, unknown: [] });
		}
		const names = new Set(workflow.nodes.map((n) => n.name));
		for (const [from, outputs] of Object.entries(workflow.connections)) {
			expect(names.has(from)).toBe(true);
			for (const c of Object.values(outputs).flat(2) as Array<{ node: string }>)
				expect(names.has(c.node)).toBe(true);
		}
	});

	it("has unique node ids and names (n8n's import refuses a workflow whose nodes share an id)", () => {
		const ids = workflow.nodes.map((n) => n.id);
		const names = workflow.nodes.map((n) => n.name);
		expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
		expect(names.filter((name, i) => names.indexOf(name) !== i)).toEqual([]);
		expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
	});

	it('runs each of our nodes as configured and gives every field the workflow reads', async () => {
		for (const node of ours) {
			let items: IDataObject[];
			if (node.type === 'n8n-nodes-ksher.ksherTrigger') {
				const trigger = await startTrigger({
					credentials: simulatorCredentials(h) as never,
					parameters: node.parameters,
				});
				const { orderNo } = await h.createOrder({
					attach: JSON.stringify({ email: 'buyer@example.com' }),
				});
				await h.control('/pay', { mch_order_no: orderNo, channel: 'promptpay' });
				await h.control('/notify', { mch_order_no: orderNo, url: trigger.url, retry: false });
				for (let i = 0; i < 100 && trigger.emitted.length === 0; i++)
					await new Promise((r) => setTimeout(r, 20));
				items = trigger.emitted;
				await trigger.close();
			} else {
				const run = await runKsherNode({
					credentials: simulatorCredentials(h) as never,
					parameters: paramsFor(file, node) as INode['parameters'],
					typeVersion: node.typeVersion,
					items: await inputFor(file, node.name),
					continueOnFail: node.onError === 'continueRegularOutput',
				});
				expect({ node: node.name, status: run.status, error: run.error?.message }).toEqual({
					node: node.name,
					status: 'success',
					error: undefined,
				});
				items = run.items;
			}
			// Failures only where the example continues on them (and then only the row meant to fail).
			const failed = items.filter((i) => i.error !== undefined);
			const rowsThatFail =
				file === 'refund-from-spreadsheet.json' && node.name === 'Refund' ? 0 : 1;
			expect(failed.length).toBe(node.onError === 'continueRegularOutput' ? rowsThatFail : 0);
			expect(items.length).toBeGreaterThan(failed.length);
			const produced = new Set(items.flatMap((i) => Object.keys(i)));
			// The approved run's rows passed the check; one that fails after it gives the error fields the
			// workflow reads too: a refund whose answer was lost (the connection broke after Ksher made it).
			if (file === 'refund-from-spreadsheet.json' && node.name === 'Refund') {
				const { orderNo } = await h.createOrder();
				await h.payOrder(orderNo, 'promptpay');
				await h.control('/faults', {
					type: 'reset',
					endpoint: 'order_refund',
					stage: 'after',
					count: 1,
				});
				const refusal = await runKsherNode({
					credentials: simulatorCredentials(h) as never,
					parameters: node.parameters as INode['parameters'],
					typeVersion: node.typeVersion,
					items: [{ orderNumber: orderNo, amount: '10.00' }],
					continueOnFail: true,
				});
				expect(refusal.items.map((i) => [typeof i.error, i.mayHaveSucceeded])).toEqual([
					['string', true],
				]);
				// And one the check refuses (the order is not paid).
				const unpaid = await runKsherNode({
					credentials: simulatorCredentials(h) as never,
					parameters: node.parameters as INode['parameters'],
					typeVersion: node.typeVersion,
					items: [{ orderNumber: (await h.createOrder()).orderNo, amount: '10.00' }],
					continueOnFail: true,
				});
				expect(unpaid.items.map((i) => typeof i.error)).toEqual(['string']);
				for (const key of [...refusal.items, ...unpaid.items].flatMap((i) => Object.keys(i)))
					produced.add(key);
			}
			const missing = fieldsRead(workflow, node).filter((f) => !produced.has(f));
			expect({ node: node.name, missing }).toEqual({ node: node.name, missing: [] });
		}
	});
});

describe("the daily reconciliation's comparison (its Code node), on what the Ksher nodes really output", () => {
	const workflow = examples.find(([file]) => file === 'daily-reconciliation.json')![1];
	const code = String(workflow.nodes.find((n) => n.name === 'Reconcile')!.parameters.jsCode);
	/** Runs the Code node's JavaScript with n8n's `$('Node')` over the given outputs. */
	const reconcile = (outputs: Record<string, IDataObject[]>) => {
		const $ = (name: string) => ({
			all: () => outputs[name].map((json) => ({ json })),
			first: () => ({ json: outputs[name][0] }),
		});
		return (new Function('$', code) as (d: typeof $) => Array<{ json: IDataObject }>)($)[0].json;
	};

	it("records that match Ksher's settlement: 0 mismatches, per channel in exact satang; a missing record: exactly one", async () => {
		const day = await settledDay();
		const lines = (
			await runKsherNode({
				credentials: simulatorCredentials(h) as never,
				parameters: { resource: 'settlement', operation: 'getAll', fromDate: day } as never,
				items: [{}],
			})
		).items;
		const account = (
			await runKsherNode({
				credentials: simulatorCredentials(h) as never,
				parameters: { resource: 'account', operation: 'get' } as never,
				items: [{}],
			})
		).items;
		const paidAt = `${day}T10:00:00+07:00`;
		const payments = [
			{ orderNumber: 'A', amount: '150.50', currency: 'THB', channel: 'promptpay', paidAt },
			{ orderNumber: 'B', amount: '100.00', currency: 'THB', channel: 'promptpay', paidAt },
			{ orderNumber: 'C', amount: '500.00', currency: 'THB', channel: 'truemoney', paidAt },
			{
				orderNumber: 'OLD',
				amount: '999.99',
				currency: 'THB',
				channel: 'truemoney',
				paidAt: '2020-01-01T10:00:00+07:00',
			},
		];
		const refunds = [
			{
				orderNumber: 'A',
				refundNumber: 'R1',
				refundAmount: '50.50',
				currency: 'THB',
				channel: 'promptpay',
				refundedAt: `${day}T11:00:00+07:00`,
			},
		];
		const outputs = {
			'Report Day': [{ day }],
			Settlements: lines,
			Account: account,
			'Recorded Payments': payments,
			'Recorded Refunds': refunds,
		};
		const agreed = reconcile(outputs);
		expect(agreed).toMatchObject({
			day,
			mismatches: 0,
			subject: `Ksher reconciliation for ${day}: 0 mismatches`,
		});
		expect(agreed.text).toContain('PromptPay: paid 250.50, refunded 50.50; Ksher settled 200.00');
		expect(agreed.text).toContain('TrueMoney: paid 500.00, refunded 0.00; Ksher settled 500.00');
		// 0.1 + 0.2 style sums stay exact: amounts are compared in satang.
		const cents = reconcile({
			...outputs,
			'Recorded Payments': [
				...payments.slice(0, 1),
				{ ...payments[1], amount: '99.90' },
				{ orderNumber: 'D', amount: '0.10', currency: 'THB', channel: 'promptpay', paidAt },
				payments[2],
			],
		});
		expect(cents.mismatches).toBe(0);
		const missing = reconcile({
			...outputs,
			'Recorded Payments': payments.filter((p) => p.orderNumber !== 'C'),
		});
		expect(missing.mismatchList).toEqual([
			'Ksher settled 500.00 for TrueMoney, which the records do not have',
		]);
		const unsettled = reconcile({
			...outputs,
			Settlements: lines.filter((l) => l.channel !== 'promptpay'),
		});
		expect(unsettled.mismatchList).toEqual([
			'Recorded payment A (promptpay) was not settled by Ksher',
			'Recorded payment B (promptpay) was not settled by Ksher',
		]);
		// The refund queue records its refunds without a channel: they count on their order's.
		const fromQueue = reconcile({
			...outputs,
			'Recorded Refunds': [{ ...refunds[0], channel: '' }],
		});
		expect(fromQueue.mismatches).toBe(0);
		expect(fromQueue.text).toContain('PromptPay: paid 250.50, refunded 50.50');
		const orphan = reconcile({
			...outputs,
			'Recorded Refunds': [...refunds, { ...refunds[0], orderNumber: 'NOPE', channel: '' }],
		});
		expect(orphan.mismatchList).toEqual([
			'Recorded refund R1 of NOPE: its order is not in the records, so its channel is unknown',
		]);
	});
});
