import type { INodeProperties } from 'n8n-workflow';

import type { OperationModule } from '../../helpers/interfaces';
import * as acquireLock from './acquireLock.operation';
import * as releaseLock from './releaseLock.operation';

export const operations: Record<string, OperationModule> = { acquireLock, releaseLock };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['lock'] } },
		options: [
			{ name: 'Acquire', value: 'acquireLock', action: 'Acquire a lock', description: 'Take a lease so that only one execution runs a sync cycle or touches a record' },
			{ name: 'Release', value: 'releaseLock', action: 'Release a lock' },
		],
		default: 'acquireLock',
	},
	...Object.values(operations).flatMap((operation) => operation.description),
];
