import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { SyncStore } from '../../../engine/store/SyncStore';
import type { SyncMeta } from '../../../engine/types';
import { metadataPlacementProperty } from '../../../shared/descriptions';
import { withSyncMeta, type MetadataPlacement } from '../../../shared/syncMeta';
import { forOperations } from '../../helpers/utils';

export const description: INodeProperties[] = forOperations(
	['getDueRetries'],
	[
		{
			displayName:
				'Runs once per execution, whatever the number of input items. Each output item is a queued change, ready for the same write node and Commit as the first attempt.',
			name: 'getDueRetriesNotice',
			type: 'notice',
			default: '',
		},
		{
			displayName: 'Limit',
			name: 'limit',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 100,
			description: 'Max number of results to return',
		},
		{
			displayName: 'Claim For (Seconds)',
			name: 'claimSeconds',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 300,
			description:
				'How long the returned changes are reserved for this execution. Another execution (a parallel worker, or the next scheduled run) does not get them until then, so no change is replayed twice at once. Make it longer than one replay takes; a change whose replay crashed is due again after it.',
		},
		metadataPlacementProperty,
	],
);

export async function execute(
	this: IExecuteFunctions,
	_items: INodeExecutionData[],
	store: SyncStore,
	syncId: string,
): Promise<INodeExecutionData[]> {
	const limit = this.getNodeParameter('limit', 0, 100) as number;
	const claimSeconds = this.getNodeParameter('claimSeconds', 0, 300) as number;
	const placement = this.getNodeParameter('metadataPlacement', 0, 'hidden') as MetadataPlacement;
	const due = await store.getDueRetries(syncId, limit, undefined, Math.round(claimSeconds * 1000));
	return due.map((entry) => {
		const meta: SyncMeta = {
			...((entry.meta ?? {}) as unknown as Partial<SyncMeta>),
			syncId,
			system: entry.sourceSystem,
			key: entry.sourceKey,
			op: (entry.meta?.op as SyncMeta['op'] | undefined) ?? entry.op,
			...(entry.entityId ? { entityId: entry.entityId } : {}),
			target: { system: entry.targetSystem, key: entry.targetKey, op: entry.op },
		};
		return withSyncMeta(this, entry.payload, meta, placement, { item: 0 });
	});
}
