import type { ICredentialDataDecryptedObject, IDataObject } from 'n8n-workflow';

import { runKsherNode, type NodeRun } from './n8n';
import type { SimulatorHarness } from './simulator';

export function simulatorCredentials(
	h: SimulatorHarness,
	overrides: IDataObject = {},
): IDataObject {
	return {
		appId: h.sim.info.appid,
		privateKey: h.sim.info.merchantPrivateKey,
		signVersion: 'V1',
		ksherPublicKey: h.sim.info.ksherPublicKey,
		environment: 'custom',
		gatewayUrl: h.sim.info.gatewayUrl,
		apiUrl: h.sim.info.apiUrl,
		...overrides,
	};
}

/** Runs the Ksher node against the simulator: one item per entry of `rows`, parameters may be expressions. */
export function runNode(
	h: SimulatorHarness,
	parameters: IDataObject,
	options: {
		rows?: IDataObject[];
		continueOnFail?: boolean;
		onError?: 'continueRegularOutput' | 'continueErrorOutput';
		credentials?: IDataObject;
		typeVersion?: number;
	} = {},
): Promise<NodeRun> {
	return runKsherNode({
		credentials: (options.credentials ?? simulatorCredentials(h)) as ICredentialDataDecryptedObject,
		parameters: parameters as never,
		items: options.rows,
		continueOnFail: options.continueOnFail,
		onError: options.onError,
		typeVersion: options.typeVersion,
	});
}

export const createParams = (orderNumber: string, extra: IDataObject = {}): IDataObject => ({
	resource: 'payment',
	operation: 'create',
	orderNumber,
	amount: '150.50',
	productName: 'Test product',
	channels: ['promptpay', 'card'],
	successRedirectUrl: 'https://shop.example/ok',
	...extra,
});
