import type { IDataObject } from 'n8n-workflow';

import { runNode } from '../../helpers/node';
import { startHarness, type SimulatorHarness } from '../../helpers/simulator';

/**
 * Attack (contested: the maintainers' own finding-3 test asserts today's answer): Preview Only
 * with Check All Rows First on (the default) says "would refund", wouldRefund true, for a row that
 * the following run, with the same settings, does not refund because another row fails the check.
 * A workflow that branches on wouldRefund (IF wouldRefund → run the refund sheet) or a person
 * reading the preview's first rows expects money to move; none does. The preview already knows
 * (the check fails) and does say so for Stop Above Total (a breach turns every row into "cannot
 * refund"), but not for a failed row.
 */
let h: SimulatorHarness;
beforeAll(async () => {
	h = await startHarness();
});
afterAll(() => h.sim.close());

const sheet = (extra: IDataObject = {}): IDataObject => ({ resource: 'refund', operation: 'create', orderNumber: '={{ $json.orderNumber }}', refundAmount: '={{ $json.amount }}', ...extra });

it('a passing row of a sheet that will not run is not "would refund" in the preview', async () => {
	const { orderNo: a } = await h.createOrder({ total_fee: 10000 });
	await h.payOrder(a, 'truemoney');
	const rows = [{ orderNumber: a, amount: '10.00' }, { orderNumber: a, amount: '' }];
	const preview = await runNode(h, sheet({ previewOnly: true }), { rows, continueOnFail: true });
	const result = await runNode(h, sheet(), { rows, continueOnFail: true });
	expect(h.sim.order(a)?.refunds).toEqual([]);
	expect(result.items[0].error).toMatch(/^Nothing was refunded \(Check All Rows First\)/);
	// What the run did to row 1 (nothing) is what the preview must say.
	expect(preview.items[0].wouldRefund).not.toBe(true);
});
