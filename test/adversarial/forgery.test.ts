import { createSign, generateKeyPairSync } from 'crypto';
import { isDeepStrictEqual } from 'util';

import { canonicalString } from '../../nodes/protocol';
import { payFreshOrder, triggerSuite, type TriggerServer } from '../helpers/trigger';
import { recordFigure } from './figures';
import { guardUnhandledRejections } from './guard';
import { KSHER_ACK as ACK } from '../simulator/notifications';

/**
 * Forged notifications accepted: 0. Thousands of variants of genuine notifications are
 * posted to the trigger; each must be refused without a run, except the variants that
 * are provably the same signed content (each such class says why).
 */
guardUnhandledRejections('forgery');

// The simulator's defaults (real time scale), as this figure has always been measured.
const suite = triggerSuite({});
let trigger: TriggerServer;
const genuine: Array<{ data: Record<string, unknown>; sign: string; body: string }> = [];

beforeAll(async () => {
	trigger = await suite.trigger({ parameters: { events: ['any'] } });
	for (let i = 0; i < 4; i++) {
		const { data, body } = await payFreshOrder(suite.h, {
			create: {
				attach: JSON.stringify({ note: `ร้านค้า café ${i}`, email: `buyer${i}@example.com` }),
			},
			channel: i % 2 ? 'card' : 'promptpay',
			fields: (order) => ({
				attach: order.params.attach,
				channel: order.channel,
				channel_order_no: `4200${order.pay_mch_order_no}`,
			}),
		});
		genuine.push({ data, sign: JSON.parse(body).sign, body });
	}
});

type Variant = { name: string; body: string; same?: string };
const envelopeOf = (
	data: Record<string, unknown>,
	sign: unknown,
	extra: Record<string, unknown> = {},
) => JSON.stringify({ code: 0, msg: '操作成功', data, sign, message: '操作成功', ...extra });
const LOOKALIKE: Record<string, string> = {
	a: 'а',
	e: 'е',
	o: 'о',
	p: 'р',
	c: 'с',
	x: 'х',
	i: 'і',
	y: 'у',
	T: 'Т',
	H: 'Н',
	B: 'В',
	M: 'М',
};

function variantsOf(g: (typeof genuine)[number], other: (typeof genuine)[number]): Variant[] {
	const out: Variant[] = [];
	const { data, sign } = g;
	const keys = Object.keys(data);
	for (const key of keys) {
		const value = data[key];
		const text = String(value);
		for (let i = 0; i < text.length; i++) {
			const swapped = /\d/.test(text[i])
				? String((Number(text[i]) + 1) % 10)
				: text[i] === 'x'
					? 'y'
					: 'x';
			const changed = text.slice(0, i) + swapped + text.slice(i + 1);
			out.push({
				name: `char ${i} of ${key}`,
				body: envelopeOf(
					{ ...data, [key]: typeof value === 'number' ? Number(changed) : changed },
					sign,
				),
			});
		}
		out.push({
			name: `appended to ${key}`,
			body: envelopeOf({ ...data, [key]: `${text} ` }, sign),
		});
		const { [key]: _removed, ...without } = data;
		out.push({ name: `removed ${key}`, body: envelopeOf(without, sign) });
		out.push({
			name: `renamed ${key}`,
			body: envelopeOf({ ...without, [`${key}_`]: value }, sign),
		});
		for (const other of keys) {
			if (other !== key && data[other] !== value)
				out.push({
					name: `swapped ${key} and ${other}`,
					body: envelopeOf({ ...data, [key]: data[other], [other]: value }, sign),
				});
		}
		if (typeof value === 'string') {
			const looks = [...value].map((c) => LOOKALIKE[c] ?? c).join('');
			if (looks !== value)
				out.push({
					name: `look-alike letters in ${key}`,
					body: envelopeOf({ ...data, [key]: looks }, sign),
				});
			if (value.normalize('NFD') !== value)
				out.push({
					name: `NFD form of ${key}`,
					body: envelopeOf({ ...data, [key]: value.normalize('NFD') }, sign),
				});
			if (/^\d+(\.\d+)?$/.test(value)) {
				const same =
					String(Number(value)) === value
						? 'a digit string that reads back as the same number renders the same decimal text in the canonical string'
						: undefined;
				out.push({
					name: `${key} as a JSON number`,
					body: envelopeOf({ ...data, [key]: Number(value) }, sign),
					same,
				});
			}
		}
		if (typeof value === 'number') {
			out.push({
				name: `${key} as a string`,
				body: envelopeOf({ ...data, [key]: String(value) }, sign),
				same: 'the canonical string renders integers in decimal, so 15050 and "15050" sign the same bytes',
			});
			out.push({
				name: `${key} as a float`,
				body: envelopeOf({ ...data, [key]: value + 0.5 }, sign),
			});
		}
		out.push({ name: `${key} as null`, body: envelopeOf({ ...data, [key]: null }, sign) });
		out.push({
			name: `${key} as an object`,
			body: envelopeOf({ ...data, [key]: { value } }, sign),
		});
	}
	// Ksher's canonical string has no separators: folding a field into the one before it
	// ("mch_order_no=INV-1" + "nonce_str=abc" → mch_order_no "INV-1nonce_str=abc") or
	// splitting one at a "name=" keeps the signed bytes, and so the signature, while the data
	// changes (a new order number, a missing field). Each variant below is checked to sign
	// the very same bytes, so only the trigger's own rule can refuse it.
	const ordered = Object.keys(data).sort();
	const canonical = canonicalString(data);
	const reshaped = (name: string, shaped: Record<string, unknown>) => {
		expect({ name, canonical: canonicalString(shaped) }).toEqual({ name, canonical });
		out.push({ name, body: envelopeOf(shaped, sign) });
	};
	for (let i = 0; i + 1 < ordered.length; i++) {
		const [key, next] = [ordered[i], ordered[i + 1]];
		const { [next]: _folded, ...rest } = data;
		reshaped(`${next} folded into ${key}`, {
			...rest,
			[key]: `${String(data[key])}${next}=${String(data[next])}`,
		});
		if (i + 2 < ordered.length) {
			const after = ordered[i + 2];
			const { [next]: _a, [after]: _b, ...fewer } = data;
			reshaped(`${next} and ${after} folded into ${key}`, {
				...fewer,
				[key]: `${String(data[key])}${next}=${String(data[next])}${after}=${String(data[after])}`,
			});
		}
		// The same fold written as a key that holds "=": {"mch_order_no=INV-1nonce_str": "abc"}.
		const { [key]: _k, [next]: _n, ...others } = data;
		reshaped(`${key} and ${next} as one key holding "="`, {
			...others,
			[`${key}=${String(data[key])}${next}`]: String(data[next]),
		});
	}
	for (const [name, extra] of [
		['added field', { extra: 'x' }],
		['added empty field', { extra: '' }],
		['added null field', { extra: null }],
		['added sign inside data', { sign }],
		['added refund number', { mch_refund_no: 'R1' }],
		['result REFUND', { result: 'REFUND' }],
		['other merchant', { appid: 'mch99999' }],
	] as const)
		out.push({ name, body: envelopeOf({ ...data, ...extra }, sign) });
	out.push({
		name: 'data __proto__ key',
		body: envelopeOf(data, sign).replace('"data":{', '"data":{"__proto__":{"polluted":true},'),
	});
	out.push({
		name: 'data constructor key',
		body: envelopeOf(data, sign).replace('"data":{', '"data":{"constructor":"x",'),
	});
	out.push({
		name: 'duplicate key, forged value last',
		body: envelopeOf(data, sign)
			.replace('"total_fee":', '"total_fee":1,"total_fee":')
			.replace(/"total_fee":1,"total_fee":(\d+)}/, '"total_fee":$1,"total_fee":1}'),
	});
	out.push({
		name: 'duplicate key, genuine value last',
		body: envelopeOf(data, sign).replace('"appid":', '"total_fee":1,"appid":'),
		same: 'JSON.parse keeps the last of duplicate keys, which is the signed value, and the item is built from what was parsed',
	});
	out.push({
		name: 'envelope __proto__ and extra keys',
		body: envelopeOf(data, sign, { __proto__: { admin: true }, status_code: 'x', code: 0 }),
		same: 'only data and sign are signed; envelope fields are never used',
	});
	out.push({
		name: 'deeply nested data',
		body: envelopeOf(data, sign).replace(
			'"data":{',
			`"data":{"deep":${'['.repeat(5000)}${']'.repeat(5000)},`,
		),
	});
	out.push({ name: 'huge body', body: envelopeOf({ ...data, pad: 'x'.repeat(70_000) }, sign) });
	out.push({
		name: 'large but allowed body',
		body: envelopeOf({ ...data, pad: 'x'.repeat(50_000) }, sign),
	});
	out.push({
		name: 'code 1 with genuine data',
		body: envelopeOf(data, sign, { code: 1 }),
		same: 'code is outside what Ksher signs; a verified notification with a non-zero code is acknowledged as an "other" event, never as a payment',
	});
	// The signature itself.
	const s = String(sign);
	out.push({
		name: 'signature upper-cased',
		body: envelopeOf(data, s.toUpperCase()),
		same: "hex is case-insensitive: the same signature bytes (Ksher's .NET SDK sends upper case)",
	});
	for (const [name, bad] of [
		['signature truncated by one byte', s.slice(0, -2)],
		['signature truncated by one character', s.slice(0, -1)],
		['signature extended', `${s}00`],
		['signature with a non-hex tail', `${s.slice(0, -1)}g`],
		['signature with a non-hex character inside', `${s.slice(0, 40)}x${s.slice(41)}`],
		['signature with a space inside', `${s.slice(0, 40)} ${s.slice(41)}`],
		['signature of another genuine notification', other.sign],
		['empty signature', ''],
		['signature as a number', 12345],
		['signature as an array', [s]],
		['signature base64 instead of hex', Buffer.from(s, 'hex').toString('base64')],
	] as const)
		out.push({ name, body: envelopeOf(data, bad) });
	const otherKey = generateKeyPairSync('rsa', { modulusLength: 1024 });
	const signWith = (key: typeof otherKey.privateKey, algorithm = 'RSA-MD5') =>
		createSign(algorithm).update(canonicalString(data), 'utf8').sign(key, 'hex');
	out.push({
		name: 'signed by another key',
		body: envelopeOf(data, signWith(otherKey.privateKey)),
	});
	out.push({
		name: 'signed by another key version (as if V2 while V1 is configured)',
		body: envelopeOf(
			data,
			signWith(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey),
		),
	});
	out.push({ name: 'unsigned', body: JSON.stringify({ code: 0, msg: 'x', data }) });
	out.push({
		name: 'not JSON',
		body: `data=${encodeURIComponent(JSON.stringify(data))}&sign=${s}`,
	});
	out.push({ name: 'JSON array', body: JSON.stringify([{ code: 0, data, sign }]) });
	out.push({
		name: 'data as a string',
		body: JSON.stringify({ code: 0, data: JSON.stringify(data), sign }),
	});
	return out;
}

describe('Forged notifications accepted: 0', () => {
	it('rejects every variant that is not provably the same signed content, without a run', async () => {
		const variants = genuine.flatMap((g, i) => variantsOf(g, genuine[(i + 1) % genuine.length]));
		expect(variants.length).toBeGreaterThanOrEqual(2000);
		const accepted: string[] = [];
		let same = 0;
		for (const [index, variant] of variants.entries()) {
			const answer = await trigger.post(variant.body);
			if (variant.same) {
				same++;
				expect({ variant: variant.name, status: answer.status, body: answer.body }).toEqual({
					variant: variant.name,
					status: 200,
					body: ACK,
				});
			} else if (answer.status === 200 || answer.body === ACK)
				accepted.push(`${index}: ${variant.name}`);
			else expect([400, 401]).toContain(answer.status);
		}
		// Everything that did start a run carries exactly a genuine notification's content.
		for (const item of trigger.emitted) {
			const raw = item.raw as Record<string, unknown>;
			const match = genuine.find(
				(g) =>
					Object.keys(g.data).length === Object.keys(raw).length &&
					Object.keys(g.data).every((k) => String(g.data[k]) === String(raw[k])),
			);
			expect(match).toBeDefined();
		}
		expect(({} as Record<string, unknown>).polluted).toBeUndefined();
		recordFigure(
			'Forged notifications accepted',
			accepted.length,
			`${variants.length} variants of ${genuine.length} genuine notifications; ${same} provably identical in signed content were acknowledged; ${trigger.emitted.length} runs, all with genuine content`,
		);
		expect(accepted).toEqual([]);
	});

	it('a genuine notification still goes through after all that', async () => {
		const before = trigger.emitted.length;
		const { h } = suite;
		const { orderNo } = await h.createOrder();
		await h.payOrder(orderNo);
		const order = h.sim.order(orderNo)!;
		const data = {
			...genuine[0].data,
			mch_order_no: orderNo,
			ksher_order_no: order.ksher_order_no,
			pay_mch_order_no: order.pay_mch_order_no,
		};
		expect(await trigger.post(h.sim.signedNotification(data))).toEqual({ status: 200, body: ACK });
		expect(trigger.emitted.length).toBe(before + 1);
		expect(isDeepStrictEqual(trigger.emitted[before].raw, data)).toBe(true);
	});
});
