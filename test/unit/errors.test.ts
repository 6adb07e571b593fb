import { apiErrorFrom, explainErrorCode, KSHER_ERROR_CODES } from '../../nodes/protocol';
import table from '../fixtures/error-codes.json';

describe('Ksher error codes', () => {
	it('the package carries all 71 codes of Ksher\'s table, unchanged', () => {
		expect(table).toHaveLength(71);
		expect(Object.keys(KSHER_ERROR_CODES)).toHaveLength(71);
		for (const row of table) {
			expect(KSHER_ERROR_CODES[row.code]).toEqual({ description: row.description, reason: row.reason, solution: row.solution });
		}
	});

	it.each(table.map((row) => [row.code, row] as const))('%s becomes a message with what happened and the solution', (code, row) => {
		const error = apiErrorFrom('order_refund', code, 'raw text from Ksher');
		expect(error.code).toBe(code);
		expect(error.message).toContain(row.description.replace(/\.$/, ''));
		expect(error.message).toContain(`[${code}]`);
		expect(error.message).toContain('raw text from Ksher');
		expect(error.solution).toBe(row.solution);
		expect(error.mayHaveSucceeded).toBe(false);
	});

	it('unknown codes still give a clear message with the raw code', () => {
		const explained = explainErrorCode('SOMETHING_NEW');
		expect(explained.known).toBe(false);
		const error = apiErrorFrom('gateway_pay', 'SOMETHING_NEW', 'boom');
		expect(error.message).toContain('SOMETHING_NEW');
		expect(error.message).toContain('boom');
		expect(error.solution).toMatch(/contact Ksher support/);
	});

	it('does not treat inherited object keys as codes', () => {
		expect(explainErrorCode('constructor').known).toBe(false);
		expect(explainErrorCode('__proto__').known).toBe(false);
	});
});
