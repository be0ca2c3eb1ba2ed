import type { INodeProperties } from 'n8n-workflow';

/** The lock's name and holder, shared by Acquire Lock and Release Lock. */
export const lockResourceProperty: INodeProperties = {
	displayName: 'Lock Name',
	name: 'lockName',
	type: 'string',
	default: 'cycle',
	required: true,
	description: 'What to lock: "cycle" for a whole sync cycle, or e.g. a record key to lock one record',
};

export const lockOwnerProperty: INodeProperties = {
	displayName: 'Owner',
	name: 'owner',
	type: 'string',
	default: '={{ $execution.id }}',
	required: true,
	description: 'Who holds the lock. Only the owner can release it or extend it.',
};
