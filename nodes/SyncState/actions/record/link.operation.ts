import {
	NodeOperationError,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import type { SyncStore } from '../../../engine/store/SyncStore';
import { forOperations } from '../../helpers/utils';
import { mapItems } from '../../../shared/items';

export const description: INodeProperties[] = forOperations(
	['link'],
	[
		{
			displayName: 'Keys',
			name: 'keys',
			type: 'fixedCollection',
			typeOptions: { multipleValues: true },
			placeholder: 'Add Key',
			default: {},
			description: "The record's ID in each system. These records are the same entity.",
			options: [
				{
					displayName: 'Key',
					name: 'key',
					values: [
						{ displayName: 'System', name: 'system', type: 'string', default: '', placeholder: 'crm' },
						{ displayName: 'Key', name: 'key', type: 'string', default: '', placeholder: '={{ $json.id }}' },
					],
				},
			],
		},
		{
			displayName: 'Entity ID',
			name: 'entityId',
			type: 'string',
			default: '',
			description: 'Optional: add the keys to this existing entity instead of finding or creating one',
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
		const entries = (this.getNodeParameter('keys.key', itemIndex, []) as Array<{ system?: unknown; key?: unknown }>).map(
			(entry) => ({ system: String(entry.system ?? '').trim(), key: String(entry.key ?? '').trim() }),
		);
		const incomplete = entries.find((entry) => entry.system === '' || entry.key === '');
		if (entries.length === 0 || incomplete) {
			throw new NodeOperationError(this.getNode(), entries.length === 0 ? 'No keys to link' : `A key to link has an empty ${incomplete!.system === '' ? 'system' : 'key'}`, {
				itemIndex,
				description: 'Add one key per system under "Keys", each with a system name and the record\'s ID there, e.g. crm = {{ $json.crmId }} and erp = {{ $json.erpId }}.',
			});
		}
		const entityId = (this.getNodeParameter('entityId', itemIndex, '') as string).trim();
		const [result] = await store.link(syncId, [{ ...(entityId ? { entityId } : {}), keys: entries }]);
		return {
			syncId,
			entityId: result.entityId,
			keys: Object.fromEntries(entries.map((entry) => [entry.system, entry.key])),
			linked: result.changed,
			createdEntity: result.createdEntity,
		};
	});
}
