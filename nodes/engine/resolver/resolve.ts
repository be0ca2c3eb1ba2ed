import { SyncError } from '../errors';
import { canonicalJson } from '../hash';
import type { EntityState } from '../store/SyncStore';
import type { JsonObject, SyncMeta, SyncOp } from '../types';
import { FieldLists, VersionReader, readField, type FieldList } from './fields';
import { MergeSettings, mergeVersions } from './merge';
import { liveKey, pairChanges, type Group } from './pairing';
import {
	SIDES,
	type FailedGroup,
	type Resolution,
	type ResolvedItem,
	type ResolveInput,
	type ResolveResult,
	type ResolverOptions,
	type ReviewDetails,
	type Side,
	type SideChange,
	type Sources,
} from './types';
import { fieldOf, pickFields, sameValue } from './values';

const OTHER: Record<Side, Side> = { x: 'y', y: 'x' };
const WHOLE_RECORD = '*';

/**
 * Decides, for every change of both sides, what each system should hold, and emits the ops that
 * get them there. Pure: the node reads the store and the items, and shapes the outputs.
 * Every input item is accounted for by at least one output item (or by a failure).
 */
export function resolveChanges(input: ResolveInput, options: ResolverOptions): ResolveResult {
	validateOptions(options);
	const context = new ResolveContext(options);
	const items: ResolvedItem[] = [];
	const failures: FailedGroup[] = [];
	const groups = pairChanges(input, options);
	// Indexed loops on the hot paths: an array iterator costs an allocation per step until V8 optimises it away.
	for (let i = 0; i < groups.length; i++) {
		const group = groups[i];
		try {
			context.decide(group, items);
		} catch (error) {
			failures.push({ error, from: group });
		}
	}
	return { items, failures };
}

function validateOptions(options: ResolverOptions): void {
	if (options.systems.x === options.systems.y) {
		throw new SyncError(
			'INVALID_INPUT',
			`System X and System Y are both "${options.systems.x}"`,
			'Give the two systems of the sync different names, e.g. "crm" for the changes on input 1 and "erp" for the system they are applied to.',
		);
	}
	if (!Number.isFinite(options.clockSkewMs) || options.clockSkewMs < 0) {
		throw new SyncError('INVALID_INPUT', 'The clock-skew tolerance must be zero or more milliseconds', 'Set Clock Skew Tolerance to 0 or a positive number of milliseconds.');
	}
}

function withoutKey(keys: Record<string, string> | undefined, system: string): Record<string, string> {
	if (!keys || !(system in keys)) return keys ?? {};
	const { [system]: _dropped, ...rest } = keys;
	return rest;
}

/** The cursor of the change an item names, so Set Cursor after Commit can read it from `_sync.cursor`. */
function cursorOf(change: SideChange | undefined): Pick<SyncMeta, 'cursor'> {
	return change?.cursor !== undefined ? { cursor: change.cursor } : {};
}

/** The positions, in their inputs, of the items an output accounts for. */
export function sourceIndexes(from: Sources): Record<Side, number[]> {
	return { x: from.x.map((change) => change.index), y: from.y.map((change) => change.index) };
}

/** What one group's decision needs to know about it. */
interface Situation {
	group: Group;
	entity?: EntityState;
	x?: SideChange;
	y?: SideChange;
	keys: Partial<Record<Side, string>>;
	base: JsonObject | null;
	from: Sources;
	link?: Pick<SyncMeta, 'entityId' | 'keys'>;
}

class ResolveContext {
	private readonly fieldLists: FieldLists;
	private readonly versions: VersionReader;
	private readonly mergeSettings: MergeSettings;

	constructor(private readonly options: ResolverOptions) {
		const excluded = new Set([
			...options.ignoreFields,
			...options.timestampFields,
			...Object.values(options.keyFields).filter((field): field is string => Boolean(field)),
		]);
		this.fieldLists = new FieldLists(excluded, options.compareFields);
		this.versions = new VersionReader(this.fieldLists);
		this.mergeSettings = new MergeSettings(options);
	}

	decide(group: Group, out: ResolvedItem[]): void {
		const from: Sources = group;
		if (group.ambiguous) {
			out.push(this.ambiguousMatch(group, from));
			return;
		}
		const duplicate = this.conflictingDuplicates(group, from);
		if (duplicate) {
			out.push(duplicate);
			return;
		}
		const { x: systemX, y: systemY } = this.options.systems;
		const x = group.x[0];
		const y = group.y[0];
		const situation: Situation = {
			group,
			entity: group.entity,
			x,
			y,
			keys: {
				x: x?.key ?? liveKey(group.entity, systemX),
				y: y?.key ?? liveKey(group.entity, systemY),
			},
			base: group.entity?.systems[systemY]?.base ?? null,
			from,
		};
		if (x?.op === 'delete' || y?.op === 'delete') this.decideDelete(situation, out);
		else this.decideUpdate(situation, out);
	}

	private ambiguousMatch(group: Group, from: Sources): ResolvedItem {
		const first = group.x[0] ?? group.y[0];
		const side: Side = group.x[0] ? 'x' : 'y';
		const { reason, candidates } = group.ambiguous!;
		return this.reviewItem(
			first.record,
			{ system: this.options.systems[side], key: first.key, op: first.op, reason: 'ambiguous match', ...cursorOf(first) },
			{ [WHOLE_RECORD]: { winner: 'none', strategy: 'match', reason } },
			{ reason, conflictingFields: [], x: group.x[0]?.record ?? null, y: group.y[0]?.record ?? null, base: null, candidates },
			from,
		);
	}

	/** One record sent twice in one run with different content cannot be settled by a guess. */
	private conflictingDuplicates(group: Group, from: Sources): ResolvedItem | undefined {
		if (group.x.length < 2 && group.y.length < 2) return undefined;
		for (const side of SIDES) {
			const changes = group[side];
			if (changes.length < 2) continue;
			const first = `${changes[0].op}\u0000${canonicalJson(changes[0].record)}`;
			if (changes.every((change) => `${change.op}\u0000${canonicalJson(change.record)}` === first)) continue;
			const system = this.options.systems[side];
			const reason = `${system} sent ${changes.length} different versions of record "${changes[0].key}" in one run`;
			return this.reviewItem(
				changes[0].record,
				{ system, key: changes[0].key, op: changes[0].op, reason: 'duplicate', ...cursorOf(changes[0]) },
				{ [WHOLE_RECORD]: { winner: 'none', strategy: 'manual', reason } },
				{
					reason,
					conflictingFields: [],
					x: group.x[0]?.record ?? null,
					y: group.y[0]?.record ?? null,
					base: group.entity?.systems[this.options.systems.y]?.base ?? null,
				},
				from,
			);
		}
		return undefined;
	}

	private decideDelete(s: Situation, out: ResolvedItem[]): void {
		const names = this.options.systems;
		if (s.x?.op === 'delete' && s.y?.op === 'delete') {
			out.push(this.noChange(s, 'x', 'deleted in both', { winner: 'both', strategy: 'deletePolicy', reason: `deleted in both ${names.x} and ${names.y}` }));
			return;
		}
		const deleter: Side = s.x?.op === 'delete' ? 'x' : 'y';
		const other = OTHER[deleter];
		const otherChange = s[other];
		if (!otherChange && s.keys[other] === undefined) {
			const tombstoned = s.entity?.systems[names[other]] !== undefined;
			out.push(
				this.noChange(s, deleter, tombstoned ? 'already deleted' : 'never had', {
					winner: names[deleter],
					strategy: 'deletePolicy',
					reason: tombstoned
						? `deleted in ${names[deleter]}; already deleted in ${names[other]}`
						: `deleted in ${names[deleter]}; ${names[other]} never had this record`,
				}),
			);
			return;
		}
		// The fields to merge: the configured ones, or X's and the base's (Y's alone only for a record new in Y).
		const fields = this.fieldLists.of(s.base, s.base ? undefined : otherChange?.record);
		const otherVersion = this.versionRecord(otherChange, s.base, fields);
		const otherChanged =
			otherChange !== undefined && fields.names.some((field) => !sameValue(fieldOf(otherVersion, field), fieldOf(s.base, field)));
		if (otherChanged && this.options.updateVersusDelete === 'updateWins') {
			// The surviving update brings the record back where it was deleted.
			const resolution: Resolution = {
				[WHOLE_RECORD]: {
					winner: names[other],
					strategy: 'updateVersusDelete',
					reason: `deleted in ${names[deleter]} while ${names[other]} changed it; the update wins, so the record is created again in ${names[deleter]}`,
				},
			};
			out.push(this.applyItem(s, deleter, 'create', otherVersion, Object.keys(otherVersion), resolution, true));
			return;
		}
		const prefix = otherChanged ? `${names[other]} changed it too, but the delete wins; ` : '';
		this.applyDeletePolicy(s, deleter, otherVersion, prefix, out);
	}

	private applyDeletePolicy(s: Situation, deleter: Side, otherVersion: JsonObject, prefix: string, out: ResolvedItem[]): void {
		const names = this.options.systems;
		const other = OTHER[deleter];
		const policy = this.options.deletes[deleter];
		const decided = (reason: string) => ({ winner: names[deleter], strategy: 'deletePolicy', reason: `${prefix}${reason}` });
		switch (policy) {
			case 'propagate': {
				const resolution = { [WHOLE_RECORD]: decided(`deleted in ${names[deleter]}; the delete is applied to ${names[other]}`) };
				out.push(this.applyItem(s, other, 'delete', otherVersion, [], resolution, true));
				return;
			}
			case 'archive': {
				const { field, value } = this.options.archive;
				if (sameValue(fieldOf(otherVersion, field), value)) {
					out.push(this.noChange(s, deleter, 'already archived', decided(`deleted in ${names[deleter]}; already archived in ${names[other]}`)));
					return;
				}
				const archived = { ...otherVersion, [field]: value };
				const resolution = {
					[WHOLE_RECORD]: decided(`deleted in ${names[deleter]}; archived in ${names[other]} (${field} = ${canonicalJson(value)}) instead of deleted`),
				};
				out.push(this.applyItem(s, other, 'update', archived, [field], resolution, true));
				return;
			}
			case 'hold': {
				const reason = `${prefix}deleted in ${names[deleter]}; deletes from ${names[deleter]} wait for a person to confirm them`;
				const change = s[deleter]!;
				out.push(
					this.reviewItem(
						otherVersion,
						{ system: names[deleter], key: change.key, op: 'delete', reason: 'delete held', ...this.linkMeta(s), ...cursorOf(change) },
						{ [WHOLE_RECORD]: { winner: 'none', strategy: 'deletePolicy', reason } },
						{ reason, conflictingFields: [], ...this.reviewVersions(s), [deleter]: null },
						s.from,
					),
				);
				return;
			}
			case 'ignore':
				out.push(this.noChange(s, deleter, 'delete ignored', decided(`deleted in ${names[deleter]}; deletes from ${names[deleter]} are not applied to ${names[other]}`)));
				return;
		}
	}

	private decideUpdate(s: Situation, out: ResolvedItem[]): void {
		const only: Side | undefined = s.x && !s.y ? 'x' : s.y && !s.x ? 'y' : undefined;
		if (only && s.keys[OTHER[only]] === undefined) this.createOnOtherSide(s, only, out);
		else this.merge(s, out);
	}

	/** Only `side` has the record: create it on the other side, unless it was deleted there and deletes win. */
	private createOnOtherSide(s: Situation, side: Side, out: ResolvedItem[]): void {
		const names = this.options.systems;
		const other = OTHER[side];
		const tombstoned = s.entity?.systems[names[other]] !== undefined;
		if (tombstoned && this.options.updateVersusDelete === 'deleteWins') {
			out.push(
				this.noChange(s, side, 'delete wins', {
					winner: names[other],
					strategy: 'updateVersusDelete',
					reason: `changed in ${names[side]}, but it was deleted in ${names[other]} earlier and the delete wins`,
				}),
			);
			return;
		}
		const fields = this.fieldLists.of(s[side]!.record, s.base);
		const record = pickFields(s[side]!.record, fields.names);
		const reason = tombstoned
			? `deleted in ${names[other]} earlier and changed in ${names[side]} since; the update wins, so the record is created again in ${names[other]}`
			: `new in ${names[side]}; created in ${names[other]}`;
		const strategy = tombstoned ? 'updateVersusDelete' : 'merge';
		out.push(this.applyItem(s, other, 'create', record, Object.keys(record), { [WHOLE_RECORD]: { winner: names[side], strategy, reason } }, true));
	}

	private merge(s: Situation, out: ResolvedItem[]): void {
		const names = this.options.systems;
		const fields = this.versions.read(s.x?.record, s.base, s.y?.record);
		const outcome = mergeVersions(
			{ fields, values: this.versions.values, xHasExactlyTheFields: fields.keysOfFirst, x: s.x, y: s.y },
			this.mergeSettings,
		);
		if (outcome.conflicts.length > 0) {
			const reason = `changed in both ${names.x} and ${names.y} to different values: ${outcome.conflicts.join(', ')}`;
			const incoming = s.x ?? s.y!;
			out.push(
				this.reviewItem(
					incoming.record,
					{ system: names[s.x ? 'x' : 'y'], key: incoming.key, op: incoming.op, reason: 'conflict', ...this.linkMeta(s), ...cursorOf(incoming) },
					outcome.resolution,
					{ reason, conflictingFields: outcome.conflicts, ...this.reviewVersions(s, fields.names) },
					s.from,
				),
			);
			return;
		}
		const { y: forY, x: forX } = outcome.differs;
		// A first match always writes Y, so that Commit links the two records.
		const writeY = forY.length > 0 || s.group.firstMatch;
		const writeX = forX.length > 0;
		if (!writeY && !writeX) {
			const anyChange = outcome.changed.x || outcome.changed.y;
			out.push(
				this.noChange(s, s.x ? 'x' : 'y', anyChange ? 'in sync' : 'unchanged', {
					winner: 'both',
					strategy: 'merge',
					reason: anyChange
						? `${names.x} and ${names.y} already hold the same version`
						: 'no tracked field changed since the last sync',
				}, outcome.resolution),
			);
			return;
		}
		// The merged record is this group's own: the last op may carry it instead of a copy.
		if (writeY) out.push(this.applyItem(s, 'y', 'update', outcome.merged, forY, outcome.resolution, !writeX || s.group.firstMatch, !writeX));
		if (writeX) out.push(this.applyItem(s, 'x', 'update', outcome.merged, forX, outcome.resolution, !writeY, true));
	}

	/** The side's record over `fields`, falling back to the base for fields it does not have. */
	private versionRecord(change: SideChange | undefined, base: JsonObject | null, fields: FieldList): JsonObject {
		const version: JsonObject = {};
		fields.names.forEach((field, i) => {
			const own = readField(change?.record, field, fields.guarded[i]);
			const value = own !== undefined ? own : readField(base, field, fields.guarded[i]);
			if (value !== undefined) version[field] = value;
		});
		return version;
	}

	private reviewVersions(s: Situation, fields?: string[]): Pick<ReviewDetails, 'x' | 'y' | 'base'> {
		const trim = (record: JsonObject | null | undefined) => (record ? (fields ? pickFields(record, fields) : record) : null);
		return { x: trim(s.x?.record), y: trim(s.y?.record), base: trim(s.base) };
	}

	/** The entity and the keys known in each system; built once per group and shared by its items. */
	private linkMeta(s: Situation): Pick<SyncMeta, 'entityId' | 'keys'> {
		if (s.link) return s.link;
		const keys: Record<string, string> = {};
		const names = this.options.systems;
		if (s.keys.x !== undefined) keys[names.x] = s.keys.x;
		if (s.keys.y !== undefined) keys[names.y] = s.keys.y;
		s.link = s.entity ? { entityId: s.entity.entityId, keys } : { keys };
		return s.link;
	}

	/**
	 * An op for `target`. When the other side brought a change and gets no op of its own, the
	 * metadata names that change as the source, so Commit remembers both sides; otherwise it names
	 * the target alone, so two commits of one pair never overwrite each other's state.
	 */
	private applyItem(
		s: Situation,
		target: Side,
		op: SyncOp,
		merged: JsonObject,
		changedFields: readonly string[],
		resolution: Resolution,
		nameSource: boolean,
		mayTakeRecord = false,
	): ResolvedItem {
		const names = this.options.systems;
		const source = s[OTHER[target]];
		const targetKey = op === 'create' ? null : (s.keys[target] ?? null);
		const keyField = this.options.keyFields[target];
		// A delete carries the last version unless only changes are sent; it changes no field.
		const partial = op !== 'create' && this.options.sendOnlyChangedFields;
		const fields = partial ? (op === 'delete' ? {} : pickFields(merged, changedFields)) : merged;
		const addKey = Boolean(keyField) && targetKey !== null;
		let record: JsonObject;
		if (mayTakeRecord && !addKey && fields === merged) {
			record = merged;
		} else {
			// A spread clones the record's shape in one step; the key goes on last.
			record = { ...fields };
			if (addKey) record[keyField!] = targetKey!;
		}
		const link = this.linkMeta(s);
		const named = nameSource ? source : undefined;
		// One literal with every field, absent ones undefined (JSON leaves them out): each op's
		// metadata is then one allocation of one shape, not a literal grown field by field.
		const meta: SyncMeta = {
			syncId: this.options.syncId,
			system: named ? names[OTHER[target]] : names[target],
			key: named ? named.key : targetKey,
			op: named ? named.op : op,
			// A create makes a new record: an old key of the target (deleted there) must not address it.
			keys: op === 'create' ? withoutKey(link.keys, names[target]) : link.keys,
			changedFields: op === 'delete' ? [] : changedFields,
			target: { system: names[target], key: targetKey, op },
			resolution,
			entityId: link.entityId,
			hash: named?.hash,
			sourceFields: named?.sourceFields,
			cursor: (named ?? s[target])?.cursor,
			// Commit merges a partial record over the last synced base instead of taking it as the base.
			partial: partial && op === 'update' ? true : undefined,
			// The record comes back where it was deleted while its old key may still be linked: Commit
			// replaces exactly that key, and any other key there still counts as a duplicate.
			replacesKey: op === 'create' ? s.keys[target] : undefined,
		};
		return { output: target === 'y' ? 'applyToY' : 'applyToX', record, meta, from: s.from };
	}

	private noChange(
		s: Situation,
		side: Side,
		reason: string,
		decision: { winner: string; strategy: string; reason: string },
		fieldResolution: Resolution = {},
	): ResolvedItem {
		const change = s[side] ?? s[OTHER[side]]!;
		const system = this.options.systems[s[side] ? side : OTHER[side]];
		const meta: SyncMeta = {
			syncId: this.options.syncId,
			system,
			key: change.key,
			op: 'none',
			reason,
			...(change.hash !== undefined ? { hash: change.hash } : {}),
			...cursorOf(change),
			...this.linkMeta(s),
			resolution: { ...fieldResolution, [WHOLE_RECORD]: decision },
		};
		return { output: 'noChange', record: change.record, meta, from: s.from };
	}

	private reviewItem(
		record: JsonObject,
		meta: Pick<SyncMeta, 'system' | 'key' | 'op' | 'reason' | 'entityId' | 'keys' | 'cursor'>,
		resolution: Resolution,
		review: ReviewDetails,
		from: Sources,
	): ResolvedItem {
		return { output: 'review', record, meta: { syncId: this.options.syncId, ...meta, resolution }, review, from };
	}
}
