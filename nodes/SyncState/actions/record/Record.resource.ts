import type { INodeProperties } from 'n8n-workflow';

import type { OperationModule } from '../../helpers/interfaces';
import * as commit from './commit.operation';
import * as link from './link.operation';
import * as lookUp from './lookUp.operation';
import * as recordFailure from './recordFailure.operation';
import * as unlink from './unlink.operation';

export const operations: Record<string, OperationModule> = { commit, link, lookUp, recordFailure, unlink };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['record'] } },
		options: [
			{ name: 'Commit', value: 'commit', action: 'Commit written records', description: 'After a successful write: link the keys, remember the written version and clear the retry' },
			{ name: 'Link', value: 'link', action: 'Link records', description: 'Record that keys in different systems are the same entity' },
			{ name: 'Look Up', value: 'lookUp', action: 'Look up records', description: "Add each record's link, keys in other systems and last synced version" },
			{ name: 'Record Failure', value: 'recordFailure', action: 'Record a failed write', description: 'Queue a failed write for retry with backoff' },
			{ name: 'Unlink', value: 'unlink', action: 'Unlink a record', description: "Forget a record's link and state" },
		],
		default: 'lookUp',
	},
	...Object.values(operations).flatMap((operation) => operation.description),
];
