import { NodeOperationError, type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import { compileSetter, createMapper, parsePath, PathError, type FieldError, type Mapper, type Setter } from '../../engine/mapper';
import type { JsonObject, JsonValue, SyncMeta } from '../../engine/types';
import { metadataPlacementProperty } from '../../shared/descriptions';
import { toNodeError } from '../../shared/errors';
import { failedItem } from '../../shared/items';
import { cleanRecord, resolveSyncMeta, withSyncMeta, type MetadataPlacement } from '../../shared/syncMeta';
import { itemEvaluator, loadRules, readSystems, type Systems } from '../helpers/rules';
import { forOperations } from '../helpers/utils';

export const description: INodeProperties[] = forOperations(
	['map'],
	[
		metadataPlacementProperty,
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

/** An error on the Invalid output; besides the mapping's own, the node adds system and target-key checks. */
type InvalidReason = Omit<FieldError, 'code'> & { code: FieldError['code'] | 'system' | 'targetKey' };

interface MapSettings {
	systems: Systems;
	mapper: Mapper;
	placement: MetadataPlacement;
	targetKeyField: string;
	writeTargetKey: Setter | null;
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
	return { systems, mapper, placement: ctx.getNodeParameter('metadataPlacement', 0, 'hidden') as MetadataPlacement, targetKeyField, writeTargetKey };
}

function targetKeyOf(meta: SyncMeta, targetSystem: string): string | null {
	return meta.keys?.[targetSystem] ?? (meta.target?.system === targetSystem ? meta.target.key : null);
}

/** The metadata for the write: the target and its key, and the source fields the rules read (Commit keeps only those). */
function mappedMeta(meta: SyncMeta, settings: MapSettings, record: JsonObject): SyncMeta {
	const { target: _previous, ...rest } = meta;
	const next: SyncMeta = { ...rest, sourceFields: settings.mapper.readFields(record) };
	// An unchanged record gets no target: nothing is to be applied, and Commit must not record a write.
	if (meta.op !== 'none') next.target = { system: settings.systems.target, key: targetKeyOf(meta, settings.systems.target), op: meta.op };
	return next;
}

function mapItem(settings: MapSettings, record: JsonObject, meta: SyncMeta | undefined, itemIndex: number): { record: JsonObject; reasons: InvalidReason[] } {
	const { systems } = settings;
	if (meta && meta.system !== systems.source) {
		const hint = meta.system === systems.target ? ' Set "Direction" to the other way round.' : '';
		return {
			record,
			reasons: [
				{
					field: '_sync.system',
					value: meta.system,
					rule: `${systems.source} → ${systems.target}`,
					code: 'system',
					message: `The record comes from "${meta.system}", but this node maps from "${systems.source}".${hint}`,
				},
			],
		};
	}
	const result = settings.mapper.map(record, itemIndex, { skipRequired: meta?.op === 'delete' });
	const reasons: InvalidReason[] = result.errors ? [...result.errors] : [];
	if (settings.writeTargetKey && meta && (meta.op === 'update' || meta.op === 'delete')) {
		const key = targetKeyOf(meta, systems.target);
		if (key === null) {
			reasons.push({
				field: settings.targetKeyField,
				value: null,
				rule: 'Put Target Key In Field',
				code: 'targetKey',
				message: `This ${meta.op} has no key in "${systems.target}", so the write cannot address the record. Link the records first (Sync State > Link), or let a Conflict Resolver pair them.`,
			});
		} else {
			settings.writeTargetKey(result.record, key);
		}
	}
	return { record: result.record, reasons };
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
		return [[], items.map((_item, itemIndex) => failedItem(this, error, itemIndex))];
	}

	const mapped: INodeExecutionData[] = [];
	const invalid: INodeExecutionData[] = [];
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		try {
			const item = items[itemIndex];
			const source = cleanRecord(item.json);
			const meta = (await resolveSyncMeta(this, itemIndex, item))?.meta;
			const { record, reasons } = mapItem(settings, source, meta, itemIndex);
			if (reasons.length > 0) {
				invalid.push(invalidItem(source, meta, reasons, itemIndex));
			} else if (meta) {
				mapped.push(withSyncMeta(this, record, mappedMeta(meta, settings, source), settings.placement, { item: itemIndex }));
			} else {
				mapped.push({ json: record, pairedItem: { item: itemIndex } });
			}
		} catch (error) {
			invalid.push(failedItem(this, error, itemIndex));
		}
	}
	return [mapped, invalid];
}
