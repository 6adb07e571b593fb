import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import {
	KsherClient,
	ksherPublicKey,
	parsePrivateKey,
	type KsherTransport,
	type SignVersion,
} from '../protocol';

export interface KsherCredentialValues {
	appId: string;
	privateKey: string;
	signVersion: SignVersion;
	ksherPublicKey: string;
	environment: 'production' | 'custom';
	gatewayUrl: string;
	apiUrl: string;
}

export function readCredentials(data: ICredentialDataDecryptedObject): KsherCredentialValues {
	const text = (v: unknown) => (typeof v === 'string' ? v : '');
	return {
		appId: text(data.appId).trim(),
		privateKey: text(data.privateKey),
		signVersion: data.signVersion === 'V2' ? 'V2' : 'V1',
		ksherPublicKey: text(data.ksherPublicKey),
		environment: data.environment === 'custom' ? 'custom' : 'production',
		gatewayUrl: text(data.gatewayUrl),
		apiUrl: text(data.apiUrl),
	};
}

/** The key that signs Ksher's answers and notifications for these credentials. */
export function verificationKey(values: KsherCredentialValues) {
	return ksherPublicKey(values.signVersion, values.ksherPublicKey);
}

/** One client per execution: keys are parsed here once, never per item. */
export function clientFromCredentials(
	data: ICredentialDataDecryptedObject,
	transport: KsherTransport,
	timeoutMs?: number,
): KsherClient {
	const values = readCredentials(data);
	return new KsherClient({
		appId: values.appId,
		privateKey: parsePrivateKey(values.privateKey),
		signVersion: values.signVersion,
		ksherPublicKey: verificationKey(values),
		gatewayUrl: values.environment === 'custom' ? values.gatewayUrl : undefined,
		apiUrl: values.environment === 'custom' ? values.apiUrl : undefined,
		transport,
		timeoutMs,
	});
}
