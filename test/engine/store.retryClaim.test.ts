import { Client } from 'pg';

import { SyncError } from '../../nodes/engine/errors';
import { retryDelayMs } from '../../nodes/engine/retry';
import type { FailureInput, OutboxEntry, RetryPolicy, SyncStore } from '../../nodes/engine/store/SyncStore';
import { builtinBackend, postgresBackend } from '../support/storeBackends';

/**
 * Get Due Retries claims what it returns, so that two executions running at once (n8n queue mode
 * workers, or a schedule overlapping a slow run) never replay the same queued change twice.
 */

const T0 = new Date('2030-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const policy: RetryPolicy = { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 60_000 };
const CLAIM_MS = 300_000;

function failure(sourceKey: string): FailureInput {
	return {
		sourceSystem: 'crm',
		sourceKey,
		targetSystem: 'erp',
		op: 'update',
		payload: { name: `Ada ${sourceKey}` },
		meta: { syncId: 'x', system: 'crm', key: sourceKey, op: 'update' },
		error: 'HTTP 503',
	};
}

const keysOf = (entries: OutboxEntry[]) => entries.map((entry) => entry.sourceKey);

describe.each([builtinBackend('claim'), postgresBackend('claim')])('claiming due retries in the $name store', (backend) => {
	let store: SyncStore;
	let other: SyncStore;
	let syncCounter = 0;
	const newSync = () => `claim-${backend.name}-${++syncCounter}`;

	beforeAll(async () => {
		await backend.setUp();
		store = await backend.open(0);
		other = await backend.open(1);
	}, 60_000);

	afterAll(async () => {
		await store?.close();
		await other?.close();
		await backend.tearDown();
	});

	it('hands a claimed entry to no other caller, and moves its next attempt to the end of the claim', async () => {
		const syncId = newSync();
		await store.recordFailures(syncId, [failure('c1'), failure('c2')], policy, T0);

		const mine = await store.getDueRetries(syncId, 1, at(5000), CLAIM_MS);
		const theirs = await other.getDueRetries(syncId, 10, at(5000), CLAIM_MS);

		expect(keysOf(mine)).toEqual(['c1']);
		expect(mine[0]).toMatchObject({ attempts: 1, status: 'pending', nextAttemptAt: at(5000 + CLAIM_MS).toISOString() });
		expect(keysOf(theirs)).toEqual(['c2']);
		expect(await store.getDueRetries(syncId, 10, at(6000), CLAIM_MS)).toEqual([]);
		const stats = await store.stats(syncId, at(6000));
		expect(stats.outbox).toEqual({ pending: 2, due: 0, dead: 0 });
	});

	it('never gives two callers at once the same due entry', async () => {
		const syncId = newSync();
		const keys = Array.from({ length: 24 }, (_, index) => `c${String(index).padStart(2, '0')}`);
		await store.recordFailures(syncId, keys.map(failure), policy, T0);

		// Eight executions ask at the same moment, through two stores (two pools of connections).
		const batches = await Promise.all(
			Array.from({ length: 8 }, (_, caller) => (caller % 2 === 0 ? store : other).getDueRetries(syncId, 4, at(5000), CLAIM_MS)),
		);

		const claimed = batches.flatMap(keysOf);
		expect(new Set(claimed).size).toBe(claimed.length);
		expect(claimed.length).toBeGreaterThan(0);
		// Whatever no caller got is still due; nothing is lost between claimed and due.
		const left = keysOf(await store.getDueRetries(syncId, 100, at(5000)));
		expect([...claimed, ...left].sort()).toEqual(keys);
	});

	it('gives a claimed entry out again once its claim has expired, as when the replaying execution crashed', async () => {
		const syncId = newSync();
		await store.recordFailures(syncId, [failure('c1')], policy, T0);
		const [claimed] = await store.getDueRetries(syncId, 10, at(1000), 60_000);

		expect(await other.getDueRetries(syncId, 10, at(60_999), 60_000)).toEqual([]);
		const again = await other.getDueRetries(syncId, 10, at(61_000), 60_000);

		expect(keysOf(again)).toEqual(['c1']);
		// A crash is not a recorded failure: the attempt count stays as it was.
		expect(again[0]).toMatchObject({ attempts: claimed.attempts, payload: { name: 'Ada c1' }, error: 'HTTP 503' });
	});

	it('counts the attempt and schedules the next one when Record Failure reports a claimed entry', async () => {
		const syncId = newSync();
		await store.recordFailures(syncId, [failure('c1')], policy, T0);
		await store.getDueRetries(syncId, 10, at(1000), CLAIM_MS);

		const [second] = await store.recordFailures(syncId, [{ ...failure('c1'), error: 'HTTP 502' }], policy, at(2000));

		expect(second).toMatchObject({
			attempts: 2,
			status: 'pending',
			error: 'HTTP 502',
			nextAttemptAt: at(2000 + retryDelayMs(2, policy)).toISOString(),
			createdAt: T0.toISOString(),
		});
		// The backoff, not the claim, decides when it is due again.
		const due = await other.getDueRetries(syncId, 10, at(2000 + retryDelayMs(2, policy)), CLAIM_MS);
		expect(due).toEqual([expect.objectContaining({ sourceKey: 'c1', attempts: 2, error: 'HTTP 502' })]);
		const [third] = await store.recordFailures(syncId, [failure('c1')], policy, at(10_000));
		expect(third).toMatchObject({ attempts: 3, status: 'dead' });
	});

	it('removes a claimed entry for good when Commit settles its replay', async () => {
		const syncId = newSync();
		await store.recordFailures(syncId, [failure('c1'), failure('c2')], policy, T0);
		await store.getDueRetries(syncId, 10, at(1000), CLAIM_MS);

		const [result] = await store.commit(syncId, [
			{
				sides: [
					{ system: 'crm', key: 'c1', seenHash: 'h1' },
					{ system: 'erp', key: 'e1', writtenHash: 'h1' },
				],
				clearOutbox: [{ sourceSystem: 'crm', sourceKey: 'c1', targetSystem: 'erp' }],
			},
		]);

		expect(result.changed).toBe(true);
		expect(keysOf(await store.listOutbox(syncId, 'all', 10))).toEqual(['c2']);
		expect(keysOf(await other.getDueRetries(syncId, 10, at(1000 + CLAIM_MS), CLAIM_MS))).toEqual(['c2']);
	});

	it('only reads when no claim time is given', async () => {
		const syncId = newSync();
		await store.recordFailures(syncId, [failure('c1')], policy, T0);

		const first = await store.getDueRetries(syncId, 10, at(1000));
		const second = await other.getDueRetries(syncId, 10, at(1000));

		expect(keysOf(first)).toEqual(['c1']);
		expect(second).toEqual(first);
		expect(first[0].nextAttemptAt).toBe(at(1000).toISOString());
	});

	it('refuses a claim time that is not a whole number of milliseconds of at least 1', async () => {
		const syncId = newSync();
		await expect(store.getDueRetries(syncId, 10, at(1000), 0)).rejects.toThrow(SyncError);
		await expect(store.getDueRetries(syncId, 10, at(1000), 0.5)).rejects.toThrow(/claim time/);
	});
});

describe('claiming due retries in PostgreSQL while another transaction holds an entry', () => {
	let store: SyncStore;
	let blocker: Client;
	const backend = postgresBackend('claim_held');

	beforeAll(async () => {
		await backend.setUp();
		store = await backend.open(0);
		blocker = new Client({ connectionString: backend.database!.url });
		await blocker.connect();
	}, 60_000);

	afterAll(async () => {
		await blocker?.end();
		await store?.close();
		await backend.tearDown();
	});

	it('skips the entry another caller is claiming instead of waiting for it or taking it too', async () => {
		const syncId = 'claim-locked';
		await store.recordFailures(syncId, [failure('c1'), failure('c2')], policy, T0);

		// Another worker's claim is half-way: it holds c1's row and has not committed yet.
		await blocker.query('BEGIN');
		await blocker.query(
			`SELECT 1 FROM two_way_sync.outbox WHERE sync_id = $1 AND source_key = 'c1' FOR UPDATE`,
			[syncId],
		);
		try {
			const mine = await store.getDueRetries(syncId, 10, at(5000), CLAIM_MS);
			expect(keysOf(mine)).toEqual(['c2']);
		} finally {
			await blocker.query('ROLLBACK');
		}
		// That worker gave up without claiming: c1 is still due.
		expect(keysOf(await store.getDueRetries(syncId, 10, at(5000), CLAIM_MS))).toEqual(['c1']);
	});
});
