import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

export type FieldMapperOperation = 'map' | 'validate' | 'exportRules';

/** What each `<op>.operation.ts` exports: its parameters and its execute, which fills both outputs (Mapped, Invalid). */
export interface OperationModule {
	description: INodeProperties[];
	execute(this: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[][]>;
}
