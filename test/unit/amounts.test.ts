import { randomInt } from 'crypto';

import { fromMinorUnits, KsherInputError, toMinorUnits } from '../../nodes/protocol';

function refusal(amount: unknown, currency = 'THB'): KsherInputError {
	try {
		toMinorUnits(amount, currency);
	} catch (error) {
		if (error instanceof KsherInputError) return error;
		throw error;
	}
	throw new Error(`expected ${String(amount)} to be refused`);
}

describe('toMinorUnits', () => {
	it.each([
		[150.5, 'THB', 15050],
		['150.50', 'THB', 15050],
		[150, 'THB', 15000],
		[' 99.9 ', 'THB', 9990],
		[0.29, 'THB', 29],
		[1.15, 'THB', 115],
		[19.99, 'THB', 1999],
		[0.07, 'THB', 7],
		['1.500', 'THB', 150],
		['0.01', 'USD', 1],
		['1000', 'JPY', 1000],
		[1000, 'JPY', 1000],
		['12.30', 'myr', 1230],
		['90071992547409.91', 'THB', 9007199254740991],
	])('%p %s → %p', (amount, currency, minor) => {
		expect(toMinorUnits(amount, currency)).toBe(minor);
	});

	it.each([
		['1.005', 'THB', /more than 2 decimals/],
		['10.5', 'JPY', /no minor unit/],
		['-5', 'THB', /negative/],
		[-5, 'THB', /negative/],
		['0', 'THB', /greater than zero/],
		[0, 'THB', /greater than zero/],
		['0.00', 'THB', /greater than zero/],
		['', 'THB', /empty/],
		['   ', 'THB', /empty/],
		[undefined, 'THB', /empty/],
		[NaN, 'THB', /not NaN|must be a number/],
		['NaN', 'THB', /not a number/],
		[Infinity, 'THB', /must be a number/],
		['Infinity', 'THB', /not a number/],
		['1e5', 'THB', /exponent/],
		[1e21, 'THB', /exponent/],
		[1e-7, 'THB', /exponent/],
		['1,000.00', 'THB', /comma/],
		['150,50', 'THB', /comma/],
		['12abc', 'THB', /not a valid amount/],
		['$10', 'THB', /not a valid amount/],
		['90071992547409.92', 'THB', /too large/],
		['10', 'EUR', /not supported/],
		[{}, 'THB', /number or a decimal text/],
	])('refuses %p %s', (amount, currency, message) => {
		const error = refusal(amount, currency);
		expect(error.message).toMatch(message);
		expect(error.field).toBe(currency === 'EUR' ? 'Currency' : 'Amount');
		expect(error.solution).not.toBe('');
	});

	it('allows zero only when asked', () => {
		expect(toMinorUnits('0', 'THB', { allowZero: true })).toBe(0);
	});

	it('names the field it was given', () => {
		expect(() => toMinorUnits('x', 'THB', { field: 'Refund Amount' })).toThrow(
			/^Refund Amount "x"/,
		);
	});

	// Property: for random amounts typed with up to 2 decimals, the text and the JS number
	// both convert to exactly the integer they denote, and back again.
	it('round-trips random decimals exactly, as text and as numbers', () => {
		for (let i = 0; i < 5000; i++) {
			const minor = randomInt(1, 2 ** 40);
			const decimals = randomInt(0, 3);
			const text = fromMinorUnits(minor, 'THB');
			const typed =
				decimals === 2 ? text : decimals === 1 && text.endsWith('0') ? text.slice(0, -1) : text;
			expect(toMinorUnits(typed, 'THB')).toBe(minor);
			expect(toMinorUnits(Number(typed), 'THB')).toBe(minor);
			expect(fromMinorUnits(toMinorUnits(typed, 'THB'), 'THB')).toBe(text);
		}
	});
});

describe('fromMinorUnits', () => {
	it.each([
		[15050, 'THB', '150.50'],
		[1, 'THB', '0.01'],
		[0, 'THB', '0.00'],
		['100', 'THB', '1.00'],
		['007', 'THB', '0.07'],
		[1000, 'JPY', '1000'],
	])('%p %s → %s', (minor, currency, text) => {
		expect(fromMinorUnits(minor, currency)).toBe(text);
	});

	it.each([[1.5], [-1], ['1.5'], [''], [null], [Number.MAX_SAFE_INTEGER + 1]])(
		'refuses %p',
		(minor) => {
			expect(() => fromMinorUnits(minor)).toThrow(/not a whole number of minor units/);
		},
	);
});
