import {
	apiErrorFrom,
	ERROR_WORDS,
	explainErrorCode,
	KSHER_ERROR_CODES,
} from '../../nodes/protocol';
import table from '../fixtures/error-codes.json';

describe('Ksher error codes', () => {
	it("the package carries all 71 codes of Ksher's table, unchanged", () => {
		expect(table).toHaveLength(71);
		expect(Object.keys(KSHER_ERROR_CODES)).toHaveLength(71);
		for (const row of table) {
			expect(KSHER_ERROR_CODES[row.code]).toEqual({
				description: row.description,
				reason: row.reason,
				solution: row.solution,
			});
		}
	});

	it.each(table.map((row) => [row.code, row] as const))(
		'%s becomes a message with what happened and the solution',
		(code, row) => {
			const error = apiErrorFrom('order_refund', code, 'raw text from Ksher');
			// In plain words where the package has them, else Ksher's table.
			const words = ERROR_WORDS[code] ?? { description: row.description, solution: row.solution };
			expect(error.code).toBe(code);
			expect(error.message.toLowerCase()).toContain(
				words.description.replace(/\.$/, '').toLowerCase(),
			);
			expect(error.message).toContain(`[${code}]`);
			expect(error.message).toContain('raw text from Ksher');
			expect(error.solution).toBe(words.solution);
			// Ksher's terse "reason" is not repeated beside the explanation.
			if (row.reason !== row.description)
				expect(error.message).not.toContain(`(${row.reason.replace(/\.$/, '')})`);
			expect(error.mayHaveSucceeded).toBe(false);
		},
	);

	it("the plain words are for codes of Ksher's table, and say something Ksher's words did not", () => {
		for (const [code, words] of Object.entries(ERROR_WORDS)) {
			expect(KSHER_ERROR_CODES[code]).toBeDefined();
			expect(words.solution).not.toMatch(/mch order no|order no\b/i);
		}
		expect(
			apiErrorFrom('gateway_order_query', 'ORDER_NOT_EXIST', 'Not found this order').message,
		).toBe(
			'The payment lookup failed: Ksher has no payment with this order number [ORDER_NOT_EXIST]',
		);
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
