import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { EntityState, SyncStore } from '../../../engine/store/SyncStore';
import { systemProperty } from '../../../shared/descriptions';
import { forOperations } from '../../helpers/utils';
import { failedItem, requiredText } from '../../../shared/items';

export const description: INodeProperties[] = forOperations(
	['lookUp'],
	[
		{ ...systemProperty, description: 'The system the input records come from' },
		{
			displayName: 'Key',
			name: 'key',
			type: 'string',
			default: '={{ $json.id }}',
			required: true,
			description: "The record's ID in that system",
		},
		{
			displayName: 'Put Result In Field',
			name: 'outputField',
			type: 'string',
			default: 'syncState',
			required: true,
			description: 'The field added to each item with its link, keys in every system, last synced version and hashes',
		},
	],
);

function describeEntity(entity: EntityState | undefined): IDataObject {
	if (!entity) return { linked: false, entityId: null, keys: {}, records: {} };
	const keys: IDataObject = {};
	const records: IDataObject = {};
	for (const [system, record] of Object.entries(entity.systems)) {
		keys[system] = record.key;
		records[system] = {
			seenHash: record.seenHash,
			writtenHash: record.writtenHash,
			base: record.base,
			deletedAt: record.deletedAt,
			version: record.version,
			updatedAt: record.updatedAt,
		};
	}
	return { linked: true, entityId: entity.entityId, keys, records };
}

export async function execute(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
	store: SyncStore,
	syncId: string,
): Promise<INodeExecutionData[]> {
	const wanted: Array<{ itemIndex: number; system: string; key: string; field: string } | INodeExecutionData> = [];
	const keysBySystem = new Map<string, string[]>();
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		try {
			const system = requiredText(this, 'system', itemIndex, 'System', 'Set "System" to the name of the system the records come from, e.g. "crm".');
			const key = requiredText(this, 'key', itemIndex, 'The record key', 'Set "Key" to an expression that gives each record\'s ID, e.g. {{ $json.id }}, and check that every item has one.');
			const field = requiredText(this, 'outputField', itemIndex, 'Put Result In Field', 'Name the field that receives the result, e.g. "syncState".');
			wanted.push({ itemIndex, system, key, field });
			const keys = keysBySystem.get(system) ?? [];
			keys.push(key);
			keysBySystem.set(system, keys);
		} catch (error) {
			wanted.push(failedItem(this, error, itemIndex));
		}
	}
	// One store round trip per system, not per item.
	const found = new Map<string, Map<string, EntityState>>();
	for (const [system, keys] of keysBySystem) found.set(system, await store.lookUp(syncId, system, keys));

	return wanted.map((entry) => {
		if ('json' in entry) return entry;
		const entity = found.get(entry.system)?.get(entry.key);
		return {
			json: { ...items[entry.itemIndex].json, [entry.field]: describeEntity(entity) },
			pairedItem: { item: entry.itemIndex },
		};
	});
}
