import type {
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	INodeCredentialTestResult,
} from 'n8n-workflow';

import {
	fetchTransport,
	KsherApiError,
	KsherError,
	KsherTransportError,
	TIMEOUTS,
} from '../protocol';
import { clientFromCredentials, readCredentials } from './credentials';

/**
 * A real signed call (merchant_info) whose signed answer is verified: proves the app id
 * and private key are accepted by Ksher and that the configured Ksher key verifies its
 * answers. The credential-test context offers no current HTTP helper, so this uses fetch.
 */
export async function testKsherCredentials(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const data = credential.data ?? {};
	const { appId } = readCredentials(data);
	let problem: unknown;
	try {
		const client = clientFromCredentials(data, fetchTransport, TIMEOUTS.credentialTestMs);
		const first = await client.call('merchant_info').then(
			(result) => ({ result }),
			(error: unknown) => ({ error }),
		);
		if ('result' in first) {
			const kind = first.result.data.account_type === 'Test' ? 'test' : 'production';
			return {
				status: 'OK',
				message: `Connection successful: Ksher accepted app ID ${appId} and key (${kind} merchant), and its answer was verified.`,
			};
		}
		// Some merchants may not call merchant_info; any verified business answer to a
		// signed query still proves the key is accepted.
		if (first.error instanceof KsherApiError && first.error.code === 'NOAUTH') {
			await client
				.call('gateway_order_query', { mch_order_no: `n8n-credential-test-${Date.now()}` })
				.catch((error: unknown) => {
					if (!(error instanceof KsherApiError) || /SIGN|APPID|MCHINFO|MCHID/.test(error.code))
						throw error;
				});
			return {
				status: 'OK',
				message: `Connection successful: Ksher accepted app ID ${appId} and key, and its answer was verified.`,
			};
		}
		problem = first.error;
	} catch (error) {
		problem = error;
	}
	return { status: 'Error', message: explain(problem, appId) };
}

function explain(error: unknown, appId: string): string {
	if (error instanceof KsherApiError) {
		if (/SIGN/.test(error.code)) {
			return `Ksher rejected the signature [${error.code}]: this private key does not belong to app ID ${appId}, or it was replaced by a newer download from the merchant portal. Paste the latest privatekey.pem.`;
		}
		if (/APPID|MCHINFO|MCHID|SHOP/.test(error.code)) {
			return `Ksher does not know app ID ${appId} [${error.code}]. Copy the app ID ("mch" + merchant number) from the Ksher merchant portal.`;
		}
		return `${error.message} ${error.solution}`;
	}
	if (error instanceof KsherTransportError && error.failure === 'signature') {
		return 'Ksher answered, but its signature did not verify with the configured Ksher public key. Check Signature Version and Ksher Public Key (leave it empty for the built-in key).';
	}
	if (error instanceof KsherError) return `${error.message}. ${error.solution}`;
	return `The credential test failed: ${error instanceof Error ? error.message : String(error)}`;
}
