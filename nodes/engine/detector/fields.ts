import { canonicalJson } from '../hash';
import type { JsonObject } from '../types';
import { defineField, fieldPath, isPlainObject, readField, type FieldPath } from './paths';

/**
 * Which fields of a record count as its content: all of them except some (timestamps, etags),
 * or only a listed few. The record hash covers exactly these, so a change elsewhere is no change.
 * `_sync` (our own metadata) never counts.
 */
export type FieldSelection = { mode: 'all'; ignore: string[] } | { mode: 'only'; fields: string[] };

export interface ComparedFields {
	/** True when the projection of a record without `_sync` is the record itself. */
	readonly wholeRecord: boolean;
	/** The compared content of a record: what its hash is computed over. */
	project(record: Record<string, unknown>): JsonObject;
	/**
	 * Compared fields whose values differ between a record's projection and a stored base: fields
	 * that changed, appeared or disappeared. Names are top-level fields, or the listed paths.
	 */
	changedFields(projection: JsonObject, base: JsonObject): string[];
}

const SYNC_FIELD = '_sync';
/** Marks a path's end in the ignore tree: drop this field. */
const LEAF = true;
type IgnoreTree = Map<string, IgnoreTree | typeof LEAF>;

function buildIgnoreTree(paths: string[]): IgnoreTree {
	const root: IgnoreTree = new Map([[SYNC_FIELD, LEAF]]);
	for (const text of paths) {
		// The whole text names a top-level field (a name may contain dots) ...
		root.set(text, LEAF);
		// ... or a nested path.
		const segments = text.split('.');
		if (segments.length === 1) continue;
		let node = root;
		for (let position = 0; position < segments.length; position++) {
			const segment = segments[position];
			const existing = node.get(segment);
			if (existing === LEAF) break;
			if (position === segments.length - 1) {
				node.set(segment, LEAF);
				break;
			}
			const child: IgnoreTree = existing ?? new Map();
			node.set(segment, child);
			node = child;
		}
	}
	return root;
}

function withoutIgnored(value: Record<string, unknown>, tree: IgnoreTree): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	for (const key of Object.keys(value)) {
		const rule = tree.get(key);
		if (rule === LEAF) continue;
		const field = value[key];
		defineField(out, key, rule && isPlainObject(field) ? withoutIgnored(field, rule) : field);
	}
	return out;
}

function hasOwnField(value: Record<string, unknown>, key: string): boolean {
	return Object.prototype.hasOwnProperty.call(value, key);
}

function sameValue(left: unknown, right: unknown): boolean {
	if (left === right) return true;
	if (left === undefined || right === undefined) return false;
	return canonicalJson(left) === canonicalJson(right);
}

function allExcept(ignore: string[]): ComparedFields {
	const tree = buildIgnoreTree(ignore);
	const onlySyncIgnored = ignore.length === 0;
	const project = (record: Record<string, unknown>): JsonObject => {
		if (onlySyncIgnored && !hasOwnField(record, SYNC_FIELD)) return record as JsonObject;
		return withoutIgnored(record, tree) as JsonObject;
	};
	return {
		wholeRecord: onlySyncIgnored,
		project,
		changedFields(projection, base) {
			const baseProjection = project(base);
			const changed: string[] = [];
			for (const key of Object.keys(projection)) {
				if (!hasOwnField(baseProjection, key) || !sameValue(projection[key], baseProjection[key])) changed.push(key);
			}
			for (const key of Object.keys(baseProjection)) {
				if (!hasOwnField(projection, key)) changed.push(key);
			}
			return changed;
		},
	};
}

function only(fields: string[]): ComparedFields {
	const paths: FieldPath[] = fields.map(fieldPath);
	return {
		wholeRecord: false,
		// Flat, keyed by the listed path: the hash depends only on the listed values.
		project(record) {
			const out: Record<string, unknown> = {};
			for (const path of paths) {
				const value = readField(record, path);
				if (value !== undefined) defineField(out, path.text, value);
			}
			return out as JsonObject;
		},
		changedFields(projection, base) {
			return paths
				.filter((path) => !sameValue(hasOwnField(projection, path.text) ? projection[path.text] : undefined, readField(base, path)))
				.map((path) => path.text);
		},
	};
}

export function comparedFields(selection: FieldSelection): ComparedFields {
	return selection.mode === 'only' ? only(selection.fields) : allExcept(selection.ignore);
}
