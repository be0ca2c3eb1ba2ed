import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { credentialTest } from '../shared/credentialTest';
import { storeProperties, syncIdProperty } from '../shared/descriptions';
import { resourceDescriptions, router } from './actions/router';

export class SyncState implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Sync State',
		name: 'syncState',
		icon: { light: 'file:syncState.svg', dark: 'file:syncState.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["resource"] + ": " + $parameter["operation"] }}',
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
				displayName: 'Resource',
				name: 'resource',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Cursor', value: 'cursor', description: "A system's read position for incremental reads" },
					{ name: 'Lock', value: 'lock', description: 'Leases that keep two executions from running the same sync at once' },
					{ name: 'Record', value: 'record', description: 'Links, last synced versions, commits and failures of records' },
					{ name: 'Retry Queue', value: 'retryQueue', description: 'Failed writes waiting for another attempt' },
					{ name: 'Sync', value: 'sync', description: 'Statistics and reset of the whole sync' },
				],
				default: 'record',
			},
			...resourceDescriptions,
		],
	};

	methods = { credentialTest };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
