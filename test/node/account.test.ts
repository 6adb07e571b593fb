import { Ksher } from '../../nodes/Ksher/Ksher.node';
import { runNode } from '../helpers/node';
import { startHarness, type SimulatorHarness } from '../helpers/simulator';

let h: SimulatorHarness;
beforeAll(async () => {
	h = await startHarness();
});
afterAll(() => h.sim.close());
afterEach(() => h.control('/merchant-settings', { allow_partial_refund: 'Y' }));

describe('Account → Get', () => {
	it('returns the account, its channels with names, limits and settlement cycle, and its refund setting', async () => {
		const result = await runNode(h, { resource: 'account', operation: 'get' });
		expect(result.status).toBe('success');
		const [account] = result.items;
		expect(account).toMatchObject({
			appId: h.sim.info.appid,
			merchantName: 'Ksher Simulator Merchant',
			accountType: 'Test',
			businessMode: 'online',
			allowPartialRefunds: true,
			currency: 'THB',
			timeZone: '+07:00',
		});
		expect(account.channels).toEqual(
			expect.arrayContaining([
				{
					channel: 'promptpay',
					channelName: 'PromptPay',
					settlement: 'T+1',
					singleOrderLimit: null,
					dailyLimit: null,
				},
			]),
		);
		// What Create QR can be used for on this account (the simulator's account has every channel).
		expect(account.qrChannels).toEqual(expect.arrayContaining(['promptpay', 'truemoney']));
		expect((account.qrChannels as string[]).includes('card')).toBe(false);
		// Which fields Ksher's signature covers is said in the item, not as a warning in the editor.
		expect(account.signedByKsher).toEqual(['merchantId', 'accountType', 'businessMode']);
		expect(
			new Ksher().description.properties.filter(
				(p) => p.type === 'notice' && JSON.stringify(p.displayOptions).includes('account'),
			),
		).toEqual([]);
		expect(account.raw).toBeUndefined();
		const raw = await runNode(h, { resource: 'account', operation: 'get', simplify: false });
		expect(raw.items[0].raw).toMatchObject({
			mch_appid: h.sim.info.appid,
			allow_partial_refund: 'Y',
		});
	});
});

describe('Refund → Create on an account without partial refunds', () => {
	it("explains the refusal in the account's terms; the full refund still works", async () => {
		await h.control('/merchant-settings', { allow_partial_refund: 'N' });
		const { orderNo } = await h.createOrder();
		await h.payOrder(orderNo);
		const partial = await runNode(h, {
			resource: 'refund',
			operation: 'create',
			orderNumber: orderNo,
			refundAmount: '10',
		});
		expect(partial.status).toBe('error');
		expect(partial.error?.message).toBe(
			`Refund Amount 10.00 THB of order ${orderNo} is a partial refund, and partial refunds are not enabled for this Ksher account [KSHER_INVALID_REFUND_AMOUNT] (row 1)`,
		);
		expect(partial.error?.description).toMatch(
			/Choose "Everything That Remains" to refund the whole payment/,
		);
		expect(h.sim.order(orderNo)?.refunds).toEqual([]);
		const whole = await runNode(h, {
			resource: 'refund',
			operation: 'create',
			orderNumber: orderNo,
			whatToRefund: 'remaining',
		});
		expect(whole.items[0]).toMatchObject({ refundAmount: '150.50', status: 'refunded' });
	});
});
