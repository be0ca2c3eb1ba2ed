import type { INodeProperties } from 'n8n-workflow';

import type { OperationModule } from '../../helpers/interfaces';
import * as getCursor from './getCursor.operation';
import * as setCursor from './setCursor.operation';

export const operations: Record<string, OperationModule> = { getCursor, setCursor };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['cursor'] } },
		options: [
			{ name: 'Get', value: 'getCursor', action: 'Get a cursor', description: "Get a system's read position for incremental reads" },
			{ name: 'Set', value: 'setCursor', action: 'Set a cursor', description: "Store a system's read position" },
		],
		default: 'getCursor',
	},
	...Object.values(operations).flatMap((operation) => operation.description),
];
