import type { INodeProperties } from 'n8n-workflow';

import type { AuditOperation } from './interfaces';

/** Shows a parameter block only for the given operations. */
export function forOperations(operations: AuditOperation[], properties: INodeProperties[]): INodeProperties[] {
	return properties.map((property) => ({
		...property,
		displayOptions: {
			...property.displayOptions,
			show: { ...property.displayOptions?.show, operation: operations },
		},
	}));
}
