import type { INodeProperties } from 'n8n-workflow';

import type { OperationModule } from '../../helpers/interfaces';
import * as reset from './reset.operation';
import * as stats from './stats.operation';

export const operations: Record<string, OperationModule> = { stats, reset };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['sync'] } },
		options: [
			{ name: 'Get Stats', value: 'stats', action: 'Get sync statistics', description: 'Counts per system, pending and dead-lettered retries' },
			{ name: 'Reset', value: 'reset', action: 'Reset sync state', description: 'Forget links, cursors, retries or locks of this sync' },
		],
		default: 'stats',
	},
	...Object.values(operations).flatMap((operation) => operation.description),
];
