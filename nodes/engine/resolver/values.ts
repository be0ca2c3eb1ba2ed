import { canonicalJson } from '../hash';
import type { JsonObject, JsonValue } from '../types';

/** Combining marks start at U+0300; every code point below it is already in NFC and composes with nothing. */
function mayChangeUnderNfc(text: string): boolean {
	// A plain loop: far cheaper than a regular expression on the short texts most fields hold.
	for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x300) return true;
	return false;
}

/**
 * Two field values mean the same thing. Primitives compare directly (the common case, kept cheap);
 * strings also in Unicode NFC; objects and arrays by canonical JSON, so key order never counts as a
 * change. `undefined` (a field the side did not provide) only equals `undefined`.
 */
export function sameValue(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
	if (a === b) return true;
	if (a === undefined || b === undefined || a === null || b === null) return false;
	const type = typeof a;
	if (type !== typeof b) return false;
	if (type === 'string') {
		// Below U+0300 every text is already in NFC, so two different texts stay different (and normalize is costly).
		if (!mayChangeUnderNfc(a as string) && !mayChangeUnderNfc(b as string)) return false;
		return (a as string).normalize('NFC') === (b as string).normalize('NFC');
	}
	if (type === 'number') return Number.isNaN(a) && Number.isNaN(b);
	if (type !== 'object') return false;
	return canonicalJson(a) === canonicalJson(b);
}

/** A field's value, or undefined when the record does not have it (own properties only). */
export function fieldOf(record: JsonObject | null | undefined, field: string): JsonValue | undefined {
	if (!record || !Object.prototype.hasOwnProperty.call(record, field)) return undefined;
	return record[field];
}

const SECONDS_THRESHOLD = 1e11;

/**
 * A change time in ms since the epoch, or null when the value is no usable time. Numbers below 1e11
 * are read as Unix seconds (1e11 ms is March 1973, 1e11 s is the year 5138), others as milliseconds;
 * texts as ISO 8601 or as such a number.
 */
export function parseTimestamp(value: unknown): number | null {
	if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.getTime();
	if (typeof value === 'number') {
		if (!Number.isFinite(value)) return null;
		return Math.abs(value) < SECONDS_THRESHOLD ? value * 1000 : value;
	}
	if (typeof value !== 'string' || value.trim() === '') return null;
	const text = value.trim();
	if (/^-?\d+(\.\d+)?$/.test(text)) return parseTimestamp(Number(text));
	const parsed = Date.parse(text);
	return Number.isNaN(parsed) ? null : parsed;
}

export function describeTime(ms: number): string {
	return new Date(ms).toISOString();
}

const NUL = '\u0000';

/**
 * The text two records must share to be paired for the first time, or undefined when a match field
 * is empty (an empty email must never pair two unrelated records).
 */
export function matchKeyOf(record: JsonObject, fields: string[], ignoreCaseAndSpaces: boolean): string | undefined {
	const parts: string[] = [];
	for (const field of fields) {
		const value = fieldOf(record, field);
		if (value === undefined || value === null) return undefined;
		let text = typeof value === 'object' ? canonicalJson(value) : String(value).normalize('NFC');
		if (ignoreCaseAndSpaces) text = text.replace(/\s+/g, ' ').trim().toLowerCase();
		if (text === '') return undefined;
		parts.push(text);
	}
	return parts.join(NUL);
}

/** A copy of `record` with only `fields`, leaving out the ones it does not have. */
export function pickFields(record: JsonObject, fields: Iterable<string>): JsonObject {
	const picked: JsonObject = {};
	for (const field of fields) {
		const value = fieldOf(record, field);
		if (value !== undefined) picked[field] = value;
	}
	return picked;
}
