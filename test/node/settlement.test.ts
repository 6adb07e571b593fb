import { runNode } from '../helpers/node';
import { startHarness, type SimulatorHarness } from '../helpers/simulator';

/**
 * Settlement → Get Many through n8n's engine against the simulator, which settles as the
 * README describes (per channel and trading day, commission and 7 % VAT, after the channel's
 * cycle) and moves its clock forward on request.
 */
let h: SimulatorHarness;
beforeAll(async () => {
	h = await startHarness();
});
afterAll(() => h.sim.close());
beforeEach(() => h.control('/reset', {}));

const bangkokDay = (offsetDays = 0) =>
	new Date(Date.now() + 7 * 3600_000 + offsetDays * 86_400_000).toISOString().slice(0, 10);
const settlements = (extra: Record<string, unknown> = {}) => ({
	resource: 'settlement',
	operation: 'getAll',
	...extra,
});
const paid = async (total: number, channel: string) => {
	const { orderNo } = await h.createOrder({
		total_fee: total,
		channel_list: 'promptpay,truemoney,card',
	});
	await h.payOrder(orderNo, channel);
	return orderNo;
};

describe('Settlement → Get Many', () => {
	it("one item per channel and trading day, in baht, Ksher's integers beside them, and not signed by Ksher (said in the item)", async () => {
		const a = await paid(15050, 'promptpay');
		await paid(10000, 'promptpay');
		await paid(50000, 'truemoney');
		await h.control('/refund', { mch_order_no: a, refund_fee: 5050 });
		const today = bangkokDay();
		// Not settled yet: PromptPay and TrueMoney settle the next day (T+1).
		expect((await runNode(h, settlements({ fromDate: today }))).items).toEqual([]);
		await h.control('/clock', { advanceDays: 2 });
		const result = await runNode(h, settlements({ fromDate: today }));
		expect(result.status).toBe('success');
		const byChannel = Object.fromEntries(result.items.map((i) => [i.channel, i]));
		// PromptPay: 150.50 + 100.00 paid, 50.50 refunded; 1.5 % commission on 250.50 = 3.7575 → 3.76; VAT 7 % of 3.76 = 0.2632 → 0.26.
		expect(byChannel.promptpay).toEqual({
			tradingDayFrom: today,
			tradingDayTo: today,
			settlementDate: bangkokDay(1),
			transferDate: bangkokDay(2),
			channel: 'promptpay',
			channelName: 'PromptPay',
			currency: 'THB',
			settlementAmount: '200.00',
			commissionFee: '-3.76',
			vat: '-0.26',
			transferAmount: '195.98',
			ksher: { settlement_amount: 20000, commission_fee: -376, vat: -26, transfer_amount: 19598 },
			linesSignedByKsher: false,
		});
		expect(byChannel.truemoney).toMatchObject({
			settlementAmount: '500.00',
			commissionFee: '-7.50',
			vat: '-0.53',
			transferAmount: '491.97',
		});
		// Only the asked channel.
		const one = await runNode(h, settlements({ fromDate: today, channel: 'truemoney' }));
		expect(one.items.map((i) => i.channel)).toEqual(['truemoney']);
	});

	it('a day whose refunds exceed its payments is a negative line, kept negative, nothing transferred', async () => {
		const a = await paid(10000, 'truemoney');
		const payDay = bangkokDay();
		await h.control('/clock', { advanceDays: 1 });
		await h.control('/refund', { mch_order_no: a, refund_fee: 10000 });
		await h.control('/clock', { advanceDays: 3 });
		const result = await runNode(h, settlements({ fromDate: payDay, toDate: bangkokDay(1) }));
		const refundDay = result.items.find((i) => i.tradingDayFrom === bangkokDay(1))!;
		expect(refundDay).toMatchObject({
			settlementAmount: '-100.00',
			commissionFee: '0.00',
			vat: '0.00',
			transferAmount: '0.00',
			transferDate: null,
			ksher: { settlement_amount: -10000, commission_fee: 0, vat: 0, transfer_amount: 0 },
		});
	});

	it('a 90-day range is asked for in calls that together cover it once', async () => {
		const before = h.sim.requests.length;
		const result = await runNode(h, settlements({ fromDate: '2026-01-01', toDate: '2026-03-31' }));
		expect(result.status).toBe('success');
		const asked = h.sim.requests
			.slice(before)
			.filter((r) => r.endpoint === 'get_settlement_info')
			.map((r) => `${r.params.begin_date}..${r.params.end_date}`);
		expect(asked.sort()).toEqual([
			'2026-01-01..2026-01-31',
			'2026-02-01..2026-03-03',
			'2026-03-04..2026-03-31',
		]);
		// The account (currency, time zone) is asked for once per execution, not per call.
		expect(h.sim.requests.slice(before).filter((r) => r.endpoint === 'merchant_info')).toHaveLength(
			1,
		);
	});

	it("empty dates mean yesterday in the account's time zone", async () => {
		const before = h.sim.requests.length;
		await runNode(h, settlements());
		const [call] = h.sim.requests.slice(before).filter((r) => r.endpoint === 'get_settlement_info');
		expect(call.params).toMatchObject({ begin_date: bangkokDay(-1), end_date: bangkokDay(-1) });
	});

	it.each(['tampered', 'nonce', 'wrongkey'])(
		'a %s answer is refused, not reported',
		async (type) => {
			await h.control('/faults', { type, endpoint: 'get_settlement_info' });
			const result = await runNode(h, settlements({ fromDate: bangkokDay() }));
			expect(result.status).toBe('error');
			expect(result.error?.message).toMatch(/signature invalid|nonce mismatch/);
		},
	);

	it('dates that are not dates, or the wrong way round, are refused naming the field', async () => {
		expect((await runNode(h, settlements({ fromDate: '2026-02-30' }))).error?.message).toMatch(
			/From "2026-02-30" is not a date/,
		);
		expect(
			(await runNode(h, settlements({ fromDate: '2026-03-02', toDate: '2026-03-01' }))).error
				?.message,
		).toMatch(/To \(2026-03-01\) is before From \(2026-03-02\)/);
	});
});
