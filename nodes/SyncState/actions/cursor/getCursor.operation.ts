import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { SyncStore } from '../../../engine/store/SyncStore';
import { systemProperty } from '../../../shared/descriptions';
import { forOperations } from '../../helpers/utils';
import { mapItems, requiredText } from '../../../shared/items';

export const description: INodeProperties[] = forOperations(
	['getCursor'],
	[
		{ ...systemProperty, description: 'The system whose read position to get' },
		{
			displayName: 'Default Cursor',
			name: 'defaultCursor',
			type: 'string',
			default: '',
			placeholder: '1970-01-01T00:00:00.000Z',
			description: 'Returned when no cursor was stored yet, e.g. the start of time for a first full read',
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
		const stored = await store.getCursor(syncId, system);
		const fallback = this.getNodeParameter('defaultCursor', itemIndex, '') as string;
		return { syncId, system, cursor: stored ?? (fallback === '' ? null : fallback), stored: stored !== null };
	});
}
