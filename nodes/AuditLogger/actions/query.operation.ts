import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { AuditOrder, AuditQuery, AuditStatus, ChainedAuditEvent } from '../../engine/audit/types';
import type { SyncStore } from '../../engine/store/SyncStore';
import { mapItemsToMany, userTime } from '../helpers/items';
import { forOperations } from '../helpers/utils';

/** The page size when "Return All" reads the whole result. */
const PAGE_SIZE = 500;

const STATUS_OPTIONS = [
	{ name: 'Applied', value: 'applied' },
	{ name: 'Conflict', value: 'conflict' },
	{ name: 'Echo', value: 'echo' },
	{ name: 'Failed', value: 'failed' },
	{ name: 'Skipped', value: 'skipped' },
];

export const description: INodeProperties[] = forOperations(
	['query'],
	[
		{
			displayName: 'System',
			name: 'system',
			type: 'string',
			default: '',
			placeholder: 'crm',
			description: 'Only events where this system is the source or the target',
		},
		{
			displayName: 'Key',
			name: 'key',
			type: 'string',
			default: '',
			description: "Only events of the record with this key (in System, if set). A key that a redaction rule hashed or masked is stored that way: search for the redacted form.",
		},
		{
			displayName: 'Entity ID',
			name: 'entityId',
			type: 'string',
			default: '',
			description: 'Only events of this entity (its entity ID or correlation ID), across all systems',
		},
		{
			displayName: 'Statuses',
			name: 'statuses',
			type: 'multiOptions',
			options: STATUS_OPTIONS,
			default: [],
			description: 'Only events with one of these statuses. None chosen: all.',
		},
		{
			displayName: 'Ops',
			name: 'ops',
			type: 'multiOptions',
			options: [
				{ name: 'Create', value: 'create' },
				{ name: 'Delete', value: 'delete' },
				{ name: 'None', value: 'none', description: 'Echoes and skipped records' },
				{ name: 'Update', value: 'update' },
			],
			default: [],
			description: 'Only events of these ops. None chosen: all.',
		},
		{
			displayName: 'From',
			name: 'from',
			type: 'dateTime',
			default: '',
			description: 'Only events logged at or after this time',
		},
		{
			displayName: 'To',
			name: 'to',
			type: 'dateTime',
			default: '',
			description: 'Only events logged before this time',
		},
		{
			displayName: 'Order',
			name: 'order',
			type: 'options',
			options: [
				{ name: 'Newest First', value: 'newest' },
				{ name: 'Oldest First', value: 'oldest' },
			],
			default: 'newest',
		},
		{
			displayName: 'Return All',
			name: 'returnAll',
			type: 'boolean',
			default: false,
			description: 'Whether to return all results or only up to a given limit',
		},
		{
			displayName: 'Limit',
			name: 'limit',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 50,
			description: 'Max number of results to return',
			displayOptions: { show: { returnAll: [false] } },
		},
		{
			displayName: 'Start After Seq',
			name: 'after',
			type: 'number',
			typeOptions: { minValue: 0 },
			default: 0,
			description: 'For the next page: the seq of the last event of the previous page. 0 starts at the first page.',
		},
	],
);

function optionalText(ctx: IExecuteFunctions, name: string, itemIndex: number): string | undefined {
	const value = String(ctx.getNodeParameter(name, itemIndex, '') ?? '').trim();
	return value === '' ? undefined : value;
}

function queryFor(ctx: IExecuteFunctions, itemIndex: number): { query: AuditQuery; returnAll: boolean } {
	const returnAll = ctx.getNodeParameter('returnAll', itemIndex, false) as boolean;
	const after = Number(ctx.getNodeParameter('after', itemIndex, 0));
	return {
		returnAll,
		query: {
			system: optionalText(ctx, 'system', itemIndex),
			key: optionalText(ctx, 'key', itemIndex),
			entityId: optionalText(ctx, 'entityId', itemIndex),
			statuses: ctx.getNodeParameter('statuses', itemIndex, []) as AuditStatus[],
			ops: ctx.getNodeParameter('ops', itemIndex, []) as AuditQuery['ops'],
			from: userTime(ctx, 'from', itemIndex, 'From'),
			to: userTime(ctx, 'to', itemIndex, 'To'),
			order: ctx.getNodeParameter('order', itemIndex, 'newest') as AuditOrder,
			after: after > 0 ? after : undefined,
			limit: returnAll ? PAGE_SIZE : Number(ctx.getNodeParameter('limit', itemIndex, 50)),
		},
	};
}

/** Reads the events page by page, each page starting after the last seq of the one before. */
async function readAll(store: SyncStore, syncId: string, query: AuditQuery): Promise<ChainedAuditEvent[]> {
	const events: ChainedAuditEvent[] = [];
	let after = query.after;
	for (;;) {
		const page = await store.queryAudit(syncId, { ...query, after });
		events.push(...page);
		if (page.length < query.limit) return events;
		after = page[page.length - 1].seq;
	}
}

export async function execute(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
	store: SyncStore,
	syncId: string,
): Promise<INodeExecutionData[]> {
	return await mapItemsToMany(this, items, async (_item, itemIndex) => {
		const { query, returnAll } = queryFor(this, itemIndex);
		const events = returnAll ? await readAll(store, syncId, query) : await store.queryAudit(syncId, query);
		return events as unknown as IDataObject[];
	});
}
