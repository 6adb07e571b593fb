import type { IDataObject } from 'n8n-workflow';

import { runNode, simulatorCredentials } from '../helpers/node';
import { startHarness, type SimulatorHarness } from '../helpers/simulator';
import { recordFigure } from './figures';
import { guardUnhandledRejections } from './guard';

/**
 * Bad input with a clear error: 100 %. Random and hand-picked values for every field
 * people type go through the Ksher node (Continue On Fail, one item per case). Each item
 * must either be sent exactly as documented (checked in what the simulator received) or
 * be refused before any request with an error naming the field.
 */
guardUnhandledRejections('fuzz');

let h: SimulatorHarness;
beforeAll(async () => {
	h = await startHarness();
});
afterAll(() => h.sim.close());

// A small seeded generator, so a failure can be reproduced.
let seed = 20261127;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)];
const int = (n: number) => Math.floor(rand() * n);
const CHARS = [
	'0',
	'1',
	'5',
	'9',
	'.',
	',',
	'-',
	'+',
	' ',
	'e',
	'E',
	'x',
	'١',
	'５',
	'\u00a0',
	'_',
	"'",
	'$',
	'฿',
];

function randomAmount(): unknown {
	const kind = int(6);
	if (kind === 0) return Array.from({ length: 1 + int(8) }, () => pick(CHARS)).join('');
	if (kind === 1) return `${int(100000)}.${String(int(1000)).padStart(int(4), '0')}`;
	if (kind === 2) return Math.round(rand() * 1e7) / 100;
	if (kind === 3) return rand() * 1000;
	if (kind === 4)
		return pick([
			'',
			' ',
			'0',
			'0.00',
			'-1',
			'1e3',
			'1,000.00',
			'NaN',
			'Infinity',
			'99999999999999999',
			'0.001',
			'12.3',
			' 7 ',
			'+5',
			'.5',
			'5.',
			'0x10',
			'１２',
			'10.000',
			'90071992547409.91',
			'90071992547409.92',
		]);
	return String(int(1000000));
}

/** The documented rule, written again independently: plain decimal text, at most the currency's decimals, > 0. */
function expectedMinor(amount: unknown, currency: string): number | undefined {
	const text =
		typeof amount === 'number' ? String(amount) : typeof amount === 'string' ? amount.trim() : '';
	const m = /^(\d+)(?:\.(\d+))?$/.exec(text);
	if (!m) return undefined;
	const decimals = currency === 'JPY' ? 0 : 2;
	const fraction = (m[2] ?? '').replace(/0+$/, '');
	if (fraction.length > decimals) return undefined;
	const minor = BigInt(m[1] + fraction.padEnd(decimals, '0'));
	if (minor <= BigInt(0) || minor > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
	return Number(minor);
}

const URLS = [
	'https://shop.example/ok',
	'http://127.0.0.1:8080/x?y=1&z=2',
	'shop.example/ok',
	'https://',
	'ftp://x.example',
	'javascript:alert(1)',
	'https://shop example/ok',
	'https://ร้าน.example/ขอบคุณ',
	' https://shop.example/pad ',
	'https://shop.example/%E0%B8%81',
	'mailto:a@b.c',
	'//shop.example/x',
	'https://a.example/' + 'p'.repeat(300),
];
const CHANNELS = [
	'promptpay',
	'card',
	'truemoney',
	'atome',
	'kplus',
	'ktc_instal',
	'PromptPay',
	'bitcoin',
	'',
	' card ',
	'alipayplus',
];
/** Order numbers of many shapes, each unique to its case so that requests can be told apart. */
const orderNumber = (i: number) =>
	pick([
		`F${i}-${int(1e9)}`,
		`F${i} ${int(99)}`,
		`F${i}-`.padEnd(32, 'x'),
		`F${i}-`.padEnd(33, 'x'),
		'',
		`ใบสั่งซื้อ${i}`,
		`F${i}-${int(1e6)}\n`,
		`F${i}-${int(1e6)}/#?&=`,
		`F\u200b${i}`,
		`${i}${int(1e9)}`,
	]);
const MEMBER_IDS = ['', 'cust-1', '123456', 'm'.repeat(33), 'ลูกค้า1', ' cust-2 ', '0'];

/** One field fuzzed at a time (the others valid), so that each field's handling is what is tested. */
function fuzzCase(i: number): IDataObject {
	const valid: IDataObject = {
		orderNumber: `F${i}-${int(1e9)}`,
		amount: String(100 + int(5000)),
		currency: 'THB',
		channels: ['promptpay', 'card'],
		success: 'https://shop.example/ok',
		notify: '',
		memberId: '',
	};
	const field = pick([
		'orderNumber',
		'amount',
		'amount',
		'amount',
		'currency',
		'channels',
		'success',
		'notify',
		'memberId',
		'none',
	]);
	const fuzzed: IDataObject = {
		orderNumber: orderNumber(i),
		amount: randomAmount() as IDataObject[string],
		currency: pick(['THB', 'thb', 'USD', 'JPY', 'EUR', '', ' myr ', 'BAHT', 'AED', 'cny']),
		channels: Array.from({ length: int(3) + (rand() < 0.9 ? 1 : 0) }, () => pick(CHANNELS)),
		success: pick(URLS),
		notify: pick(URLS),
		memberId: pick(MEMBER_IDS),
	};
	if (field === 'channels') valid.amount = String(3000 + int(5000));
	return field === 'none' ? valid : { ...valid, [field]: fuzzed[field] };
}

it('every fuzzed Create Payment input is sent exactly as documented or refused naming the field', async () => {
	const cases = Array.from({ length: 400 }, (_, i) => fuzzCase(i));
	const result = await runNode(
		h,
		{
			resource: 'payment',
			operation: 'create',
			orderNumber: '={{ $json.orderNumber }}',
			amount: '={{ $json.amount }}',
			currency: '={{ $json.currency }}',
			productName: 'Fuzz',
			channels: '={{ $json.channels }}',
			successRedirectUrl: '={{ $json.success }}',
			notifyUrl: '={{ $json.notify }}',
			additionalFields: { memberId: '={{ $json.memberId }}' },
			options: { concurrency: 8 },
		},
		{ rows: cases, continueOnFail: true },
	);
	expect(result.status).toBe('success');
	expect(result.items).toHaveLength(cases.length);
	const fields = [
		'Order Number',
		'Amount',
		'Currency',
		'Channels',
		'Success Redirect URL',
		'Notify URL',
		'Member ID',
	];
	const unclear: string[] = [];
	let accepted = 0;
	result.items.forEach((item, i) => {
		const c = cases[i];
		const sent = h.sim.requests.find(
			(r) => r.endpoint === 'gateway_pay' && r.params.mch_order_no === String(c.orderNumber).trim(),
		);
		if (item.error) {
			if (!fields.includes(String(item.field)))
				unclear.push(`case ${i} ${JSON.stringify(c)}: ${item.error} (no field)`);
			else if (!String(item.error).includes(String(item.field)))
				unclear.push(`case ${i}: message does not name ${item.field}`);
			if (sent) unclear.push(`case ${i}: refused but a request was sent`);
			return;
		}
		accepted++;
		const currency = String(c.currency).trim().toUpperCase();
		const minor = expectedMinor(c.amount, currency);
		const channels = [
			...new Set((c.channels as string[]).map((x) => x.trim().toLowerCase()).filter(Boolean)),
		];
		const problems = [
			!sent && 'nothing was sent',
			sent &&
				sent.params.total_fee !== String(minor) &&
				`total_fee ${sent.params.total_fee} for ${JSON.stringify(c.amount)} (expected ${minor})`,
			sent && sent.params.fee_type !== currency && `fee_type ${sent.params.fee_type}`,
			sent &&
				sent.params.channel_list !== channels.join(',') &&
				`channel_list ${sent.params.channel_list}`,
			sent &&
				!/^https?:\/\/[\x21-\x7e]+$/.test(sent.params.mch_redirect_url) &&
				`redirect ${sent.params.mch_redirect_url}`,
			sent &&
				String(c.memberId).trim() !== (sent.params.member_id ?? '') &&
				`member_id ${sent.params.member_id}`,
			item.amount !== undefined &&
				minor !== undefined &&
				item.amount !== (currency === 'JPY' ? String(minor) : (minor / 100).toFixed(2)) &&
				`output amount ${item.amount}`,
		].filter(Boolean);
		if (problems.length) unclear.push(`case ${i} ${JSON.stringify(c)}: ${problems.join('; ')}`);
	});
	const clear = cases.length - unclear.length;
	recordFigure(
		'Bad input with a clear error',
		Math.round((100 * clear) / cases.length),
		`% of ${cases.length} fuzzed Create Payment items (${accepted} accepted and sent as documented, ${cases.length - accepted} refused naming the field)`,
	);
	expect(unclear).toEqual([]);
	expect(accepted).toBeGreaterThan(10);
	expect(cases.length - accepted).toBeGreaterThan(100);
});

it('fuzzed refund amounts and refund numbers are refused naming the field, before any refund', async () => {
	const { orderNo } = await h.createOrder({ total_fee: 100000 });
	await h.payOrder(orderNo);
	const rows = Array.from({ length: 120 }, () => ({
		amount: randomAmount(),
		ref: pick(['', 'R-1', 'x'.repeat(33), 'R 2', 'ร1', `R-${int(1e6)}`]),
	})) as IDataObject[];
	const before = h.sim.order(orderNo)!.refunds.length;
	// Row by row, so that every fuzzed row that passes reaches Ksher (checked first, one bad row keeps them all back).
	const result = await runNode(
		h,
		{
			resource: 'refund',
			operation: 'create',
			orderNumber: orderNo,
			refundAmount: '={{ $json.amount }}',
			refundNumber: '={{ $json.ref }}',
			checkAllRowsFirst: false,
			options: { concurrency: 1 },
		},
		{ rows, continueOnFail: true },
	);
	const unclear = result.items.filter(
		(item) =>
			item.error &&
			!['Refund Amount', 'Refund Number', 'Order Number'].includes(String(item.field)),
	);
	expect(unclear).toEqual([]);
	const refunded = h.sim.order(orderNo)!.refunds;
	expect(refunded.reduce((s, r) => s + r.refund_fee, 0)).toBeLessThanOrEqual(100000);
	expect(refunded.length - before).toBe(
		result.items.filter((i) => !i.error && i.alreadyRefunded === false).length,
	);
});

it('fuzzed credential fields are refused naming the credential field, before any request', async () => {
	const good = simulatorCredentials(h);
	const variants: IDataObject[] = [
		{ appId: '' },
		{ appId: '35005' },
		{ appId: 'MCH35005 ' },
		{ appId: 'mch 1' },
		{ appId: 'mch' + 'x'.repeat(40) },
		{ privateKey: '' },
		{ privateKey: 'hello' },
		{ privateKey: String(good.ksherPublicKey) },
		{ privateKey: String(good.privateKey).slice(0, 200) },
		{ ksherPublicKey: 'not a key' },
		{ ksherPublicKey: String(good.privateKey) },
		{ gatewayUrl: '' },
		{ gatewayUrl: 'gateway.ksher.com/api' },
		{ apiUrl: 'ftp://x' },
	];
	const before = h.sim.requests.length;
	for (const variant of variants) {
		const result = await runNode(
			h,
			{ resource: 'payment', operation: 'get', orderNumber: 'X-1' },
			{ credentials: { ...good, ...variant }, continueOnFail: true },
		);
		expect(result.items[0]).toMatchObject({
			field: expect.stringMatching(
				/^(App ID|Private Key|Ksher Public Key|Gateway Base URL|API Base URL)$/,
			),
			error: expect.any(String),
			solution: expect.any(String),
		});
	}
	expect(h.sim.requests.length).toBe(before);
});
