import { createPrivateKey } from 'crypto';

import {
	canonicalString,
	checkDate,
	dateInZone,
	KsherClient,
	listSettlements,
	settlementRanges,
	signCanonical,
	signedMajor,
	signedFields,
} from '../../nodes/protocol';
import { makeKeyPair, sharedKeyPair } from '../helpers/keys';
import { startScriptedServer, type ScriptedServer } from '../helpers/scriptedServer';

describe('settlement ranges, dates and amounts', () => {
	it('a 90-day range is cut into pieces of at most 31 days that cover it once, in order', () => {
		const ranges = settlementRanges('2026-01-01', '2026-03-31');
		expect(ranges).toEqual([
			{ begin: '2026-01-01', end: '2026-01-31' },
			{ begin: '2026-02-01', end: '2026-03-03' },
			{ begin: '2026-03-04', end: '2026-03-31' },
		]);
		expect(settlementRanges('2026-11-30', '2026-11-30')).toEqual([
			{ begin: '2026-11-30', end: '2026-11-30' },
		]);
		// Across a leap day and a year end, each day exactly once.
		const days = settlementRanges('2027-12-20', '2028-03-05', 7).flatMap(({ begin, end }) => {
			const out: string[] = [];
			for (
				let t = Date.parse(`${begin}T00:00:00Z`);
				t <= Date.parse(`${end}T00:00:00Z`);
				t += 86_400_000
			)
				out.push(new Date(t).toISOString().slice(0, 10));
			return out;
		});
		expect(days).toHaveLength(77);
		expect(new Set(days).size).toBe(77);
		expect(days).toContain('2028-02-29');
	});

	it("yesterday in the merchant's time zone, as merchant_info gives it or by name", () => {
		const now = new Date('2026-12-01T18:30:00Z'); // 01:30 on 2 December in Bangkok
		expect(dateInZone('+07:00', now, 1)).toBe('2026-12-01');
		expect(dateInZone('Asia/Bangkok', now, 1)).toBe('2026-12-01');
		expect(dateInZone('+00:00', now, 1)).toBe('2026-11-30');
		expect(dateInZone('-05:00', now, 0)).toBe('2026-12-01');
	});

	it('dates are calendar dates', () => {
		expect(checkDate('2026-11-30')).toBe('2026-11-30');
		expect(checkDate('2026-02-30')).toBeUndefined();
		expect(checkDate('30/11/2026')).toBeUndefined();
	});

	it('negative amounts stay negative, exactly', () => {
		expect(signedMajor(-2939, 'THB')).toBe('-29.39');
		expect(signedMajor(-4, 'THB')).toBe('-0.04');
		expect(signedMajor(0, 'THB')).toBe('0.00');
		expect(signedMajor(123456789, 'THB')).toBe('1234567.89');
		expect(signedMajor(-5, 'JPY')).toBe('-5');
	});
});

describe('listSettlements against answers scripted byte by byte', () => {
	const ksher = makeKeyPair(1024);
	const ksherPrivate = createPrivateKey(ksher.privatePem);
	let server: ScriptedServer;
	let client: KsherClient;
	beforeAll(async () => {
		server = await startScriptedServer();
		client = new KsherClient({
			appId: 'mch35005',
			privateKey: sharedKeyPair(1024).privatePem,
			ksherPublicKey: ksher.publicPem,
			apiUrl: `${server.url}/KsherPay`,
			gatewayUrl: `${server.url}/api`,
			timeoutMs: 1000,
		});
	});
	afterAll(() => server.close());

	/** Ksher's shape (R15): only begin_date, end_date and nonce_str are signed. */
	const answer = (data: Record<string, unknown>) =>
		JSON.stringify({
			code: 0,
			msg: 'ok',
			status_code: '',
			status_msg: '',
			data,
			sign: signCanonical(canonicalString(signedFields(data, 'get_settlement_info')), ksherPrivate),
			time_stamp: '',
			version: '3.0.0',
		});
	/** Answers every call with its own range and nonce echoed, then `data` over them. */
	const answerEcho = (data: Record<string, unknown>) =>
		server.handle((_req, body, res) => {
			const sent = Object.fromEntries(new URLSearchParams(body));
			res.writeHead(200).end(
				answer({
					begin_date: sent.begin_date,
					end_date: sent.end_date,
					nonce_str: sent.nonce_str,
					...data,
				}),
			);
		});
	const line = {
		begin_date: '2020-08-20',
		end_date: '2020-08-20',
		settlement_date: '2020-08-21',
		transfer_date: '',
		pay_channel: 'wechat',
		settlement_amount: -2939,
		commission_fee: -57,
		vat: -4,
		transfer_amount: 0,
	};

	it("reads R15's shape, negative lines kept, with mch_appid and appid both sent", async () => {
		answerEcho({ settlement_data: [line] });
		const { lines, calls } = await listSettlements(client, {
			from: '2020-08-20',
			to: '2020-08-20',
		});
		expect(calls).toBe(1);
		expect(lines).toEqual([line]);
		const sent = Object.fromEntries(new URLSearchParams(server.requests.at(-1)!.body));
		expect(sent).toMatchObject({
			appid: 'mch35005',
			mch_appid: 'mch35005',
			begin_date: '2020-08-20',
			end_date: '2020-08-20',
		});
		expect(server.requests.at(-1)!.url).toBe('/KsherPay/get_settlement_info');
	});

	it('a genuine, correctly signed answer for another range (a replay) is refused', async () => {
		answerEcho({ begin_date: '2020-08-01', settlement_data: [line] });
		await expect(listSettlements(client, { from: '2020-08-20', to: '2020-08-20' })).rejects.toThrow(
			/is for 2020-08-01\.\.2020-08-20, not the 2020-08-20\.\.2020-08-20 asked for/,
		);
	});

	it('a tampered range or nonce fails the signature or the nonce check; changed lines are not covered (and said so)', async () => {
		server.handle((_req, body, res) => {
			const sent = Object.fromEntries(new URLSearchParams(body));
			const signed = JSON.parse(
				answer({
					begin_date: sent.begin_date,
					end_date: sent.end_date,
					nonce_str: sent.nonce_str,
					settlement_data: [line],
				}),
			) as { data: Record<string, unknown> };
			signed.data.begin_date = '2020-08-19';
			res.writeHead(200).end(JSON.stringify(signed));
		});
		await expect(listSettlements(client, { from: '2020-08-20', to: '2020-08-20' })).rejects.toThrow(
			/response signature invalid/,
		);
		answerEcho({ nonce_str: 'f'.repeat(32), settlement_data: [] });
		await expect(listSettlements(client, { from: '2020-08-20', to: '2020-08-20' })).rejects.toThrow(
			/nonce mismatch/,
		);
	});

	it('a line whose money is not a whole number refuses the whole answer (never a guessed amount)', async () => {
		answerEcho({ settlement_data: [{ ...line, vat: -3.99 }] });
		await expect(listSettlements(client, { from: '2020-08-20', to: '2020-08-20' })).rejects.toThrow(
			/vat is not a whole number \(-3\.99\)/,
		);
	});
});
