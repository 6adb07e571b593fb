import { generateKeyPairSync } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';

import { n8nLog } from '../helpers/n8n';
import { runNode, simulatorCredentials } from '../helpers/node';
import { uniqueOrderNo } from '../helpers/simulator';
import { signedPaid, triggerSuite } from '../helpers/trigger';

/**
 * Every message the README's Troubleshooting quotes from this package is one it prints: each quote
 * is matched against what a real run gives (the node against the simulator over HTTP, the trigger
 * with n8n's webhook semantics). A quote with no run here fails the test: add its run, or fix it.
 */
const README = readFileSync(join(__dirname, '../../README.md'), 'utf8');
const troubleshooting = README.slice(
	README.indexOf('## Troubleshooting'),
	README.indexOf('\n## ', README.indexOf('## Troubleshooting') + 5),
);
/** `- **"quoted message"**` bullets; n8n's own messages are quoted without a bullet of their own. */
const QUOTES = [...troubleshooting.matchAll(/^- \*\*"([^"]+)"/gm)].map((m) => m[1]);

/** A quote as a pattern: "…" stands for what varies, "a / b / c" for one of the words, "row N" for a row's number. */
function pattern(quote: string): RegExp {
	const escaped = quote
		.split('…')
		.map((part) =>
			part
				.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
				.replace(/(\w+)((?: \/ \w+)+)/g, (all: string) => `(?:${all.split(' / ').join('|')})`),
		)
		.join('.+?')
		.replace(/\brow N\b/g, 'row \\d+');
	return new RegExp(escaped);
}

const suite = triggerSuite();
const h = () => suite.h;
const paid = async () => {
	const { orderNo } = await h().createOrder();
	await h().payOrder(orderNo);
	return orderNo;
};
const otherKey = () =>
	generateKeyPairSync('rsa', { modulusLength: 1024 })
		.privateKey.export({ type: 'pkcs1', format: 'pem' })
		.toString();
const otherPublicKey = () =>
	generateKeyPairSync('rsa', { modulusLength: 512 })
		.publicKey.export({ type: 'spki', format: 'pem' })
		.toString();
const errorOf = async (run: Promise<{ error?: Error; items: Array<Record<string, unknown>> }>) => {
	const result = await run;
	return String(result.error?.message ?? result.items.map((i) => i.error).join(' | '));
};

/** A payment lookup with the credential changed as given: its error. */
const lookUpWith = async (credential: Record<string, string>) =>
	errorOf(
		runNode(
			h(),
			{ resource: 'payment', operation: 'get', orderNumber: await paid() },
			{ credentials: simulatorCredentials(h(), credential) },
		),
	);
/** A sheet's rows through Refund → Create as the sheet example maps them: their errors. */
const sheetOf = async (rows: Array<Record<string, string>>) =>
	errorOf(
		runNode(
			h(),
			{
				resource: 'refund',
				operation: 'create',
				orderNumber: '={{ $json.orderNumber }}',
				whatToRefund: 'amount',
				refundAmount: '={{ $json.amount }}',
			},
			{ rows, continueOnFail: true },
		),
	);

/** What the package prints, by the situation the README describes. */
const SITUATIONS: Array<[string, () => Promise<string>]> = [
	['a private key that is not the latest one', () => lookUpWith({ privateKey: otherKey() })],
	[
		"an answer that does not verify with Ksher's key",
		() => lookUpWith({ ksherPublicKey: otherPublicKey() }),
	],
	[
		'a notification without a time the replay window can use',
		async () => {
			const t = await suite.trigger({ typeVersion: 2 });
			const orderNo = uniqueOrderNo('RQ');
			const { body } = signedPaid(
				h().sim,
				{
					mch_order_no: orderNo,
					ksher_order_no: '70020261201000001',
					pay_mch_order_no: '2612010001',
					total_fee: 15050,
					time_end: '',
				},
				{ nonce_str: 'q'.padEnd(32, '0') },
			);
			const answer = await t.post(body);
			expect(answer.status).toBe(422);
			return n8nLog.filter((line) => line.includes(orderNo)).join('\n');
		},
	],
	['a blank amount cell', async () => sheetOf([{ orderNumber: await paid(), amount: '' }])],
	[
		"a blank cell that n8n's CSV step left out of its row",
		async () => sheetOf([{ orderNumber: await paid() }]),
	],
	[
		'a sheet with a row that fails the check',
		async () =>
			sheetOf([
				{ orderNumber: await paid(), amount: '10.00' },
				{ orderNumber: await paid(), amount: 'ten' },
			]),
	],
	[
		'a refund Ksher neither confirms nor denies',
		async () => {
			const orderNo = await paid();
			await h().control('/faults', { type: 'http500', endpoint: 'order_refund', stage: 'before' });
			await h().control('/faults', { type: 'http500', endpoint: 'refund_query' });
			try {
				return await errorOf(
					runNode(
						h(),
						{
							resource: 'refund',
							operation: 'create',
							orderNumber: orderNo,
							whatToRefund: 'amount',
							refundAmount: '15.00',
							checkAllRowsFirst: false,
						},
						{ continueOnFail: true },
					),
				);
			} finally {
				await h().control('/reset', {});
			}
		},
	],
];

describe("the README's quoted messages are the package's", () => {
	const printed: string[] = [];
	beforeAll(async () => {
		for (const [, produce] of SITUATIONS) printed.push(await produce());
	});

	it('the README quotes messages (the test reads them)', () => {
		expect(QUOTES.length).toBeGreaterThanOrEqual(5);
	});

	it.each(QUOTES)('"%s" is what a real run prints', (quote) => {
		const found = printed.filter((text) => pattern(quote).test(text));
		expect({ quote, found: found.length > 0 ? 'printed' : printed }).toEqual({
			quote,
			found: 'printed',
		});
	});
});
