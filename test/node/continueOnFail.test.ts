import { createParams, runNode } from '../helpers/node';
import { startHarness, type SimulatorHarness } from '../helpers/simulator';

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
	])('a broken expression in %s gives an error item and the run succeeds', async (_field, broken) => {
		const result = await runNode(h, { ...createParams('COF-1'), ...broken }, { rows: [{ a: 1 }, { a: 2 }], continueOnFail: true });
		expect(result.error).toBeUndefined();
		expect(result.status).toBe('success');
		expect(result.items).toHaveLength(2);
		for (const item of result.items) expect(item.error).toEqual(expect.stringMatching(/Referenced node doesn't exist/));
	});
});
