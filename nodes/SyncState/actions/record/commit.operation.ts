import get from 'lodash/get';
import {
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import { hashValue } from '../../../engine/hash';
import type { CommitInput, CommitResult, CommitSide, OutboxRef, SyncStore } from '../../../engine/store/SyncStore';
import type { JsonObject, SyncMeta } from '../../../engine/types';
import { toNodeError } from '../../../shared/errors';
import {
	assertSameSync,
	resolveDetectedRecord,
	resolveSyncMeta,
	SYNC_FIELD,
	trackedBySystemDetector,
	trackedContent,
	type DetectedRecord,
	type ResolvedMeta,
} from '../../../shared/syncMeta';
import { forOperations, sourceBase } from '../../helpers/utils';
import { failedItem } from '../../../shared/items';

export const description: INodeProperties[] = forOperations(
	['commit'],
	[
		{
			displayName:
				'Place Commit after the node that wrote the records, so only successful writes are remembered. On the write node, set "On Error" to "Continue (using error output)" and send errors to Record Failure. A Conflict Resolver\'s No Change output may feed a Commit too: it writes nothing, but remembers the versions both sides hold, so they are not reported again.',
			name: 'commitNotice',
			type: 'notice',
			default: '',
		},
		{
			displayName: 'Target Key Field',
			name: 'targetKeyField',
			type: 'string',
			default: 'id',
			required: true,
			placeholder: 'id',
			description:
				"The field of the write node's output that holds the record's ID in the target system. Needed for creates, where the target assigns the ID (e.g. \"id\" for PostgreSQL, \"objectId\" for Parse). Nested paths such as \"data.id\" work.",
		},
	],
);

interface PlannedCommit {
	itemIndex: number;
	resolved: ResolvedMeta;
	input: CommitInput;
	targetKey: string | null;
	targetKeyField: string;
}

/**
 * The target's last synced version of each updated record, read before the commit replaces it:
 * the "before" of the audit trail. One look-up per target system and batch.
 */
async function storedTargetBases(store: SyncStore, syncId: string, planned: PlannedCommit[]): Promise<Map<string, JsonObject>> {
	const keysBySystem = new Map<string, string[]>();
	for (const { resolved, targetKey } of planned) {
		const target = resolved.meta.target;
		if (!target || target.op === 'create' || !targetKey) continue;
		let keys = keysBySystem.get(target.system);
		if (!keys) keysBySystem.set(target.system, (keys = []));
		keys.push(targetKey);
	}
	const bases = new Map<string, JsonObject>();
	for (const [system, keys] of keysBySystem) {
		for (const [key, entity] of await store.lookUp(syncId, system, keys)) {
			const base = entity.systems[system]?.base;
			if (base) bases.set(`${system}\u0000${key}`, base);
		}
	}
	return bases;
}

/**
 * What the write changed in the target, for the audit trail: the written fields whose value
 * differs from the last synced version, after and (when known) before. Only those fields are
 * kept (data minimisation); a delete changes no field value.
 */
function writtenChanges(
	target: NonNullable<SyncMeta['target']>,
	written: JsonObject,
	base: JsonObject | undefined,
	targetKeyField: string,
): IDataObject {
	if (target.op === 'delete') return {};
	const after: JsonObject = {};
	const before: JsonObject = {};
	for (const field of Object.keys(written)) {
		// An update addresses the record by its key; it does not change it.
		if (target.op === 'update' && field === targetKeyField) continue;
		const value = written[field];
		if (base && Object.prototype.hasOwnProperty.call(base, field)) {
			if (hashValue(base[field]) === hashValue(value)) continue;
			before[field] = base[field];
		}
		after[field] = value;
	}
	return { after, ...(Object.keys(before).length > 0 ? { before } : {}) };
}

function baseOf(base: JsonObject | undefined): Pick<CommitSide, 'base'> {
	return base === undefined ? {} : { base };
}

function keyText(value: unknown): string | null {
	if (value === null || value === undefined) return null;
	const text = String(value).trim();
	return text === '' ? null : text;
}

/**
 * What to remember of the target: what it holds after the write, with its hash for echo
 * suppression. That is what was written, over the target's other tracked fields as far as they
 * are known (the record as read in this run or the stored base, and the write node's answer): the
 * echo check compares exactly these fields, so an edit to one the sync did not write is an edit.
 */
function targetSide(
	meta: SyncMeta,
	target: NonNullable<SyncMeta['target']>,
	targetKey: string,
	record: JsonObject,
	observed: JsonObject | undefined,
	answered: JsonObject | undefined,
): CommitSide {
	const side: CommitSide = { system: target.system, key: targetKey };
	if (target.op === 'delete') return { ...side, writtenHash: null, seenHash: null, base: null, deleted: true };
	// The target's own answer shows the values as it keeps them, and the fields it filled itself.
	const written = answered ? { ...record, ...answered } : record;
	// A create that brings a deleted record back replaces its old key in the same transaction.
	if (target.op === 'create' && meta.replacesKey) side.replacesKey = meta.replacesKey;
	// An update changed only the fields it sent: the store merges them over the base it holds (or
	// over the target's record as read in this run) and hashes the merged base, atomically.
	if (target.op === 'update') {
		return { ...side, basePatch: written, ...(observed ? { observed } : {}), deleted: false };
	}
	const writtenHash = hashValue(written);
	return { ...side, writtenHash, seenHash: writtenHash, base: written, deleted: false };
}

/** The target's record as its detector read it in this run, cut to the fields that detector tracks. */
async function observedTarget(ctx: IExecuteFunctions, itemIndex: number, system: string): Promise<JsonObject | undefined> {
	const detected = await resolveDetectedRecord(ctx, itemIndex, system);
	return detected ? trackedContent(ctx, detected) : undefined;
}

interface DetectedSides {
	/** The version of the source record this change carried. */
	source?: DetectedRecord;
	/** The tracked fields of the target's record as read in this run, when it was read. */
	target?: JsonObject;
	/** The tracked fields of the write node's answer, when the target's detector is upstream. */
	answered?: JsonObject;
}

/**
 * The sides to remember: the record's source (now seen, with the version the change carried as
 * its base) and the target (now written, with what was written as its base).
 */
function planCommit(meta: SyncMeta, record: JsonObject, detected: DetectedSides, targetKey: string | null): CommitInput {
	const sides: CommitSide[] = [];
	const sourceKey = keyText(meta.key);
	const target = meta.target;
	if (sourceKey && (!target || target.system !== meta.system)) {
		sides.push({
			system: meta.system,
			key: sourceKey,
			...(meta.hash !== undefined ? { seenHash: meta.hash } : {}),
			// A change seen on this side ends any echo we were expecting from it.
			...(meta.op !== 'none' ? { writtenHash: null } : {}),
			// A replayed change has no detector upstream: the version it carried was queued with it.
			...baseOf(target ? (sourceBase(meta, detected.source?.record) ?? meta.sourceBase) : record),
			deleted: meta.op === 'delete',
		});
	}
	if (target && targetKey) sides.push(targetSide(meta, target, targetKey, record, detected.target, detected.answered));
	const clearOutbox: OutboxRef[] = [];
	if (target && sourceKey) clearOutbox.push({ sourceSystem: meta.system, sourceKey, targetSystem: target.system });
	// A new record matched to an unlinked one on the other side (first-time matching): a create of
	// that record queued towards this side is obsolete, and replaying it would make a duplicate.
	if (target && sourceKey && targetKey && meta.op === 'create' && target.op === 'update') {
		clearOutbox.push({ sourceSystem: target.system, sourceKey: targetKey, targetSystem: meta.system });
	}
	return {
		...(meta.entityId ? { entityId: meta.entityId } : {}),
		sides,
		...(clearOutbox.length > 0 ? { clearOutbox } : {}),
	};
}

/**
 * The "seen" path, for an item that needs no write (a Conflict Resolver's No Change): each side it
 * names whose detector reported a change has that version remembered as seen, so the change is
 * not reported again. Nothing is written, and a side without a reported change is left alone.
 */
async function seenSides(ctx: IExecuteFunctions, itemIndex: number, meta: SyncMeta): Promise<CommitSide[]> {
	const sides: CommitSide[] = [];
	for (const system of new Set([meta.system, ...Object.keys(meta.keys ?? {})])) {
		const detected = await resolveDetectedRecord(ctx, itemIndex, system);
		const key = keyText(detected?.meta.key);
		if (!detected || !key || detected.meta.op === 'none') continue;
		// A version seen ends any echo this side was expected to send back.
		if (detected.meta.op === 'delete') {
			sides.push({ system, key, writtenHash: null, deleted: true });
			continue;
		}
		sides.push({
			system,
			key,
			...(detected.meta.hash !== undefined ? { seenHash: detected.meta.hash } : {}),
			writtenHash: null,
			base: trackedContent(ctx, detected),
			deleted: false,
		});
	}
	return sides;
}

/**
 * Settled without a write (e.g. a create whose answer was lost, now paired with the record it made
 * by the match key): a write queued between these sides is done, and a replay would repeat it.
 */
function settledOutbox(sides: CommitSide[]): OutboxRef[] {
	return sides.flatMap((source) =>
		sides.filter((target) => target.system !== source.system).map((target) => ({ sourceSystem: source.system, sourceKey: source.key, targetSystem: target.system })),
	);
}

/**
 * One transaction for the whole batch. If it fails and Continue On Fail is on, each item is
 * committed on its own, so one bad item does not hold back the others.
 */
async function commitBatch(
	ctx: IExecuteFunctions,
	store: SyncStore,
	syncId: string,
	planned: PlannedCommit[],
): Promise<Map<number, CommitResult | INodeExecutionData>> {
	const results = new Map<number, CommitResult | INodeExecutionData>();
	try {
		const batch = await store.commit(syncId, planned.map((entry) => entry.input));
		planned.forEach((entry, index) => results.set(entry.itemIndex, batch[index]));
	} catch (error) {
		if (!ctx.continueOnFail()) throw toNodeError(ctx.getNode(), error);
		for (const entry of planned) {
			try {
				const [result] = await store.commit(syncId, [entry.input]);
				results.set(entry.itemIndex, result);
			} catch (itemError) {
				results.set(entry.itemIndex, failedItem(ctx, itemError, entry.itemIndex));
			}
		}
	}
	return results;
}

export async function execute(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
	store: SyncStore,
	syncId: string,
): Promise<INodeExecutionData[]> {
	const output: Array<INodeExecutionData | PlannedCommit> = [];
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		try {
			const resolved = await resolveSyncMeta(this, itemIndex, items[itemIndex]);
			if (!resolved) {
				throw new NodeOperationError(this.getNode(), 'This item has no sync metadata, so it was not committed', {
					itemIndex,
					description:
						'Commit remembers records that a node of this package prepared for a write. Connect Commit after the write node that follows a Conflict Resolver, Field Mapper or Get Due Retries node, and keep the items paired (avoid nodes that merge or split items without paired items). The record stays pending and will be synced again.',
				});
			}
			const { meta } = resolved;
			assertSameSync(this, meta, syncId, itemIndex);
			const targetKeyField = this.getNodeParameter('targetKeyField', itemIndex, 'id') as string;
			if (!meta.target && meta.op === 'none') {
				const sides = await seenSides(this, itemIndex, meta);
				if (sides.length === 0) {
					output.push({ json: { ...items[itemIndex].json, [SYNC_FIELD]: { ...meta, status: 'seen', committed: false } }, pairedItem: { item: itemIndex } });
				} else {
					output.push({
						itemIndex,
						resolved,
						input: { ...(meta.entityId ? { entityId: meta.entityId } : {}), sides, clearOutbox: settledOutbox(sides) },
						targetKey: null,
						targetKeyField,
					});
				}
				continue;
			}
			const targetKey = keyText(meta.target?.key) ?? keyText(get(items[itemIndex].json, targetKeyField));
			if (meta.target && !targetKey) {
				throw new NodeOperationError(
					this.getNode(),
					`The write node's output has no "${targetKeyField}" field, so the new record cannot be linked`,
					{
						itemIndex,
						description: `Set "Target Key Field" to the field that holds the ID the target system returned (e.g. "id" or "objectId"), and make the write node return it (for n8n's Postgres node: Options > Output Columns).`,
					},
				);
			}
			const detected: DetectedSides = {
				source: meta.target && meta.target.system !== meta.system ? await resolveDetectedRecord(this, itemIndex, meta.system) : undefined,
				target: meta.target?.op === 'update' ? await observedTarget(this, itemIndex, meta.target.system) : undefined,
				answered:
					meta.target && meta.target.op !== 'delete'
						? trackedBySystemDetector(this, meta.target.system, items[itemIndex].json as JsonObject)
						: undefined,
			};
			const input = planCommit(meta, resolved.record, detected, targetKey);
			if (input.sides.length === 0) {
				throw new NodeOperationError(this.getNode(), 'The sync metadata names no record key to commit', {
					itemIndex,
					description: 'The item must come from a Change Detector (which sets the key) or carry a target key.',
				});
			}
			output.push({ itemIndex, resolved, input, targetKey, targetKeyField });
		} catch (error) {
			output.push(failedItem(this, error, itemIndex));
		}
	}

	const planned = output.filter((entry): entry is PlannedCommit => !('json' in entry));
	const bases = await storedTargetBases(store, syncId, planned);
	const results = await commitBatch(this, store, syncId, planned);

	return output.map((entry) => {
		if ('json' in entry) return entry;
		const result = results.get(entry.itemIndex)!;
		if ('json' in result) return result;
		// The queued source version served this commit; it is not part of what the item reports.
		const { sourceBase: _queuedBase, ...meta } = entry.resolved.meta;
		const committed: IDataObject = {
			...meta,
			entityId: result.entityId,
			...(meta.target
				? {
						target: { ...meta.target, key: entry.targetKey },
						...writtenChanges(meta.target, entry.resolved.record, bases.get(`${meta.target.system}\u0000${entry.targetKey}`), entry.targetKeyField),
					}
				: {}),
			status: meta.target || meta.op !== 'none' ? 'applied' : 'seen',
			committed: result.changed,
		};
		return { json: { ...items[entry.itemIndex].json, [SYNC_FIELD]: committed }, pairedItem: { item: entry.itemIndex } };
	});
}
