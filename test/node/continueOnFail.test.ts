import { Ksher } from '../../nodes/Ksher/Ksher.node';
import { registerNodeType, runKsherNode } from '../helpers/n8n';
import { createParams, runNode, simulatorCredentials } from '../helpers/node';
import { startHarness, uniqueOrderNo, type SimulatorHarness } from '../helpers/simulator';

let h: SimulatorHarness;
beforeAll(async () => {
	h = await startHarness();
});
afterAll(() => h.sim.close());

/** With Continue On Fail, a broken expression in any field becomes that item's error, never the run's. */
describe('Continue On Fail', () => {
	it.each([
		['Order Number', { orderNumber: '={{ $("Nope").item.json.x }}' }],
		['Product Name', { productName: '={{ $("Nope").item.json.x }}' }],
	])(
		'a broken expression in %s gives an error item and the run succeeds',
		async (_field, broken) => {
			const result = await runNode(
				h,
				{ ...createParams('COF-1'), ...broken },
				{ rows: [{ a: 1 }, { a: 2 }], continueOnFail: true },
			);
			expect(result.error).toBeUndefined();
			expect(result.status).toBe('success');
			expect(result.items).toHaveLength(2);
			for (const item of result.items)
				expect(item.error).toEqual(expect.stringMatching(/Referenced node doesn't exist/));
		},
	);
});

describe("as an AI Agent's tool", () => {
	// n8n runs a node used as a tool under the type "<type>Tool"; a thrown error would reach the
	// agent as an empty answer (seen in n8n 1.123 and 2.41), so failures come back as items.
	it('a refusal is an item the agent can read, with the solution and whether anything happened', async () => {
		registerNodeType('n8n-nodes-ksher.ksherTool', new Ksher());
		const orderNumber = uniqueOrderNo('TOOL');
		await runNode(h, createParams(orderNumber));
		const again = await runKsherNode({
			credentials: simulatorCredentials(h) as never,
			nodeType: 'n8n-nodes-ksher.ksherTool',
			parameters: createParams(orderNumber) as never,
		});
		expect(again.status).toBe('success');
		expect(again.items).toEqual([
			{
				orderNumber,
				error: `Create Payment failed for order ${orderNumber}: This order number was already used for another payment [KSHER_DUPLICATED_ORDERNO]`,
				solution: expect.stringMatching(/^Every payment link needs its own order number/),
				code: 'KSHER_DUPLICATED_ORDERNO',
			},
		]);
		// The plain node, without Continue On Fail, still fails the run.
		expect((await runNode(h, createParams(orderNumber))).status).toBe('error');
	});
});
