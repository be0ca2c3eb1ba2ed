import get from 'lodash/get';
import set from 'lodash/set';
import type { INodeProperties } from 'n8n-workflow';

import type { JsonObject, JsonValue, SyncMeta } from '../../engine/types';

import type { SyncStateOperation } from './interfaces';

/** Shows a parameter block only for the given operations. */
export function forOperations(operations: SyncStateOperation[], properties: INodeProperties[]): INodeProperties[] {
	return properties.map((property) => ({
		...property,
		displayOptions: {
			...property.displayOptions,
			show: { ...property.displayOptions?.show, operation: operations },
		},
	}));
}

/** Only the fields the mapping read are kept of the source record (data minimisation). */
export function sourceBase(meta: SyncMeta, detected: JsonObject | undefined): JsonObject | undefined {
	if (!detected) return undefined;
	if (!meta.sourceFields) return detected;
	const base: JsonObject = {};
	for (const path of meta.sourceFields) {
		const value = get(detected, path) as JsonValue | undefined;
		if (value !== undefined) set(base, path, value);
	}
	return base;
}
