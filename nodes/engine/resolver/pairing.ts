import type { EntityState } from '../store/SyncStore';
import type { ResolveInput, ResolverOptions, Side, SideChange } from './types';
import { matchKeyOf } from './values';

/** The empty change list groups start with; frozen, since groups share it. */
const NONE = Object.freeze([]) as unknown as SideChange[];

/** The items of both sides that concern one entity (or one record not linked yet). */
export interface Group {
	/** Position of the group's first item, so outputs follow the input order. */
	order: number;
	entity?: EntityState;
	x: SideChange[];
	y: SideChange[];
	/** Paired on the match key: the records are not linked yet, and Commit will link them. */
	firstMatch: boolean;
	/** Set when the match key paired one record with several: a person must decide. */
	ambiguous?: { reason: string; candidates: Record<string, string[]> };
}

/** The record's live key in `system`, ignoring a tombstoned one. */
export function liveKey(entity: EntityState | undefined, system: string): string | undefined {
	const state = entity?.systems[system];
	return state && state.deletedAt === null ? state.key : undefined;
}

/**
 * Y's keys that the store's look-up of X's keys already answered: an entity found for X holds its
 * record in Y too, and a key of a system belongs to one entity only. The node looks up only the
 * rest, so a pair's entity is read from the store once, not once per side.
 */
export function knownThroughX(knownX: ReadonlyMap<string, EntityState>, systemY: string, yKeys: Iterable<string>): { known: Map<string, EntityState>; missing: string[] } {
	const byYKey = new Map<string, EntityState>();
	for (const entity of knownX.values()) {
		const state = entity.systems[systemY];
		if (state) byYKey.set(state.key, entity);
	}
	const known = new Map<string, EntityState>();
	const missing: string[] = [];
	for (const key of yKeys) {
		const entity = byYKey.get(key);
		if (entity) known.set(key, entity);
		else missing.push(key);
	}
	return { known, missing };
}

/** A new group holding one change. One literal shape for both sides, so every group shares it. */
function groupOf(order: number, entity: EntityState | undefined, side: Side, change: SideChange): Group {
	return side === 'x'
		? { order, entity, x: [change], y: NONE, firstMatch: false }
		: { order, entity, x: NONE, y: [change], firstMatch: false };
}

function addChange(group: Group, side: Side, change: SideChange): void {
	// A literal holds one change in exactly its size; push would reserve room for 17.
	if (group[side].length === 0) group[side] = [change];
	else group[side].push(change);
}

/**
 * Pairs the two sides in linear time: first through the links, then, for records with no
 * counterpart linked, on the match key (one hash map over those records).
 * Through the links, an X change is filed under its entity's live key in Y, so the Y change with
 * that key finds it in one lookup; it is the same entity, since a key of a system belongs to one
 * entity only. Other linked changes (the Y key is tombstoned, or the Y change has no X change)
 * meet under the entity id.
 */
export function pairChanges(input: ResolveInput, options: ResolverOptions): Group[] {
	const systemY = options.systems.y;
	const all: Group[] = [];
	const byLiveYKey = new Map<string, Group>();
	const byEntity = new Map<string, Group>();
	const unlinked: Record<Side, Map<string, Group>> = { x: new Map(), y: new Map() };
	const file = (index: Map<string, Group>, id: string, entity: EntityState | undefined, side: Side, change: SideChange): void => {
		const group = index.get(id);
		if (group) {
			addChange(group, side, change);
			return;
		}
		const created = groupOf(all.length, entity, side, change);
		index.set(id, created);
		all.push(created);
	};
	for (let i = 0; i < input.x.length; i++) {
		const change = input.x[i];
		const entity = input.known.x.get(change.key);
		if (!entity) {
			file(unlinked.x, change.key, undefined, 'x', change);
			continue;
		}
		const yKey = liveKey(entity, systemY);
		if (yKey !== undefined) file(byLiveYKey, yKey, entity, 'x', change);
		else file(byEntity, entity.entityId, entity, 'x', change);
	}
	for (let i = 0; i < input.y.length; i++) {
		const change = input.y[i];
		const paired = byLiveYKey.get(change.key);
		if (paired) {
			addChange(paired, 'y', change);
			continue;
		}
		const entity = input.known.y.get(change.key);
		if (entity) file(byEntity, entity.entityId, entity, 'y', change);
		else file(unlinked.y, change.key, undefined, 'y', change);
	}

	if (!options.match || options.match.fields.length === 0) return all;
	return matchUnlinked(all, options);
}

type Candidates = { x: Group[]; y: Group[] };

function matchUnlinked(groups: Group[], options: ResolverOptions): Group[] {
	const { fields, ignoreCaseAndSpaces } = options.match!;
	const { x: systemX, y: systemY } = options.systems;
	const byMatchKey = new Map<string, Candidates>();
	for (const group of groups) {
		const side = candidateSide(group, systemX, systemY);
		if (!side) continue;
		const matchKey = matchKeyOf(group[side][0].record, fields, ignoreCaseAndSpaces);
		if (matchKey === undefined) continue;
		let candidates = byMatchKey.get(matchKey);
		if (!candidates) {
			candidates = { x: [], y: [] };
			byMatchKey.set(matchKey, candidates);
		}
		candidates[side].push(group);
	}

	const replaced = new Map<Group, Group | null>();
	for (const candidates of byMatchKey.values()) {
		if (candidates.x.length === 0 || candidates.y.length === 0) continue;
		const involved = [...candidates.x, ...candidates.y].sort((a, b) => a.order - b.order);
		const [xGroup] = candidates.x;
		const [yGroup] = candidates.y;
		const bothLinkedApart =
			xGroup.entity !== undefined && yGroup.entity !== undefined && xGroup.entity.entityId !== yGroup.entity.entityId;
		let merged: Group;
		if (candidates.x.length === 1 && candidates.y.length === 1 && !bothLinkedApart) {
			merged = { order: involved[0].order, entity: xGroup.entity ?? yGroup.entity, x: xGroup.x, y: yGroup.y, firstMatch: true };
		} else {
			merged = {
				order: involved[0].order,
				x: candidates.x.flatMap((group) => group.x),
				y: candidates.y.flatMap((group) => group.y),
				firstMatch: false,
				ambiguous: {
					reason: bothLinkedApart
						? `The match key pairs ${systemX} record "${xGroup.x[0].key}" with ${systemY} record "${yGroup.y[0].key}", but each is already linked to a different entity`
						: `The match key pairs ${candidates.x.length} ${systemX} record(s) with ${candidates.y.length} ${systemY} record(s); a match must be one to one`,
					candidates: {
						[systemX]: [...new Set(candidates.x.map((group) => group.x[0].key))].sort(),
						[systemY]: [...new Set(candidates.y.map((group) => group.y[0].key))].sort(),
					},
				},
			};
		}
		replaced.set(involved[0], merged);
		for (const group of involved.slice(1)) replaced.set(group, null);
	}
	if (replaced.size === 0) return groups;
	const result: Group[] = [];
	for (const group of groups) {
		const replacement = replaced.get(group);
		if (replacement === undefined) result.push(group);
		else if (replacement !== null) result.push(replacement);
	}
	return result;
}

/** A group is a match candidate when one side is present, is not a delete, and has no live counterpart. */
function candidateSide(group: Group, systemX: string, systemY: string): Side | undefined {
	if (group.x.length > 0 && group.y.length === 0) {
		if (group.x[0].op === 'delete' || liveKey(group.entity, systemY) !== undefined) return undefined;
		return 'x';
	}
	if (group.y.length > 0 && group.x.length === 0) {
		if (group.y[0].op === 'delete' || liveKey(group.entity, systemX) !== undefined) return undefined;
		return 'y';
	}
	return undefined;
}
