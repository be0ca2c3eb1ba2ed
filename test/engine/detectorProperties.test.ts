import fc from 'fast-check';

import { detectChanges, type DetectorMode, type DetectorState } from '../../nodes/engine/detector';
import type { EntityState } from '../../nodes/engine/store/SyncStore';

const hostileText = fc.constantFrom('__proto__', 'constructor', 'prototype', '_sync', 'toString', 'hasOwnProperty', '', ' ', 'a.b', '["a","b"]', 'Jos\u00e9', 'Jose\u0301', '\u{1F600}', 'a\u0000b', '0', '1');
const keyValue = fc.oneof(hostileText, fc.string(), fc.integer({ min: -3, max: 3 }), fc.constant(null), fc.constant(undefined), fc.constant({ nested: 1 }), fc.double());
const fieldName = fc.oneof(hostileText, fc.string({ maxLength: 4 }));
const record = fc.tuple(keyValue, fc.dictionary(fieldName, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })).map(([id, fields]) => {
	const built: Record<string, unknown> = JSON.parse(JSON.stringify(fields));
	Object.defineProperty(built, 'id', { value: id, enumerable: true, writable: true, configurable: true });
	return built;
});
const input = fc.array(fc.oneof({ weight: 9, arbitrary: record }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) }), { maxLength: 30 });

/** Links some of the texts the keys may take, with arbitrary remembered state. */
const stateFor = fc.array(
	fc.record({
		key: fc.oneof(hostileText, fc.integer({ min: -3, max: 3 }).map(String)),
		seenHash: fc.option(fc.string(), { nil: null }),
		writtenHash: fc.option(fc.string(), { nil: null }),
		tombstoned: fc.boolean(),
		base: fc.option(fc.dictionary(fieldName, fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }), { nil: null }),
	}),
	{ maxLength: 10 },
);

function buildState(links: Array<{ key: string; seenHash: string | null; writtenHash: string | null; tombstoned: boolean; base: Record<string, unknown> | null }>): DetectorState {
	const entities = new Map<string, EntityState>();
	for (const link of links) {
		if (link.key.includes('\u0000') || link.key.trim() === '') continue;
		entities.set(link.key, {
			entityId: `e:${link.key}`,
			systems: {
				crm: {
					system: 'crm',
					key: link.key,
					seenHash: link.seenHash,
					writtenHash: link.writtenHash,
					base: link.base as EntityState['systems'][string]['base'],
					deletedAt: link.tombstoned ? '2026-01-01T00:00:00.000Z' : null,
					version: 1,
					updatedAt: '2026-01-01T00:00:00.000Z',
				},
			},
		});
	}
	const known = new Map([...entities].map(([key, entity]) => [key, { ...entity.systems.crm, entityId: entity.entityId }]));
	return { entities, known, cursor: null };
}

describe('change detection on hostile input (properties)', () => {
	it('puts every input record in exactly one output, whatever the keys and the state', () => {
		fc.assert(
			fc.property(input, stateFor, fc.constantFrom<DetectorMode>('snapshot', 'event'), fc.boolean(), (records, links, mode, fullSnapshot) => {
				const result = detectChanges({
					records: records.map((item) => ({ record: item })),
					state: buildState(links),
					options: {
						syncId: 's',
						system: 'crm',
						mode,
						keyFields: ['id'],
						fields: { mode: 'all', ignore: ['_sync'] },
						fullSnapshot,
						allowMassDelete: true,
					},
				});
				const placed = [...result.created, ...result.updated, ...result.deleted, ...result.unchanged, ...result.heldBack, ...result.errors]
					.map((item) => item.index)
					.filter((index): index is number => index !== null)
					.sort((a, b) => a - b);

				expect(placed).toEqual(records.map((_record, index) => index));
				expect(({} as Record<string, unknown>).nested).toBeUndefined();
			}),
			{ numRuns: 300 },
		);
	});

	it('finds nothing to sync when the state has seen every record as it is', () => {
		fc.assert(
			fc.property(input, (records) => {
				const options = { syncId: 's', system: 'crm', mode: 'snapshot' as const, keyFields: ['id'], fields: { mode: 'all' as const, ignore: [] } };
				const first = detectChanges({ records: records.map((item) => ({ record: item })), state: { entities: new Map() }, options });
				const entities = new Map<string, EntityState>(
					first.created.map((item) => [
						item.meta.key!,
						{
							entityId: `e:${item.meta.key}`,
							systems: {
								crm: { system: 'crm', key: item.meta.key!, seenHash: item.meta.hash!, writtenHash: null, base: item.record, deletedAt: null, version: 1, updatedAt: '' },
							},
						},
					]),
				);
				const second = detectChanges({ records: records.map((item) => ({ record: item })), state: { entities }, options });

				expect(second.created).toEqual([]);
				expect(second.updated).toEqual([]);
				expect(second.unchanged).toHaveLength(first.created.length);
				expect(second.errors.map((error) => error.index)).toEqual(first.errors.map((error) => error.index));
			}),
			{ numRuns: 200 },
		);
	});
});
