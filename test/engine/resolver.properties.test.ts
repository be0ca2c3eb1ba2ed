import fc from 'fast-check';

import { canonicalJson } from '../../nodes/engine/hash';
import {
	resolveChanges,
	sourceIndexes,
	type FieldRule,
	type ResolvedItem,
	type ResolverOptions,
	type SideChange,
} from '../../nodes/engine/resolver';
import type { EntityState } from '../../nodes/engine/store/SyncStore';
import type { JsonObject, JsonValue } from '../../nodes/engine/types';
import { CRM, ERP, entity, knownFrom, resolverOptions } from './resolverSupport';

/**
 * A small model of a two-way sync: two systems holding records keyed by their own ids, the links
 * between them and ERP's last synced version. A round applies random edits to both systems,
 * resolves, applies the ops the way write nodes would, and commits the way Sync State would.
 */

const FIELDS = ['a', 'b', 'c', 'd'];
type Side = 'x' | 'y';
type Store = Map<string, JsonObject>;

interface World {
	crm: Store;
	erp: Store;
	/** crm key <-> erp key. */
	links: Array<{ crm: string; erp: string; base: JsonObject }>;
	nextKey: number;
}

type Edit =
	| { kind: 'update'; side: Side; slot: number; field: string; value: JsonValue }
	| { kind: 'delete'; side: Side; slot: number }
	| { kind: 'create'; side: Side; record: JsonObject };

const value = fc.oneof(fc.constantFrom('p', 'q', 'r'), fc.integer({ min: 0, max: 3 }), fc.constant(null));
const fullRecord = fc.record({ a: value, b: value, c: value, d: value }) as fc.Arbitrary<JsonObject>;
const side = fc.constantFrom<Side>('x', 'y');
const edit: fc.Arbitrary<Edit> = fc.oneof(
	{ weight: 6, arbitrary: fc.record({ kind: fc.constant('update' as const), side, slot: fc.nat(20), field: fc.constantFrom(...FIELDS), value }) },
	{ weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), side, slot: fc.nat(20) }) },
	{ weight: 1, arbitrary: fc.record({ kind: fc.constant('create' as const), side, record: fullRecord }) },
);

const fieldRule: fc.Arbitrary<FieldRule> = fc.oneof(
	fc.record({ kind: fc.constant('owner' as const), side }),
	fc.record({ kind: fc.constant('priority' as const), side }),
	fc.constant({ kind: 'lastWriteWins' as const }),
	fc.constant({ kind: 'custom' as const, expression: 'larger' }),
);

/** Strategies that settle every conflict without a person (manual review is checked separately). */
const automaticOptions: fc.Arbitrary<Partial<ResolverOptions>> = fc.record({
	strategy: fc.constantFrom('merge', 'lastWriteWins', 'priority') as fc.Arbitrary<ResolverOptions['strategy']>,
	tie: fc.constantFrom('lastWriteWins', 'priority') as fc.Arbitrary<ResolverOptions['tie']>,
	priority: side,
	clockSkewMs: fc.constantFrom(0, 1000, 5000),
	updateVersusDelete: fc.constantFrom('updateWins', 'deleteWins') as fc.Arbitrary<ResolverOptions['updateVersusDelete']>,
	sendOnlyChangedFields: fc.boolean(),
	fieldRules: fc.dictionary(fc.constantFrom(...FIELDS), fieldRule, { maxKeys: 2 }),
});

/** The custom rule of the model: the larger canonical JSON wins (commutative, so it converges). */
function larger(local: JsonValue | undefined, remote: JsonValue | undefined): JsonValue | undefined {
	return canonicalJson(local) > canonicalJson(remote) ? local : remote;
}

function initialWorld(records: JsonObject[]): World {
	const world: World = { crm: new Map(), erp: new Map(), links: [], nextKey: 0 };
	records.forEach((record, index) => {
		world.crm.set(`c${index}`, { ...record });
		world.erp.set(`E${index}`, { ...record });
		world.links.push({ crm: `c${index}`, erp: `E${index}`, base: { ...record } });
	});
	return world;
}

function entitiesOf(world: World): EntityState[] {
	return world.links.map((link, index) => entity({ entityId: `e${index}`, crm: link.crm, erp: link.erp, base: link.base }));
}

interface Round {
	x: SideChange[];
	y: SideChange[];
}

/** Applies the edits and returns what each system's Change Detector would report. */
function editWorld(world: World, edits: Edit[]): Round {
	const touched: Record<Side, Map<string, { op: 'create' | 'update' | 'delete'; at: number }>> = { x: new Map(), y: new Map() };
	edits.forEach((change, step) => {
		const store = change.side === 'x' ? world.crm : world.erp;
		const at = 1_700_000_000_000 + step * 700;
		if (change.kind === 'create') {
			const key = `${change.side === 'x' ? 'c' : 'E'}n${world.nextKey++}`;
			store.set(key, { ...change.record });
			touched[change.side].set(key, { op: 'create', at });
			return;
		}
		const keys = [...store.keys()];
		if (keys.length === 0) return;
		const key = keys[change.slot % keys.length];
		const previous = touched[change.side].get(key);
		if (change.kind === 'delete') {
			store.delete(key);
			if (previous?.op === 'create') touched[change.side].delete(key);
			else touched[change.side].set(key, { op: 'delete', at });
		} else {
			store.set(key, { ...store.get(key)!, [change.field]: change.value });
			touched[change.side].set(key, { op: previous?.op === 'create' ? 'create' : 'update', at });
		}
	});
	const report = (sideName: Side): SideChange[] => {
		const store = sideName === 'x' ? world.crm : world.erp;
		return [...touched[sideName]].map(([key, { op, at }], index) => ({
			index,
			key,
			op,
			record: op === 'delete' ? {} : { ...store.get(key)! },
			changedAt: at,
		}));
	};
	return { x: report('x'), y: report('y') };
}

function resolveRound(world: World, round: Round, options: ResolverOptions) {
	return resolveChanges({ x: round.x, y: round.y, known: knownFrom(entitiesOf(world)) }, options);
}

/** Writes the ops as write nodes would, then commits links and bases as Sync State would. */
function applyOps(world: World, items: ResolvedItem[]): void {
	const linkOf = (system: string, key: string) => world.links.find((link) => (system === CRM ? link.crm : link.erp) === key);
	for (const item of items) {
		if (item.output !== 'applyToY' && item.output !== 'applyToX') continue;
		const target = item.meta.target!;
		const store = target.system === CRM ? world.crm : world.erp;
		const record = Object.fromEntries(Object.entries(item.record).filter(([field]) => FIELDS.includes(field))) as JsonObject;
		let key = target.key;
		if (target.op === 'delete') {
			store.delete(key!);
			world.links = world.links.filter((link) => (target.system === CRM ? link.crm : link.erp) !== key);
			continue;
		}
		if (target.op === 'create') {
			key = `${target.system === CRM ? 'c' : 'E'}w${world.nextKey++}`;
			store.set(key, record);
		} else {
			store.set(key!, { ...store.get(key!)!, ...record });
		}
		const otherSystem = target.system === CRM ? ERP : CRM;
		const otherKey = item.meta.keys?.[otherSystem];
		if (otherKey !== undefined) {
			const existing = linkOf(otherSystem, otherKey);
			if (existing) {
				if (target.system === CRM) existing.crm = key!;
				else existing.erp = key!;
			} else {
				world.links.push(target.system === CRM ? { crm: key!, erp: otherKey, base: {} } : { crm: otherKey, erp: key!, base: {} });
			}
		}
	}
	// Deletes that no op followed up (a record deleted on both sides) leave no live link behind.
	world.links = world.links.filter((link) => world.crm.has(link.crm) || world.erp.has(link.erp));
	for (const link of world.links) {
		const erp = world.erp.get(link.erp);
		if (erp) link.base = { ...erp };
	}
}

function reviewedKeys(round: Round, items: ResolvedItem[]): Set<string> {
	const keys = new Set<string>();
	for (const item of items) {
		if (item.output !== 'review') continue;
		for (const index of sourceIndexes(item.from).x) keys.add(`x:${round.x[index].key}`);
		for (const index of sourceIndexes(item.from).y) keys.add(`y:${round.y[index].key}`);
	}
	return keys;
}

function tracked(record: JsonObject | undefined): string {
	return record ? canonicalJson(Object.fromEntries(FIELDS.map((field) => [field, record[field] ?? null]))) : 'absent';
}

function optionsWith(overrides: Partial<ResolverOptions>): ResolverOptions {
	return resolverOptions({ ...overrides, evaluateCustom: (request) => larger(request.local, request.remote) });
}

describe('Conflict Resolver properties', () => {
	it('converges: after any edits on both sides and any automatic strategy, both systems hold the same tracked fields', () => {
		fc.assert(
			fc.property(fc.array(fullRecord, { minLength: 1, maxLength: 6 }), fc.array(edit, { maxLength: 25 }), automaticOptions, (records, edits, overrides) => {
				const world = initialWorld(records);
				const round = editWorld(world, edits);
				const options = optionsWith(overrides);
				const { items, failures } = resolveRound(world, round, options);
				expect(failures).toEqual([]);
				expect(items.filter((item) => item.output === 'review')).toEqual([]);
				applyOps(world, items);

				for (const link of world.links) expect(tracked(world.crm.get(link.crm))).toBe(tracked(world.erp.get(link.erp)));
				// Every record on either side has its counterpart: nothing left behind, nothing duplicated.
				expect(new Set(world.links.map((link) => link.crm))).toEqual(new Set(world.crm.keys()));
				expect(new Set(world.links.map((link) => link.erp))).toEqual(new Set(world.erp.keys()));

				// A second pass over everything both systems now hold finds no work: no loop, no echo.
				const again = resolveRound(
					world,
					{
						x: [...world.crm].map(([key, record], index) => ({ index, key, op: 'update' as const, record })),
						y: [...world.erp].map(([key, record], index) => ({ index, key, op: 'update' as const, record })),
					},
					options,
				);
				expect(again.items.filter((item) => item.output !== 'noChange')).toEqual([]);
			}),
			{ numRuns: 300 },
		);
	});

	it('converges under manual review for every record that needs no person, and holds back the rest', () => {
		fc.assert(
			fc.property(fc.array(fullRecord, { minLength: 1, maxLength: 6 }), fc.array(edit, { maxLength: 25 }), (records, edits) => {
				const world = initialWorld(records);
				const round = editWorld(world, edits);
				const { items } = resolveRound(world, round, optionsWith({ strategy: 'manual', deletes: { x: 'hold', y: 'propagate' } }));
				const reviewed = reviewedKeys(round, items);
				applyOps(world, items);

				for (const link of world.links) {
					if (reviewed.has(`x:${link.crm}`) || reviewed.has(`y:${link.erp}`)) continue;
					expect(tracked(world.crm.get(link.crm))).toBe(tracked(world.erp.get(link.erp)));
				}
				for (const item of items.filter((entry) => entry.output === 'review' && entry.meta.reason === 'conflict')) {
					expect(item.review!.conflictingFields.length).toBeGreaterThan(0);
					for (const field of item.review!.conflictingFields) expect(item.review!.x![field]).not.toEqual(item.review!.y![field]);
				}
			}),
			{ numRuns: 200 },
		);
	});

	it('loses no edit: under the three-way merge a field changed on one side only always reaches both sides', () => {
		const edits = fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 4 });
		fc.assert(
			fc.property(
				fullRecord,
				edits,
				edits,
				fc.constantFrom('lastWriteWins', 'priority') as fc.Arbitrary<ResolverOptions['tie']>,
				side,
				fc.boolean(),
				(base, xEdits, yEdits, tie, priority, sendOnlyChangedFields) => {
					const world = initialWorld([base]);
					const xRecord = { ...base, ...xEdits } as JsonObject;
					const yRecord = { ...base, ...yEdits } as JsonObject;
					world.crm.set('c0', xRecord);
					world.erp.set('E0', yRecord);
					const round: Round = {
						x: [{ index: 0, key: 'c0', op: 'update', record: xRecord, changedAt: 1 }],
						y: [{ index: 0, key: 'E0', op: 'update', record: yRecord, changedAt: 2 }],
					};
					const { items } = resolveRound(world, round, optionsWith({ tie, priority, sendOnlyChangedFields }));
					applyOps(world, items);

					for (const field of FIELDS) {
						const xChanged = canonicalJson(xRecord[field]) !== canonicalJson(base[field]);
						const yChanged = canonicalJson(yRecord[field]) !== canonicalJson(base[field]);
						if (xChanged === yChanged) continue;
						const edited = xChanged ? xRecord[field] : yRecord[field];
						expect(world.crm.get('c0')![field]).toEqual(edited);
						expect(world.erp.get('E0')![field]).toEqual(edited);
					}
				},
			),
			{ numRuns: 500 },
		);
	});

	it('is deterministic: the same changes in any order give the same decisions', () => {
		fc.assert(
			fc.property(
				fc.array(fullRecord, { minLength: 1, maxLength: 6 }),
				fc.array(edit, { maxLength: 25 }),
				automaticOptions,
				fc.boolean(),
				fc.boolean(),
				fc.infiniteStream(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })),
				(records, edits, overrides, manual, matchOnA, randomness) => {
					const world = initialWorld(records);
					const round = editWorld(world, edits);
					const options = optionsWith({
						...overrides,
						...(manual ? { strategy: 'manual' as const } : {}),
						// Pairing new records on field a makes matches and ambiguous matches likely.
						...(matchOnA ? { match: { fields: ['a'], ignoreCaseAndSpaces: true } } : {}),
					});
					const shuffle = <T>(list: T[]): T[] => {
						const copy = [...list];
						const random = randomness[Symbol.iterator]();
						for (let i = copy.length - 1; i > 0; i--) {
							const j = Math.floor((random.next().value as number) * (i + 1));
							[copy[i], copy[j]] = [copy[j], copy[i]];
						}
						return copy.map((change, index) => ({ ...change, index }));
					};
					const describe = (changes: Round, items: ResolvedItem[]) =>
						items
							.map((item) =>
								canonicalJson({
									...item,
									from: { x: sourceIndexes(item.from).x.map((i) => changes.x[i].key).sort(), y: sourceIndexes(item.from).y.map((i) => changes.y[i].key).sort() },
								}),
							)
							.sort();
					const shuffled: Round = { x: shuffle(round.x), y: shuffle(round.y) };
					const first = resolveRound(world, round, options);
					const second = resolveRound(world, shuffled, options);
					expect(describe(shuffled, second.items)).toEqual(describe(round, first.items));
				},
			),
			{ numRuns: 200 },
		);
	});
});
