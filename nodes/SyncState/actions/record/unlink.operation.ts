import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { SyncStore } from '../../../engine/store/SyncStore';
import { systemProperty } from '../../../shared/descriptions';
import { forOperations } from '../../helpers/utils';
import { mapItems, requiredText } from '../../../shared/items';

export const description: INodeProperties[] = forOperations(
	['unlink'],
	[
		systemProperty,
		{
			displayName: 'Key',
			name: 'key',
			type: 'string',
			default: '={{ $json.id }}',
			required: true,
			description: "The record's ID in that system. Its link and remembered state are removed; the record itself is not touched.",
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
		const system = requiredText(this, 'system', itemIndex, 'System', 'Set "System" to the name of the system, e.g. "crm".');
		const key = requiredText(this, 'key', itemIndex, 'The record key', 'Set "Key" to the record\'s ID, e.g. {{ $json.id }}.');
		const unlinked = await store.unlink(syncId, system, key);
		return { syncId, system, key, unlinked };
	});
}
