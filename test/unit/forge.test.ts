import { randomBytes, randomInt } from 'crypto';
import forge from 'node-forge';

import {
	canonicalString,
	parsePublicKey,
	signRequest,
	verifyCanonical,
} from '../../nodes/protocol';
import { sharedKeyPair } from '../helpers/keys';

// node-forge is an independent RSA/MD5 implementation: our signatures must verify under it
// and its signatures under ours, for awkward parameter values.
const ALPHABET = [
	...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
	'?',
	'&',
	'%',
	'+',
	'=',
	' ',
	'/',
	':',
	'#',
	'"',
	'\\',
	'\n',
	'ก',
	'ข',
	'สิ',
	'ค้',
	'า',
	'😀',
	'🇹🇭',
	'中',
	'文',
	'é',
	'ß',
];
const PIECES = [
	'https://shop.example/cb?x=1&y=2',
	'50% off',
	'a+b=c',
	'สินค้าทดสอบ',
	'🎉',
	'%20',
	' leading',
	'trailing ',
];

function randomText(): string {
	if (randomInt(4) === 0)
		return PIECES[randomInt(PIECES.length)] + Array.from(randomText()).slice(0, 5).join('');
	let s = '';
	const n = 1 + randomInt(40);
	for (let i = 0; i < n; i++) s += ALPHABET[randomInt(ALPHABET.length)];
	return s;
}

function randomParams(): Record<string, unknown> {
	const params: Record<string, unknown> = {
		appid: `mch${randomInt(10000, 99999)}`,
		nonce_str: randomBytes(16).toString('hex'),
		time_stamp: '20240101120000',
	};
	const extra = 1 + randomInt(8);
	for (let i = 0; i < extra; i++) {
		const key = [
			'product_name',
			'mch_order_no',
			'mch_redirect_url',
			'attach',
			'lang',
			'total_fee',
			'member_id',
			`f${i}`,
		][randomInt(8)];
		params[key] = key === 'total_fee' ? randomInt(1, 10_000_000) : randomText();
	}
	return params;
}

const pair = sharedKeyPair(1024);
const forgePrivate = forge.pki.privateKeyFromPem(pair.privatePem);
const forgePublic = forge.pki.publicKeyFromPem(pair.publicPem);

function forgeSign(canonical: string): string {
	const md = forge.md.md5.create();
	md.update(canonical, 'utf8');
	return forge.util.bytesToHex(forgePrivate.sign(md));
}

function forgeVerify(canonical: string, signHex: string): boolean {
	const md = forge.md.md5.create();
	md.update(canonical, 'utf8');
	return forgePublic.verify(md.digest().bytes(), forge.util.hexToBytes(signHex));
}

describe('cross-check with node-forge', () => {
	const sets = Array.from({ length: 200 }, randomParams);

	it('our signatures verify under node-forge and are identical to its own', () => {
		const publicKey = parsePublicKey(pair.publicPem);
		for (const params of sets) {
			const canonical = canonicalString(params);
			const ours = signRequest(params, pair.privatePem);
			expect(ours).toMatch(/^[0-9a-f]{256}$/);
			expect(forgeVerify(canonical, ours)).toBe(true);
			// PKCS#1 v1.5 is deterministic, so both implementations produce the same bytes.
			const theirs = forgeSign(canonical);
			expect(theirs).toBe(ours);
			expect(verifyCanonical(canonical, theirs, publicKey)).toBe(true);
		}
	});

	it('node-forge hashes the UTF-8 bytes we sign: a one-character change is caught by both', () => {
		const params = { appid: 'mch1', product_name: 'สินค้า', nonce_str: 'n', time_stamp: 't' };
		const sign = signRequest(params, pair.privatePem);
		const changed = canonicalString({ ...params, product_name: 'สินค้ำ' });
		expect(forgeVerify(changed, sign)).toBe(false);
		expect(verifyCanonical(changed, sign, parsePublicKey(pair.publicPem))).toBe(false);
	});
});
