import { DatabaseSync } from 'node:sqlite';

import { LEASE_SWEEP_INTERVAL_MS } from '../../nodes/engine/store/commitPlan';
import { DEFAULT_SCHEMA } from '../../nodes/engine/store/postgres';
import { queryDatabase } from '../support/postgres';
import { builtinBackend, postgresBackend, type StoreBackend } from '../support/storeBackends';

// Every webhook event leaves a replay lease in the locks table. Expired leases must not pile up:
// a store clears a sync's expired leases when a lock is taken, at most once a minute.

/** The resources in the locks table for a sync, read past the store. */
async function leaseResources(backend: StoreBackend, syncId: string): Promise<string[]> {
	if (backend.name === 'postgres') {
		const rows = await queryDatabase<{ resource: string }>(
			backend.database!,
			`SELECT resource FROM ${DEFAULT_SCHEMA}.locks WHERE sync_id = $1 ORDER BY resource`,
			[syncId],
		);
		return rows.map((row) => row.resource);
	}
	const db = new DatabaseSync(backend.filePath!);
	try {
		const rows = db.prepare('SELECT resource FROM locks WHERE sync_id = ? ORDER BY resource').all(syncId) as Array<{ resource: string }>;
		return rows.map((row) => row.resource);
	} finally {
		db.close();
	}
}

const T0 = new Date('2031-03-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

describe.each([builtinBackend('sweep'), postgresBackend('sweep')])('expired leases on the $name store', (backend) => {
	beforeAll(async () => {
		await backend.setUp();
	});
	afterAll(async () => {
		await backend.tearDown();
	});

	it('clears the expired leases of a sync when a lock is taken a minute later, and keeps the live ones', async () => {
		const store = await backend.open();
		const syncId = `sweep-${Date.now()}`;
		for (let index = 0; index < 20; index++) await store.acquireLock(syncId, `replay:crm:${index}`, `exec-${index}`, 1000, T0);
		await store.acquireLock(syncId, 'cycle', 'exec-long', 10 * 60_000, T0);
		expect(await leaseResources(backend, syncId)).toHaveLength(21);

		const later = await store.acquireLock(syncId, 'replay:crm:new', 'exec-new', 1000, at(LEASE_SWEEP_INTERVAL_MS + 5000));

		expect(later.acquired).toBe(true);
		expect(await leaseResources(backend, syncId)).toEqual(['cycle', 'replay:crm:new']);
		await store.close();
	});

	it('leaves the leases of other syncs alone', async () => {
		const store = await backend.open();
		const mine = `mine-${Date.now()}`;
		const theirs = `theirs-${Date.now()}`;
		await store.acquireLock(theirs, 'replay:crm:1', 'exec-1', 1000, T0);
		await store.acquireLock(mine, 'replay:crm:1', 'exec-1', 1000, T0);

		await store.acquireLock(mine, 'replay:crm:2', 'exec-2', 1000, at(LEASE_SWEEP_INTERVAL_MS + 5000));

		expect(await leaseResources(backend, mine)).toEqual(['replay:crm:2']);
		expect(await leaseResources(backend, theirs)).toEqual(['replay:crm:1']);
		await store.close();
	});

	it('still refuses a lease that is held, whether or not a clearing runs', async () => {
		const store = await backend.open();
		const syncId = `held-${Date.now()}`;
		await store.acquireLock(syncId, 'cycle', 'exec-a', 10 * 60_000, T0);

		const refused = await store.acquireLock(syncId, 'cycle', 'exec-b', 1000, at(LEASE_SWEEP_INTERVAL_MS + 5000));

		expect(refused).toMatchObject({ acquired: false, owner: 'exec-a' });
		await store.close();
	});
});
