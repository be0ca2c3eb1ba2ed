import { SyncError } from '../errors';
import { hashValue } from '../hash';
import type { EntityState, RecordState } from '../store/SyncStore';
import type { JsonObject, SyncMeta } from '../types';
import {
	cursorMinus,
	cursorText,
	maxCursor,
	minCursor,
	parseCursor,
	timestampMs,
	type CursorType,
	type CursorValue,
} from '../cursor';
import type { RecordIntent } from './events';
import { comparedFields, type ComparedFields, type FieldSelection } from './fields';
import { keySpec, recordKey, withKeyFields, type KeySpec } from './keys';
import { defineField, fieldPath, isPlainObject, readField, type FieldPath } from './paths';

/**
 * Change detection for one system: each record is compared with what the sync state remembers of
 * it, in one pass over the records with one hash map lookup each (never a scan per record).
 *
 * Two steps, so the caller can load the state for exactly the keys it needs in between:
 * `prepareRecords` reads keys, hashes and times; `classifyRecords` decides each record's op.
 */

export type DetectorMode = 'snapshot' | 'incremental' | 'event';

export interface DetectorOptions {
	syncId: string;
	system: string;
	mode: DetectorMode;
	/** One or several fields that identify a record in this system. */
	keyFields: string[];
	/** The fields the hash covers. */
	fields: FieldSelection;
	/** Snapshot mode: the input holds every record of the system, so a known key that is absent was deleted. */
	fullSnapshot?: boolean;
	/** Share of the known records (0 to 1) a full snapshot may delete before the run stops. Default 0.2. */
	maxDeleteShare?: number;
	/** Lets one run delete more than `maxDeleteShare`. */
	allowMassDelete?: boolean;
	/** Incremental mode: where the read position comes from. */
	cursor?: {
		field: string;
		type: CursorType;
		/** Subtracted from the newest value seen, in the cursor's units (milliseconds for timestamps). */
		lookBack: number;
	};
	/** Hold back records edited in the last `seconds`, by their timestamp in `field`. */
	settle?: { field: string; seconds: number };
	/** Incremental mode: a field whose truthy value marks a deleted record (a soft delete). */
	deletedField?: string;
	now?: Date;
}

/** One input record, with what its event says happened to it (event mode). */
export interface DetectorInput {
	record: unknown;
	intent?: RecordIntent;
	/** The event reports a write this sync made itself (the writer said so), so it changes nothing. */
	ownWrite?: boolean;
}

/** The sync metadata a detected change carries (`cursor` is where the next incremental read starts). */
export type DetectorMeta = SyncMeta;

export type NoChangeReason = 'echo' | 'ownWrite' | 'unchanged' | 'notLinked' | 'alreadyDeleted' | 'ignored' | 'settling';

export type DetectorErrorReason = 'invalidRecord' | 'missingKey' | 'invalidKey' | 'duplicateKey' | 'missingCursor' | 'missingTimestamp';

export interface Detected {
	/** Position in the input; null for a record that a full snapshot no longer holds. */
	index: number | null;
	record: JsonObject;
	meta: DetectorMeta;
}

export interface DetectionError {
	index: number;
	record: unknown;
	key: string | null;
	reason: DetectorErrorReason;
	message: string;
	hint: string;
}

export interface CursorAdvance {
	/** The stored cursor before this run. */
	previous: string | null;
	/** Where the next read should start: the newest value seen minus the look-back, never behind `previous`. */
	next: string | null;
	moved: boolean;
}

export interface DetectionResult {
	created: Detected[];
	updated: Detected[];
	deleted: Detected[];
	unchanged: Detected[];
	heldBack: Detected[];
	errors: DetectionError[];
	/** Live records the state knew in this system (full snapshots only). */
	knownCount?: number;
	cursor?: CursorAdvance;
}

/** What the store knows, loaded for the prepared keys. */
export interface DetectorState {
	/**
	 * From `lookUp(syncId, system, prepared.keys)`. A full snapshot may leave it out and classify
	 * from `known` alone: the other systems' keys are then added later, only for what is emitted
	 * (`withLinkedKeys`), which in a steady state is little.
	 */
	entities?: Map<string, EntityState>;
	/** From `listKeys(syncId, system)`; needed for the deletes of a full snapshot. */
	known?: Map<string, RecordState & { entityId: string }>;
	/** From `getCursor(syncId, system)`; incremental mode. */
	cursor?: string | null;
}

interface PreparedRecord {
	kind: 'record';
	index: number;
	record: JsonObject;
	key: string;
	hash: string;
	projection: JsonObject;
	intent: RecordIntent;
	ownWrite: boolean;
	cursor?: CursorValue;
	editedAt?: number;
}

interface PreparedError extends DetectionError {
	kind: 'error';
	cursor?: CursorValue;
}

interface Settings {
	options: DetectorOptions;
	key: KeySpec;
	compared: ComparedFields;
	cursorField?: FieldPath;
	settleField?: FieldPath;
	deletedField?: FieldPath;
	now: number;
}

export interface PreparedRecords {
	readonly settings: Settings;
	readonly entries: Array<PreparedRecord | PreparedError>;
	/** The distinct valid keys of the input: look these up in the store. */
	readonly keys: string[];
	/** Every readable key of the input, duplicates and otherwise invalid records included: none of them was deleted. */
	readonly presentKeys: Set<string>;
}

const DEFAULT_MAX_DELETE_SHARE = 0.2;

function resolveSettings(options: DetectorOptions): Settings {
	if (options.fields.mode === 'only' && options.fields.fields.length === 0) {
		throw new SyncError('INVALID_INPUT', 'No field to compare is set', 'List the fields to compare, or compare all fields except the ignored ones.');
	}
	if (options.mode === 'incremental' && !options.cursor?.field) {
		throw new SyncError('INVALID_INPUT', 'Incremental mode needs a cursor field', 'Set "Cursor Field" to the field that grows with each change, e.g. "updated_at".');
	}
	const share = options.maxDeleteShare ?? DEFAULT_MAX_DELETE_SHARE;
	if (!(share >= 0 && share <= 1)) {
		throw new SyncError('INVALID_INPUT', `The mass-delete limit ${share * 100}% is not between 0% and 100%`, 'Set "Max Deletes (% of Known Records)" between 0 and 100.');
	}
	const now = (options.now ?? new Date()).getTime();
	if (Number.isNaN(now)) throw new SyncError('INVALID_INPUT', 'The current time is not a valid date', 'Pass a valid Date as `now`, or leave it out.');
	return {
		options,
		key: keySpec(options.keyFields),
		compared: comparedFields(options.fields),
		cursorField: options.mode === 'incremental' && options.cursor ? fieldPath(options.cursor.field) : undefined,
		settleField: options.settle && options.mode !== 'event' ? fieldPath(options.settle.field) : undefined,
		deletedField: options.mode === 'incremental' && options.deletedField ? fieldPath(options.deletedField) : undefined,
		now,
	};
}

function isMarkedDeleted(value: unknown): boolean {
	if (value === undefined || value === null || value === false || value === 0) return false;
	if (typeof value === 'string') return !['', 'false', '0', 'no'].includes(value.trim().toLowerCase());
	return true;
}

function errorEntry(index: number, record: unknown, key: string | null, reason: DetectorErrorReason, message: string, hint: string): PreparedError {
	return { kind: 'error', index, record, key, reason, message, hint };
}

function duplicateError(entry: PreparedRecord | PreparedError, key: string): PreparedError {
	return {
		...errorEntry(
			entry.index,
			entry.record,
			key,
			'duplicateKey',
			`The key ${JSON.stringify(key)} appears more than once in this input`,
			'A key must identify one record, so none of the copies is synced. Remove the duplicates before this node (e.g. with Remove Duplicates), or choose key fields that are unique together.',
		),
		cursor: entry.cursor,
	};
}

/** Step one: keys, hashes, cursor values and edit times of each record, and the input's problems. */
export function prepareRecords(inputs: DetectorInput[], options: DetectorOptions): PreparedRecords {
	const settings = resolveSettings(options);
	const { key: spec, compared, cursorField, settleField, deletedField } = settings;
	const cursorType = options.cursor?.type ?? 'timestamp';
	const entries: Array<PreparedRecord | PreparedError> = new Array(inputs.length);
	const firstByKey = new Map<string, number>();
	const duplicated = new Set<string>();
	// Keys of every record that has a readable key, invalid ones too: a full snapshot holds them.
	const presentKeys = new Set<string>();

	for (let index = 0; index < inputs.length; index++) {
		const { record, intent, ownWrite } = inputs[index];
		if (!isPlainObject(record)) {
			entries[index] = errorEntry(index, record, null, 'invalidRecord', 'The record is not an object', 'Each record must be an object of fields. In event mode, check "Record Field".');
			continue;
		}
		const cursor = cursorField ? parseCursor(readField(record, cursorField), cursorType) : undefined;
		const keyResult = recordKey(record, spec);
		if (!keyResult.ok) {
			entries[index] = { ...errorEntry(index, record, null, keyResult.reason, keyResult.message, keyResult.hint), cursor };
			continue;
		}
		const key = keyResult.key;
		presentKeys.add(key);
		if (cursorField && cursor === undefined) {
			entries[index] = errorEntry(
				index,
				record,
				key,
				'missingCursor',
				`The record has no ${cursorType} in cursor field "${cursorField.text}"`,
				`Check "Cursor Field" and "Cursor Type": every record of an incremental read needs a ${cursorType === 'timestamp' ? 'date and time' : 'number'} there.`,
			);
			continue;
		}
		let editedAt: number | undefined;
		if (settleField) {
			editedAt = timestampMs(readField(record, settleField));
			if (editedAt === undefined) {
				entries[index] = {
					...errorEntry(
						index,
						record,
						key,
						'missingTimestamp',
						`The record has no date and time in "${settleField.text}", so it cannot be held back while it settles`,
						'Check the settle timestamp field, or turn off "Hold Back Recent Edits".',
					),
					cursor,
				};
				continue;
			}
		}
		const projection = compared.project(record);
		const prepared: PreparedRecord = {
			kind: 'record',
			index,
			record: record as JsonObject,
			key,
			hash: hashValue(projection),
			projection,
			intent: deletedField && isMarkedDeleted(readField(record, deletedField)) ? 'delete' : (intent ?? 'upsert'),
			ownWrite: ownWrite === true,
			cursor,
			editedAt,
		};
		const first = firstByKey.get(key);
		if (first === undefined) {
			firstByKey.set(key, index);
			entries[index] = prepared;
		} else {
			duplicated.add(key);
			entries[first] = duplicateError(entries[first], key);
			entries[index] = duplicateError(prepared, key);
		}
	}

	const keys: string[] = [];
	for (const key of firstByKey.keys()) if (!duplicated.has(key)) keys.push(key);
	return { settings, entries, keys, presentKeys };
}

/** The key of this entity in each system where its record is live, this one included. */
function liveKeys(entity: EntityState): Record<string, string> {
	const keys: Record<string, string> = {};
	for (const system of Object.keys(entity.systems)) {
		const state = entity.systems[system];
		if (state.deletedAt === null) keys[system] = state.key;
	}
	return keys;
}

/** The record content at the top-level fields the base holds: what an echo of our write looks like. */
function projectOntoBase(record: JsonObject, base: JsonObject): JsonObject {
	const out: JsonObject = {};
	for (const field of Object.keys(base)) {
		if (Object.prototype.hasOwnProperty.call(record, field)) defineField(out, field, record[field]);
	}
	return out;
}

function hasExactlyFields(record: JsonObject, base: JsonObject): boolean {
	const fields = Object.keys(record).filter((field) => field !== '_sync');
	const baseFields = Object.keys(base);
	return fields.length === baseFields.length && baseFields.every((field) => Object.prototype.hasOwnProperty.call(record, field));
}

/**
 * The echo rule: the record is our own write coming back when its content, at the fields we wrote
 * (the base), hashes to what we wrote. Fields the system adds itself (ids, timestamps) don't matter.
 */
function isEcho(entry: PreparedRecord, state: RecordState, compared: ComparedFields): boolean {
	if (state.writtenHash === null) return false;
	if (state.base === null) return entry.hash === state.writtenHash;
	// When the base has exactly the record's fields, the projection is the record: reuse its hash.
	if (compared.wholeRecord && hasExactlyFields(entry.record, state.base)) return entry.hash === state.writtenHash;
	return hashValue(projectOntoBase(entry.record, state.base)) === state.writtenHash;
}

interface Decision {
	op: DetectorMeta['op'];
	reason?: NoChangeReason | 'reappeared';
	changedFields?: string[];
}

function decide(entry: PreparedRecord, own: RecordState | undefined, compared: ComparedFields): Decision {
	// Reported before its writer committed it, so the state cannot tell yet: the writer's word decides.
	if (entry.ownWrite) return { op: 'none', reason: 'ownWrite' };
	if (entry.intent === 'ignore') return { op: 'none', reason: 'ignored' };
	if (entry.intent === 'delete') {
		if (!own) return { op: 'none', reason: 'notLinked' };
		if (own.deletedAt !== null) return { op: 'none', reason: 'alreadyDeleted' };
		return { op: 'delete' };
	}
	if (!own) return { op: 'create' };
	if (own.deletedAt !== null) return { op: 'create', reason: 'reappeared' };
	if (isEcho(entry, own, compared)) return { op: 'none', reason: 'echo' };
	if (entry.hash === own.seenHash) return { op: 'none', reason: 'unchanged' };
	if (own.base === null) return { op: 'update' };
	const changedFields = compared.changedFields(entry.projection, own.base);
	// Same content as the last synced version, only hashed differently (e.g. a hash of all fields
	// stored for a record we wrote): nothing to sync.
	if (changedFields.length === 0) return { op: 'none', reason: 'unchanged' };
	return { op: 'update', changedFields };
}

function massDeleteError(deletes: number, known: number, share: number, system: string): SyncError {
	const percent = (value: number) => `${Math.round(value * 1000) / 10}%`;
	return new SyncError(
		'MASS_DELETE',
		`The snapshot would delete ${deletes} of ${known} known "${system}" records (${percent(deletes / known)}), more than the ${percent(share)} allowed`,
		`Nothing was emitted. A sudden mass delete is usually an incomplete read (an API outage, a pagination bug, a filter), so check the node that read the records first. If the records really were deleted, raise "Max Deletes (% of Known Records)" above ${percent(deletes / known)}, or turn on "Allow Mass Delete" for one run.`,
	);
}

function snapshotDeletes(prepared: PreparedRecords, known: Map<string, RecordState & { entityId: string }>, result: DetectionResult): void {
	const { options, key: spec } = prepared.settings;
	let knownCount = 0;
	for (const [key, state] of known) {
		if (state.deletedAt !== null) continue;
		knownCount++;
		if (prepared.presentKeys.has(key)) continue;
		const record = withKeyFields(state.base ? { ...state.base } : {}, key, spec) as JsonObject;
		result.deleted.push({
			index: null,
			record,
			meta: { syncId: options.syncId, system: options.system, key, op: 'delete', entityId: state.entityId },
		});
	}
	result.knownCount = knownCount;
	const share = options.maxDeleteShare ?? DEFAULT_MAX_DELETE_SHARE;
	if (!options.allowMassDelete && result.deleted.length > knownCount * share) {
		throw massDeleteError(result.deleted.length, knownCount, share, options.system);
	}
}

function advanceCursor(prepared: PreparedRecords, stored: string | null | undefined, heldBack: Detected[]): CursorAdvance {
	const { cursor: settings } = prepared.settings.options;
	const type = settings!.type;
	const previousText = stored ?? null;
	let previous: CursorValue | undefined;
	if (previousText !== null) {
		previous = parseCursor(previousText, type);
		if (previous === undefined) {
			throw new SyncError(
				'INVALID_INPUT',
				`The stored cursor ${JSON.stringify(previousText)} is not a ${type}`,
				`Set "Cursor Type" to match the stored cursor, or store a new one with Sync State > Cursor > Set (turn off "Only Move Forward").`,
			);
		}
	}
	let newest: CursorValue | undefined;
	for (const entry of prepared.entries) {
		if (entry.cursor !== undefined) newest = newest === undefined ? entry.cursor : maxCursor(newest, entry.cursor);
	}
	// A held-back record must be read again next time: stop just before the oldest of them.
	const heldIndexes = new Set(heldBack.map((detected) => detected.index));
	for (const entry of prepared.entries) {
		if (entry.kind === 'record' && entry.cursor !== undefined && heldIndexes.has(entry.index)) {
			const justBefore = cursorMinus(entry.cursor, 1);
			newest = newest === undefined ? justBefore : minCursor(newest, justBefore);
		}
	}
	if (newest === undefined) return { previous: previousText, next: previousText, moved: false };
	let next = cursorMinus(newest, settings!.lookBack);
	if (previous !== undefined) next = maxCursor(next, previous);
	const moved = previous === undefined || next > previous;
	return { previous: previousText, next: moved ? cursorText(next, type) : previousText, moved };
}

/** Step two: the op of each prepared record against the state, the deletes of a full snapshot, and the next cursor. */
export function classifyRecords(prepared: PreparedRecords, state: DetectorState): DetectionResult {
	const { options, compared, now } = prepared.settings;
	const { syncId, system } = options;
	const settleFrom = options.settle ? now - options.settle.seconds * 1000 : undefined;
	const result: DetectionResult = { created: [], updated: [], deleted: [], unchanged: [], heldBack: [], errors: [] };
	const { entities } = state;
	if (!entities && !state.known) {
		throw new SyncError('INVALID_INPUT', 'No state to classify the records against', 'Pass the entities from lookUp, or for a full snapshot the known keys from listKeys.');
	}

	for (const entry of prepared.entries) {
		if (entry.kind === 'error') {
			const { kind: _kind, cursor: _cursor, ...error } = entry;
			result.errors.push(error);
			continue;
		}
		const entity = entities?.get(entry.key);
		// Without a lookup, the known row is the record's own state: no copy per known record.
		const knownRow = entities ? undefined : state.known?.get(entry.key);
		const own = entity ? entity.systems[system] : knownRow;
		const decision = decide(entry, own, compared);
		const meta: DetectorMeta = { syncId, system, key: entry.key, op: decision.op, hash: entry.hash };
		if (decision.reason) meta.reason = decision.reason;
		if (decision.changedFields) meta.changedFields = decision.changedFields;
		if (entity && own) {
			meta.entityId = entity.entityId;
			meta.keys = liveKeys(entity);
			meta.keys[system] = entry.key;
		} else if (knownRow) {
			meta.entityId = knownRow.entityId;
			meta.keys = { [system]: entry.key };
		}
		const detected: Detected = { index: entry.index, record: entry.record, meta };
		if (decision.op === 'none') {
			result.unchanged.push(detected);
		} else if (settleFrom !== undefined && entry.editedAt !== undefined && entry.editedAt > settleFrom) {
			result.heldBack.push({ ...detected, meta: { ...meta, op: 'none', reason: 'settling' } });
		} else if (decision.op === 'create') {
			result.created.push(detected);
		} else if (decision.op === 'update') {
			result.updated.push(detected);
		} else {
			result.deleted.push(detected);
		}
	}

	if (options.mode === 'snapshot' && options.fullSnapshot) {
		if (!state.known) {
			throw new SyncError('INVALID_INPUT', 'A full snapshot needs the known keys of the system', 'Load them with listKeys(syncId, system) and pass them as `known`.');
		}
		snapshotDeletes(prepared, state.known, result);
	}
	if (options.mode === 'incremental') result.cursor = advanceCursor(prepared, state.cursor, result.heldBack);
	return result;
}

/** Both steps in one, for callers that hold the state already. */
export function detectChanges(input: { records: DetectorInput[]; state: DetectorState; options: DetectorOptions }): DetectionResult {
	return classifyRecords(prepareRecords(input.records, input.options), input.state);
}

/** Sets each linked record's keys in every system from its loaded entity. */
export function withLinkedKeys(detected: Detected[], entities: Map<string, EntityState>): Detected[] {
	return detected.map((item) => {
		const entity = item.meta.entityId ? entities.get(item.meta.entityId) : undefined;
		if (!entity) return item;
		return { ...item, meta: { ...item.meta, keys: { ...liveKeys(entity), ...(item.meta.key !== null ? { [item.meta.system]: item.meta.key } : {}) } } };
	});
}
