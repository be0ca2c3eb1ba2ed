import {
	NodeOperationError,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import type { ResetScope, SyncStore } from '../../../engine/store/SyncStore';
import { forOperations } from '../../helpers/utils';
import { mapItems } from '../../../shared/items';

export const description: INodeProperties[] = forOperations(
	['reset'],
	[
		{
			displayName:
				'Reset forgets what this sync knows. After a reset of links, the next cycle treats every record as new and may create duplicates unless first-time matching is on.',
			name: 'resetNotice',
			type: 'notice',
			default: '',
		},
		{
			displayName: 'What to Reset',
			name: 'scope',
			type: 'options',
			options: [
				{ name: 'Everything', value: 'all' },
				{ name: 'Links and Record State', value: 'links' },
				{ name: 'Cursors', value: 'cursors' },
				{ name: 'Retry Queue', value: 'outbox' },
				{ name: 'Locks', value: 'locks' },
			],
			default: 'cursors',
		},
		{
			displayName: 'Type the Sync ID to Confirm',
			name: 'confirmSyncId',
			type: 'string',
			default: '',
			required: true,
			description: 'Nothing is reset unless this equals the Sync ID',
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
		const scope = this.getNodeParameter('scope', itemIndex) as ResetScope;
		const confirmation = this.getNodeParameter('confirmSyncId', itemIndex, '') as string;
		if (confirmation !== syncId) {
			throw new NodeOperationError(this.getNode(), 'Reset was not confirmed', {
				itemIndex,
				description: `Type the Sync ID "${syncId}" into "Type the Sync ID to Confirm" to reset it.`,
			});
		}
		await store.reset(syncId, scope);
		return { syncId, scope, reset: true };
	});
}
