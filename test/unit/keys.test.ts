import { generateKeyPairSync } from 'crypto';

import {
	canonicalString,
	KsherKeyError,
	ksherPublicKey,
	parsePrivateKey,
	parsePublicKey,
	signRequest,
	verifyCanonical,
} from '../../nodes/protocol';
import { keyBodyLines, sharedKeyPair } from '../helpers/keys';

const pair = sharedKeyPair(1024);
const params = { appid: 'mch1', nonce_str: 'abc', time_stamp: '20240101000000' };

function signsCorrectly(input: string): boolean {
	const key = parsePrivateKey(input);
	return verifyCanonical(
		canonicalString(params),
		signRequest(params, key),
		parsePublicKey(pair.publicPem),
	);
}

function keyError(input: unknown): KsherKeyError {
	try {
		parsePrivateKey(input);
	} catch (error) {
		if (error instanceof KsherKeyError) return error;
		throw error;
	}
	throw new Error('expected parsePrivateKey to refuse the input');
}

describe('merchant private key input', () => {
	const body = keyBodyLines(pair.privatePem).join('');

	it.each([
		['PKCS#1 PEM', pair.privatePem],
		['PKCS#8 PEM', pair.privatePkcs8Pem],
		['CRLF line ends', pair.privatePem.replace(/\n/g, '\r\n')],
		['literal \\n sequences (from JSON or .env)', pair.privatePem.replace(/\n/g, '\\n')],
		['literal \\r\\n sequences', pair.privatePem.replace(/\n/g, '\\r\\n')],
		['leading and trailing spaces', `   \n  ${pair.privatePem}  \n\n `],
		[
			'indented lines',
			pair.privatePem
				.split('\n')
				.map((l) => `  ${l}`)
				.join('\n'),
		],
		['one long line', pair.privatePem.replace(/\n/g, ' ')],
		['base64 body only (PKCS#1)', body],
		['base64 body only with line breaks', keyBodyLines(pair.privatePem).join('\n')],
		['base64 body only (PKCS#8)', keyBodyLines(pair.privatePkcs8Pem).join('')],
	])('accepts %s', (_name, input) => {
		expect(signsCorrectly(input)).toBe(true);
	});

	const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
	const encrypted = generateKeyPairSync('rsa', {
		modulusLength: 1024,
		privateKeyEncoding: {
			type: 'pkcs8',
			format: 'pem',
			cipher: 'aes-128-cbc',
			passphrase: 'secret',
		},
		publicKeyEncoding: { type: 'spki', format: 'pem' },
	}).privateKey;
	const legacyEncrypted = generateKeyPairSync('rsa', {
		modulusLength: 1024,
		privateKeyEncoding: {
			type: 'pkcs1',
			format: 'pem',
			cipher: 'aes-128-cbc',
			passphrase: 'secret',
		},
		publicKeyEncoding: { type: 'spki', format: 'pem' },
	}).privateKey;

	it.each([
		['empty', '', /empty/],
		['undefined', undefined, /empty/],
		['a public key (SPKI)', pair.publicPem, /public key, not a private key/],
		['a public key (PKCS#1)', pair.publicPkcs1Pem, /public key, not a private key/],
		[
			'a public key as bare base64',
			keyBodyLines(pair.publicPem).join(''),
			/public key, not a private key/,
		],
		['an encrypted PKCS#8 key', encrypted, /encrypted/],
		['an encrypted PKCS#1 key', legacyEncrypted, /encrypted/],
		[
			'an EC key (PKCS#8)',
			ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
			/not an RSA key/,
		],
		[
			'an EC key (SEC1)',
			ec.privateKey.export({ type: 'sec1', format: 'pem' }).toString(),
			/not an RSA key/,
		],
		[
			'a certificate',
			'-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
			/certificate/,
		],
		[
			'an OpenSSH key',
			'-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA==\n-----END OPENSSH PRIVATE KEY-----',
			/OpenSSH/,
		],
		['a truncated key', pair.privatePem.split('\n').slice(0, 5).join('\n'), /incomplete/],
		['a damaged key', pair.privatePem.replace(/\n(.{10})(.{4})/, '\n$1AAAA'), /damaged|incomplete/],
		['random text', 'my password is hunter2', /does not look like a private key/],
		[
			'base64 that is not a key',
			Buffer.from('hello world, this is not a key').toString('base64'),
			/not an RSA private key/,
		],
	])('refuses %s with a clear message', (_name, input, message) => {
		const error = keyError(input);
		expect(error.message).toMatch(message);
		expect(error.solution.length).toBeGreaterThan(10);
		// Never repeat any part of what was pasted.
		for (const line of keyBodyLines(typeof input === 'string' ? input : '')) {
			if (line.length >= 16) {
				expect(error.message).not.toContain(line.slice(0, 16));
				expect(error.solution).not.toContain(line.slice(0, 16));
			}
		}
	});

	it('refuses a private key pasted into the public key field', () => {
		expect(() => parsePublicKey(pair.privatePem)).toThrow(/holds a private key/);
	});

	it('reads public keys as PKCS#1, SPKI and bare base64', () => {
		for (const input of [
			pair.publicPem,
			pair.publicPkcs1Pem,
			keyBodyLines(pair.publicPem).join(''),
			pair.publicPem.replace(/\n/g, '\\n'),
		]) {
			expect(parsePublicKey(input).asymmetricKeyDetails?.modulusLength).toBe(1024);
		}
		expect(() => parsePublicKey('nonsense')).toThrow(/could not be read/);
	});
});

describe('Ksher public key selection', () => {
	it('a custom key is parsed once and reused; the built-in keys otherwise', () => {
		const a = ksherPublicKey('V1', pair.publicPem);
		expect(ksherPublicKey('V1', pair.publicPem)).toBe(a);
		expect(a.asymmetricKeyDetails?.modulusLength).toBe(1024);
		expect(ksherPublicKey('V1', '').asymmetricKeyDetails?.modulusLength).toBe(512);
		expect(ksherPublicKey('V2').asymmetricKeyDetails?.modulusLength).toBe(2048);
		expect(() => ksherPublicKey('V1', 'not a key')).toThrow(/could not be read/);
	});
});
