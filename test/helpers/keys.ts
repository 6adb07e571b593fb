import { generateKeyPairSync } from 'crypto';

/** Fresh RSA key pairs made at test time; no private key is ever committed. */
export interface TestKeyPair {
	privatePem: string;
	privatePkcs8Pem: string;
	publicPem: string;
	publicPkcs1Pem: string;
}

const cache = new Map<number, TestKeyPair>();

export function makeKeyPair(bits = 1024): TestKeyPair {
	const { privateKey, publicKey } = generateKeyPairSync('rsa', {
		modulusLength: bits,
		publicExponent: 0x10001,
	});
	return {
		privatePem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
		privatePkcs8Pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
		publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
		publicPkcs1Pem: publicKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
	};
}

/** One shared pair per size per test file, to keep key generation out of every test. */
export function sharedKeyPair(bits = 1024): TestKeyPair {
	let pair = cache.get(bits);
	if (!pair) {
		pair = makeKeyPair(bits);
		cache.set(bits, pair);
	}
	return pair;
}

/** The base64 lines of a PEM body, for leak checks. */
export function keyBodyLines(pem: string): string[] {
	return pem
		.split('\n')
		.map((l) => l.trim())
		.filter((l) => l && !l.startsWith('-----'));
}
