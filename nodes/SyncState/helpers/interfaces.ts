import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { SyncStore } from '../../engine/store/SyncStore';

export type SyncStateOperation =
	| 'lookUp'
	| 'commit'
	| 'recordFailure'
	| 'getDueRetries'
	| 'listRetries'
	| 'getCursor'
	| 'setCursor'
	| 'acquireLock'
	| 'releaseLock'
	| 'link'
	| 'unlink'
	| 'reset'
	| 'stats';

export type SyncStateResource = 'record' | 'retryQueue' | 'cursor' | 'lock' | 'sync';

/** What each `<op>.operation.ts` exports: its parameters and its execute. */
export interface OperationModule {
	description: INodeProperties[];
	execute(
		this: IExecuteFunctions,
		items: INodeExecutionData[],
		store: SyncStore,
		syncId: string,
	): Promise<INodeExecutionData[]>;
}
