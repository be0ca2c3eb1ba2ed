import {
	NodeOperationError,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import type { SyncStore } from '../../../engine/store/SyncStore';
import { forOperations } from '../../helpers/utils';
import { mapItems, requiredText } from '../../../shared/items';
import { lockOwnerProperty, lockResourceProperty } from './common.descriptions';

export const description: INodeProperties[] = forOperations(
	['acquireLock'],
	[
		lockResourceProperty,
		lockOwnerProperty,
		{
			displayName: 'Time to Live (Seconds)',
			name: 'ttlSeconds',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 300,
			description:
				'The lock expires after this long, so a crashed execution cannot block the sync for ever. Set it longer than a sync cycle takes.',
		},
		{
			displayName: 'When Already Locked',
			name: 'whenLocked',
			type: 'options',
			options: [
				{ name: 'Stop With an Error', value: 'error' },
				{
					name: 'Continue With Acquired = False',
					value: 'continue',
					description: 'Check {{ $json.acquired }} with an IF node, e.g. to skip this cycle',
				},
			],
			default: 'continue',
		},
	],
);

export async function execute(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
	store: SyncStore,
	syncId: string,
): Promise<INodeExecutionData[]> {
	return await mapItems(this, items, async (_item, itemIndex) => {
		const resource = requiredText(this, 'lockName', itemIndex, 'Lock Name', 'Name what to lock, e.g. "cycle" for a whole sync cycle.');
		const owner = requiredText(this, 'owner', itemIndex, 'Owner', 'Set "Owner" to something unique to this execution, e.g. {{ $execution.id }}.');
		const ttlSeconds = this.getNodeParameter('ttlSeconds', itemIndex, 300) as number;
		const lease = await store.acquireLock(syncId, resource, owner, ttlSeconds * 1000);
		if (!lease.acquired && this.getNodeParameter('whenLocked', itemIndex, 'continue') === 'error') {
			throw new NodeOperationError(this.getNode(), `The lock "${resource}" is held by "${lease.owner}" until ${lease.expiresAt}`, {
				itemIndex,
				description: 'Another execution of this sync is running. Wait for it, or for the lock to expire, or choose "Continue With Acquired = False" to skip this cycle.',
			});
		}
		return { syncId, ...lease };
	});
}
