import { createPublicKey } from 'crypto';

import {
	canonicalString,
	KSHER_PUBLIC_KEYS,
	signedFields,
	verifyCanonical,
	verifyData,
	verifyResponse,
} from '../../nodes/protocol';
import vectorsFile from '../fixtures/vectors.json';

interface Vector {
	id: string;
	kind: 'response' | 'request' | 'notification';
	endpoint: string;
	body: Record<string, unknown>;
	canonical?: string;
	key: 'ksher_v1_public' | 'ksher_v2_public' | 'example_public';
	expect: string;
}

const vectors = vectorsFile.vectors as Vector[];
const keys = vectorsFile.keys as Record<Vector['key'], string>;
const publicKey = (name: Vector['key']) => createPublicKey(keys[name]);

/** What is signed: a request's fields (minus sign), or a response's data (its signed subset). */
function signedPart(v: Vector): Record<string, unknown> {
	if (v.kind === 'request') {
		const { sign: _sign, ...rest } = v.body;
		return rest;
	}
	return signedFields(v.body.data as Record<string, unknown>, v.endpoint);
}

function verifyVector(v: Vector, part: Record<string, unknown>, sign: unknown): boolean {
	return verifyData(part, sign, publicKey(v.key));
}

describe('shared Ksher vectors', () => {
	it('has the vectors the protocol reference lists', () => {
		expect(vectors.map((v) => v.id)).toEqual([
			'R1',
			'R2',
			'R6',
			'R7',
			'R9',
			'Q2',
			'S1',
			'S2',
			'S3',
			'S4',
		]);
		expect(vectors.every((v) => v.expect === 'valid')).toBe(true);
	});

	it('built-in Ksher keys are the published ones', () => {
		expect(KSHER_PUBLIC_KEYS.V1).toBe(keys.ksher_v1_public);
		expect(KSHER_PUBLIC_KEYS.V2).toBe(keys.ksher_v2_public);
	});

	describe.each(vectors.map((v) => [v.id, v] as const))('%s', (_id, v) => {
		if (v.canonical !== undefined) {
			it('canonical string is exact', () => {
				expect(canonicalString(signedPart(v))).toBe(v.canonical);
			});
		}

		it('signature verifies', () => {
			expect(verifyVector(v, signedPart(v), v.body.sign)).toBe(true);
			if (v.kind !== 'request') {
				const options = v.key === 'example_public' ? { publicKey: keys.example_public } : {};
				expect(verifyResponse(v.body, { ...options, endpoint: v.endpoint })).toBe(true);
			}
		});

		it('does not verify with another key', () => {
			const other: Vector['key'] =
				v.key === 'ksher_v1_public' ? 'example_public' : 'ksher_v1_public';
			expect(verifyVector({ ...v, key: other }, signedPart(v), v.body.sign)).toBe(false);
			expect(verifyVector({ ...v, key: 'ksher_v2_public' }, signedPart(v), v.body.sign)).toBe(
				false,
			);
		});

		// Tampering, systematically: every single character of every signed value, every
		// field removed, one field added, and every character of the signature.
		it('any change to a signed value breaks verification', () => {
			const part = signedPart(v);
			let checked = 0;
			for (const key of Object.keys(part)) {
				const original = part[key];
				const text = typeof original === 'string' ? original : JSON.stringify(original);
				const variants: unknown[] = [];
				for (let i = 0; i < text.length; i++) {
					const swapped = text[i] === 'x' ? 'y' : 'x';
					variants.push(text.slice(0, i) + swapped + text.slice(i + 1));
				}
				variants.push(text + 'x');
				if (typeof original === 'number') variants.push(original + 1);
				for (const variant of variants) {
					if (variant === text && typeof original === 'string') continue;
					const tampered = { ...part, [key]: variant };
					expect(verifyVector(v, tampered, v.body.sign)).toBe(false);
					checked++;
				}
				const { [key]: _removed, ...without } = part;
				expect(verifyVector(v, without, v.body.sign)).toBe(false);
				checked++;
			}
			expect(verifyVector(v, { ...part, extra_field: '1' }, v.body.sign)).toBe(false);
			expect(checked).toBeGreaterThan(Object.keys(part).length);
		});

		it('any change to the signature breaks verification', () => {
			const part = signedPart(v);
			const sign = String(v.body.sign);
			for (let i = 0; i < sign.length; i++) {
				const flipped = sign[i] === '0' ? '1' : '0';
				expect(verifyVector(v, part, sign.slice(0, i) + flipped + sign.slice(i + 1))).toBe(false);
			}
			expect(verifyVector(v, part, sign.slice(0, -2))).toBe(false);
			expect(verifyVector(v, part, sign + '00')).toBe(false);
			expect(verifyVector(v, part, '')).toBe(false);
			expect(verifyVector(v, part, undefined)).toBe(false);
			expect(verifyVector(v, part, sign.slice(0, -1) + 'g')).toBe(false);
		});

		it('an upper-case signature is the same signature (hex is case-insensitive)', () => {
			expect(verifyVector(v, signedPart(v), String(v.body.sign).toUpperCase())).toBe(true);
		});
	});

	it('R7 (merchant_info) verifies only over its five-field subset', () => {
		const r7 = vectors.find((v) => v.id === 'R7')!;
		const data = r7.body.data as Record<string, unknown>;
		expect(
			verifyCanonical(canonicalString(data), r7.body.sign, createPublicKey(keys.ksher_v1_public)),
		).toBe(false);
		expect(verifyResponse(r7.body)).toBe(false);
		expect(verifyResponse(r7.body, { endpoint: 'merchant_info' })).toBe(true);
		// Fields outside the subset are not covered by Ksher's signature at all.
		expect(
			verifyResponse(
				{ ...r7.body, data: { ...data, mch_notify_url: 'x' } },
				{ endpoint: 'merchant_info' },
			),
		).toBe(true);
	});

	it('verifyResponse refuses envelopes that are not envelopes', () => {
		expect(verifyResponse(null)).toBe(false);
		expect(verifyResponse('{}')).toBe(false);
		expect(verifyResponse({ code: 0, sign: 'ab' })).toBe(false);
		expect(verifyResponse({ code: 0, data: [], sign: 'ab' })).toBe(false);
	});
});

describe('canonical string rules', () => {
	it('drops sign, undefined and null; keeps empty strings as key=', () => {
		expect(canonicalString({ b: '2', a: '1', sign: 'x', u: undefined, n: null, e: '' })).toBe(
			'a=1b=2e=',
		);
	});

	it('renders integers in decimal and nested values as compact JSON with sorted keys', () => {
		expect(
			canonicalString({ total_fee: 100, list: [{ b: 1, a: 'x y' }], obj: { z: [1, 2], a: null } }),
		).toBe('list=[{"a":"x y","b":1}]obj={"a":null,"z":[1,2]}total_fee=100');
	});

	it('keeps values raw: no URL-encoding, Thai text and symbols as they are', () => {
		expect(canonicalString({ url: 'https://x.test/a?b=1&c=%20+', name: 'สินค้า 🎉' })).toBe(
			'name=สินค้า 🎉url=https://x.test/a?b=1&c=%20+',
		);
	});

	it('orders as the joined key=value pieces sort, also when a key is a prefix of another', () => {
		// '0' (0x30) sorts before '=' (0x3D): the piece "a0=2" comes before "a=1".
		expect(canonicalString({ a: '1', a0: '2', ab: '3', 'a-': '4' })).toBe('a-=4a0=2a=1ab=3');
		const keys = ['mch_order_no', 'mch_order', 'mch_order_no2', 'mch-order', 'z', 'A', '_'];
		const params = Object.fromEntries(keys.map((k, i) => [k, String(i)]));
		expect(canonicalString(params)).toBe(
			keys
				.map((k, i) => `${k}=${i}`)
				.sort()
				.join(''),
		);
	});

	it('gives the same order whatever order the keys arrive in (already in order, code-unit order, shuffled)', () => {
		// (A key holding "=" is left out: its piece's place would depend on the values. No Ksher
		// field has one, and the trigger refuses data that does.)
		const keys = [
			'a',
			'a0',
			'a-',
			'ab',
			'mch_order',
			'mch_order_no',
			'mch_order_no2',
			'mch-order',
			'cash_fee',
			'cash_fee_type',
			'Z',
			'_',
			'é',
		];
		const expected = keys
			.map((k) => `${k}=v${k}`)
			.sort()
			.join('');
		const canonicalOrder = [...keys].sort((x, y) => (`${x}=` < `${y}=` ? -1 : 1));
		const orders = [canonicalOrder, [...keys].sort(), [...keys].sort().reverse(), keys];
		let seed = 7;
		for (let n = 0; n < 200; n++) {
			const shuffled = [...keys];
			for (let i = shuffled.length - 1; i > 0; i--) {
				seed = (seed * 1103515245 + 12345) % 2147483648;
				const j = seed % (i + 1);
				[shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
			}
			orders.push(shuffled);
		}
		for (const order of orders)
			expect(canonicalString(Object.fromEntries(order.map((k) => [k, `v${k}`])))).toBe(expected);
	});

	it('a number and its decimal string sign the same bytes', () => {
		expect(canonicalString({ total_fee: 100 })).toBe(canonicalString({ total_fee: '100' }));
	});
});
