import { idOf, ledgerFor, NotificationLedger, storedIds, type StoredMemory } from '../../nodes/KsherTrigger/ledger';

/** A stored copy as n8n would load it from its database: a fresh parse of what was saved. */
const reload = (stored: StoredMemory): StoredMemory => JSON.parse(JSON.stringify(stored)) as StoredMemory;
const claimed = (ledger: NotificationLedger, key: string) => {
	const claim = ledger.claim(key);
	claim.record();
	claim.settle(true);
};

afterEach(() => jest.useRealTimers());

describe('NotificationLedger', () => {
	it('stores its memory packed, and a new process takes it back from the stored copy', () => {
		const first = new NotificationLedger();
		const stored: StoredMemory = {};
		for (const key of ['mch1|A|paid|', 'mch1|B|paid|', 'mch1|C|refunded|R1']) claimed(first, key);
		first.persistInto(stored);
		const saved = reload(stored);
		expect(saved.ksherSeen).toEqual(expect.stringMatching(/^v1:[0-9a-f]{12}\.[0-9a-z]+@\d+:[A-Za-z0-9+/=]+$/));
		expect(String(saved.ksherSeen).replace(/^.*:/, '')).toHaveLength(48);
		const second = new NotificationLedger();
		expect(second.absorb(saved)).toBe(false);
		expect(second.has('mch1|A|paid|') && second.has('mch1|C|refunded|R1')).toBe(true);
		expect(second.has('mch1|D|paid|')).toBe(false);
	});

	it('knows its own writing without decoding it, and still reads another process\'s', () => {
		const mine = new NotificationLedger();
		const stored: StoredMemory = {};
		claimed(mine, 'a');
		mine.persistInto(stored);
		const saved = reload(stored);
		expect(mine.absorb(saved)).toBe(false);
		// The same bytes under another writer's name are decoded and taken in.
		const other = new NotificationLedger();
		expect(other.absorb(saved)).toBe(false);
		expect(other.has('a')).toBe(true);
		claimed(other, 'b');
		other.persistInto(stored);
		expect(mine.absorb(reload(stored))).toBe(false);
		expect(mine.has('b')).toBe(true);
	});

	it('says when the stored copy lacks something it knows', () => {
		const ledger = new NotificationLedger();
		const stored: StoredMemory = {};
		claimed(ledger, 'a');
		ledger.persistInto(stored);
		const saved = reload(stored);
		expect(ledger.absorb(saved)).toBe(false);
		claimed(ledger, 'b');
		expect(ledger.absorb(saved)).toBe(true);
	});

	it('reads the unpacked memory of earlier versions, and replaces it when it saves', () => {
		const now = Date.now();
		const ledger = new NotificationLedger();
		const stored: StoredMemory = { seen: { '#mch1|OLD|paid|': now - 1000, '#mch1|EXPIRED|paid|': now - 73 * 3600_000, plain: now }, seenCount: 3 };
		expect(ledger.absorb(stored)).toBe(true);
		expect(ledger.has('mch1|OLD|paid|')).toBe(true);
		expect(ledger.has('mch1|EXPIRED|paid|')).toBe(false);
		ledger.persistInto(stored);
		const saved = reload(stored);
		expect(Object.keys(saved)).toEqual(['ksherSeen']);
		expect(storedIds(saved)).toEqual(new Set([idOf('mch1|OLD|paid|')]));
	});

	it('ignores what is not its packed form', () => {
		const ledger = new NotificationLedger();
		for (const ksherSeen of [42, 'v2:AAAA', 'v1:AAAA', 'not base64 at all', null, ['x']]) expect(ledger.absorb({ ksherSeen })).toBe(false);
		expect(ledger.size).toBe(0);
	});

	it('gives the stored copy a view, so a later save writes entries claimed after it was given', () => {
		const ledger = new NotificationLedger();
		const stored: StoredMemory = {};
		claimed(ledger, 'a');
		ledger.persistInto(stored);
		claimed(ledger, 'b');
		expect(storedIds(reload(stored))).toEqual(new Set([idOf('a'), idOf('b')]));
	});

	it('forgets entries after the age limit, to the minute', () => {
		jest.useFakeTimers({ now: new Date('2026-11-30T00:00:30Z') });
		const ledger = new NotificationLedger(100, 3600_000);
		claimed(ledger, 'a');
		expect(ledger.has('a', Date.parse('2026-11-30T00:59:00Z'))).toBe(true);
		expect(ledger.has('a', Date.parse('2026-11-30T01:00:00Z'))).toBe(false);
	});

	it('stays bounded by count (plus a tenth, dropped in batches), oldest first, over 100,000 notifications', () => {
		const ledger = new NotificationLedger();
		for (let i = 0; i < 100_000; i++) {
			claimed(ledger, `k${i}`);
			expect(ledger.size).toBeLessThanOrEqual(NotificationLedger.MAX_ENTRIES * 1.1);
		}
		expect(ledger.has('k99999')).toBe(true);
		expect(ledger.has('k0')).toBe(false);
		const stored: StoredMemory = {};
		ledger.persistInto(stored);
		expect(storedIds(reload(stored)).size).toBe(ledger.size);
	});

	it('keys such as __proto__ stay data', () => {
		const ledger = new NotificationLedger();
		claimed(ledger, '__proto__');
		expect(ledger.has('__proto__')).toBe(true);
		expect(ledger.has('constructor')).toBe(false);
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

	it('a failed claim is taken back, and a stored copy saved before that does not bring it back', () => {
		const ledger = new NotificationLedger();
		const stored: StoredMemory = {};
		const claim = ledger.claim('k');
		claim.record();
		ledger.persistInto(stored);
		const savedMeanwhile = reload(stored);
		claim.settle(false);
		expect(ledger.has('k')).toBe(false);
		ledger.absorb(savedMeanwhile);
		expect(ledger.has('k')).toBe(false);
		// Claimed again later, it is remembered as usual.
		claimed(ledger, 'k');
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
