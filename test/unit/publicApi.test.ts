import { generateKeyPairSync } from 'crypto';

/** index.js: what `require('n8n-nodes-ksher')` gives a program (after `npm run build`). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const api = require('../../index.js') as Record<string, unknown>;

describe('the public protocol API', () => {
	it('exports what a program talking to Ksher needs, and no internals', () => {
		expect(Object.keys(api).sort()).toEqual(
			[
				'KsherClient',
				'PRODUCTION_GATEWAY_URL',
				'PRODUCTION_API_URL',
				'canonicalString',
				'signRequest',
				'verifyResponse',
				'KSHER_PUBLIC_KEYS',
				'checkNotification',
				'NOTIFICATION_ACK',
				'toMinorUnits',
				'fromMinorUnits',
				'SUPPORTED_CURRENCIES',
				'deriveRefundNumber',
				'GATEWAY_CHANNELS',
				'KSHER_ERROR_CODES',
				'explainErrorCode',
				'KsherError',
				'KsherInputError',
				'KsherKeyError',
				'KsherApiError',
				'KsherTransportError',
			].sort(),
		);
		for (const internal of [
			'newNonce',
			'formParams',
			'parseEnvelope',
			'signCanonical',
			'ledgerFor',
		])
			expect(api).not.toHaveProperty(internal);
		for (const value of Object.values(api)) expect(value).toBeDefined();
	});

	it('works from plain code: sign a request, exact money', () => {
		const key = generateKeyPairSync('rsa', { modulusLength: 1024 })
			.privateKey.export({ type: 'pkcs1', format: 'pem' })
			.toString();
		const signRequest = api.signRequest as (p: Record<string, unknown>, k: string) => string;
		expect(signRequest({ appid: 'mch1', nonce_str: 'n' }, key)).toMatch(/^[0-9a-f]{256}$/);
		expect((api.toMinorUnits as (a: string) => number)('150.50')).toBe(15050);
		expect((api.fromMinorUnits as (m: number) => string)(15050)).toBe('150.50');
	});
});
