import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { SyncStore } from '../../engine/store/SyncStore';

export type AuditOperation = 'log' | 'query' | 'verifyChain' | 'summary';

/** What Query, Verify Chain and Summary export: their parameters and an execute that reads the store. */
export interface StoreOperationModule {
	description: INodeProperties[];
	execute(this: IExecuteFunctions, items: INodeExecutionData[], store: SyncStore, syncId: string): Promise<INodeExecutionData[]>;
}
