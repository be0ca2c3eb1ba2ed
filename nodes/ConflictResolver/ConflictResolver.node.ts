import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { knownThroughX, resolveChanges, type SideChange } from '../engine/resolver';
import type { EntityState } from '../engine/store/SyncStore';
import { credentialTest } from '../shared/credentialTest';
import { storeProperties, syncIdProperty } from '../shared/descriptions';
import { toNodeError } from '../shared/errors';
import { withNodeStore } from '../shared/store';
import { customRuleEvaluator } from './helpers/customRule';
import { readChangesFromX, readChangesFromY, type InputFailure } from './helpers/inputs';
import { readSettings } from './helpers/options';
import { buildOutputs, OUTPUTS_EXPRESSION } from './helpers/outputs';

const deletePolicyOptions = [
	{ name: 'Apply the Delete', value: 'propagate', description: 'Delete the record in the other system too' },
	{ name: 'Archive Instead', value: 'archive', description: 'Set the archive field (Options) in the other system instead of deleting' },
	{ name: 'Hold for Review', value: 'hold', description: 'Send it to Needs Review until a person confirms' },
	{ name: 'Ignore', value: 'ignore', description: 'Keep the record in the other system' },
];

/** The items of one input; an input that is not connected (input 2 is optional) has none. */
function inputItems(ctx: IExecuteFunctions, input: 0 | 1): INodeExecutionData[] {
	try {
		return ctx.getInputData(input) ?? [];
	} catch {
		return [];
	}
}

export class ConflictResolver implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Conflict Resolver',
		name: 'conflictResolver',
		icon: { light: 'file:conflictResolver.svg', dark: 'file:conflictResolver.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ "Strategy: " + $parameter["strategy"] }}',
		description:
			'Merge the changes of two systems field by field against the last synced version, and emit the writes that make both agree',
		defaults: { name: 'Conflict Resolver' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		inputNames: ['Changes From X', 'Changes From Y'],
		outputs: OUTPUTS_EXPRESSION,
		credentials: [
			{
				name: 'syncStatePostgresApi',
				required: true,
				testedBy: 'syncStatePostgresConnectionTest',
				displayOptions: { show: { store: ['postgres'] } },
			},
		],
		properties: [
			{
				displayName:
					"Input 1: System X's changes, mapped into Y's schema by a Field Mapper. Input 2 (optional): System Y's changes from its Change Detector (Sync Metadata: In JSON), or its current records. Join a detector's outputs with a Merge node (Append) so each input gets one stream. Apply to Y feeds Y's write node; Apply to X goes through a Field Mapper (Y to X) to X's write node; put Sync State Commit after each write.",
				name: 'wiringNotice',
				type: 'notice',
				default: '',
			},
			...storeProperties,
			syncIdProperty,
			{
				displayName: 'System X',
				name: 'systemX',
				type: 'string',
				default: '',
				required: true,
				placeholder: 'crm',
				description: "The system whose changes arrive on input 1, named as in its Change Detector",
			},
			{
				displayName: 'System Y',
				name: 'systemY',
				type: 'string',
				default: '',
				required: true,
				placeholder: 'erp',
				description: "The system the changes are applied to, whose schema the records are in. Its own changes (or current records) arrive on input 2.",
			},
			{
				displayName: 'Key Field of Y Records',
				name: 'yKeyField',
				type: 'string',
				default: 'id',
				placeholder: 'id',
				description:
					"The field holding a Y record's ID. It identifies input 2 records that carry no sync metadata, and it is added to updates and deletes on Apply to Y so the write node can address the record. Leave empty to add nothing.",
			},
			{
				displayName: 'Match Unlinked Records On',
				name: 'matchFields',
				type: 'string',
				default: '',
				placeholder: 'email',
				description:
					"Fields of Y's schema (comma-separated) that pair records that exist on both sides but are not linked yet, e.g. on the first run. Leave empty to create every unlinked record on the other side. A record matching several goes to Needs Review.",
			},
			{
				displayName: 'Match Ignoring Case and Spaces',
				name: 'matchIgnoringCase',
				type: 'boolean',
				default: true,
				description: 'Whether " Ada@Example.com" matches "ada@example.com"',
			},
			{
				displayName: 'Conflict Strategy',
				name: 'strategy',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Field-Level Three-Way Merge',
						value: 'merge',
						description:
							'A field changed on one side only takes that change; a field changed on both sides to different values is settled by the tie strategy',
					},
					{
						name: 'Last Write Wins (Whole Record)',
						value: 'lastWriteWins',
						description: "When both changed the record, the newer side's version wins every field",
					},
					{
						name: 'Manual Review',
						value: 'manual',
						description: 'Merge where safe; fields changed on both sides to different values go to Needs Review',
					},
					{
						name: 'System Priority (Whole Record)',
						value: 'priority',
						description: "When both changed the record, the priority system's version wins every field",
					},
				],
				default: 'merge',
			},
			{
				displayName: 'When Both Changed a Field',
				name: 'tieStrategy',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { strategy: ['merge'] } },
				options: [
					{ name: 'Last Write Wins', value: 'lastWriteWins', description: 'The side that changed the record later wins the field' },
					{ name: 'Manual Review', value: 'manual', description: 'Send the record to Needs Review' },
					{ name: 'System Priority', value: 'priority', description: 'The priority system wins the field' },
				],
				default: 'priority',
			},
			{
				displayName: 'Priority System',
				name: 'prioritySystem',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'System X', value: 'x' },
					{ name: 'System Y', value: 'y' },
				],
				default: 'x',
				description:
					'Wins under system priority, and settles last write wins when the change times are missing or within the clock-skew tolerance',
			},
			{
				displayName: 'X Timestamp Field',
				name: 'xTimestampField',
				type: 'string',
				default: '',
				placeholder: 'updatedAt',
				displayOptions: { show: { strategy: ['merge', 'lastWriteWins'] } },
				description:
					"For last write wins: the field with the time X changed the record, in the mapped record or in X's own record as its Change Detector read it. Nested paths such as \"meta.updated\" work.",
			},
			{
				displayName: 'Y Timestamp Field',
				name: 'yTimestampField',
				type: 'string',
				default: '',
				placeholder: 'updated_at',
				displayOptions: { show: { strategy: ['merge', 'lastWriteWins'] } },
				description: "For last write wins: the field of Y's records with the time Y changed the record",
			},
			{
				displayName: 'Clock Skew Tolerance (Ms)',
				name: 'clockSkewMs',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 1000,
				displayOptions: { show: { strategy: ['merge', 'lastWriteWins'] } },
				description:
					"Changes made at most this many milliseconds apart count as concurrent: the clocks of two systems are never exactly in step, so the priority system wins",
			},
			{
				displayName: 'Field Rules',
				name: 'fieldRules',
				type: 'fixedCollection',
				typeOptions: { multipleValues: true, sortable: true },
				placeholder: 'Add Field Rule',
				default: {},
				description:
					'Rules for single fields that override the strategy. Ownership always applies; the other rules decide only when both systems changed the field to different values.',
				options: [
					{
						displayName: 'Rule',
						name: 'rule',
						values: [
							{
								displayName: 'Field',
								name: 'field',
								type: 'string',
								default: '',
								placeholder: 'phone',
								noDataExpression: true,
								description: "A top-level field of Y's records",
							},
							{
								displayName: 'Rule',
								name: 'kind',
								type: 'options',
								noDataExpression: true,
								options: [
									{ name: 'Custom Expression', value: 'custom', description: 'An expression returns the winning value' },
									{ name: 'Last Write Wins', value: 'lastWriteWins', description: 'The side that changed the record later wins' },
									{ name: 'Manual Review', value: 'manual', description: 'Send the record to Needs Review' },
									{ name: 'Owned by System X', value: 'ownerX', description: "X's value always wins; edits made in Y are reverted" },
									{ name: 'Owned by System Y', value: 'ownerY', description: "Y's value always wins; edits made in X are reverted" },
									{ name: 'Prefer System X', value: 'preferX', description: 'X wins when both changed the field' },
									{ name: 'Prefer System Y', value: 'preferY', description: 'Y wins when both changed the field' },
								],
								default: 'ownerX',
							},
							{
								displayName: 'Winning Value',
								name: 'expression',
								type: 'string',
								default: '={{ $remote }}',
								displayOptions: { show: { kind: ['custom'] } },
								description:
									"An expression returning the field's value. $local is the value in System Y, $remote the incoming value from System X, $base the last synced value; $json is the incoming item.",
								hint: 'E.g. {{ Math.max($local, $remote) }} or {{ $remote || $local }}',
							},
						],
					},
				],
			},
			{
				displayName: 'Deletes Made in X',
				name: 'deletesFromX',
				type: 'options',
				noDataExpression: true,
				options: deletePolicyOptions,
				default: 'propagate',
				description: 'What happens in Y when a record is deleted in X',
			},
			{
				displayName: 'Deletes Made in Y',
				name: 'deletesFromY',
				type: 'options',
				noDataExpression: true,
				options: deletePolicyOptions,
				default: 'propagate',
				description: 'What happens in X when a record is deleted in Y',
			},
			{
				displayName: 'Update Versus Delete',
				name: 'updateVersusDelete',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Update Wins',
						value: 'updateWins',
						description: 'A record deleted on one side but changed on the other is created again where it was deleted',
					},
					{
						name: 'Delete Wins',
						value: 'deleteWins',
						description: 'The delete policy applies even though the other side changed the record',
					},
				],
				default: 'updateWins',
			},
			{
				displayName: 'Send Only Changed Fields',
				name: 'sendOnlyChangedFields',
				type: 'boolean',
				default: false,
				description: 'Whether updates on the Apply outputs carry only the fields that change (plus the key), instead of the whole merged record',
			},
			{
				displayName:
					"Sync State Commit merges the fields an update sent over the last synced version. Write nodes must change only the fields they receive (e.g. Postgres Update, Parse PUT), never replace the whole record.",
				name: 'changedFieldsNotice',
				type: 'notice',
				default: '',
				displayOptions: { show: { sendOnlyChangedFields: [true] } },
			},
			{
				displayName: 'Split by Operation',
				name: 'splitByOperation',
				type: 'boolean',
				default: false,
				noDataExpression: true,
				description:
					'Whether to split Apply to Y and Apply to X each into Create, Update and Delete outputs, so that each feeds a write node doing that one operation (e.g. Postgres Insert, Update and Delete)',
			},
			{
				displayName:
					'Outputs: 1 Create in Y, 2 Update in Y, 3 Delete in Y, 4 Create in X, 5 Update in X, 6 Delete in X, 7 Needs Review, 8 No Change. The X outputs can all feed one Field Mapper (Y to X), which can split again.',
				name: 'splitNotice',
				type: 'notice',
				default: '',
				displayOptions: { show: { splitByOperation: [true] } },
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Archive Field',
						name: 'archiveField',
						type: 'string',
						default: 'archived',
						description: 'For the Archive Instead delete policy: the field that is set in the other system',
					},
					{
						displayName: 'Archive Value',
						name: 'archiveValue',
						type: 'string',
						default: 'true',
						description: 'The value the archive field is set to: JSON (true, 0, "closed") or plain text',
					},
					{
						displayName: 'Fields to Compare',
						name: 'compareFields',
						type: 'string',
						default: '',
						placeholder: 'name, email, phone',
						description: "Merge only these fields (comma-separated). By default: the fields of X's mapped changes and of the last synced version.",
					},
					{
						displayName: 'Fields to Ignore',
						name: 'ignoreFields',
						type: 'string',
						default: '',
						placeholder: 'updated_at, version',
						description: 'Fields (comma-separated) that are never merged or written, e.g. fields the target system sets itself',
					},
					{
						displayName: 'Key Field for X Records',
						name: 'xKeyField',
						type: 'string',
						default: '',
						placeholder: 'crmId',
						description:
							"A field added to updates and deletes on Apply to X with X's key, for the write node to address the record. Map it to X's key field in the Field Mapper (Y to X).",
					},
				],
			},
		],
	};

	methods = { credentialTest };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const inputs: [INodeExecutionData[], INodeExecutionData[]] = [inputItems(this, 0), inputItems(this, 1)];
		const settings = readSettings(this);
		const split = this.getNodeParameter('splitByOperation', 0, false) as boolean;
		const failures: InputFailure[] = [];
		const x = await readChangesFromX(this, inputs[0], settings, failures);
		const y = await readChangesFromY(this, inputs[1], settings, failures);
		if (x.length === 0 && y.length === 0) return buildOutputs(this, inputs, { items: [], failures: [] }, failures, split);

		const { systems, syncId } = settings.options;
		const keysOf = (changes: SideChange[]) => [...new Set(changes.map((change) => change.key))];
		let known: Record<'x' | 'y', Map<string, EntityState>>;
		try {
			// At most one store round trip per side, never one per item; Y's keys linked to X's changes come with X's.
			known = await withNodeStore(this, async (store) => {
				const knownX = x.length > 0 ? await store.lookUp(syncId, systems.x, keysOf(x)) : new Map<string, EntityState>();
				const { known: knownY, missing } = knownThroughX(knownX, systems.y, keysOf(y));
				if (missing.length > 0) for (const [key, entity] of await store.lookUp(syncId, systems.y, missing)) knownY.set(key, entity);
				return { x: knownX, y: knownY };
			});
		} catch (error) {
			throw toNodeError(this.getNode(), error);
		}
		let result;
		try {
			result = resolveChanges(
				{ x, y, known },
				{ ...settings.options, ...(settings.customRules.size > 0 ? { evaluateCustom: customRuleEvaluator(this) } : {}) },
			);
		} catch (error) {
			throw toNodeError(this.getNode(), error);
		}
		return buildOutputs(this, inputs, result, failures, split);
	}
}
