import { SyncError } from '../errors';
import { fieldPath, readField, writeField, type FieldPath } from './paths';

/**
 * A record's key in its system, as text (the store compares keys as text).
 *
 * - One key field: the value itself as text, so the number 42 and the text "42" are one key.
 * - Several key fields: the JSON text of the list of their texts, e.g. `["ACME","42"]`. JSON is
 *   unambiguous whatever the parts contain (commas, quotes, pipes), and it reads back exactly.
 */

export interface KeySpec {
	fields: FieldPath[];
}

export type KeyProblem = 'missingKey' | 'invalidKey';

export type KeyResult = { ok: true; key: string } | { ok: false; reason: KeyProblem; message: string; hint: string };

export function keySpec(fields: string[]): KeySpec {
	if (fields.length === 0) {
		throw new SyncError('INVALID_INPUT', 'No key field is set', 'Set "Key Field(s)" to the field that identifies a record in this system, e.g. "id".');
	}
	return { fields: fields.map(fieldPath) };
}

function keyPart(value: unknown, field: FieldPath): KeyResult {
	if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
		return {
			ok: false,
			reason: 'missingKey',
			message: `The record has no value in key field "${field.text}"`,
			hint: `Every record needs a value in "${field.text}". Check the field name in "Key Field(s)" and the node that read the records.`,
		};
	}
	let text: string | undefined;
	if (typeof value === 'string') text = value;
	else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
	else if (typeof value === 'bigint') text = value.toString();
	if (text === undefined) {
		const kind = Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'an object' : `a ${typeof value}`;
		return {
			ok: false,
			reason: 'invalidKey',
			// NaN and Infinity are numbers, but no usable ID.
			message:
				typeof value === 'number'
					? `Key field "${field.text}" holds ${String(value)}, which is no usable number`
					: `Key field "${field.text}" holds ${kind}, not a text or number`,
			hint: `Point "Key Field(s)" at a field holding a text or number ID, e.g. "${field.text}.id" if the ID is nested.`,
		};
	}
	if (text.includes('\u0000')) {
		return {
			ok: false,
			reason: 'invalidKey',
			message: `Key field "${field.text}" contains a NUL character`,
			hint: 'Keys are stored as text, which cannot hold NUL characters. Clean the key before this node.',
		};
	}
	return { ok: true, key: text };
}

export function recordKey(record: unknown, spec: KeySpec): KeyResult {
	if (spec.fields.length === 1) return keyPart(readField(record, spec.fields[0]), spec.fields[0]);
	const parts: string[] = [];
	for (const field of spec.fields) {
		const part = keyPart(readField(record, field), field);
		if (!part.ok) return part;
		parts.push(part.key);
	}
	return { ok: true, key: JSON.stringify(parts) };
}

/** The key fields' values for a stored key: the reverse of recordKey, as texts. */
export function keyParts(key: string, spec: KeySpec): string[] {
	if (spec.fields.length === 1) return [key];
	try {
		const parts: unknown = JSON.parse(key);
		if (Array.isArray(parts) && parts.length === spec.fields.length && parts.every((part) => typeof part === 'string')) {
			return parts as string[];
		}
	} catch {
		// Not a composite key of this shape: reported below.
	}
	throw new SyncError(
		'INVALID_INPUT',
		`The stored key ${JSON.stringify(key)} does not have the ${spec.fields.length} parts that "Key Field(s)" names`,
		'The key fields were changed after records were synced. Restore the previous key fields, or reset the links of this system with Sync State > Reset.',
	);
}

/**
 * Puts the key fields on a record built from the stored base (for a deleted record). A field the
 * base already holds with the same value keeps its type (42 stays a number).
 */
export function withKeyFields(record: Record<string, unknown>, key: string, spec: KeySpec): Record<string, unknown> {
	const parts = keyParts(key, spec);
	spec.fields.forEach((field, position) => {
		const current = readField(record, field);
		const part = keyPart(current, field);
		if (!part.ok || part.key !== parts[position]) writeField(record, field, parts[position]);
	});
	return record;
}
