import { existsSync, readFileSync } from 'fs';
import { join } from 'path';

import type {
	ICredentialDataDecryptedObject,
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	IDataObject,
} from 'n8n-workflow';

import { testKsherCredentials } from '../../nodes/adapters/credentialTest';
import { keyBodyLines, makeKeyPair } from '../helpers/keys';
import { n8nLog } from '../helpers/n8n';
import { createParams, runNode, simulatorCredentials } from '../helpers/node';
import { startHarness, type SimulatorHarness } from '../helpers/simulator';
import { startTrigger } from '../helpers/trigger';
import { recordFigure } from './figures';
import { guardUnhandledRejections } from './guard';

/**
 * Key leaks: 0. Every error path is driven with the merchant's real private key (or a
 * damaged copy of it) in the credential, and every output item, error message and
 * description, answer and log line is searched for any piece of the key's base64 body.
 */
guardUnhandledRejections('leaks');

let h: SimulatorHarness;
const consoleLines: string[] = [];
beforeAll(async () => {
	h = await startHarness();
	for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
		jest.spyOn(console, method).mockImplementation((...args: unknown[]) => {
			consoleLines.push(args.map(String).join(' '));
		});
	}
});
afterAll(async () => {
	jest.restoreAllMocks();
	await h.sim.close();
});

/** Every 20-character window of the key's base64 body, and every line of it. */
function fragments(pem: string): string[] {
	const lines = keyBodyLines(pem);
	const body = lines.join('');
	const windows: string[] = [];
	for (let i = 0; i + 20 <= body.length; i += 7) windows.push(body.slice(i, i + 20));
	return [...lines, ...windows];
}

it('no output, error, answer or log line ever contains a piece of the private key', async () => {
	const privateKey = h.sim.info.merchantPrivateKey;
	const lines = keyBodyLines(privateKey);
	const haystacks: Array<[string, string]> = [];
	const keep = (path: string, value: unknown) =>
		haystacks.push([path, typeof value === 'string' ? value : JSON.stringify(value)]);
	const withKey = (privateKeyText: string) =>
		simulatorCredentials(h, { privateKey: privateKeyText });

	const damagedKeys: Record<string, string> = {
		truncated: privateKey.split('\n').slice(0, 6).join('\n'),
		'damaged body': privateKey.replace(/\n(.{10})(.{6})/, '\n$1AAAAAA'),
		'missing END line': privateKey.replace(/-----END[^\n]*\n?/, ''),
		'body only with junk': `${lines.join('')}!!`,
		'public key': h.sim.info.ksherPublicKey,
		'key of another merchant': makeKeyPair(1024).privatePem,
		'header typo': privateKey.replace('BEGIN RSA PRIVATE KEY', 'BEGIN RSA PRIVAT KEY'),
		'literal \\n': privateKey.replace(/\n/g, '\\n').slice(0, 400),
	};
	const { orderNo } = await h.createOrder();
	await h.payOrder(orderNo);

	const scenarios: Array<
		[
			string,
			Record<string, unknown>,
			Record<string, unknown>,
			{ rows?: Array<Record<string, unknown>>; fault?: Record<string, unknown> }?,
		]
	> = [];
	for (const [name, key] of Object.entries(damagedKeys)) {
		scenarios.push([
			`key ${name}: create`,
			createParams(`L-${name.length}-${Date.now()}`),
			withKey(key),
		]);
		scenarios.push([
			`key ${name}: refund`,
			{ resource: 'refund', operation: 'create', orderNumber: orderNo, refundAmount: '1' },
			withKey(key),
		]);
	}
	scenarios.push([
		'validation errors',
		{ ...createParams('={{ $json.no }}'), amount: '={{ $json.amount }}' },
		withKey(privateKey),
		{
			rows: [
				{ no: 'bad no', amount: '1' },
				{ no: 'A1', amount: '1,0' },
				{ no: 'A2', amount: '-1' },
				{ no: 'x'.repeat(40), amount: '1' },
			],
		},
	]);
	scenarios.push([
		'Ksher errors',
		{ resource: 'payment', operation: 'get', orderNumber: '={{ $json.no }}' },
		withKey(privateKey),
		{ rows: [{ no: 'missing-1' }, { no: 'missing-2' }] },
	]);
	scenarios.push([
		'bad app id',
		{ resource: 'payment', operation: 'get', orderNumber: orderNo },
		simulatorCredentials(h, { appId: 'mch404' }),
	]);
	scenarios.push([
		'unreachable Ksher',
		{ resource: 'payment', operation: 'get', orderNumber: orderNo },
		simulatorCredentials(h, { gatewayUrl: 'http://127.0.0.1:1/api' }),
	]);
	for (const type of ['wrongkey', 'tampered', 'nosign', 'nonjson', 'http500', 'reset', 'nonce']) {
		scenarios.push([
			`fault ${type}`,
			{
				resource: 'refund',
				operation: 'create',
				orderNumber: orderNo,
				refundAmount: '0.01',
				refundNumber: `L-${type}`,
			},
			withKey(privateKey),
			{ fault: { type, endpoint: 'order_refund' } },
		]);
	}

	for (const [name, parameters, credentials, extra] of scenarios) {
		for (const continueOnFail of [true, false]) {
			if (extra?.fault) await h.control('/faults', extra.fault);
			const result = await runNode(h, parameters as IDataObject, {
				credentials: credentials as IDataObject,
				continueOnFail,
				rows: extra?.rows as IDataObject[] | undefined,
			});
			keep(`${name} (continueOnFail ${continueOnFail}): items`, result.items);
			keep(`${name} (continueOnFail ${continueOnFail}): run`, result.run);
			if (result.error)
				keep(`${name}: error`, `${result.error.message} ${result.error.description ?? ''}`);
		}
	}

	// The credential test, with every kind of bad key.
	for (const [name, key] of Object.entries({ ...damagedKeys, good: privateKey })) {
		const credential = {
			id: 'c',
			name: 'c',
			type: 'ksherApi',
			data: withKey(key),
		} as unknown as ICredentialsDecrypted;
		keep(
			`credential test: ${name}`,
			await testKsherCredentials.call({} as ICredentialTestFunctions, credential),
		);
	}

	// The trigger's answers, with the private key in its credential.
	const trigger = await startTrigger({
		credentials: withKey(privateKey) as ICredentialDataDecryptedObject,
		parameters: { options: { confirmWithKsher: true } },
	});
	for (const body of [
		'',
		'x',
		'{}',
		JSON.stringify({ code: 0, data: {}, sign: 'ab' }),
		JSON.stringify({ code: 0, data: { appid: h.sim.info.appid }, sign: 'a'.repeat(256) }),
	])
		keep(`trigger answer to ${body.slice(0, 20)}`, await trigger.post(body));
	await trigger.close();

	keep('n8n logger', n8nLog.join('\n'));
	keep('console', consoleLines.join('\n'));
	const logFile = process.env.N8N_LOG_FILE_LOCATION;
	if (logFile && existsSync(logFile)) keep('n8n log file', readFileSync(logFile, 'utf8'));
	const logDir = join(process.env.N8N_USER_FOLDER ?? '', '.n8n', 'logs');
	if (existsSync(logDir)) keep('n8n log dir', readFileSync(join(logDir, 'n8n.log'), 'utf8'));

	const secrets = [
		...new Set([
			...fragments(privateKey),
			...Object.values(damagedKeys).flatMap((k) => (k.includes('PRIVATE') ? fragments(k) : [])),
		]),
	].filter((f) => !h.sim.info.ksherPublicKey.replace(/\s/g, '').includes(f));
	const leaks = haystacks.flatMap(([path, text]) =>
		secrets.filter((s) => text.includes(s)).map((s) => `${path}: …${s}…`),
	);
	// The search itself works: it finds the key where the key is.
	expect(secrets.filter((f) => privateKey.replace(/\s/g, '').includes(f)).length).toBeGreaterThan(
		20,
	);
	recordFigure(
		'Key leaks',
		leaks.length,
		`${scenarios.length * 2} node runs over ${scenarios.length} error paths, ${Object.keys(damagedKeys).length + 1} credential tests, trigger answers and every log line searched for ${secrets.length} key fragments`,
	);
	expect(haystacks.length).toBeGreaterThan(60);
	expect(leaks).toEqual([]);
});
