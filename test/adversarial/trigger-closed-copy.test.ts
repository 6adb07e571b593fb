import { idOf, storedIds, type StoredMemory } from '../../nodes/KsherTrigger/ledger';
import { waitFor } from '../helpers/receiver';
import { fakeDate, signedPaid, triggerSuite, type TriggerServer } from '../helpers/trigger';
import { KSHER_ACK as ACK } from '../simulator/notifications';

/**
 * Found by an attack on the stored-mode claim (#32): a copy admitted after Ksher had already closed its
 * connection (it waited for a claim that then failed) got no marks at all, so n8n's save after its
 * WorkflowRunner cleared the "changed" mark skipped the claim: n8n answered 200 and the claim was done in
 * memory only. A restart (or another webhook process) before Ksher's next retry read nothing and ran the
 * payment again, not flagged. Such a copy now gets the first few marks (keepMarkedUntilAnswered).
 */
const HOUR = 3600_000;
const T0 = Date.parse('2026-12-01T05:00:00Z');
const suite = triggerSuite();
const { trigger } = suite;
beforeEach(() => fakeDate(T0));
afterEach(() => jest.useRealTimers());
const bangkok = (ms: number) =>
	new Date(ms + 7 * HOUR).toISOString().slice(0, 19).replace('T', ' ');
function genuine(): { orderNo: string; body: string } {
	const orderNo = `ATK-${Math.random().toString(36).slice(2, 8)}`;
	const order = {
		mch_order_no: orderNo,
		ksher_order_no: '70020261201000009',
		pay_mch_order_no: '261201009',
		total_fee: 15050,
		time_end: bangkok(T0),
	};
	return {
		orderNo,
		body: signedPaid(suite.h.sim, order, { nonce_str: 'atk'.padEnd(32, '0') }).body,
	};
}
const givenUpAfter = (t: { url: string }, body: string, ms: number) =>
	fetch(t.url, {
		method: 'POST',
		headers: { 'content-type': 'text/plain;charset=utf-8' },
		body,
		signal: AbortSignal.timeout(ms),
	}).then(
		() => 'answered',
		() => 'gave up',
	);
const runsOf = (t: TriggerServer, orderNo: string) =>
	t.emitted.filter((i) => i.orderNumber === orderNo);

it('a copy admitted after Ksher closed: its run is stored, but the memory is not; after a restart the next delivery runs it again unflagged', async () => {
	const t = await trigger({
		typeVersion: 1,
		storeDelayMs: (delivery) => (delivery === 1 ? 1500 : 0),
		failStoringExecution: (delivery) => delivery === 1,
	});
	const { orderNo, body } = genuine();
	expect(await givenUpAfter(t, body, 200)).toBe('gave up');
	expect(await givenUpAfter(t, body, 300)).toBe('gave up');
	await waitFor(() => t.deliveries.length === 2, 5000, 'both requests to end');
	expect(runsOf(t, orderNo)).toHaveLength(1);
	const key = idOf(`${suite.h.sim.info.appid}|${orderNo}|paid|`);
	const stored = storedIds((t.staticData()['node:Ksher Trigger'] ?? {}) as StoredMemory);
	// n8n redeployed before Ksher's next retry (2 s to 10 min later on its schedule).
	t.restart();
	expect(await t.post(body)).toEqual({ status: 200, body: ACK });
	const runs = runsOf(t, orderNo);
	// Either the memory must hold the run, or the second run must say possibleDuplicate.
	expect({
		storedHasIt: stored.has(key),
		runs: runs.length,
		flagged: runs[1]?.possibleDuplicate,
	}).toEqual(expect.objectContaining({ runs: 1 }));
});
