import { NodeOperationError, type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import { compileSetter, createMapper, parsePath, PathError, type FieldError, type Mapper, type Setter } from '../../engine/mapper';
import type { JsonObject, JsonValue, SyncMeta, SyncOp } from '../../engine/types';
import { metadataPlacementProperty } from '../../shared/descriptions';
import { toNodeError } from '../../shared/errors';
import { failedItem } from '../../shared/items';
import { splitByOperation, writeOpOf } from '../../shared/operations';
import { cleanRecord, resolveSyncMeta, withSyncMeta, type MetadataPlacement } from '../../shared/syncMeta';
import { itemEvaluator, loadRules, readSystems, type Systems } from '../helpers/rules';
import { forOperations } from '../helpers/utils';

export const description: INodeProperties[] = forOperations(
	['map'],
	[
		metadataPlacementProperty,
		{
			displayName: 'Split by Operation',
			name: 'splitByOperation',
			type: 'boolean',
			default: false,
			noDataExpression: true,
			description:
				'Whether to send creates, updates and deletes to their own outputs (Create, Update, Delete; Invalid stays last), so that each feeds a write node doing that one operation, e.g. Postgres Insert, Update and Delete, or HTTP POST, PUT and DELETE',
		},
		{
			displayName:
				'Outputs: 1 Create, 2 Update, 3 Delete, 4 Invalid. A record without an operation (unchanged, or without sync metadata) goes to Invalid, since it has nothing to write.',
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
					displayName: 'Pass Through Unmapped Fields',
					name: 'passThroughUnmapped',
					type: 'boolean',
					default: false,
					description:
						'Whether to keep the top-level fields that no rule reads or writes. Off, only mapped fields go on (data minimisation). The sync metadata is never passed as a field.',
				},
				{
					displayName: 'Put Target Key In Field',
					name: 'targetKeyField',
					type: 'string',
					default: '',
					placeholder: 'e.g. id',
					description:
						"For updates and deletes, add the record's key in the target system under this field, so the write node can address it (e.g. Postgres Update matching on ID, or an HTTP PUT to /objects/{{$json.objectId}}). Needs sync metadata from a Change Detector.",
				},
			],
		},
	],
);

/** An error on the Invalid output; besides the mapping's own, the node adds system, target-key and operation checks. */
type InvalidReason = Omit<FieldError, 'code'> & { code: FieldError['code'] | 'system' | 'targetKey' | 'operation' };

interface MapSettings {
	systems: Systems;
	mapper: Mapper;
	placement: MetadataPlacement;
	targetKeyField: string;
	writeTargetKey: Setter | null;
	splitByOperation: boolean;
}

function readSettings(ctx: IExecuteFunctions): MapSettings {
	const systems = readSystems(ctx, true);
	const options = ctx.getNodeParameter('options', 0, {}) as { passThroughUnmapped?: boolean; targetKeyField?: string };
	const { ruleSet, problems } = loadRules(ctx, systems);
	const mapper = createMapper(ruleSet, { direction: systems.direction, passThroughUnmapped: options.passThroughUnmapped === true, evaluate: itemEvaluator(ctx) }, problems);
	const targetKeyField = (options.targetKeyField ?? '').trim();
	let writeTargetKey: Setter | null = null;
	if (targetKeyField !== '') {
		try {
			writeTargetKey = compileSetter(parsePath(targetKeyField));
		} catch (error) {
			throw new NodeOperationError(ctx.getNode(), `"Put Target Key In Field": the path ${error instanceof PathError ? error.message : String(error)}`, {
				description: 'Give a field name such as "id", or a path such as "data.id".',
			});
		}
	}
	return {
		systems,
		mapper,
		placement: ctx.getNodeParameter('metadataPlacement', 0, 'hidden') as MetadataPlacement,
		targetKeyField,
		writeTargetKey,
		splitByOperation: ctx.getNodeParameter('splitByOperation', 0, false) as boolean,
	};
}

type Target = NonNullable<SyncMeta['target']>;

/**
 * The write this record is for. A target in this mapper's target system set upstream (e.g. by the
 * Conflict Resolver: a create that brings a deleted record back, an update of the other side) is
 * kept as it is: its op and key are decided, and may differ from the op of the change the
 * metadata names. Otherwise the target follows the change; an unchanged record gets none, so
 * Commit records no write.
 */
function targetOf(meta: SyncMeta, systems: Systems): Target | undefined {
	if (meta.target?.system === systems.target) return meta.target;
	if (meta.op === 'none') return undefined;
	const key = meta.keys?.[systems.target] ?? null;
	return { system: systems.target, key, op: meta.op };
}

/** The metadata for the write: the target and its key, and the source fields the rules read (Commit keeps only those). */
function mappedMeta(meta: SyncMeta, settings: MapSettings, record: JsonObject, target: Target | undefined): SyncMeta {
	const { target: _previous, ...rest } = meta;
	const next: SyncMeta = { ...rest };
	// The source fields describe the record the metadata names; only then is this record that one.
	if (meta.system === settings.systems.source) next.sourceFields = settings.mapper.readFields(record);
	if (target) next.target = target;
	return next;
}

/** Why a record does not belong in this direction, or null when it does. */
function directionProblem(meta: SyncMeta, systems: Systems): InvalidReason | null {
	const rule = `${systems.source} → ${systems.target}`;
	// A write prepared for the source system holds a record in the target's schema.
	if (meta.target?.system === systems.source) {
		return {
			field: '_sync.target.system',
			value: meta.target.system,
			rule,
			code: 'system',
			message: `The record is to be written to "${meta.target.system}", but this node maps from "${systems.source}" to "${systems.target}". Set "Direction" to the other way round.`,
		};
	}
	// The metadata may name the change's origin in the target system when the write was decided upstream.
	if (meta.system === systems.source || meta.target?.system === systems.target) return null;
	const hint = meta.system === systems.target ? ' Set "Direction" to the other way round.' : '';
	return {
		field: '_sync.system',
		value: meta.system,
		rule,
		code: 'system',
		message: `The record comes from "${meta.system}", but this node maps from "${systems.source}".${hint}`,
	};
}

interface MappedItem {
	record: JsonObject;
	reasons: InvalidReason[];
	target?: Target;
}

function mapItem(settings: MapSettings, record: JsonObject, meta: SyncMeta | undefined, itemIndex: number): MappedItem {
	const { systems } = settings;
	const problem = meta ? directionProblem(meta, systems) : null;
	if (problem) return { record, reasons: [problem] };
	const target = meta ? targetOf(meta, systems) : undefined;
	const op = target?.op;
	// A partial update maps only the fields it holds: a default or a computed value must not overwrite a field it leaves alone.
	const result = settings.mapper.map(record, itemIndex, { skipRequired: op === 'delete', partial: meta?.partial === true });
	const reasons: InvalidReason[] = result.errors ? [...result.errors] : [];
	if (settings.writeTargetKey && (op === 'update' || op === 'delete')) {
		const key = target?.key ?? null;
		if (key === null) {
			reasons.push({
				field: settings.targetKeyField,
				value: null,
				rule: 'Put Target Key In Field',
				code: 'targetKey',
				message: `This ${op} has no key in "${systems.target}", so the write cannot address the record. Link the records first (Sync State > Link), or let a Conflict Resolver pair them.`,
			});
		} else {
			settings.writeTargetKey(result.record, key);
		}
	}
	return { record: result.record, reasons, ...(target ? { target } : {}) };
}

/** With Split by Operation, a record that has nothing to write has no output of its own. */
function noOperationReason(meta: SyncMeta | undefined): InvalidReason {
	return {
		field: '_sync.op',
		value: meta?.op ?? null,
		rule: 'Split by Operation',
		code: 'operation',
		message: meta
			? 'The record is unchanged (op "none"): there is nothing to write, so no operation output takes it.'
			: 'The record has no sync metadata, so its operation is unknown. Connect this node after a Change Detector or a Conflict Resolver, or turn off "Split by Operation".',
	};
}

function invalidItem(record: JsonObject, meta: SyncMeta | undefined, reasons: InvalidReason[], itemIndex: number): INodeExecutionData {
	const json: IDataObject = { ...record };
	if (meta) json._sync = meta as unknown as IDataObject;
	json.errors = reasons.map((reason) => ({ ...reason, value: reason.value as JsonValue })) as unknown as IDataObject[];
	return { json, pairedItem: { item: itemIndex } };
}

export async function execute(this: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	let settings: MapSettings;
	try {
		settings = readSettings(this);
	} catch (error) {
		// Rules that cannot run fail the node; with Continue On Fail every item goes to Invalid with the reason.
		if (!this.continueOnFail()) throw toNodeError(this.getNode(), error);
		const split = this.getNodeParameter('splitByOperation', 0, false) === true;
		return [...(split ? [[], [], []] : [[]]), items.map((_item, itemIndex) => failedItem(this, error, itemIndex))];
	}

	const mapped: Array<{ item: INodeExecutionData; op: SyncOp | undefined }> = [];
	const invalid: INodeExecutionData[] = [];
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		try {
			const item = items[itemIndex];
			const source = cleanRecord(item.json);
			const meta = (await resolveSyncMeta(this, itemIndex, item))?.meta;
			const { record, reasons, target } = mapItem(settings, source, meta, itemIndex);
			const nextMeta = meta ? mappedMeta(meta, settings, source, target) : undefined;
			const op = writeOpOf(nextMeta);
			if (reasons.length === 0 && settings.splitByOperation && op === undefined) reasons.push(noOperationReason(meta));
			if (reasons.length > 0) {
				invalid.push(invalidItem(source, meta, reasons, itemIndex));
			} else if (nextMeta) {
				mapped.push({ item: withSyncMeta(this, record, nextMeta, settings.placement, { item: itemIndex }), op });
			} else {
				mapped.push({ item: { json: record, pairedItem: { item: itemIndex } }, op });
			}
		} catch (error) {
			invalid.push(failedItem(this, error, itemIndex));
		}
	}
	if (!settings.splitByOperation) return [mapped.map((entry) => entry.item), invalid];
	// Every entry has an op here: those without one went to Invalid above.
	const byOp = splitByOperation(mapped, (entry) => entry.op!);
	return [...byOp.map((list) => list.map((entry) => entry.item)), invalid];
}
