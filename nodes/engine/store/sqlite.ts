import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';

import { chainEvents } from '../audit/chain';
import {
	AUDIT_COLUMNS,
	AUDIT_QUEUE_COLUMNS,
	auditDeliveryFromRow,
	auditFromRow,
	auditLinkFromRow,
	auditValues,
	normaliseAuditQuery,
	normaliseWindow,
	requireSinkName,
	validateAuditEvents,
	type AuditQueueRow,
	type AuditRow,
	type DeliverySettlement,
} from '../audit/rows';
import type { AuditCount, AuditDelivery, AuditEvent, AuditQuery, ChainedAuditEvent, StoredAuditLink } from '../audit/types';
import { SyncError } from '../errors';
import type { JsonObject } from '../types';
import { validateSyncId } from './identifiers';
import {
	commitLoadRequest,
	entitiesByKey,
	failureLoadRequest,
	groupEntities,
	LeaseSweeps,
	linkLoadRequest,
	markClearedInputs,
	outboxRefKey,
	planCommit,
	planFailures,
	planLease,
	planLink,
	requirePositiveInteger,
	requireResetScope,
	requireText,
	requireTextList,
	retryClaimExpiry,
	timeOf,
	validateRetryPolicy,
	OUTBOX_COLUMNS,
	outboxFromRow,
	outboxValues,
	RECORD_COLUMNS,
	recordFromRow,
	recordValues,
	recordsByKey,
	requireCursorValue,
	requireOutboxStatus,
	statsFrom,
	type LinkagePlan,
	type LoadRequest,
	type OutboxRow,
	type RecordRow,
	type RowDecoder,
	type StoredRecord,
} from './commitPlan';
import type {
	CommitInput,
	CommitResult,
	EntityState,
	FailureInput,
	LinkInput,
	LockLease,
	OutboxEntry,
	OutboxStatus,
	RecordState,
	ResetScope,
	RetryPolicy,
	SyncStats,
	SyncStore,
} from './SyncStore';

/**
 * The built-in store: one SQLite file through Node's own `node:sqlite`.
 *
 * Schema (version in PRAGMA user_version):
 * - records: (sync_id, system, key) -> entity_id, plus the record state (seen and written hash,
 *   base JSON, deleted_at tombstone, version). UNIQUE (sync_id, entity_id, system) keeps one key
 *   per system per entity.
 * - cursors: (sync_id, system) -> value.
 * - outbox: (sync_id, source_system, source_key, target_system) -> payload, meta, error, attempts,
 *   next_attempt_at, status ('pending' or 'dead').
 * - locks: (sync_id, resource) -> owner, expires_at.
 * - audit: (sync_id, seq) -> the hash-chained audit event (see engine/audit/rows.ts).
 * - audit_queue: events waiting for an audit sink that was unreachable, in queue order (id).
 * Times are ISO-8601 UTC text, which sorts in time order.
 */

export interface BuiltinStoreOptions {
	filePath: string;
	/** n8n's EXECUTIONS_MODE; 'queue' is refused because its workers do not share a disk. */
	executionsMode?: string;
}

const BUSY_TIMEOUT_MS = 5000;

const MIGRATIONS: string[] = [
	`CREATE TABLE records (
		sync_id TEXT NOT NULL,
		system TEXT NOT NULL,
		key TEXT NOT NULL,
		entity_id TEXT NOT NULL,
		seen_hash TEXT,
		written_hash TEXT,
		base TEXT,
		deleted_at TEXT,
		version INTEGER NOT NULL,
		updated_at TEXT NOT NULL,
		PRIMARY KEY (sync_id, system, key),
		UNIQUE (sync_id, entity_id, system)
	) WITHOUT ROWID;
	CREATE TABLE cursors (
		sync_id TEXT NOT NULL,
		system TEXT NOT NULL,
		value TEXT NOT NULL,
		updated_at TEXT NOT NULL,
		PRIMARY KEY (sync_id, system)
	) WITHOUT ROWID;
	CREATE TABLE outbox (
		sync_id TEXT NOT NULL,
		source_system TEXT NOT NULL,
		source_key TEXT NOT NULL,
		target_system TEXT NOT NULL,
		entity_id TEXT,
		target_key TEXT,
		op TEXT NOT NULL,
		payload TEXT NOT NULL,
		meta TEXT,
		error TEXT NOT NULL,
		attempts INTEGER NOT NULL,
		next_attempt_at TEXT NOT NULL,
		status TEXT NOT NULL CHECK (status IN ('pending', 'dead')),
		created_at TEXT NOT NULL,
		updated_at TEXT NOT NULL,
		PRIMARY KEY (sync_id, source_system, source_key, target_system)
	) WITHOUT ROWID;
	CREATE INDEX outbox_due ON outbox (sync_id, status, next_attempt_at);
	CREATE TABLE locks (
		sync_id TEXT NOT NULL,
		resource TEXT NOT NULL,
		owner TEXT NOT NULL,
		expires_at TEXT NOT NULL,
		PRIMARY KEY (sync_id, resource)
	) WITHOUT ROWID;`,
	`CREATE TABLE audit (
		sync_id TEXT NOT NULL,
		seq INTEGER NOT NULL,
		event_id TEXT NOT NULL,
		logged_at TEXT NOT NULL,
		status TEXT NOT NULL,
		op TEXT NOT NULL,
		source_system TEXT NOT NULL,
		source_key TEXT,
		target_system TEXT,
		target_key TEXT,
		entity_id TEXT,
		correlation_id TEXT NOT NULL,
		event TEXT NOT NULL,
		prev_hash TEXT NOT NULL,
		hash TEXT NOT NULL,
		PRIMARY KEY (sync_id, seq)
	) WITHOUT ROWID;
	CREATE INDEX audit_time ON audit (sync_id, logged_at);
	CREATE INDEX audit_source ON audit (sync_id, source_system, source_key);
	CREATE INDEX audit_target ON audit (sync_id, target_system, target_key);
	CREATE INDEX audit_entity ON audit (sync_id, entity_id);
	CREATE INDEX audit_correlation ON audit (sync_id, correlation_id);
	CREATE TABLE audit_queue (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		sync_id TEXT NOT NULL,
		sink TEXT NOT NULL,
		event_id TEXT NOT NULL,
		event TEXT NOT NULL,
		attempts INTEGER NOT NULL,
		last_error TEXT NOT NULL,
		created_at TEXT NOT NULL,
		updated_at TEXT NOT NULL,
		UNIQUE (sync_id, sink, event_id)
	);
	CREATE INDEX audit_queue_order ON audit_queue (sync_id, sink, id);`,
];

type SqliteModule = typeof import('node:sqlite');

function loadSqlite(): SqliteModule {
	try {
		// Loaded on use, so that importing this package still works on a Node without node:sqlite.
		return require('node:sqlite') as SqliteModule;
	} catch (error) {
		throw new SyncError(
			'STORE_REFUSED',
			`The built-in store needs node:sqlite, which Node ${process.version} does not have`,
			'Choose the PostgreSQL store in the Sync State node (n8n 1.x on Node 20 has no node:sqlite), or run n8n on Node 22.13 or newer.',
			{ cause: error },
		);
	}
}

export async function openBuiltinStore(options: BuiltinStoreOptions): Promise<SyncStore> {
	if (options.executionsMode === 'queue') {
		throw new SyncError(
			'STORE_REFUSED',
			'The built-in store cannot be used in n8n queue mode',
			'Choose the PostgreSQL store in the Sync State node: the workers of queue mode run on separate disks, so a file would give each worker its own, diverging state.',
		);
	}
	const { DatabaseSync } = loadSqlite();
	requireText(options.filePath, 'the store file path');
	mkdirSync(dirname(options.filePath), { recursive: true });
	let db: DatabaseSync;
	try {
		db = new DatabaseSync(options.filePath, { timeout: BUSY_TIMEOUT_MS, enableForeignKeyConstraints: true });
		db.exec('PRAGMA journal_mode = WAL');
		// In WAL mode NORMAL cannot corrupt the file; a power cut may lose the last commits, which
		// the next cycle syncs again (delivery is at least once, applying is idempotent).
		db.exec('PRAGMA synchronous = NORMAL');
		migrate(db);
		// Without table statistics SQLite scans a sync's records to load each batch; keep them fresh.
		db.exec('PRAGMA optimize = 0x10002');
	} catch (error) {
		if (error instanceof SyncError) throw error;
		throw new SyncError(
			'STORE_UNAVAILABLE',
			`Cannot open the built-in store at ${options.filePath}: ${(error as Error).message}`,
			'Check that n8n may write to that folder and that the file is a Sync State store, or choose the PostgreSQL store.',
			{ cause: error },
		);
	}
	return new SqliteStore(db, options.filePath);
}

const LARGE_BATCH = 1000;

function migrate(db: DatabaseSync): void {
	const readVersion = () => Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version);
	if (readVersion() === MIGRATIONS.length) return;
	// IMMEDIATE takes the write lock first, so two processes opening a new file do not both migrate.
	db.exec('BEGIN IMMEDIATE');
	try {
		const version = readVersion();
		if (version > MIGRATIONS.length) {
			throw new SyncError(
				'STORE_REFUSED',
				`The built-in store was created by a newer version of this package (schema ${version}, this one knows ${MIGRATIONS.length})`,
				'Update n8n-nodes-two-way-sync to the newest version on this n8n.',
			);
		}
		for (let next = version; next < MIGRATIONS.length; next++) db.exec(MIGRATIONS[next]);
		db.exec(`PRAGMA user_version = ${MIGRATIONS.length}`);
		db.exec('COMMIT');
	} catch (error) {
		db.exec('ROLLBACK');
		throw error;
	}
}

/** node:sqlite returns documents as JSON text and times as the ISO text they were stored as. */
const decode: RowDecoder = {
	json: (value) => (value === null ? null : (JSON.parse(value as string) as JsonObject)),
	time: (value) => value as string | null,
};
const toStoredRecord = (row: RecordRow) => recordFromRow(row, decode);
const toOutboxEntry = (row: OutboxRow) => outboxFromRow(row, decode);
const toChainedEvent = (row: AuditRow) => auditFromRow(row, decode);

const RECORD_LIST = RECORD_COLUMNS.join(', ');
const OUTBOX_LIST = OUTBOX_COLUMNS.join(', ');
const AUDIT_LIST = AUDIT_COLUMNS.join(', ');
const AUDIT_QUEUE_LIST = AUDIT_QUEUE_COLUMNS.join(', ');
/** Every Query filter is a named parameter that is null when unused, so each order is one prepared statement. */
const AUDIT_FILTER = `sync_id = :sync
	AND (:system IS NULL OR :key IS NOT NULL OR source_system = :system OR target_system = :system)
	AND (:key IS NULL
		OR (:system IS NULL AND (source_key = :key OR target_key = :key))
		OR (source_system = :system AND source_key = :key)
		OR (target_system = :system AND target_key = :key))
	AND (:entity IS NULL OR entity_id = :entity OR correlation_id = :entity)
	AND (:statuses IS NULL OR status IN (SELECT value FROM json_each(:statuses)))
	AND (:ops IS NULL OR op IN (SELECT value FROM json_each(:ops)))
	AND (:from IS NULL OR logged_at >= :from)
	AND (:to IS NULL OR logged_at < :to)`;
const AUDIT_PAGE = {
	newest: `SELECT ${AUDIT_LIST} FROM audit WHERE ${AUDIT_FILTER} AND (:after IS NULL OR seq < :after) ORDER BY seq DESC LIMIT :limit`,
	oldest: `SELECT ${AUDIT_LIST} FROM audit WHERE ${AUDIT_FILTER} AND (:after IS NULL OR seq > :after) ORDER BY seq LIMIT :limit`,
};
const placeholders = (count: number) => Array.from({ length: count }, () => '?').join(', ');
/** The columns after the identifying ones (entity_id, system, key), in RECORD_COLUMNS order. */
const RECORD_STATE_COLUMNS = RECORD_COLUMNS.slice(3);
const assignments = (columns: readonly string[]) => columns.map((column) => `${column} = ?`).join(', ');
/** Lists travel as one JSON parameter, so each statement is prepared once whatever the batch size. */
const KEYS_OF_JSON = `SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?)`;
const TEXTS_OF_JSON = 'SELECT value FROM json_each(?)';

const leaseSweeps = new LeaseSweeps();

class SqliteStore implements SyncStore {
	readonly backend = 'builtin' as const;
	private closed = false;
	private readonly statements = new Map<string, StatementSync>();

	constructor(
		private readonly db: DatabaseSync,
		private readonly filePath: string,
	) {}

	async lookUp(syncId: string, system: string, keys: string[]): Promise<Map<string, EntityState>> {
		this.begin(syncId);
		requireText(system, 'the system');
		requireTextList(keys, 'the keys to look up');
		const rows = this.all<RecordRow>(
			`SELECT ${RECORD_LIST} FROM records WHERE sync_id = ? AND entity_id IN
				(SELECT entity_id FROM records WHERE sync_id = ? AND system = ? AND key IN (${TEXTS_OF_JSON}))`,
			syncId,
			syncId,
			system,
			JSON.stringify(keys),
		);
		return entitiesByKey(rows.map(toStoredRecord), system);
	}

	async listKeys(syncId: string, system: string): Promise<Map<string, RecordState & { entityId: string }>> {
		this.begin(syncId);
		requireText(system, 'the system');
		const rows = this.all<RecordRow>(`SELECT ${RECORD_LIST} FROM records WHERE sync_id = ? AND system = ?`, syncId, system);
		return recordsByKey(rows.map(toStoredRecord));
	}

	async getEntities(syncId: string, entityIds: string[]): Promise<Map<string, EntityState>> {
		this.begin(syncId);
		requireTextList(entityIds, 'the entity IDs');
		const rows = this.all<RecordRow>(
			`SELECT ${RECORD_LIST} FROM records WHERE sync_id = ? AND entity_id IN (${TEXTS_OF_JSON})`,
			syncId,
			JSON.stringify(entityIds),
		);
		return groupEntities(rows.map(toStoredRecord));
	}

	async commit(syncId: string, inputs: CommitInput[]): Promise<CommitResult[]> {
		this.begin(syncId);
		const request = commitLoadRequest(syncId, inputs);
		const results = this.transaction(() => {
			const plan = planCommit(syncId, inputs, this.loadForLinkage(syncId, request), new Date());
			return this.applyLinkage(syncId, plan);
		});
		// A large batch can change the tables' shape enough for stale statistics to mislead the planner.
		if (inputs.length >= LARGE_BATCH) this.db.exec('PRAGMA optimize');
		return results;
	}

	async link(syncId: string, inputs: LinkInput[]): Promise<CommitResult[]> {
		this.begin(syncId);
		const request = linkLoadRequest(syncId, inputs);
		return this.transaction(() => {
			const plan = planLink(syncId, inputs, this.loadForLinkage(syncId, request), new Date());
			return this.applyLinkage(syncId, plan);
		});
	}

	async unlink(syncId: string, system: string, key: string): Promise<boolean> {
		this.begin(syncId);
		return this.transaction(
			() => this.run('DELETE FROM records WHERE sync_id = ? AND system = ? AND key = ?', syncId, system, key) > 0,
		);
	}

	async getCursor(syncId: string, system: string): Promise<string | null> {
		this.begin(syncId);
		const row = this.statement('SELECT value FROM cursors WHERE sync_id = ? AND system = ?').get(syncId, system) as
			| { value: string }
			| undefined;
		return row?.value ?? null;
	}

	async setCursor(syncId: string, system: string, value: string): Promise<void> {
		this.begin(syncId);
		requireText(system, 'the system');
		requireCursorValue(value);
		this.transaction(() =>
			this.run(
				`INSERT INTO cursors (sync_id, system, value, updated_at) VALUES (?, ?, ?, ?)
					ON CONFLICT (sync_id, system) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
				syncId,
				system,
				value,
				new Date().toISOString(),
			),
		);
	}

	async recordFailures(syncId: string, failures: FailureInput[], policy: RetryPolicy, now?: Date): Promise<OutboxEntry[]> {
		this.begin(syncId);
		const refs = failureLoadRequest(failures);
		validateRetryPolicy(policy);
		const time = timeOf(now);
		return this.transaction(() => {
			const existing = this.all<OutboxRow>(
				`SELECT ${OUTBOX_LIST} FROM outbox WHERE sync_id = ?
					AND (source_system, source_key, target_system) IN
					(SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(?))`,
				syncId,
				JSON.stringify(refs.map((ref) => [ref.sourceSystem, ref.sourceKey, ref.targetSystem])),
			).map(toOutboxEntry);
			const plan = planFailures(existing, failures, policy, time);
			const insert = this.statement(
				`INSERT INTO outbox (${OUTBOX_LIST}, sync_id) VALUES (${placeholders(OUTBOX_COLUMNS.length + 1)})`,
			);
			for (const entry of plan.inserts) insert.run(...outboxValues(entry), syncId);
			const update = this.statement(
				`UPDATE outbox SET ${assignments(OUTBOX_COLUMNS)}
					WHERE sync_id = ? AND source_system = ? AND source_key = ? AND target_system = ?`,
			);
			for (const entry of plan.updates) {
				update.run(...outboxValues(entry), syncId, entry.sourceSystem, entry.sourceKey, entry.targetSystem);
			}
			return plan.entries;
		});
	}

	async getDueRetries(syncId: string, limit: number, now?: Date, claimMs?: number): Promise<OutboxEntry[]> {
		this.begin(syncId);
		requirePositiveInteger(limit, 'the retry limit');
		const time = timeOf(now);
		const claimedUntil = retryClaimExpiry(time, claimMs);
		const readDue = () =>
			this.all<OutboxRow>(
				`SELECT ${OUTBOX_LIST} FROM outbox WHERE sync_id = ? AND status = 'pending' AND next_attempt_at <= ?
					ORDER BY next_attempt_at, created_at, source_system, source_key, target_system LIMIT ?`,
				syncId,
				time.toISOString(),
				limit,
			).map(toOutboxEntry);
		if (claimedUntil === null) return readDue();
		// BEGIN IMMEDIATE holds the file's write lock from the read to the claim, so a concurrent caller
		// reads only after these entries are no longer due.
		return this.transaction(() => {
			const due = readDue();
			if (due.length === 0) return due;
			this.run(
				`UPDATE outbox SET next_attempt_at = ? WHERE sync_id = ?
					AND (source_system, source_key, target_system) IN
					(SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(?))`,
				claimedUntil,
				syncId,
				JSON.stringify(due.map((entry) => [entry.sourceSystem, entry.sourceKey, entry.targetSystem])),
			);
			return due.map((entry) => ({ ...entry, nextAttemptAt: claimedUntil }));
		});
	}

	async listOutbox(syncId: string, status: OutboxStatus | 'all', limit: number): Promise<OutboxEntry[]> {
		this.begin(syncId);
		requireOutboxStatus(status);
		requirePositiveInteger(limit, 'the outbox limit');
		return this.all<OutboxRow>(
			`SELECT ${OUTBOX_LIST} FROM outbox WHERE sync_id = ? AND (? = 'all' OR status = ?)
				ORDER BY created_at, source_system, source_key, target_system LIMIT ?`,
			syncId,
			status,
			status,
			limit,
		).map(toOutboxEntry);
	}

	async acquireLock(syncId: string, resource: string, owner: string, ttlMs: number, now?: Date): Promise<LockLease> {
		this.begin(syncId);
		const time = timeOf(now);
		return this.transaction(() => {
			if (leaseSweeps.due(this.filePath, syncId, time)) {
				this.run('DELETE FROM locks WHERE sync_id = ? AND expires_at <= ?', syncId, time.toISOString());
			}
			const current = this.statement('SELECT owner, expires_at FROM locks WHERE sync_id = ? AND resource = ?').get(
				syncId,
				resource,
			) as { owner: string; expires_at: string } | undefined;
			const { lease, take } = planLease(
				current ? { owner: current.owner, expiresAt: current.expires_at } : null,
				resource,
				owner,
				ttlMs,
				time,
			);
			if (take) {
				this.run(
					`INSERT INTO locks (sync_id, resource, owner, expires_at) VALUES (?, ?, ?, ?)
						ON CONFLICT (sync_id, resource) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at`,
					syncId,
					resource,
					owner,
					lease.expiresAt,
				);
			}
			return lease;
		});
	}

	async releaseLock(syncId: string, resource: string, owner: string): Promise<boolean> {
		this.begin(syncId);
		return this.transaction(
			() => this.run('DELETE FROM locks WHERE sync_id = ? AND resource = ? AND owner = ?', syncId, resource, owner) > 0,
		);
	}

	async reset(syncId: string, scope: ResetScope): Promise<void> {
		this.begin(syncId);
		requireResetScope(scope);
		const tables = scope === 'all' ? ['records', 'cursors', 'outbox', 'locks'] : [scope === 'links' ? 'records' : scope];
		this.transaction(() => {
			for (const table of tables) this.run(`DELETE FROM ${table} WHERE sync_id = ?`, syncId);
		});
	}

	async stats(syncId: string, now?: Date): Promise<SyncStats> {
		this.begin(syncId);
		const nowIso = timeOf(now).toISOString();
		// One read transaction, so the counts describe one moment.
		this.db.exec('BEGIN');
		try {
			const entities = this.statement('SELECT count(DISTINCT entity_id) AS n FROM records WHERE sync_id = ?').get(syncId);
			const outbox = this.statement(
				`SELECT
					coalesce(sum(status = 'pending'), 0) AS pending,
					coalesce(sum(status = 'pending' AND next_attempt_at <= ?), 0) AS due,
					coalesce(sum(status = 'dead'), 0) AS dead
				FROM outbox WHERE sync_id = ?`,
			).get(nowIso, syncId);
			const locks = this.statement('SELECT count(*) AS n FROM locks WHERE sync_id = ? AND expires_at > ?').get(syncId, nowIso);
			return statsFrom(syncId, {
				entities: entities?.n,
				systems: this.all(
					'SELECT system, count(*) AS links, count(deleted_at) AS tombstones FROM records WHERE sync_id = ? GROUP BY system',
					syncId,
				),
				pending: outbox?.pending,
				due: outbox?.due,
				dead: outbox?.dead,
				cursors: this.all('SELECT system, value FROM cursors WHERE sync_id = ?', syncId),
				locks: locks?.n,
			});
		} finally {
			this.db.exec('COMMIT');
		}
	}

	async appendAudit(syncId: string, events: AuditEvent[]): Promise<ChainedAuditEvent[]> {
		this.begin(syncId);
		validateAuditEvents(syncId, events);
		if (events.length === 0) return [];
		// BEGIN IMMEDIATE holds the file's write lock, so no other append can take the same place in the chain.
		return this.transaction(() => {
			const head = this.statement('SELECT seq, hash FROM audit WHERE sync_id = ? ORDER BY seq DESC LIMIT 1').get(syncId) as
				| { seq: number; hash: string }
				| undefined;
			const chained = chainEvents(syncId, head ? { seq: Number(head.seq), hash: head.hash } : null, events);
			const insert = this.statement(`INSERT INTO audit (sync_id, ${AUDIT_LIST}) VALUES (${placeholders(AUDIT_COLUMNS.length + 1)})`);
			for (const event of chained) insert.run(syncId, ...auditValues(event));
			return chained;
		});
	}

	async queryAudit(syncId: string, query: AuditQuery): Promise<ChainedAuditEvent[]> {
		this.begin(syncId);
		const q = normaliseAuditQuery(query);
		const rows = this.statement(q.newestFirst ? AUDIT_PAGE.newest : AUDIT_PAGE.oldest).all({
			sync: syncId,
			system: q.system,
			key: q.key,
			entity: q.entityId,
			statuses: q.statuses ? JSON.stringify(q.statuses) : null,
			ops: q.ops ? JSON.stringify(q.ops) : null,
			from: q.from,
			to: q.to,
			after: q.after,
			limit: q.limit,
		}) as AuditRow[];
		return rows.map(toChainedEvent);
	}

	async readAuditChain(syncId: string, afterSeq: number, limit: number): Promise<StoredAuditLink[]> {
		this.begin(syncId);
		requirePositiveInteger(limit, 'the page size');
		return this.all<AuditRow>(
			`SELECT ${AUDIT_LIST} FROM audit WHERE sync_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
			syncId,
			afterSeq,
			limit,
		).map((row) => auditLinkFromRow(row, decode));
	}

	async countAudit(syncId: string, from: string, to: string): Promise<AuditCount[]> {
		this.begin(syncId);
		const window = normaliseWindow(from, to);
		return this.all<AuditCount>(
			`SELECT coalesce(target_system, source_system) AS system, op, status, count(*) AS count FROM audit
				WHERE sync_id = ? AND logged_at >= ? AND logged_at < ? GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
			syncId,
			window.from,
			window.to,
		).map((row) => ({ ...row, count: Number(row.count) }));
	}

	async listAuditDeliveries(syncId: string, sink: string, limit: number): Promise<AuditDelivery[]> {
		this.begin(syncId);
		requireSinkName(sink);
		requirePositiveInteger(limit, 'the delivery limit');
		return this.all<AuditQueueRow>(
			`SELECT ${AUDIT_QUEUE_LIST} FROM audit_queue WHERE sync_id = ? AND sink = ? ORDER BY id LIMIT ?`,
			syncId,
			sink,
			limit,
		).map((row) => auditDeliveryFromRow(row, decode));
	}

	async settleAuditDeliveries(syncId: string, sink: string, settlement: DeliverySettlement, now?: Date): Promise<void> {
		this.begin(syncId);
		requireSinkName(sink);
		const nowIso = timeOf(now).toISOString();
		const error = settlement.error ?? 'Not delivered';
		this.transaction(() => {
			const remove = this.statement('DELETE FROM audit_queue WHERE sync_id = ? AND sink = ? AND event_id = ?');
			for (const id of settlement.delivered) remove.run(syncId, sink, id);
			const keep = this.statement(
				`INSERT INTO audit_queue (sync_id, sink, event_id, event, attempts, last_error, created_at, updated_at)
					VALUES (?, ?, ?, ?, 1, ?, ?, ?)
					ON CONFLICT (sync_id, sink, event_id) DO UPDATE
					SET attempts = attempts + 1, last_error = excluded.last_error, updated_at = excluded.updated_at`,
			);
			for (const event of settlement.undelivered) {
				keep.run(syncId, sink, requireText(event.id, 'the audit event id'), JSON.stringify(event), error, nowIso, nowIso);
			}
		});
	}

	async close(): Promise<void> {
		if (this.closed) return;
		this.closed = true;
		this.statements.clear();
		this.db.exec('PRAGMA optimize');
		this.db.close();
	}

	private loadForLinkage(syncId: string, request: LoadRequest): StoredRecord[] {
		return this.all<RecordRow>(
			`SELECT ${RECORD_LIST} FROM records WHERE sync_id = ? AND entity_id IN (
				SELECT entity_id FROM records WHERE sync_id = ? AND (system, key) IN (${KEYS_OF_JSON})
				UNION SELECT value FROM json_each(?))`,
			syncId,
			syncId,
			JSON.stringify(request.keys.map(({ system, key }) => [system, key])),
			JSON.stringify(request.entityIds),
		).map(toStoredRecord);
	}

	private applyLinkage(syncId: string, plan: LinkagePlan): CommitResult[] {
		const remove = this.statement('DELETE FROM records WHERE sync_id = ? AND system = ? AND key = ?');
		for (const { system, key } of plan.deletes) remove.run(syncId, system, key);
		const insert = this.statement(
			`INSERT INTO records (${RECORD_LIST}, sync_id) VALUES (${placeholders(RECORD_COLUMNS.length + 1)})`,
		);
		for (const row of plan.inserts) insert.run(...recordValues(row), syncId);
		// SQLite rewrites every index whose columns a SET names, even to the same value. An update
		// never moves a key to another entity (the plan refuses that with LINK_CONFLICT), so it
		// names only the state columns.
		const update = this.statement(
			`UPDATE records SET ${assignments(RECORD_STATE_COLUMNS)} WHERE sync_id = ? AND system = ? AND key = ?`,
		);
		for (const row of plan.updates) {
			update.run(...recordValues(row).slice(RECORD_COLUMNS.length - RECORD_STATE_COLUMNS.length), syncId, row.system, row.key);
		}
		const cleared = new Set<string>();
		const clear = this.statement(
			'DELETE FROM outbox WHERE sync_id = ? AND source_system = ? AND source_key = ? AND target_system = ?',
		);
		for (const { ref } of plan.outboxClears) {
			if (Number(clear.run(syncId, ref.sourceSystem, ref.sourceKey, ref.targetSystem).changes) > 0) {
				cleared.add(outboxRefKey(ref));
			}
		}
		return markClearedInputs(plan, cleared);
	}

	private begin(syncId: string): void {
		if (this.closed) {
			throw new SyncError('STORE_UNAVAILABLE', 'The built-in store was closed', 'Open the store again before using it.');
		}
		requireText(validateSyncId(syncId), 'the Sync ID');
	}

	/** Every write runs in one IMMEDIATE transaction: it takes the write lock up front, so it never fails half-way on a busy file. */
	private transaction<T>(work: () => T): T {
		try {
			this.db.exec('BEGIN IMMEDIATE');
		} catch (error) {
			throw new SyncError(
				'STORE_UNAVAILABLE',
				`The built-in store is busy: ${(error as Error).message}`,
				`Another process held the store's write lock for over ${BUSY_TIMEOUT_MS / 1000} s. Run fewer executions at once, or choose the PostgreSQL store for many parallel executions.`,
				{ cause: error },
			);
		}
		try {
			const result = work();
			this.db.exec('COMMIT');
			return result;
		} catch (error) {
			this.db.exec('ROLLBACK');
			throw error;
		}
	}

	private statement(sql: string): StatementSync {
		let statement = this.statements.get(sql);
		if (!statement) {
			statement = this.db.prepare(sql);
			this.statements.set(sql, statement);
		}
		return statement;
	}

	private all<T>(sql: string, ...params: SQLInputValue[]): T[] {
		return this.statement(sql).all(...params) as T[];
	}

	private run(sql: string, ...params: SQLInputValue[]): number {
		return Number(this.statement(sql).run(...params).changes);
	}
}
