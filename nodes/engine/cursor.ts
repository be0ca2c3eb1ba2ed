const INTEGER = /^-?\d+$/;
const DECIMAL = /^-?\d+(\.\d+)?$/;

/**
 * Whether `next` is past `current`. Cursors are stored as text, so compare them as what they
 * hold: integers exactly (ids beyond 2^53 too), decimals as numbers, timestamps as instants,
 * anything else as text.
 */
export function isCursorAhead(next: string, current: string): boolean {
	if (INTEGER.test(next) && INTEGER.test(current)) return BigInt(next) > BigInt(current);
	if (DECIMAL.test(next) && DECIMAL.test(current)) return Number(next) > Number(current);
	const nextTime = Date.parse(next);
	const currentTime = Date.parse(current);
	if (!Number.isNaN(nextTime) && !Number.isNaN(currentTime)) return nextTime > currentTime;
	return next > current;
}
