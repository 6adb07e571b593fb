import { formatWatchState, isWatched, KsherInputError, parseWatchState, refundId, watchChanges, type KsherRefund } from '../../nodes/protocol';

const now = new Date('2026-11-30T10:00:00Z');
const refund = (no: string, fee: number, state = 'REFUNDSUCCESS'): KsherRefund => ({ mch_refund_no: no, ksher_refund_no: `700${no}`, channel_refund_no: '', refund_fee: fee, refund_state: state, refund_time: '2026-11-30 17:00:00' });

describe('watch state', () => {
	it('round-trips, and equal states are equal strings', () => {
		const state = { since: '2026-11-01T00:00:00.000Z', status: 'paid' as const, refunds: [refundId('A-R1')] };
		const text = formatWatchState(state);
		expect(parseWatchState(text)).toEqual(state);
		expect(parseWatchState(JSON.parse(text))).toEqual(state);
		expect(formatWatchState(parseWatchState(text)!)).toBe(text);
		expect(parseWatchState('')).toBeUndefined();
		expect(parseWatchState(null)).toBeUndefined();
	});

	it.each([
		['paid', /not JSON/],
		['[]', /expected a JSON object/],
		['{"v":2,"since":"2026-01-01","status":"paid","refunds":[]}', /unknown version 2/],
		['{"v":1,"since":"yesterday","status":"paid","refunds":[]}', /no valid "since"/],
		['{"v":1,"since":"2026-01-01","status":"done","refunds":[]}', /unknown status "done"/],
		['{"v":1,"since":"2026-01-01","status":"paid","refunds":["INV-1-R1"]}', /malformed "refunds"/],
	])('refuses %s with an error naming the field', (text, why) => {
		const error = (() => {
			try {
				parseWatchState(text);
			} catch (e) {
				return e;
			}
			return undefined;
		})();
		expect(error).toBeInstanceOf(KsherInputError);
		expect((error as KsherInputError).field).toBe('Last Watch State');
		expect((error as Error).message).toMatch(why);
	});

	it('stops watching finished orders and orders past the window', () => {
		const since = (days: number) => new Date(now.getTime() - days * 86_400_000).toISOString();
		expect(isWatched(undefined, now, 30)).toBe(true);
		expect(isWatched({ since: since(29), status: 'paid', refunds: [] }, now, 30)).toBe(true);
		expect(isWatched({ since: since(31), status: 'paid', refunds: [] }, now, 30)).toBe(false);
		expect(isWatched({ since: since(1), status: 'refunded', refunds: [] }, now, 30)).toBe(false);
		expect(isWatched({ since: since(1), status: 'closed', refunds: [] }, now, 30)).toBe(false);
	});
});

describe('watchChanges', () => {
	const paidState = { since: '2026-11-30T09:00:00.000Z', status: 'paid' as const, refunds: [] };

	it('a failed refund is not reported; a processing one is reported once it succeeds', () => {
		const seen = { result: 'SUCCESS', paidAt: null, totalMinor: 1000, refunds: [refund('R1', 100, 'REFUNDFAIL'), refund('R2', 100, '')] };
		expect(watchChanges(paidState, seen, now).changes).toEqual([]);
		const later = watchChanges(paidState, { ...seen, refunds: [refund('R1', 100, 'REFUNDFAIL'), refund('R2', 100)] }, now);
		expect(later.changes.map((c) => c.refund?.mch_refund_no)).toEqual(['R2']);
		expect(later.state).toMatchObject({ status: 'paid', refunds: [refundId('R2')] });
	});

	it('a first sight of a paid order starts its window at the payment time', () => {
		const { changes, state } = watchChanges(undefined, { result: 'SUCCESS', paidAt: '2026-11-30T15:00:00+07:00', totalMinor: 1000, refunds: [] }, now);
		expect(changes.map((c) => c.event)).toEqual(['paid']);
		expect(state).toEqual({ since: '2026-11-30T08:00:00.000Z', status: 'paid', refunds: [] });
	});

	it('a REFUND order whose refunds Ksher cannot list is reported refunded once, without a refund', () => {
		const seen = { result: 'REFUND', paidAt: null, totalMinor: 1000, refunds: undefined };
		const { changes, state } = watchChanges(paidState, seen, now);
		expect(changes).toEqual([{ event: 'refunded', refund: undefined, stateAfter: state }]);
		expect(state.status).toBe('refunded');
	});

	it('an unpaid order that failed or is still open is no change; nothing is invented from an unknown result', () => {
		for (const result of ['NOTSURE', 'PAYERROR', 'USERPAYING', '']) {
			expect(watchChanges(undefined, { result, paidAt: null, totalMinor: 1000, refunds: undefined }, now).changes).toEqual([]);
		}
	});
});
