import { NodeOperationError, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import { errorJson, toNodeError } from '../../shared/errors';
import type { FieldMapperOperation, OperationModule } from '../helpers/interfaces';
import * as exportRules from './exportRules.operation';
import * as map from './map.operation';
import * as validate from './validate.operation';

const operations: Record<FieldMapperOperation, OperationModule> = { map, validate, exportRules };

export const operationDescriptions: INodeProperties[] = Object.values(operations).flatMap((operation) => operation.description);

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const operation = this.getNodeParameter('operation', 0) as FieldMapperOperation;
	const module = operations[operation];
	if (!module) {
		throw new NodeOperationError(this.getNode(), `The operation "${operation}" is not supported`, {
			description: 'Choose an operation from the list; the workflow may come from a newer version of this package.',
		});
	}
	try {
		return await module.execute.call(this, items);
	} catch (error) {
		// Map sends failed items to Invalid itself; Validate and Export output a single item, so does their error.
		const nodeError = toNodeError(this.getNode(), error);
		if (!this.continueOnFail()) throw nodeError;
		return [[{ json: errorJson(nodeError), pairedItem: items.map((_item, itemIndex) => ({ item: itemIndex })) }], []];
	}
}
