import { createServer } from 'node:net';

import { Client } from 'pg';

import { SyncError } from '../../nodes/engine/errors';
import {
	endPostgresPools,
	openPostgresStore,
	testPostgresConnection,
	type PostgresStoreOptions,
} from '../../nodes/engine/store/postgres';
import { connectionOf, createScratchDatabase, queryDatabase, startThrowawayPostgres, type ScratchDatabase, type ThrowawayPostgres } from '../support/postgres';

async function closedPort(): Promise<number> {
	return await new Promise((resolve) => {
		const server = createServer().listen(0, '127.0.0.1', () => {
			const address = server.address();
			server.close(() => resolve(typeof address === 'object' && address ? address.port : 1));
		});
	});
}

async function failureOf(work: Promise<unknown>): Promise<SyncError> {
	const error = await work.then(
		() => undefined,
		(caught: unknown) => caught,
	);
	expect(error).toBeInstanceOf(SyncError);
	return error as SyncError;
}

/** Everything a user or a log could see of an error. */
function visibleText(error: SyncError): string {
	return [error.message, error.hint, error.stack ?? '', String(error), JSON.stringify(error)].join('\n');
}

afterAll(async () => {
	await endPostgresPools();
});

describe('the PostgreSQL store', () => {
	let database: ScratchDatabase;
	const options = (extra: Partial<PostgresStoreOptions> = {}): PostgresStoreOptions => ({ ...connectionOf(database), ...extra });
	const query = <R extends Record<string, unknown>>(sql: string, params: unknown[] = []) => queryDatabase<R>(database, sql, params);

	beforeAll(async () => {
		database = await createScratchDatabase('postgres_store');
	}, 60_000);

	afterAll(async () => {
		await endPostgresPools();
		await database?.drop();
	});

	describe('refuses hostile schema names and prefixes before sending any SQL', () => {
		// The port is closed: reaching the network would give STORE_UNAVAILABLE, not INVALID_IDENTIFIER.
		let port: number;
		beforeAll(async () => {
			port = await closedPort();
		});
		const unreachable = (extra: Partial<PostgresStoreOptions>): PostgresStoreOptions => ({
			host: '127.0.0.1',
			port,
			database: 'postgres',
			user: 'postgres',
			password: 'irrelevant',
			ssl: 'disable',
			...extra,
		});

		it.each(['x; DROP TABLE records', 'a"b', "o'hara", 'schéma', '', '1abc', 'a'.repeat(64), 'two way'])(
			'schema %p',
			async (schema) => {
				const error = await failureOf(openPostgresStore(unreachable({ schema })));
				expect(error.code).toBe('INVALID_IDENTIFIER');
				expect(error.hint).toContain('letters, digits and underscores');
				expect(await testPostgresConnection(unreachable({ schema }))).toEqual({
					ok: false,
					message: expect.stringContaining('is not allowed'),
				});
			},
		);

		it.each(['x; DROP TABLE', 'p"', "p'", 'präfix_', '9_', 'p-'])('table prefix %p', async (tablePrefix) => {
			const error = await failureOf(openPostgresStore(unreachable({ tablePrefix })));
			expect(error.code).toBe('INVALID_IDENTIFIER');
		});
	});

	it('stores and reads back hostile Sync IDs, systems and keys as plain values', async () => {
		const store = await openPostgresStore(options());
		const hostile = [
			"o'hara",
			"'; DROP TABLE x; --",
			'"; DROP SCHEMA two_way_sync CASCADE; --',
			'Zoë 東京 🚀',
			'back\\slash',
			'{curly,comma}',
			'NULL',
			'$1',
		];
		try {
			for (const syncId of hostile) {
				const [result] = await store.commit(syncId, [
					{ sides: [{ system: syncId, key: syncId, seenHash: syncId, base: { [syncId]: syncId } }] },
				]);
				const found = (await store.lookUp(syncId, syncId, [syncId])).get(syncId);
				expect(found?.entityId).toBe(result.entityId);
				expect(found?.systems[syncId]).toMatchObject({ key: syncId, seenHash: syncId, base: { [syncId]: syncId } });
				await store.setCursor(syncId, syncId, syncId);
				expect(await store.getCursor(syncId, syncId)).toBe(syncId);
				const failure = { sourceSystem: syncId, sourceKey: syncId, targetSystem: 'erp', op: 'create' as const };
				await store.recordFailures(syncId, [{ ...failure, payload: { v: syncId }, error: syncId }], {
					maxAttempts: 3,
					baseDelayMs: 0,
					maxDelayMs: 0,
				});
				expect((await store.listOutbox(syncId, 'all', 5))[0]).toMatchObject({ ...failure, payload: { v: syncId } });
				expect((await store.acquireLock(syncId, syncId, syncId, 1000)).acquired).toBe(true);
				expect((await store.stats(syncId)).entities).toBe(1);
			}
			const tables = await query<{ table_name: string }>(
				`SELECT table_name FROM information_schema.tables WHERE table_schema = 'two_way_sync' ORDER BY table_name`,
			);
			expect(tables.map((row) => row.table_name)).toEqual(['audit', 'audit_queue', 'cursors', 'locks', 'outbox', 'records', 'schema_migrations']);
			const syncIds = await query<{ sync_id: string }>('SELECT DISTINCT sync_id FROM two_way_sync.records ORDER BY 1');
			expect(syncIds.map((row) => row.sync_id).sort()).toEqual([...hostile].sort());
		} finally {
			await store.close();
		}
	});

	it('runs each migration once, however often the store is opened', async () => {
		const first = await openPostgresStore(options({ schema: 'opened_twice' }));
		const second = await openPostgresStore(options({ schema: 'opened_twice' }));
		await first.close();
		await second.close();
		const versions = await query<{ version: number }>('SELECT version FROM opened_twice.schema_migrations');
		expect(versions).toEqual([{ version: 1 }, { version: 2 }]);
	});

	it('survives several workers creating the schema at the same moment', async () => {
		// Different pool sizes give separate pools, as separate processes would have.
		const opened = await Promise.all(
			[1, 2, 3, 4, 5].map((poolMax) => openPostgresStore(options({ schema: 'raced', poolMax }))),
		);
		await Promise.all(opened.map((store) => store.close()));
		const versions = await query<{ version: number }>('SELECT version FROM raced.schema_migrations');
		expect(versions).toEqual([{ version: 1 }, { version: 2 }]);
	});

	it('keeps stores with different table prefixes apart in one schema', async () => {
		const blue = await openPostgresStore(options({ schema: 'shared', tablePrefix: 'blue_' }));
		const green = await openPostgresStore(options({ schema: 'shared', tablePrefix: 'green_' }));
		await blue.commit('contacts', [{ sides: [{ system: 'crm', key: 'c1' }] }]);
		expect((await green.lookUp('contacts', 'crm', ['c1'])).size).toBe(0);
		expect((await blue.lookUp('contacts', 'crm', ['c1'])).size).toBe(1);
		await blue.close();
		await green.close();
	});

	it('keeps working for one store when another store on the same pool is closed', async () => {
		const leaving = await openPostgresStore(options());
		const staying = await openPostgresStore(options());
		await leaving.close();
		await staying.setCursor('contacts', 'crm', 'still here');
		expect(await staying.getCursor('contacts', 'crm')).toBe('still here');
		await expect(leaving.getCursor('contacts', 'crm')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
		await staying.close();
	});

	it('explains an unreachable server with its address and never shows the password', async () => {
		const port = await closedPort();
		const password = 'Sup3r-Secret-Pa55';
		const unreachable = options({ host: '127.0.0.1', port, password });
		const error = await failureOf(openPostgresStore(unreachable));
		expect(error.code).toBe('STORE_UNAVAILABLE');
		expect(error.message).toContain(`127.0.0.1:${port}`);
		expect(error.hint).toContain(`127.0.0.1:${port}`);
		expect(error.hint).toMatch(/runs at .* and accepts TCP connections/);
		expect(visibleText(error)).not.toContain(password);
		const tested = await testPostgresConnection(unreachable);
		expect(tested.ok).toBe(false);
		expect(tested.message).toContain(`127.0.0.1:${port}`);
		expect(tested.message).not.toContain(password);
	});

	it('names a missing database in its hint', async () => {
		const error = await failureOf(openPostgresStore(options({ database: 'no_such_database' })));
		expect(error.code).toBe('STORE_UNAVAILABLE');
		expect(error.hint).toContain('Create the database "no_such_database"');
	});
});

describe('the PostgreSQL store on a server with password authentication', () => {
	const superuserPassword = 'Adm1n-"quoted"-pa$$';
	let server: ThrowawayPostgres;
	const options = (extra: Partial<PostgresStoreOptions> = {}): PostgresStoreOptions => ({
		host: server.host,
		port: server.port,
		database: 'tws_test',
		user: 'postgres',
		password: superuserPassword,
		ssl: 'disable',
		...extra,
	});

	beforeAll(async () => {
		server = await startThrowawayPostgres({ superuserPassword });
		const admin = new Client({ connectionString: server.url });
		await admin.connect();
		try {
			// A user who may log in and use what is granted, but may not create schemas.
			await admin.query(`CREATE ROLE limited LOGIN PASSWORD 'limited-pw'`);
			await admin.query(`CREATE SCHEMA prepared`);
			await admin.query(`CREATE SCHEMA granted`);
			await admin.query(`GRANT USAGE, CREATE ON SCHEMA granted TO limited`);
		} finally {
			await admin.end();
		}
	}, 60_000);

	afterAll(async () => {
		await endPostgresPools();
		await server?.stop();
	}, 30_000);

	it('refuses a wrong password with a hint about the credential and without showing either password', async () => {
		const wrong = 'Wr0ng-Password!';
		const error = await failureOf(openPostgresStore(options({ password: wrong })));
		expect(error.code).toBe('STORE_UNAVAILABLE');
		expect(error.hint).toContain('Check User and Password');
		expect(error.hint).toContain(`${server.host}:${server.port}`);
		expect(visibleText(error)).not.toContain(wrong);
		expect(visibleText(error)).not.toContain(superuserPassword);
	});

	it('works with the right password', async () => {
		const store = await openPostgresStore(options());
		await store.setCursor('contacts', 'crm', 'c');
		expect(await store.getCursor('contacts', 'crm')).toBe('c');
		await store.close();
	});

	it('passes the credential test for a user who may create the schema', async () => {
		expect(await testPostgresConnection(options({ schema: 'fresh' }))).toEqual({
			ok: true,
			message: expect.stringContaining('will be created on first use'),
		});
	});

	it('fails the credential test for a user who may not create the schema, and says what to grant', async () => {
		const result = await testPostgresConnection(options({ user: 'limited', password: 'limited-pw', schema: 'fresh' }));
		expect(result.ok).toBe(false);
		expect(result.message).toContain('may not create the schema "fresh"');
		expect(result.message).toContain('CREATE SCHEMA fresh AUTHORIZATION "limited"');
	});

	it('fails the credential test for an existing schema the user may not use', async () => {
		const result = await testPostgresConnection(options({ user: 'limited', password: 'limited-pw', schema: 'prepared' }));
		expect(result.ok).toBe(false);
		expect(result.message).toContain('GRANT USAGE, CREATE ON SCHEMA prepared TO "limited"');
	});

	it('passes the credential test for an existing schema with USAGE and CREATE granted', async () => {
		const result = await testPostgresConnection(options({ user: 'limited', password: 'limited-pw', schema: 'granted' }));
		expect(result).toEqual({ ok: true, message: expect.stringContaining('is usable') });
	});

	it('fails the credential test for a wrong password without showing it', async () => {
		const result = await testPostgresConnection(options({ password: 'Wr0ng-Password!' }));
		expect(result.ok).toBe(false);
		expect(result.message).toContain('Check User and Password');
		expect(result.message).not.toContain('Wr0ng-Password!');
	});

	it('refuses to open the store for a user who may not create its schema, and says what to grant', async () => {
		const error = await failureOf(openPostgresStore(options({ user: 'limited', password: 'limited-pw', schema: 'fresh' })));
		expect(error.code).toBe('STORE_REFUSED');
		expect(error.hint).toContain('CREATE SCHEMA fresh AUTHORIZATION "limited"');
	});

	it('opens the store in a schema prepared for a limited user', async () => {
		const store = await openPostgresStore(options({ user: 'limited', password: 'limited-pw', schema: 'granted' }));
		await store.commit('contacts', [{ sides: [{ system: 'crm', key: 'c1' }] }]);
		expect((await store.lookUp('contacts', 'crm', ['c1'])).size).toBe(1);
		await store.close();
	});
});
