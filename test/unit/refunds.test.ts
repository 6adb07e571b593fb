import { refundStatus } from '../../nodes/protocol';

describe('refundStatus: one rule for Refund Create and Get Many', () => {
	it.each([
		['REFUNDSUCCESS', 'refunded'],
		['SUCCESS', 'refunded'],
		['', 'processing'],
		['REFUNDFAIL', 'refundfail'],
		['PROCESSING', 'processing'],
	])('%j → %s', (state, status) => {
		expect(refundStatus(state)).toBe(status);
	});
});
