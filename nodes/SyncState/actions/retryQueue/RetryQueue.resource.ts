import type { INodeProperties } from 'n8n-workflow';

import type { OperationModule } from '../../helpers/interfaces';
import * as getDueRetries from './getDueRetries.operation';
import * as listRetries from './listRetries.operation';

export const operations: Record<string, OperationModule> = { getDueRetries, listRetries };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['retryQueue'] } },
		options: [
			{ name: 'Get Due', value: 'getDueRetries', action: 'Get due retries', description: 'Get the queued changes whose next attempt is due, ready to write again' },
			{ name: 'List', value: 'listRetries', action: 'List queued changes', description: 'List pending or dead-lettered changes, e.g. for review' },
		],
		default: 'getDueRetries',
	},
	...Object.values(operations).flatMap((operation) => operation.description),
];
