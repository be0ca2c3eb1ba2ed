import type { AuditCount, AuditDelivery, AuditEvent, AuditQuery, ChainedAuditEvent, StoredAuditLink } from '../audit/types';
import type { DeliverySettlement } from '../audit/rows';
import type { JsonObject, SyncOp } from '../types';

/**
 * The one interface both state backends implement (built-in SQLite and PostgreSQL).
 * Every method is scoped by `syncId`, works on batches (never one round trip per record),
 * and runs in a single transaction.
 */

/** A system's key for one entity, plus that record's remembered state. */
export interface RecordState {
	system: string;
	key: string;
	/** Hash of the record's compared fields when this sync last saw it. */
	seenHash: string | null;
	/** Hash of what this sync last wrote to that system (echo suppression). */
	writtenHash: string | null;
	/** The last synced version of the tracked fields only. */
	base: JsonObject | null;
	/** ISO time of the delete, when the record was deleted. */
	deletedAt: string | null;
	/** Bumped on every real change; unchanged by an idempotent repeat. */
	version: number;
	updatedAt: string;
}

/** Everything known about one entity: its key and state in each system. */
export interface EntityState {
	entityId: string;
	systems: Record<string, RecordState>;
}

/** One side of a commit: what to remember for one system's record. */
export interface CommitSide {
	system: string;
	key: string;
	/** Omitted fields are left as they are; `null` clears. */
	seenHash?: string | null;
	writtenHash?: string | null;
	base?: JsonObject | null;
	/** true: tombstone the record; false: clear a tombstone. */
	deleted?: boolean;
	/**
	 * An update: the top-level fields it wrote. Instead of `base`, the store merges them over
	 * the stored base (a field written replaces that field whole, as an update does), and sets
	 * `writtenHash` and `seenHash` to the hash of the merged base, in the same transaction. Give
	 * neither `base` nor the hashes with it.
	 */
	basePatch?: JsonObject;
	/**
	 * With `basePatch`: this system's record as read in this run, before the write; pass only its
	 * tracked (compared) fields. It replaces the stored base under the patch, so the system's own
	 * edits since the last sync, and every tracked field the write left alone, are part of the
	 * merged base (and of the echo the write is expected to cause).
	 */
	observed?: JsonObject;
	/**
	 * This key replaces that key of the same system for the entity (a record re-created after a
	 * delete): the old link is removed in the same transaction, even while it is still live. Any
	 * other live key of the system still fails with LINK_CONFLICT.
	 */
	replacesKey?: string;
}

/**
 * One successful change to remember. All sides end up linked to one entity:
 * `entityId` if given (created when new), otherwise the entity any side is already linked to,
 * otherwise a new one derived deterministically from the first side.
 * A key is never moved to another entity, and an entity keeps one key per system: a side whose
 * key is linked elsewhere, or that would give the entity a second live key in its system, fails
 * the batch with LINK_CONFLICT. A tombstoned key, or the live key a side names in `replacesKey`, is
 * replaced by the new key of its system.
 */
export interface CommitInput {
	entityId?: string;
	sides: CommitSide[];
	/** Outbox entries that this commit settles. */
	clearOutbox?: OutboxRef[];
}

export interface CommitResult {
	entityId: string;
	/** false when the commit repeated what the store already held. */
	changed: boolean;
	createdEntity: boolean;
}

export interface LinkInput {
	/** Link to this existing entity; it must exist in the sync. */
	entityId?: string;
	keys: Array<{ system: string; key: string }>;
}

/** Names one change that could not be applied: its source record and the target system. */
export interface OutboxRef {
	sourceSystem: string;
	sourceKey: string;
	targetSystem: string;
}

export interface FailureInput extends OutboxRef {
	entityId?: string | null;
	targetKey?: string | null;
	op: SyncOp;
	/** The record as it was to be written, so that a retry can replay it. */
	payload: JsonObject;
	/** The item's sync metadata, replayed with the payload. */
	meta?: JsonObject | null;
	error: string;
}

export interface RetryPolicy {
	maxAttempts: number;
	baseDelayMs: number;
	maxDelayMs: number;
}

export type OutboxStatus = 'pending' | 'dead';

export interface OutboxEntry extends OutboxRef {
	entityId: string | null;
	targetKey: string | null;
	op: SyncOp;
	payload: JsonObject;
	meta: JsonObject | null;
	error: string;
	attempts: number;
	nextAttemptAt: string;
	status: OutboxStatus;
	createdAt: string;
	updatedAt: string;
}

export interface LockLease {
	resource: string;
	acquired: boolean;
	/** The current holder (us when acquired). */
	owner: string;
	expiresAt: string;
}

export type ResetScope = 'all' | 'links' | 'cursors' | 'outbox' | 'locks';

export interface SyncStats {
	syncId: string;
	entities: number;
	systems: Record<string, { links: number; tombstones: number }>;
	outbox: { pending: number; due: number; dead: number };
	cursors: Record<string, string>;
	locks: number;
}

export interface SyncStore {
	readonly backend: 'builtin' | 'postgres';

	/** Look up records by key in one system. Unknown keys are absent from the map. */
	lookUp(syncId: string, system: string, keys: string[]): Promise<Map<string, EntityState>>;
	/** All entities that have a record in `system` (for snapshot deletes). */
	listKeys(syncId: string, system: string): Promise<Map<string, RecordState & { entityId: string }>>;
	getEntities(syncId: string, entityIds: string[]): Promise<Map<string, EntityState>>;

	/**
	 * Atomic and idempotent: committing the same input twice changes nothing. The batch is one
	 * transaction, so one conflicting input fails (and rolls back) the whole batch. Inputs apply in
	 * order; a later input sees the links an earlier one made.
	 */
	commit(syncId: string, inputs: CommitInput[]): Promise<CommitResult[]>;
	link(syncId: string, inputs: LinkInput[]): Promise<CommitResult[]>;
	/** Removes the key's link and its record state. Returns false when it was not linked. */
	unlink(syncId: string, system: string, key: string): Promise<boolean>;

	getCursor(syncId: string, system: string): Promise<string | null>;
	setCursor(syncId: string, system: string, value: string): Promise<void>;

	/** Adds or bumps outbox entries with exponential backoff; dead-letters after `maxAttempts`. */
	recordFailures(syncId: string, failures: FailureInput[], policy: RetryPolicy, now?: Date): Promise<OutboxEntry[]>;
	/**
	 * Pending entries whose next attempt time has come, the longest overdue first (then the oldest).
	 * With `claimMs`, the same transaction claims them: their next attempt moves to now + claimMs
	 * (the `nextAttemptAt` returned), so no other caller gets them until then, even at the same
	 * moment. Commit clears a replayed entry, Record Failure counts the attempt and reschedules it,
	 * and an entry whose replay crashed is due again once its claim has expired. Without `claimMs`
	 * it only reads.
	 */
	getDueRetries(syncId: string, limit: number, now?: Date, claimMs?: number): Promise<OutboxEntry[]>;
	/** In the order the entries were first recorded. */
	listOutbox(syncId: string, status: OutboxStatus | 'all', limit: number): Promise<OutboxEntry[]>;

	acquireLock(syncId: string, resource: string, owner: string, ttlMs: number, now?: Date): Promise<LockLease>;
	/** Returns false when `owner` did not hold the lock. */
	releaseLock(syncId: string, resource: string, owner: string): Promise<boolean>;

	reset(syncId: string, scope: ResetScope): Promise<void>;

	// The audit trail (engine/audit). It survives every reset scope: it is the record of what happened.

	/**
	 * Appends events to the sync's hash chain, in order, in one transaction. Appends of concurrent
	 * executions are serialised per syncId, so the sync keeps one unbroken chain.
	 */
	appendAudit(syncId: string, events: AuditEvent[]): Promise<ChainedAuditEvent[]>;
	queryAudit(syncId: string, query: AuditQuery): Promise<ChainedAuditEvent[]>;
	/** Events after `afterSeq` in sequence order, as stored, for Verify Chain. */
	readAuditChain(syncId: string, afterSeq: number, limit: number): Promise<StoredAuditLink[]>;
	/** Events logged in [from, to) per system (target, else source), op and status. */
	countAudit(syncId: string, from: string, to: string): Promise<AuditCount[]>;
	/** The events waiting for a sink (e.g. an HTTP endpoint that was down), oldest first. */
	listAuditDeliveries(syncId: string, sink: string, limit: number): Promise<AuditDelivery[]>;
	/** Forgets the delivered events and keeps the undelivered ones (counting one more attempt). */
	settleAuditDeliveries(syncId: string, sink: string, settlement: DeliverySettlement, now?: Date): Promise<void>;
	/** `due` counts pending entries due at `now`; `locks` counts the leases not yet expired at `now`. */
	stats(syncId: string, now?: Date): Promise<SyncStats>;

	close(): Promise<void>;
}

export type { SyncOp };
