import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { SyncStore } from '../../../engine/store/SyncStore';
import { forOperations } from '../../helpers/utils';
import { mapItems, requiredText } from '../../../shared/items';
import { lockOwnerProperty, lockResourceProperty } from './common.descriptions';

export const description: INodeProperties[] = forOperations(['releaseLock'], [lockResourceProperty, lockOwnerProperty]);

export async function execute(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
	store: SyncStore,
	syncId: string,
): Promise<INodeExecutionData[]> {
	return await mapItems(this, items, async (_item, itemIndex) => {
		const resource = requiredText(this, 'lockName', itemIndex, 'Lock Name', 'Name the lock to release, e.g. "cycle".');
		const owner = requiredText(this, 'owner', itemIndex, 'Owner', 'Set "Owner" to the owner that acquired the lock, e.g. {{ $execution.id }}.');
		const released = await store.releaseLock(syncId, resource, owner);
		return { syncId, resource, owner, released };
	});
}
