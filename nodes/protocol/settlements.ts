import { currencyDecimals } from './amounts';
import type { KsherClient } from './client';
import { KsherTransportError } from './errors';
import { isPlainObject } from './signature';

/**
 * Ksher's settlements (get_settlement_info). What is evidence and what is inference:
 * - The answer's shape (`begin_date`, `end_date`, `nonce_str`, `settlement_data[]` with
 *   `begin_date`, `end_date`, `settlement_date`, `transfer_date`, `pay_channel`,
 *   `settlement_amount`, `commission_fee`, `vat`, `transfer_amount`) is from Ksher's Python
 *   SDK docstring and a real signed sample; only `begin_date`, `end_date` and `nonce_str` are
 *   covered by Ksher's signature (established from that sample), so the lines are not.
 * - The money fields are integers, possibly negative. Their unit is not stated anywhere; they
 *   are read as minor units of the settlement currency (satang), as every other amount of
 *   Ksher's API is and as the sample's VAT (7 % of the commission, rounded to a whole number)
 *   only makes sense in satang. Ksher's integers are passed on unchanged beside them.
 * - The longest range Ksher accepts is unknown: ranges are asked for in pieces of at most
 *   SETTLEMENT_RANGE_DAYS days.
 */
export const SETTLEMENT_RANGE_DAYS = 31;

export interface SettlementLine {
	/** The trading day(s) the line settles. */
	begin_date: string;
	end_date: string;
	settlement_date: string;
	transfer_date: string;
	pay_channel: string;
	settlement_amount: number;
	commission_fee: number;
	vat: number;
	transfer_amount: number;
}

const DAY_MS = 86_400_000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function dayNumber(date: string): number {
	return (
		Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10))) /
		DAY_MS
	);
}

function dateOf(day: number): string {
	return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** A calendar date as YYYY-MM-DD, or undefined when it is not one (2026-02-30 is not). */
export function checkDate(value: string): string | undefined {
	if (!DATE.test(value)) return undefined;
	return dateOf(dayNumber(value)) === value ? value : undefined;
}

/** `from`..`to` (inclusive) cut into consecutive pieces of at most `maxDays` days, covering it once. */
export function settlementRanges(
	from: string,
	to: string,
	maxDays = SETTLEMENT_RANGE_DAYS,
): Array<{ begin: string; end: string }> {
	const first = dayNumber(from);
	const last = dayNumber(to);
	const ranges: Array<{ begin: string; end: string }> = [];
	for (let day = first; day <= last; day += maxDays)
		ranges.push({ begin: dateOf(day), end: dateOf(Math.min(last, day + maxDays - 1)) });
	return ranges;
}

/**
 * The calendar date in a time zone given as merchant_info gives it ("+07:00") or by name
 * ("Asia/Bangkok"), `days` days before `now`.
 */
export function dateInZone(timeZone: string, now: Date, days = 0): string {
	const offset = /^([+-])(\d{2}):?(\d{2})$/.exec(timeZone.trim());
	if (offset) {
		const minutes = (offset[1] === '-' ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3]));
		return dateOf(Math.floor((now.getTime() + minutes * 60_000) / DAY_MS) - days);
	}
	const parts = new Intl.DateTimeFormat('en-CA', {
		timeZone,
		year: 'numeric',
		month: '2-digit',
		day: '2-digit',
	}).format(now);
	return dateOf(dayNumber(parts) - days);
}

/** A money field's integer, kept with its sign; anything else makes the line unreadable. */
function integerOf(value: unknown): number | undefined {
	const n =
		typeof value === 'number'
			? value
			: typeof value === 'string' && /^-?\d+$/.test(value.trim())
				? Number(value)
				: NaN;
	return Number.isSafeInteger(n) ? n : undefined;
}

function unreadable(what: string): KsherTransportError {
	return new KsherTransportError(
		'bad-envelope',
		`Ksher's settlement answer ${what}, so it was not used`,
		'Try again later; if it persists, check the settlements in the Ksher merchant portal and tell Ksher support.',
		'get_settlement_info',
		false,
	);
}

/** Reads one answer's lines; refuses the whole answer when a line's money cannot be read exactly. */
export function settlementLinesOf(data: Record<string, unknown>): SettlementLine[] {
	let list = data.settlement_data;
	if (typeof list === 'string') {
		try {
			list = list.trim() === '' ? [] : JSON.parse(list);
		} catch {
			throw unreadable('holds settlement lines that are not JSON');
		}
	}
	if (list === undefined || list === null || list === '') return [];
	if (!Array.isArray(list)) throw unreadable('has settlement lines that are not a list');
	return list.map((raw, index) => {
		if (!isPlainObject(raw))
			throw unreadable(`has a settlement line (${index + 1}) that is not an object`);
		const money = (field: string) => {
			const n = integerOf(raw[field]);
			if (n === undefined)
				throw unreadable(
					`has a settlement line (${index + 1}) whose ${field} is not a whole number (${JSON.stringify(raw[field])})`,
				);
			return n;
		};
		return {
			begin_date: String(raw.begin_date ?? ''),
			end_date: String(raw.end_date ?? raw.begin_date ?? ''),
			settlement_date: String(raw.settlement_date ?? ''),
			transfer_date: String(raw.transfer_date ?? ''),
			pay_channel: String(raw.pay_channel ?? ''),
			settlement_amount: money('settlement_amount'),
			commission_fee: money('commission_fee'),
			vat: money('vat'),
			transfer_amount: money('transfer_amount'),
		};
	});
}

/**
 * Minor units, negative allowed, as a major-unit decimal string ("-29.39"): the settlement
 * lines' amounts can be below zero (refunds larger than that day's payments).
 */
export function signedMajor(minor: number, currency: string): string {
	const decimals = currencyDecimals(currency);
	const digits = String(Math.abs(minor)).padStart(decimals + 1, '0');
	const text = decimals === 0 ? digits : `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
	return minor < 0 ? `-${text}` : text;
}

/**
 * Every settlement line for `from`..`to` (inclusive, YYYY-MM-DD), asked for in pieces Ksher
 * accepts, one call per piece, each answer checked: its signature (the range and the nonce),
 * and that its range is the one asked for. A line returned by two pieces is kept once.
 */
export async function listSettlements(
	client: KsherClient,
	range: { from: string; to: string; channel?: string },
	concurrency = 4,
): Promise<{ lines: SettlementLine[]; calls: number }> {
	const pieces = settlementRanges(range.from, range.to);
	const answers: SettlementLine[][] = new Array(pieces.length);
	let next = 0;
	const worker = async () => {
		while (next < pieces.length) {
			const i = next++;
			const { begin, end } = pieces[i];
			// Ksher's SDKs disagree on the app id's name for this call (mch_appid, appid): both are sent.
			const { data } = await client.call('get_settlement_info', {
				mch_appid: client.appId,
				begin_date: begin,
				end_date: end,
				pay_channel: range.channel,
			});
			if (data.begin_date !== begin || data.end_date !== end) {
				throw new KsherTransportError(
					'bad-envelope',
					`Ksher's settlement answer is for ${String(data.begin_date)}..${String(data.end_date)}, not the ${begin}..${end} asked for, so it was not used`,
					'Try again; if it persists, tell Ksher support.',
					'get_settlement_info',
					false,
				);
			}
			answers[i] = settlementLinesOf(data);
		}
	};
	await Promise.all(Array.from({ length: Math.min(concurrency, pieces.length) }, worker));
	const seen = new Set<string>();
	const lines = answers.flat().filter((line) => {
		const id = JSON.stringify(line);
		if (seen.has(id)) return false;
		seen.add(id);
		return true;
	});
	return { lines, calls: pieces.length };
}
