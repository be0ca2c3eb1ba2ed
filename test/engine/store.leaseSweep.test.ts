import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

import { Client } from 'pg';

import { LEASE_SWEEP_INTERVAL_MS } from '../../nodes/engine/store/commitPlan';
import { DEFAULT_SCHEMA, endPostgresPools, openPostgresStore } from '../../nodes/engine/store/postgres';
import { openBuiltinStore } from '../../nodes/engine/store/sqlite';
import type { SyncStore } from '../../nodes/engine/store/SyncStore';
import { createScratchDatabase, type ScratchDatabase } from '../support/postgres';

// Every webhook event leaves a replay lease in the locks table. Expired leases must not pile up:
// a store clears a sync's expired leases when a lock is taken, at most once a minute.

interface Place {
	open(): Promise<SyncStore>;
	/** The resources in the locks table for a sync, read past the store. */
	resources(syncId: string): Promise<string[]>;
	close(): Promise<void>;
}

async function builtinPlace(): Promise<Place> {
	const folder = mkdtempSync(join(tmpdir(), 'tws-sweep-'));
	const filePath = join(folder, 'state.sqlite');
	return {
		open: () => openBuiltinStore({ filePath }),
		resources: async (syncId) => {
			const db = new DatabaseSync(filePath);
			try {
				const rows = db.prepare('SELECT resource FROM locks WHERE sync_id = ? ORDER BY resource').all(syncId) as Array<{ resource: string }>;
				return rows.map((row) => row.resource);
			} finally {
				db.close();
			}
		},
		close: async () => rmSync(folder, { recursive: true, force: true }),
	};
}

async function postgresPlace(): Promise<Place> {
	const database: ScratchDatabase = await createScratchDatabase('sweep');
	return {
		open: () =>
			openPostgresStore({
				host: database.host,
				port: database.port,
				database: database.database,
				user: database.user,
				password: database.password,
				ssl: 'disable',
			}),
		resources: async (syncId) => {
			const client = new Client({ connectionString: database.url });
			await client.connect();
			try {
				const { rows } = await client.query<{ resource: string }>(
					`SELECT resource FROM ${DEFAULT_SCHEMA}.locks WHERE sync_id = $1 ORDER BY resource`,
					[syncId],
				);
				return rows.map((row) => row.resource);
			} finally {
				await client.end();
			}
		},
		close: async () => {
			await endPostgresPools();
			await database.drop();
		},
	};
}

const T0 = new Date('2031-03-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

describe.each([
	['built-in', builtinPlace],
	['PostgreSQL', postgresPlace],
])('expired leases on the %s store', (_name, makePlace) => {
	let place: Place;
	beforeAll(async () => {
		place = await makePlace();
	});
	afterAll(async () => {
		await place.close();
	});

	it('clears the expired leases of a sync when a lock is taken a minute later, and keeps the live ones', async () => {
		const store = await place.open();
		const syncId = `sweep-${Date.now()}`;
		for (let index = 0; index < 20; index++) await store.acquireLock(syncId, `replay:crm:${index}`, `exec-${index}`, 1000, T0);
		await store.acquireLock(syncId, 'cycle', 'exec-long', 10 * 60_000, T0);
		expect(await place.resources(syncId)).toHaveLength(21);

		const later = await store.acquireLock(syncId, 'replay:crm:new', 'exec-new', 1000, at(LEASE_SWEEP_INTERVAL_MS + 5000));

		expect(later.acquired).toBe(true);
		expect(await place.resources(syncId)).toEqual(['cycle', 'replay:crm:new']);
		await store.close();
	});

	it('leaves the leases of other syncs alone', async () => {
		const store = await place.open();
		const mine = `mine-${Date.now()}`;
		const theirs = `theirs-${Date.now()}`;
		await store.acquireLock(theirs, 'replay:crm:1', 'exec-1', 1000, T0);
		await store.acquireLock(mine, 'replay:crm:1', 'exec-1', 1000, T0);

		await store.acquireLock(mine, 'replay:crm:2', 'exec-2', 1000, at(LEASE_SWEEP_INTERVAL_MS + 5000));

		expect(await place.resources(mine)).toEqual(['replay:crm:2']);
		expect(await place.resources(theirs)).toEqual(['replay:crm:1']);
		await store.close();
	});

	it('still refuses a lease that is held, whether or not a clearing runs', async () => {
		const store = await place.open();
		const syncId = `held-${Date.now()}`;
		await store.acquireLock(syncId, 'cycle', 'exec-a', 10 * 60_000, T0);

		const refused = await store.acquireLock(syncId, 'cycle', 'exec-b', 1000, at(LEASE_SWEEP_INTERVAL_MS + 5000));

		expect(refused).toMatchObject({ acquired: false, owner: 'exec-a' });
		await store.close();
	});
});
