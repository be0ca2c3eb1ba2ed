import type { INodeProperties } from 'n8n-workflow';

/** Parameter blocks that every node reading or writing sync state shares, defined once. */

export const SYNC_STATE_POSTGRES_CREDENTIAL = 'syncStatePostgresApi';
export const POSTGRES_CREDENTIAL_TEST = 'syncStatePostgresConnectionTest';

export const storeProperties: INodeProperties[] = [
	{
		displayName: 'Store',
		name: 'store',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Built-In (SQLite File)',
				value: 'builtin',
				description: 'Zero set-up: a file in the n8n user folder. Not for queue mode.',
			},
			{
				name: 'PostgreSQL',
				value: 'postgres',
				description: 'For production and queue mode: all workers share the state',
			},
		],
		default: 'builtin',
		description: 'Where this sync remembers links, last synced versions, cursors, retries and locks. All nodes of one sync must use the same store.',
	},
	{
		displayName:
			'The built-in store is a file on this n8n machine. In queue mode, or with several n8n instances, choose PostgreSQL.',
		name: 'builtinStoreNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { store: ['builtin'] } },
	},
	{
		displayName: 'Database File',
		name: 'databaseFile',
		type: 'string',
		default: '',
		placeholder: '~/.n8n/two-way-sync.sqlite',
		description:
			'Path of the SQLite file. Leave empty for two-way-sync.sqlite in the n8n user folder.',
		displayOptions: { show: { store: ['builtin'] } },
	},
];

export const syncIdProperty: INodeProperties = {
	displayName: 'Sync ID',
	name: 'syncId',
	type: 'string',
	default: '',
	required: true,
	placeholder: 'contacts',
	description:
		'The name all nodes of one sync share. Different syncs (e.g. contacts and orders) keep separate state.',
};

export const systemProperty: INodeProperties = {
	displayName: 'System',
	name: 'system',
	type: 'string',
	default: '',
	required: true,
	placeholder: 'crm',
	description: 'A short name for the system the records live in, e.g. "crm" or "erp"',
};

/** Where the sync metadata goes on items this node emits. */
export const metadataPlacementProperty: INodeProperties = {
	displayName: 'Sync Metadata',
	name: 'metadataPlacement',
	type: 'options',
	options: [
		{
			name: 'Hidden (for Write Nodes)',
			value: 'hidden',
			description:
				'Keep the records clean for the next write node; our later nodes still find the metadata',
		},
		{
			name: 'In JSON (_sync Field)',
			value: 'json',
			description: 'Visible to people and expressions, e.g. for an IF node',
		},
	],
	default: 'hidden',
};
