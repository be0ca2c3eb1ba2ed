import type { ResolveInput, ResolverOptions, SideChange } from '../../nodes/engine/resolver';
import type { EntityState, RecordState } from '../../nodes/engine/store/SyncStore';
import type { JsonObject } from '../../nodes/engine/types';

/** Shared fixtures of the resolver's engine tests: a CRM (system X) syncing into an ERP (system Y). */

export const CRM = 'crm';
export const ERP = 'erp';

export function resolverOptions(overrides: Partial<ResolverOptions> = {}): ResolverOptions {
	return {
		syncId: 'contacts',
		systems: { x: CRM, y: ERP },
		strategy: 'merge',
		tie: 'priority',
		priority: 'x',
		clockSkewMs: 1000,
		fieldRules: {},
		deletes: { x: 'propagate', y: 'propagate' },
		archive: { field: 'archived', value: true },
		updateVersusDelete: 'updateWins',
		ignoreFields: [],
		timestampFields: [],
		keyFields: {},
		sendOnlyChangedFields: false,
		...overrides,
	};
}

function recordState(system: string, key: string, base: JsonObject | null, deleted: boolean): RecordState {
	return {
		system,
		key,
		seenHash: null,
		writtenHash: null,
		base,
		deletedAt: deleted ? '2024-01-01T00:00:00.000Z' : null,
		version: 1,
		updatedAt: '2024-01-01T00:00:00.000Z',
	};
}

export interface LinkSpec {
	entityId: string;
	crm?: string;
	erp?: string;
	/** ERP's base: the last synced version in ERP's schema. */
	base?: JsonObject | null;
	crmDeleted?: boolean;
	erpDeleted?: boolean;
}

export function entity(spec: LinkSpec): EntityState {
	const systems: Record<string, RecordState> = {};
	if (spec.crm) systems[CRM] = recordState(CRM, spec.crm, null, spec.crmDeleted ?? false);
	if (spec.erp) systems[ERP] = recordState(ERP, spec.erp, spec.erpDeleted ? null : (spec.base ?? null), spec.erpDeleted ?? false);
	return { entityId: spec.entityId, systems };
}

/** The store's view of the given entities, by each side's key. */
export function knownFrom(entities: EntityState[]): ResolveInput['known'] {
	const known: ResolveInput['known'] = { x: new Map(), y: new Map() };
	for (const state of entities) {
		if (state.systems[CRM]) known.x.set(state.systems[CRM].key, state);
		if (state.systems[ERP]) known.y.set(state.systems[ERP].key, state);
	}
	return known;
}

let nextIndex = 0;

/** A change as an input item would carry it; indexes count up unless given. */
export function change(key: string, record: JsonObject, extra: Partial<SideChange> = {}): SideChange {
	return { index: nextIndex++, key, op: 'update', record, ...extra };
}

export function input(x: SideChange[], y: SideChange[], entities: EntityState[] = []): ResolveInput {
	const reindex = (changes: SideChange[]) => changes.map((item, index) => ({ ...item, index }));
	return { x: reindex(x), y: reindex(y), known: knownFrom(entities) };
}
