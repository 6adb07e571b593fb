/** Where each endpoint lives: gateway_* on the gateway host, the rest on api.mch.ksher.net/KsherPay (Ksher's SDKs and API pages). */
export const PRODUCTION_GATEWAY_URL = 'https://gateway.ksher.com/api';
export const PRODUCTION_API_URL = 'https://api.mch.ksher.net/KsherPay';

const GATEWAY_ENDPOINTS = new Set(['gateway_pay', 'gateway_order_query', 'cancel_order']);

export function isGatewayEndpoint(endpoint: string): boolean {
	return GATEWAY_ENDPOINTS.has(endpoint);
}

/** The hosts come from checkBaseUrl (no trailing slash) or the production constants. */
export function endpointUrl(
	endpoint: string,
	hosts: { gatewayUrl: string; apiUrl: string },
): string {
	return `${isGatewayEndpoint(endpoint) ? hosts.gatewayUrl : hosts.apiUrl}/${endpoint}`;
}
