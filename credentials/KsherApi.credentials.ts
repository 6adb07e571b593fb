import type { ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

/**
 * Ksher signs every request with the merchant's RSA key and every answer with its own.
 * The signature covers the request body including a per-request nonce that the signed
 * answer must echo, so the nodes sign and verify in the protocol core rather than through
 * a generic `authenticate` hook, and the credential is tested by the nodes (`testedBy`)
 * with a real signed call whose answer is verified.
 */
export class KsherApi implements ICredentialType {
	name = 'ksherApi';

	displayName = 'Ksher API';

	icon: Icon = { light: 'file:../icons/ksher.svg', dark: 'file:../icons/ksher.dark.svg' };

	documentationUrl = 'https://github.com/n8n-nodes-ksher/n8n-nodes-ksher#credentials';

	// Not `restrictToSupportedNodes`: n8n 2.41 leaves the AI-tool variant ("Ksher Tool")
	// out of a credential's supported nodes, so the restriction would break the node as a tool.

	properties: INodeProperties[] = [
		{
			displayName: 'App ID',
			name: 'appId',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'e.g. mch35000',
			description:
				'Your Ksher app ID: "mch" followed by your merchant number, shown in the Ksher merchant portal.',
		},
		{
			displayName: 'Private Key',
			name: 'privateKey',
			type: 'string',
			typeOptions: { password: true, rows: 6 },
			default: '',
			required: true,
			placeholder: 'Paste the whole privatekey.pem file',
			description:
				'The privatekey.pem file from the Ksher merchant portal (IT integration → Reset → download). Paste the whole file. Resetting the key in the portal invalidates the old one.',
		},
		{
			displayName: 'Signature Version',
			name: 'signVersion',
			type: 'options',
			options: [
				{
					name: 'V1 (Default)',
					value: 'V1',
					description: 'Ksher signs answers with its original key',
				},
				{
					name: 'V2',
					value: 'V2',
					description:
						'Sends the ksher-sign-version: V2 header; Ksher signs answers with its 2048-bit key',
				},
			],
			default: 'V1',
			description:
				"Which of Ksher's keys signs the answers. Keep V1 unless Ksher told you to use V2.",
		},
		{
			displayName: 'Ksher Public Key',
			name: 'ksherPublicKey',
			type: 'string',
			typeOptions: { rows: 4 },
			default: '',
			placeholder: '-----BEGIN PUBLIC KEY-----',
			description:
				"Leave empty to use Ksher's built-in public key for the chosen signature version. Paste a key only if Ksher announces a new one, or when testing against the local simulator.",
		},
		{
			displayName: 'Environment',
			name: 'environment',
			type: 'options',
			options: [
				{
					name: 'Production',
					value: 'production',
					description: 'gateway.ksher.com and api.mch.ksher.net',
				},
				{
					name: 'Custom',
					value: 'custom',
					description: 'Your own base URLs, e.g. the local Ksher simulator',
				},
			],
			default: 'production',
		},
		{
			displayName: 'Gateway Base URL',
			name: 'gatewayUrl',
			type: 'string',
			default: '',
			placeholder: 'e.g. http://127.0.0.1:8866/api',
			description: 'Base URL for payment calls (gateway_pay, gateway_order_query, cancel_order).',
			displayOptions: { show: { environment: ['custom'] } },
		},
		{
			displayName: 'API Base URL',
			name: 'apiUrl',
			type: 'string',
			default: '',
			placeholder: 'e.g. http://127.0.0.1:8866/KsherPay',
			description:
				'Base URL for refund and merchant calls (order_refund, refund_query, merchant_info).',
			displayOptions: { show: { environment: ['custom'] } },
		},
	];
}
