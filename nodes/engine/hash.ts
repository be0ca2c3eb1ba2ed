import { createHash } from 'node:crypto';

import { SyncError } from './errors';

/**
 * Canonical JSON: object keys sorted, strings and keys in Unicode NFC, -0 as 0, undefined dropped.
 * Two records that mean the same thing give the same text, so key order, number spelling or a
 * different Unicode normal form never look like a change. Values JSON cannot hold (NaN, Infinity,
 * bigint) get distinct tokens instead of silently becoming null.
 */
export function canonicalJson(value: unknown): string {
	return write(value, new Set());
}

/**
 * Deeper records are refused with a clear error: past a few thousand levels the recursion would
 * end in a bare "Maximum call stack size exceeded", at a depth that depends on the caller.
 */
export const MAX_DEPTH = 1000;

function write(value: unknown, ancestors: Set<object>): string {
	switch (typeof value) {
		case 'string':
			return JSON.stringify(value.normalize('NFC'));
		case 'number':
			if (Number.isFinite(value)) return Object.is(value, -0) ? '0' : String(value);
			return `"\u0000${String(value)}"`;
		case 'boolean':
			return value ? 'true' : 'false';
		case 'bigint':
			return `"\u0000bigint:${value.toString()}"`;
		case 'undefined':
		case 'function':
		case 'symbol':
			return 'null';
		case 'object':
			break;
	}
	if (value === null) return 'null';
	if (value instanceof Date) return JSON.stringify(Number.isNaN(value.getTime()) ? null : value.toISOString());
	const object = value as object;
	if (ancestors.has(object)) {
		throw new SyncError(
			'INVALID_INPUT',
			'The record contains a circular reference',
			'Remove the circular reference before this node, e.g. with an Edit Fields (Set) node that keeps only plain fields.',
		);
	}
	if (ancestors.size >= MAX_DEPTH) {
		throw new SyncError(
			'INVALID_INPUT',
			`The record is nested more than ${MAX_DEPTH} levels deep`,
			'Flatten the record before this node, or keep only the fields the sync needs (e.g. with an Edit Fields (Set) node).',
		);
	}
	ancestors.add(object);
	let out: string;
	if (Array.isArray(object)) {
		out = '[' + object.map((item) => write(item, ancestors)).join(',') + ']';
	} else {
		const entries: Array<[string, unknown]> = [];
		for (const key of Object.keys(object)) {
			const field = (object as Record<string, unknown>)[key];
			if (field === undefined || typeof field === 'function' || typeof field === 'symbol') continue;
			entries.push([key.normalize('NFC'), field]);
		}
		entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
		out = '{' + entries.map(([key, field]) => JSON.stringify(key) + ':' + write(field, ancestors)).join(',') + '}';
	}
	ancestors.delete(object);
	return out;
}

/** sha256 of the canonical JSON, base64url. */
export function hashValue(value: unknown): string {
	return createHash('sha256').update(canonicalJson(value)).digest('base64url');
}
