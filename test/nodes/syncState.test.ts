import type { ICredentialDataDecryptedObject, ICredentialTestFunctions, IDataObject } from 'n8n-workflow';

import { SyncState } from '../../nodes/SyncState/SyncState.node';
import { hashValue } from '../../nodes/engine/hash';

import { FIXTURE_TYPES, connect, packageNodeType, runChain, runWorkflow, startNode, type NodeSpec } from '../harness';
import { useNodeTestStores, type StoreChoice } from '../support/nodeStores';

const SYNC_ID = 'contacts';
const { freshBuiltinStore, postgresCredentials } = useNodeTestStores('syncstate');

const RESOURCE_OF: Record<string, string> = {
	lookUp: 'record',
	commit: 'record',
	recordFailure: 'record',
	link: 'record',
	unlink: 'record',
	getDueRetries: 'retryQueue',
	listRetries: 'retryQueue',
	getCursor: 'cursor',
	setCursor: 'cursor',
	acquireLock: 'lock',
	releaseLock: 'lock',
	stats: 'sync',
	reset: 'sync',
};

function state(name: string, store: StoreChoice, operation: string, parameters: IDataObject = {}, extra: Partial<NodeSpec> = {}): NodeSpec {
	return {
		name,
		type: packageNodeType('syncState'),
		parameters: { ...store, syncId: SYNC_ID, resource: RESOURCE_OF[operation], operation, ...parameters },
		...extra,
	};
}

/** A change from the CRM, prepared for a write to the ERP, with its metadata visible in JSON. */
function crmChange(key: string, email: string, op: 'create' | 'update' | 'delete' = 'create', targetKey: string | null = null): IDataObject {
	return {
		email,
		name: email.split('@')[0],
		_sync: {
			syncId: SYNC_ID,
			system: 'crm',
			key,
			op,
			hash: `hash-of-${key}`,
			target: { system: 'erp', key: targetKey, op },
		},
	};
}

const assignErpId = { assignId: '={{ "erp-" + $json.email }}' };

async function lookUp(store: StoreChoice, system: string, keys: string[], credentials?: ReturnType<typeof postgresCredentials>) {
	const result = await runChain([state('Look Up', store, 'lookUp', { system, key: '={{ $json.key }}' })], {
		input: keys.map((key) => ({ key })),
		credentials,
	});
	expect(result.status).toBe('success');
	return result.json('Look Up').map((item) => item.syncState as IDataObject);
}

/** Seeds the retry queue: the write of each change fails and Record Failure queues it. */
async function queueFailedWrites(store: StoreChoice, changes: IDataObject[], recordFailure: IDataObject = {}) {
	const result = await runWorkflow({
		nodes: [
			startNode(),
			{ name: 'Write', type: FIXTURE_TYPES.failWriter, parameters: { fail: true }, onError: 'continueErrorOutput' },
			state('Record Failure', store, 'recordFailure', { baseDelaySeconds: 0, ...recordFailure }),
		],
		connections: connect(['Start', 'Write'], { from: 'Write', to: 'Record Failure', output: 1 }),
		input: changes,
	});
	expect(result.status).toBe('success');
	return result.json('Record Failure');
}

describe('Sync State node', () => {
	describe('Commit', () => {
		it('links the key the target assigned and remembers the written version', async () => {
			const store = freshBuiltinStore();
			const result = await runChain(
				[
					{ name: 'Write', type: FIXTURE_TYPES.failWriter, parameters: assignErpId },
					state('Commit', store, 'commit', { targetKeyField: 'id' }),
				],
				{ input: [crmChange('c1', 'ada@example.com'), crmChange('c2', 'grace@example.com')] },
			);

			expect(result.status).toBe('success');
			const committed = result.json('Commit');
			expect(committed.map((item) => (item._sync as IDataObject).target)).toEqual([
				{ system: 'erp', key: 'erp-ada@example.com', op: 'create' },
				{ system: 'erp', key: 'erp-grace@example.com', op: 'create' },
			]);
			expect(committed.every((item) => (item._sync as IDataObject).status === 'applied')).toBe(true);

			const [ada] = await lookUp(store, 'erp', ['erp-ada@example.com']);
			expect(ada.linked).toBe(true);
			expect(ada.entityId).toBe((committed[0]._sync as IDataObject).entityId);
			expect(ada.keys).toEqual({ crm: 'c1', erp: 'erp-ada@example.com' });
			const records = ada.records as Record<string, IDataObject>;
			expect(records.erp.base).toEqual({ email: 'ada@example.com', name: 'ada', id: 'erp-ada@example.com' });
			expect(records.erp.writtenHash).toEqual(expect.any(String));
			expect(records.crm.seenHash).toBe('hash-of-c1');
		});

		it('changes nothing when the same item is committed twice', async () => {
			const store = freshBuiltinStore();
			const commitOnce = async () =>
				await runChain(
					[
						{ name: 'Write', type: FIXTURE_TYPES.failWriter, parameters: assignErpId },
						state('Commit', store, 'commit'),
					],
					{ input: [crmChange('c1', 'ada@example.com')] },
				);

			const first = await commitOnce();
			const [before] = await lookUp(store, 'crm', ['c1']);
			const second = await commitOnce();
			const [after] = await lookUp(store, 'crm', ['c1']);

			expect((first.json('Commit')[0]._sync as IDataObject).committed).toBe(true);
			expect((second.json('Commit')[0]._sync as IDataObject).committed).toBe(false);
			expect(after).toEqual(before);
		});

		it('finds metadata kept out of the JSON again after the write node dropped it', async () => {
			const store = freshBuiltinStore();
			await queueFailedWrites(store, [crmChange('c1', 'ada@example.com')]);

			const result = await runChain(
				[
					state('Retries', store, 'getDueRetries'),
					{ name: 'Write', type: FIXTURE_TYPES.failWriter, parameters: assignErpId },
					state('Commit', store, 'commit'),
					state('Stats', store, 'stats', {}, { executeOnce: true }),
				],
				{ input: [{}] },
			);

			expect(result.status).toBe('success');
			// What reached the write node is the clean record: no _sync anywhere in its JSON.
			expect(result.json('Write')).toEqual([{ email: 'ada@example.com', name: 'ada', id: 'erp-ada@example.com' }]);
			expect(result.output('Retries')[0].binary?._sync).toBeDefined();
			expect((result.json('Commit')[0]._sync as IDataObject).target).toEqual({
				system: 'erp',
				key: 'erp-ada@example.com',
				op: 'create',
			});
			const [stats] = result.json('Stats');
			expect(stats.outbox).toEqual({ pending: 0, due: 0, dead: 0 });
			expect(stats.systems).toEqual({ crm: { links: 1, tombstones: 0 }, erp: { links: 1, tombstones: 0 } });
		});

		it('finds the metadata in the flow context when the workflow binary mode is combined', async () => {
			const store = freshBuiltinStore();
			await queueFailedWrites(store, [crmChange('c1', 'ada@example.com'), crmChange('c2', 'grace@example.com')]);

			const result = await runChain(
				[
					state('Retries', store, 'getDueRetries'),
					{ name: 'Write', type: FIXTURE_TYPES.failWriter, parameters: assignErpId },
					state('Commit', store, 'commit'),
				],
				{ input: [{}], settings: { binaryMode: 'combined' }, binaryDataMode: 'filesystem' },
			);

			expect(result.status).toBe('success');
			expect(result.json('Write').map((item) => Object.keys(item).sort())).toEqual([
				['email', 'id', 'name'],
				['email', 'id', 'name'],
			]);
			expect(result.json('Commit').map((item) => ((item._sync as IDataObject).target as IDataObject).key)).toEqual([
				'erp-ada@example.com',
				'erp-grace@example.com',
			]);
		});

		it('keeps an item it cannot trace to a sync pending, and says why', async () => {
			const store = freshBuiltinStore();
			const result = await runChain([state('Commit', store, 'commit', {}, { continueOnFail: true })], {
				input: [{ email: 'stray@example.com' }],
			});

			expect(result.status).toBe('success');
			const [item] = result.json('Commit');
			expect(item.error).toBe('This item has no sync metadata, so it was not committed');
			expect(item.description).toMatch(/Connect Commit after the write node/);
			expect(item.email).toBe('stray@example.com');

			const failing = await runChain([state('Commit', store, 'commit')], { input: [{ email: 'stray@example.com' }] });
			expect(failing.status).toBe('error');
			expect(failing.error?.message).toBe('This item has no sync metadata, so it was not committed');
		});

		it('names the field to set when the write node returned no key for a created record', async () => {
			const store = freshBuiltinStore();
			const result = await runChain(
				[
					{ name: 'Write', type: FIXTURE_TYPES.failWriter },
					state('Commit', store, 'commit', { targetKeyField: 'objectId' }, { continueOnFail: true }),
				],
				{ input: [crmChange('c1', 'ada@example.com'), crmChange('c2', 'grace@example.com', 'update', 'erp-2')] },
			);

			const [created, updated] = result.json('Commit');
			expect(created.error).toBe('The write node\'s output has no "objectId" field, so the new record cannot be linked');
			expect(((updated._sync as IDataObject).target as IDataObject).key).toBe('erp-2');
		});

		it('merges a partial update over the last synced version, and remembers the hash its echo will have', async () => {
			const store = freshBuiltinStore();
			await runChain(
				[{ name: 'Write', type: FIXTURE_TYPES.failWriter, parameters: assignErpId }, state('Commit', store, 'commit')],
				{ input: [crmChange('c1', 'ada@example.com')] },
			);
			const partial = crmChange('c1', 'ada@example.com', 'update', 'erp-ada@example.com');
			const update = { phone: '555', id: 'erp-ada@example.com', _sync: { ...(partial._sync as IDataObject), partial: true } };

			const result = await runChain([{ name: 'Write', type: FIXTURE_TYPES.failWriter }, state('Commit', store, 'commit')], { input: [update] });

			expect(result.status).toBe('success');
			const [ada] = await lookUp(store, 'erp', ['erp-ada@example.com']);
			const erp = (ada.records as Record<string, IDataObject>).erp;
			const merged = { email: 'ada@example.com', name: 'ada', id: 'erp-ada@example.com', phone: '555' };
			expect(erp.base).toEqual(merged);
			expect(erp.writtenHash).toBe(hashValue(merged));
		});

		it('relinks a record created again after a delete to its new key, and still refuses a second live key otherwise', async () => {
			const store = freshBuiltinStore();
			await runChain(
				[{ name: 'Write', type: FIXTURE_TYPES.failWriter, parameters: { assignId: 'erp-1' } }, state('Commit', store, 'commit')],
				{ input: [crmChange('c1', 'ada@example.com')] },
			);
			const recreate = (replacesKey?: string) => {
				const change = crmChange('c1', 'ada@example.com', 'create');
				return { ...change, _sync: { ...(change._sync as IDataObject), op: 'update', ...(replacesKey ? { replacesKey } : {}) } };
			};
			const commitCreate = async (item: IDataObject, id: string) =>
				await runChain([{ name: 'Write', type: FIXTURE_TYPES.failWriter, parameters: { assignId: id } }, state('Commit', store, 'commit')], { input: [item] });

			const duplicate = await commitCreate(recreate(), 'erp-2');
			expect(duplicate.status).toBe('error');
			expect(duplicate.error?.message).toContain('already has key "erp-1" in system "erp"');

			const recreated = await commitCreate(recreate('erp-1'), 'erp-3');
			expect(recreated.status).toBe('success');
			const [ada] = await lookUp(store, 'crm', ['c1']);
			expect(ada.keys).toEqual({ crm: 'c1', erp: 'erp-3' });
			expect((await lookUp(store, 'erp', ['erp-1']))[0].linked).toBe(false);
		});

		it('tombstones both sides of a propagated delete', async () => {
			const store = freshBuiltinStore();
			await runChain(
				[{ name: 'Write', type: FIXTURE_TYPES.failWriter, parameters: assignErpId }, state('Commit', store, 'commit')],
				{ input: [crmChange('c1', 'ada@example.com')] },
			);
			const deleted = await runChain(
				[{ name: 'Write', type: FIXTURE_TYPES.failWriter }, state('Commit', store, 'commit')],
				{ input: [crmChange('c1', 'ada@example.com', 'delete', 'erp-ada@example.com')] },
			);

			expect(deleted.status).toBe('success');
			const [ada] = await lookUp(store, 'crm', ['c1']);
			const records = ada.records as Record<string, IDataObject>;
			expect(records.crm.deletedAt).toEqual(expect.any(String));
			expect(records.erp.deletedAt).toEqual(expect.any(String));
			expect(records.erp.writtenHash).toBeNull();
		});
	});

	describe('Record Failure and Get Due Retries', () => {
		it('queues a failed write with the error and replays it when it is due', async () => {
			const store = freshBuiltinStore();
			const [queued] = await queueFailedWrites(store, [crmChange('c1', 'ada@example.com')]);

			expect(queued._sync).toMatchObject({ status: 'failed', attempts: 1, error: 'Simulated write failure' });

			const retries = await runChain([state('Retries', store, 'getDueRetries', { metadataPlacement: 'json' })], { input: [{}] });
			expect(retries.json('Retries')).toEqual([
				{
					email: 'ada@example.com',
					name: 'ada',
					_sync: expect.objectContaining({
						syncId: SYNC_ID,
						system: 'crm',
						key: 'c1',
						target: { system: 'erp', key: null, op: 'create' },
					}),
				},
			]);
		});

		it('drops a queued create once Commit links its record to one matched on the other side, so no replay makes it twice', async () => {
			const store = freshBuiltinStore();
			// The ERP's record e1 failed to reach the CRM; the CRM saved it all the same (the answer was lost).
			const erpCreate: IDataObject = {
				email: 'ada@example.com',
				name: 'ada',
				_sync: { syncId: SYNC_ID, system: 'erp', key: 'e1', op: 'create', hash: 'hash-of-e1', target: { system: 'crm', key: null, op: 'create' } },
			};
			await queueFailedWrites(store, [erpCreate], { baseDelaySeconds: 3600 });
			// The next run reads that record from the CRM as new, and the match on email pairs it with e1.
			const firstMatch: IDataObject = {
				email: 'ada@example.com',
				name: 'ada',
				id: 'e1',
				_sync: {
					syncId: SYNC_ID,
					system: 'crm',
					key: 'c1',
					op: 'create',
					hash: 'hash-of-c1',
					keys: { crm: 'c1', erp: 'e1' },
					target: { system: 'erp', key: 'e1', op: 'update' },
				},
			};
			const committed = await runChain([state('Commit', store, 'commit')], { input: [firstMatch] });
			expect(committed.status).toBe('success');

			const queue = await runChain([state('Queue', store, 'listRetries', { status: 'all' })], { input: [{}] });
			expect(queue.json('Queue')).toEqual([]);
			const [ada] = await lookUp(store, 'erp', ['e1']);
			expect(ada.keys).toEqual({ crm: 'c1', erp: 'e1' });
		});

		it('keeps a queued update of the other direction when Commit applies an ordinary update', async () => {
			const store = freshBuiltinStore();
			// One side of a two-sided merge failed: only the queue still knows the CRM is behind.
			const erpUpdate: IDataObject = {
				email: 'ada@example.com',
				name: 'ada',
				_sync: { syncId: SYNC_ID, system: 'erp', key: 'e1', op: 'update', hash: 'hash-of-e1', target: { system: 'crm', key: 'c1', op: 'update' } },
			};
			await queueFailedWrites(store, [erpUpdate], { baseDelaySeconds: 3600 });
			const committed = await runChain([state('Commit', store, 'commit')], { input: [crmChange('c1', 'ada@example.com', 'update', 'e1')] });
			expect(committed.status).toBe('success');

			const queue = await runChain([state('Queue', store, 'listRetries', { status: 'all' })], { input: [{}] });
			expect(queue.json('Queue')).toEqual([expect.objectContaining({ sourceSystem: 'erp', sourceKey: 'e1', targetSystem: 'crm', op: 'update' })]);
		});

		it("keeps the database's reason from a Postgres error item, never the node's parameters or credential", async () => {
			const store = freshBuiltinStore();
			// The shape n8n's Postgres node gives a failed item with "Continue (using error output)":
			// the error spread into the JSON, which drops the message and keeps the node.
			const postgresError = (description?: string): IDataObject => ({
				level: 'warning',
				...(description ? { description } : {}),
				context: { itemIndex: 0 },
				functionality: 'regular',
				timestamp: 1764100000000,
				messages: [],
				node: {
					name: 'Insert Rows',
					type: 'n8n-nodes-base.postgres',
					parameters: { schema: 'public', table: 'customers', operation: 'insert' },
					credentials: { postgres: { id: 'cred-7', name: 'Production database' } },
				},
			});
			const result = await runChain([state('Record Failure', store, 'recordFailure')], {
				input: [
					{ ...crmChange('c1', 'ada@example.com'), error: postgresError('value too long for type character varying(20)') },
					{ ...crmChange('c2', 'grace@example.com'), error: postgresError() },
				],
			});

			expect(result.status).toBe('success');
			expect(result.json('Record Failure').map((item) => (item._sync as IDataObject).error)).toEqual([
				'value too long for type character varying(20)',
				'The write failed without an error message',
			]);
			const retries = await runChain([state('Retries', store, 'listRetries', { status: 'all' })], { input: [{}] });
			const stored = JSON.stringify(retries.json('Retries'));
			expect(stored).not.toContain('Production database');
			expect(stored).not.toContain('cred-7');
		});

		it('keeps the message, description or code of an error object given as the error message, never the object', async () => {
			const store = freshBuiltinStore();
			const result = await runChain([state('Record Failure', store, 'recordFailure', { errorMessage: '={{ $json.error }}' })], {
				input: [
					{ ...crmChange('c1', 'ada@example.com'), error: { code: '23505', node: { credentials: { postgres: { name: 'Production database' } } } } },
					{ ...crmChange('c2', 'grace@example.com'), error: { node: { credentials: { postgres: { name: 'Production database' } } } } },
				],
			});

			expect(result.status).toBe('success');
			expect(result.json('Record Failure').map((item) => (item._sync as IDataObject).error)).toEqual([
				'23505',
				'The write failed without an error message',
			]);
		});

		it('waits longer after each failure and dead-letters after the last attempt', async () => {
			const store = freshBuiltinStore();
			const policy = { maxAttempts: 2, baseDelaySeconds: 120 };
			const [first] = await queueFailedWrites(store, [crmChange('c1', 'ada@example.com')], policy);
			const [second] = await queueFailedWrites(store, [crmChange('c1', 'ada@example.com')], policy);

			const firstSync = first._sync as IDataObject;
			const delayMs = Date.parse(firstSync.nextAttemptAt as string) - Date.now();
			expect(delayMs).toBeGreaterThan(60_000);
			expect(delayMs).toBeLessThanOrEqual(120_000);
			expect(second._sync).toMatchObject({ status: 'dead-lettered', attempts: 2, nextAttemptAt: null });

			const after = await runChain(
				[state('Retries', store, 'getDueRetries'), state('Stats', store, 'stats', {}, { executeOnce: true, alwaysOutputData: true })],
				{ input: [{}] },
			);
			expect(after.output('Retries')).toEqual([]);
		});

		it('counts dead-lettered changes in Stats', async () => {
			const store = freshBuiltinStore();
			await queueFailedWrites(store, [crmChange('c1', 'ada@example.com')], { maxAttempts: 1 });
			await queueFailedWrites(store, [crmChange('c2', 'grace@example.com')], { baseDelaySeconds: 3600 });

			const result = await runChain([state('Stats', store, 'stats')], { input: [{}] });
			expect(result.json('Stats')[0].outbox).toEqual({ pending: 1, due: 0, dead: 1 });
		});

		it('lists dead-lettered changes with their error for review', async () => {
			const store = freshBuiltinStore();
			await queueFailedWrites(store, [crmChange('c1', 'ada@example.com')], { maxAttempts: 1 });
			await queueFailedWrites(store, [crmChange('c2', 'grace@example.com')]);

			const dead = await runChain([state('List', store, 'listRetries', { status: 'dead' })], { input: [{}] });
			expect(dead.json('List')).toEqual([
				expect.objectContaining({
					syncId: SYNC_ID,
					sourceSystem: 'crm',
					sourceKey: 'c1',
					targetSystem: 'erp',
					status: 'dead',
					attempts: 1,
					error: 'Simulated write failure',
					payload: { email: 'ada@example.com', name: 'ada' },
				}),
			]);
			const all = await runChain([state('List', store, 'listRetries', { status: 'all' })], { input: [{}] });
			expect(all.json('List').map((entry) => entry.sourceKey).sort()).toEqual(['c1', 'c2']);
		});

		it('refuses an item that was not prepared for a write', async () => {
			const store = freshBuiltinStore();
			const result = await runChain([state('Record Failure', store, 'recordFailure', {}, { continueOnFail: true })], {
				input: [{ error: 'boom' }],
			});
			expect(result.json('Record Failure')[0].error).toBe(
				'This item has no sync metadata for a write, so it cannot be queued for retry',
			);
		});
	});

	describe('Get Cursor and Set Cursor', () => {
		it('returns the default until a cursor is stored, and never moves it back unless told to', async () => {
			const store = freshBuiltinStore();
			const get = async () =>
				(await runChain([state('Get', store, 'getCursor', { system: 'crm', defaultCursor: '1970-01-01T00:00:00Z' })], { input: [{}] })).json('Get')[0];
			const set = async (cursor: string, onlyForward = true) =>
				(await runChain([state('Set', store, 'setCursor', { system: 'crm', cursor: '={{ $json.at }}', onlyForward })], { input: [{ at: cursor }] })).json('Set')[0];

			expect(await get()).toEqual({ syncId: SYNC_ID, system: 'crm', cursor: '1970-01-01T00:00:00Z', stored: false });
			expect(await set('2026-03-02T10:00:00Z')).toMatchObject({ cursor: '2026-03-02T10:00:00Z', moved: true, previous: null });
			expect(await set('2026-03-01T10:00:00Z')).toMatchObject({ cursor: '2026-03-02T10:00:00Z', moved: false });
			expect(await get()).toMatchObject({ cursor: '2026-03-02T10:00:00Z', stored: true });
			expect(await set('2026-03-01T10:00:00Z', false)).toMatchObject({ cursor: '2026-03-01T10:00:00Z', moved: true });
		});
	});

	describe('Acquire Lock and Release Lock', () => {
		it('lets one owner hold a lock and tells another who holds it', async () => {
			const store = freshBuiltinStore();
			const acquire = async (owner: string, whenLocked = 'continue') =>
				await runChain([state('Lock', store, 'acquireLock', { lockName: 'cycle', owner, ttlSeconds: 60, whenLocked })], { input: [{}] });
			const release = async (owner: string) =>
				(await runChain([state('Unlock', store, 'releaseLock', { lockName: 'cycle', owner })], { input: [{}] })).json('Unlock')[0];

			expect((await acquire('run-1')).json('Lock')[0]).toMatchObject({ acquired: true, owner: 'run-1' });
			expect((await acquire('run-2')).json('Lock')[0]).toMatchObject({ acquired: false, owner: 'run-1' });
			const refused = await acquire('run-2', 'error');
			expect(refused.status).toBe('error');
			expect(refused.error?.message).toMatch(/The lock "cycle" is held by "run-1"/);
			expect(await release('run-2')).toMatchObject({ released: false });
			expect(await release('run-1')).toMatchObject({ released: true });
			expect((await acquire('run-2')).json('Lock')[0]).toMatchObject({ acquired: true, owner: 'run-2' });
		});

		describe('When Already Locked: Wait Until Free', () => {
			const lockWith = (store: StoreChoice, owner: string, parameters: IDataObject) =>
				runChain([state('Lock', store, 'acquireLock', { lockName: 'contact:c1', owner, ...parameters })], { input: [{}] });

			it('goes on as soon as the holder releases the lock', async () => {
				const store = freshBuiltinStore();
				expect((await lockWith(store, 'run-1', { ttlSeconds: 60 })).json('Lock')[0]).toMatchObject({ acquired: true });
				const waiting = lockWith(store, 'run-2', { ttlSeconds: 60, whenLocked: 'wait', maxWaitSeconds: 30 });
				const released = await runChain([state('Unlock', store, 'releaseLock', { lockName: 'contact:c1', owner: 'run-1' })], { input: [{}] });
				expect(released.json('Unlock')[0]).toMatchObject({ released: true });
				const result = await waiting;
				expect(result.status).toBe('success');
				expect(result.json('Lock')[0]).toMatchObject({ acquired: true, owner: 'run-2', resource: 'contact:c1' });
			});

			it('takes over a lock whose holder never released it once its time to live is over', async () => {
				const store = freshBuiltinStore();
				await lockWith(store, 'crashed-run', { ttlSeconds: 1 });
				const result = await lockWith(store, 'run-2', { ttlSeconds: 60, whenLocked: 'wait', maxWaitSeconds: 20 });
				expect(result.json('Lock')[0]).toMatchObject({ acquired: true, owner: 'run-2' });
			});

			it('stops with an error that names the holder when the lock stays held for longer than Max Wait', async () => {
				const store = freshBuiltinStore();
				await lockWith(store, 'run-1', { ttlSeconds: 60 });
				const result = await lockWith(store, 'run-2', { ttlSeconds: 60, whenLocked: 'wait', maxWaitSeconds: 1 });
				expect(result.status).toBe('error');
				expect(result.error?.message).toMatch(/The lock "contact:c1" was still held by "run-1" after waiting 1 s/);
			});
		});

		it('uses the execution id as the owner by default', async () => {
			const store = freshBuiltinStore();
			const result = await runChain([state('Lock', store, 'acquireLock')], { input: [{}] });
			expect(result.json('Lock')[0]).toMatchObject({ acquired: true, resource: 'cycle', owner: expect.stringMatching(/.+/) });
		});
	});

	describe('Link and Unlink', () => {
		it('links the keys of two systems into one entity that Look Up then finds', async () => {
			const store = freshBuiltinStore();
			const linked = await runChain(
				[
					state('Link', store, 'link', {
						keys: { key: [{ system: 'crm', key: '={{ $json.crmId }}' }, { system: 'erp', key: '={{ $json.erpId }}' }] },
					}),
				],
				{ input: [{ crmId: 'c9', erpId: 'e9' }] },
			);
			expect(linked.json('Link')[0]).toMatchObject({ keys: { crm: 'c9', erp: 'e9' }, linked: true, createdEntity: true });

			const [found] = await lookUp(store, 'erp', ['e9']);
			expect(found).toMatchObject({ linked: true, keys: { crm: 'c9', erp: 'e9' } });

			const unlinked = await runChain([state('Unlink', store, 'unlink', { system: 'erp', key: 'e9' })], { input: [{}] });
			expect(unlinked.json('Unlink')[0]).toMatchObject({ unlinked: true });
			expect((await lookUp(store, 'erp', ['e9']))[0]).toMatchObject({ linked: false });
			expect((await lookUp(store, 'crm', ['c9']))[0]).toMatchObject({ linked: true, keys: { crm: 'c9' } });
		});

		it('rejects a link to an entity this sync does not know', async () => {
			const store = freshBuiltinStore();
			const result = await runChain(
				[state('Link', store, 'link', { entityId: 'e_missing', keys: { key: [{ system: 'crm', key: 'c1' }] } }, { continueOnFail: true })],
				{ input: [{}] },
			);
			const [item] = result.json('Link');
			expect(item.error).toMatch(/e_missing/);
			expect(item.description).toEqual(expect.any(String));
		});

		it('says what is missing when a key to link is empty', async () => {
			const store = freshBuiltinStore();
			const result = await runChain(
				[state('Link', store, 'link', { keys: { key: [{ system: 'crm', key: '={{ $json.nothing }}' }] } }, { continueOnFail: true })],
				{ input: [{}] },
			);
			expect(result.json('Link')[0].error).toBe('A key to link has an empty key');
		});
	});

	describe('Reset', () => {
		it('resets nothing until the Sync ID is typed, then only what was chosen', async () => {
			const store = freshBuiltinStore();
			await runChain([state('Set', store, 'setCursor', { system: 'crm', cursor: '42' })], { input: [{}] });
			await runChain([state('Link', store, 'link', { keys: { key: [{ system: 'crm', key: 'c1' }] } })], { input: [{}] });

			const refused = await runChain([state('Reset', store, 'reset', { scope: 'cursors', confirmSyncId: 'contact' }, { continueOnFail: true })], { input: [{}] });
			expect(refused.json('Reset')[0]).toMatchObject({ error: 'Reset was not confirmed' });

			const reset = await runChain([state('Reset', store, 'reset', { scope: 'cursors', confirmSyncId: SYNC_ID })], { input: [{}] });
			expect(reset.json('Reset')[0]).toEqual({ syncId: SYNC_ID, scope: 'cursors', reset: true });

			const stats = (await runChain([state('Stats', store, 'stats')], { input: [{}] })).json('Stats')[0];
			expect(stats.cursors).toEqual({});
			expect(stats.entities).toBe(1);
		});
	});

	describe('bad input', () => {
		it('fails with a message that says what to set when the Sync ID is empty', async () => {
			const result = await runChain([state('Stats', freshBuiltinStore(), 'stats', { syncId: '={{ $json.sync }}' })], { input: [{ sync: '' }] });
			expect(result.status).toBe('error');
			expect(result.error?.message).toBe('The Sync ID is empty');
			expect(result.error?.description).toMatch(/Set "Sync ID"/);
		});

		it('gives every item the error when the PostgreSQL store cannot be reached, with Continue On Fail', async () => {
			const result = await runChain([state('Stats', { store: 'postgres' }, 'stats', {}, { continueOnFail: true })], {
				input: [{ n: 1 }, { n: 2 }],
				credentials: postgresCredentials({ host: '127.0.0.1', port: 1, password: 'planted-secret-pw' }),
			});
			expect(result.status).toBe('success');
			const items = result.json('Stats');
			expect(items).toHaveLength(2);
			for (const item of items) {
				expect(item.error).toMatch(/127\.0\.0\.1:1/);
				expect(JSON.stringify(item)).not.toContain('planted-secret-pw');
			}
		});

		it('refuses an invalid schema name before connecting', async () => {
			const result = await runChain([state('Stats', { store: 'postgres' }, 'stats')], {
				input: [{}],
				credentials: postgresCredentials({ schema: 'x; DROP TABLE links' }),
			});
			expect(result.status).toBe('error');
			expect(result.error?.message).toMatch(/schema name/);
			expect(result.error?.description).toMatch(/letters, digits and underscores/i);
		});

		it('refuses the built-in store in queue mode and points to PostgreSQL', async () => {
			const previous = process.env.EXECUTIONS_MODE;
			process.env.EXECUTIONS_MODE = 'queue';
			try {
				const result = await runChain([state('Stats', freshBuiltinStore(), 'stats')], { input: [{}] });
				expect(result.status).toBe('error');
				expect(`${result.error?.message} ${result.error?.description}`).toMatch(/PostgreSQL/);
			} finally {
				if (previous === undefined) delete process.env.EXECUTIONS_MODE;
				else process.env.EXECUTIONS_MODE = previous;
			}
		});

		it('says which item has no key on Look Up, and keeps the others', async () => {
			const store = freshBuiltinStore();
			const result = await runChain(
				[state('Look Up', store, 'lookUp', { system: 'crm', key: '={{ $json.id }}' }, { continueOnFail: true })],
				{ input: [{ id: 'c1' }, { name: 'no id' }] },
			);
			const [first, second] = result.json('Look Up');
			expect(first.syncState).toMatchObject({ linked: false });
			expect(second).toMatchObject({ name: 'no id', error: 'The record key is empty' });
		});
	});

	describe('with the PostgreSQL store', () => {
		it('commits, looks up and queues retries the same way', async () => {
			const store: StoreChoice = { store: 'postgres' };
			const credentials = postgresCredentials();
			const committed = await runChain(
				[{ name: 'Write', type: FIXTURE_TYPES.failWriter, parameters: assignErpId }, state('Commit', store, 'commit')],
				{ input: [crmChange('c1', 'ada@example.com')], credentials },
			);
			expect(committed.status).toBe('success');

			const [ada] = await lookUp(store, 'crm', ['c1'], credentials);
			expect(ada).toMatchObject({ linked: true, keys: { crm: 'c1', erp: 'erp-ada@example.com' } });

			const stats = (await runChain([state('Stats', store, 'stats')], { input: [{}], credentials })).json('Stats')[0];
			expect(stats.systems).toEqual({ crm: { links: 1, tombstones: 0 }, erp: { links: 1, tombstones: 0 } });
		});
	});
});

describe('Sync State PostgreSQL credential test', () => {
	const test = (data: ICredentialDataDecryptedObject) =>
		new SyncState().methods.credentialTest.syncStatePostgresConnectionTest.call({} as ICredentialTestFunctions, {
			id: 'test',
			name: 'Sync State PostgreSQL',
			type: 'syncStatePostgresApi',
			data,
		});

	it('reports OK for a server it can reach with the right to create the schema', async () => {
		const credentials = postgresCredentials().syncStatePostgresApi;
		await expect(test(credentials)).resolves.toEqual({ status: 'OK', message: expect.any(String) });
	});

	it('reports an error naming the server it cannot reach, without the password', async () => {
		const result = await test({ ...postgresCredentials().syncStatePostgresApi, host: '127.0.0.1', port: 1, password: 'planted-secret-pw' });
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/127\.0\.0\.1:1/);
		expect(result.message).not.toContain('planted-secret-pw');
	});

	it('reports an invalid schema name instead of connecting', async () => {
		const result = await test({ ...postgresCredentials().syncStatePostgresApi, schema: 'bad"schema' });
		expect(result).toEqual({ status: 'Error', message: expect.stringMatching(/schema name/) });
	});
});

describe('Get Due Retries under Continue On Fail', () => {
	it('sends no error items to the write node after it, and warns instead', async () => {
		const result = await runChain(
			[
				{
					name: 'Retries',
					type: packageNodeType('syncState'),
					parameters: { store: 'postgres', syncId: SYNC_ID, resource: 'retryQueue', operation: 'getDueRetries' },
					continueOnFail: true,
				},
				{ name: 'Write', type: FIXTURE_TYPES.failWriter },
			],
			{ input: [{}], credentials: postgresCredentials({ host: '127.0.0.1', port: 1 }) },
		);
		expect(result.status).toBe('success');
		expect(result.output('Retries')).toEqual([]);
		expect(result.nodeRuns('Write')).toEqual([]);
		expect(result.nodeRuns('Retries')[0].hints).toEqual([expect.objectContaining({ type: 'warning', message: expect.stringMatching(/127\.0\.0\.1:1/) })]);
	});
});

describe('Get Due Retries claims what it returns', () => {
	/** The queue as List Retries shows it to people: a read that claims nothing. */
	async function queue(store: StoreChoice) {
		const result = await runChain([state('Queue', store, 'listRetries', { status: 'all' })], { input: [{}] });
		expect(result.status).toBe('success');
		return result.json('Queue');
	}

	it('hands a queued change to one execution only, until Claim For (Seconds) has passed', async () => {
		const store = freshBuiltinStore();
		await queueFailedWrites(store, [crmChange('c1', 'ada@example.com')]);

		const first = await runChain([state('Retries', store, 'getDueRetries', { claimSeconds: 120 })], { input: [{}] });
		const second = await runChain([state('Retries', store, 'getDueRetries', { claimSeconds: 120 })], { input: [{}] });

		expect(first.json('Retries')).toEqual([{ email: 'ada@example.com', name: 'ada' }]);
		expect(second.status).toBe('success');
		expect(second.output('Retries')).toEqual([]);
		const [entry] = await queue(store);
		const claimMs = Date.parse(entry.nextAttemptAt as string) - Date.now();
		expect(claimMs).toBeGreaterThan(60_000);
		expect(claimMs).toBeLessThanOrEqual(120_000);
		expect(entry).toMatchObject({ attempts: 1, status: 'pending' });
	});

	it('claims for five minutes when Claim For (Seconds) is left at its default', async () => {
		const store = freshBuiltinStore();
		await queueFailedWrites(store, [crmChange('c1', 'ada@example.com')]);

		await runChain([state('Retries', store, 'getDueRetries')], { input: [{}] });

		const [entry] = await queue(store);
		const claimMs = Date.parse(entry.nextAttemptAt as string) - Date.now();
		expect(claimMs).toBeGreaterThan(240_000);
		expect(claimMs).toBeLessThanOrEqual(300_000);
	});

	it('counts a failed replay of a claimed change as one more attempt and queues it with backoff', async () => {
		const store = freshBuiltinStore();
		await queueFailedWrites(store, [crmChange('c1', 'ada@example.com')]);

		const replay = await runWorkflow({
			nodes: [
				startNode(),
				state('Retries', store, 'getDueRetries', { claimSeconds: 600 }),
				{ name: 'Write', type: FIXTURE_TYPES.failWriter, parameters: { fail: true }, onError: 'continueErrorOutput' },
				state('Record Failure', store, 'recordFailure', { baseDelaySeconds: 30 }),
			],
			connections: connect(['Start', 'Retries'], ['Retries', 'Write'], { from: 'Write', to: 'Record Failure', output: 1 }),
			input: [{}],
		});

		expect(replay.status).toBe('success');
		expect(replay.json('Record Failure')[0]._sync).toMatchObject({ status: 'failed', attempts: 2 });
		const [entry] = await queue(store);
		expect(entry.attempts).toBe(2);
		// The backoff after the second attempt (2 x 30 s) replaces the ten-minute claim.
		const delayMs = Date.parse(entry.nextAttemptAt as string) - Date.now();
		expect(delayMs).toBeGreaterThan(30_000);
		expect(delayMs).toBeLessThanOrEqual(60_000);
	});
});
