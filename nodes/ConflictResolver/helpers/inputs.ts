import get from 'lodash/get';
import { NodeOperationError, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';

import { parseTimestamp, type ChangeOp, type SideChange } from '../../engine/resolver';
import type { JsonObject } from '../../engine/types';
import { assertSameSync, cleanRecord, resolveDetectedRecord, resolveSyncMeta, SYNC_FIELD } from '../../shared/syncMeta';
import type { NodeSettings } from './options';

/** An input item that could not be read, with where it came from. */
export interface InputFailure {
	input: 0 | 1;
	index: number;
	error: unknown;
}

const OPS = new Set<ChangeOp>(['create', 'update', 'delete', 'none']);

function keyText(value: unknown): string | undefined {
	if (value === null || value === undefined || typeof value === 'object') return undefined;
	const text = String(value).trim();
	return text === '' ? undefined : text;
}

function changeTime(record: JsonObject | undefined, path: string | undefined): number | null | undefined {
	if (!path || !record) return undefined;
	const value: unknown = get(record, path);
	return value === undefined ? undefined : parseTimestamp(value);
}

/** Input 1: X's changes, mapped into Y's schema, each with its sync metadata. */
export async function readChangesFromX(
	ctx: IExecuteFunctions,
	items: INodeExecutionData[],
	settings: NodeSettings,
	failures: InputFailure[],
): Promise<SideChange[]> {
	const { syncId, systems } = settings.options;
	const changes: SideChange[] = [];
	for (let index = 0; index < items.length; index++) {
		try {
			const resolved = await resolveSyncMeta(ctx, index, items[index]);
			if (!resolved) {
				throw new NodeOperationError(ctx.getNode(), 'This item on input 1 has no sync metadata', {
					itemIndex: index,
					description: `Input 1 takes the changes of ${systems.x} from its Change Detector, mapped into ${systems.y}'s schema by a Field Mapper. Connect it there, and keep the items paired (no nodes that merge or split items in between).`,
				});
			}
			const { meta, record } = resolved;
			assertSameSync(ctx, meta, syncId, index);
			if (meta.system !== systems.x) {
				throw new NodeOperationError(ctx.getNode(), `This item on input 1 comes from system "${meta.system}", but System X is "${systems.x}"`, {
					itemIndex: index,
					description: `Input 1 takes the changes of System X. Set System X to "${meta.system}", or connect ${systems.x}'s changes to input 1 and ${systems.y}'s to input 2.`,
				});
			}
			if (meta.target && meta.target.system !== systems.y) {
				throw new NodeOperationError(ctx.getNode(), `This change was mapped for system "${meta.target.system}", but System Y is "${systems.y}"`, {
					itemIndex: index,
					description: `Set System Y to "${meta.target.system}", or use a Field Mapper whose target system is "${systems.y}".`,
				});
			}
			const key = keyText(meta.key);
			if (!key) {
				throw new NodeOperationError(ctx.getNode(), 'The change on input 1 has no record key', {
					itemIndex: index,
					description: 'The Change Detector of System X sets the key; check its Key Field.',
				});
			}
			const timestampPath = settings.timestampFields.x;
			let changedAt = changeTime(record, timestampPath);
			// The mapping may have dropped the time field: read it from the record as X's detector saw it.
			if (changedAt === undefined && timestampPath) changedAt = changeTime((await resolveDetectedRecord(ctx, index, systems.x))?.record, timestampPath);
			changes.push({
				index,
				key,
				op: OPS.has(meta.op) ? meta.op : 'update',
				record,
				...(meta.hash !== undefined ? { hash: meta.hash } : {}),
				...(meta.sourceFields ? { sourceFields: meta.sourceFields } : {}),
				...(meta.cursor !== undefined ? { cursor: meta.cursor } : {}),
				...(timestampPath ? { changedAt: changedAt ?? null } : {}),
			});
		} catch (error) {
			failures.push({ input: 0, index, error });
		}
	}
	return changes;
}

/** Input 2: Y's own changes (with metadata from Y's Change Detector) or Y's current records. */
export async function readChangesFromY(
	ctx: IExecuteFunctions,
	items: INodeExecutionData[],
	settings: NodeSettings,
	failures: InputFailure[],
): Promise<SideChange[]> {
	const { syncId, systems, keyFields } = settings.options;
	const changes: SideChange[] = [];
	for (let index = 0; index < items.length; index++) {
		try {
			const item = items[index];
			// Only the item's own metadata: n8n resolves paired items through input 1, never input 2.
			const ownMeta = item.json?.[SYNC_FIELD] !== undefined || item.binary?.[SYNC_FIELD] !== undefined;
			const found = ownMeta ? await resolveSyncMeta(ctx, index, item) : undefined;
			const resolved = found && (found.from === 'json' || found.from === 'binary') ? found : undefined;
			const record = resolved?.record ?? cleanRecord(item.json ?? {});
			let key: string | undefined;
			let op: ChangeOp = 'none';
			if (resolved) {
				const { meta } = resolved;
				assertSameSync(ctx, meta, syncId, index);
				if (meta.system !== systems.y) {
					throw new NodeOperationError(ctx.getNode(), `This item on input 2 comes from system "${meta.system}", but System Y is "${systems.y}"`, {
						itemIndex: index,
						description: `Input 2 takes the changes (or current records) of System Y, unmapped. Connect ${systems.y}'s Change Detector to input 2, or set System Y to "${meta.system}".`,
					});
				}
				key = keyText(meta.key);
				op = OPS.has(meta.op) ? meta.op : 'update';
				if (!key && keyFields.y) key = keyText(get(record, keyFields.y));
			} else if (keyFields.y) {
				key = keyText(get(record, keyFields.y));
			}
			if (!key) {
				throw new NodeOperationError(ctx.getNode(), `The record on input 2 has no "${keyFields.y ?? ''}" field to identify it`, {
					itemIndex: index,
					description: `Set "Key Field of Y Records" to the field that holds each ${systems.y} record's ID (e.g. "id"), or connect ${systems.y}'s Change Detector, which sets the key.`,
				});
			}
			const timestampPath = settings.timestampFields.y;
			changes.push({
				index,
				key,
				op,
				record,
				...(resolved?.meta.hash !== undefined ? { hash: resolved.meta.hash } : {}),
				...(resolved?.meta.sourceFields ? { sourceFields: resolved.meta.sourceFields } : {}),
				...(resolved?.meta.cursor !== undefined ? { cursor: resolved.meta.cursor } : {}),
				...(timestampPath ? { changedAt: changeTime(record, timestampPath) ?? null } : {}),
			});
		} catch (error) {
			failures.push({ input: 1, index, error });
		}
	}
	return changes;
}
