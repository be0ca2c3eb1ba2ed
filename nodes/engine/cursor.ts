import { DateTime } from 'luxon';

/**
 * Cursor and timestamp values as records hold them, made comparable.
 *
 * Timestamps become epoch milliseconds. They may be Dates, ISO 8601 or SQL texts (without an
 * offset they are read as UTC, never as the server's local time), or numbers: Unix time in
 * seconds below 100,000,000,000, else milliseconds.
 * Number cursors stay numbers; integer texts beyond 2^53 become bigints, which JavaScript compares
 * exactly against numbers.
 */

export type CursorType = 'timestamp' | 'number';
export type CursorValue = number | bigint;

const ZONED_ISO = /^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:?\d{2})$/i;
const INTEGER = /^-?\d+$/;
const DECIMAL = /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const SECONDS_BELOW = 100_000_000_000;

export function timestampMs(value: unknown): number | undefined {
	if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime();
	if (typeof value === 'number') {
		if (!Number.isFinite(value)) return undefined;
		return Math.abs(value) < SECONDS_BELOW ? value * 1000 : value;
	}
	if (typeof value !== 'string') return undefined;
	const text = value.trim();
	if (text === '') return undefined;
	if (ZONED_ISO.test(text)) {
		const parsed = Date.parse(text);
		if (!Number.isNaN(parsed)) return parsed;
	}
	if (INTEGER.test(text) || DECIMAL.test(text)) return timestampMs(Number(text));
	for (const parse of [DateTime.fromISO, DateTime.fromSQL, DateTime.fromRFC2822, DateTime.fromHTTP]) {
		const parsed = parse(text, { zone: 'utc', setZone: true });
		if (parsed.isValid) return parsed.toMillis();
	}
	return undefined;
}

export function numberCursor(value: unknown): CursorValue | undefined {
	if (typeof value === 'bigint') return value;
	if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
	if (typeof value !== 'string') return undefined;
	const text = value.trim();
	if (INTEGER.test(text)) {
		const asNumber = Number(text);
		return Number.isSafeInteger(asNumber) ? asNumber : BigInt(text);
	}
	if (DECIMAL.test(text)) return Number(text);
	return undefined;
}

export function parseCursor(value: unknown, type: CursorType): CursorValue | undefined {
	return type === 'timestamp' ? timestampMs(value) : numberCursor(value);
}

/** The stored text of a cursor value. */
export function cursorText(value: CursorValue, type: CursorType): string {
	return type === 'timestamp' ? new Date(Number(value)).toISOString() : value.toString();
}

/** `value` minus `amount`, in the cursor's own units (ms for timestamps). */
export function cursorMinus(value: CursorValue, amount: number): CursorValue {
	if (amount === 0) return value;
	if (typeof value === 'bigint') return value - BigInt(Math.ceil(amount));
	return value - amount;
}

export const maxCursor = (a: CursorValue, b: CursorValue): CursorValue => (a >= b ? a : b);
export const minCursor = (a: CursorValue, b: CursorValue): CursorValue => (a <= b ? a : b);

/**
 * Whether the stored text cursor `next` is past `current`: compared as numbers (integers exactly,
 * beyond 2^53 too), else as instants, else as text.
 */
export function isCursorAhead(next: string, current: string): boolean {
	const nextNumber = numberCursor(next);
	const currentNumber = numberCursor(current);
	if (nextNumber !== undefined && currentNumber !== undefined) return nextNumber > currentNumber;
	const nextTime = timestampMs(next);
	const currentTime = timestampMs(current);
	if (nextTime !== undefined && currentTime !== undefined) return nextTime > currentTime;
	return next > current;
}
