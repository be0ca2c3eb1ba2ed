import { ChainVerifier, genesisHash } from '../../nodes/engine/audit/chain';
import type { AuditEvent, AuditStatus, ChainedAuditEvent } from '../../nodes/engine/audit/types';
import { SyncError } from '../../nodes/engine/errors';
import { hashValue } from '../../nodes/engine/hash';
import { entityIdFor } from '../../nodes/engine/ids';
import { retryDelayMs } from '../../nodes/engine/retry';
import type { FailureInput, ResetScope, RetryPolicy, SyncStore } from '../../nodes/engine/store/SyncStore';
import { builtinBackend, postgresBackend } from '../support/storeBackends';

const T0 = new Date('2030-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const policy: RetryPolicy = { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 60_000 };

function failure(sourceKey: string, extra: Partial<FailureInput> = {}): FailureInput {
	return {
		sourceSystem: 'crm',
		sourceKey,
		targetSystem: 'erp',
		op: 'update',
		payload: { name: `Ada ${sourceKey}` },
		meta: { syncId: 'x', system: 'crm', key: sourceKey, op: 'update' },
		error: 'HTTP 503',
		...extra,
	};
}

let eventCounter = 0;

/** A small audit event as the Audit Logger would build it (already redacted). */
function auditEvent(syncId: string, extra: Partial<AuditEvent> = {}): AuditEvent {
	eventCounter += 1;
	return {
		id: `event-${eventCounter}`,
		time: T0.toISOString(),
		syncId,
		executionId: 'exec-1',
		workflowId: 'wf-1',
		workflowName: 'Contacts sync',
		node: 'Commit',
		source: { system: 'crm', key: 'c1' },
		target: { system: 'erp', key: 'e1' },
		entityId: 'ent-1',
		correlationId: 'ent-1',
		op: 'update',
		reason: null,
		changedFields: ['name'],
		changes: { name: { before: 'Ada', after: 'Ada L.' } },
		resolution: null,
		status: 'applied',
		error: null,
		retry: null,
		...extra,
	};
}

/** Reads a sync's whole chain page by page and checks it, as Verify Chain does. */
async function verifyStoredChain(store: SyncStore, syncId: string, pageSize = 7) {
	const verifier = new ChainVerifier(syncId);
	for (;;) {
		const page = await store.readAuditChain(syncId, verifier.lastSeq, pageSize);
		if (page.length === 0 || !page.every((link) => verifier.add(link))) break;
	}
	return verifier.finish();
}

async function expectSyncError(work: Promise<unknown>, code: SyncError['code']): Promise<SyncError> {
	const error = await work.then(
		() => undefined,
		(caught: unknown) => caught,
	);
	expect(error).toBeInstanceOf(SyncError);
	expect((error as SyncError).code).toBe(code);
	return error as SyncError;
}

describe.each([builtinBackend('contract'), postgresBackend('contract')])('the $name store', (backend) => {
	let store: SyncStore;
	let syncCounter = 0;
	/** A fresh sync per test keeps tests independent while they share one store. */
	const newSync = () => `sync-${backend.name}-${++syncCounter}`;

	beforeAll(async () => {
		await backend.setUp();
		store = await backend.open();
	}, 60_000);

	afterAll(async () => {
		await store?.close();
		await backend.tearDown();
	});

	it('names its backend', () => {
		expect(store.backend).toBe(backend.name);
	});

	describe('commit', () => {
		it('creates a new entity whose id derives from the first side', async () => {
			const syncId = newSync();
			const [result] = await store.commit(syncId, [
				{ sides: [{ system: 'crm', key: 'c1', seenHash: 'h1', writtenHash: null, base: { name: 'Ada' } }] },
			]);
			expect(result).toEqual({ entityId: entityIdFor(syncId, 'crm', 'c1'), changed: true, createdEntity: true });
			const found = await store.lookUp(syncId, 'crm', ['c1']);
			expect(found.get('c1')).toEqual({
				entityId: result.entityId,
				systems: {
					crm: {
						system: 'crm',
						key: 'c1',
						seenHash: 'h1',
						writtenHash: null,
						base: { name: 'Ada' },
						deletedAt: null,
						version: 1,
						updatedAt: expect.any(String),
					},
				},
			});
		});

		it('links the key that the target just assigned to the entity of the source record', async () => {
			const syncId = newSync();
			const [created] = await store.commit(syncId, [{ sides: [{ system: 'crm', key: 'c1', seenHash: 'h1' }] }]);
			const [linked] = await store.commit(syncId, [
				{
					sides: [
						{ system: 'crm', key: 'c1', seenHash: 'h1' },
						{ system: 'erp', key: 'E-900', writtenHash: 'w1', seenHash: 'w1' },
					],
				},
			]);
			expect(linked).toEqual({ entityId: created.entityId, changed: true, createdEntity: false });
			const entity = (await store.lookUp(syncId, 'erp', ['E-900'])).get('E-900');
			expect(entity?.entityId).toBe(created.entityId);
			expect(Object.keys(entity?.systems ?? {}).sort()).toEqual(['crm', 'erp']);
			expect(entity?.systems.erp.writtenHash).toBe('w1');
		});

		it('changes nothing when the same input is committed twice', async () => {
			const syncId = newSync();
			const input = {
				sides: [
					{ system: 'crm', key: 'c1', seenHash: 'h1', base: { name: 'Ada', tags: ['a', 'b'] } },
					{ system: 'erp', key: 'e1', writtenHash: 'w1', base: { name: 'Ada', tags: ['a', 'b'] } },
				],
			};
			await store.commit(syncId, [input]);
			const before = (await store.lookUp(syncId, 'crm', ['c1'])).get('c1');
			const [again] = await store.commit(syncId, [input]);
			const after = (await store.lookUp(syncId, 'crm', ['c1'])).get('c1');
			expect(again.changed).toBe(false);
			expect(again.createdEntity).toBe(false);
			expect(after).toEqual(before);
			expect(after?.systems.crm.version).toBe(1);
		});

		it('treats a base with its fields in another order as the same content', async () => {
			const syncId = newSync();
			await store.commit(syncId, [{ sides: [{ system: 'crm', key: 'c1', base: { a: 1, b: { c: 2, d: 3 } } }] }]);
			const [again] = await store.commit(syncId, [{ sides: [{ system: 'crm', key: 'c1', base: { b: { d: 3, c: 2 }, a: 1 } }] }]);
			expect(again.changed).toBe(false);
		});

		it('bumps the version and keeps omitted fields when something really changes', async () => {
			const syncId = newSync();
			await store.commit(syncId, [
				{ sides: [{ system: 'crm', key: 'c1', seenHash: 'h1', writtenHash: 'w1', base: { name: 'Ada' } }] },
			]);
			const [result] = await store.commit(syncId, [{ sides: [{ system: 'crm', key: 'c1', seenHash: 'h2' }] }]);
			const state = (await store.lookUp(syncId, 'crm', ['c1'])).get('c1')?.systems.crm;
			expect(result.changed).toBe(true);
			expect(state).toMatchObject({ seenHash: 'h2', writtenHash: 'w1', base: { name: 'Ada' }, version: 2 });
		});

		it('clears a field that a side sets to null', async () => {
			const syncId = newSync();
			await store.commit(syncId, [{ sides: [{ system: 'crm', key: 'c1', writtenHash: 'w1', base: { name: 'Ada' } }] }]);
			await store.commit(syncId, [{ sides: [{ system: 'crm', key: 'c1', writtenHash: null, base: null }] }]);
			const state = (await store.lookUp(syncId, 'crm', ['c1'])).get('c1')?.systems.crm;
			expect(state).toMatchObject({ writtenHash: null, base: null });
		});

		it('tombstones a deleted record, keeps the time of the first delete, and clears it when the record returns', async () => {
			const syncId = newSync();
			await store.commit(syncId, [{ sides: [{ system: 'crm', key: 'c1', seenHash: 'h1' }] }]);
			await store.commit(syncId, [{ sides: [{ system: 'crm', key: 'c1', deleted: true }] }]);
			const deleted = (await store.lookUp(syncId, 'crm', ['c1'])).get('c1')?.systems.crm;
			expect(deleted?.deletedAt).toEqual(expect.any(String));
			const [repeat] = await store.commit(syncId, [{ sides: [{ system: 'crm', key: 'c1', deleted: true }] }]);
			expect(repeat.changed).toBe(false);
			expect((await store.lookUp(syncId, 'crm', ['c1'])).get('c1')?.systems.crm.deletedAt).toBe(deleted?.deletedAt);
			await store.commit(syncId, [{ sides: [{ system: 'crm', key: 'c1', deleted: false }] }]);
			expect((await store.lookUp(syncId, 'crm', ['c1'])).get('c1')?.systems.crm.deletedAt).toBeNull();
		});

		it('clears the outbox entries that a commit settles, and reports that as a change', async () => {
			const syncId = newSync();
			await store.commit(syncId, [{ sides: [{ system: 'crm', key: 'c1', seenHash: 'h1' }] }]);
			await store.recordFailures(syncId, [failure('c1'), failure('c2')], policy, T0);
			const [result] = await store.commit(syncId, [
				{
					sides: [{ system: 'crm', key: 'c1', seenHash: 'h1' }],
					clearOutbox: [{ sourceSystem: 'crm', sourceKey: 'c1', targetSystem: 'erp' }],
				},
			]);
			expect(result.changed).toBe(true);
			const left = await store.listOutbox(syncId, 'all', 10);
			expect(left.map((entry) => entry.sourceKey)).toEqual(['c2']);
		});

		it('uses the entity that any side is already linked to', async () => {
			const syncId = newSync();
			const [first] = await store.commit(syncId, [{ sides: [{ system: 'erp', key: 'e1' }] }]);
			const [second] = await store.commit(syncId, [{ sides: [{ system: 'crm', key: 'c1' }, { system: 'erp', key: 'e1' }] }]);
			expect(second.entityId).toBe(first.entityId);
			expect(second.createdEntity).toBe(false);
		});

		it('creates the entity named by the input when it is new', async () => {
			const syncId = newSync();
			const [result] = await store.commit(syncId, [{ entityId: 'ent-42', sides: [{ system: 'crm', key: 'c1' }] }]);
			expect(result).toEqual({ entityId: 'ent-42', changed: true, createdEntity: true });
			expect((await store.getEntities(syncId, ['ent-42'])).get('ent-42')?.systems.crm.key).toBe('c1');
		});

		it('lets later items of a batch see the links made by earlier ones', async () => {
			const syncId = newSync();
			const results = await store.commit(syncId, [
				{ sides: [{ system: 'crm', key: 'c1' }] },
				{ sides: [{ system: 'erp', key: 'e1' }, { system: 'crm', key: 'c1' }] },
			]);
			expect(results[1]).toEqual({ entityId: results[0].entityId, changed: true, createdEntity: false });
		});

		it('refuses to give an entity a second live key in one system, and rolls back the whole batch', async () => {
			const syncId = newSync();
			await store.commit(syncId, [{ sides: [{ system: 'crm', key: 'c1' }, { system: 'erp', key: 'e1' }] }]);
			const error = await expectSyncError(
				store.commit(syncId, [
					{ sides: [{ system: 'crm', key: 'c9' }] },
					{ sides: [{ system: 'crm', key: 'c1' }, { system: 'erp', key: 'e2' }] },
				]),
				'LINK_CONFLICT',
			);
			expect(error.hint).toContain('Unlink');
			expect((await store.lookUp(syncId, 'crm', ['c9'])).size).toBe(0);
			expect((await store.lookUp(syncId, 'erp', ['e2'])).size).toBe(0);
		});

		it('replaces the key of a deleted record by the key of its re-creation', async () => {
			const syncId = newSync();
			const [entity] = await store.commit(syncId, [{ sides: [{ system: 'crm', key: 'c1' }, { system: 'erp', key: 'e1' }] }]);
			await store.commit(syncId, [{ sides: [{ system: 'erp', key: 'e1', deleted: true }] }]);
			const [recreated] = await store.commit(syncId, [{ sides: [{ system: 'crm', key: 'c1' }, { system: 'erp', key: 'e2' }] }]);
			expect(recreated.entityId).toBe(entity.entityId);
			expect((await store.lookUp(syncId, 'erp', ['e1'])).size).toBe(0);
			expect((await store.lookUp(syncId, 'erp', ['e2'])).get('e2')?.systems.crm.key).toBe('c1');
		});

		it('replaces the live key that a re-creation names, in the same transaction', async () => {
			const syncId = newSync();
			const [entity] = await store.commit(syncId, [{ sides: [{ system: 'crm', key: 'c1' }, { system: 'erp', key: 'e1' }] }]);
			// e1 was deleted in the ERP, but nothing has recorded that yet: its link is still live.
			const recreate = { entityId: entity.entityId, sides: [{ system: 'crm', key: 'c1' }, { system: 'erp', key: 'e2', replacesKey: 'e1', writtenHash: 'w2' }] };
			const [recreated] = await store.commit(syncId, [recreate]);

			expect(recreated).toEqual({ entityId: entity.entityId, changed: true, createdEntity: false });
			expect((await store.lookUp(syncId, 'erp', ['e1'])).size).toBe(0);
			expect((await store.lookUp(syncId, 'erp', ['e2'])).get('e2')?.systems).toMatchObject({ crm: { key: 'c1' }, erp: { key: 'e2', writtenHash: 'w2' } });
			expect((await store.stats(syncId)).systems.erp).toEqual({ links: 1, tombstones: 0 });
			const [again] = await store.commit(syncId, [recreate]);
			expect(again.changed).toBe(false);
		});

		it('still refuses a second live key when the side names another key as replaced', async () => {
			const syncId = newSync();
			const [entity] = await store.commit(syncId, [{ sides: [{ system: 'crm', key: 'c1' }, { system: 'erp', key: 'e1' }] }]);
			await expectSyncError(
				store.commit(syncId, [{ entityId: entity.entityId, sides: [{ system: 'erp', key: 'e2', replacesKey: 'e7' }] }]),
				'LINK_CONFLICT',
			);
			expect((await store.lookUp(syncId, 'erp', ['e1'])).size).toBe(1);
		});

		it('merges a partial update over the stored base and remembers the hash of the merged base', async () => {
			const syncId = newSync();
			await store.commit(syncId, [{ sides: [{ system: 'erp', key: 'e1', writtenHash: 'w1', base: { id: 'e1', name: 'Ada', phone: '1', city: 'London' } }] }]);
			const [result] = await store.commit(syncId, [{ sides: [{ system: 'erp', key: 'e1', basePatch: { id: 'e1', phone: '2' } }] }]);

			const merged = { id: 'e1', name: 'Ada', phone: '2', city: 'London' };
			expect(result.changed).toBe(true);
			const state = (await store.lookUp(syncId, 'erp', ['e1'])).get('e1')!.systems.erp;
			expect(state).toMatchObject({ base: merged, writtenHash: hashValue(merged), seenHash: hashValue(merged) });
			const [again] = await store.commit(syncId, [{ sides: [{ system: 'erp', key: 'e1', basePatch: { id: 'e1', phone: '2' } }] }]);
			expect(again.changed).toBe(false);
		});

		it("takes the system's record read in this run as the base under the patch: its own edits, its other tracked fields, not the fields it no longer has", async () => {
			const syncId = newSync();
			await store.commit(syncId, [{ sides: [{ system: 'erp', key: 'e1', base: { name: 'Ada', phone: '1', city: 'London', fax: '0' } }] }]);
			await store.commit(syncId, [
				{
					sides: [
						{
							system: 'erp',
							key: 'e1',
							basePatch: { phone: '2' },
							observed: { name: 'Ada', phone: '1', city: 'Paris', notes: 'VIP' },
						},
					],
				},
			]);

			const merged = { name: 'Ada', phone: '2', city: 'Paris', notes: 'VIP' };
			expect((await store.lookUp(syncId, 'erp', ['e1'])).get('e1')!.systems.erp).toMatchObject({ base: merged, writtenHash: hashValue(merged) });
		});

		it('takes the observed record as the base of a partial update to a record it knew nothing of yet', async () => {
			const syncId = newSync();
			await store.commit(syncId, [
				{ sides: [{ system: 'erp', key: 'e1', basePatch: { id: 'e1', phone: '2' }, observed: { id: 'e1', name: 'Ada', phone: '1', city: 'Paris' } }] },
			]);

			// The fields not sent stay part of the base, so the record's next read is its echo, not a change.
			const merged = { id: 'e1', name: 'Ada', phone: '2', city: 'Paris' };
			expect((await store.lookUp(syncId, 'erp', ['e1'])).get('e1')!.systems.erp).toMatchObject({
				base: merged,
				writtenHash: hashValue(merged),
				seenHash: hashValue(merged),
			});
		});

		it('refuses a base patch that comes with a base or a hash', async () => {
			const syncId = newSync();
			await expectSyncError(
				store.commit(syncId, [{ sides: [{ system: 'erp', key: 'e1', basePatch: { phone: '2' }, base: { phone: '2' } }] }]),
				'INVALID_INPUT',
			);
			await expectSyncError(
				store.commit(syncId, [{ sides: [{ system: 'erp', key: 'e1', basePatch: { phone: '2' }, writtenHash: 'w' }] }]),
				'INVALID_INPUT',
			);
		});

		it('refuses sides that link two different entities together', async () => {
			const syncId = newSync();
			await store.commit(syncId, [{ sides: [{ system: 'crm', key: 'c1' }] }, { sides: [{ system: 'erp', key: 'e1' }] }]);
			await expectSyncError(
				store.commit(syncId, [{ sides: [{ system: 'crm', key: 'c1' }, { system: 'erp', key: 'e1' }] }]),
				'LINK_CONFLICT',
			);
		});

		it('rejects an item without keys or with one system twice', async () => {
			const syncId = newSync();
			await expectSyncError(store.commit(syncId, [{ sides: [] }]), 'INVALID_INPUT');
			await expectSyncError(
				store.commit(syncId, [{ sides: [{ system: 'crm', key: 'c1' }, { system: 'crm', key: 'c2' }] }]),
				'INVALID_INPUT',
			);
			await expectSyncError(store.commit(syncId, [{ sides: [{ system: 'crm', key: '' }] }]), 'INVALID_INPUT');
		});

		it('rejects an empty Sync ID', async () => {
			await expectSyncError(store.commit('  ', [{ sides: [{ system: 'crm', key: 'c1' }] }]), 'INVALID_INPUT');
		});
	});

	describe('reading state', () => {
		it('looks up records by key and leaves unknown keys out', async () => {
			const syncId = newSync();
			await store.commit(syncId, [
				{ sides: [{ system: 'crm', key: 'c1' }, { system: 'erp', key: 'e1' }] },
				{ sides: [{ system: 'crm', key: 'c2' }] },
			]);
			const found = await store.lookUp(syncId, 'crm', ['c1', 'c2', 'missing']);
			expect([...found.keys()].sort()).toEqual(['c1', 'c2']);
			expect(found.get('c1')?.systems.erp.key).toBe('e1');
			expect((await store.lookUp(syncId, 'crm', [])).size).toBe(0);
		});

		it('lists every key of one system with its entity, for snapshot deletes', async () => {
			const syncId = newSync();
			const results = await store.commit(syncId, [
				{ sides: [{ system: 'crm', key: 'c1' }, { system: 'erp', key: 'e1' }] },
				{ sides: [{ system: 'crm', key: 'c2', deleted: true }] },
				{ sides: [{ system: 'erp', key: 'e3' }] },
			]);
			const keys = await store.listKeys(syncId, 'crm');
			expect([...keys.keys()].sort()).toEqual(['c1', 'c2']);
			expect(keys.get('c1')).toMatchObject({ entityId: results[0].entityId, system: 'crm', key: 'c1', deletedAt: null });
			expect(keys.get('c2')?.deletedAt).toEqual(expect.any(String));
		});

		it('rejects keys that are not text, as both backends compare keys as text', async () => {
			const syncId = newSync();
			await expectSyncError(store.lookUp(syncId, 'crm', [42 as unknown as string]), 'INVALID_INPUT');
			await expectSyncError(store.commit(syncId, [{ sides: [{ system: 'crm', key: 'nul\u0000key' }] }]), 'INVALID_INPUT');
		});

		it('returns whole entities by id and leaves unknown ids out', async () => {
			const syncId = newSync();
			const [result] = await store.commit(syncId, [{ sides: [{ system: 'crm', key: 'c1' }, { system: 'erp', key: 'e1' }] }]);
			const entities = await store.getEntities(syncId, [result.entityId, 'e_unknown']);
			expect([...entities.keys()]).toEqual([result.entityId]);
			expect(Object.keys(entities.get(result.entityId)?.systems ?? {}).sort()).toEqual(['crm', 'erp']);
		});
	});

	describe('link and unlink', () => {
		it('links keys to each other as a new entity, and repeating it changes nothing', async () => {
			const syncId = newSync();
			const keys = [
				{ system: 'crm', key: 'c1' },
				{ system: 'erp', key: 'e1' },
			];
			const [linked] = await store.link(syncId, [{ keys }]);
			expect(linked).toEqual({ entityId: entityIdFor(syncId, 'crm', 'c1'), changed: true, createdEntity: true });
			const [again] = await store.link(syncId, [{ keys }]);
			expect(again).toEqual({ entityId: linked.entityId, changed: false, createdEntity: false });
			const state = (await store.lookUp(syncId, 'erp', ['e1'])).get('e1')?.systems.erp;
			expect(state).toMatchObject({ seenHash: null, writtenHash: null, base: null, deletedAt: null });
		});

		it('links a key to an existing entity', async () => {
			const syncId = newSync();
			const [entity] = await store.commit(syncId, [{ sides: [{ system: 'crm', key: 'c1' }] }]);
			const [linked] = await store.link(syncId, [{ entityId: entity.entityId, keys: [{ system: 'erp', key: 'e1' }] }]);
			expect(linked).toEqual({ entityId: entity.entityId, changed: true, createdEntity: false });
			expect((await store.lookUp(syncId, 'erp', ['e1'])).get('e1')?.entityId).toBe(entity.entityId);
		});

		it('refuses an entity that does not exist in this sync', async () => {
			const syncId = newSync();
			const error = await expectSyncError(
				store.link(syncId, [{ entityId: 'e_nowhere', keys: [{ system: 'erp', key: 'e1' }] }]),
				'UNKNOWN_ENTITY',
			);
			expect(error.message).toContain('e_nowhere');
		});

		it('refuses a key that is already linked to another entity', async () => {
			const syncId = newSync();
			const [first, second] = await store.commit(syncId, [
				{ sides: [{ system: 'crm', key: 'c1' }] },
				{ sides: [{ system: 'crm', key: 'c2' }] },
			]);
			expect(first.entityId).not.toBe(second.entityId);
			await expectSyncError(
				store.link(syncId, [{ entityId: second.entityId, keys: [{ system: 'crm', key: 'c1' }] }]),
				'LINK_CONFLICT',
			);
		});

		it('unlinks a key with its record state and keeps the other keys of the entity', async () => {
			const syncId = newSync();
			const [entity] = await store.commit(syncId, [{ sides: [{ system: 'crm', key: 'c1' }, { system: 'erp', key: 'e1' }] }]);
			expect(await store.unlink(syncId, 'erp', 'e1')).toBe(true);
			expect(await store.unlink(syncId, 'erp', 'e1')).toBe(false);
			expect((await store.lookUp(syncId, 'erp', ['e1'])).size).toBe(0);
			expect(Object.keys((await store.getEntities(syncId, [entity.entityId])).get(entity.entityId)?.systems ?? {})).toEqual([
				'crm',
			]);
		});
	});

	describe('cursors', () => {
		it('has no cursor until one is set, then returns the latest value', async () => {
			const syncId = newSync();
			expect(await store.getCursor(syncId, 'crm')).toBeNull();
			await store.setCursor(syncId, 'crm', '2030-01-01T00:00:00Z');
			await store.setCursor(syncId, 'crm', '2030-01-02T00:00:00Z');
			await store.setCursor(syncId, 'erp', '17');
			expect(await store.getCursor(syncId, 'crm')).toBe('2030-01-02T00:00:00Z');
			expect(await store.getCursor(syncId, 'erp')).toBe('17');
		});
	});

	describe('outbox', () => {
		it('schedules retries with exponential backoff and dead-letters after the last attempt', async () => {
			const syncId = newSync();
			const [first] = await store.recordFailures(syncId, [failure('c1')], policy, T0);
			expect(first).toMatchObject({
				attempts: 1,
				status: 'pending',
				nextAttemptAt: at(retryDelayMs(1, policy)).toISOString(),
				createdAt: T0.toISOString(),
			});
			const [second] = await store.recordFailures(syncId, [failure('c1', { error: 'HTTP 500' })], policy, at(5000));
			expect(second).toMatchObject({
				attempts: 2,
				status: 'pending',
				error: 'HTTP 500',
				nextAttemptAt: at(5000 + retryDelayMs(2, policy)).toISOString(),
				createdAt: T0.toISOString(),
			});
			expect(retryDelayMs(2, policy)).toBe(2 * retryDelayMs(1, policy));
			const [third] = await store.recordFailures(syncId, [failure('c1')], policy, at(10_000));
			expect(third).toMatchObject({ attempts: 3, status: 'dead' });
			expect(await store.getDueRetries(syncId, 10, at(10_000_000))).toEqual([]);
		});

		it('keeps the payload and the sync metadata so that a retry can replay them', async () => {
			const syncId = newSync();
			const payload = { name: 'Zoë "the" O\'Brien', nested: { list: [1, 2.5, null, true] } };
			const meta = { syncId, system: 'crm', key: 'c1', op: 'update', target: { system: 'erp', key: 'e1', op: 'update' } };
			await store.recordFailures(
				syncId,
				[failure('c1', { payload, meta, entityId: 'ent-1', targetKey: 'e1', op: 'update' })],
				policy,
				T0,
			);
			const [entry] = await store.listOutbox(syncId, 'pending', 10);
			expect(entry).toEqual({
				sourceSystem: 'crm',
				sourceKey: 'c1',
				targetSystem: 'erp',
				entityId: 'ent-1',
				targetKey: 'e1',
				op: 'update',
				payload,
				meta,
				error: 'HTTP 503',
				attempts: 1,
				nextAttemptAt: at(1000).toISOString(),
				status: 'pending',
				createdAt: T0.toISOString(),
				updatedAt: T0.toISOString(),
			});
		});

		it('counts each failure of a batch, even when one record fails twice', async () => {
			const syncId = newSync();
			const entries = await store.recordFailures(syncId, [failure('c1'), failure('c1')], policy, T0);
			expect(entries.map((entry) => entry.attempts)).toEqual([1, 2]);
			expect((await store.listOutbox(syncId, 'all', 10)).map((entry) => entry.attempts)).toEqual([2]);
		});

		it('returns only the due pending retries, oldest first, up to the limit', async () => {
			const syncId = newSync();
			await store.recordFailures(syncId, [failure('late')], policy, at(3000));
			await store.recordFailures(syncId, [failure('early')], policy, at(0));
			await store.recordFailures(syncId, [failure('middle')], policy, at(1000));
			await store.recordFailures(syncId, [failure('future')], policy, at(60_000));
			await store.recordFailures(
				syncId,
				[failure('dead')],
				{ ...policy, maxAttempts: 1 },
				at(0),
			);
			const due = await store.getDueRetries(syncId, 10, at(4000));
			expect(due.map((entry) => entry.sourceKey)).toEqual(['early', 'middle', 'late']);
			const limited = await store.getDueRetries(syncId, 2, at(4000));
			expect(limited.map((entry) => entry.sourceKey)).toEqual(['early', 'middle']);
		});

		it('lists the outbox by status', async () => {
			const syncId = newSync();
			await store.recordFailures(syncId, [failure('c1')], policy, T0);
			await store.recordFailures(syncId, [failure('c2')], { ...policy, maxAttempts: 1 }, at(1));
			expect((await store.listOutbox(syncId, 'pending', 10)).map((e) => e.sourceKey)).toEqual(['c1']);
			expect((await store.listOutbox(syncId, 'dead', 10)).map((e) => e.sourceKey)).toEqual(['c2']);
			expect((await store.listOutbox(syncId, 'all', 10)).map((e) => e.sourceKey)).toEqual(['c1', 'c2']);
			expect((await store.listOutbox(syncId, 'all', 1)).map((e) => e.sourceKey)).toEqual(['c1']);
		});
	});

	describe('locks', () => {
		it('tells a second owner who holds the lock and until when', async () => {
			const syncId = newSync();
			const mine = await store.acquireLock(syncId, 'run', 'worker-a', 30_000, T0);
			expect(mine).toEqual({ resource: 'run', acquired: true, owner: 'worker-a', expiresAt: at(30_000).toISOString() });
			const theirs = await store.acquireLock(syncId, 'run', 'worker-b', 30_000, at(1000));
			expect(theirs).toEqual({ resource: 'run', acquired: false, owner: 'worker-a', expiresAt: at(30_000).toISOString() });
		});

		it('lets another owner take over once the lease has expired', async () => {
			const syncId = newSync();
			await store.acquireLock(syncId, 'run', 'worker-a', 30_000, T0);
			const taken = await store.acquireLock(syncId, 'run', 'worker-b', 30_000, at(30_000));
			expect(taken).toEqual({ resource: 'run', acquired: true, owner: 'worker-b', expiresAt: at(60_000).toISOString() });
		});

		it('extends the lease when the same owner acquires it again', async () => {
			const syncId = newSync();
			await store.acquireLock(syncId, 'run', 'worker-a', 30_000, T0);
			const extended = await store.acquireLock(syncId, 'run', 'worker-a', 30_000, at(20_000));
			expect(extended).toMatchObject({ acquired: true, expiresAt: at(50_000).toISOString() });
			expect((await store.acquireLock(syncId, 'run', 'worker-b', 30_000, at(40_000))).acquired).toBe(false);
		});

		it('releases only for the owner', async () => {
			const syncId = newSync();
			await store.acquireLock(syncId, 'run', 'worker-a', 30_000, T0);
			expect(await store.releaseLock(syncId, 'run', 'worker-b')).toBe(false);
			expect(await store.releaseLock(syncId, 'run', 'worker-a')).toBe(true);
			expect((await store.acquireLock(syncId, 'run', 'worker-b', 30_000, at(1))).acquired).toBe(true);
		});

		it('keeps leases of different resources apart', async () => {
			const syncId = newSync();
			await store.acquireLock(syncId, 'record:c1', 'worker-a', 30_000, T0);
			expect((await store.acquireLock(syncId, 'record:c2', 'worker-b', 30_000, T0)).acquired).toBe(true);
		});
	});

	describe('reset and stats', () => {
		async function fill(syncId: string): Promise<void> {
			await store.commit(syncId, [
				{ sides: [{ system: 'crm', key: 'c1' }, { system: 'erp', key: 'e1' }] },
				{ sides: [{ system: 'crm', key: 'c2', deleted: true }] },
			]);
			await store.setCursor(syncId, 'crm', 'cursor-1');
			await store.recordFailures(syncId, [failure('c1')], policy, T0);
			await store.recordFailures(syncId, [failure('c2')], policy, at(50_000));
			await store.recordFailures(syncId, [failure('c3')], { ...policy, maxAttempts: 1 }, T0);
			await store.acquireLock(syncId, 'run', 'worker-a', 60_000, T0);
			await store.acquireLock(syncId, 'old', 'worker-a', 1000, T0);
		}

		it('counts entities, links, tombstones, outbox states, cursors and live locks', async () => {
			const syncId = newSync();
			await fill(syncId);
			expect(await store.stats(syncId, at(10_000))).toEqual({
				syncId,
				entities: 2,
				systems: { crm: { links: 2, tombstones: 1 }, erp: { links: 1, tombstones: 0 } },
				outbox: { pending: 2, due: 1, dead: 1 },
				cursors: { crm: 'cursor-1' },
				locks: 1,
			});
		});

		it('reports an empty sync as zeros', async () => {
			const syncId = newSync();
			expect(await store.stats(syncId, T0)).toEqual({
				syncId,
				entities: 0,
				systems: {},
				outbox: { pending: 0, due: 0, dead: 0 },
				cursors: {},
				locks: 0,
			});
		});

		const remaining: Record<ResetScope, { links: boolean; cursors: boolean; outbox: boolean; locks: boolean }> = {
			all: { links: false, cursors: false, outbox: false, locks: false },
			links: { links: false, cursors: true, outbox: true, locks: true },
			cursors: { links: true, cursors: false, outbox: true, locks: true },
			outbox: { links: true, cursors: true, outbox: false, locks: true },
			locks: { links: true, cursors: true, outbox: true, locks: false },
		};

		it.each(Object.keys(remaining) as ResetScope[])('reset "%s" forgets only that part of the sync', async (scope) => {
			const syncId = newSync();
			const neighbour = newSync();
			await fill(syncId);
			await fill(neighbour);
			await store.reset(syncId, scope);
			const stats = await store.stats(syncId, at(10_000));
			const kept = remaining[scope];
			expect(stats.entities > 0).toBe(kept.links);
			expect(Object.keys(stats.cursors).length > 0).toBe(kept.cursors);
			expect(stats.outbox.pending + stats.outbox.dead > 0).toBe(kept.outbox);
			expect(stats.locks > 0).toBe(kept.locks);
			expect((await store.stats(neighbour, at(10_000))).entities).toBe(2);
		});

		it('rejects an unknown reset scope', async () => {
			await expectSyncError(store.reset(newSync(), 'everything' as ResetScope), 'INVALID_INPUT');
		});
	});

	describe('isolation between syncs', () => {
		it('keeps links, cursors, outbox and locks of one Sync ID invisible to another', async () => {
			const a = newSync();
			const b = newSync();
			await store.commit(a, [{ sides: [{ system: 'crm', key: 'c1' }] }]);
			await store.setCursor(a, 'crm', 'a-cursor');
			await store.recordFailures(a, [failure('c1')], policy, T0);
			await store.acquireLock(a, 'run', 'worker-a', 60_000, T0);
			expect((await store.lookUp(b, 'crm', ['c1'])).size).toBe(0);
			expect((await store.listKeys(b, 'crm')).size).toBe(0);
			expect(await store.getCursor(b, 'crm')).toBeNull();
			expect(await store.listOutbox(b, 'all', 10)).toEqual([]);
			expect((await store.acquireLock(b, 'run', 'worker-b', 60_000, T0)).acquired).toBe(true);
			const [inB] = await store.commit(b, [{ sides: [{ system: 'crm', key: 'c1' }] }]);
			expect(inB.createdEntity).toBe(true);
		});
	});

	describe('audit trail', () => {
		it('chains the events of a sync from its genesis hash, across appends', async () => {
			const syncId = newSync();
			const first = await store.appendAudit(syncId, [auditEvent(syncId), auditEvent(syncId)]);
			const second = await store.appendAudit(syncId, [auditEvent(syncId, { status: 'failed', error: 'HTTP 503' })]);
			const chain = [...first, ...second];
			expect(chain.map((event) => event.seq)).toEqual([1, 2, 3]);
			expect(chain[0].prevHash).toBe(genesisHash(syncId));
			expect(chain[1].prevHash).toBe(chain[0].hash);
			expect(chain[2].prevHash).toBe(chain[1].hash);
			expect(await verifyStoredChain(store, syncId)).toEqual({
				syncId,
				valid: true,
				checked: 3,
				head: { seq: 3, hash: chain[2].hash },
				firstBreak: null,
			});
		});

		it('returns events exactly as they were appended', async () => {
			const syncId = newSync();
			const event = auditEvent(syncId, {
				record: { name: 'Zoë', nested: { list: [1, 'two', null] }, nul: 'a\u0000b' },
				resolution: { name: { winner: 'crm', strategy: 'merge', reason: 'changed only in crm' } },
				retry: { attempts: 2, nextAttemptAt: null, deadLettered: false },
			});
			const [appended] = await store.appendAudit(syncId, [event]);
			const [read] = await store.queryAudit(syncId, { order: 'oldest', limit: 10 });
			expect(read).toEqual(appended);
			expect(read).toEqual({ ...event, seq: 1, prevHash: genesisHash(syncId), hash: expect.any(String) });
		});

		it('keeps one chain per sync', async () => {
			const a = newSync();
			const b = newSync();
			await store.appendAudit(a, [auditEvent(a)]);
			const [inB] = await store.appendAudit(b, [auditEvent(b)]);
			await store.appendAudit(a, [auditEvent(a)]);
			expect(inB.seq).toBe(1);
			expect(inB.prevHash).toBe(genesisHash(b));
			expect((await verifyStoredChain(store, a)).checked).toBe(2);
			expect(await store.queryAudit(b, { order: 'oldest', limit: 10 })).toHaveLength(1);
		});

		it('finds events by system, key, entity, status, op and time range', async () => {
			const syncId = newSync();
			const events = await store.appendAudit(syncId, [
				auditEvent(syncId, { source: { system: 'crm', key: 'c1' }, target: { system: 'erp', key: 'e1' }, entityId: 'ent-1', correlationId: 'ent-1' }),
				auditEvent(syncId, { source: { system: 'erp', key: 'e2' }, target: { system: 'crm', key: 'c1' }, entityId: 'ent-2', correlationId: 'ent-2', status: 'failed', time: at(1000).toISOString() }),
				auditEvent(syncId, { source: { system: 'crm', key: 'c3' }, target: null, entityId: null, correlationId: 'corr-3', op: 'none', reason: 'echo', status: 'echo', time: at(2000).toISOString() }),
			]);
			const seqs = async (query: Partial<Parameters<SyncStore['queryAudit']>[1]>) =>
				(await store.queryAudit(syncId, { order: 'oldest', limit: 10, ...query })).map((event) => event.seq);
			expect(events.map((event) => event.seq)).toEqual([1, 2, 3]);
			expect(await seqs({ system: 'erp' })).toEqual([1, 2]);
			expect(await seqs({ key: 'c1' })).toEqual([1, 2]);
			expect(await seqs({ system: 'crm', key: 'c1' })).toEqual([1, 2]);
			expect(await seqs({ system: 'erp', key: 'c1' })).toEqual([]);
			expect(await seqs({ system: 'erp', key: 'e2' })).toEqual([2]);
			expect(await seqs({ entityId: 'ent-2' })).toEqual([2]);
			expect(await seqs({ entityId: 'corr-3' })).toEqual([3]);
			expect(await seqs({ statuses: ['failed', 'echo'] })).toEqual([2, 3]);
			expect(await seqs({ ops: ['none'] })).toEqual([3]);
			expect(await seqs({ from: at(1000).toISOString() })).toEqual([2, 3]);
			expect(await seqs({ from: T0.toISOString(), to: at(1000).toISOString() })).toEqual([1]);
		});

		it('pages through the events newest or oldest first', async () => {
			const syncId = newSync();
			await store.appendAudit(syncId, Array.from({ length: 5 }, () => auditEvent(syncId)));
			const page = async (order: 'newest' | 'oldest', after?: number) =>
				(await store.queryAudit(syncId, { order, limit: 2, after })).map((event) => event.seq);
			expect(await page('newest')).toEqual([5, 4]);
			expect(await page('newest', 4)).toEqual([3, 2]);
			expect(await page('newest', 2)).toEqual([1]);
			expect(await page('oldest')).toEqual([1, 2]);
			expect(await page('oldest', 2)).toEqual([3, 4]);
			expect(await page('oldest', 5)).toEqual([]);
		});

		it('counts events per system written to, op and status within a window', async () => {
			const syncId = newSync();
			const statuses: AuditStatus[] = ['applied', 'applied', 'failed', 'conflict'];
			await store.appendAudit(syncId, [
				...statuses.map((status) => auditEvent(syncId, { status })),
				auditEvent(syncId, { op: 'create', target: { system: 'crm', key: null } }),
				auditEvent(syncId, { op: 'none', reason: 'echo', status: 'echo', target: null }),
				auditEvent(syncId, { time: at(60_000).toISOString() }),
			]);
			expect(await store.countAudit(syncId, T0.toISOString(), at(60_000).toISOString())).toEqual([
				{ system: 'crm', op: 'create', status: 'applied', count: 1 },
				{ system: 'crm', op: 'none', status: 'echo', count: 1 },
				{ system: 'erp', op: 'update', status: 'applied', count: 2 },
				{ system: 'erp', op: 'update', status: 'conflict', count: 1 },
				{ system: 'erp', op: 'update', status: 'failed', count: 1 },
			]);
		});

		it('keeps undelivered events per sink in order, counts attempts and forgets delivered ones', async () => {
			const syncId = newSync();
			const [a, b, c] = [auditEvent(syncId), auditEvent(syncId), auditEvent(syncId)];
			await store.settleAuditDeliveries(syncId, 'http:one', { delivered: [], undelivered: [a, b], error: 'HTTP 503' }, T0);
			await store.settleAuditDeliveries(syncId, 'http:two', { delivered: [], undelivered: [c], error: 'timeout' }, T0);
			await store.settleAuditDeliveries(syncId, 'http:one', { delivered: [a.id], undelivered: [b, c], error: 'HTTP 502' }, at(1000));
			expect(await store.listAuditDeliveries(syncId, 'http:one', 10)).toEqual([
				{ event: b, attempts: 2, lastError: 'HTTP 502', createdAt: T0.toISOString(), updatedAt: at(1000).toISOString() },
				{ event: c, attempts: 1, lastError: 'HTTP 502', createdAt: at(1000).toISOString(), updatedAt: at(1000).toISOString() },
			]);
			expect((await store.listAuditDeliveries(syncId, 'http:one', 1)).map((entry) => entry.event.id)).toEqual([b.id]);
			expect((await store.listAuditDeliveries(syncId, 'http:two', 10)).map((entry) => entry.event.id)).toEqual([c.id]);
			await store.settleAuditDeliveries(syncId, 'http:one', { delivered: [b.id, c.id], undelivered: [], error: null });
			expect(await store.listAuditDeliveries(syncId, 'http:one', 10)).toEqual([]);
		});

		it('keeps the audit trail and its queue when the sync is reset', async () => {
			const syncId = newSync();
			await store.appendAudit(syncId, [auditEvent(syncId)]);
			await store.settleAuditDeliveries(syncId, 'http:one', { delivered: [], undelivered: [auditEvent(syncId)], error: 'down' });
			await store.reset(syncId, 'all');
			expect(await store.queryAudit(syncId, { order: 'oldest', limit: 10 })).toHaveLength(1);
			expect(await store.listAuditDeliveries(syncId, 'http:one', 10)).toHaveLength(1);
		});

		it('rejects events of another sync, with an unknown status or a bad time, before writing any', async () => {
			const syncId = newSync();
			await expectSyncError(store.appendAudit(syncId, [auditEvent(syncId), auditEvent('other')]), 'INVALID_INPUT');
			await expectSyncError(store.appendAudit(syncId, [auditEvent(syncId, { status: 'done' as AuditStatus })]), 'INVALID_INPUT');
			await expectSyncError(store.appendAudit(syncId, [auditEvent(syncId, { time: 'yesterday' })]), 'INVALID_INPUT');
			await expectSyncError(store.queryAudit(syncId, { order: 'oldest', limit: 0 }), 'INVALID_INPUT');
			expect(await store.queryAudit(syncId, { order: 'oldest', limit: 10 })).toEqual([]);
		});
	});

	describe('concurrent executions', () => {
		it('links overlapping keys to one entity each when 8 commits race', async () => {
			const syncId = newSync();
			const stores = await Promise.all(Array.from({ length: 8 }, () => backend.open()));
			try {
				const pairs = [0, 1, 2, 3].map((n) => [
					{ system: 'crm', key: `c${n}`, seenHash: `h${n}` },
					{ system: 'erp', key: `e${n}`, writtenHash: `w${n}` },
				]);
				await Promise.all(
					stores.map((racer, i) =>
						racer.commit(
							syncId,
							// Half the racers name the sides and the items in the other order.
							(i % 2 === 0 ? pairs : [...pairs].reverse()).map((sides) => ({
								sides: i % 2 === 0 ? sides : [...sides].reverse(),
							})),
						),
					),
				);
			} finally {
				await Promise.all(stores.map((racer) => racer.close()));
			}
			const crm = await store.listKeys(syncId, 'crm');
			const erp = await store.listKeys(syncId, 'erp');
			expect(crm.size).toBe(4);
			expect(erp.size).toBe(4);
			for (const n of [0, 1, 2, 3]) expect(crm.get(`c${n}`)?.entityId).toBe(erp.get(`e${n}`)?.entityId);
			expect((await store.stats(syncId, T0)).entities).toBe(4);
			expect(crm.get('c0')?.version).toBe(1);
		});

		it('gives a lock to exactly one of 8 owners asking at once', async () => {
			const syncId = newSync();
			const stores = await Promise.all(Array.from({ length: 8 }, () => backend.open()));
			try {
				const leases = await Promise.all(
					stores.map((racer, i) => racer.acquireLock(syncId, 'run', `worker-${i}`, 60_000, T0)),
				);
				const winners = leases.filter((lease) => lease.acquired);
				expect(winners).toHaveLength(1);
				for (const lease of leases) expect(lease.owner).toBe(winners[0].owner);
			} finally {
				await Promise.all(stores.map((racer) => racer.close()));
			}
		});

		it('counts every attempt when 8 executions record a failure of one record at once', async () => {
			const syncId = newSync();
			const stores = await Promise.all(Array.from({ length: 8 }, () => backend.open()));
			try {
				await Promise.all(
					stores.map((racer) => racer.recordFailures(syncId, [failure('c1')], { ...policy, maxAttempts: 100 }, T0)),
				);
			} finally {
				await Promise.all(stores.map((racer) => racer.close()));
			}
			expect((await store.listOutbox(syncId, 'all', 10)).map((entry) => entry.attempts)).toEqual([8]);
		});
		it('keeps one unbroken audit chain when 8 executions append at once', async () => {
			const syncId = newSync();
			const stores = await Promise.all(Array.from({ length: 8 }, () => backend.open()));
			let appended: ChainedAuditEvent[][];
			try {
				appended = await Promise.all(
					stores.map(async (racer, worker) => {
						const mine: ChainedAuditEvent[] = [];
						for (let batch = 0; batch < 5; batch++) {
							const events = [0, 1, 2].map(() => auditEvent(syncId, { executionId: `exec-${worker}` }));
							mine.push(...(await racer.appendAudit(syncId, events)));
						}
						return mine;
					}),
				);
			} finally {
				await Promise.all(stores.map((racer) => racer.close()));
			}
			const seqs = appended.flat().map((event) => event.seq).sort((a, b) => a - b);
			expect(seqs).toEqual(Array.from({ length: 120 }, (_, index) => index + 1));
			// Each batch of one execution took consecutive places: appends never interleave.
			for (const event of appended.flat()) {
				const batchStart = appended.flat().find((other) => other.seq === event.seq - ((event.seq - 1) % 3));
				expect(batchStart?.executionId).toBe(event.executionId);
			}
			const verification = await verifyStoredChain(store, syncId, 50);
			expect(verification).toMatchObject({ valid: true, checked: 120, firstBreak: null });
		});
	});
});
