import { fromMinorUnits, parseMaybeJson } from '../protocol';

/** Ksher reports Bangkok wall-clock time "YYYY-MM-DD HH:MM:SS"; outputs use ISO 8601 with +07:00. */
export function ksherTimeToIso(value: unknown): string | null {
	const text = typeof value === 'string' ? value.trim() : '';
	const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)$/.exec(text);
	return m ? `${m[1]}T${m[2]}+07:00` : text === '' ? null : text;
}

/** Minor units from Ksher as a major-unit decimal string; null when Ksher sent none. */
export function majorAmount(minor: unknown, currency: string): string | null {
	if (minor === '' || minor === undefined || minor === null) return null;
	return fromMinorUnits(minor, currency);
}

/** The merchant's `attach` data, parsed when it is JSON. */
export function attachValue(value: unknown): unknown {
	return value === '' || value === undefined || value === null ? null : parseMaybeJson(value);
}
