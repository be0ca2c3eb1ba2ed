import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { validateSyncId } from '../../engine/store/identifiers';
import { toNodeError } from '../../shared/errors';
import { withNodeStore } from '../../shared/store';
import type { OperationModule, SyncStateOperation } from '../helpers/interfaces';
import { failedItem } from '../helpers/utils';
import * as acquireLock from './acquireLock.operation';
import * as commit from './commit.operation';
import * as getCursor from './getCursor.operation';
import * as getDueRetries from './getDueRetries.operation';
import * as link from './link.operation';
import * as lookUp from './lookUp.operation';
import * as recordFailure from './recordFailure.operation';
import * as releaseLock from './releaseLock.operation';
import * as reset from './reset.operation';
import * as setCursor from './setCursor.operation';
import * as stats from './stats.operation';
import * as unlink from './unlink.operation';

export const operations: Record<SyncStateOperation, OperationModule> = {
	lookUp,
	commit,
	recordFailure,
	getDueRetries,
	getCursor,
	setCursor,
	acquireLock,
	releaseLock,
	link,
	unlink,
	reset,
	stats,
};

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const operation = this.getNodeParameter('operation', 0) as SyncStateOperation;
	try {
		const syncId = validateSyncId(this.getNodeParameter('syncId', 0, ''));
		return [await withNodeStore(this, async (store) => await operations[operation].execute.call(this, items, store, syncId))];
	} catch (error) {
		// A store that cannot be opened, or a failed batch: with Continue On Fail every item
		// carries the error; otherwise the node fails with a message that says what to change.
		if (!this.continueOnFail()) throw toNodeError(this.getNode(), error);
		return [items.map((_item, itemIndex) => failedItem(this, error, itemIndex))];
	}
}
