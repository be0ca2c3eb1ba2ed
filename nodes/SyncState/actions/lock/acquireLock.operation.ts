import {
	NodeOperationError,
	sleep,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import type { LockLease, SyncStore } from '../../../engine/store/SyncStore';
import { forOperations } from '../../helpers/utils';
import { mapItems, requiredText } from '../../../shared/items';
import { lockOwnerProperty, lockResourceProperty } from './common.descriptions';

/** The first pause between two tries of a held lock; it doubles up to MAX_POLL_MS. */
const FIRST_POLL_MS = 25;
const MAX_POLL_MS = 250;

export const description: INodeProperties[] = forOperations(
	['acquireLock'],
	[
		lockResourceProperty,
		lockOwnerProperty,
		{
			displayName: 'Time to Live (Seconds)',
			name: 'ttlSeconds',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 300,
			description:
				'The lock expires after this long, so a crashed execution cannot block the sync for ever. Set it longer than a sync cycle takes.',
		},
		{
			displayName: 'When Already Locked',
			name: 'whenLocked',
			type: 'options',
			options: [
				{ name: 'Stop With an Error', value: 'error' },
				{
					name: 'Continue With Acquired = False',
					value: 'continue',
					description: 'Check {{ $json.acquired }} with an IF node, e.g. to skip this cycle',
				},
				{
					name: 'Wait Until Free',
					value: 'wait',
					description:
						'Try again until the holder releases the lock or it expires, then go on. For a lock per record, so that executions of one record (e.g. on several queue-mode workers) run one after the other.',
				},
			],
			default: 'continue',
		},
		{
			displayName: 'Max Wait (Seconds)',
			name: 'maxWaitSeconds',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 60,
			displayOptions: { show: { whenLocked: ['wait'] } },
			description:
				'Stop with an error when the lock is still held after this long. Make it longer than the Time to Live, so that the lock of a crashed execution expires first.',
		},
	],
);

/** Tries the lock until it is ours or `maxWaitMs` has passed, pausing longer each time (with jitter, so that waiters do not retry in step). */
async function acquireWaiting(store: SyncStore, syncId: string, resource: string, owner: string, ttlMs: number, maxWaitMs: number): Promise<LockLease> {
	const started = Date.now();
	let pauseMs = FIRST_POLL_MS;
	for (;;) {
		const lease = await store.acquireLock(syncId, resource, owner, ttlMs);
		const left = maxWaitMs - (Date.now() - started);
		if (lease.acquired || left <= 0) return lease;
		await sleep(Math.min(left, pauseMs / 2 + Math.random() * pauseMs));
		pauseMs = Math.min(MAX_POLL_MS, pauseMs * 2);
	}
}

export async function execute(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
	store: SyncStore,
	syncId: string,
): Promise<INodeExecutionData[]> {
	return await mapItems(this, items, async (_item, itemIndex) => {
		const resource = requiredText(this, 'lockName', itemIndex, 'Lock Name', 'Name what to lock, e.g. "cycle" for a whole sync cycle.');
		const owner = requiredText(this, 'owner', itemIndex, 'Owner', 'Set "Owner" to something unique to this execution, e.g. {{ $execution.id }}.');
		const ttlSeconds = this.getNodeParameter('ttlSeconds', itemIndex, 300) as number;
		const whenLocked = this.getNodeParameter('whenLocked', itemIndex, 'continue') as string;
		if (whenLocked === 'wait') {
			const maxWaitSeconds = this.getNodeParameter('maxWaitSeconds', itemIndex, 60) as number;
			const lease = await acquireWaiting(store, syncId, resource, owner, ttlSeconds * 1000, maxWaitSeconds * 1000);
			if (!lease.acquired) {
				throw new NodeOperationError(this.getNode(), `The lock "${resource}" was still held by "${lease.owner}" after waiting ${maxWaitSeconds} s`, {
					itemIndex,
					description: `Another execution holds it until ${lease.expiresAt}. Raise "Max Wait (Seconds)" above the holder's Time to Live, or find out why that execution takes so long (a lock that is never released expires after its Time to Live).`,
				});
			}
			return { syncId, ...lease };
		}
		const lease = await store.acquireLock(syncId, resource, owner, ttlSeconds * 1000);
		if (!lease.acquired && whenLocked === 'error') {
			throw new NodeOperationError(this.getNode(), `The lock "${resource}" is held by "${lease.owner}" until ${lease.expiresAt}`, {
				itemIndex,
				description: 'Another execution of this sync is running. Wait for it, or for the lock to expire, or choose "Continue With Acquired = False" to skip this cycle.',
			});
		}
		return { syncId, ...lease };
	});
}
