import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { summarise, summaryWindow } from '../../engine/audit/summary';
import type { SyncStore } from '../../engine/store/SyncStore';
import { mapItems } from '../../shared/items';
import { userTime } from '../helpers/items';
import { forOperations } from '../helpers/utils';

export const description: INodeProperties[] = forOperations(
	['summary'],
	[
		{
			displayName:
				'Counts the logged events per system, op and status, with the success rate (applied of applied + failed, in percent) and the dead-lettered retries. To alert, add an IF node: {{ $json.successRate }} is less than 98.',
			name: 'summaryNotice',
			type: 'notice',
			default: '',
		},
		{
			displayName: 'Window',
			name: 'window',
			type: 'options',
			options: [
				{ name: 'Last Hours', value: 'lastHours' },
				{ name: 'Between Two Times', value: 'range' },
			],
			default: 'lastHours',
		},
		{
			displayName: 'Hours',
			name: 'hours',
			type: 'number',
			typeOptions: { minValue: 0.01, numberPrecision: 2 },
			default: 24,
			displayOptions: { show: { window: ['lastHours'] } },
		},
		{
			displayName: 'From',
			name: 'windowFrom',
			type: 'dateTime',
			default: '',
			required: true,
			displayOptions: { show: { window: ['range'] } },
		},
		{
			displayName: 'To',
			name: 'windowTo',
			type: 'dateTime',
			default: '',
			description: 'Leave empty for now',
			displayOptions: { show: { window: ['range'] } },
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
		const now = new Date();
		const window =
			this.getNodeParameter('window', itemIndex, 'lastHours') === 'range'
				? summaryWindow(
						{ from: userTime(this, 'windowFrom', itemIndex, 'From') ?? '', to: userTime(this, 'windowTo', itemIndex, 'To') },
						now,
					)
				: summaryWindow({ hours: Number(this.getNodeParameter('hours', itemIndex, 24)) }, now);
		const [counts, stats] = await Promise.all([
			store.countAudit(syncId, window.from.toISOString(), window.to.toISOString()),
			store.stats(syncId, now),
		]);
		return summarise({
			syncId,
			...window,
			counts,
			deadLettered: stats.outbox.dead,
			pendingRetries: stats.outbox.pending,
		}) as unknown as IDataObject;
	});
}
