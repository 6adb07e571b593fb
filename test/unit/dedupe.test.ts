import {
	checkNotification,
	notificationEvent,
	reshapedContent,
	notificationKey,
	refundTargetOf,
} from '../../nodes/protocol';
import { parsePublicKey } from '../../nodes/protocol';
import vectorsFile from '../fixtures/vectors.json';

describe('notification classification', () => {
	const s4 = vectorsFile.vectors.find((v) => v.id === 'S4')!.body as {
		data: Record<string, unknown>;
	} & Record<string, unknown>;
	it('S4 is a paid event for mch35005 under the example key', () => {
		const check = checkNotification(JSON.stringify(s4), {
			publicKey: parsePublicKey(vectorsFile.keys.example_public),
			appId: 'mch35005',
		});
		expect(check).toMatchObject({
			ok: true,
			event: 'paid',
			dedupeKey: 'mch35005|INV-1001-A|paid|',
		});
	});
	it.each([
		[{ result: 'SUCCESS' }, 0, 'paid'],
		[{ result: 'REFUND' }, 0, 'refunded'],
		[{ result: 'SUCCESS', mch_refund_no: 'R1' }, 0, 'refunded'],
		[{ result: 'CLOSED' }, 0, 'other'],
		[{ result: 'SUCCESS' }, 1, 'other'],
		[{ result: 'FAIL', refund_fee: 1 }, 0, 'other'],
	])('%p with code %p is %s', (data, code, event) => {
		expect(notificationEvent({ code }, data)).toBe(event);
	});
	it('refund events are told apart by refund number', () => {
		expect(
			notificationKey({ appid: 'm', mch_order_no: 'o', mch_refund_no: 'R1' }, 'refunded'),
		).not.toBe(notificationKey({ appid: 'm', mch_order_no: 'o', mch_refund_no: 'R2' }, 'refunded'));
	});
});

describe('refundTargetOf', () => {
	it('addresses card payments by ksher_order_no and others by pay_mch_order_no', () => {
		expect(refundTargetOf({ channel: 'card', ksher_order_no: 'K', pay_mch_order_no: 'P' })).toEqual(
			{ ksher_order_no: 'K' },
		);
		expect(
			refundTargetOf({ channel: 'promptpay', ksher_order_no: 'K', pay_mch_order_no: 'P' }),
		).toEqual({ mch_order_no: 'P' });
		expect(
			refundTargetOf({ channel: 'promptpay', ksher_order_no: 'K', pay_mch_order_no: '' }),
		).toEqual({ ksher_order_no: 'K' });
		expect(refundTargetOf({ channel: 'card', ksher_order_no: '', pay_mch_order_no: 'P' })).toEqual({
			mch_order_no: 'P',
		});
		expect(refundTargetOf({ ksher_order_no: '', pay_mch_order_no: '' })).toBeUndefined();
	});
});

describe('reshapedContent (Ksher signs key=value pieces with no separator)', () => {
	const data = {
		appid: 'mch1',
		attach: 'ref=A1&back=https://shop.example/?lang=en&channel=line',
		cash_fee: 100,
		channel: 'promptpay',
		mch_order_no: 'INV-1',
		nonce_str: 'abc',
		openid: 'o8x==',
		result: 'SUCCESS',
		total_fee: 100,
	};
	it.each([
		['genuine data with "=" in attach and openid', data, undefined],
		[
			'a refund field written out in attach while the refund field is there too',
			{ ...data, attach: 'refund_fee=1', refund_fee: 1 },
			undefined,
		],
		[
			'nonce_str folded into mch_order_no',
			{ ...data, mch_order_no: 'INV-1nonce_str=abc', nonce_str: undefined },
			'mch_order_no holds the missing field nonce_str',
		],
		[
			'mch_order_no folded into a field before it',
			{ ...data, ksher_order_no: '700mch_order_no=INV-1', mch_order_no: undefined },
			'ksher_order_no holds the missing field mch_order_no',
		],
		[
			'a key holding "="',
			{
				...data,
				'mch_order_no=INV-1nonce_str': 'abc',
				mch_order_no: undefined,
				nonce_str: undefined,
			},
			'field name "mch_order_no=INV-1nonce_str" holds "="',
		],
	])('%s', (_name, shaped, expected) => {
		const present = Object.fromEntries(Object.entries(shaped).filter(([, v]) => v !== undefined));
		expect(reshapedContent(present)).toBe(expected);
	});
});
