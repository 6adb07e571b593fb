/**
 * Ksher's canonical string: the exact bytes that get signed (Ksher's signature page).
 *
 * Every parameter except `sign` becomes `key=value`; the pieces are sorted by plain
 * code-unit order (never locale order) and joined with no separator. Values are raw:
 * no URL-encoding, strings as they are, integers in decimal, arrays and objects as
 * compact JSON with sorted keys. `undefined` and `null` are dropped, because a field
 * that is not sent cannot be part of what the server verifies.
 */
export interface CanonicalOptions {
	/** Sort object keys inside nested JSON (default true). */
	sortNestedKeys?: boolean;
	/** Escape non-ASCII characters inside nested JSON as \uXXXX (default false). */
	asciiNestedJson?: boolean;
}

function asciiEscape(json: string): string {
	return json.replace(
		/[\u007f-\uffff]/g,
		(ch) => '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0'),
	);
}

/** Ksher's nested data is one or two levels deep; anything far deeper is hostile input. */
export const MAX_NESTING = 32;

function normaliseNested(value: unknown, sortKeys: boolean, depth = 0): unknown {
	if (depth > MAX_NESTING)
		throw new TypeError(`Cannot sign values nested deeper than ${MAX_NESTING} levels`);
	if (Array.isArray(value)) return value.map((v) => normaliseNested(v, sortKeys, depth + 1));
	if (value !== null && typeof value === 'object') {
		const keys = Object.keys(value as Record<string, unknown>);
		if (sortKeys) keys.sort(compareCodeUnits);
		// Object.fromEntries defines own data properties, so a "__proto__" key stays data.
		return Object.fromEntries(
			keys.map((k) => [
				k,
				normaliseNested((value as Record<string, unknown>)[k], sortKeys, depth + 1),
			]),
		);
	}
	return value;
}

export function compareCodeUnits(a: string, b: string): number {
	return a < b ? -1 : a > b ? 1 : 0;
}

/** Renders one parameter value as it appears in the canonical string. */
export function renderValue(value: unknown, options: CanonicalOptions = {}): string {
	if (typeof value === 'string') return value;
	if (typeof value === 'number') {
		if (!Number.isFinite(value)) throw new TypeError('Cannot sign a non-finite number');
		return String(value);
	}
	if (typeof value === 'bigint') return value.toString();
	if (typeof value === 'boolean') return value ? 'true' : 'false';
	if (typeof value === 'object' && value !== null) {
		const json = JSON.stringify(normaliseNested(value, options.sortNestedKeys !== false));
		return options.asciiNestedJson ? asciiEscape(json) : json;
	}
	throw new TypeError(`Cannot sign a value of type ${typeof value}`);
}

/**
 * Orders keys as their `key=value` pieces sort (Ksher's servers sort the joined pieces):
 * a key that is a prefix of another compares as if followed by '='. Sorting the keys this
 * way avoids building and comparing the long pieces.
 */
export function comparePieces(a: string, b: string): number {
	const n = Math.min(a.length, b.length);
	for (let i = 0; i < n; i++) {
		const d = a.charCodeAt(i) - b.charCodeAt(i);
		if (d !== 0) return d;
	}
	if (a.length === b.length) return 0;
	return a.length < b.length ? 0x3d - b.charCodeAt(n) : a.charCodeAt(n) - 0x3d;
}

/** The keys of `params` in canonical order. */
export function sortedKeys(params: Record<string, unknown>): string[] {
	const keys = Object.keys(params);
	// Ksher's JSON mostly arrives with its keys in order already: one pass tells.
	let inOrder = true;
	for (let i = 1; inOrder && i < keys.length; i++)
		inOrder = comparePieces(keys[i - 1], keys[i]) < 0;
	if (inOrder) return keys;
	// The engine's own sort is much faster and gives the same order unless a key is
	// followed by one of its extensions with a next character below '=': then that
	// extension sorts right after it, so one look at neighbours tells.
	keys.sort();
	for (let i = 1; i < keys.length; i++) {
		const before = keys[i - 1];
		if (keys[i].startsWith(before) && keys[i].charCodeAt(before.length) < 0x3d) {
			keys.sort(comparePieces);
			break;
		}
	}
	return keys;
}

/** `keys` may be passed when the caller already has them from sortedKeys(params). */
export function canonicalString(
	params: Record<string, unknown>,
	options: CanonicalOptions = {},
	keys: readonly string[] = sortedKeys(params),
): string {
	let out = '';
	for (const key of keys) {
		const value = params[key];
		if (key === 'sign' || value === undefined || value === null) continue;
		out += `${key}=${typeof value === 'string' ? value : renderValue(value, options)}`;
	}
	return out;
}
