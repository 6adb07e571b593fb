import { idOf, storedIds, type StoredMemory } from '../../nodes/KsherTrigger/ledger';
import { payFreshOrder, triggerSuite, type TriggerServer } from '../helpers/trigger';
import { KSHER_ACK as ACK } from '../simulator/notifications';

/**
 * Exactly one run per notification, with n8n's real storage semantics (the harness reloads
 * the static data for every request, saves it whole afterwards, and answers only after
 * storing the execution): concurrent copies, concurrent different orders, runs that save
 * an older copy, a restart, and an execution n8n could not store.
 */
const suite = triggerSuite();
const { trigger } = suite;

let nonce = 0;
const paidNotification = () =>
	payFreshOrder(suite.h, { fields: () => ({ nonce_str: `x${++nonce}`.padEnd(32, '0') }) });

/** The notifications the stored static data remembers, as order numbers of `orders`. */
const storedOrders = (t: TriggerServer, orders: string[]) => {
	const ids = storedIds((t.staticData()['node:Ksher Trigger'] ?? {}) as StoredMemory);
	return orders.filter((o) => ids.has(idOf(`${suite.h.sim.info.appid}|${o}|paid|`)));
};

const runsPerOrder = (t: TriggerServer) => {
	const counts = new Map<string, number>();
	for (const item of t.emitted)
		counts.set(String(item.orderNumber), (counts.get(String(item.orderNumber)) ?? 0) + 1);
	return counts;
};

it.each([2, 12, 50])(
	'%d concurrent copies of one notification: one run, every copy acknowledged',
	async (copies) => {
		const t = await trigger();
		const { orderNo, body } = await paidNotification();
		const answers = await Promise.all(Array.from({ length: copies }, () => t.post(body)));
		expect(answers.filter((a) => a.status !== 200 || a.body !== ACK)).toEqual([]);
		expect(t.emitted.map((i) => i.orderNumber)).toEqual([orderNo]);
	},
);

it('30 orders at once, then each again one by one, with runs saving older copies: 30 runs; after a restart, none', async () => {
	const t = await trigger({ runSavesStaleCopyAfterMs: 5 });
	const orders = await Promise.all(Array.from({ length: 30 }, () => paidNotification()));
	const first = await Promise.all(orders.map((o) => t.post(o.body)));
	expect(first.every((a) => a.status === 200 && a.body === ACK)).toBe(true);
	await new Promise((r) => setTimeout(r, 50));
	for (const o of orders) expect(await t.post(o.body)).toEqual({ status: 200, body: ACK });
	expect(t.emitted).toHaveLength(30);

	// The runs' late saves wrote older copies; the next request's save puts everything back.
	await new Promise((r) => setTimeout(r, 50));
	expect(await t.post(orders[0].body)).toEqual({ status: 200, body: ACK });
	expect(
		storedOrders(
			t,
			orders.map((o) => o.orderNo),
		),
	).toHaveLength(30);

	t.restart();
	for (const o of orders) expect(await t.post(o.body)).toEqual({ status: 200, body: ACK });
	expect(t.emitted).toHaveLength(30);
	expect([...runsPerOrder(t).values()].every((n) => n === 1)).toBe(true);
});

it('when n8n cannot store the execution, the copy is not acknowledged and the next delivery starts the run', async () => {
	const t = await trigger({ failStoringExecution: (delivery) => delivery === 1 });
	const { orderNo, body } = await paidNotification();
	const failed = await t.post(body);
	expect(failed.status).toBe(500);
	expect(failed.body).not.toBe(ACK);
	expect(t.emitted).toEqual([]);
	expect(await t.post(body)).toEqual({ status: 200, body: ACK });
	expect(await t.post(body)).toEqual({ status: 200, body: ACK });
	expect(t.emitted.map((i) => i.orderNumber)).toEqual([orderNo]);
});

it('when n8n answers an error for a run it had already queued, the next delivery runs it again flagged possibleDuplicate', async () => {
	// n8n 2.41, queue mode, under load: a database write after queuing the job fails, n8n answers 500 "Workflow could
	// not be started!" and a worker runs the job all the same. The error does not prove there was no run.
	const t = await trigger({ answerErrorAfterQueuing: (delivery) => delivery === 1 });
	const { orderNo, body } = await paidNotification();
	const failed = await t.post(body);
	expect(failed.status).toBe(500);
	expect(failed.body).not.toBe(ACK);
	expect(await t.post(body)).toEqual({ status: 200, body: ACK });
	expect(await t.post(body)).toEqual({ status: 200, body: ACK });
	expect(t.emitted.map((i) => [i.orderNumber, i.possibleDuplicate === true])).toEqual([
		[orderNo, false],
		[orderNo, true],
	]);
});

// Known and not closable by a node (found by an attack on the change above): on that error n8n does not save the
// request's static data (live-webhooks' callback rejects before saveStaticData), so the claim is only in this
// process's memory. A restart (or Ksher's retry reaching another webhook process) before another request's save
// carries it runs the order again unflagged. Listed in docs/guarantees.md beside the SIGKILL bound.
it.failing(
	'when n8n answers an error for a run it had queued and restarts before any other save, the next delivery is still flagged',
	async () => {
		const t = await trigger({ answerErrorAfterQueuing: (delivery) => delivery === 1 });
		const { orderNo, body } = await paidNotification();
		expect((await t.post(body)).status).toBe(500);
		expect(t.finished.map((i) => i.orderNumber)).toEqual([orderNo]);
		t.restart();
		expect(await t.post(body)).toEqual({ status: 200, body: ACK });
		expect(t.emitted.map((i) => [i.orderNumber, i.possibleDuplicate === true])).toEqual([
			[orderNo, false],
			[orderNo, true],
		]);
	},
);

it('…and with another order saved before the restart (its save carries the claim), the next delivery is flagged', async () => {
	const t = await trigger({ answerErrorAfterQueuing: (delivery) => delivery === 1 });
	const { orderNo, body } = await paidNotification();
	const other = await paidNotification();
	expect((await t.post(body)).status).toBe(500);
	expect(await t.post(other.body)).toEqual({ status: 200, body: ACK });
	t.restart();
	expect(await t.post(body)).toEqual({ status: 200, body: ACK });
	expect(
		t.emitted.filter((i) => i.orderNumber === orderNo).map((i) => i.possibleDuplicate === true),
	).toEqual([false, true]);
});

it('copies arriving while the first one fails to be stored wait for it, then one of them starts the run', async () => {
	const t = await trigger({ failStoringExecution: (delivery) => delivery === 1 });
	const { orderNo, body } = await paidNotification();
	const first = t.post(body);
	await new Promise((r) => setTimeout(r, 1));
	const answers = [
		await first,
		...(await Promise.all(Array.from({ length: 5 }, () => t.post(body)))),
	];
	expect(answers.filter((a) => a.status === 200 && a.body === ACK)).toHaveLength(5);
	expect(t.emitted.map((i) => i.orderNumber)).toEqual([orderNo]);
});

it('a restart mid-stream: what was stored before it is remembered, nothing is run twice', async () => {
	const t = await trigger();
	const orders = await Promise.all(Array.from({ length: 20 }, () => paidNotification()));
	await Promise.all(orders.slice(0, 10).map((o) => t.post(o.body)));
	t.restart();
	await Promise.all(orders.flatMap((o) => [t.post(o.body), t.post(o.body)]));
	expect(t.emitted).toHaveLength(20);
	expect([...runsPerOrder(t).values()].every((n) => n === 1)).toBe(true);
});

it('30 orders at once, then a restart straight away: the last save held every claim, so nothing runs twice', async () => {
	const t = await trigger();
	const orders = await Promise.all(Array.from({ length: 30 }, () => paidNotification()));
	await Promise.all(orders.map((o) => t.post(o.body)));
	expect(
		storedOrders(
			t,
			orders.map((o) => o.orderNo),
		),
	).toHaveLength(30);
	t.restart();
	await Promise.all(orders.map((o) => t.post(o.body)));
	expect(t.emitted).toHaveLength(30);
});

it('the claim is saved before n8n answers, although n8n clears the "changed" mark as it starts the run', async () => {
	const t = await trigger();
	for (let i = 0; i < 5; i++) {
		const { orderNo, body } = await paidNotification();
		expect(await t.post(body)).toEqual({ status: 200, body: ACK });
		expect(storedOrders(t, [orderNo])).toEqual([orderNo]);
	}
});
