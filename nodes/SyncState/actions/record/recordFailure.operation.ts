import {
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import type { FailureInput, RetryPolicy, SyncStore } from '../../../engine/store/SyncStore';
import type { JsonObject, SyncMeta } from '../../../engine/types';
import { assertSameSync, resolveDetectedRecord, resolveSyncMeta, SYNC_FIELD, type ResolvedMeta } from '../../../shared/syncMeta';
import { forOperations, sourceBase } from '../../helpers/utils';
import { failedItem } from '../../../shared/items';

export const description: INodeProperties[] = forOperations(
	['recordFailure'],
	[
		{
			displayName:
				'Connect this to the error output of the write node. The change is queued and comes back from Get Due Retries after a delay that doubles with each attempt.',
			name: 'recordFailureNotice',
			type: 'notice',
			default: '',
		},
		{
			displayName: 'Error Message',
			name: 'errorMessage',
			type: 'string',
			default: '={{ $json.error?.message || $json.error?.description || $json.message || $json.error || "The write failed" }}',
			description:
				'What went wrong, kept with the queued change. n8n\'s error outputs put it in the "error" field, as text or as an object (the Postgres node\'s reason is in its description). An object is never stored whole: only its message, description or code is kept.',
		},
		{
			displayName: 'Max Attempts',
			name: 'maxAttempts',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 5,
			description: 'After this many failed attempts the change is dead-lettered: it is kept, but no longer retried',
		},
		{
			displayName: 'First Retry Delay (Seconds)',
			name: 'baseDelaySeconds',
			type: 'number',
			typeOptions: { minValue: 0 },
			default: 60,
			description: 'The delay before the first retry; each further retry waits twice as long',
		},
		{
			displayName: 'Longest Retry Delay (Seconds)',
			name: 'maxDelaySeconds',
			type: 'number',
			typeOptions: { minValue: 0 },
			default: 3600,
		},
	],
);

/** n8n's error outputs add the error to the failed item's JSON; it is not part of what to write. */
function withoutErrorFields(record: JsonObject): JsonObject {
	const { error: _error, ...rest } = record;
	return rest;
}

const NO_MESSAGE = 'The write failed without an error message';
/** Enough for any database or API message; the queue is no place for a stack or a payload. */
const MAX_ERROR_LENGTH = 2000;

function shortText(value: unknown): string | undefined {
	if (typeof value === 'number') return String(value);
	if (typeof value !== 'string') return undefined;
	const text = value.trim();
	if (text === '') return undefined;
	return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text;
}

/**
 * The text to keep for a failed write. An error object is never stored whole: n8n's error items
 * carry the node, its parameters and the credential's name and ID, which the queue must not hold.
 */
function errorText(value: unknown): string {
	if (value && typeof value === 'object' && !Array.isArray(value)) {
		const error = value as Record<string, unknown>;
		return shortText(error.message) ?? shortText(error.description) ?? shortText(error.code) ?? NO_MESSAGE;
	}
	return shortText(value) ?? NO_MESSAGE;
}

export async function execute(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
	store: SyncStore,
	syncId: string,
): Promise<INodeExecutionData[]> {
	const planned: Array<{ itemIndex: number; resolved: ResolvedMeta; failure: FailureInput }> = [];
	const failed = new Map<number, INodeExecutionData>();
	let policy: RetryPolicy | undefined;
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		try {
			policy ??= {
				maxAttempts: this.getNodeParameter('maxAttempts', itemIndex, 5) as number,
				baseDelayMs: (this.getNodeParameter('baseDelaySeconds', itemIndex, 60) as number) * 1000,
				maxDelayMs: (this.getNodeParameter('maxDelaySeconds', itemIndex, 3600) as number) * 1000,
			};
			const resolved = await resolveSyncMeta(this, itemIndex, items[itemIndex]);
			const target = resolved?.meta.target;
			if (!resolved || !target || resolved.meta.key === null) {
				throw new NodeOperationError(this.getNode(), 'This item has no sync metadata for a write, so it cannot be queued for retry', {
					itemIndex,
					description:
						"Connect Record Failure to the error output of a write node that follows a Conflict Resolver, Field Mapper or Get Due Retries node. On n8n's Postgres node, set Options > Query Batching to \"Independently\" so that failed items stay paired.",
				});
			}
			assertSameSync(this, resolved.meta, syncId, itemIndex);
			// The source's version goes with the queued change: Commit after a replay stores it as the
			// base, or the next merge would compare against an older one and see false conflicts.
			const detected = target.system !== resolved.meta.system ? await resolveDetectedRecord(this, itemIndex, resolved.meta.system) : undefined;
			const base = sourceBase(resolved.meta, detected?.record);
			const queuedMeta: SyncMeta = base ? { ...resolved.meta, sourceBase: base } : resolved.meta;
			planned.push({
				itemIndex,
				resolved,
				failure: {
					sourceSystem: resolved.meta.system,
					sourceKey: String(resolved.meta.key),
					targetSystem: target.system,
					targetKey: target.key,
					entityId: resolved.meta.entityId ?? null,
					op: target.op,
					payload: resolved.from === 'json' ? withoutErrorFields(resolved.record) : resolved.record,
					meta: queuedMeta as unknown as JsonObject,
					error: errorText(this.getNodeParameter('errorMessage', itemIndex, '')),
				},
			});
		} catch (error) {
			failed.set(itemIndex, failedItem(this, error, itemIndex));
		}
	}

	const entries = policy ? await store.recordFailures(syncId, planned.map((entry) => entry.failure), policy) : [];

	const output: INodeExecutionData[] = [];
	let next = 0;
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		const failure = failed.get(itemIndex);
		if (failure) {
			output.push(failure);
			continue;
		}
		const entry = entries[next];
		const { meta } = planned[next++].resolved;
		const queued: IDataObject = {
			...meta,
			status: entry.status === 'dead' ? 'dead-lettered' : 'failed',
			attempts: entry.attempts,
			nextAttemptAt: entry.status === 'dead' ? null : entry.nextAttemptAt,
			error: entry.error,
		};
		output.push({ json: { ...items[itemIndex].json, [SYNC_FIELD]: queued }, pairedItem: { item: itemIndex } });
	}
	return output;
}
