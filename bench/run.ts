import {
	createPrivateKey,
	createPublicKey,
	createSign,
	createVerify,
	generateKeyPairSync,
} from 'crypto';
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

// Same environment as the tests: n8n-core writes its settings into a temporary user folder.
process.env.N8N_USER_FOLDER ??= mkdtempSync(join(tmpdir(), 'ksher-bench-'));
process.env.N8N_EXPRESSION_ENGINE ??= 'legacy';
process.env.N8N_LOG_OUTPUT ??= 'file';
process.env.N8N_LOG_FILE_LOCATION ??= join(process.env.N8N_USER_FOLDER, 'n8n.log');

import {
	canonicalString,
	checkNotification,
	KsherClient,
	parsePublicKey,
	signCanonical,
	verifyNotificationBody,
} from '../nodes/protocol';
import { interleavedRatio } from './stats';

const json = process.argv.includes('--json');
const quick = process.argv.includes('--quick');
// --only=crypto,client,node,refund,watch,settlement,trigger,engine,queue runs just those parts. `engine` starts the
// real n8n of the e2e for each engine, `queue` a queue-mode cluster (several minutes each), so they run only when asked for.
const only = process.argv
	.find((a) => a.startsWith('--only='))
	?.slice('--only='.length)
	.split(',');
const part = (name: string) =>
	(!only && name !== 'engine' && name !== 'queue') || !!only?.includes(name);
const figures: Record<string, number> = {};
const rows: Array<[string, string, string]> = [];
const note = (name: string, value: number, unit: string, goal = '') => {
	figures[name] = Number(value.toFixed(4));
	rows.push([name, `${value.toFixed(value < 10 ? 3 : 1)} ${unit}`, goal]);
};
const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/** A realistic gateway_pay parameter set: about 400 bytes of canonical string. */
function payParams(): Record<string, unknown> {
	return {
		mch_order_no: 'INV-2026-11-27-000123',
		total_fee: 15050,
		fee_type: 'THB',
		channel_list: 'promptpay,card,truemoney,linepay',
		mch_code: 'INV-2026-11-27-000123',
		mch_redirect_url: 'https://shop.example/thank-you?order=INV-2026-11-27-000123',
		mch_redirect_url_fail: 'https://shop.example/payment-failed',
		mch_notify_url: 'https://n8n.example/webhook/5b0f3f5e-7c2a-4e4b-9a43-6b2f2b0d0001/webhook',
		product_name: 'Thai silk scarf, blue',
		refer_url: 'https://shop.example',
	};
}

function cryptoFigures() {
	const merchant = generateKeyPairSync('rsa', { modulusLength: 1024 });
	const merchantPem = merchant.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
	const client = new KsherClient({ appId: 'mch35000', privateKey: merchantPem });
	const prepared = client.prepare('gateway_pay', payParams());
	const canonical = canonicalString(prepared.params);
	progress(`canonical string: ${Buffer.byteLength(canonical)} bytes, 1024-bit merchant key`);
	const parsed = createPrivateKey(merchantPem);
	const bareSign = () => createSign('RSA-MD5').update(canonical, 'utf8').sign(parsed, 'hex');
	const ours = () => client.prepare('gateway_pay', payParams());
	const pemEachCall = () =>
		createSign('RSA-MD5').update(canonical, 'utf8').sign(merchantPem, 'hex');
	const sign = interleavedRatio(ours, bareSign, { calls: 50, rounds: quick ? 21 : 121 });
	note('sign_overhead_ratio', sign.ratio, '×', '≤ 1.15');
	note('prepare_request_us', sign.aMicros, 'µs');
	note('bare_sign_us', sign.bMicros, 'µs');
	const pem = interleavedRatio(pemEachCall, ours, { calls: 20, rounds: quick ? 11 : 41 });
	note('sign_vs_pem_per_call_speedup', pem.ratio, '×', '≥ 4');

	// Ksher's real V1 key is 512-bit; verify a notification-sized body with a key of that size.
	const ksher = generateKeyPairSync('rsa', { modulusLength: 512 });
	const data = {
		appid: 'mch35000',
		attach: '{"email":"customer@example.com"}',
		cash_fee: 15050,
		cash_fee_type: 'THB',
		channel: 'promptpay',
		channel_order_no: '42002611271406000001',
		fee_type: 'THB',
		ksher_order_no: '70020261127140600000001',
		mch_order_no: 'INV-2026-11-27-000123',
		nonce_str: 'abcdefabcdefabcdefabcdefabcdefab',
		openid: '',
		pay_mch_order_no: '2611271406000001',
		rate: '1.000000',
		result: 'SUCCESS',
		time_end: '2026-11-27 14:06:00',
		total_fee: 15050,
	};
	const dataCanonical = canonicalString(data);
	const body = JSON.stringify({
		code: 0,
		msg: '操作成功',
		data,
		sign: signCanonical(dataCanonical, ksher.privateKey),
		message: '操作成功',
	});
	const publicKey = parsePublicKey(
		ksher.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
	);
	const signature = Buffer.from(JSON.parse(body).sign as string, 'hex');
	const bareVerify = () =>
		createVerify('RSA-MD5').update(dataCanonical, 'utf8').verify(publicKey, signature);
	// Full verification as the trigger does it: parse the raw body, canonical string, verify.
	const fullVerify = () => verifyNotificationBody(body, publicKey);
	if (
		!fullVerify().ok ||
		!checkNotification(body, { publicKey, appId: 'mch35000' }).ok ||
		!bareVerify()
	)
		throw new Error('verification benchmark is not verifying');
	const verify = interleavedRatio(fullVerify, bareVerify, { calls: 200, rounds: quick ? 21 : 151 });
	note('verify_overhead_ratio', verify.ratio, '×', '≤ 1.5');
	note('verify_notification_us', verify.aMicros, 'µs');
	note('bare_verify_us', verify.bMicros, 'µs');
	// The floor for any "parse + canonical string + verify": JSON.parse, a plain key=value
	// join over keys known in advance, the same verify, and none of our checks (size, shape,
	// nulls, nesting, key order, signature length). What JSON.parse alone costs next to a
	// 512-bit RSA check decides this figure; ours is compared with it in the same run.
	const knownKeys = Object.keys(data).sort();
	const floorVerify = () => {
		const envelope = JSON.parse(body) as { data: Record<string, unknown>; sign: string };
		let canonical = '';
		for (const key of knownKeys) canonical += `${key}=${String(envelope.data[key])}`;
		return createVerify('RSA-MD5')
			.update(canonical, 'utf8')
			.verify(publicKey, Buffer.from(envelope.sign, 'hex'));
	};
	if (!floorVerify()) throw new Error('the verification floor is not verifying');
	note(
		'verify_floor_ratio',
		interleavedRatio(floorVerify, bareVerify, { calls: 200, rounds: quick ? 21 : 151 }).ratio,
		'×',
		'(parse + join + verify, no checks)',
	);
	// The same verification with a key the size of Ksher's V2 key (2048-bit).
	const v2 = generateKeyPairSync('rsa', { modulusLength: 2048 });
	const v2Body = JSON.stringify({
		code: 0,
		msg: '操作成功',
		data,
		sign: signCanonical(dataCanonical, v2.privateKey),
		message: '操作成功',
	});
	const v2Key = parsePublicKey(v2.publicKey.export({ type: 'spki', format: 'pem' }).toString());
	const v2Signature = Buffer.from(JSON.parse(v2Body).sign as string, 'hex');
	if (!verifyNotificationBody(v2Body, v2Key).ok)
		throw new Error('the 2048-bit verification benchmark is not verifying');
	const v2Ratio = interleavedRatio(
		() => verifyNotificationBody(v2Body, v2Key),
		() => createVerify('RSA-MD5').update(dataCanonical, 'utf8').verify(v2Key, v2Signature),
		{ calls: 100, rounds: quick ? 21 : 101 },
	);
	note('verify_overhead_ratio_2048', v2Ratio.ratio, '×', '(a V2-sized key)');
	const pemVerify = () =>
		createVerify('RSA-MD5')
			.update(dataCanonical, 'utf8')
			.verify(createPublicKey(ksher.publicKey.export({ type: 'spki', format: 'pem' })), signature);
	note(
		'verify_pem_each_call_us',
		interleavedRatio(pemVerify, bareVerify, { calls: 50, rounds: quick ? 11 : 41 }).aMicros,
		'µs',
	);
}

async function main() {
	if (part('crypto')) cryptoFigures();
	if (part('client')) await (await import('./client')).clientFigures(note, progress, quick);
	if (part('node')) await (await import('./node')).nodeFigures(note, progress, quick);
	if (part('refund')) await (await import('./node')).refundFigures(note, progress, quick);
	if (part('watch')) await (await import('./node')).watchFigures(note, progress, quick);
	if (part('settlement'))
		await (await import('./settlement')).settlementFigures(note, progress, quick);
	if (part('trigger')) await (await import('./trigger')).triggerFigures(note, progress, quick);
	if (part('engine')) await (await import('./engine')).engineFigures(note, progress, quick);
	if (part('queue')) await (await import('./queue')).queueFigures(note, progress, quick);

	const width = Math.max(...rows.map((r) => r[0].length));
	process.stdout.write(
		`\nn8n-nodes-ksher benchmark (Node ${process.version}, medians over repeated rounds after a warm-up)\n\n`,
	);
	process.stdout.write(`${'figure'.padEnd(width)}  ${'value'.padStart(14)}  goal\n`);
	for (const [name, value, goal] of rows)
		process.stdout.write(`${name.padEnd(width)}  ${value.padStart(14)}  ${goal}\n`);
	if (json) process.stdout.write(`${JSON.stringify(figures)}\n`);
}

main().then(
	() => process.exit(0),
	(error: Error) => {
		process.stderr.write(`${error.stack ?? error.message}\n`);
		process.exit(1);
	},
);
