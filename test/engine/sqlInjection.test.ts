import fc from 'fast-check';
import { Client } from 'pg';

import { SyncError } from '../../nodes/engine/errors';
import type { AuditEvent } from '../../nodes/engine/audit/types';
import { endPostgresPools, openPostgresStore, type PostgresStoreOptions } from '../../nodes/engine/store/postgres';
import { connectionOf, createScratchDatabase, queryDatabase, type ScratchDatabase } from '../support/postgres';

/**
 * SQL injection, against a real PostgreSQL: schema names and table prefixes end up in SQL text,
 * so only plain identifiers pass; every other user value (Sync IDs, systems, keys, cursors, lock
 * names, audit fields) travels as a query parameter. Every statement the store sends is captured,
 * and none may contain a hostile value.
 */

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const TABLE_PREFIX = /^[A-Za-z_][A-Za-z0-9_]{0,29}$/;

const HOSTILE_TEXTS = [
	'x; DROP TABLE records; --',
	"x'; DROP TABLE records; --",
	'x"; DROP SCHEMA public CASCADE; --',
	"o'hara",
	'"quoted"',
	"$$; DROP TABLE records; $$",
	'$1',
	'%s %d',
	'\\x27',
	"E'\\''",
	'back\\slash',
	'Zoë 東京 🚀',
	'e\u0301',
	'\u00e9',
	'\u202Eright-to-left',
	'/* comment */',
	'-- comment',
	'NULL',
	'(SELECT pg_sleep(10))',
];

const hostileText = fc.oneof(
	fc.constantFrom(...HOSTILE_TEXTS),
	fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }),
	fc.tuple(fc.constantFrom(...HOSTILE_TEXTS), fc.string({ maxLength: 8 })).map(([a, b]) => `${a}${b}`),
).filter((text) => text.trim() !== '' && !text.includes('\u0000'));

let database: ScratchDatabase;
/** Every SQL text the store sent, as the driver received it. */
const sentSql: string[] = [];
let spy: jest.SpyInstance | undefined;
// Captured before the spy replaces it.
const originalQuery = Client.prototype.query as (...args: unknown[]) => unknown;

const admin = <R extends Record<string, unknown>>(sql: string, params: unknown[] = []) => queryDatabase<R>(database, sql, params);

function options(extra: Partial<PostgresStoreOptions> = {}): PostgresStoreOptions {
	return { ...connectionOf(database), schema: 'injection', ...extra };
}

async function tablesOf(schema: string): Promise<string[]> {
	const rows = await admin<{ table_name: string }>(
		'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
		[schema],
	);
	return rows.map((row) => row.table_name);
}

async function rejection(work: Promise<unknown>): Promise<SyncError> {
	const error = await work.then(
		() => undefined,
		(caught: unknown) => caught,
	);
	expect(error).toBeInstanceOf(SyncError);
	return error as SyncError;
}

beforeAll(async () => {
	database = await createScratchDatabase('sql_injection');
	// A table that an injected DROP would take away.
	await admin('CREATE TABLE public.sentinel (id int PRIMARY KEY, note text)');
	await admin("INSERT INTO public.sentinel VALUES (1, 'still here')");
	spy = jest.spyOn(Client.prototype, 'query').mockImplementation(function (this: Client, ...args: unknown[]) {
		const [config] = args;
		sentSql.push(typeof config === 'string' ? config : String((config as { text?: string } | undefined)?.text ?? ''));
		return originalQuery.apply(this, args);
	} as never);
}, 60_000);

afterAll(async () => {
	spy?.mockRestore();
	await endPostgresPools();
	await database?.drop();
});

afterEach(async () => {
	// Whatever a test sent, the sentinel and the store's tables are intact.
	expect(await admin('SELECT id, note FROM public.sentinel')).toEqual([{ id: 1, note: 'still here' }]);
});

describe('SQL injection through user-named identifiers and values (real PostgreSQL)', () => {
	it('rejects every schema name and table prefix that is not a plain identifier, before connecting', async () => {
		let rejected = 0;
		await fc.assert(
			fc.asyncProperty(fc.oneof(hostileText, fc.constantFrom(...HOSTILE_TEXTS)), async (name) => {
				const sentBefore = sentSql.length;
				if (!SCHEMA_NAME.test(name)) {
					const error = await rejection(openPostgresStore(options({ schema: name })));
					expect(error.code).toBe('INVALID_IDENTIFIER');
					expect(error.hint).toMatch(/letters, digits and underscores/);
					rejected++;
				}
				if (!TABLE_PREFIX.test(name)) {
					const error = await rejection(openPostgresStore(options({ schema: 'injection_prefix', tablePrefix: name })));
					expect(error.code).toBe('INVALID_IDENTIFIER');
				}
				// Refused before any SQL was sent.
				expect(sentSql.length).toBe(sentBefore);
			}),
			{ numRuns: 100 },
		);
		expect(rejected).toBeGreaterThan(50);
		const schemas = await admin<{ nspname: string }>("SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg_%' AND nspname <> 'information_schema' ORDER BY 1");
		expect(schemas.map((row) => row.nspname)).toEqual(['public']);
	});

	it('quotes the identifiers it accepts, so a name that is an SQL keyword works as a schema and a prefix', async () => {
		const store = await openPostgresStore(options({ schema: 'select', tablePrefix: 'drop_' }));
		try {
			await store.commit('contacts', [{ sides: [{ system: 'crm', key: 'c1' }] }]);
			expect((await store.lookUp('contacts', 'crm', ['c1'])).get('c1')?.systems.crm.key).toBe('c1');
		} finally {
			await store.close();
		}
		expect(await tablesOf('select')).toEqual([
			'drop_audit',
			'drop_audit_queue',
			'drop_cursors',
			'drop_locks',
			'drop_outbox',
			'drop_records',
			'drop_schema_migrations',
		]);
	});

	it('stores hostile Sync IDs, systems, keys, cursors, lock names and audit fields as data, byte for byte', async () => {
		const store = await openPostgresStore(options());
		const stored = new Set<string>();
		let runs = 0;
		try {
			await fc.assert(
				fc.asyncProperty(hostileText, hostileText, hostileText, async (syncId, system, key) => {
					if (syncId.length > 200) return;
					const sentBefore = sentSql.length;
					await store.commit(syncId, [{ sides: [{ system, key, seenHash: key, base: { [key]: syncId } }] }]);
					const found = (await store.lookUp(syncId, system, [key])).get(key);
					expect(found?.systems[system]).toMatchObject({ key, seenHash: key, base: { [key]: syncId } });
					await store.setCursor(syncId, system, key);
					expect(await store.getCursor(syncId, system)).toBe(key);
					// Released again at once: fast-check may draw the same Sync ID and key with another owner later.
					expect((await store.acquireLock(syncId, key, system, 60_000)).acquired).toBe(true);
					expect(await store.releaseLock(syncId, key, system)).toBe(true);
					const event: AuditEvent = {
						id: `${key}-${runs}`,
						time: new Date().toISOString(),
						syncId,
						executionId: key,
						workflowId: null,
						workflowName: system,
						node: key,
						source: { system, key },
						target: null,
						entityId: null,
						correlationId: key,
						op: 'update',
						reason: key,
						changedFields: [key],
						changes: { [key]: { before: syncId, after: system } },
						resolution: null,
						status: 'applied',
						error: key,
						retry: null,
					};
					await store.appendAudit(syncId, [event]);
					expect((await store.queryAudit(syncId, { order: 'newest', limit: 1 }))[0]).toMatchObject({ source: { system, key }, changes: { [key]: { before: syncId, after: system } } });
					const sent = sentSql.slice(sentBefore);
					// The capture works: a commit, a look-up, a cursor, a lease and an audit append all went out.
					expect(sent.length).toBeGreaterThanOrEqual(6);
					for (const sql of sent) {
						for (const value of [syncId, system, key]) {
							// Short texts such as "a" occur in any SQL; the hostile ones must never.
							if (value.length >= 4 && /[^A-Za-z0-9_ ]/.test(value)) expect(sql).not.toContain(value);
						}
					}
					stored.add(syncId);
					runs++;
				}),
				{ numRuns: 60 },
			);
		} finally {
			await store.close();
		}
		expect(runs).toBeGreaterThanOrEqual(50);
		const syncIds = await admin<{ sync_id: string }>('SELECT DISTINCT sync_id FROM injection.records');
		expect(new Set(syncIds.map((row) => row.sync_id))).toEqual(stored);
		expect(await tablesOf('injection')).toEqual(['audit', 'audit_queue', 'cursors', 'locks', 'outbox', 'records', 'schema_migrations']);
	});

	it('refuses a Sync ID that PostgreSQL text cannot hold, or that is empty or too long, with a hint', async () => {
		const store = await openPostgresStore(options());
		try {
			for (const syncId of ['', '   ', 'x'.repeat(201)]) {
				const error = await rejection(store.commit(syncId, [{ sides: [{ system: 'crm', key: 'k' }] }]));
				expect(error.code).toBe('INVALID_INPUT');
				expect(error.hint).toMatch(/Sync ID/);
			}
			const nul = await rejection(store.commit('a\u0000b', [{ sides: [{ system: 'crm', key: 'k' }] }]));
			expect(nul).toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining('without NUL characters') });
		} finally {
			await store.close();
		}
	});
});
