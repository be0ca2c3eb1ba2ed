/**
 * Field access by name or dotted path. Only a record's own properties are read, so a field named
 * `__proto__` or `constructor` is data like any other and never reaches a prototype.
 */

export interface FieldPath {
	/** The field as the user wrote it, e.g. "address.city". */
	text: string;
	/** The same split at dots: ["address", "city"]. */
	segments: string[];
}

const hasOwn = (value: object, key: string): boolean => Object.prototype.hasOwnProperty.call(value, key);

export function isPlainObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

export function fieldPath(text: string): FieldPath {
	return { text, segments: text.split('.') };
}

/** Splits a comma-separated list of field names, dropping blanks and repeats. */
export function fieldList(text: string | string[] | undefined): string[] {
	const parts = Array.isArray(text) ? text : (text ?? '').split(',');
	return [...new Set(parts.map((part) => String(part).trim()).filter((part) => part !== ''))];
}

/**
 * The value at `path`: a field whose name is exactly the path text wins (so "a.b" can name a
 * field with a dot in it), otherwise the path is followed through nested objects.
 */
export function readField(record: unknown, path: FieldPath): unknown {
	if (!isPlainObject(record)) return undefined;
	if (hasOwn(record, path.text)) return record[path.text];
	if (path.segments.length === 1) return undefined;
	let current: unknown = record;
	for (const segment of path.segments) {
		if (!isPlainObject(current) || !hasOwn(current, segment)) return undefined;
		current = current[segment];
	}
	return current;
}

/** Sets an own property, also for names like `__proto__` that plain assignment would treat specially. */
export function defineField(target: Record<string, unknown>, key: string, value: unknown): void {
	// Plain assignment is much faster, and safe for every name that Object.prototype does not hold.
	if (PROTOTYPE_NAMES.has(key)) Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
	else target[key] = value;
}

const PROTOTYPE_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype));

/** Writes `value` where readField would find it, creating nested objects as needed. */
export function writeField(target: Record<string, unknown>, path: FieldPath, value: unknown): void {
	if (path.segments.length === 1 || hasOwn(target, path.text)) {
		defineField(target, path.text, value);
		return;
	}
	let current = target;
	path.segments.forEach((segment, position) => {
		if (position === path.segments.length - 1) {
			defineField(current, segment, value);
			return;
		}
		const next = hasOwn(current, segment) ? current[segment] : undefined;
		if (isPlainObject(next)) {
			current = next;
		} else {
			const created: Record<string, unknown> = {};
			defineField(current, segment, created);
			current = created;
		}
	});
}
