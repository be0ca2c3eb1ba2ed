import get from 'lodash/get';
import set from 'lodash/set';
import {
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import { hashValue } from '../../../engine/hash';
import type { CommitInput, CommitResult, CommitSide, SyncStore } from '../../../engine/store/SyncStore';
import type { JsonObject, JsonValue, SyncMeta } from '../../../engine/types';
import { toNodeError } from '../../../shared/errors';
import { assertSameSync, resolveDetectedRecord, resolveSyncMeta, SYNC_FIELD, type DetectedRecord, type ResolvedMeta } from '../../../shared/syncMeta';
import { forOperations } from '../../helpers/utils';
import { failedItem } from '../../../shared/items';

export const description: INodeProperties[] = forOperations(
	['commit'],
	[
		{
			displayName:
				'Place Commit after the node that wrote the records, so only successful writes are remembered. On the write node, set "On Error" to "Continue (using error output)" and send errors to Record Failure.',
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
}

function baseOf(base: JsonObject | undefined): Pick<CommitSide, 'base'> {
	return base === undefined ? {} : { base };
}

function keyText(value: unknown): string | null {
	if (value === null || value === undefined) return null;
	const text = String(value).trim();
	return text === '' ? null : text;
}

/** Only the fields the mapping read are kept of the source record (data minimisation). */
function sourceBase(meta: SyncMeta, detected: JsonObject | undefined): JsonObject | undefined {
	if (!detected) return undefined;
	if (!meta.sourceFields) return detected;
	const base: JsonObject = {};
	for (const path of meta.sourceFields) {
		const value = get(detected, path) as JsonValue | undefined;
		if (value !== undefined) set(base, path, value);
	}
	return base;
}

/** What to remember of the target: what was written, with its hash for echo suppression. */
function targetSide(meta: SyncMeta, target: NonNullable<SyncMeta['target']>, targetKey: string, record: JsonObject, observed: DetectedRecord | undefined): CommitSide {
	const side: CommitSide = { system: target.system, key: targetKey };
	if (target.op === 'delete') return { ...side, writtenHash: null, seenHash: null, base: null, deleted: true };
	// A create that brings a deleted record back replaces its old key in the same transaction.
	if (target.op === 'create' && meta.replacesKey) side.replacesKey = meta.replacesKey;
	// A partial update changed only the fields it sent: the store merges them over the base it holds
	// (after the target's own edits read in this run) and hashes the merged base, atomically.
	if (target.op === 'update' && meta.partial === true) {
		return { ...side, basePatch: record, ...(observed ? { observed: observed.record } : {}), deleted: false };
	}
	const writtenHash = hashValue(record);
	return { ...side, writtenHash, seenHash: writtenHash, base: record, deleted: false };
}

interface DetectedSides {
	/** The version of the source record this change carried. */
	source?: DetectedRecord;
	/** The target's record as read in this run, when the target changed too. */
	target?: DetectedRecord;
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
			...baseOf(target ? sourceBase(meta, detected.source?.record) : record),
			deleted: meta.op === 'delete',
		});
	}
	if (target && targetKey) sides.push(targetSide(meta, target, targetKey, record, detected.target));
	return {
		...(meta.entityId ? { entityId: meta.entityId } : {}),
		sides,
		...(target && sourceKey
			? { clearOutbox: [{ sourceSystem: meta.system, sourceKey, targetSystem: target.system }] }
			: {}),
	};
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
			assertSameSync(this.getNode(), meta, syncId, itemIndex);
			const targetKeyField = this.getNodeParameter('targetKeyField', itemIndex, 'id') as string;
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
				target: meta.target?.op === 'update' && meta.partial === true ? await resolveDetectedRecord(this, itemIndex, meta.target.system) : undefined,
			};
			const input = planCommit(meta, resolved.record, detected, targetKey);
			if (input.sides.length === 0) {
				throw new NodeOperationError(this.getNode(), 'The sync metadata names no record key to commit', {
					itemIndex,
					description: 'The item must come from a Change Detector (which sets the key) or carry a target key.',
				});
			}
			output.push({ itemIndex, resolved, input, targetKey });
		} catch (error) {
			output.push(failedItem(this, error, itemIndex));
		}
	}

	const planned = output.filter((entry): entry is PlannedCommit => !('json' in entry));
	const results = await commitBatch(this, store, syncId, planned);

	return output.map((entry) => {
		if ('json' in entry) return entry;
		const result = results.get(entry.itemIndex)!;
		if ('json' in result) return result;
		const { meta } = entry.resolved;
		const committed: IDataObject = {
			...meta,
			entityId: result.entityId,
			...(meta.target ? { target: { ...meta.target, key: entry.targetKey } } : {}),
			status: 'applied',
			committed: result.changed,
		};
		return { json: { ...items[entry.itemIndex].json, [SYNC_FIELD]: committed }, pairedItem: { item: entry.itemIndex } };
	});
}
