import { knownThroughX, resolveChanges, sourceIndexes, type ResolvedItem } from '../../nodes/engine/resolver';
import { isSyncError } from '../../nodes/engine/errors';
import { CRM, ERP, change, entity, input, knownFrom, resolverOptions } from './resolverSupport';

const ada = { name: 'Ada', email: 'ada@example.com', phone: '1', city: 'London' };
const linkedAda = entity({ entityId: 'e1', crm: 'c1', erp: 'E1', base: ada });

function byOutput(items: ResolvedItem[], output: ResolvedItem['output']): ResolvedItem[] {
	return items.filter((item) => item.output === output);
}

function only(items: ResolvedItem[], output: ResolvedItem['output']): ResolvedItem {
	const found = byOutput(items, output);
	expect(found).toHaveLength(1);
	return found[0];
}

describe('Conflict Resolver engine', () => {
	describe('three-way merge', () => {
		it('applies a field changed in X only to Y, with the source named for Commit', () => {
			const { items } = resolveChanges(
				input([change('c1', { ...ada, phone: '2' }, { hash: 'h-c1', sourceFields: ['name', 'email', 'phone', 'city'] })], [], [linkedAda]),
				resolverOptions(),
			);

			const apply = only(items, 'applyToY');
			expect(items).toHaveLength(1);
			expect(apply.record).toEqual({ ...ada, phone: '2' });
			expect(apply.meta).toMatchObject({
				syncId: 'contacts',
				system: CRM,
				key: 'c1',
				op: 'update',
				hash: 'h-c1',
				entityId: 'e1',
				keys: { crm: 'c1', erp: 'E1' },
				sourceFields: ['name', 'email', 'phone', 'city'],
				changedFields: ['phone'],
				target: { system: ERP, key: 'E1', op: 'update' },
			});
			expect(apply.meta.resolution).toEqual({ phone: { winner: CRM, strategy: 'merge', reason: 'changed in crm only' } });
		});

		it('brings a field changed in Y only back to X', () => {
			const { items } = resolveChanges(input([], [change('E1', { ...ada, city: 'Paris', id: 'E1' })], [linkedAda]), resolverOptions());

			const apply = only(items, 'applyToX');
			expect(apply.record).toEqual({ ...ada, city: 'Paris' });
			expect(apply.meta).toMatchObject({ system: ERP, key: 'E1', target: { system: CRM, key: 'c1', op: 'update' } });
		});

		it('keeps edits to different fields of one record from both sides and writes the merge to both', () => {
			const { items } = resolveChanges(
				input([change('c1', { ...ada, phone: '2' })], [change('E1', { ...ada, city: 'Paris' })], [linkedAda]),
				resolverOptions(),
			);

			const toY = only(items, 'applyToY');
			const toX = only(items, 'applyToX');
			expect(toY.record).toEqual({ ...ada, phone: '2', city: 'Paris' });
			expect(toX.record).toEqual({ ...ada, phone: '2', city: 'Paris' });
			expect(toY.meta.changedFields).toEqual(['phone']);
			expect(toX.meta.changedFields).toEqual(['city']);
			// Both sides get written: each op names only its own target, so the two commits cannot overwrite each other.
			expect(toY.meta).toMatchObject({ system: ERP, key: 'E1', target: { system: ERP, key: 'E1', op: 'update' } });
			expect(toX.meta).toMatchObject({ system: CRM, key: 'c1', target: { system: CRM, key: 'c1', op: 'update' } });
			expect(sourceIndexes(toY.from)).toEqual({ x: [0], y: [0] });
		});

		it('sees no conflict when both sides changed a field to the same value', () => {
			const { items } = resolveChanges(
				input([change('c1', { ...ada, phone: '9' })], [change('E1', { ...ada, phone: '9' })], [linkedAda]),
				resolverOptions({ tie: 'manual' }),
			);

			const unchanged = only(items, 'noChange');
			expect(unchanged.meta).toMatchObject({ op: 'none', reason: 'in sync' });
			expect(unchanged.meta.resolution?.phone).toEqual({ winner: 'both', strategy: 'merge', reason: 'changed to the same value in crm and erp' });
		});

		it('sees no change when a text differs only in its Unicode form or an object in its key order', () => {
			const base = { name: 'Zo\u00eb', tags: { a: 1, b: 2 } };
			const linked = entity({ entityId: 'e1', crm: 'c1', erp: 'E1', base });
			const { items } = resolveChanges(input([change('c1', { name: 'Zoe\u0308', tags: { b: 2, a: 1 } })], [], [linked]), resolverOptions());

			expect(only(items, 'noChange').meta.reason).toBe('unchanged');
		});

		it('treats a change that equals the last synced version as no change (an echo)', () => {
			const { items } = resolveChanges(input([], [change('E1', { ...ada, updatedAt: 'now' })], [linkedAda]), resolverOptions({ ignoreFields: ['updatedAt'] }));

			expect(only(items, 'noChange').meta).toMatchObject({ reason: 'unchanged', system: ERP, key: 'E1' });
		});

		it('settles a true conflict by system priority', () => {
			const { items } = resolveChanges(
				input([change('c1', { ...ada, phone: 'crm' })], [change('E1', { ...ada, phone: 'erp' })], [linkedAda]),
				resolverOptions({ tie: 'priority', priority: 'y' }),
			);

			expect(only(items, 'applyToX').record.phone).toBe('erp');
			expect(byOutput(items, 'applyToY')).toHaveLength(0);
			expect(only(items, 'applyToX').meta.resolution?.phone).toEqual({
				winner: ERP,
				strategy: 'priority',
				reason: 'changed in both to different values; erp has priority',
			});
		});

		it('settles a true conflict by the newer change when the tie strategy is last write wins', () => {
			const { items } = resolveChanges(
				input(
					[change('c1', { ...ada, phone: 'crm' }, { changedAt: Date.parse('2024-05-01T10:00:00Z') })],
					[change('E1', { ...ada, phone: 'erp' }, { changedAt: Date.parse('2024-05-01T10:00:05Z') })],
					[linkedAda],
				),
				resolverOptions({ tie: 'lastWriteWins', priority: 'x' }),
			);

			const toX = only(items, 'applyToX');
			expect(toX.record.phone).toBe('erp');
			expect(toX.meta.resolution?.phone.reason).toBe(
				"changed in both to different values; erp's change is newer (2024-05-01T10:00:05.000Z against 2024-05-01T10:00:00.000Z in crm)",
			);
		});

		it('counts changes within the clock-skew tolerance as concurrent and falls back to the priority', () => {
			const { items } = resolveChanges(
				input(
					[change('c1', { ...ada, phone: 'crm' }, { changedAt: 1_700_000_000_000 })],
					[change('E1', { ...ada, phone: 'erp' }, { changedAt: 1_700_000_000_800 })],
					[linkedAda],
				),
				resolverOptions({ tie: 'lastWriteWins', priority: 'x', clockSkewMs: 1000 }),
			);

			const toY = only(items, 'applyToY');
			expect(toY.record.phone).toBe('crm');
			expect(toY.meta.resolution?.phone.reason).toContain('within 1000 ms of each other (the clock-skew tolerance), so crm has priority');
		});

		it('falls back to the priority when a side has no change time', () => {
			const { items } = resolveChanges(
				input([change('c1', { ...ada, phone: 'crm' })], [change('E1', { ...ada, phone: 'erp' }, { changedAt: 5 })], [linkedAda]),
				resolverOptions({ tie: 'lastWriteWins', priority: 'y' }),
			);

			expect(only(items, 'applyToX').meta.resolution?.phone.reason).toContain('no change time from crm, so erp has priority');
		});

		it('sends a true conflict to Needs Review with both versions, the base and the conflicting fields', () => {
			const { items } = resolveChanges(
				input([change('c1', { ...ada, phone: 'crm', name: 'Ada L.' })], [change('E1', { ...ada, phone: 'erp', id: 'E1' })], [linkedAda]),
				resolverOptions({ tie: 'manual' }),
			);

			const review = only(items, 'review');
			expect(items).toHaveLength(1);
			expect(review.review).toEqual({
				reason: 'changed in both crm and erp to different values: phone',
				conflictingFields: ['phone'],
				x: { ...ada, phone: 'crm', name: 'Ada L.' },
				y: { ...ada, phone: 'erp' },
				base: ada,
			});
			expect(review.meta).toMatchObject({ reason: 'conflict', entityId: 'e1', keys: { crm: 'c1', erp: 'E1' } });
			expect(review.meta.resolution?.phone).toMatchObject({ winner: 'none', strategy: 'manual' });
			expect(review.meta.resolution?.name).toMatchObject({ winner: CRM, strategy: 'merge' });
		});

		it('under manual review as the strategy, still merges records without a true conflict', () => {
			const { items } = resolveChanges(
				input([change('c1', { ...ada, phone: '2' })], [change('E1', { ...ada, city: 'Rome' })], [linkedAda]),
				resolverOptions({ strategy: 'manual' }),
			);

			expect(only(items, 'applyToY').record).toEqual({ ...ada, phone: '2', city: 'Rome' });
		});
	});

	describe('whole-record strategies', () => {
		it('last write wins: the newer record wins every field once both sides changed it', () => {
			const { items } = resolveChanges(
				input(
					[change('c1', { ...ada, phone: '2' }, { changedAt: 2_000_000 })],
					[change('E1', { ...ada, city: 'Rome' }, { changedAt: 1_000_000 })],
					[linkedAda],
				),
				resolverOptions({ strategy: 'lastWriteWins', priority: 'y', clockSkewMs: 0 }),
			);

			// The older side's edit is overwritten: that is what last write wins means.
			expect(only(items, 'applyToY').record).toEqual({ ...ada, phone: '2' });
			expect(only(items, 'applyToY').meta.resolution?.city).toMatchObject({ winner: CRM, strategy: 'lastWriteWins' });
		});

		it('system priority: the priority system wins every field once both sides changed the record', () => {
			const { items } = resolveChanges(
				input([change('c1', { ...ada, phone: '2' })], [change('E1', { ...ada, city: 'Rome' })], [linkedAda]),
				resolverOptions({ strategy: 'priority', priority: 'y' }),
			);

			expect(only(items, 'applyToX').record).toEqual({ ...ada, city: 'Rome' });
			expect(byOutput(items, 'applyToY')).toHaveLength(0);
		});

		it('a one-sided change still goes through under system priority', () => {
			const { items } = resolveChanges(input([change('c1', { ...ada, phone: '2' })], [], [linkedAda]), resolverOptions({ strategy: 'priority', priority: 'y' }));

			expect(only(items, 'applyToY').record.phone).toBe('2');
		});
	});

	describe('field rules', () => {
		it('reverts an edit to an owned field made on the other side, and says so', () => {
			const { items } = resolveChanges(
				input([change('c1', { ...ada, phone: '2', city: 'Oslo' })], [], [linkedAda]),
				resolverOptions({ fieldRules: { city: { kind: 'owner', side: 'y' } } }),
			);

			const toY = only(items, 'applyToY');
			const toX = only(items, 'applyToX');
			expect(toY.record).toEqual({ ...ada, phone: '2' });
			expect(toX.record).toEqual({ ...ada, phone: '2' });
			expect(toX.meta.changedFields).toEqual(['city']);
			expect(toX.meta.resolution?.city).toEqual({
				winner: ERP,
				strategy: 'ownership',
				reason: 'city is owned by erp; the edit made in crm is reverted',
			});
		});

		it('lets the owner win a field even when both changed it', () => {
			const { items } = resolveChanges(
				input([change('c1', { ...ada, city: 'Oslo' })], [change('E1', { ...ada, city: 'Rome' })], [linkedAda]),
				resolverOptions({ priority: 'y', fieldRules: { city: { kind: 'owner', side: 'x' } } }),
			);

			expect(only(items, 'applyToY').record.city).toBe('Oslo');
		});

		it('decides a true conflict of one field by its own priority rule', () => {
			const { items } = resolveChanges(
				input([change('c1', { ...ada, phone: 'c', city: 'c' })], [change('E1', { ...ada, phone: 'e', city: 'e' })], [linkedAda]),
				resolverOptions({ priority: 'x', fieldRules: { phone: { kind: 'priority', side: 'y' } } }),
			);

			const toY = only(items, 'applyToY');
			expect(toY.record).toEqual({ ...ada, phone: 'e', city: 'c' });
			expect(toY.meta.resolution?.phone.reason).toBe('changed in both to different values; the rule for phone prefers erp');
		});

		it('hands a true conflict to the custom rule with local, remote and base values', () => {
			const seen: unknown[] = [];
			const { items } = resolveChanges(
				input([change('c1', { ...ada, phone: '7' })], [change('E1', { ...ada, phone: '9' })], [linkedAda]),
				resolverOptions({
					fieldRules: { phone: { kind: 'custom', expression: '{{ max }}' } },
					evaluateCustom: (request) => {
						seen.push(request);
						return String(Math.max(Number(request.local), Number(request.remote)) + 1);
					},
				}),
			);

			expect(seen).toEqual([{ field: 'phone', expression: '{{ max }}', local: '9', remote: '7', base: '1', xIndex: 0, yIndex: 0 }]);
			expect(only(items, 'applyToY').record.phone).toBe('10');
			expect(only(items, 'applyToX').record.phone).toBe('10');
			expect(only(items, 'applyToY').meta.resolution?.phone).toEqual({
				winner: 'custom',
				strategy: 'custom',
				reason: 'changed in both to different values; the custom rule computed a new value',
			});
		});

		it('reports a custom rule that returns nothing as a failure of that record only', () => {
			const result = resolveChanges(
				input(
					[change('c1', { ...ada, phone: '7' }), change('c2', { name: 'Bob', phone: '5' })],
					[change('E1', { ...ada, phone: '9' })],
					[linkedAda],
				),
				resolverOptions({ fieldRules: { phone: { kind: 'custom', expression: '{{ $nothing }}' } }, evaluateCustom: () => undefined }),
			);

			expect(result.failures).toHaveLength(1);
			expect(sourceIndexes(result.failures[0].from)).toEqual({ x: [0], y: [0] });
			const error = result.failures[0].error;
			expect(isSyncError(error) && error.message).toBe('The custom rule for field "phone" returned no value');
			expect(only(result.items, 'applyToY').meta.target).toEqual({ system: ERP, key: null, op: 'create' });
		});
	});

	describe('creates and first-time matching', () => {
		it('creates a record new in X in Y, with no Y key yet', () => {
			const { items } = resolveChanges(input([change('c9', { name: 'Bob' }, { op: 'create', hash: 'h9' })], []), resolverOptions());

			const create = only(items, 'applyToY');
			expect(create.record).toEqual({ name: 'Bob' });
			expect(create.meta).toMatchObject({ system: CRM, key: 'c9', op: 'create', hash: 'h9', keys: { crm: 'c9' }, target: { system: ERP, key: null, op: 'create' } });
			expect(create.meta.entityId).toBeUndefined();
		});

		it('creates a record new in Y in X', () => {
			const { items } = resolveChanges(input([], [change('E7', { name: 'Eve', id: 'E7' }, { op: 'create' })]), resolverOptions({ keyFields: { y: 'id' } }));

			const create = only(items, 'applyToX');
			expect(create.record).toEqual({ name: 'Eve' });
			expect(create.meta).toMatchObject({ system: ERP, key: 'E7', target: { system: CRM, key: null, op: 'create' } });
		});

		it('pairs unlinked records on a normalised match key and names both keys so Commit links them', () => {
			const { items } = resolveChanges(
				input(
					[change('c1', { name: 'Ada', email: ' ADA@Example.com ' }, { op: 'create' })],
					[change('E1', { name: 'Ada', email: 'ada@example.com', id: 'E1' }, { op: 'create' })],
				),
				resolverOptions({ match: { fields: ['email'], ignoreCaseAndSpaces: true }, keyFields: { y: 'id' }, priority: 'y' }),
			);

			const link = only(items, 'applyToY');
			expect(link.meta).toMatchObject({ system: CRM, key: 'c1', keys: { crm: 'c1', erp: 'E1' }, target: { system: ERP, key: 'E1', op: 'update' } });
			expect(link.record).toEqual({ id: 'E1', name: 'Ada', email: 'ada@example.com' });
			// The emails differ in spelling: that is a true conflict, settled by the priority (erp), so the CRM is updated too.
			expect(only(items, 'applyToX').record.email).toBe('ada@example.com');
		});

		it('writes Y once for a first match even when both records are equal, so the link is committed', () => {
			const { items } = resolveChanges(
				input([change('c1', { email: 'a@x.io' }, { op: 'create' })], [change('E1', { email: 'a@x.io' }, { op: 'create' })]),
				resolverOptions({ match: { fields: ['email'], ignoreCaseAndSpaces: false }, sendOnlyChangedFields: true, keyFields: { y: 'id' } }),
			);

			expect(items).toHaveLength(1);
			expect(only(items, 'applyToY').record).toEqual({ id: 'E1' });
		});

		it('does not match when case and spaces must be equal and they differ', () => {
			const { items } = resolveChanges(
				input([change('c1', { email: 'A@x.io' }, { op: 'create' })], [change('E1', { email: 'a@x.io' }, { op: 'create' })]),
				resolverOptions({ match: { fields: ['email'], ignoreCaseAndSpaces: false } }),
			);

			expect(byOutput(items, 'applyToY')[0].meta.target?.op).toBe('create');
			expect(byOutput(items, 'applyToX')[0].meta.target?.op).toBe('create');
		});

		it('sends an ambiguous match (one record matching two) to Needs Review instead of guessing', () => {
			const { items } = resolveChanges(
				input(
					[change('c1', { email: 'a@x.io' }, { op: 'create' })],
					[change('E1', { email: 'a@x.io' }, { op: 'create' }), change('E2', { email: 'A@X.IO' }, { op: 'create' })],
				),
				resolverOptions({ match: { fields: ['email'], ignoreCaseAndSpaces: true } }),
			);

			const review = only(items, 'review');
			expect(items).toHaveLength(1);
			expect(sourceIndexes(review.from)).toEqual({ x: [0], y: [0, 1] });
			expect(review.review?.candidates).toEqual({ crm: ['c1'], erp: ['E1', 'E2'] });
			expect(review.meta.reason).toBe('ambiguous match');
		});

		it('never pairs records whose match field is empty', () => {
			const { items } = resolveChanges(
				input([change('c1', { email: '' }, { op: 'create' })], [change('E1', { email: ' ' }, { op: 'create' })]),
				resolverOptions({ match: { fields: ['email'], ignoreCaseAndSpaces: true } }),
			);

			expect(items.map((item) => item.meta.target?.op)).toEqual(['create', 'create']);
		});

		it('does not match a record that is already linked to a live counterpart', () => {
			const { items } = resolveChanges(
				input([], [change('E2', { ...ada }, { op: 'create' })], [linkedAda]),
				resolverOptions({ match: { fields: ['email'], ignoreCaseAndSpaces: true } }),
			);

			expect(only(items, 'applyToX').meta.target).toEqual({ system: CRM, key: null, op: 'create' });
		});
	});

	describe('deletes', () => {
		const deleted = () => change('c1', {}, { op: 'delete', hash: 'gone' });

		it('propagates a delete to the other side', () => {
			const { items } = resolveChanges(input([deleted()], [], [linkedAda]), resolverOptions({ keyFields: { y: 'id' } }));

			const remove = only(items, 'applyToY');
			expect(remove.meta).toMatchObject({ system: CRM, key: 'c1', op: 'delete', target: { system: ERP, key: 'E1', op: 'delete' } });
			expect(remove.record).toEqual({ id: 'E1', ...ada });
			expect(remove.meta.resolution?.['*']).toEqual({ winner: CRM, strategy: 'deletePolicy', reason: 'deleted in crm; the delete is applied to erp' });
		});

		it('archives instead of deleting when the policy says so', () => {
			const { items } = resolveChanges(
				input([deleted()], [], [linkedAda]),
				resolverOptions({ deletes: { x: 'archive', y: 'propagate' }, archive: { field: 'active', value: false }, sendOnlyChangedFields: true }),
			);

			const archive = only(items, 'applyToY');
			expect(archive.record).toEqual({ active: false });
			expect(archive.meta).toMatchObject({ op: 'delete', target: { system: ERP, key: 'E1', op: 'update' }, changedFields: ['active'] });
		});

		it('holds a delete for a person to confirm', () => {
			const { items } = resolveChanges(input([deleted()], [], [linkedAda]), resolverOptions({ deletes: { x: 'hold', y: 'propagate' } }));

			const review = only(items, 'review');
			expect(review.meta.reason).toBe('delete held');
			expect(review.review).toMatchObject({ x: null, base: ada, reason: 'deleted in crm; deletes from crm wait for a person to confirm them' });
		});

		it('ignores a delete when the policy says so', () => {
			const { items } = resolveChanges(input([deleted()], [], [linkedAda]), resolverOptions({ deletes: { x: 'ignore', y: 'propagate' } }));

			expect(only(items, 'noChange').meta).toMatchObject({ op: 'none', reason: 'delete ignored' });
		});

		it('treats the delete of a record the other side never had as a no-op', () => {
			const { items } = resolveChanges(input([change('c5', {}, { op: 'delete' })], []), resolverOptions());

			expect(only(items, 'noChange').meta.resolution?.['*'].reason).toBe('deleted in crm; erp never had this record');
		});

		it('recreates the record where it was deleted when the other side updated it and updates win', () => {
			const { items } = resolveChanges(input([deleted()], [change('E1', { ...ada, city: 'Rome' })], [linkedAda]), resolverOptions());

			const recreate = only(items, 'applyToX');
			expect(recreate.record).toEqual({ ...ada, city: 'Rome' });
			expect(recreate.meta).toMatchObject({ system: ERP, key: 'E1', target: { system: CRM, key: null, op: 'create' } });
			// The deleted CRM key must not address the new record.
			expect(recreate.meta.keys).toEqual({ erp: 'E1' });
			expect(sourceIndexes(recreate.from)).toEqual({ x: [0], y: [0] });
		});

		it('names the key a re-creation replaces, in either direction, so Commit can relink the entity', () => {
			const fromCrm = resolveChanges(input([deleted()], [change('E1', { ...ada, city: 'Rome' })], [linkedAda]), resolverOptions());
			expect(only(fromCrm.items, 'applyToX').meta).toMatchObject({ target: { system: CRM, key: null, op: 'create' }, replacesKey: 'c1' });

			const fromErp = resolveChanges(
				input([change('c1', { ...ada, phone: '9' })], [change('E1', {}, { op: 'delete' })], [linkedAda]),
				resolverOptions(),
			);
			expect(only(fromErp.items, 'applyToY').meta).toMatchObject({ target: { system: ERP, key: null, op: 'create' }, replacesKey: 'E1' });
		});

		it('names no replaced key for a record that is new on the other side', () => {
			const { items } = resolveChanges(input([change('c9', ada, { op: 'create' })], []), resolverOptions());

			expect(only(items, 'applyToY').meta.replacesKey).toBeUndefined();
		});

		it('applies the delete over a concurrent update when deletes win', () => {
			const { items } = resolveChanges(
				input([deleted()], [change('E1', { ...ada, city: 'Rome' })], [linkedAda]),
				resolverOptions({ updateVersusDelete: 'deleteWins' }),
			);

			const remove = only(items, 'applyToY');
			expect(remove.meta.target).toEqual({ system: ERP, key: 'E1', op: 'delete' });
			expect(remove.meta.resolution?.['*'].reason).toBe('erp changed it too, but the delete wins; deleted in crm; the delete is applied to erp');
		});

		it('does not bring back a record deleted earlier when deletes win', () => {
			const gone = entity({ entityId: 'e1', crm: 'c1', erp: 'E1', erpDeleted: true });
			const { items } = resolveChanges(input([change('c1', ada)], [], [gone]), resolverOptions({ updateVersusDelete: 'deleteWins' }));

			expect(only(items, 'noChange').meta.reason).toBe('delete wins');
		});

		it('reports a record deleted on both sides as no change', () => {
			const { items } = resolveChanges(input([deleted()], [change('E1', {}, { op: 'delete' })], [linkedAda]), resolverOptions());

			expect(sourceIndexes(only(items, 'noChange').from)).toEqual({ x: [0], y: [0] });
		});
	});

	describe('records sent to the writes', () => {
		it('sends only the changed fields, plus the key the write node needs', () => {
			const { items } = resolveChanges(
				input([change('c1', { ...ada, phone: '2' })], [], [linkedAda]),
				resolverOptions({ sendOnlyChangedFields: true, keyFields: { y: 'id' } }),
			);

			expect(only(items, 'applyToY').record).toEqual({ id: 'E1', phone: '2' });
		});

		it('marks a partial update for Commit, and neither a full update nor a create', () => {
			const changes = () => input([change('c1', { ...ada, phone: '2' }), change('c9', ada, { op: 'create' })], [], [linkedAda]);

			const partial = resolveChanges(changes(), resolverOptions({ sendOnlyChangedFields: true }));
			expect(byOutput(partial.items, 'applyToY').map((item) => [item.meta.target?.op, item.meta.partial])).toEqual([
				['update', true],
				['create', undefined],
			]);

			const full = resolveChanges(changes(), resolverOptions());
			expect(byOutput(full.items, 'applyToY').map((item) => item.meta.partial)).toEqual([undefined, undefined]);
		});

		it('leaves timestamp, key and ignored fields out of the merge', () => {
			const { items } = resolveChanges(
				input([change('c1', { ...ada, phone: '2', modifiedAt: 'x', id: 'zz', note: 'n' })], [], [linkedAda]),
				resolverOptions({ timestampFields: ['modifiedAt'], keyFields: { y: 'id' }, ignoreFields: ['note'] }),
			);

			expect(only(items, 'applyToY').record).toEqual({ id: 'E1', ...ada, phone: '2' });
		});

		it('merges only the configured fields when a field list is given', () => {
			const { items } = resolveChanges(
				input([change('c1', { ...ada, phone: '2', city: 'Rome' })], [], [linkedAda]),
				resolverOptions({ compareFields: ['phone'] }),
			);

			expect(only(items, 'applyToY').record).toEqual({ phone: '2' });
		});
	});

	describe('cursors', () => {
		it("carries each side's cursor on the items that name that side's change, for Set Cursor after Commit", () => {
			const both = resolveChanges(
				input([change('c1', { ...ada, phone: '2' }, { cursor: 'crm-7' })], [change('E1', { ...ada, city: 'Paris' }, { cursor: 'erp-3' })], [linkedAda]),
				resolverOptions(),
			);
			// Both sides are written: each op names its own target, and so that side's cursor.
			expect(only(both.items, 'applyToY').meta).toMatchObject({ system: ERP, cursor: 'erp-3' });
			expect(only(both.items, 'applyToX').meta).toMatchObject({ system: CRM, cursor: 'crm-7' });

			const oneSided = resolveChanges(input([change('c1', { ...ada, phone: '2' }, { cursor: 'crm-7' })], [], [linkedAda]), resolverOptions());
			expect(only(oneSided.items, 'applyToY').meta).toMatchObject({ system: CRM, cursor: 'crm-7' });

			const inSync = resolveChanges(input([change('c1', ada, { cursor: 'crm-8' })], [], [linkedAda]), resolverOptions());
			expect(only(inSync.items, 'noChange').meta.cursor).toBe('crm-8');
		});
	});

	describe('bookkeeping', () => {
		it('collapses a record sent twice with the same content', () => {
			const { items } = resolveChanges(input([change('c1', { ...ada, phone: '2' }), change('c1', { ...ada, phone: '2' })], [], [linkedAda]), resolverOptions());

			expect(sourceIndexes(only(items, 'applyToY').from)).toEqual({ x: [0, 1], y: [] });
		});

		it('sends a record sent twice with different content to Needs Review', () => {
			const { items } = resolveChanges(input([change('c1', { ...ada, phone: '2' }), change('c1', { ...ada, phone: '3' })], [], [linkedAda]), resolverOptions());

			expect(only(items, 'review').meta.reason).toBe('duplicate');
		});

		it('accounts for every input item in at least one output', () => {
			const entities = [linkedAda, entity({ entityId: 'e2', crm: 'c2', erp: 'E2', base: { name: 'Bo' } })];
			const x = [change('c1', { ...ada, phone: '3' }), change('c2', {}, { op: 'delete' }), change('c3', { name: 'New' }, { op: 'create' })];
			const y = [change('E1', { ...ada, phone: '4' }), change('E9', { name: 'Nine' }, { op: 'create' })];
			const { items } = resolveChanges(input(x, y, entities), resolverOptions({ tie: 'manual' }));

			const seen = { x: new Set(items.flatMap((item) => sourceIndexes(item.from).x)), y: new Set(items.flatMap((item) => sourceIndexes(item.from).y)) };
			expect([...seen.x].sort()).toEqual([0, 1, 2]);
			expect([...seen.y].sort()).toEqual([0, 1]);
		});

		it('pairs a Y change with the X change of its entity when the Y key was deleted before and comes back', () => {
			const tombstoned = entity({ entityId: 'e1', crm: 'c1', erp: 'E1', erpDeleted: true });
			const { items } = resolveChanges(
				input([change('c1', { ...ada, phone: '2' })], [change('E1', { ...ada, city: 'Paris' }, { op: 'create' })], [tombstoned]),
				resolverOptions(),
			);

			expect(items.length).toBeGreaterThan(0);
			for (const item of items) expect(sourceIndexes(item.from)).toEqual({ x: [0], y: [0] });
		});

		it('names the changed fields of records with more fields than a bit mask holds', () => {
			const wide = Object.fromEntries(Array.from({ length: 40 }, (_, index) => [`f${index}`, `v${index}`]));
			const linkedWide = entity({ entityId: 'e1', crm: 'c1', erp: 'E1', base: wide });
			const { items } = resolveChanges(
				input([change('c1', { ...wide, f3: 'x3', f35: 'x35' })], [change('E1', { ...wide, f39: 'y39' })], [linkedWide]),
				resolverOptions(),
			);

			expect(only(items, 'applyToY').meta.changedFields).toEqual(['f3', 'f35']);
			expect(only(items, 'applyToX').meta.changedFields).toEqual(['f39']);
		});

		it('leaves nothing of a failed merge in the changed fields of the next record', () => {
			const bob = { name: 'Bob', email: 'bob@example.com', phone: '5', city: 'Oslo' };
			const linkedBob = entity({ entityId: 'e2', crm: 'c2', erp: 'E2', base: bob });
			const result = resolveChanges(
				input(
					[change('c1', { ...ada, name: 'Ada L', phone: '7' }), change('c2', { ...bob, city: 'Bergen' })],
					[change('E1', { ...ada, phone: '9' })],
					[linkedAda, linkedBob],
				),
				resolverOptions({ fieldRules: { phone: { kind: 'custom', expression: '{{ $nothing }}' } }, evaluateCustom: () => undefined }),
			);

			expect(result.failures).toHaveLength(1);
			expect(only(result.items, 'applyToY').meta.changedFields).toEqual(['city']);
		});

		it("answers Y's keys from the entities found for X, deleted ones too, and leaves the rest to look up", () => {
			const deletedInErp = entity({ entityId: 'e2', crm: 'c2', erp: 'E2', erpDeleted: true });
			const crmOnly = entity({ entityId: 'e3', crm: 'c3' });
			const knownX = knownFrom([linkedAda, deletedInErp, crmOnly]).x;

			const { known, missing } = knownThroughX(knownX, ERP, ['E1', 'E2', 'E9']);

			expect([...known.entries()]).toEqual([
				['E1', linkedAda],
				['E2', deletedInErp],
			]);
			expect(missing).toEqual(['E9']);
		});

		it('refuses the same name for both systems with a hint', () => {
			expect(() => resolveChanges(input([], []), resolverOptions({ systems: { x: 'crm', y: 'crm' } }))).toThrow('System X and System Y are both "crm"');
		});
	});
});
