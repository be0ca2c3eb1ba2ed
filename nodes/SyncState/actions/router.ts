import { NodeOperationError, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import { validateSyncId } from '../../engine/store/identifiers';
import { toNodeError } from '../../shared/errors';
import { withNodeStore } from '../../shared/store';
import type { OperationModule, SyncStateResource } from '../helpers/interfaces';
import { failedItem } from '../../shared/items';
import * as cursor from './cursor/Cursor.resource';
import * as lock from './lock/Lock.resource';
import * as record from './record/Record.resource';
import * as retryQueue from './retryQueue/RetryQueue.resource';
import * as sync from './sync/Sync.resource';

const resources: Record<SyncStateResource, { operations: Record<string, OperationModule>; description: INodeProperties[] }> = {
	record,
	retryQueue,
	cursor,
	lock,
	sync,
};

const FEEDS_WRITE_NODES = new Set(['getDueRetries']);

export const resourceDescriptions: INodeProperties[] = Object.values(resources).flatMap((resource) => resource.description);

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const resource = this.getNodeParameter('resource', 0) as SyncStateResource;
	const operation = this.getNodeParameter('operation', 0) as string;
	const module = resources[resource]?.operations[operation];
	if (!module) {
		throw new NodeOperationError(this.getNode(), `The operation "${operation}" is not supported for "${resource}"`, {
			description: 'Choose an operation from the list; the workflow may come from a newer version of this package.',
		});
	}
	try {
		const syncId = validateSyncId(this.getNodeParameter('syncId', 0, ''));
		return [await withNodeStore(this, async (store) => await module.execute.call(this, items, store, syncId))];
	} catch (error) {
		// A store that cannot be opened, or a failed batch: with Continue On Fail every item
		// carries the error; otherwise the node fails with a message that says what to change.
		const nodeError = toNodeError(this.getNode(), error);
		if (!this.continueOnFail()) throw nodeError;
		if (FEEDS_WRITE_NODES.has(operation)) {
			// The next node writes records: error items must never reach it. The queued changes stay
			// in the store for the next run; the error shows as a warning on this node.
			this.addExecutionHints({ message: `${nodeError.message}. ${nodeError.description ?? ''}`.trim(), type: 'warning', location: 'outputPane' });
			return [[]];
		}
		return [items.map((_item, itemIndex) => failedItem(this, nodeError, itemIndex))];
	}
}
