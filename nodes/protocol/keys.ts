import { createPrivateKey, createPublicKey, type KeyObject } from 'crypto';

import { KsherKeyError } from './errors';

/** Ksher's own public keys, as published in its SDKs. V1 signs every known response; V2 answers requests sent with `ksher-sign-version: V2`. */
export const KSHER_PUBLIC_KEYS = Object.freeze({
	V1: [
		'-----BEGIN RSA PUBLIC KEY-----',
		'MEgCQQC+/eeTgrjeCPHmDS/5osWViFyIAryFRIr5canaYhz3Di3UNkT0sf6TkabF',
		'LvxPcM9JmEtj2O4TXNpgYATkE/sFAgMBAAE=',
		'-----END RSA PUBLIC KEY-----',
		'',
	].join('\n'),
	V2: [
		'-----BEGIN RSA PUBLIC KEY-----',
		'MIIBCgKCAQEA3WvHCgE/NVHjWG+IzjB2OeWFwjQJFPEi/O1AFaiLdsyXgQ8sROIM',
		'pp7iyhbubKf+aNFdJx4+hwbVSd3BAUUdKQJyovdqjF0DLLrk0QLUZAnEX7lylugt',
		'VL+eCKRhI8UzXxEFMt8vrhw1p9oaxBK/0mXcqUGvtM7hNAZo9jdfB/l+gAf6X3jR',
		'1gj7lsz190A+FfDwzIhCWK8FcdroW7A00KAcCdAadzNdn16UNj4G0kGXhAMf+175',
		'gTFuVuiZx1oSaInrOgnl05qqixTbrdm/BqwbFWGGYX1B6yKM0/Vus3DqkwgXr1q+',
		'bWPtM3sDOQuQmkbo/jQbkMv+Ab8ij2f1gwIDAQAB',
		'-----END RSA PUBLIC KEY-----',
		'',
	].join('\n'),
});

export type SignVersion = 'V1' | 'V2';

const PORTAL_HINT =
	'Paste the private key file (privatekey.pem) downloaded from the Ksher merchant portal (merchant.ksher.net → IT integration).';

/** Undo what copying a key through JSON, env files or web forms does to it. */
function normalisePem(input: string): string {
	return input
		.replace(/\\r\\n|\\n|\\r/g, '\n')
		.replace(/\r\n?/g, '\n')
		.split('\n')
		.map((line) => line.trim())
		.filter((line) => line.length > 0)
		.join('\n');
}

function wrapBase64(body: string): string {
	return body.replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
}

/** Runs a parser that throws on bad input; undefined instead of the (key-revealing) error. */
function attempt<T>(parse: () => T): T | undefined {
	try {
		return parse();
	} catch {
		return undefined;
	}
}

function tryPrivateDer(base64: string): KeyObject | undefined {
	const der = Buffer.from(base64, 'base64');
	return (
		attempt(() => createPrivateKey({ key: der, format: 'der', type: 'pkcs1' })) ??
		attempt(() => createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }))
	);
}

function requireRsa(key: KeyObject, what: string, field = 'Private Key'): KeyObject {
	if (key.asymmetricKeyType !== 'rsa') {
		throw new KsherKeyError(
			`The ${what} is a ${String(key.asymmetricKeyType).toUpperCase()} key, not an RSA key`,
			`Ksher signs with RSA. ${PORTAL_HINT}`,
			field,
		);
	}
	return key;
}

/**
 * Reads a merchant private key the way people paste it: PKCS#1 or PKCS#8 PEM, with CRLF,
 * literal "\n" sequences, stray spaces, or the bare base64 body. Errors say what was
 * recognised and never repeat any of the input.
 */
export function parsePrivateKey(input: unknown): KeyObject {
	if (typeof input !== 'string' || input.trim() === '') {
		throw new KsherKeyError('The private key is empty', PORTAL_HINT);
	}
	const text = normalisePem(input);
	const header = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1];
	if (header !== undefined) {
		if (/PUBLIC KEY/.test(header)) {
			throw new KsherKeyError(
				'This is a public key, not a private key',
				`Ksher needs your private key to sign requests. ${PORTAL_HINT}`,
			);
		}
		if (/CERTIFICATE/.test(header)) {
			throw new KsherKeyError('This is a certificate, not a private key', PORTAL_HINT);
		}
		if (/ENCRYPTED/.test(header) || /Proc-Type:\s*4,ENCRYPTED/i.test(text)) {
			throw new KsherKeyError(
				'This private key is encrypted with a passphrase',
				'Remove the passphrase first (for example `openssl rsa -in privatekey.pem -out plain.pem`) and paste the result, or download the key again from the Ksher merchant portal.',
			);
		}
		if (/OPENSSH/.test(header)) {
			throw new KsherKeyError('This is an OpenSSH key, not a Ksher merchant key', PORTAL_HINT);
		}
		if (/^(EC|DSA) PRIVATE KEY$/.test(header)) {
			throw new KsherKeyError(
				`This is an ${header.split(' ')[0]} key, not an RSA key`,
				`Ksher signs with RSA. ${PORTAL_HINT}`,
			);
		}
		if (!/^(RSA )?PRIVATE KEY$/.test(header)) {
			throw new KsherKeyError(`A PEM block of type "${header}" is not a private key`, PORTAL_HINT);
		}
		const end = new RegExp(`-----END ${header}-----`).test(text);
		if (!end) {
			throw new KsherKeyError(
				'The private key is incomplete: its END line is missing',
				`Paste the whole file, from -----BEGIN to -----END. ${PORTAL_HINT}`,
			);
		}
		const body = text.replace(/-----(BEGIN|END) [A-Z0-9 ]+-----/g, '').replace(/\s+/g, '');
		const pem = `-----BEGIN ${header}-----\n${wrapBase64(body)}\n-----END ${header}-----\n`;
		const key = attempt(() => createPrivateKey(pem));
		if (!key) {
			throw new KsherKeyError(
				'The private key could not be read: its content is damaged or incomplete',
				`Paste the whole file unchanged. ${PORTAL_HINT}`,
			);
		}
		return requireRsa(key, 'private key');
	}
	const body = text.replace(/\s+/g, '');
	if (
		!text.split('\n').every((line) => /^[A-Za-z0-9+/=]+$/.test(line)) ||
		!/^[A-Za-z0-9+/]+={0,2}$/.test(body)
	) {
		throw new KsherKeyError(
			'This does not look like a private key: no PEM header and not base64 text',
			PORTAL_HINT,
		);
	}
	const key = tryPrivateDer(body);
	if (key) return requireRsa(key, 'private key');
	const der = Buffer.from(body, 'base64');
	if (
		attempt(() => createPublicKey({ key: der, format: 'der', type: 'spki' })) ??
		attempt(() => createPublicKey({ key: der, format: 'der', type: 'pkcs1' }))
	) {
		throw new KsherKeyError(
			'This is a public key, not a private key',
			`Ksher needs your private key to sign requests. ${PORTAL_HINT}`,
		);
	}
	throw new KsherKeyError('This base64 text is not an RSA private key', PORTAL_HINT);
}

/** Reads a public key given as PEM (PKCS#1 or SPKI) or bare base64 SPKI/PKCS#1 body. */
export function parsePublicKey(input: unknown, what = 'Ksher public key'): KeyObject {
	const field = 'Ksher Public Key';
	if (typeof input !== 'string' || input.trim() === '') {
		throw new KsherKeyError(
			`The ${what} is empty`,
			"Leave the field empty to use Ksher's built-in key, or paste the PEM Ksher gave you.",
			field,
		);
	}
	const text = normalisePem(input);
	const header = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1];
	if (header && /PRIVATE/.test(header)) {
		throw new KsherKeyError(
			`The ${what} field holds a private key`,
			"Put only Ksher's public key here; your private key belongs in the Private Key field.",
			field,
		);
	}
	let key: KeyObject | undefined;
	if (header) {
		const body = text.replace(/-----(BEGIN|END) [A-Z0-9 ]+-----/g, '').replace(/\s+/g, '');
		key = attempt(() =>
			createPublicKey(`-----BEGIN ${header}-----\n${wrapBase64(body)}\n-----END ${header}-----\n`),
		);
	} else {
		const der = Buffer.from(text.replace(/\s+/g, ''), 'base64');
		key =
			attempt(() => createPublicKey({ key: der, format: 'der', type: 'spki' })) ??
			attempt(() => createPublicKey({ key: der, format: 'der', type: 'pkcs1' }));
	}
	if (!key) {
		throw new KsherKeyError(
			`The ${what} could not be read`,
			'Paste the PEM text exactly as published, from -----BEGIN to -----END, or leave the field empty to use the built-in key.',
			field,
		);
	}
	return requireRsa(key, what, field);
}

const builtIn: Partial<Record<SignVersion, KeyObject>> = {};

// Public keys are not secret: a custom Ksher key is parsed once per process, not on every
// notification. Bounded, since credentials can change over a process's life.
const customKeys = new Map<string, KeyObject>();

/** Ksher's key for a sign version, or the override when one is given. Keys are parsed once per process. */
export function ksherPublicKey(version: SignVersion = 'V1', override?: string): KeyObject {
	if (override && override.trim() !== '') {
		let key = customKeys.get(override);
		if (!key) {
			key = parsePublicKey(override);
			if (customKeys.size >= 32) customKeys.delete(customKeys.keys().next().value as string);
			customKeys.set(override, key);
		}
		return key;
	}
	const v: SignVersion = version === 'V2' ? 'V2' : 'V1';
	return (builtIn[v] ??= createPublicKey(KSHER_PUBLIC_KEYS[v]));
}
