import { SyncError } from '../../nodes/engine/errors';
import { hashValue } from '../../nodes/engine/hash';
import {
	classifyRecords,
	detectChanges,
	prepareRecords,
	withLinkedKeys,
	type DetectionResult,
	type DetectorInput,
	type DetectorOptions,
	type DetectorState,
} from '../../nodes/engine/detector';
import type { EntityState, RecordState } from '../../nodes/engine/store/SyncStore';
import type { JsonObject } from '../../nodes/engine/types';

const SYSTEM = 'crm';

function options(overrides: Partial<DetectorOptions> = {}): DetectorOptions {
	return { syncId: 'contacts', system: SYSTEM, mode: 'snapshot', keyFields: ['id'], fields: { mode: 'all', ignore: [] }, ...overrides };
}

function recordState(key: string, overrides: Partial<RecordState> = {}, system = SYSTEM): RecordState {
	return {
		system,
		key,
		seenHash: null,
		writtenHash: null,
		base: null,
		deletedAt: null,
		version: 1,
		updatedAt: '2026-01-01T00:00:00.000Z',
		...overrides,
	};
}

/** A record of this system linked to an entity, optionally with its twin in another system. */
function linked(key: string, overrides: Partial<RecordState> = {}, erpKey?: string): EntityState {
	const systems: Record<string, RecordState> = { [SYSTEM]: recordState(key, overrides) };
	if (erpKey) systems.erp = recordState(erpKey, {}, 'erp');
	return { entityId: `e-${key}`, systems };
}

/** The state a previous sync of these records leaves: each seen as it is now, with it as the base. */
function seen(records: JsonObject[], keyField = 'id'): Map<string, EntityState> {
	return new Map(
		records.map((record) => {
			const key = String(record[keyField]);
			return [key, linked(key, { seenHash: hashValue(record), base: record })];
		}),
	);
}

function knownOf(entities: Map<string, EntityState>): NonNullable<DetectorState['known']> {
	return new Map([...entities].map(([key, entity]) => [key, { ...entity.systems[SYSTEM], entityId: entity.entityId }]));
}

function run(records: unknown[], state: Partial<DetectorState> = {}, overrides: Partial<DetectorOptions> = {}): DetectionResult {
	return detectChanges({
		records: records.map((record): DetectorInput => ({ record })),
		// No state at all means nothing is known yet; a full snapshot may pass the known keys alone.
		state: state.known ? state : { entities: new Map(), ...state },
		options: options(overrides),
	});
}

const keysOf = (detected: Array<{ meta: { key: string | null } }>) => detected.map((item) => item.meta.key);

describe('change detection', () => {
	describe('creates, updates and unchanged records', () => {
		it('reports a record the state does not know as created', () => {
			const result = run([{ id: 1, name: 'Ada' }]);

			expect(result.created).toHaveLength(1);
			expect(result.created[0].meta).toEqual({
				syncId: 'contacts',
				system: SYSTEM,
				key: '1',
				op: 'create',
				hash: hashValue({ id: 1, name: 'Ada' }),
			});
		});

		it('reports a record whose content hash matches the last seen one as unchanged', () => {
			const ada = { id: 1, name: 'Ada' };
			const result = run([{ name: 'Ada', id: 1 }], { entities: seen([ada]) });

			expect(result.unchanged.map((item) => item.meta)).toEqual([
				expect.objectContaining({ op: 'none', reason: 'unchanged', entityId: 'e-1' }),
			]);
		});

		it('reports an edited record as updated, naming the fields that differ from the base', () => {
			const before = { id: 1, name: 'Ada', email: 'ada@example.com', city: 'London' };
			const after = { id: 1, name: 'Ada Lovelace', email: 'ada@example.com', phone: '123' };
			const result = run([after], { entities: seen([before]) });

			expect(result.updated).toHaveLength(1);
			expect(result.updated[0].meta.op).toBe('update');
			expect([...(result.updated[0].meta.changedFields ?? [])].sort()).toEqual(['city', 'name', 'phone']);
		});

		it('ignores changes in ignored fields, also nested ones', () => {
			const before = { id: 1, name: 'Ada', updated_at: '2026-01-01', meta: { etag: 'a', tier: 'gold' } };
			const after = { id: 1, name: 'Ada', updated_at: '2026-02-02', meta: { etag: 'b', tier: 'gold' } };
			const fields = { mode: 'all' as const, ignore: ['updated_at', 'meta.etag'] };
			const first = run([before], {}, { fields });
			const state = new Map([['1', linked('1', { seenHash: first.created[0].meta.hash!, base: before })]]);

			expect(run([after], { entities: state }, { fields }).unchanged).toHaveLength(1);
			const tierChange = run([{ ...after, meta: { etag: 'c', tier: 'silver' } }], { entities: state }, { fields });
			expect(tierChange.updated[0].meta.changedFields).toEqual(['meta']);
		});

		it('compares only the listed fields when told to, and names the listed paths that changed', () => {
			const fields = { mode: 'only' as const, fields: ['email', 'address.city'] };
			const before = { id: 1, email: 'a@x.io', address: { city: 'Paris', zip: '75001' }, notes: 'x' };
			const first = run([before], {}, { fields });
			const state = new Map([['1', linked('1', { seenHash: first.created[0].meta.hash!, base: before })]]);

			expect(run([{ ...before, notes: 'y', address: { city: 'Paris', zip: '75002' } }], { entities: state }, { fields }).unchanged).toHaveLength(1);
			const moved = run([{ ...before, address: { city: 'Lyon', zip: '69001' } }], { entities: state }, { fields });
			expect(moved.updated[0].meta.changedFields).toEqual(['address.city']);
		});

		it('does not see a change in key order, number spelling or Unicode normal form', () => {
			const stored = { id: 1, name: 'Jos\u00e9', score: 1.5, tags: ['a'] };
			const result = run([{ tags: ['a'], score: 1.5, name: 'Jose\u0301', id: 1.0 }], { entities: seen([stored]) });

			expect(result.unchanged).toHaveLength(1);
		});

		it('treats a changed hash with the same content as the base as unchanged', () => {
			const base = { id: 1, name: 'Ada' };
			const state = new Map([['1', linked('1', { seenHash: 'a hash of some other form', base })]]);

			expect(run([{ id: 1, name: 'Ada' }], { entities: state }).unchanged[0].meta.reason).toBe('unchanged');
		});

		it('reports an update without changed fields when no base is known', () => {
			const state = new Map([['1', linked('1', { seenHash: 'old' })]]);
			const result = run([{ id: 1, name: 'Ada' }], { entities: state });

			expect(result.updated[0].meta.changedFields).toBeUndefined();
		});

		it('creates a tombstoned record again when it reappears, keeping its entity', () => {
			const ada = { id: 1, name: 'Ada' };
			const state = new Map([['1', linked('1', { seenHash: hashValue(ada), base: ada, deletedAt: '2026-01-01T00:00:00.000Z' })]]);
			const result = run([ada], { entities: state });

			expect(result.created[0].meta).toEqual(expect.objectContaining({ op: 'create', reason: 'reappeared', entityId: 'e-1' }));
		});

		it("gives a linked record its entity and the keys of its live twins, not of deleted ones", () => {
			const entity: EntityState = {
				entityId: 'e-1',
				systems: {
					[SYSTEM]: recordState('1', { seenHash: 'old' }),
					erp: recordState('E1', {}, 'erp'),
					billing: recordState('B1', { deletedAt: '2026-01-01T00:00:00.000Z' }, 'billing'),
				},
			};
			const result = run([{ id: 1, name: 'Ada' }], { entities: new Map([['1', entity]]) });

			expect(result.updated[0].meta.keys).toEqual({ [SYSTEM]: '1', erp: 'E1' });
		});
	});

	describe('echo suppression', () => {
		it('recognises our own write coming back even when the system added fields', () => {
			const written = { id: 'E1', email: 'ada@example.com', name: 'Ada' };
			const state = new Map([['E1', linked('E1', { writtenHash: hashValue(written), seenHash: hashValue(written), base: written })]]);
			const result = run([{ ...written, updated_at: '2026-03-01T10:00:00Z', version: 7 }], { entities: state });

			expect(result.unchanged.map((item) => item.meta.reason)).toEqual(['echo']);
		});

		it('takes echo before unchanged when both hold', () => {
			const written = { id: 'E1', name: 'Ada' };
			const state = new Map([['E1', linked('E1', { writtenHash: hashValue(written), seenHash: hashValue(written), base: written })]]);

			expect(run([written], { entities: state }).unchanged[0].meta.reason).toBe('echo');
		});

		it('sees a real edit after our write as an update', () => {
			const written = { id: 'E1', name: 'Ada' };
			const state = new Map([['E1', linked('E1', { writtenHash: hashValue(written), seenHash: hashValue(written), base: written })]]);
			const result = run([{ id: 'E1', name: 'Ada Lovelace', updated_at: 'now' }], { entities: state });

			expect([...(result.updated[0].meta.changedFields ?? [])].sort()).toEqual(['name', 'updated_at']);
		});

		it('is not fooled by a record that lacks a field we wrote', () => {
			const written = { id: 'E1', name: 'Ada', phone: '1' };
			const state = new Map([['E1', linked('E1', { writtenHash: hashValue(written), seenHash: hashValue(written), base: written })]]);

			expect(run([{ id: 'E1', name: 'Ada' }], { entities: state }).updated).toHaveLength(1);
		});
	});

	describe('snapshot deletes', () => {
		const records = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((id) => ({ id, name: `n${id}` }));

		it('reports no deletes unless the input is declared a full snapshot', () => {
			const entities = seen(records);
			const result = run(records.slice(1), { entities, known: knownOf(entities) });

			expect(result.deleted).toEqual([]);
		});

		it('reports a known record absent from a full snapshot as deleted, built from its base with its key', () => {
			const entities = seen(records);
			const result = run(records.slice(1), { entities, known: knownOf(entities) }, { fullSnapshot: true });

			expect(result.deleted).toEqual([
				{ index: null, record: { id: 1, name: 'n1' }, meta: { syncId: 'contacts', system: SYSTEM, key: '1', op: 'delete', entityId: 'e-1' } },
			]);
			expect(result.knownCount).toBe(10);
		});

		it('puts the key fields on a deleted record whose base lacks them, for composite keys too', () => {
			const key = JSON.stringify(['ACME', '7']);
			const known = new Map([[key, { ...recordState(key, { base: { name: 'x' } }), entityId: 'e-x' }]]);
			const result = run([], { known }, { fullSnapshot: true, keyFields: ['tenant', 'ref.no'], allowMassDelete: true });

			expect(result.deleted[0].record).toEqual({ name: 'x', tenant: 'ACME', ref: { no: '7' } });
		});

		it('does not delete records already tombstoned, nor count them as known', () => {
			const entities = seen(records);
			const known = knownOf(entities);
			known.set('99', { ...recordState('99', { deletedAt: '2026-01-01T00:00:00.000Z' }), entityId: 'e-99' });
			const result = run(records, { entities, known }, { fullSnapshot: true });

			expect(result.deleted).toEqual([]);
			expect(result.knownCount).toBe(10);
		});

		it('does not delete a record whose key is duplicated in the input: it is present, just ambiguous', () => {
			const entities = seen(records);
			const input = [...records, { id: 3, name: 'copy' }];
			const result = run(input, { entities, known: knownOf(entities) }, { fullSnapshot: true });

			expect(result.deleted).toEqual([]);
			expect(result.errors.map((error) => [error.index, error.reason])).toEqual([
				[2, 'duplicateKey'],
				[10, 'duplicateKey'],
			]);
		});

		it('stops with the counts when more than 20% of the known records would be deleted', () => {
			const entities = seen(records);
			const attempt = () => run(records.slice(3), { entities, known: knownOf(entities) }, { fullSnapshot: true });

			expect(attempt).toThrow(SyncError);
			expect(attempt).toThrow('The snapshot would delete 3 of 10 known "crm" records (30%), more than the 20% allowed');
			try {
				attempt();
			} catch (error) {
				expect((error as SyncError).code).toBe('MASS_DELETE');
				expect((error as SyncError).hint).toContain('Allow Mass Delete');
			}
		});

		it('allows exactly the limit, a higher limit, or an explicit override', () => {
			const entities = seen(records);
			const state = { entities, known: knownOf(entities) };

			expect(run(records.slice(2), state, { fullSnapshot: true }).deleted).toHaveLength(2);
			expect(run(records.slice(5), state, { fullSnapshot: true, maxDeleteShare: 0.5 }).deleted).toHaveLength(5);
			expect(run([], state, { fullSnapshot: true, allowMassDelete: true }).deleted).toHaveLength(10);
		});

		it('classifies a full snapshot from the known keys alone, as it would from a lookup by key', () => {
			const entities = seen(records);
			const input = [...records.slice(1, 9), { id: 10, name: 'edited' }, { id: 11, name: 'new' }];
			const fromLookup = run(input, { entities, known: knownOf(entities) }, { fullSnapshot: true });
			const fromKnown = run(input, { known: knownOf(entities) }, { fullSnapshot: true });

			expect(fromKnown).toEqual(fromLookup);
		});

		it('adds the keys in every linked system to deletes once their entities are loaded', () => {
			const entities = new Map([['1', linked('1', {}, 'E1')]]);
			const { deleted } = run([], { entities: new Map(), known: knownOf(entities) }, { fullSnapshot: true, allowMassDelete: true });
			const byEntity = new Map([...entities.values()].map((entity) => [entity.entityId, entity]));

			expect(withLinkedKeys(deleted, byEntity)[0].meta.keys).toEqual({ [SYSTEM]: '1', erp: 'E1' });
		});
	});

	describe('keys', () => {
		it('sends records with a missing, empty, object or NUL key to errors with the reason', () => {
			const result = run([{ name: 'none' }, { id: '  ' }, { id: null }, { id: { nested: 1 } }, { id: 'a\u0000b' }, 'not a record']);

			expect(result.errors.map((error) => [error.index, error.reason])).toEqual([
				[0, 'missingKey'],
				[1, 'missingKey'],
				[2, 'missingKey'],
				[3, 'invalidKey'],
				[4, 'invalidKey'],
				[5, 'invalidRecord'],
			]);
			expect(result.errors[0].message).toBe('The record has no value in key field "id"');
		});

		it('treats the number 42 and the text "42" as one key', () => {
			const result = run([{ id: 42 }, { id: '42' }]);

			expect(result.errors.map((error) => error.reason)).toEqual(['duplicateKey', 'duplicateKey']);
		});

		it('joins composite keys as a JSON list, so parts with separators stay apart', () => {
			const result = run([{ a: 'x|y', b: 'z' }, { a: 'x', b: 'y|z' }], {}, { keyFields: ['a', 'b'] });

			expect(keysOf(result.created)).toEqual(['["x|y","z"]', '["x","y|z"]']);
		});

		it('reads hostile field names as data, never through the prototype', () => {
			const record = JSON.parse('{"__proto__": "p1", "constructor": "c1", "name": "x"}');
			const protoKey = run([record], {}, { keyFields: ['__proto__'] });
			const constructorKey = run([{ name: 'no constructor field' }], {}, { keyFields: ['constructor'] });

			expect(keysOf(protoKey.created)).toEqual(['p1']);
			expect(constructorKey.errors[0].reason).toBe('missingKey');
		});

		it('lists the distinct valid keys once, for one store lookup', () => {
			const prepared = prepareRecords(
				[{ record: { id: 1 } }, { record: { id: 2 } }, { record: { id: 2 } }, { record: { id: 3 } }, { record: {} }],
				options(),
			);

			expect(prepared.keys).toEqual(['1', '3']);
		});
	});

	describe('incremental reads', () => {
		const cursor = { field: 'updated_at', type: 'timestamp' as const, lookBack: 5 * 60_000 };
		const incremental = { mode: 'incremental' as const, cursor };

		it('starts the next read at the newest change minus the look-back window', () => {
			const result = run(
				[
					{ id: 1, updated_at: '2026-03-01T10:00:00Z' },
					{ id: 2, updated_at: '2026-03-01T10:20:00.000+01:00' },
					{ id: 3, updated_at: '2026-03-01 09:30:00' },
				],
				{ cursor: null },
				incremental,
			);

			expect(result.cursor).toEqual({ previous: null, next: '2026-03-01T09:55:00.000Z', moved: true });
		});

		it('deduplicates records re-read inside the window by hash', () => {
			const old = { id: 1, name: 'Ada', updated_at: '2026-03-01T10:00:00Z' };
			const fresh = { id: 2, name: 'Bob', updated_at: '2026-03-01T10:03:00Z' };
			const result = run([old, fresh], { entities: seen([old]), cursor: '2026-03-01T09:58:00.000Z' }, incremental);

			expect(keysOf(result.unchanged)).toEqual(['1']);
			expect(keysOf(result.created)).toEqual(['2']);
			expect(result.cursor?.next).toBe('2026-03-01T09:58:00.000Z');
			expect(result.cursor?.moved).toBe(false);
		});

		it('never moves the cursor back', () => {
			const result = run([{ id: 1, updated_at: '2026-01-01T00:00:00Z' }], { cursor: '2026-03-01T00:00:00.000Z' }, incremental);

			expect(result.cursor).toEqual({ previous: '2026-03-01T00:00:00.000Z', next: '2026-03-01T00:00:00.000Z', moved: false });
		});

		it('keeps integer cursors exact beyond 2^53', () => {
			const result = run(
				[{ id: 1, seq: '9007199254740993' }, { id: 2, seq: 12 }],
				{ cursor: '10' },
				{ mode: 'incremental', cursor: { field: 'seq', type: 'number', lookBack: 0 } },
			);

			expect(result.cursor?.next).toBe('9007199254740993');
		});

		it('sends a record without a readable cursor value to errors', () => {
			const result = run([{ id: 1, updated_at: 'yesterday-ish' }], {}, incremental);

			expect(result.errors[0]).toEqual(expect.objectContaining({ reason: 'missingCursor', index: 0 }));
		});

		it('refuses a stored cursor of another type, saying how to fix it', () => {
			expect(() => run([{ id: 1, updated_at: '2026-03-01T10:00:00Z' }], { cursor: 'abc' }, incremental)).toThrow(
				'The stored cursor "abc" is not a timestamp',
			);
		});

		it('reports a soft-deleted record as deleted when it is linked', () => {
			const ada = { id: 1, name: 'Ada', updated_at: '2026-03-01T10:00:00Z', deleted_at: null };
			const gone = { ...ada, deleted_at: '2026-03-02T00:00:00Z', updated_at: '2026-03-02T00:00:00Z' };
			const neverSynced = { id: 2, name: 'Bob', updated_at: '2026-03-02T00:00:00Z', deleted_at: '2026-03-02T00:00:00Z' };
			const result = run([gone, neverSynced], { entities: seen([ada]) }, { ...incremental, deletedField: 'deleted_at' });

			expect(keysOf(result.deleted)).toEqual(['1']);
			expect(result.unchanged.map((item) => [item.meta.key, item.meta.reason])).toEqual([['2', 'notLinked']]);
		});
	});

	describe('settle delay', () => {
		const now = new Date('2026-03-01T12:00:00Z');
		const settle = { field: 'updated_at', seconds: 60 };

		it('holds back records edited in the last N seconds, and lets older ones through', () => {
			const result = run(
				[
					{ id: 1, updated_at: '2026-03-01T11:59:30Z' },
					{ id: 2, updated_at: '2026-03-01T11:58:00Z' },
				],
				{},
				{ settle, now },
			);

			expect(result.heldBack.map((item) => [item.meta.key, item.meta.op, item.meta.reason])).toEqual([['1', 'none', 'settling']]);
			expect(keysOf(result.created)).toEqual(['2']);
		});

		it('keeps the cursor before the oldest held-back record, so the next read sees it again', () => {
			const result = run(
				[
					{ id: 1, updated_at: '2026-03-01T11:59:30Z' },
					{ id: 2, updated_at: '2026-03-01T11:50:00Z' },
				],
				{ cursor: null },
				{ mode: 'incremental', cursor: { field: 'updated_at', type: 'timestamp', lookBack: 0 }, settle, now },
			);

			expect(result.cursor?.next).toBe('2026-03-01T11:59:29.999Z');
		});

		it('does not delete a record that is in a full snapshot but lacks its edit time: it goes to errors', () => {
			const known = knownOf(seen([{ id: 1, updated_at: '2026-03-01T10:00:00Z' }]));
			const result = run([{ id: 1 }], { known }, { settle, now, fullSnapshot: true });

			expect(result.deleted).toEqual([]);
			expect(result.errors.map((error) => [error.key, error.reason])).toEqual([['1', 'missingTimestamp']]);
		});

		it('does not count a held-back record as deleted in a full snapshot', () => {
			const known = knownOf(seen([{ id: 1, updated_at: '2026-03-01T10:00:00Z' }]));
			const result = run([{ id: 1, updated_at: '2026-03-01T11:59:59Z' }], { known }, { settle, now, fullSnapshot: true });

			expect(result.deleted).toEqual([]);
			expect(result.heldBack).toHaveLength(1);
		});
	});

	describe('events', () => {
		function event(record: JsonObject, intent: DetectorInput['intent'], state: Map<string, EntityState> = new Map()) {
			return detectChanges({ records: [{ record, intent }], state: { entities: state }, options: options({ mode: 'event' }) });
		}

		it('decides create or update for a save event by the link', () => {
			const ada = { id: 1, name: 'Ada' };

			expect(event(ada, 'upsert').created).toHaveLength(1);
			expect(event({ ...ada, name: 'Ada L' }, 'upsert', seen([ada])).updated).toHaveLength(1);
			expect(event({ ...ada, name: 'Ada L' }, 'create', seen([ada])).updated).toHaveLength(1);
			expect(event(ada, 'update').created).toHaveLength(1);
		});

		it('reports a delete event of a linked record as deleted, and of an unknown one as unchanged', () => {
			const ada = { id: 1, name: 'Ada' };

			expect(event(ada, 'delete', seen([ada])).deleted[0].meta.op).toBe('delete');
			expect(event(ada, 'delete').unchanged[0].meta.reason).toBe('notLinked');
			const tombstoned = new Map([['1', linked('1', { deletedAt: '2026-01-01T00:00:00.000Z' })]]);
			expect(event(ada, 'delete', tombstoned).unchanged[0].meta.reason).toBe('alreadyDeleted');
			expect(event(ada, 'ignore').unchanged[0].meta.reason).toBe('ignored');
		});

		it('reports an event the sync says it wrote itself as unchanged, before it is linked and after', () => {
			const ada = { id: 1, name: 'Ada' };
			const own = (record: JsonObject, intent: DetectorInput['intent'], state: Map<string, EntityState> = new Map()) =>
				detectChanges({ records: [{ record, intent, ownWrite: true }], state: { entities: state }, options: options({ mode: 'event' }) });

			expect(own(ada, 'create').unchanged.map((item) => [item.meta.op, item.meta.reason])).toEqual([['none', 'ownWrite']]);
			expect(own({ ...ada, name: 'Ada L' }, 'update', seen([ada])).unchanged[0].meta.reason).toBe('ownWrite');
			expect(own(ada, 'delete', seen([ada])).deleted).toEqual([]);
		});
	});

	describe('accounting', () => {
		it('puts each input record in exactly one output, in input order within each', () => {
			const ada = { id: 1, name: 'Ada' };
			const prepared = prepareRecords(
				[{ id: 1, name: 'Ada' }, { id: 2 }, {}, { id: 3 }, { id: 3 }, { id: 4 }].map((record) => ({ record })),
				options(),
			);
			const result = classifyRecords(prepared, { entities: seen([ada]) });
			const indexes = [...result.created, ...result.updated, ...result.unchanged, ...result.heldBack, ...result.errors]
				.map((item) => item.index)
				.sort();

			expect(indexes).toEqual([0, 1, 2, 3, 4, 5]);
			expect(result.created.map((item) => item.index)).toEqual([1, 5]);
		});
	});
});
