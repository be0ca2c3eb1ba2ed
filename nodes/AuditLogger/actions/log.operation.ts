import {
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import { buildAuditEvent, isAuditStatus, type EventContext } from '../../engine/audit/event';
import { Redactor } from '../../engine/audit/redact';
import type { AuditEvent } from '../../engine/audit/types';
import type { JsonObject } from '../../engine/types';
import { toNodeError } from '../../shared/errors';
import { failedItem } from '../../shared/items';
import { withNodeStore } from '../../shared/store';
import { assertSameSync, resolveSyncMeta } from '../../shared/syncMeta';
import { redactionSettingsFrom } from '../helpers/redaction';
import { deliverToHttp, writeAuditFile, type HttpDeliveryReport } from '../helpers/sinks';
import { forOperations } from '../helpers/utils';

export type Sink = 'output' | 'store' | 'file' | 'http';

const REDACTION_METHODS = [
	{ name: 'Mask', value: 'mask', description: 'Keep a hint, e.g. j***@x.com or ****1111' },
	{ name: 'Hash', value: 'hash', description: 'A keyed HMAC: equal values stay joinable, but cannot be read' },
	{ name: 'Drop', value: 'drop', description: 'Leave the value out' },
];

export const description: INodeProperties[] = forOperations(
	['log'],
	[
		{
			displayName:
				'Place this after Sync State (Commit or Record Failure), a Conflict Resolver\'s Needs Review output, or a Change Detector. Output 1 passes the items on unchanged; output 2 carries one audit event per item.',
			name: 'logNotice',
			type: 'notice',
			default: '',
		},
		{
			displayName: 'Sinks',
			name: 'sinks',
			type: 'multiOptions',
			options: [
				{ name: 'HTTP Endpoint', value: 'http', description: 'POST the events to a SIEM or log collector (Audit HTTP Sink credential)' },
				{ name: 'JSON Lines File', value: 'file', description: 'Append one line per event to a file, rotated by size' },
				{ name: 'Node Output', value: 'output', description: 'Emit the events on the second output' },
				{ name: 'Sync State Store', value: 'store', description: 'Append the events to the hash-chained audit table of the store' },
			],
			default: ['output', 'store'],
			description: 'Where the events go. The store keeps the tamper-evident chain that Query, Verify Chain and Summary read.',
		},
		{
			displayName: 'Status',
			name: 'status',
			type: 'options',
			options: [
				{ name: 'Applied', value: 'applied' },
				{ name: 'Automatic', value: 'auto', description: 'From the items: _sync.status, a Needs Review or Invalid item, or op none (echo)' },
				{ name: 'Conflict', value: 'conflict' },
				{ name: 'Echo', value: 'echo' },
				{ name: 'Failed', value: 'failed' },
				{ name: 'Skipped', value: 'skipped' },
			],
			default: 'auto',
			description: 'The status the events get. Automatic reads it from the items: Commit gives applied, Record Failure failed, Needs Review conflict, a Field Mapper\'s Invalid skipped, an echo from the Change Detector echo.',
		},
		{
			displayName: 'Log Only Changed Fields',
			name: 'logOnlyChangedFields',
			type: 'boolean',
			default: true,
			description: 'Whether to record only the changed fields (before and after). Off: the whole record is kept too, after redaction.',
		},
		{
			displayName: 'Secret-Like Fields',
			name: 'secretFields',
			type: 'options',
			options: REDACTION_METHODS.map((method) =>
				method.value === 'mask' ? { ...method, description: 'Replace the value with ***' } : method,
			),
			default: 'mask',
			description:
				'Fields whose name contains password, secret, token, API key, authorization, private key or access key (in any case, at any depth) are never logged in clear',
		},
		{
			displayName: 'Redaction Rules',
			name: 'redaction',
			type: 'fixedCollection',
			typeOptions: { multipleValues: true, sortable: true },
			placeholder: 'Add Rule',
			default: {},
			description: 'Personal data to keep out of the audit trail. The first field rule that matches a field applies; patterns apply to every text value.',
			options: [
				{
					displayName: 'Rule',
					name: 'rules',
					values: [
						{
							displayName: 'Match',
							name: 'match',
							type: 'options',
							options: [
								{ name: 'Card Number', value: 'cardNumber', description: '13 to 19 digits that pass the Luhn check' },
								{ name: 'Custom Pattern', value: 'custom', description: 'A regular expression' },
								{ name: 'Email Address', value: 'email' },
								{ name: 'Field Name', value: 'field', description: 'Fields with these names, at any depth' },
								{ name: 'Phone Number', value: 'phone', description: '7 to 15 digits written with + or 0 in front, or with separators' },
							],
							default: 'field',
						},
						{
							displayName: 'Field Names',
							name: 'fields',
							type: 'string',
							default: '',
							placeholder: 'email, birthDate, address.street',
							description: 'Comma-separated. A plain name matches at any depth; a dotted path matches that path only.',
							displayOptions: { show: { match: ['field'] } },
						},
						{
							displayName: 'Regular Expression',
							name: 'regex',
							type: 'string',
							default: '',
							placeholder: 'DE\\d{20}',
							description: 'JavaScript syntax, without the surrounding slashes',
							displayOptions: { show: { match: ['custom'] } },
						},
						{
							displayName: 'Method',
							name: 'method',
							type: 'options',
							options: REDACTION_METHODS,
							default: 'mask',
						},
					],
				},
			],
		},
		{
			displayName: 'Hash Key',
			name: 'hashKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				'The secret key of the Hash method. Needed only when a rule hashes. Keep it the same across runs, or equal values stop giving equal hashes. Use an expression such as {{ $secrets.vault.auditKey }} to keep it out of the workflow.',
		},
		{
			displayName: 'File Path',
			name: 'filePath',
			type: 'string',
			default: '',
			placeholder: 'audit/contacts.jsonl',
			description: 'Leave empty for two-way-sync-audit.jsonl in the n8n user folder. A relative path starts there too.',
			displayOptions: { show: { sinks: ['file'] } },
		},
		{
			displayName: 'Max File Size (MB)',
			name: 'maxFileSizeMb',
			type: 'number',
			typeOptions: { minValue: 0.001, numberPrecision: 3 },
			default: 10,
			description: 'When the file would grow past this size, it is renamed to .1 (older ones to .2, ...) and a new file is started',
			displayOptions: { show: { sinks: ['file'] } },
		},
		{
			displayName: 'Max Files',
			name: 'maxFiles',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 5,
			description: 'Files kept in all, the current one included; the oldest is deleted on rotation',
			displayOptions: { show: { sinks: ['file'] } },
		},
		{
			displayName: 'The file is written by this n8n process. In queue mode, or with several n8n instances, prefer the store or the HTTP endpoint.',
			name: 'fileNotice',
			type: 'notice',
			default: '',
			displayOptions: { show: { sinks: ['file'] } },
		},
		{
			displayName: 'Sign Body',
			name: 'signBody',
			type: 'boolean',
			default: false,
			description: 'Whether to sign each request body with an HMAC from a Webhook Signature credential, so the endpoint can check it came from here',
			displayOptions: { show: { sinks: ['http'] } },
		},
		{
			displayName: 'HTTP Options',
			name: 'httpOptions',
			type: 'collection',
			placeholder: 'Add Option',
			default: {},
			displayOptions: { show: { sinks: ['http'] } },
			options: [
				{
					displayName: 'Batch Size',
					name: 'batchSize',
					type: 'number',
					typeOptions: { minValue: 1 },
					default: 100,
					description: 'Events per request',
				},
				{
					displayName: 'Body Format',
					name: 'bodyFormat',
					type: 'options',
					options: [
						{ name: 'JSON Array', value: 'jsonArray' },
						{ name: 'JSON Lines', value: 'jsonLines', description: 'One event per line (application/x-ndjson)' },
					],
					default: 'jsonArray',
				},
				{
					displayName: 'Max Attempts',
					name: 'maxAttempts',
					type: 'number',
					typeOptions: { minValue: 1 },
					default: 3,
					description: 'Attempts per request in this run. Events still not delivered are kept in the store and sent first in the next run.',
				},
				{
					displayName: 'Max Queued Events per Run',
					name: 'maxQueuedPerRun',
					type: 'number',
					typeOptions: { minValue: 1 },
					default: 1000,
					description: 'How many of the kept events one run sends; newer events wait behind the rest',
				},
				{
					displayName: 'Retry Delay (Ms)',
					name: 'retryDelayMs',
					type: 'number',
					typeOptions: { minValue: 0 },
					default: 1000,
					description: 'The wait before the second attempt; each further attempt waits twice as long',
				},
				{
					displayName: 'Timeout (Ms)',
					name: 'timeoutMs',
					type: 'number',
					typeOptions: { minValue: 1 },
					default: 10000,
				},
			],
		},
		{
			displayName: 'Options',
			name: 'logOptions',
			type: 'collection',
			placeholder: 'Add Option',
			default: {},
			options: [
				{
					displayName: 'Before Values',
					name: 'beforeValues',
					type: 'json',
					default: '{}',
					description:
						'The record as it was before the change, for the "before" values, e.g. {{ $(\'Look Up\').item.json.syncState.records.erp.base }}. Without it, "before" is known only when a node before set _sync.before.',
				},
			],
		},
	],
);

function parseBefore(ctx: IExecuteFunctions, value: unknown, itemIndex: number): JsonObject | null {
	if (value === undefined || value === null || value === '') return null;
	let parsed: unknown = value;
	if (typeof value === 'string') {
		try {
			parsed = JSON.parse(value);
		} catch (error) {
			throw new NodeOperationError(ctx.getNode(), `"Before Values" is not valid JSON: ${(error as Error).message}`, {
				itemIndex,
				description: 'Give an object (e.g. an expression that returns the previous record), or leave it empty.',
			});
		}
	}
	if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
		throw new NodeOperationError(ctx.getNode(), '"Before Values" is not an object', {
			itemIndex,
			description: 'Give the previous record as an object, e.g. {{ $json.previous }}, or leave it empty.',
		});
	}
	return Object.keys(parsed).length === 0 ? null : (parsed as JsonObject);
}

function eventContext(ctx: IExecuteFunctions, syncId: string): Omit<EventContext, 'now'> {
	const workflow = ctx.getWorkflow();
	let node: string | null = null;
	try {
		node = ctx.getInputSourceData(0)?.previousNode ?? null;
	} catch {
		// A node run without an input connection (e.g. as a tool) has no previous node to name.
		node = null;
	}
	return {
		syncId,
		executionId: ctx.getExecutionId() ?? null,
		workflowId: workflow.id ? String(workflow.id) : null,
		workflowName: workflow.name ?? null,
		node: node ?? ctx.getNode().name,
	};
}

async function eventFor(
	ctx: IExecuteFunctions,
	item: INodeExecutionData,
	itemIndex: number,
	syncId: string,
	context: Omit<EventContext, 'now'>,
	redactor: Redactor,
): Promise<AuditEvent> {
	const resolved = await resolveSyncMeta(ctx, itemIndex, item);
	if (!resolved) {
		throw new NodeOperationError(ctx.getNode(), 'This item has no sync metadata, so there is nothing to log', {
			itemIndex,
			description:
				'The Audit Logger logs items that passed a node of this package (Change Detector, Field Mapper, Conflict Resolver or Sync State). Connect it after one of them, and keep the items paired.',
		});
	}
	const { meta } = resolved;
	assertSameSync(ctx, meta, syncId, itemIndex);
	// Metadata found upstream comes with the upstream record; the error a node before (e.g. Commit
	// with Continue On Fail) put on this item is this item's own, and makes the event a failure.
	const itemError = item.json.error;
	const record =
		resolved.from !== 'json' && typeof itemError === 'string' && itemError !== '' ? { ...resolved.record, error: itemError } : resolved.record;
	const status = ctx.getNodeParameter('status', itemIndex, 'auto') as string;
	const before = parseBefore(ctx, ctx.getNodeParameter('logOptions.beforeValues', itemIndex, ''), itemIndex);
	const event = buildAuditEvent(
		{
			meta,
			record,
			before,
			status: isAuditStatus(status) ? status : undefined,
			onlyChangedFields: ctx.getNodeParameter('logOnlyChangedFields', itemIndex, true) as boolean,
		},
		{ ...context, now: new Date() },
	);
	// Nothing unredacted goes further than this line.
	return redactor.redactEvent(event);
}

function deliveryHint(ctx: IExecuteFunctions, report: HttpDeliveryReport): void {
	if (report.waiting === 0) return;
	ctx.addExecutionHints({
		type: 'warning',
		location: 'outputPane',
		message: `${report.waiting} audit event(s) could not be sent to the HTTP endpoint (${report.error ?? 'unknown error'}). They are kept in the store and sent first on the next run.`,
	});
}

/** Returns [pass-through items, events]. */
export async function execute(this: IExecuteFunctions, items: INodeExecutionData[], syncId: string): Promise<INodeExecutionData[][]> {
	const sinks = new Set(this.getNodeParameter('sinks', 0, []) as Sink[]);
	if (sinks.size === 0) {
		throw new NodeOperationError(this.getNode(), 'No sink is chosen, so the events would go nowhere', {
			description: 'Choose at least one sink in "Sinks", e.g. Sync State Store.',
		});
	}
	let redactor: Redactor;
	try {
		redactor = new Redactor(redactionSettingsFrom(this));
	} catch (error) {
		throw toNodeError(this.getNode(), error);
	}
	const context = eventContext(this, syncId);

	const passThrough: INodeExecutionData[] = [];
	const logged: Array<{ itemIndex: number; event: AuditEvent }> = [];
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		try {
			logged.push({ itemIndex, event: await eventFor(this, items[itemIndex], itemIndex, syncId, context, redactor) });
			passThrough.push({ ...items[itemIndex], pairedItem: { item: itemIndex } });
		} catch (error) {
			passThrough.push(failedItem(this, error, itemIndex));
		}
	}

	let events = logged.map((entry) => entry.event);
	try {
		if (sinks.has('store') || sinks.has('http')) {
			await withNodeStore(this, async (store) => {
				// The store first: the other sinks then carry each event's place in the chain (seq, hash).
				if (sinks.has('store')) events = await store.appendAudit(syncId, events);
				if (sinks.has('file')) writeAuditFile(this, events);
				if (sinks.has('http')) deliveryHint(this, await deliverToHttp(this, store, syncId, events));
			});
		} else if (sinks.has('file')) {
			writeAuditFile(this, events);
		}
	} catch (error) {
		if (!this.continueOnFail()) throw toNodeError(this.getNode(), error);
		return [items.map((_item, itemIndex) => failedItem(this, error, itemIndex)), []];
	}

	const eventItems = sinks.has('output')
		? events.map((event, index) => ({ json: event as unknown as IDataObject, pairedItem: { item: logged[index].itemIndex } }))
		: [];
	return [passThrough, eventItems];
}
