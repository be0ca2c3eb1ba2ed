import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { credentialTest } from '../shared/credentialTest';
import { metadataPlacementProperty, storeProperties, syncIdProperty, systemProperty } from '../shared/descriptions';
import { OUTPUTS_EXPRESSION } from './helpers/outputs';
import { runChangeDetector } from './helpers/run';
import { webhookSignatureTest } from '../shared/signatureSettings';

const operationOptions = [
	{ name: 'Create', value: 'create', description: 'The record was created (an already linked record counts as updated)' },
	{ name: 'Update', value: 'update', description: 'The record was changed (a record never synced counts as created)' },
	{ name: 'Create or Update', value: 'upsert', description: 'The record was saved: created or updated, as the sync state says' },
	{ name: 'Delete', value: 'delete', description: 'The record was deleted' },
	{ name: 'Ignore', value: 'ignore', description: 'The event changes nothing; it goes to Unchanged' },
];

export class ChangeDetector implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Change Detector',
		name: 'changeDetector',
		icon: { light: 'file:changeDetector.svg', dark: 'file:changeDetector.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["mode"] + ": " + $parameter["system"] }}',
		description: 'Find the records of a system that were created, updated or deleted since the last sync, without echoes of its own writes',
		defaults: { name: 'Change Detector' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: OUTPUTS_EXPRESSION,
		credentials: [
			{
				name: 'syncStatePostgresApi',
				required: true,
				testedBy: 'syncStatePostgresConnectionTest',
				displayOptions: { show: { store: ['postgres'] } },
			},
			{
				name: 'webhookSignatureApi',
				required: true,
				testedBy: 'webhookSignatureCheck',
				displayOptions: { show: { mode: ['event'], verifySignature: [true] } },
			},
		],
		properties: [
			...storeProperties,
			syncIdProperty,
			{ ...systemProperty, description: 'A short name for the system these records come from, e.g. "crm". Its records are compared with what this sync remembers of that system.' },
			{
				displayName: 'Mode',
				name: 'mode',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Snapshot', value: 'snapshot', description: 'The input is the records of the system, all of them or a part' },
					{ name: 'Incremental', value: 'incremental', description: 'The input is the records changed since the stored cursor' },
					{ name: 'Event', value: 'event', description: 'Each input item is one webhook event about one record' },
				],
				default: 'snapshot',
			},
			{
				displayName: 'Key Field(s)',
				name: 'keyFields',
				type: 'string',
				default: 'id',
				required: true,
				placeholder: 'id',
				description:
					'The field that identifies a record in this system. Several fields separated by commas form a composite key. Nested paths such as "data.id" work.',
			},

			// Snapshot
			{
				displayName: 'Input Is Full Snapshot',
				name: 'fullSnapshot',
				type: 'boolean',
				default: false,
				displayOptions: { show: { mode: ['snapshot'] } },
				description: 'Whether the input holds every record of the system. Only then are known records missing from it reported as deleted.',
			},
			{
				displayName:
					'Known records missing from the input go to Deleted. Make sure the read node returns every record (all pages), or a failed read looks like mass deletion.',
				name: 'fullSnapshotNotice',
				type: 'notice',
				default: '',
				displayOptions: { show: { mode: ['snapshot'], fullSnapshot: [true] } },
			},
			{
				displayName: 'Max Deletes (% of Known Records)',
				name: 'maxDeletePercent',
				type: 'number',
				default: 20,
				typeOptions: { minValue: 0, maxValue: 100 },
				displayOptions: { show: { mode: ['snapshot'], fullSnapshot: [true] } },
				description:
					'If a run would delete more than this share of the records the sync knows in this system, it stops with an error and emits nothing. This catches outages and pagination bugs.',
			},
			{
				displayName: 'Allow Mass Delete',
				name: 'allowMassDelete',
				type: 'boolean',
				default: false,
				displayOptions: { show: { mode: ['snapshot'], fullSnapshot: [true] } },
				description: 'Whether to let a run delete more than the share above. Turn it on for one run after checking the deletes are real, then off again.',
			},

			// Incremental
			{
				displayName: 'Cursor Field',
				name: 'cursorField',
				type: 'string',
				default: 'updated_at',
				required: true,
				placeholder: 'updated_at',
				displayOptions: { show: { mode: ['incremental'] } },
				description: 'The field that grows with every change of a record: a last-modified time or an increasing number',
			},
			{
				displayName: 'Cursor Type',
				name: 'cursorType',
				type: 'options',
				options: [
					{ name: 'Timestamp', value: 'timestamp', description: 'A date and time (ISO 8601, SQL, or Unix seconds or milliseconds)' },
					{ name: 'Number', value: 'number', description: 'An increasing number, e.g. a sequence or version' },
				],
				default: 'timestamp',
				displayOptions: { show: { mode: ['incremental'] } },
			},
			{
				displayName: 'Look-Back Window (Seconds)',
				name: 'lookBackSeconds',
				type: 'number',
				default: 300,
				typeOptions: { minValue: 0 },
				displayOptions: { show: { mode: ['incremental'], cursorType: ['timestamp'] } },
				description:
					'The next read starts this long before the newest change seen, to catch rows written late or by a server whose clock is behind. Records read again are recognised by their hash and not emitted twice.',
			},
			{
				displayName: 'Look-Back Amount',
				name: 'lookBackAmount',
				type: 'number',
				default: 0,
				typeOptions: { minValue: 0 },
				displayOptions: { show: { mode: ['incremental'], cursorType: ['number'] } },
				description: 'The next read starts this much below the highest number seen. Records read again are recognised by their hash.',
			},
			{
				displayName: 'Advance Cursor At End',
				name: 'advanceCursorAtEnd',
				type: 'boolean',
				default: false,
				displayOptions: { show: { mode: ['incremental'] } },
				description:
					'Whether this node stores the new cursor itself. Off (safer): every item carries it in _sync.cursor; store it with Sync State > Cursor > Set once the changes are committed, so a failed run reads them again. A run without changes always stores it.',
			},
			{
				displayName: 'Deleted Flag Field',
				name: 'deletedField',
				type: 'string',
				default: '',
				placeholder: 'deleted_at',
				displayOptions: { show: { mode: ['incremental'] } },
				description:
					'Optional. A field that marks a soft-deleted record (e.g. "deleted_at" set, or "is_deleted" true). Such records go to Deleted. Incremental reads cannot see hard deletes; use a full snapshot now and then for those.',
			},

			// Event
			{
				displayName: 'Record Field',
				name: 'recordField',
				type: 'string',
				default: 'body',
				placeholder: 'body.object',
				displayOptions: { show: { mode: ['event'] } },
				description: 'Where the record is inside each event item, e.g. "body" for a Webhook node, "body.object" for Parse Server. Empty: the whole item.',
			},
			{
				displayName: 'Operation From',
				name: 'opSource',
				type: 'options',
				options: [
					{ name: 'A Field of the Event', value: 'field' },
					{ name: 'Always the Same', value: 'fixed', description: 'E.g. a webhook that only fires on deletes' },
				],
				default: 'field',
				displayOptions: { show: { mode: ['event'] } },
			},
			{
				displayName: 'Operation Field',
				name: 'opField',
				type: 'string',
				default: '',
				required: true,
				placeholder: 'body.triggerName',
				displayOptions: { show: { mode: ['event'], opSource: ['field'] } },
				description:
					'The field naming what happened. Common names are understood without a mapping: create/insert, update/change, save/upsert, delete/remove, also as "contact.updated" or Parse\'s afterSave/afterDelete.',
			},
			{
				displayName: 'Event Mapping',
				name: 'eventMapping',
				type: 'fixedCollection',
				placeholder: 'Add Event Name',
				typeOptions: { multipleValues: true },
				default: {},
				displayOptions: { show: { mode: ['event'], opSource: ['field'] } },
				description: "Names of this system's events and what each means. These win over the common names.",
				options: [
					{
						displayName: 'Mapping',
						name: 'mappings',
						values: [
							{ displayName: 'Event Name', name: 'eventName', type: 'string', default: '', placeholder: 'afterSave' },
							{ displayName: 'Operation', name: 'op', type: 'options', options: operationOptions, default: 'upsert' },
						],
					},
				],
			},
			{
				displayName: 'Operation',
				name: 'fixedOp',
				type: 'options',
				options: operationOptions,
				default: 'upsert',
				displayOptions: { show: { mode: ['event'], opSource: ['fixed'] } },
			},
			{
				displayName: 'Is Own Write',
				name: 'ownWrite',
				type: 'boolean',
				default: false,
				displayOptions: { show: { mode: ['event'] } },
				description:
					"Whether the event reports a write this sync made itself. Set an expression that recognises the sync's writes by a mark its write nodes send, e.g. {{ $json.body.context?.syncWriter === 'contacts' }} for Parse Server's X-Parse-Cloud-Context header. Such events change nothing and go where echoes go; this catches the event that arrives before the sync has linked its new record, which the state cannot yet recognise.",
			},
			{
				displayName: 'Verify Signature',
				name: 'verifySignature',
				type: 'boolean',
				default: false,
				noDataExpression: true,
				displayOptions: { show: { mode: ['event'] } },
				description: 'Whether to check each event\'s signature with a Webhook Signature credential. Forged, stale and replayed events go to the Rejected output.',
			},
			{
				displayName:
					'Turn on "Raw Body" in the Webhook node\'s options: a signature covers the exact bytes sent, which only the raw body keeps.',
				name: 'rawBodyNotice',
				type: 'notice',
				default: '',
				displayOptions: { show: { mode: ['event'], verifySignature: [true] } },
			},
			{
				displayName: 'Raw Body Property',
				name: 'rawBodyProperty',
				type: 'string',
				default: 'data',
				displayOptions: { show: { mode: ['event'], verifySignature: [true] } },
				description: 'The binary property holding the raw request body ("data" with the Webhook node\'s "Raw Body" option)',
			},
			{
				displayName: 'Event ID',
				name: 'eventId',
				type: 'string',
				default: '',
				placeholder: "={{ $json.headers['x-request-id'] }}",
				displayOptions: { show: { mode: ['event'], verifySignature: [true] } },
				description:
					'Optional. An ID the sender gives each event: a second event with the same ID inside the tolerance window is rejected as a replay. Without it, a request repeated with the same timestamp and signature is. Without either a timestamp header or an event ID, replays cannot be detected.',
			},

			// In every mode
			{
				displayName: 'Compare',
				name: 'compare',
				type: 'options',
				options: [
					{ name: 'All Fields Except Ignored', value: 'all' },
					{ name: 'Only These Fields', value: 'only' },
				],
				default: 'all',
				description: 'Which fields count as the record\'s content. A change elsewhere is no change.',
			},
			{
				displayName: 'Fields to Ignore',
				name: 'ignoreFields',
				type: 'string',
				default: '',
				placeholder: 'updated_at, etag',
				displayOptions: { show: { compare: ['all'] } },
				description: 'Fields whose changes do not matter, separated by commas, e.g. timestamps and version tags. Nested paths such as "meta.etag" work.',
			},
			{
				displayName: 'Fields to Compare',
				name: 'compareFields',
				type: 'string',
				default: '',
				required: true,
				placeholder: 'name, email, address.city',
				displayOptions: { show: { compare: ['only'] } },
				description: 'The fields whose changes matter, separated by commas. Nested paths work.',
			},
			{
				displayName: 'Include Unchanged',
				name: 'includeUnchanged',
				type: 'boolean',
				default: false,
				noDataExpression: true,
				description: 'Whether to add an Unchanged output for records without changes, echoes of this sync\'s own writes included',
			},
			{
				displayName:
					'Unchanged records and echoes are dropped, so fewer items leave this node than enter it. Turn on "Include Unchanged" to see them.',
				name: 'unchangedNotice',
				type: 'notice',
				default: '',
				displayOptions: { show: { includeUnchanged: [false] } },
			},
			{
				displayName: 'Hold Back Recent Edits',
				name: 'holdBack',
				type: 'boolean',
				default: false,
				noDataExpression: true,
				displayOptions: { show: { mode: ['snapshot', 'incremental'] } },
				description:
					'Whether to hold back records edited in the last seconds, so half-typed values are not synced. They go to a Held Back output and are picked up by a later run.',
			},
			{
				displayName: 'Settle Time (Seconds)',
				name: 'settleSeconds',
				type: 'number',
				default: 60,
				typeOptions: { minValue: 0 },
				displayOptions: { show: { mode: ['snapshot', 'incremental'], holdBack: [true] } },
			},
			{
				displayName: 'Edited-At Field',
				name: 'settleField',
				type: 'string',
				default: 'updated_at',
				required: true,
				displayOptions: { show: { mode: ['snapshot', 'incremental'], holdBack: [true] } },
				description: 'The field holding when the record was last edited',
			},
			{
				displayName: 'On Invalid Record',
				name: 'onInvalid',
				type: 'options',
				options: [
					{
						name: 'Send to Errors Output',
						value: 'output',
						description: 'Records with a missing, invalid or duplicate key go to Errors with the reason',
					},
					{ name: 'Stop the Workflow', value: 'fail', description: 'Fail the run, naming the first invalid record' },
				],
				default: 'output',
			},
			{ ...metadataPlacementProperty, default: 'json' },
		],
	};

	methods = { credentialTest: { ...credentialTest, ...webhookSignatureTest } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await runChangeDetector(this);
	}
}
