import { NodeOperationError, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import { validateSyncId } from '../../engine/store/identifiers';
import { toNodeError } from '../../shared/errors';
import { failedItem } from '../../shared/items';
import { withNodeStore } from '../../shared/store';
import type { AuditOperation, StoreOperationModule } from '../helpers/interfaces';
import * as log from './log.operation';
import * as query from './query.operation';
import * as summary from './summary.operation';
import * as verifyChain from './verifyChain.operation';

const readers: Record<Exclude<AuditOperation, 'log'>, StoreOperationModule> = { query, verifyChain, summary };

export const operationDescriptions: INodeProperties[] = [
	...log.description,
	...Object.values(readers).flatMap((operation) => operation.description),
];

/** Log answers on two outputs (items, events); the reading operations on one. */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const operation = this.getNodeParameter('operation', 0) as AuditOperation;
	let syncId: string;
	try {
		syncId = validateSyncId(this.getNodeParameter('syncId', 0, ''));
	} catch (error) {
		throw toNodeError(this.getNode(), error);
	}
	if (operation === 'log') return await log.execute.call(this, items, syncId);
	const module = readers[operation];
	if (!module) {
		throw new NodeOperationError(this.getNode(), `The operation "${operation}" is not supported`, {
			description: 'Choose an operation from the list; the workflow may come from a newer version of this package.',
		});
	}
	try {
		return [await withNodeStore(this, async (store) => await module.execute.call(this, items, store, syncId))];
	} catch (error) {
		// A store that cannot be opened: with Continue On Fail every item carries the error.
		if (!this.continueOnFail()) throw toNodeError(this.getNode(), error);
		return [items.map((_item, itemIndex) => failedItem(this, error, itemIndex))];
	}
}
