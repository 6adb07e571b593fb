/** Where each endpoint lives (API.md §1.1, §1.2). */
export const PRODUCTION_GATEWAY_URL = 'https://gateway.ksher.com/api';
export const PRODUCTION_API_URL = 'https://api.mch.ksher.net/KsherPay';

const GATEWAY_ENDPOINTS = new Set(['gateway_pay', 'gateway_order_query', 'cancel_order']);

export function isGatewayEndpoint(endpoint: string): boolean {
	return GATEWAY_ENDPOINTS.has(endpoint);
}

export function endpointUrl(endpoint: string, hosts: { gatewayUrl: string; apiUrl: string }): string {
	const base = isGatewayEndpoint(endpoint) ? hosts.gatewayUrl : hosts.apiUrl;
	return `${base.replace(/\/+$/, '')}/${endpoint}`;
}
