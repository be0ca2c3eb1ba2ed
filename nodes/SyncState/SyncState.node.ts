import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { credentialTest } from '../shared/credentialTest';
import { storeProperties, syncIdProperty } from '../shared/descriptions';
import { operations, router } from './actions/router';

export class SyncState implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Sync State',
		name: 'syncState',
		icon: { light: 'file:syncState.svg', dark: 'file:syncState.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["operation"] + ": " + $parameter["syncId"] }}',
		description: 'Remember what a two-way sync has done: links between systems, last synced versions, cursors, retries and locks',
		defaults: { name: 'Sync State' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'syncStatePostgresApi',
				required: true,
				testedBy: 'syncStatePostgresConnectionTest',
				displayOptions: { show: { store: ['postgres'] } },
			},
		],
		properties: [
			...storeProperties,
			syncIdProperty,
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Acquire Lock', value: 'acquireLock', action: 'Acquire a lock', description: 'Take a lease so that only one execution runs a sync cycle or touches a record' },
					{ name: 'Commit', value: 'commit', action: 'Commit written records', description: 'After a successful write: link the keys, remember the written version and clear the retry' },
					{ name: 'Get Cursor', value: 'getCursor', action: 'Get a cursor', description: "Get a system's read position for incremental reads" },
					{ name: 'Get Due Retries', value: 'getDueRetries', action: 'Get due retries', description: 'Get the queued changes whose next attempt is due' },
					{ name: 'Link', value: 'link', action: 'Link records', description: "Record that keys in different systems are the same entity" },
					{ name: 'Look Up', value: 'lookUp', action: 'Look up records', description: 'Add each record\'s link, keys in other systems and last synced version' },
					{ name: 'Record Failure', value: 'recordFailure', action: 'Record a failed write', description: 'Queue a failed write for retry with backoff' },
					{ name: 'Release Lock', value: 'releaseLock', action: 'Release a lock' },
					{ name: 'Reset', value: 'reset', action: 'Reset sync state', description: 'Forget links, cursors, retries or locks of this sync' },
					{ name: 'Set Cursor', value: 'setCursor', action: 'Set a cursor', description: "Store a system's read position" },
					{ name: 'Stats', value: 'stats', action: 'Get sync statistics', description: 'Counts per system, pending and dead-lettered retries' },
					{ name: 'Unlink', value: 'unlink', action: 'Unlink a record', description: "Forget a record's link and state" },
				],
				default: 'lookUp',
			},
			...Object.values(operations).flatMap((operation) => operation.description),
		],

	};

	methods = { credentialTest };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
