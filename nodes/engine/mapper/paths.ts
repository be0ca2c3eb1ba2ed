/**
 * Field paths such as `address.city`, `phones[0].number` or `["First.Name"]`, parsed once per
 * run into segments and compiled into small getter and setter closures.
 */

export type PathSegment = string | number;

/** Names that reach an object's prototype: writing through them would pollute every object of the process. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export class PathError extends Error {}

function refuse(path: string, reason: string): never {
	throw new PathError(`"${path}" ${reason}`);
}

/** Splits a path into keys and array indexes; throws PathError with the reason when it is malformed or hostile. */
export function parsePath(input: string): PathSegment[] {
	const path = input.trim();
	if (path === '') refuse(input, 'is empty');
	const segments: PathSegment[] = [];
	let position = 0;
	let expectKey = true;
	while (position < path.length) {
		const char = path[position];
		if (char === '[') {
			const close = readBracket(path, position, segments);
			position = close + 1;
			expectKey = false;
			continue;
		}
		if (char === '.') {
			if (expectKey) refuse(path, 'has an empty field name (two dots in a row, or a leading dot)');
			expectKey = true;
			position++;
			continue;
		}
		if (char === ']') refuse(path, 'has a "]" without a matching "["');
		if (!expectKey) refuse(path, `needs a "." before "${path.slice(position)}"`);
		let end = position;
		while (end < path.length && path[end] !== '.' && path[end] !== '[' && path[end] !== ']') end++;
		segments.push(path.slice(position, end));
		position = end;
		expectKey = false;
	}
	if (expectKey) refuse(path, 'ends with a dot');
	for (const segment of segments) {
		if (typeof segment === 'string' && FORBIDDEN_KEYS.has(segment)) {
			refuse(path, `uses the reserved name "${segment}", which could change every object in n8n`);
		}
	}
	return segments;
}

/** Reads `[0]`, `["key"]` or `['key']` starting at `open`; returns the index of the closing bracket. */
function readBracket(path: string, open: number, segments: PathSegment[]): number {
	const quote = path[open + 1];
	if (quote === '"' || quote === "'") {
		let key = '';
		let position = open + 2;
		while (position < path.length && path[position] !== quote) {
			if (path[position] === '\\' && position + 1 < path.length) position++;
			key += path[position];
			position++;
		}
		if (path[position] !== quote || path[position + 1] !== ']') refuse(path, 'has an unclosed quoted name');
		segments.push(key);
		return position + 1;
	}
	const close = path.indexOf(']', open);
	if (close === -1) refuse(path, 'has an unclosed "["');
	const index = path.slice(open + 1, close).trim();
	if (!/^\d+$/.test(index)) refuse(path, `has "[${index}]"; use a whole number such as [0], or a quoted name such as ["${index}"]`);
	const value = Number(index);
	if (!Number.isSafeInteger(value)) refuse(path, `has an index that is too large: [${index}]`);
	segments.push(value);
	return close;
}

const PLAIN_KEY = /^[^.[\]"'\\]+$/;

/** The canonical text of a path, readable by lodash's get (Commit reads `sourceFields` with it). */
export function pathText(segments: PathSegment[]): string {
	let text = '';
	for (const segment of segments) {
		if (typeof segment === 'number') text += `[${segment}]`;
		else if (PLAIN_KEY.test(segment) && segment.trim() === segment) text += text === '' ? segment : `.${segment}`;
		else text += `[${JSON.stringify(segment)}]`;
	}
	return text;
}

/** True when one path is the other or lies inside it: two rules writing such paths would overwrite each other. */
export function pathsOverlap(a: PathSegment[], b: PathSegment[]): boolean {
	const length = Math.min(a.length, b.length);
	for (let index = 0; index < length; index++) if (a[index] !== b[index]) return false;
	return true;
}

export type Getter = (record: Record<string, unknown>) => unknown;
export type Setter = (target: Record<string, unknown>, value: unknown) => void;

/** Keys that every object or array inherits; reading them needs an own-property check. */
function isInheritedName(key: string): boolean {
	return key in Object.prototype || key in Array.prototype;
}

function readStep(current: unknown, segment: PathSegment): unknown {
	if (current === null || typeof current !== 'object') return undefined;
	if (typeof segment === 'number') return Array.isArray(current) ? current[segment] : undefined;
	return Object.hasOwn(current, segment) ? (current as Record<string, unknown>)[segment] : undefined;
}

/** Compiles a path into a reader; a missing field anywhere on the way reads as undefined. */
export function compileGetter(segments: PathSegment[]): Getter {
	if (segments.length === 1 && typeof segments[0] === 'string') {
		const key = segments[0];
		if (isInheritedName(key)) return (record) => (Object.hasOwn(record, key) ? record[key] : undefined);
		return (record) => record[key];
	}
	if (segments.length === 2 && typeof segments[0] === 'string' && typeof segments[1] === 'string') {
		const [outer, inner] = segments;
		return (record) => readStep(readStep(record, outer), inner);
	}
	return (record) => {
		let current: unknown = record;
		for (const segment of segments) {
			current = readStep(current, segment);
			if (current === undefined) return undefined;
		}
		return current;
	};
}

/** Compiles a path into a writer that creates the objects and arrays on the way. */
export function compileSetter(segments: PathSegment[]): Setter {
	if (segments.length === 1 && typeof segments[0] === 'string') {
		const key = segments[0];
		return (target, value) => {
			target[key] = value;
		};
	}
	const last = segments.length - 1;
	return (target, value) => {
		let current = target as Record<string | number, unknown>;
		for (let index = 0; index < last; index++) {
			const segment = segments[index];
			let next = Object.hasOwn(current, segment) ? current[segment] : undefined;
			if (next === null || typeof next !== 'object') {
				next = typeof segments[index + 1] === 'number' ? [] : {};
				current[segment] = next;
			}
			current = next as Record<string | number, unknown>;
		}
		current[segments[last]] = value;
	};
}

