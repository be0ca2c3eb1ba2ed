import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { SyncStore } from '../../../engine/store/SyncStore';
import { forOperations } from '../../helpers/utils';
import { mapItems } from '../../../shared/items';

export const description: INodeProperties[] = forOperations(
	['stats'],
	[
		{
			displayName:
				'Outputs counts per system, the retry queue (pending, due, dead-lettered), cursors and held locks. Use an IF node on {{ $json.outbox.dead }} to alert.',
			name: 'statsNotice',
			type: 'notice',
			default: '',
		},
	],
);

export async function execute(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
	store: SyncStore,
	syncId: string,
): Promise<INodeExecutionData[]> {
	return await mapItems(this, items, async () => (await store.stats(syncId)) as unknown as IDataObject);
}
