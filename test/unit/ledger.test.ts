import { NotificationLedger, ledgerFor } from '../../nodes/KsherTrigger/ledger';
import type { SeenState } from '../../nodes/protocol';

/** A stored copy as n8n would load it from its database: a fresh parse of what was saved. */
const reload = (stored: SeenState): SeenState => JSON.parse(JSON.stringify(stored)) as SeenState;

describe('NotificationLedger', () => {
	it('absorbs what the database holds, and says when the stored copy lacks something', () => {
		const ledger = new NotificationLedger();
		const now = Date.now();
		expect(ledger.absorb({ seen: { '#a': now - 1000, '#b': now - 2000 } })).toBe(false);
		expect(ledger.has('a') && ledger.has('b')).toBe(true);
		const claim = ledger.claim('c');
		claim.record();
		expect(ledger.absorb({ seen: { '#a': now - 1000, '#b': now - 2000 } })).toBe(true);
	});

	it('ignores expired, malformed and un-prefixed stored entries', () => {
		const ledger = new NotificationLedger();
		const now = Date.now();
		ledger.absorb({ seen: { '#old': now - 73 * 3600_000, '#bad': 'x' as unknown as number, plain: now, '#ok': now } });
		expect(ledger.has('old')).toBe(false);
		expect(ledger.has('bad')).toBe(false);
		expect(ledger.has('lain')).toBe(false);
		expect(ledger.has('ok')).toBe(true);
		expect(ledger.size).toBe(1);
	});

	it('gives the stored copy its own record, so a later save writes entries claimed after it was given', () => {
		const ledger = new NotificationLedger();
		const stored: SeenState = {};
		ledger.claim('a').record();
		ledger.persistInto(stored);
		ledger.claim('b').record();
		expect(Object.keys(reload(stored).seen ?? {})).toEqual(['#a', '#b']);
	});

	it('a claim in flight is visible to other copies until it is settled', async () => {
		const ledger = new NotificationLedger();
		const claim = ledger.claim('k');
		const outcome = ledger.inFlight('k');
		expect(outcome).toBeInstanceOf(Promise);
		claim.record();
		claim.settle(true);
		await expect(outcome).resolves.toBe(true);
		expect(ledger.inFlight('k')).toBeUndefined();
		expect(ledger.has('k')).toBe(true);
	});

	it('a failed claim is taken back, and a stored copy saved before that does not bring it back', async () => {
		const ledger = new NotificationLedger();
		const stored: SeenState = {};
		const claim = ledger.claim('k');
		claim.record();
		ledger.persistInto(stored);
		const savedMeanwhile = reload(stored);
		claim.settle(false);
		expect(ledger.has('k')).toBe(false);
		ledger.absorb(savedMeanwhile);
		expect(ledger.has('k')).toBe(false);
		// Claimed again later, it is remembered as usual.
		ledger.claim('k').record();
		expect(ledger.has('k')).toBe(true);
	});

	it('settling twice changes nothing', () => {
		const ledger = new NotificationLedger();
		const claim = ledger.claim('k');
		claim.record();
		claim.settle(true);
		claim.settle(false);
		expect(ledger.has('k')).toBe(true);
	});

	it('one ledger per workflow and trigger node, for the life of the process', () => {
		expect(ledgerFor('wf1', 'node1')).toBe(ledgerFor('wf1', 'node1'));
		expect(ledgerFor('wf1', 'node1')).not.toBe(ledgerFor('wf1', 'node2'));
		expect(ledgerFor('wf1', 'node1')).not.toBe(ledgerFor('wf2', 'node1'));
	});
});
