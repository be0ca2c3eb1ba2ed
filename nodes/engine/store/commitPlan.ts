import { SyncError } from '../errors';
import { canonicalJson, hashValue } from '../hash';
import { entityIdFor } from '../ids';
import { isDeadLettered, retryDelayMs } from '../retry';
import type { JsonObject, JsonValue } from '../types';
import type {
	CommitInput,
	CommitResult,
	CommitSide,
	EntityState,
	FailureInput,
	LinkInput,
	LockLease,
	OutboxEntry,
	OutboxRef,
	RecordState,
	RetryPolicy,
	SyncStats,
} from './SyncStore';

/**
 * The dialect-free half of both backends. A backend loads the rows a batch touches, this module
 * decides what the batch means (which entity, which fields change, what is a no-op, what
 * conflicts), and the backend writes the result. Keeping the rules here means SQLite and
 * PostgreSQL cannot drift apart.
 */

export interface SystemKey {
	system: string;
	key: string;
}

/** One row of record state: a link from (system, key) to an entity, plus what we remember of it. */
export interface StoredRecord extends RecordState {
	entityId: string;
}

/** What a backend must load before planning: every row of the entities that own one of `keys` or are named in `entityIds`. */
export interface LoadRequest {
	keys: SystemKey[];
	entityIds: string[];
}

export interface LinkagePlan {
	results: CommitResult[];
	/** Rows to remove first: keys replaced by a new key of the same system. */
	deletes: SystemKey[];
	/** The final state of each changed row that was loaded (and so, on PostgreSQL, row-locked). */
	updates: StoredRecord[];
	/** New rows. A concurrent writer may have inserted the same key meanwhile; the unique key then rejects ours. */
	inserts: StoredRecord[];
	/** Outbox entries to clear, with the index of the input that settles each. */
	outboxClears: Array<{ input: number; ref: OutboxRef }>;
}

const NUL = '\u0000';

export function keyOf(system: string, key: string): string {
	return `${system}${NUL}${key}`;
}

export function outboxRefKey(ref: OutboxRef): string {
	return `${ref.sourceSystem}${NUL}${ref.sourceKey}${NUL}${ref.targetSystem}`;
}

/** Keys and names end up in text columns; PostgreSQL cannot store NUL and an empty key links nothing. */
export function requireText(value: unknown, what: string): string {
	if (typeof value !== 'string' || value === '' || value.includes(NUL)) {
		throw new SyncError(
			'INVALID_INPUT',
			`${what.charAt(0).toUpperCase()}${what.slice(1)} must be a non-empty text without NUL characters`,
			`Check the expression that sets ${what}; it resolved to ${JSON.stringify(value) ?? String(value)}.`,
		);
	}
	return value;
}

/** Keys from the items: both backends compare them as text, so each must be text already. */
export function requireTextList(values: unknown, what: string): string[] {
	if (!Array.isArray(values) || values.some((value) => typeof value !== 'string')) {
		throw new SyncError(
			'INVALID_INPUT',
			`${what.charAt(0).toUpperCase()}${what.slice(1)} must be a list of texts`,
			'Convert the keys to text before this step (e.g. {{ String($json.id) }}).',
		);
	}
	return values as string[];
}

export function requirePositiveInteger(value: number, what: string): number {
	if (!Number.isInteger(value) || value < 1) {
		throw new SyncError('INVALID_INPUT', `${what} must be a whole number of at least 1`, `Set ${what} to 1 or more.`);
	}
	return value;
}

export function timeOf(now: Date | undefined): Date {
	const time = now ?? new Date();
	if (Number.isNaN(time.getTime())) {
		throw new SyncError('INVALID_INPUT', 'The current time is not a valid date', 'Pass a valid Date as `now`, or leave it out.');
	}
	return time;
}

export function groupEntities(rows: Iterable<StoredRecord>): Map<string, EntityState> {
	const entities = new Map<string, EntityState>();
	for (const row of rows) {
		let entity = entities.get(row.entityId);
		if (!entity) {
			entity = { entityId: row.entityId, systems: {} };
			entities.set(row.entityId, entity);
		}
		entity.systems[row.system] = toRecordState(row);
	}
	return entities;
}

export function toRecordState(row: StoredRecord): RecordState {
	return {
		system: row.system,
		key: row.key,
		seenHash: row.seenHash,
		writtenHash: row.writtenHash,
		base: row.base,
		deletedAt: row.deletedAt,
		version: row.version,
		updatedAt: row.updatedAt,
	};
}

/** Maps each of the asked keys of `system` to the full state of its entity. */
export function entitiesByKey(rows: StoredRecord[], system: string): Map<string, EntityState> {
	const entities = groupEntities(rows);
	const byKey = new Map<string, EntityState>();
	for (const row of rows) {
		if (row.system === system) byKey.set(row.key, entities.get(row.entityId)!);
	}
	return byKey;
}

/** For listKeys: each record of one system by its key. */
export function recordsByKey(rows: StoredRecord[]): Map<string, StoredRecord> {
	return new Map(rows.map((row) => [row.key, row]));
}

interface LinkageInput {
	entityId?: string;
	sides: CommitSide[];
	clearOutbox?: OutboxRef[];
}

function loadRequestFor(syncId: string, inputs: LinkageInput[]): LoadRequest {
	const keys = new Map<string, SystemKey>();
	const entityIds = new Set<string>();
	for (const input of inputs) {
		if (input.entityId !== undefined) entityIds.add(input.entityId);
		const first = input.sides[0];
		// A new entity's id is derived from the first side; it may already exist through other keys.
		if (first && typeof first.system === 'string' && typeof first.key === 'string') {
			entityIds.add(entityIdFor(syncId, first.system, first.key));
		}
		for (const side of input.sides) keys.set(keyOf(side.system, side.key), { system: side.system, key: side.key });
	}
	return { keys: [...keys.values()], entityIds: [...entityIds] };
}

export function commitLoadRequest(syncId: string, inputs: CommitInput[]): LoadRequest {
	return loadRequestFor(syncId, validateCommitInputs(inputs));
}

export function linkLoadRequest(syncId: string, inputs: LinkInput[]): LoadRequest {
	return loadRequestFor(syncId, linkInputsAsSides(inputs));
}

function validateCommitInputs(inputs: CommitInput[]): CommitInput[] {
	if (!Array.isArray(inputs)) {
		throw new SyncError('INVALID_INPUT', 'Commit expects a list of changes', 'Pass one commit input per item.');
	}
	inputs.forEach((input, index) => {
		validateSides(input.sides, index, input.entityId);
		for (const side of input.sides) validateCommitSide(side, index);
	});
	return inputs;
}

function isJsonObject(value: unknown): value is JsonObject {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function validateCommitSide(side: CommitSide, index: number): void {
	const where = `Item ${index}, system "${side.system}"`;
	if (side.replacesKey !== undefined) requireText(side.replacesKey, `the replaced key of item ${index} in system "${side.system}"`);
	if (side.observed !== undefined && side.basePatch === undefined) {
		throw new SyncError('INVALID_INPUT', `${where}: an observed record is only used with a base patch`, 'Pass the observed record together with basePatch, or leave it out.');
	}
	if (side.basePatch === undefined) return;
	if (!isJsonObject(side.basePatch) || (side.observed !== undefined && !isJsonObject(side.observed))) {
		throw new SyncError('INVALID_INPUT', `${where}: a base patch and an observed record must be objects of fields`, 'Pass the fields the partial update wrote as an object.');
	}
	if (side.base !== undefined || side.writtenHash !== undefined || side.seenHash !== undefined || side.deleted === true) {
		throw new SyncError(
			'INVALID_INPUT',
			`${where}: a base patch cannot come with a base, a hash or a delete`,
			'The store computes the base and its hash from the patch; for a full write pass base and writtenHash instead.',
		);
	}
}

/**
 * The base after an update: the record as this system holds it now, with the written fields over
 * it. "Now" is the observed record (its tracked fields) when the system's record was read in this
 * run, otherwise the stored base. The fields not written stay part of the base: otherwise an edit
 * to one of them would pass for the echo of this write, and a record matched on its first sync
 * would look changed there on every later run.
 */
function patchedBase(stored: JsonObject | null, observed: JsonObject | undefined, patch: JsonObject): JsonObject {
	const base: JsonObject = {};
	const known = observed ?? stored ?? {};
	for (const field of Object.keys(known)) defineOwn(base, field, known[field]);
	for (const field of Object.keys(patch)) defineOwn(base, field, patch[field]);
	return base;
}

/** A plain assignment would let a field named "__proto__" replace the object's prototype. */
function defineOwn(target: JsonObject, field: string, value: JsonValue): void {
	Object.defineProperty(target, field, { value, enumerable: true, writable: true, configurable: true });
}

function linkInputsAsSides(inputs: LinkInput[]): LinkageInput[] {
	if (!Array.isArray(inputs)) {
		throw new SyncError('INVALID_INPUT', 'Link expects a list of links', 'Pass one link input per item.');
	}
	return inputs.map((input, index) => {
		validateSides(input.keys, index, input.entityId);
		return { entityId: input.entityId, sides: input.keys.map(({ system, key }) => ({ system, key })) };
	});
}

function validateSides(sides: Array<{ system: string; key: string }>, index: number, entityId: string | undefined): void {
	if (entityId !== undefined) requireText(entityId, `the entity ID of item ${index}`);
	if (!Array.isArray(sides) || sides.length === 0) {
		throw new SyncError(
			'INVALID_INPUT',
			`Item ${index} names no system key`,
			'Give at least one system and key to remember (e.g. the source record and the record just written).',
		);
	}
	const systems = new Set<string>();
	for (const side of sides) {
		requireText(side.system, `the system of item ${index}`);
		requireText(side.key, `the key of item ${index} in system "${side.system}"`);
		if (systems.has(side.system)) {
			throw new SyncError(
				'INVALID_INPUT',
				`Item ${index} names system "${side.system}" twice`,
				'An entity has one key per system; give each system once.',
			);
		}
		systems.add(side.system);
	}
}

/** The rows a batch works on, updated as the batch is planned so later inputs see earlier ones. */
class RecordIndex {
	private readonly byKey = new Map<string, StoredRecord>();
	private readonly byEntity = new Map<string, Map<string, StoredRecord>>();
	private readonly upserts = new Map<string, StoredRecord>();
	/** Keys whose row is in the store now, before this batch's writes. */
	private readonly stored = new Set<string>();
	readonly deletes = new Map<string, SystemKey>();

	constructor(rows: StoredRecord[]) {
		for (const row of rows) {
			this.put(row);
			this.stored.add(keyOf(row.system, row.key));
		}
	}

	/** Splits the final rows by whether they are still in the store once the deletes have run. */
	writes(): { updates: StoredRecord[]; inserts: StoredRecord[] } {
		const updates: StoredRecord[] = [];
		const inserts: StoredRecord[] = [];
		for (const [id, row] of this.upserts) (this.stored.has(id) ? updates : inserts).push(row);
		return { updates, inserts };
	}

	get(system: string, key: string): StoredRecord | undefined {
		return this.byKey.get(keyOf(system, key));
	}

	entityExists(entityId: string): boolean {
		return (this.byEntity.get(entityId)?.size ?? 0) > 0;
	}

	keyInSystem(entityId: string, system: string): StoredRecord | undefined {
		return this.byEntity.get(entityId)?.get(system);
	}

	write(row: StoredRecord): void {
		this.put(row);
		this.upserts.set(keyOf(row.system, row.key), row);
	}

	remove(row: StoredRecord): void {
		const id = keyOf(row.system, row.key);
		this.byKey.delete(id);
		this.byEntity.get(row.entityId)?.delete(row.system);
		this.upserts.delete(id);
		this.stored.delete(id);
		this.deletes.set(id, { system: row.system, key: row.key });
	}

	private put(row: StoredRecord): void {
		this.byKey.set(keyOf(row.system, row.key), row);
		let systems = this.byEntity.get(row.entityId);
		if (!systems) {
			systems = new Map();
			this.byEntity.set(row.entityId, systems);
		}
		systems.set(row.system, row);
	}
}

/**
 * Plans a commit batch against the loaded rows. Inputs are applied in order, so a later input
 * sees the links an earlier one made. Throws LINK_CONFLICT instead of moving a key between
 * entities or giving an entity a second live key in one system.
 */
export function planCommit(syncId: string, inputs: CommitInput[], existing: StoredRecord[], now: Date): LinkagePlan {
	return planLinkage(syncId, validateCommitInputs(inputs), existing, now, 'commit');
}

/** Plans a link batch: like a commit that remembers no content, but a named entity must exist. */
export function planLink(syncId: string, inputs: LinkInput[], existing: StoredRecord[], now: Date): LinkagePlan {
	return planLinkage(syncId, linkInputsAsSides(inputs), existing, now, 'link');
}

function planLinkage(
	syncId: string,
	inputs: LinkageInput[],
	existing: StoredRecord[],
	now: Date,
	mode: 'commit' | 'link',
): LinkagePlan {
	const index = new RecordIndex(existing);
	const nowIso = now.toISOString();
	const outboxClears: LinkagePlan['outboxClears'] = [];
	const results = inputs.map((input, inputIndex): CommitResult => {
		const entityId = resolveEntity(syncId, input, inputIndex, index, mode);
		const createdEntity = !index.entityExists(entityId);
		let changed = false;
		for (const side of input.sides) {
			if (applySide(entityId, side, inputIndex, index, nowIso)) changed = true;
		}
		for (const ref of input.clearOutbox ?? []) {
			requireText(ref.sourceSystem, `the outbox source system of item ${inputIndex}`);
			requireText(ref.sourceKey, `the outbox source key of item ${inputIndex}`);
			requireText(ref.targetSystem, `the outbox target system of item ${inputIndex}`);
			outboxClears.push({ input: inputIndex, ref });
		}
		return { entityId, changed, createdEntity };
	});
	return { results, deletes: [...index.deletes.values()], ...index.writes(), outboxClears };
}

function resolveEntity(
	syncId: string,
	input: LinkageInput,
	inputIndex: number,
	index: RecordIndex,
	mode: 'commit' | 'link',
): string {
	const linked = new Map<string, CommitSide>();
	for (const side of input.sides) {
		const row = index.get(side.system, side.key);
		if (row && !linked.has(row.entityId)) linked.set(row.entityId, side);
	}
	if (input.entityId !== undefined) {
		for (const [otherEntity, side] of linked) {
			if (otherEntity !== input.entityId) throw keyLinkedElsewhere(side, otherEntity, input.entityId, inputIndex);
		}
		if (mode === 'link' && !index.entityExists(input.entityId)) {
			throw new SyncError(
				'UNKNOWN_ENTITY',
				`Item ${inputIndex}: entity "${input.entityId}" does not exist in this sync`,
				'Use an entity ID returned by Look Up or Commit of the same Sync ID, or leave the entity ID empty to link the keys to each other.',
			);
		}
		return input.entityId;
	}
	const candidates = [...linked];
	if (candidates.length > 1) {
		const [[firstEntity], [secondEntity, side]] = candidates;
		throw keyLinkedElsewhere(side, secondEntity, firstEntity, inputIndex);
	}
	if (candidates.length === 1) return candidates[0][0];
	const first = input.sides[0];
	return entityIdFor(syncId, first.system, first.key);
}

function keyLinkedElsewhere(side: SystemKey, linkedTo: string, wanted: string, inputIndex: number): SyncError {
	return new SyncError(
		'LINK_CONFLICT',
		`Item ${inputIndex}: key "${side.key}" of system "${side.system}" is linked to entity "${linkedTo}", not to "${wanted}"`,
		`Unlink "${side.key}" in "${side.system}" first (Sync State, Unlink) if it really belongs to the other record, or check the key mapping that produced it.`,
	);
}

/** Returns whether the side changed what the store holds. */
function applySide(entityId: string, side: CommitSide, inputIndex: number, index: RecordIndex, nowIso: string): boolean {
	const current = index.get(side.system, side.key);
	if (!current) {
		const occupant = index.keyInSystem(entityId, side.system);
		if (occupant) {
			// A deleted record may be recreated under a new key; a live one would become a duplicate,
			// unless the side says this key replaces exactly that one.
			if (occupant.deletedAt === null && occupant.key !== side.replacesKey) {
				throw new SyncError(
					'LINK_CONFLICT',
					`Item ${inputIndex}: entity "${entityId}" already has key "${occupant.key}" in system "${side.system}", so "${side.key}" cannot be linked too`,
					`An entity has one key per system. If "${side.key}" replaced "${occupant.key}", unlink "${occupant.key}" first (Sync State, Unlink); otherwise check for a duplicate record in "${side.system}".`,
				);
			}
			index.remove(occupant);
		}
	}
	const patched = side.basePatch ? patchedBase(current?.base ?? null, side.observed, side.basePatch) : undefined;
	// The hash of the merged base is what the echo of this write will hash to.
	const patchedHash = patched ? hashValue(patched) : undefined;
	const next: StoredRecord = {
		entityId,
		system: side.system,
		key: side.key,
		seenHash: pick(patchedHash ?? side.seenHash, current?.seenHash),
		writtenHash: pick(patchedHash ?? side.writtenHash, current?.writtenHash),
		base: pick(patched ?? side.base, current?.base),
		deletedAt:
			side.deleted === true
				? (current?.deletedAt ?? nowIso)
				: side.deleted === false
					? null
					: (current?.deletedAt ?? null),
		version: current?.version ?? 0,
		updatedAt: current?.updatedAt ?? nowIso,
	};
	if (current && sameState(current, next)) return false;
	next.version += 1;
	next.updatedAt = nowIso;
	index.write(next);
	return true;
}

function pick<T>(given: T | null | undefined, current: T | null | undefined): T | null {
	return given !== undefined ? given : (current ?? null);
}

function sameState(a: StoredRecord, b: StoredRecord): boolean {
	return (
		a.entityId === b.entityId &&
		a.seenHash === b.seenHash &&
		a.writtenHash === b.writtenHash &&
		a.deletedAt === b.deletedAt &&
		sameJson(a.base, b.base)
	);
}

function sameJson(a: JsonObject | null, b: JsonObject | null): boolean {
	if (a === null || b === null) return a === b;
	return canonicalJson(a) === canonicalJson(b);
}

export function validateRetryPolicy(policy: RetryPolicy): RetryPolicy {
	requirePositiveInteger(policy.maxAttempts, 'Max Attempts');
	for (const [value, what] of [
		[policy.baseDelayMs, 'the base retry delay'],
		[policy.maxDelayMs, 'the maximum retry delay'],
	] as const) {
		if (!Number.isFinite(value) || value < 0) {
			throw new SyncError('INVALID_INPUT', `${what} must be zero or more milliseconds`, `Set ${what} to 0 or more.`);
		}
	}
	return policy;
}

export function failureLoadRequest(failures: FailureInput[]): OutboxRef[] {
	const refs = new Map<string, OutboxRef>();
	failures.forEach((failure, index) => {
		requireText(failure.sourceSystem, `the source system of failure ${index}`);
		requireText(failure.sourceKey, `the source key of failure ${index}`);
		requireText(failure.targetSystem, `the target system of failure ${index}`);
		if (failure.payload === null || typeof failure.payload !== 'object' || Array.isArray(failure.payload)) {
			throw new SyncError(
				'INVALID_INPUT',
				`Failure ${index} has no record to replay`,
				'Pass the record that was to be written as the payload, so that a retry can write it again.',
			);
		}
		if (!['create', 'update', 'delete'].includes(failure.op)) {
			throw new SyncError(
				'INVALID_INPUT',
				`Failure ${index} has the op "${String(failure.op)}"`,
				'Record a failure only for a create, update or delete that could not be applied.',
			);
		}
		refs.set(outboxRefKey(failure), {
			sourceSystem: failure.sourceSystem,
			sourceKey: failure.sourceKey,
			targetSystem: failure.targetSystem,
		});
	});
	return [...refs.values()];
}

export interface FailurePlan {
	/** The entry after each failure, in input order. */
	entries: OutboxEntry[];
	/** The final state of each loaded entry that failed again, once. */
	updates: OutboxEntry[];
	/** The final state of each new entry, once. */
	inserts: OutboxEntry[];
}

/** Each failure bumps its entry's attempt count; the delay grows per retry.ts and the entry goes dead at maxAttempts. */
export function planFailures(existing: OutboxEntry[], failures: FailureInput[], policy: RetryPolicy, now: Date): FailurePlan {
	const current = new Map(existing.map((entry) => [outboxRefKey(entry), entry]));
	const nowIso = now.toISOString();
	const entries = failures.map((failure): OutboxEntry => {
		const refKey = outboxRefKey(failure);
		const previous = current.get(refKey);
		const attempts = (previous?.attempts ?? 0) + 1;
		const entry: OutboxEntry = {
			sourceSystem: failure.sourceSystem,
			sourceKey: failure.sourceKey,
			targetSystem: failure.targetSystem,
			entityId: failure.entityId ?? previous?.entityId ?? null,
			targetKey: failure.targetKey ?? previous?.targetKey ?? null,
			op: failure.op,
			payload: failure.payload,
			meta: failure.meta ?? null,
			error: String(failure.error),
			attempts,
			nextAttemptAt: new Date(now.getTime() + retryDelayMs(attempts, policy)).toISOString(),
			status: isDeadLettered(attempts, policy) ? 'dead' : 'pending',
			createdAt: previous?.createdAt ?? nowIso,
			updatedAt: nowIso,
		};
		current.set(refKey, entry);
		return entry;
	});
	const updates: OutboxEntry[] = [];
	const inserts: OutboxEntry[] = [];
	const stored = new Set(existing.map(outboxRefKey));
	for (const [refKey, entry] of new Map(entries.map((entry) => [outboxRefKey(entry), entry]))) {
		(stored.has(refKey) ? updates : inserts).push(entry);
	}
	return { entries, updates, inserts };
}

/** Decides a lease: free, expired or already ours means we take it (or extend it) until now + ttl. */
export function planLease(
	current: { owner: string; expiresAt: string } | null,
	resource: string,
	owner: string,
	ttlMs: number,
	now: Date,
): { lease: LockLease; take: boolean } {
	requireText(resource, 'the lock resource');
	requireText(owner, 'the lock owner');
	requirePositiveInteger(ttlMs, 'the lock time to live (ms)');
	if (current && current.owner !== owner && Date.parse(current.expiresAt) > now.getTime()) {
		return { lease: { resource, acquired: false, owner: current.owner, expiresAt: current.expiresAt }, take: false };
	}
	const expiresAt = new Date(now.getTime() + ttlMs).toISOString();
	return { lease: { resource, acquired: true, owner, expiresAt }, take: true };
}

/** How often a store clears a sync's expired leases (webhook replay windows, locks of crashed executions). */
export const LEASE_SWEEP_INTERVAL_MS = 60_000;

/**
 * When the expired leases of each sync in each store were last cleared. Every webhook event leaves
 * a replay lease, so without clearing the locks table would only grow; clearing at most once a
 * minute per process keeps the cost to one pass over the live leases per minute. Stores are opened
 * per execution, so this lives as long as the process.
 */
export class LeaseSweeps {
	private readonly last = new Map<string, number>();

	/** `place` names the store (a file, or a server and schema). */
	due(place: string, syncId: string, now: Date): boolean {
		const scope = `${place}\u0000${syncId}`;
		const previous = this.last.get(scope);
		if (previous !== undefined && Math.abs(now.getTime() - previous) < LEASE_SWEEP_INTERVAL_MS) return false;
		this.last.set(scope, now.getTime());
		return true;
	}
}

/** Marks the inputs whose outbox clearing removed something as changed. */
export function markClearedInputs(plan: LinkagePlan, clearedRefKeys: Set<string>): CommitResult[] {
	for (const clear of plan.outboxClears) {
		if (clearedRefKeys.has(outboxRefKey(clear.ref))) plan.results[clear.input].changed = true;
	}
	return plan.results;
}

export function requireOutboxStatus(status: string): void {
	if (!['pending', 'dead', 'all'].includes(status)) {
		throw new SyncError('INVALID_INPUT', `Unknown outbox status "${status}"`, 'Choose pending, dead or all.');
	}
}

/** When a claim of due retries taken at `now` expires (their new next attempt time), or null for a read without a claim. */
export function retryClaimExpiry(now: Date, claimMs: number | undefined): string | null {
	if (claimMs === undefined) return null;
	requirePositiveInteger(claimMs, 'the retry claim time (ms)');
	return new Date(now.getTime() + claimMs).toISOString();
}

export const RESET_SCOPES = ['all', 'links', 'cursors', 'outbox', 'locks'] as const;

export function requireResetScope(scope: string): void {
	if (!(RESET_SCOPES as readonly string[]).includes(scope)) {
		throw new SyncError('INVALID_INPUT', `Unknown reset scope "${scope}"`, `Choose one of: ${RESET_SCOPES.join(', ')}.`);
	}
}

// ---------------------------------------------------------------------------------------------
// Rows: one column order and one conversion for both backends. Only how a driver returns JSON
// documents and times differs, and that is the decoder's job.

export type SqlValue = string | number | null;

export const RECORD_COLUMNS = [
	'entity_id',
	'system',
	'key',
	'seen_hash',
	'written_hash',
	'base',
	'deleted_at',
	'version',
	'updated_at',
] as const;

export const OUTBOX_COLUMNS = [
	'source_system',
	'source_key',
	'target_system',
	'entity_id',
	'target_key',
	'op',
	'payload',
	'meta',
	'error',
	'attempts',
	'next_attempt_at',
	'status',
	'created_at',
	'updated_at',
] as const;

type Row<Columns extends readonly string[]> = Record<Columns[number], unknown>;
export type RecordRow = Row<typeof RECORD_COLUMNS>;
export type OutboxRow = Row<typeof OUTBOX_COLUMNS>;

export interface RowDecoder {
	json(value: unknown): JsonObject | null;
	time(value: unknown): string | null;
}

function jsonText(value: JsonObject | null): string | null {
	return value === null ? null : JSON.stringify(value);
}

/** A record's values in RECORD_COLUMNS order, with documents as JSON text and times as ISO text. */
export function recordValues(row: StoredRecord): SqlValue[] {
	return [
		row.entityId,
		row.system,
		row.key,
		row.seenHash,
		row.writtenHash,
		jsonText(row.base),
		row.deletedAt,
		row.version,
		row.updatedAt,
	];
}

/** An outbox entry's values in OUTBOX_COLUMNS order. */
export function outboxValues(entry: OutboxEntry): SqlValue[] {
	return [
		entry.sourceSystem,
		entry.sourceKey,
		entry.targetSystem,
		entry.entityId,
		entry.targetKey,
		entry.op,
		jsonText(entry.payload),
		jsonText(entry.meta),
		entry.error,
		entry.attempts,
		entry.nextAttemptAt,
		entry.status,
		entry.createdAt,
		entry.updatedAt,
	];
}

export function recordFromRow(row: RecordRow, decode: RowDecoder): StoredRecord {
	return {
		entityId: row.entity_id as string,
		system: row.system as string,
		key: row.key as string,
		seenHash: row.seen_hash as string | null,
		writtenHash: row.written_hash as string | null,
		base: decode.json(row.base),
		deletedAt: decode.time(row.deleted_at),
		version: Number(row.version),
		updatedAt: decode.time(row.updated_at) as string,
	};
}

export function outboxFromRow(row: OutboxRow, decode: RowDecoder): OutboxEntry {
	return {
		sourceSystem: row.source_system as string,
		sourceKey: row.source_key as string,
		targetSystem: row.target_system as string,
		entityId: row.entity_id as string | null,
		targetKey: row.target_key as string | null,
		op: row.op as OutboxEntry['op'],
		payload: decode.json(row.payload) as JsonObject,
		meta: decode.json(row.meta),
		error: row.error as string,
		attempts: Number(row.attempts),
		nextAttemptAt: decode.time(row.next_attempt_at) as string,
		status: row.status as OutboxEntry['status'],
		createdAt: decode.time(row.created_at) as string,
		updatedAt: decode.time(row.updated_at) as string,
	};
}

/** The counts both backends query, shaped as SyncStats. Drivers may return counts as text. */
export function statsFrom(
	syncId: string,
	counts: {
		entities: unknown;
		systems: Array<{ system: string; links: unknown; tombstones: unknown }>;
		pending: unknown;
		due: unknown;
		dead: unknown;
		cursors: Array<{ system: string; value: string }>;
		locks: unknown;
	},
): SyncStats {
	return {
		syncId,
		entities: Number(counts.entities),
		systems: Object.fromEntries(
			counts.systems.map((row) => [row.system, { links: Number(row.links), tombstones: Number(row.tombstones) }]),
		),
		outbox: { pending: Number(counts.pending), due: Number(counts.due), dead: Number(counts.dead) },
		cursors: Object.fromEntries(counts.cursors.map((row) => [row.system, row.value])),
		locks: Number(counts.locks),
	};
}

export function requireCursorValue(value: unknown): string {
	if (typeof value !== 'string') {
		throw new SyncError('INVALID_INPUT', 'The cursor value must be text', 'Convert the cursor to text, e.g. an ISO date.');
	}
	return value;
}
