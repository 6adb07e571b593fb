import {
	idOf,
	ledgerFor,
	NotificationLedger,
	storedIds,
	type StoredMemory,
} from '../../nodes/KsherTrigger/ledger';
import { REPLAY_WINDOW_MS } from '../../nodes/protocol';

/** A stored copy as n8n would load it from its database: a fresh parse of what was saved. */
const reload = (stored: StoredMemory): StoredMemory =>
	JSON.parse(JSON.stringify(stored)) as StoredMemory;
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
		expect(saved.ksherSeen).toEqual(
			expect.stringMatching(/^v3:[0-9a-f]{12}\.[0-9a-z]+@\d+@\d+:[A-Za-z0-9+/=]+$/),
		);
		// 3 notifications, 8 bytes each: 32 base64 characters.
		expect(String(saved.ksherSeen).replace(/^.*:/, '')).toHaveLength(32);
		const second = new NotificationLedger();
		expect(second.absorb(saved)).toBe(false);
		expect(second.has('mch1|A|paid|') && second.has('mch1|C|refunded|R1')).toBe(true);
		expect(second.has('mch1|D|paid|')).toBe(false);
	});

	it("knows its own writing without decoding it, and still reads another process's", () => {
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
		const stored: StoredMemory = {
			seen: {
				'#mch1|OLD|paid|': now - 1000,
				'#mch1|EXPIRED|paid|': now - 73 * 3600_000,
				plain: now,
			},
			seenCount: 3,
		};
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
		for (const ksherSeen of [42, 'v2:AAAA', 'v1:AAAA', 'not base64 at all', null, ['x']])
			expect(ledger.absorb({ ksherSeen })).toBe(false);
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

	it('forgets entries after the age limit, to the hour: kept at least that long, less than an hour more', () => {
		jest.useFakeTimers({ now: new Date('2026-11-30T00:30:00Z') });
		const ledger = new NotificationLedger(100, 3600_000);
		claimed(ledger, 'a');
		expect(ledger.has('a', Date.parse('2026-11-30T01:30:00Z'))).toBe(true);
		expect(ledger.has('a', Date.parse('2026-11-30T01:59:59Z'))).toBe(true);
		expect(ledger.has('a', Date.parse('2026-11-30T02:00:00Z'))).toBe(false);
	});

	it('keeps counting hours right across days of uptime (its base hour moves on)', () => {
		jest.useFakeTimers({ now: new Date('2026-11-30T00:00:00Z') });
		const ledger = new NotificationLedger(1000, 3600_000);
		const stored: StoredMemory = {};
		for (let hour = 0; hour < 24 * 9; hour++) {
			jest.setSystemTime(Date.parse('2026-11-30T00:00:00Z') + hour * 3600_000);
			claimed(ledger, `k${hour}`);
			expect(ledger.has(`k${hour}`)).toBe(true);
			if (hour > 1) expect(ledger.has(`k${hour - 1}`)).toBe(true);
			if (hour > 2) expect(ledger.has(`k${hour - 2}`)).toBe(false);
		}
		ledger.persistInto(stored);
		const next = new NotificationLedger(1000, 3600_000);
		next.absorb(reload(stored));
		expect([...Array(24 * 9).keys()].filter((h) => next.has(`k${h}`))).toEqual([
			24 * 9 - 2,
			24 * 9 - 1,
		]);
	});

	it('holds every notification of the window, 100,000 of them, and refuses new ones when full instead of forgetting', () => {
		const ledger = new NotificationLedger();
		for (let i = 0; i < 100_000; i++) claimed(ledger, `k${i}`);
		expect(ledger.size).toBe(100_000);
		expect(ledger.has('k0') && ledger.has('k99999')).toBe(true);
		const stored: StoredMemory = {};
		ledger.persistInto(stored);
		const saved = reload(stored);
		expect(storedIds(saved, 'done').size).toBe(100_000);
		const small = new NotificationLedger(3);
		for (const key of ['a', 'b', 'c']) claimed(small, key);
		expect(small.full()).toBe(true);
		expect(small.has('a')).toBe(true);
	});

	it('a claim is stored as started until its run is known to be done; a failed run stays started', () => {
		const ledger = new NotificationLedger();
		const stored: StoredMemory = {};
		ledger.persistInto(stored);
		const ok = ledger.claim('ok');
		const failed = ledger.claim('failed');
		ok.record();
		failed.record();
		expect([ledger.state('ok'), ledger.state('failed')]).toEqual(['started', 'started']);
		expect(storedIds(reload(stored), 'started')).toEqual(new Set([idOf('ok'), idOf('failed')]));
		ok.settle(true);
		failed.settle('failed');
		expect([ledger.state('ok'), ledger.state('failed')]).toEqual(['done', 'started']);
		expect(storedIds(reload(stored), 'done')).toEqual(new Set([idOf('ok')]));
		// A new process reads both as the database has them.
		const next = new NotificationLedger();
		next.absorb(reload(stored));
		expect([next.state('ok'), next.state('failed')]).toEqual(['done', 'started']);
	});

	it("a request's own copy can write its own claim as done while the others write it as started", () => {
		const ledger = new NotificationLedger();
		const own: StoredMemory = {};
		const other: StoredMemory = {};
		const claim = ledger.claim('mine');
		claim.record();
		claimed(ledger, 'earlier');
		ledger.persistInto(own, 'mine');
		ledger.persistInto(other);
		expect(storedIds(reload(own), 'done')).toEqual(new Set([idOf('mine'), idOf('earlier')]));
		expect(storedIds(reload(other), 'started')).toEqual(new Set([idOf('mine')]));
	});

	it('rewrites its own claim as done in place wherever it sits among the packed records', () => {
		for (let count = 1; count <= 7; count++) {
			for (let own = 0; own < count; own++) {
				const ledger = new NotificationLedger();
				const claims = Array.from({ length: count }, (_, i) => {
					const claim = ledger.claim(`k${i}`);
					claim.record();
					return claim;
				});
				claims.forEach((claim, i) => i !== own && claim.settle(true));
				const copy: StoredMemory = {};
				ledger.persistInto(copy, `k${own}`);
				expect(storedIds(reload(copy), 'done').size).toBe(count);
				expect(storedIds(reload(copy), 'started').size).toBe(0);
				const plain: StoredMemory = {};
				ledger.persistInto(plain);
				expect([...storedIds(reload(plain), 'started')]).toEqual([idOf(`k${own}`)]);
			}
		}
	});

	it('a stored "done" completes a "started" it knows, unless that claim is in flight here', () => {
		const writer = new NotificationLedger();
		claimed(writer, 'k');
		const stored: StoredMemory = {};
		writer.persistInto(stored);
		const reader = new NotificationLedger();
		const claim = reader.claim('k');
		claim.record();
		reader.absorb(reload(stored));
		expect(reader.state('k')).toBe('started');
		claim.settle('failed');
		reader.absorb(reload(stored));
		expect(reader.state('k')).toBe('done');
	});

	it('reads the first packed form (v1) as done, and rewrites it in the current form when it saves', () => {
		const v1Record = Buffer.alloc(12);
		v1Record.write(idOf('old'), 0, 8, 'hex');
		v1Record.writeUInt32BE(Math.floor(Date.now() / 60_000), 8);
		const stored: StoredMemory = { ksherSeen: `v1:abc.0@1:${v1Record.toString('base64')}` };
		const ledger = new NotificationLedger();
		expect(ledger.absorb(stored)).toBe(true);
		expect(ledger.state('old')).toBe('done');
		ledger.persistInto(stored);
		expect(String(reload(stored).ksherSeen)).toMatch(/^v3:/);
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

	it('keeps every entry the replay window and a 2-hour slack for times a little ahead of the clock: 50 hours, to the hour', () => {
		expect(NotificationLedger.MAX_AGE_MS).toBe(REPLAY_WINDOW_MS + 2 * 3600_000);
		jest.useFakeTimers({ now: new Date('2026-12-01T05:30:00Z') });
		const ledger = new NotificationLedger();
		claimed(ledger, 'a');
		expect(ledger.has('a', Date.parse('2026-12-03T07:59:59Z'))).toBe(true);
		expect(ledger.has('a', Date.parse('2026-12-03T08:00:00Z'))).toBe(false);
	});

	it("a record dated ahead (another process's clock is 3 hours ahead) does not move the base hour past the window's entries", () => {
		const T0 = Date.parse('2026-12-01T00:00:00Z');
		const HOUR = 3600_000;
		jest.useFakeTimers({ now: T0 });
		const ledger = new NotificationLedger();
		// Three days of uptime: the base hour is as old as it gets before it moves.
		jest.setSystemTime(T0 + 74 * HOUR);
		claimed(ledger, 'old');
		// Another process, its clock 3 hours ahead, claims something 48 hours later and saves.
		jest.setSystemTime(T0 + 125 * HOUR);
		const other = new NotificationLedger();
		claimed(other, 'new');
		const stored: StoredMemory = {};
		other.persistInto(stored);
		jest.setSystemTime(T0 + 122 * HOUR);
		ledger.absorb(reload(stored));
		// Counted from the entry dated ahead, the new base passed 'old', 48 hours old and inside the window.
		expect([ledger.has('old'), ledger.has('new')]).toEqual([true, true]);
		expect(ledger.has('old', T0 + 124 * HOUR + HOUR - 1)).toBe(true);
		expect(ledger.has('old', T0 + 125 * HOUR)).toBe(false);
	});

	it('a notification dated days after its claim is kept by that time too, until it has left the window, and across a restart', () => {
		const T0 = Date.parse('2026-12-01T05:00:00Z');
		const HOUR = 3600_000;
		jest.useFakeTimers({ now: T0 });
		const ledger = new NotificationLedger();
		const claim = ledger.claim('ahead', Infinity, T0 + 240 * HOUR);
		claim.record();
		const own: StoredMemory = {};
		ledger.persistInto(own, 'ahead');
		const ownSaved = reload(own);
		claim.settle(true);
		claimed(ledger, 'plain');
		const stored: StoredMemory = {};
		ledger.persistInto(stored);
		const saved = reload(stored);
		// Its record goes after 50 hours; the notification stays inside the window until 48 hours after its time.
		for (const at of [T0 + 51 * HOUR, T0 + 200 * HOUR, T0 + 288 * HOUR])
			expect([ledger.state('ahead', at), ledger.has('plain', at)]).toEqual(['done', false]);
		expect(ledger.has('ahead', T0 + 289 * HOUR)).toBe(false);
		// Stored after the records, where a reader of the records alone stops ("="): they still decode whole.
		const packed = String(saved.ksherSeen);
		expect(packed).toMatch(/^v3:[^:]+:[A-Za-z0-9+/=]*=~[0-9a-f]{14}\.[0-9a-z]+$/);
		expect(Buffer.from(packed.slice(packed.indexOf(':', 3) + 1), 'base64')).toHaveLength(16);
		jest.setSystemTime(T0 + 100 * HOUR);
		// The request's own copy (Acknowledge "When the Run Is Stored"), saved while the claim was in flight, writes
		// it done in its dated entry too: read once its record has gone.
		const fromOwn = new NotificationLedger();
		fromOwn.absorb(ownSaved);
		expect(fromOwn.state('ahead')).toBe('done');
		const next = new NotificationLedger();
		next.absorb(saved);
		expect([next.state('ahead'), next.has('plain')]).toEqual(['done', false]);
		next.persistInto(stored);
		jest.setSystemTime(T0 + 288 * HOUR);
		const last = new NotificationLedger();
		last.absorb(reload(stored));
		expect(last.state('ahead')).toBe('done');
		jest.setSystemTime(T0 + 289 * HOUR);
		expect(last.has('ahead')).toBe(false);
		// Gone from what it stores too.
		last.absorb({});
		const end: StoredMemory = {};
		last.persistInto(end);
		expect(String(reload(end).ksherSeen)).not.toContain('=~');
	});

	it('a dated claim taken back is dropped with its record; one dated within 2 hours of its claim needs no dated entry', () => {
		const ledger = new NotificationLedger();
		const back = ledger.claim('back', Infinity, Date.now() + 100 * 3600_000);
		back.record();
		back.settle(false);
		const near = ledger.claim('near', Infinity, Date.now() + 3600_000);
		near.record();
		near.settle(true);
		const stored: StoredMemory = {};
		ledger.persistInto(stored);
		expect(String(reload(stored).ksherSeen)).not.toContain('=~');
		expect([ledger.has('back', Date.now() + 60 * 3600_000), ledger.has('near')]).toEqual([
			false,
			true,
		]);
	});

	it("a stored time years ahead (an old form's odd value) is capped: nothing of the window is dropped, and what it saves stays readable", () => {
		const ledger = new NotificationLedger();
		claimed(ledger, 'a');
		const years = Date.now() + 10 * 365 * 24 * 3600_000;
		expect(ledger.absorb({ seen: { '#b': years, '#c': Number.MAX_VALUE } })).toBe(true);
		expect([ledger.has('a'), ledger.has('b')]).toEqual([true, true]);
		const aheadV3 = new NotificationLedger();
		aheadV3.absorb({
			ksherSeen: `v3:other@1@${Math.floor(years / 3600_000)}:${Buffer.from(`${idOf('d')}00`, 'hex').toString('base64')}`,
		});
		claimed(aheadV3, 'e');
		expect([aheadV3.has('d'), aheadV3.has('e')]).toEqual([true, true]);
		const stored: StoredMemory = {};
		ledger.persistInto(stored);
		const next = new NotificationLedger();
		next.absorb(reload(stored));
		expect([next.has('a'), next.has('b')]).toEqual([true, true]);
		expect(Number(String(reload(stored).ksherSeen).split('@')[2].split(':')[0])).toBeLessThan(
			Date.now() / 3600_000,
		);
	});

	it('a claim taken back (no run this time) of a key held as started leaves it started: the next delivery still says possibleDuplicate', () => {
		const ledger = new NotificationLedger();
		const first = ledger.claim('k');
		first.record();
		first.settle('failed');
		const again = ledger.claim('k');
		again.record();
		again.settle(false);
		expect(ledger.state('k')).toBe('started');
		// A key new to the memory is taken back whole, as before.
		const fresh = ledger.claim('n');
		fresh.record();
		fresh.settle(false);
		expect(ledger.has('n')).toBe(false);
	});

	it("a claim whose answer never went out stays started, and the request's own copy (saved done by n8n once the run is stored) makes it done", () => {
		const ledger = new NotificationLedger();
		const own: StoredMemory = {};
		const claim = ledger.claim('k');
		claim.record();
		ledger.persistInto(own, 'k');
		claim.settle('unanswered');
		expect(ledger.state('k')).toBe('started');
		// n8n saves the copy after Ksher closed the connection: this ledger wrote it, and still reads it.
		ledger.absorb(reload(own));
		expect(ledger.state('k')).toBe('done');
		// No such save (n8n could not store the run): it stays started, and runs again flagged.
		const lost = ledger.claim('l');
		lost.record();
		const plain: StoredMemory = {};
		ledger.persistInto(plain);
		lost.settle('unanswered');
		ledger.absorb(reload(plain));
		expect(ledger.state('l')).toBe('started');
	});

	it('an entry read from an earlier form keeps its claim time, and is kept as long as a new one', () => {
		jest.useFakeTimers({ now: new Date('2026-12-03T06:30:00Z') });
		const record = Buffer.alloc(12);
		record.write(idOf('v2'), 0, 8, 'hex');
		// Claimed 49½ hours ago, done.
		record.writeUInt32BE(Math.floor((Date.now() - 49.5 * 3600_000) / 60_000) * 2 + 1, 8);
		const ledger = new NotificationLedger();
		ledger.absorb({
			ksherSeen: `v2:abc.0@1:${record.toString('base64')}`,
			seen: { '#legacy': Date.now() - 49.5 * 3600_000 },
		});
		expect([ledger.state('v2'), ledger.state('legacy')]).toEqual(['done', 'done']);
		// Claimed in the 05:00 hour two days ago: kept through the 07:00 hour today (at least 50 hours), like a new one.
		expect([
			ledger.has('v2', Date.parse('2026-12-03T07:59:59Z')),
			ledger.has('legacy', Date.parse('2026-12-03T07:59:59Z')),
		]).toEqual([true, true]);
		expect(ledger.has('v2', Date.parse('2026-12-03T08:00:00Z'))).toBe(false);
	});

	it('one ledger per workflow and trigger node, for the life of the process', () => {
		expect(ledgerFor('wf1', 'node1')).toBe(ledgerFor('wf1', 'node1'));
		expect(ledgerFor('wf1', 'node1')).not.toBe(ledgerFor('wf1', 'node2'));
		expect(ledgerFor('wf1', 'node1')).not.toBe(ledgerFor('wf2', 'node1'));
	});
});
