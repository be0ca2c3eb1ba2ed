import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { isCursorAhead } from '../../../engine/cursor';
import type { SyncStore } from '../../../engine/store/SyncStore';
import { systemProperty } from '../../../shared/descriptions';
import { forOperations } from '../../helpers/utils';
import { mapItems, requiredText } from '../../../shared/items';

export const description: INodeProperties[] = forOperations(
	['setCursor'],
	[
		{ ...systemProperty, description: 'The system whose read position to set' },
		{
			displayName: 'Cursor',
			name: 'cursor',
			type: 'string',
			default: '',
			required: true,
			placeholder: '={{ $json.updated_at }}',
			description: 'The new read position: a timestamp or an increasing number',
		},
		{
			displayName: 'Only Move Forward',
			name: 'onlyForward',
			type: 'boolean',
			default: true,
			description:
				'Whether to keep the stored cursor when the new one is older, so that a late or repeated run never moves the read position back',
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
		const cursor = requiredText(this, 'cursor', itemIndex, 'Cursor', 'Set "Cursor" to the new read position, e.g. {{ $json.updated_at }}.');
		const onlyForward = this.getNodeParameter('onlyForward', itemIndex, true) as boolean;
		const previous = await store.getCursor(syncId, system);
		const moved = !onlyForward || previous === null || isCursorAhead(cursor, previous);
		if (moved) await store.setCursor(syncId, system, cursor);
		return { syncId, system, cursor: moved ? cursor : previous, previous, moved };
	});
}
