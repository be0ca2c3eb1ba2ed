import { createHash } from 'node:crypto';
import type { ConnectionOptions } from 'node:tls';

import { Client, Pool, type ClientConfig, type PoolClient, type QueryResultRow } from 'pg';

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
import { validateSchemaName, validateSyncId, validateTablePrefix } from './identifiers';
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
	type SqlValue,
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
 * The PostgreSQL store, for production and for n8n queue mode, where many workers share the state.
 *
 * Tables live in `schema` with names `<tablePrefix>records`, `cursors`, `outbox`, `locks` and
 * `schema_migrations`; their columns are those of the built-in store (see sqlite.ts), with
 * timestamptz times and json documents (json, not jsonb, because jsonb cannot hold "\u0000").
 *
 * What guards what under concurrent executions:
 * - record state and outbox entries: every write transaction first loads the rows it will change
 *   with SELECT ... FOR UPDATE, so a second writer waits and then plans on the committed rows;
 * - new keys and new outbox entries: plain INSERTs under the primary key and the one-key-per-system
 *   unique key; when another writer inserted the same row first, the transaction is retried and
 *   then sees that row (no second entity, no duplicate link);
 * - cursors: INSERT ... ON CONFLICT DO UPDATE;
 * - lock leases and migrations: pg_advisory_xact_lock on a hash of the lease (or of the schema),
 *   so the read-decide-write of a lease, or of a migration, runs for one transaction at a time;
 * - the audit chain: pg_advisory_xact_lock on a hash of the syncId around read-head-then-insert,
 *   so appends of concurrent executions queue up and each links to the one before (the primary
 *   key (sync_id, seq) would reject a second event at one place in any case).
 */

export type PostgresSslMode = 'disable' | 'allow' | 'require' | 'verify-full';

export interface PostgresStoreOptions {
	host: string;
	port: number;
	database: string;
	user: string;
	password: string;
	/** As libpq: allow tries without TLS first; require encrypts without checking the certificate; verify-full checks it and the host name. */
	ssl: PostgresSslMode;
	/** PEM certificate(s) to trust for verify-full, when the server's certificate is not from a public CA. */
	caCertificate?: string;
	schema?: string;
	tablePrefix?: string;
	connectionTimeoutMs?: number;
	poolMax?: number;
}

export const DEFAULT_SCHEMA = 'two_way_sync';
const DEFAULT_CONNECTION_TIMEOUT_MS = 10_000;
const DEFAULT_POOL_MAX = 10;
const IDLE_TIMEOUT_MS = 10_000;
const MAX_TRANSACTION_ATTEMPTS = 8;
/** unique_violation, serialization_failure, deadlock_detected: another writer got there first. */
const RETRYABLE_CODES = new Set(['23505', '40001', '40P01']);

interface Tables {
	schemaName: string;
	schema: string;
	records: string;
	cursors: string;
	outbox: string;
	locks: string;
	migrations: string;
	outboxDueIndex: string;
	audit: string;
	auditQueue: string;
	/** Index names (indexes live in the table's schema, so they take the prefix but no schema). */
	auditIndexes: { time: string; source: string; target: string; entity: string; correlation: string; queue: string };
	/** Namespaces advisory lock ids, so two stores in one database never share a lock. */
	space: string;
}

function quoteIdent(name: string): string {
	return `"${name.replace(/"/g, '""')}"`;
}

function tablesFor(options: PostgresStoreOptions): Tables {
	const schemaName = validateSchemaName(options.schema ?? DEFAULT_SCHEMA);
	const prefix = validateTablePrefix(options.tablePrefix ?? '');
	const schema = quoteIdent(schemaName);
	const table = (name: string) => `${schema}.${quoteIdent(prefix + name)}`;
	return {
		schemaName,
		schema,
		records: table('records'),
		cursors: table('cursors'),
		outbox: table('outbox'),
		locks: table('locks'),
		migrations: table('schema_migrations'),
		outboxDueIndex: quoteIdent(`${prefix}outbox_due`),
		audit: table('audit'),
		auditQueue: table('audit_queue'),
		auditIndexes: {
			time: quoteIdent(`${prefix}audit_time`),
			source: quoteIdent(`${prefix}audit_source`),
			target: quoteIdent(`${prefix}audit_target`),
			entity: quoteIdent(`${prefix}audit_entity`),
			correlation: quoteIdent(`${prefix}audit_correlation`),
			queue: quoteIdent(`${prefix}audit_queue_order`),
		},
		space: `${schemaName}\u0000${prefix}`,
	};
}

const MIGRATIONS: Array<(t: Tables) => string[]> = [
	(t) => [
		`CREATE TABLE ${t.records} (
			sync_id text NOT NULL,
			system text NOT NULL,
			key text NOT NULL,
			entity_id text NOT NULL,
			seen_hash text,
			written_hash text,
			base json,
			deleted_at timestamptz,
			version integer NOT NULL,
			updated_at timestamptz NOT NULL,
			PRIMARY KEY (sync_id, system, key),
			UNIQUE (sync_id, entity_id, system)
		)`,
		`CREATE TABLE ${t.cursors} (
			sync_id text NOT NULL,
			system text NOT NULL,
			value text NOT NULL,
			updated_at timestamptz NOT NULL,
			PRIMARY KEY (sync_id, system)
		)`,
		`CREATE TABLE ${t.outbox} (
			sync_id text NOT NULL,
			source_system text NOT NULL,
			source_key text NOT NULL,
			target_system text NOT NULL,
			entity_id text,
			target_key text,
			op text NOT NULL,
			payload json NOT NULL,
			meta json,
			error text NOT NULL,
			attempts integer NOT NULL,
			next_attempt_at timestamptz NOT NULL,
			status text NOT NULL CHECK (status IN ('pending', 'dead')),
			created_at timestamptz NOT NULL,
			updated_at timestamptz NOT NULL,
			PRIMARY KEY (sync_id, source_system, source_key, target_system)
		)`,
		`CREATE INDEX ${t.outboxDueIndex} ON ${t.outbox} (sync_id, status, next_attempt_at)`,
		`CREATE TABLE ${t.locks} (
			sync_id text NOT NULL,
			resource text NOT NULL,
			owner text NOT NULL,
			expires_at timestamptz NOT NULL,
			PRIMARY KEY (sync_id, resource)
		)`,
	],
	(t) => [
		`CREATE TABLE ${t.audit} (
			sync_id text NOT NULL,
			seq bigint NOT NULL,
			event_id text NOT NULL,
			logged_at timestamptz NOT NULL,
			status text NOT NULL,
			op text NOT NULL,
			source_system text NOT NULL,
			source_key text,
			target_system text,
			target_key text,
			entity_id text,
			correlation_id text NOT NULL,
			event json NOT NULL,
			prev_hash text NOT NULL,
			hash text NOT NULL,
			PRIMARY KEY (sync_id, seq)
		)`,
		`CREATE INDEX ${t.auditIndexes.time} ON ${t.audit} (sync_id, logged_at)`,
		`CREATE INDEX ${t.auditIndexes.source} ON ${t.audit} (sync_id, source_system, source_key)`,
		`CREATE INDEX ${t.auditIndexes.target} ON ${t.audit} (sync_id, target_system, target_key)`,
		`CREATE INDEX ${t.auditIndexes.entity} ON ${t.audit} (sync_id, entity_id)`,
		`CREATE INDEX ${t.auditIndexes.correlation} ON ${t.audit} (sync_id, correlation_id)`,
		`CREATE TABLE ${t.auditQueue} (
			id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			sync_id text NOT NULL,
			sink text NOT NULL,
			event_id text NOT NULL,
			event json NOT NULL,
			attempts integer NOT NULL,
			last_error text NOT NULL,
			created_at timestamptz NOT NULL,
			updated_at timestamptz NOT NULL,
			UNIQUE (sync_id, sink, event_id)
		)`,
		`CREATE INDEX ${t.auditIndexes.queue} ON ${t.auditQueue} (sync_id, sink, id)`,
	],
];

// ---------------------------------------------------------------------------------------------
// Connections

type SslConfig = false | ConnectionOptions;

function sslFor(options: PostgresStoreOptions): SslConfig {
	switch (options.ssl) {
		case 'disable':
		case 'allow':
			return false;
		case 'require':
			return { rejectUnauthorized: false };
		case 'verify-full':
			// pg sets the TLS server name from a host name itself, which makes Node check it against the certificate.
			return { rejectUnauthorized: true, ca: options.caCertificate || undefined };
		default:
			throw new SyncError(
				'INVALID_INPUT',
				`Unknown SSL mode "${String(options.ssl)}"`,
				'Set SSL in the credential to disable, allow, require or verify-full.',
			);
	}
}

function clientConfig(options: PostgresStoreOptions, ssl: SslConfig): ClientConfig {
	return {
		host: options.host,
		port: options.port,
		database: options.database,
		user: options.user,
		password: options.password,
		ssl,
		connectionTimeoutMillis: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
		application_name: 'n8n-two-way-sync',
	};
}

/** libpq's "allow": connect in plain text, and only when the server insists, again with TLS. */
async function withSslFallback<T>(options: PostgresStoreOptions, connect: (ssl: SslConfig) => Promise<T>): Promise<T> {
	try {
		return await connect(sslFor(options));
	} catch (error) {
		if (options.ssl === 'allow' && /no encryption|SSL/i.test(errorText(error))) {
			return await connect({ rejectUnauthorized: false });
		}
		throw error;
	}
}

function errorText(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

function errorCode(error: unknown): string {
	const code = (error as { code?: unknown } | null)?.code;
	return typeof code === 'string' ? code : '';
}

const NETWORK_CODES = new Set([
	'ECONNREFUSED',
	'ECONNRESET',
	'ENOTFOUND',
	'EAI_AGAIN',
	'ETIMEDOUT',
	'EHOSTUNREACH',
	'ENETUNREACH',
	'EPIPE',
	'57P01',
	'57P02',
	'57P03',
]);

function isConnectionError(error: unknown): boolean {
	const code = errorCode(error);
	// A server error carries a SQLSTATE; only its connection classes count (not e.g. a statement timeout).
	if (/^[0-9A-Z]{5}$/.test(code)) {
		return NETWORK_CODES.has(code) || code.startsWith('08') || ['28P01', '28000', '3D000'].includes(code);
	}
	return NETWORK_CODES.has(code) || /Connection terminated|timeout|ECONNREFUSED|SSL|certificate/i.test(errorText(error));
}

/** Removes the password wherever a driver message might echo it. */
function scrub(text: string, password: string): string {
	return password ? text.split(password).join('***') : text;
}

function unavailable(options: PostgresStoreOptions, error: unknown): SyncError {
	const where = `${options.host}:${options.port}`;
	const code = errorCode(error);
	const text = errorText(error);
	let hint: string;
	if (code === '28P01' || (code === '28000' && !/encryption/i.test(text))) {
		hint = `The server at ${where} refused user "${options.user}" for database "${options.database}". Check User and Password in the credential, and that pg_hba.conf admits this user from n8n's host.`;
	} else if (code === '3D000') {
		hint = `Create the database "${options.database}" on ${where}, or correct Database in the credential.`;
	} else if (/SSL|certificate|encryption|self[- ]signed/i.test(text)) {
		hint = `Check SSL in the credential for ${where}: "require" encrypts without checking the certificate, "verify-full" also checks it (add the CA certificate if it is private), "disable" connects unencrypted.`;
	} else {
		hint = `Check that PostgreSQL runs at ${where} and accepts TCP connections from n8n (listen_addresses, pg_hba.conf, firewall), and that Host and Port in the credential are right.`;
		if (/timeout/i.test(text)) hint += ' On a slow network, raise the connection timeout.';
	}
	return new SyncError(
		'STORE_UNAVAILABLE',
		scrub(`Cannot connect to the PostgreSQL store at ${where}: ${text || code}`, options.password),
		scrub(hint, options.password),
		{ cause: error },
	);
}

function refused(tables: Tables, options: PostgresStoreOptions, error: unknown): SyncError {
	return new SyncError(
		'STORE_REFUSED',
		scrub(`User "${options.user}" may not use the schema "${tables.schemaName}": ${errorText(error)}`, options.password),
		`Let an administrator create the schema and grant access, e.g. CREATE SCHEMA ${tables.schemaName} AUTHORIZATION ${quoteIdent(options.user)}; or GRANT USAGE, CREATE ON SCHEMA ${tables.schemaName} TO ${quoteIdent(options.user)}; or choose a schema this user owns.`,
		{ cause: error },
	);
}

interface PoolEntry {
	ready: Promise<Pool>;
	/** Per schema and prefix: the migration run of this process, so it happens once per pool. */
	migrated: Map<string, Promise<void>>;
}

/** Pools live for the process and are shared by every store with the same connection settings, so n8n executions reuse connections. */
const pools = new Map<string, PoolEntry>();

function poolKey(options: PostgresStoreOptions): string {
	const settings = [
		options.host,
		options.port,
		options.database,
		options.user,
		options.password,
		options.ssl,
		options.caCertificate ?? '',
		options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
		options.poolMax ?? DEFAULT_POOL_MAX,
	];
	// Hashed, so the cache's keys never hold the password in clear.
	return createHash('sha256').update(JSON.stringify(settings)).digest('hex');
}

async function createPool(options: PostgresStoreOptions): Promise<Pool> {
	return await withSslFallback(options, async (ssl) => {
		const pool = new Pool({
			...clientConfig(options, ssl),
			max: options.poolMax ?? DEFAULT_POOL_MAX,
			idleTimeoutMillis: IDLE_TIMEOUT_MS,
			allowExitOnIdle: true,
		});
		// An idle connection that breaks (e.g. a server restart) must not crash n8n; the next query reports it.
		pool.on('error', () => undefined);
		try {
			(await pool.connect()).release();
			return pool;
		} catch (error) {
			await pool.end().catch(() => undefined);
			throw error;
		}
	});
}

function poolEntryFor(options: PostgresStoreOptions): PoolEntry {
	const key = poolKey(options);
	let entry = pools.get(key);
	if (!entry) {
		const ready = createPool(options).catch((error: unknown) => {
			// Forget a failed pool, so that the next execution tries again.
			pools.delete(key);
			throw unavailable(options, error);
		});
		entry = { ready, migrated: new Map() };
		pools.set(key, entry);
	}
	return entry;
}

/** Ends every pool of this process: for tests and for a clean shutdown. */
export async function endPostgresPools(): Promise<void> {
	const entries = [...pools.values()];
	pools.clear();
	await Promise.all(entries.map(async (entry) => (await entry.ready.catch(() => null))?.end()));
}

export async function openPostgresStore(options: PostgresStoreOptions): Promise<SyncStore> {
	const tables = tablesFor(options);
	const entry = poolEntryFor(options);
	const pool = await entry.ready;
	let migrated = entry.migrated.get(tables.space);
	if (!migrated) {
		migrated = migrate(pool, tables, options).catch((error: unknown) => {
			entry.migrated.delete(tables.space);
			throw error;
		});
		entry.migrated.set(tables.space, migrated);
	}
	await migrated;
	return new PostgresStore(pool, tables, options);
}

/** 64-bit advisory lock ids from names, sorted so that every transaction takes them in one order. */
function advisoryLockIds(space: string, names: string[]): string[] {
	const ids = new Set<bigint>();
	for (const name of names) {
		const digest = createHash('sha256').update(`${space}\u0000${name}`).digest();
		ids.add(digest.readBigInt64BE(0));
	}
	return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String);
}

async function takeAdvisoryLocks(client: PoolClient, space: string, names: string[]): Promise<void> {
	await client.query('SELECT pg_advisory_xact_lock(id) FROM unnest($1::bigint[]) AS id', [advisoryLockIds(space, names)]);
}

async function migrate(pool: Pool, tables: Tables, options: PostgresStoreOptions): Promise<void> {
	let client: PoolClient;
	try {
		client = await pool.connect();
	} catch (error) {
		throw unavailable(options, error);
	}
	try {
		await client.query('BEGIN');
		// Two workers starting at once: the second waits here and then finds the work done.
		await takeAdvisoryLocks(client, tables.space, ['migrations']);
		const found = await client.query<{ has_schema: boolean; has_migrations: boolean }>(
			`SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS has_schema,
				to_regclass($2) IS NOT NULL AS has_migrations`,
			[tables.schemaName, tables.migrations],
		);
		const { has_schema: hasSchema, has_migrations: hasMigrations } = found.rows[0];
		// Checked first: CREATE ... IF NOT EXISTS still needs the CREATE right, which a user of a prepared schema may lack.
		if (!hasSchema) await client.query(`CREATE SCHEMA ${tables.schema}`);
		if (!hasMigrations) {
			await client.query(
				`CREATE TABLE ${tables.migrations} (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
			);
		}
		const current = await client.query<{ version: number | null }>(`SELECT max(version) AS version FROM ${tables.migrations}`);
		const version = current.rows[0].version ?? 0;
		if (version > MIGRATIONS.length) {
			throw new SyncError(
				'STORE_REFUSED',
				`The schema "${tables.schemaName}" was created by a newer version of this package (schema ${version}, this one knows ${MIGRATIONS.length})`,
				'Update n8n-nodes-two-way-sync to the newest version on every n8n that uses this store, or choose another schema.',
			);
		}
		for (let next = version; next < MIGRATIONS.length; next++) {
			for (const statement of MIGRATIONS[next](tables)) await client.query(statement);
			await client.query(`INSERT INTO ${tables.migrations} (version) VALUES ($1)`, [next + 1]);
		}
		await client.query('COMMIT');
	} catch (error) {
		await client.query('ROLLBACK').catch(() => undefined);
		if (error instanceof SyncError) throw error;
		if (errorCode(error) === '42501') throw refused(tables, options, error);
		if (isConnectionError(error)) throw unavailable(options, error);
		throw error;
	} finally {
		client.release();
	}
}

// ---------------------------------------------------------------------------------------------
// The credential test

export interface ConnectionTestResult {
	ok: boolean;
	message: string;
}

/** Connects, and checks that the user may create the schema, or use and extend it if it exists. */
export async function testPostgresConnection(options: PostgresStoreOptions): Promise<ConnectionTestResult> {
	let tables: Tables;
	try {
		tables = tablesFor(options);
	} catch (error) {
		return { ok: false, message: describeFailure(error) };
	}
	let client: Client;
	try {
		client = await withSslFallback(options, async (ssl) => {
			const candidate = new Client(clientConfig(options, ssl));
			candidate.on('error', () => undefined);
			try {
				await candidate.connect();
				return candidate;
			} catch (error) {
				await candidate.end().catch(() => undefined);
				throw error;
			}
		});
	} catch (error) {
		return { ok: false, message: describeFailure(unavailable(options, error)) };
	}
	try {
		const { rows } = await client.query<{
			user_name: string;
			database_name: string;
			can_create_schema: boolean;
			schema_exists: boolean;
			can_use_schema: boolean | null;
			can_create_in_schema: boolean | null;
		}>(
			`SELECT current_user AS user_name, current_database() AS database_name,
				has_database_privilege(current_database(), 'CREATE') AS can_create_schema,
				n.oid IS NOT NULL AS schema_exists,
				CASE WHEN n.oid IS NULL THEN NULL ELSE has_schema_privilege(n.oid, 'USAGE') END AS can_use_schema,
				CASE WHEN n.oid IS NULL THEN NULL ELSE has_schema_privilege(n.oid, 'CREATE') END AS can_create_in_schema
			FROM (SELECT 1) AS one LEFT JOIN pg_namespace AS n ON n.nspname = $1`,
			[tables.schemaName],
		);
		const check = rows[0];
		const who = `user "${check.user_name}" on ${options.host}:${options.port}/${check.database_name}`;
		if (!check.schema_exists) {
			return check.can_create_schema
				? { ok: true, message: `Connected as ${who}. The schema "${tables.schemaName}" will be created on first use.` }
				: {
						ok: false,
						message: `Connected as ${who}, but this user may not create the schema "${tables.schemaName}". Create it beforehand (CREATE SCHEMA ${tables.schemaName} AUTHORIZATION ${quoteIdent(check.user_name)};) or grant CREATE ON DATABASE ${quoteIdent(check.database_name)}.`,
					};
		}
		if (!check.can_use_schema || !check.can_create_in_schema) {
			return {
				ok: false,
				message: `Connected as ${who}, but this user lacks USAGE and CREATE on the schema "${tables.schemaName}". Run GRANT USAGE, CREATE ON SCHEMA ${tables.schemaName} TO ${quoteIdent(check.user_name)}; or choose another schema.`,
			};
		}
		return { ok: true, message: `Connected as ${who}. The schema "${tables.schemaName}" is usable.` };
	} catch (error) {
		return { ok: false, message: describeFailure(isConnectionError(error) ? unavailable(options, error) : error) };
	} finally {
		await client.end().catch(() => undefined);
	}
}

function describeFailure(error: unknown): string {
	return error instanceof SyncError ? `${error.message}. ${error.hint}` : errorText(error);
}

// ---------------------------------------------------------------------------------------------
// The store

/** pg parses json columns itself and returns timestamptz as Date. */
const decode: RowDecoder = {
	json: (value) => value as JsonObject | null,
	time: (value) => (value === null ? null : (value as Date).toISOString()),
};
const toStoredRecord = (row: RecordRow) => recordFromRow(row, decode);
const toOutboxEntry = (row: OutboxRow) => outboxFromRow(row, decode);
const toChainedEvent = (row: AuditRow) => auditFromRow(row, decode);
const AUDIT_LIST = AUDIT_COLUMNS.join(', ');
const AUDIT_QUEUE_LIST = AUDIT_QUEUE_COLUMNS.join(', ');
/** Casts for the audit columns when a batch travels as one array per column. */
const AUDIT_ARRAY_TYPES: Record<string, string> = { seq: 'bigint', logged_at: 'timestamptz', event: 'text' };
const AUDIT_ARRAYS = `unnest(${AUDIT_COLUMNS.map((column, index) => `$${index + 2}::${AUDIT_ARRAY_TYPES[column] ?? 'text'}[]`).join(', ')}) AS a(${AUDIT_LIST})`;
const AUDIT_SELECT = AUDIT_COLUMNS.map((column) => (column === 'event' ? 'a.event::json' : `a.${column}`)).join(', ');
/** Every Query filter is a parameter that is null when unused. */
const AUDIT_FILTER = `sync_id = $1
	AND ($2::text IS NULL OR $3::text IS NOT NULL OR source_system = $2 OR target_system = $2)
	AND ($3::text IS NULL
		OR ($2::text IS NULL AND (source_key = $3 OR target_key = $3))
		OR (source_system = $2 AND source_key = $3)
		OR (target_system = $2 AND target_key = $3))
	AND ($4::text IS NULL OR entity_id = $4 OR correlation_id = $4)
	AND ($5::text[] IS NULL OR status = ANY($5))
	AND ($6::text[] IS NULL OR op = ANY($6))
	AND ($7::timestamptz IS NULL OR logged_at >= $7)
	AND ($8::timestamptz IS NULL OR logged_at < $8)`;

const RECORD_LIST = RECORD_COLUMNS.join(', ');
const OUTBOX_LIST = OUTBOX_COLUMNS.join(', ');
/** Columns that are not text travel as text or numbers and are cast on the way in. */
const ARRAY_TYPES: Record<string, string> = {
	version: 'int',
	attempts: 'int',
	deleted_at: 'timestamptz',
	updated_at: 'timestamptz',
	next_attempt_at: 'timestamptz',
	created_at: 'timestamptz',
};

/**
 * A batch travels as one array per column ($2, $3, ...) and is unpacked with unnest: one
 * statement per batch whatever its size. Documents travel as text and are cast to json here.
 */
function unnestOf(columns: readonly string[], alias: string): string {
	const arrays = columns.map((column, index) => `$${index + 2}::${ARRAY_TYPES[column] ?? 'text'}[]`).join(', ');
	return `unnest(${arrays}) AS ${alias}(${columns.join(', ')})`;
}

const DOCUMENT_COLUMNS = new Set(['base', 'payload', 'meta']);

function unpacked(column: string, alias: string): string {
	return DOCUMENT_COLUMNS.has(column) ? `${alias}.${column}::json` : `${alias}.${column}`;
}

function selectList(columns: readonly string[], alias: string): string {
	return columns.map((column) => unpacked(column, alias)).join(', ');
}

function assignmentsFrom(columns: readonly string[], alias: string): string {
	return columns.map((column) => `${column} = ${unpacked(column, alias)}`).join(', ');
}

/** Turns rows of values into one array per column. */
function columnArrays(rows: SqlValue[][], width: number): SqlValue[][] {
	return Array.from({ length: width }, (_, column) => rows.map((row) => row[column]));
}

const RECORD_ARRAYS = unnestOf(RECORD_COLUMNS, 'r');
const OUTBOX_ARRAYS = unnestOf(OUTBOX_COLUMNS, 'o');
const recordArrays = (rows: StoredRecord[]) => columnArrays(rows.map(recordValues), RECORD_COLUMNS.length);
const outboxArrays = (entries: OutboxEntry[]) => columnArrays(entries.map(outboxValues), OUTBOX_COLUMNS.length);

type Query = <R extends QueryResultRow = QueryResultRow>(sql: string, params?: unknown[]) => Promise<R[]>;

const leaseSweeps = new LeaseSweeps();

class PostgresStore implements SyncStore {
	readonly backend = 'postgres' as const;
	private closed = false;

	constructor(
		private readonly pool: Pool,
		private readonly t: Tables,
		private readonly options: PostgresStoreOptions,
	) {}

	async lookUp(syncId: string, system: string, keys: string[]): Promise<Map<string, EntityState>> {
		this.begin(syncId);
		requireText(system, 'the system');
		requireTextList(keys, 'the keys to look up');
		const rows = await this.run<RecordRow>(
			`SELECT ${RECORD_LIST} FROM ${this.t.records} WHERE sync_id = $1 AND entity_id IN
				(SELECT entity_id FROM ${this.t.records} WHERE sync_id = $1 AND system = $2 AND key = ANY($3::text[]))`,
			[syncId, system, keys],
		);
		return entitiesByKey(rows.map(toStoredRecord), system);
	}

	async listKeys(syncId: string, system: string): Promise<Map<string, RecordState & { entityId: string }>> {
		this.begin(syncId);
		requireText(system, 'the system');
		const rows = await this.run<RecordRow>(
			`SELECT ${RECORD_LIST} FROM ${this.t.records} WHERE sync_id = $1 AND system = $2`,
			[syncId, system],
		);
		return recordsByKey(rows.map(toStoredRecord));
	}

	async getEntities(syncId: string, entityIds: string[]): Promise<Map<string, EntityState>> {
		this.begin(syncId);
		requireTextList(entityIds, 'the entity IDs');
		const rows = await this.run<RecordRow>(
			`SELECT ${RECORD_LIST} FROM ${this.t.records} WHERE sync_id = $1 AND entity_id = ANY($2::text[])`,
			[syncId, entityIds],
		);
		return groupEntities(rows.map(toStoredRecord));
	}

	async commit(syncId: string, inputs: CommitInput[]): Promise<CommitResult[]> {
		this.begin(syncId);
		const request = commitLoadRequest(syncId, inputs);
		return await this.transaction(async (query) => {
			const plan = planCommit(syncId, inputs, await this.lockForLinkage(query, syncId, request), new Date());
			return await this.applyLinkage(query, syncId, plan);
		});
	}

	async link(syncId: string, inputs: LinkInput[]): Promise<CommitResult[]> {
		this.begin(syncId);
		const request = linkLoadRequest(syncId, inputs);
		return await this.transaction(async (query) => {
			const plan = planLink(syncId, inputs, await this.lockForLinkage(query, syncId, request), new Date());
			return await this.applyLinkage(query, syncId, plan);
		});
	}

	async unlink(syncId: string, system: string, key: string): Promise<boolean> {
		this.begin(syncId);
		const rows = await this.run(
			`DELETE FROM ${this.t.records} WHERE sync_id = $1 AND system = $2 AND key = $3 RETURNING key`,
			[syncId, system, key],
		);
		return rows.length > 0;
	}

	async getCursor(syncId: string, system: string): Promise<string | null> {
		this.begin(syncId);
		const rows = await this.run<{ value: string }>(
			`SELECT value FROM ${this.t.cursors} WHERE sync_id = $1 AND system = $2`,
			[syncId, system],
		);
		return rows[0]?.value ?? null;
	}

	async setCursor(syncId: string, system: string, value: string): Promise<void> {
		this.begin(syncId);
		requireText(system, 'the system');
		requireCursorValue(value);
		await this.run(
			`INSERT INTO ${this.t.cursors} (sync_id, system, value, updated_at) VALUES ($1, $2, $3, $4)
				ON CONFLICT (sync_id, system) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
			[syncId, system, value, new Date().toISOString()],
		);
	}

	async recordFailures(syncId: string, failures: FailureInput[], policy: RetryPolicy, now?: Date): Promise<OutboxEntry[]> {
		this.begin(syncId);
		const refs = failureLoadRequest(failures);
		validateRetryPolicy(policy);
		const time = timeOf(now);
		return await this.transaction(async (query) => {
			const existing = await query<OutboxRow>(
				`SELECT ${OUTBOX_LIST} FROM ${this.t.outbox} WHERE sync_id = $1
					AND (source_system, source_key, target_system) IN (SELECT * FROM unnest($2::text[], $3::text[], $4::text[]))
					ORDER BY source_system, source_key, target_system FOR UPDATE`,
				[
					syncId,
					refs.map((ref) => ref.sourceSystem),
					refs.map((ref) => ref.sourceKey),
					refs.map((ref) => ref.targetSystem),
				],
			);
			const plan = planFailures(existing.map(toOutboxEntry), failures, policy, time);
			if (plan.inserts.length > 0) {
				await query(
					`INSERT INTO ${this.t.outbox} (sync_id, ${OUTBOX_LIST})
						SELECT $1, ${selectList(OUTBOX_COLUMNS, 'o')} FROM ${OUTBOX_ARRAYS}`,
					[syncId, ...outboxArrays(plan.inserts)],
				);
			}
			if (plan.updates.length > 0) {
				await query(
					`UPDATE ${this.t.outbox} AS t SET ${assignmentsFrom(OUTBOX_COLUMNS, 'o')}
					FROM ${OUTBOX_ARRAYS}
					WHERE t.sync_id = $1 AND t.source_system = o.source_system AND t.source_key = o.source_key
						AND t.target_system = o.target_system`,
					[syncId, ...outboxArrays(plan.updates)],
				);
			}
			return plan.entries;
		});
	}

	async getDueRetries(syncId: string, limit: number, now?: Date, claimMs?: number): Promise<OutboxEntry[]> {
		this.begin(syncId);
		requirePositiveInteger(limit, 'the retry limit');
		const time = timeOf(now);
		const claimedUntil = retryClaimExpiry(time, claimMs);
		if (claimedUntil === null) {
			const rows = await this.run<OutboxRow>(
				`SELECT ${OUTBOX_LIST} FROM ${this.t.outbox}
					WHERE sync_id = $1 AND status = 'pending' AND next_attempt_at <= $2::timestamptz
					ORDER BY next_attempt_at, created_at, source_system, source_key, target_system LIMIT $3`,
				[syncId, time.toISOString(), limit],
			);
			return rows.map(toOutboxEntry);
		}
		// One statement claims what it reads. SKIP LOCKED passes over the entries a concurrent caller is
		// claiming (or Record Failure is updating), and a row claimed meanwhile is re-checked and no
		// longer due, so two callers never get the same entry.
		const rows = await this.run<OutboxRow>(
			`WITH due AS (
				SELECT source_system, source_key, target_system, next_attempt_at FROM ${this.t.outbox}
				WHERE sync_id = $1 AND status = 'pending' AND next_attempt_at <= $2::timestamptz
				ORDER BY next_attempt_at, created_at, source_system, source_key, target_system LIMIT $3
				FOR UPDATE SKIP LOCKED
			), claimed AS (
				UPDATE ${this.t.outbox} AS o SET next_attempt_at = $4::timestamptz FROM due
				WHERE o.sync_id = $1 AND o.source_system = due.source_system AND o.source_key = due.source_key
					AND o.target_system = due.target_system
				RETURNING ${OUTBOX_COLUMNS.map((column) => `o.${column}`).join(', ')}, due.next_attempt_at AS due_at
			)
			SELECT ${OUTBOX_LIST} FROM claimed ORDER BY due_at, created_at, source_system, source_key, target_system`,
			[syncId, time.toISOString(), limit, claimedUntil],
		);
		return rows.map(toOutboxEntry);
	}

	async listOutbox(syncId: string, status: OutboxStatus | 'all', limit: number): Promise<OutboxEntry[]> {
		this.begin(syncId);
		requireOutboxStatus(status);
		requirePositiveInteger(limit, 'the outbox limit');
		const rows = await this.run<OutboxRow>(
			`SELECT ${OUTBOX_LIST} FROM ${this.t.outbox} WHERE sync_id = $1 AND ($2 = 'all' OR status = $2)
				ORDER BY created_at, source_system, source_key, target_system LIMIT $3`,
			[syncId, status, limit],
		);
		return rows.map(toOutboxEntry);
	}

	async acquireLock(syncId: string, resource: string, owner: string, ttlMs: number, now?: Date): Promise<LockLease> {
		this.begin(syncId);
		const time = timeOf(now);
		requireText(resource, 'the lock resource');
		return await this.transaction(async (query, client) => {
			await takeAdvisoryLocks(client, this.t.space, [`lease\u0000${syncId}\u0000${resource}`]);
			if (leaseSweeps.due(`${poolKey(this.options)}\u0000${this.t.space}`, syncId, time)) {
				await query(`DELETE FROM ${this.t.locks} WHERE sync_id = $1 AND expires_at <= $2`, [syncId, time.toISOString()]);
			}
			const current = await query<{ owner: string; expires_at: Date }>(
				`SELECT owner, expires_at FROM ${this.t.locks} WHERE sync_id = $1 AND resource = $2`,
				[syncId, resource],
			);
			const held = current[0] ? { owner: current[0].owner, expiresAt: current[0].expires_at.toISOString() } : null;
			const { lease, take } = planLease(held, resource, owner, ttlMs, time);
			if (take) {
				await query(
					`INSERT INTO ${this.t.locks} (sync_id, resource, owner, expires_at) VALUES ($1, $2, $3, $4)
						ON CONFLICT (sync_id, resource) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at`,
					[syncId, resource, owner, lease.expiresAt],
				);
			}
			return lease;
		});
	}

	async releaseLock(syncId: string, resource: string, owner: string): Promise<boolean> {
		this.begin(syncId);
		const rows = await this.run(
			`DELETE FROM ${this.t.locks} WHERE sync_id = $1 AND resource = $2 AND owner = $3 RETURNING owner`,
			[syncId, resource, owner],
		);
		return rows.length > 0;
	}

	async reset(syncId: string, scope: ResetScope): Promise<void> {
		this.begin(syncId);
		requireResetScope(scope);
		const all = [this.t.records, this.t.cursors, this.t.outbox, this.t.locks];
		const byScope: Record<ResetScope, string[]> = {
			all,
			links: [this.t.records],
			cursors: [this.t.cursors],
			outbox: [this.t.outbox],
			locks: [this.t.locks],
		};
		await this.transaction(async (query) => {
			for (const table of byScope[scope]) await query(`DELETE FROM ${table} WHERE sync_id = $1`, [syncId]);
		});
	}

	async stats(syncId: string, now?: Date): Promise<SyncStats> {
		this.begin(syncId);
		const nowIso = timeOf(now).toISOString();
		const [row] = await this.run<{
			entities: string;
			systems: Array<{ system: string; links: number; tombstones: number }> | null;
			pending: string;
			due: string;
			dead: string;
			cursors: Array<{ system: string; value: string }> | null;
			locks: string;
		}>(
			// One statement, so the counts describe one moment.
			`SELECT
				(SELECT count(DISTINCT entity_id) FROM ${this.t.records} WHERE sync_id = $1) AS entities,
				(SELECT json_agg(s) FROM (SELECT system, count(*) AS links, count(deleted_at) AS tombstones
					FROM ${this.t.records} WHERE sync_id = $1 GROUP BY system) AS s) AS systems,
				(SELECT count(*) FROM ${this.t.outbox} WHERE sync_id = $1 AND status = 'pending') AS pending,
				(SELECT count(*) FROM ${this.t.outbox} WHERE sync_id = $1 AND status = 'pending'
					AND next_attempt_at <= $2::timestamptz) AS due,
				(SELECT count(*) FROM ${this.t.outbox} WHERE sync_id = $1 AND status = 'dead') AS dead,
				(SELECT json_agg(c) FROM (SELECT system, value FROM ${this.t.cursors} WHERE sync_id = $1) AS c) AS cursors,
				(SELECT count(*) FROM ${this.t.locks} WHERE sync_id = $1 AND expires_at > $2::timestamptz) AS locks`,
			[syncId, nowIso],
		);
		return statsFrom(syncId, { ...row, systems: row.systems ?? [], cursors: row.cursors ?? [] });
	}

	async appendAudit(syncId: string, events: AuditEvent[]): Promise<ChainedAuditEvent[]> {
		this.begin(syncId);
		validateAuditEvents(syncId, events);
		if (events.length === 0) return [];
		return await this.transaction(async (query, client) => {
			// One append per sync at a time: the next one waits here, then reads the head this one wrote.
			await takeAdvisoryLocks(client, this.t.space, [`audit\u0000${syncId}`]);
			const [head] = await query<{ seq: string; hash: string }>(
				`SELECT seq, hash FROM ${this.t.audit} WHERE sync_id = $1 ORDER BY seq DESC LIMIT 1`,
				[syncId],
			);
			const chained = chainEvents(syncId, head ? { seq: Number(head.seq), hash: head.hash } : null, events);
			await query(
				`INSERT INTO ${this.t.audit} (sync_id, ${AUDIT_LIST}) SELECT $1, ${AUDIT_SELECT} FROM ${AUDIT_ARRAYS}`,
				[syncId, ...columnArrays(chained.map(auditValues), AUDIT_COLUMNS.length)],
			);
			return chained;
		});
	}

	async queryAudit(syncId: string, query: AuditQuery): Promise<ChainedAuditEvent[]> {
		this.begin(syncId);
		const q = normaliseAuditQuery(query);
		const page = q.newestFirst
			? `($9::bigint IS NULL OR seq < $9) ORDER BY seq DESC`
			: `($9::bigint IS NULL OR seq > $9) ORDER BY seq`;
		const rows = await this.run<AuditRow>(
			`SELECT ${AUDIT_LIST} FROM ${this.t.audit} WHERE ${AUDIT_FILTER} AND ${page} LIMIT $10`,
			[syncId, q.system, q.key, q.entityId, q.statuses, q.ops, q.from, q.to, q.after, q.limit],
		);
		return rows.map(toChainedEvent);
	}

	async readAuditChain(syncId: string, afterSeq: number, limit: number): Promise<StoredAuditLink[]> {
		this.begin(syncId);
		requirePositiveInteger(limit, 'the page size');
		const rows = await this.run<AuditRow>(
			`SELECT ${AUDIT_LIST} FROM ${this.t.audit} WHERE sync_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
			[syncId, afterSeq, limit],
		);
		return rows.map((row) => auditLinkFromRow(row, decode));
	}

	async countAudit(syncId: string, from: string, to: string): Promise<AuditCount[]> {
		this.begin(syncId);
		const window = normaliseWindow(from, to);
		const rows = await this.run<{ system: string; op: string; status: AuditCount['status']; count: string }>(
			`SELECT coalesce(target_system, source_system) AS system, op, status, count(*) AS count FROM ${this.t.audit}
				WHERE sync_id = $1 AND logged_at >= $2::timestamptz AND logged_at < $3::timestamptz
				GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
			[syncId, window.from, window.to],
		);
		return rows.map((row) => ({ ...row, count: Number(row.count) }));
	}

	async listAuditDeliveries(syncId: string, sink: string, limit: number): Promise<AuditDelivery[]> {
		this.begin(syncId);
		requireSinkName(sink);
		requirePositiveInteger(limit, 'the delivery limit');
		const rows = await this.run<AuditQueueRow>(
			`SELECT ${AUDIT_QUEUE_LIST} FROM ${this.t.auditQueue} WHERE sync_id = $1 AND sink = $2 ORDER BY id LIMIT $3`,
			[syncId, sink, limit],
		);
		return rows.map((row) => auditDeliveryFromRow(row, decode));
	}

	async settleAuditDeliveries(syncId: string, sink: string, settlement: DeliverySettlement, now?: Date): Promise<void> {
		this.begin(syncId);
		requireSinkName(sink);
		const nowIso = timeOf(now).toISOString();
		const undelivered = [...new Map(settlement.undelivered.map((event) => [requireText(event.id, 'the audit event id'), event])).entries()].map(
			([id, event]) => ({ id, event }),
		);
		await this.transaction(async (query) => {
			if (settlement.delivered.length > 0) {
				await query(`DELETE FROM ${this.t.auditQueue} WHERE sync_id = $1 AND sink = $2 AND event_id = ANY($3::text[])`, [
					syncId,
					sink,
					settlement.delivered,
				]);
			}
			if (undelivered.length > 0) {
				// WITH ORDINALITY keeps the queue order of one batch; identity values follow it.
				await query(
					`INSERT INTO ${this.t.auditQueue} (sync_id, sink, event_id, event, attempts, last_error, created_at, updated_at)
						SELECT $1, $2, u.event_id, u.event::json, 1, $5, $6, $6
						FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS u(event_id, event, n) ORDER BY u.n
						ON CONFLICT (sync_id, sink, event_id) DO UPDATE
						SET attempts = ${this.t.auditQueue}.attempts + 1, last_error = excluded.last_error, updated_at = excluded.updated_at`,
					[
						syncId,
						sink,
						undelivered.map((entry) => entry.id),
						undelivered.map((entry) => JSON.stringify(entry.event)),
						settlement.error ?? 'Not delivered',
						nowIso,
					],
				);
			}
		});
	}

	/** Ends only this store's use; the pool stays for the other stores and executions that share it. */
	async close(): Promise<void> {
		this.closed = true;
	}

	/** Loads every row of the entities the batch touches and locks them until the transaction ends. */
	private async lockForLinkage(query: Query, syncId: string, request: LoadRequest): Promise<StoredRecord[]> {
		const rows = await query<RecordRow>(
			`SELECT ${RECORD_LIST} FROM ${this.t.records} WHERE sync_id = $1 AND entity_id IN (
				SELECT entity_id FROM ${this.t.records} WHERE sync_id = $1
					AND (system, key) IN (SELECT * FROM unnest($2::text[], $3::text[]))
				UNION ALL SELECT unnest($4::text[]))
			ORDER BY entity_id, system FOR UPDATE`,
			[syncId, request.keys.map((k) => k.system), request.keys.map((k) => k.key), request.entityIds],
		);
		return rows.map(toStoredRecord);
	}

	private async applyLinkage(query: Query, syncId: string, plan: LinkagePlan): Promise<CommitResult[]> {
		if (plan.deletes.length > 0) {
			await query(
				`DELETE FROM ${this.t.records} WHERE sync_id = $1
					AND (system, key) IN (SELECT * FROM unnest($2::text[], $3::text[]))`,
				[syncId, plan.deletes.map((d) => d.system), plan.deletes.map((d) => d.key)],
			);
		}
		if (plan.updates.length > 0) {
			await query(
				`UPDATE ${this.t.records} AS t SET ${assignmentsFrom(RECORD_COLUMNS, 'r')}
				FROM ${RECORD_ARRAYS}
				WHERE t.sync_id = $1 AND t.system = r.system AND t.key = r.key`,
				[syncId, ...recordArrays(plan.updates)],
			);
		}
		if (plan.inserts.length > 0) {
			await query(
				`INSERT INTO ${this.t.records} (sync_id, ${RECORD_LIST})
					SELECT $1, ${selectList(RECORD_COLUMNS, 'r')} FROM ${RECORD_ARRAYS}`,
				[syncId, ...recordArrays(plan.inserts)],
			);
		}
		const cleared = new Set<string>();
		if (plan.outboxClears.length > 0) {
			const rows = await query<{ source_system: string; source_key: string; target_system: string }>(
				`DELETE FROM ${this.t.outbox} WHERE sync_id = $1
					AND (source_system, source_key, target_system) IN (SELECT * FROM unnest($2::text[], $3::text[], $4::text[]))
					RETURNING source_system, source_key, target_system`,
				[
					syncId,
					plan.outboxClears.map((c) => c.ref.sourceSystem),
					plan.outboxClears.map((c) => c.ref.sourceKey),
					plan.outboxClears.map((c) => c.ref.targetSystem),
				],
			);
			for (const row of rows) {
				cleared.add(outboxRefKey({ sourceSystem: row.source_system, sourceKey: row.source_key, targetSystem: row.target_system }));
			}
		}
		return markClearedInputs(plan, cleared);
	}

	private begin(syncId: string): void {
		if (this.closed) {
			throw new SyncError('STORE_UNAVAILABLE', 'The PostgreSQL store was closed', 'Open the store again before using it.');
		}
		requireText(validateSyncId(syncId), 'the Sync ID');
	}

	private translate(error: unknown): unknown {
		if (error instanceof SyncError) return error;
		if (errorCode(error) === '42501') return refused(this.t, this.options, error);
		if (isConnectionError(error)) return unavailable(this.options, error);
		return error;
	}

	private async connect(): Promise<PoolClient> {
		try {
			return await this.pool.connect();
		} catch (error) {
			throw unavailable(this.options, error);
		}
	}

	/** One statement outside an explicit transaction (it is atomic on its own). */
	private async run<R extends QueryResultRow = QueryResultRow>(sql: string, params: unknown[]): Promise<R[]> {
		const client = await this.connect();
		let broken = false;
		try {
			return (await client.query<R>(sql, params)).rows;
		} catch (error) {
			broken = isConnectionError(error);
			throw this.translate(error);
		} finally {
			client.release(broken);
		}
	}

	/** Runs `work` in one transaction; when a concurrent writer wins a race on a unique key or a deadlock, runs it again. */
	private async transaction<T>(work: (query: Query, client: PoolClient) => Promise<T>): Promise<T> {
		for (let attempt = 1; ; attempt++) {
			const client = await this.connect();
			const query: Query = async <R extends QueryResultRow>(sql: string, params?: unknown[]) =>
				(await client.query<R>(sql, params)).rows;
			let broken = false;
			try {
				await client.query('BEGIN');
				const result = await work(query, client);
				await client.query('COMMIT');
				return result;
			} catch (error) {
				broken = isConnectionError(error);
				if (!broken) await client.query('ROLLBACK').catch(() => undefined);
				if (attempt < MAX_TRANSACTION_ATTEMPTS && RETRYABLE_CODES.has(errorCode(error))) {
					await pause(attempt);
					continue;
				}
				throw this.translate(error);
			} finally {
				client.release(broken);
			}
		}
	}
}

/** A short, growing, jittered wait, so that retrying writers do not collide again in lockstep. */
async function pause(attempt: number): Promise<void> {
	await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
}
