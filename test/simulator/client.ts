import { KsherClient, type KsherClientOptions } from '../../nodes/protocol';
import type { SimulatorInfo } from './server';

/** A Ksher client for the simulator's merchant, on its hosts, with its keys: what every test and tool talking to it uses. */
export function simulatorClient(
	info: Pick<
		SimulatorInfo,
		'appid' | 'merchantPrivateKey' | 'ksherPublicKey' | 'gatewayUrl' | 'apiUrl'
	>,
	options: Partial<KsherClientOptions> = {},
): KsherClient {
	return new KsherClient({
		appId: info.appid,
		privateKey: info.merchantPrivateKey,
		ksherPublicKey: info.ksherPublicKey,
		gatewayUrl: info.gatewayUrl,
		apiUrl: info.apiUrl,
		...options,
	});
}
