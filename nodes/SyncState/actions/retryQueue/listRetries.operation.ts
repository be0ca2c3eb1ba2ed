import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { OutboxStatus, SyncStore } from '../../../engine/store/SyncStore';
import { forOperations } from '../../helpers/utils';

export const description: INodeProperties[] = forOperations(
	['listRetries'],
	[
		{
			displayName: 'Status',
			name: 'status',
			type: 'options',
			options: [
				{ name: 'All', value: 'all' },
				{ name: 'Dead-Lettered', value: 'dead', description: 'Changes that failed every attempt and need a person' },
				{ name: 'Pending', value: 'pending', description: 'Changes waiting for their next attempt' },
			],
			default: 'dead',
		},
		{
			displayName: 'Limit',
			name: 'limit',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 50,
			description: 'Max number of results to return',
		},
	],
);

/** Lists queued changes for people to inspect; runs once per execution. */
export async function execute(
	this: IExecuteFunctions,
	_items: INodeExecutionData[],
	store: SyncStore,
	syncId: string,
): Promise<INodeExecutionData[]> {
	const status = this.getNodeParameter('status', 0, 'dead') as OutboxStatus | 'all';
	const limit = this.getNodeParameter('limit', 0, 50) as number;
	const entries = await store.listOutbox(syncId, status, limit);
	return entries.map((entry) => ({ json: { syncId, ...entry }, pairedItem: { item: 0 } }));
}
