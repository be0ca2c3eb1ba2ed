import {
	NodeOperationError,
	type IBinaryData,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
} from 'n8n-workflow';

import { comparedFields, fieldList, type FieldSelection } from '../engine/detector';
import { hashValue } from '../engine/hash';
import type { JsonObject, SyncMeta } from '../engine/types';

/**
 * The sync metadata (`_sync`) travels in one of three carriers:
 * - `json._sync`, on outputs meant for people and for our own nodes;
 * - a small binary property `_sync`, beside clean JSON, on outputs that feed a write node
 *   (n8n's write nodes ignore binary properties);
 * - the execution's flow context, keyed by a hash of the clean record, when the workflow's
 *   binary mode is `combined` (n8n would move a binary into `json._files` there).
 * Nodes after a write node find the metadata again on the item the emitting node produced,
 * through paired items.
 */

export const SYNC_FIELD = '_sync';
const FLOW_CONTEXT_KEY = 'twoWaySyncMeta';
const META_MIME_TYPE = 'application/vnd.two-way-sync+json';

/** Node names (after the package prefix) whose items may carry sync metadata. */
const EMITTING_NODES = new Set(['changeDetector', 'fieldMapper', 'conflictResolver', 'syncState']);
const DETECTOR_NODES = new Set(['changeDetector']);

export type MetadataPlacement = 'hidden' | 'json';

export interface ResolvedMeta {
	meta: SyncMeta;
	/** The clean record as the emitting node produced it, i.e. what went to the write node. */
	record: JsonObject;
	from: 'json' | 'binary' | 'flow' | 'upstream';
}

function isObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSyncMeta(value: unknown): value is SyncMeta {
	return isObject(value) && typeof value.syncId === 'string' && typeof value.system === 'string';
}

/** The record without its metadata field. */
export function cleanRecord(json: IDataObject): JsonObject {
	if (!(SYNC_FIELD in json)) return json as JsonObject;
	const { [SYNC_FIELD]: _omit, ...rest } = json;
	return rest as JsonObject;
}

function usesCombinedBinaryMode(ctx: IExecuteFunctions): boolean {
	return (ctx.getWorkflowSettings().binaryMode as string | undefined) === 'combined';
}

type FlowQueue = Record<string, SyncMeta[]>;

function flowQueue(ctx: IExecuteFunctions): FlowQueue {
	const flow = ctx.getContext('flow');
	if (!isObject(flow[FLOW_CONTEXT_KEY])) flow[FLOW_CONTEXT_KEY] = {};
	return flow[FLOW_CONTEXT_KEY] as FlowQueue;
}

/** Builds an output item that carries `meta` where `placement` says. */
export function withSyncMeta(
	ctx: IExecuteFunctions,
	record: JsonObject,
	meta: SyncMeta,
	placement: MetadataPlacement,
	pairedItem: INodeExecutionData['pairedItem'],
): INodeExecutionData {
	if (placement === 'json') return { json: { ...record, [SYNC_FIELD]: meta as unknown as IDataObject }, pairedItem };
	if (usesCombinedBinaryMode(ctx)) {
		// Several identical records may be in flight; a queue per content keeps each one's metadata.
		const queue = flowQueue(ctx);
		(queue[hashValue(record)] ??= []).push(meta);
		return { json: record, pairedItem };
	}
	const binary: IBinaryData = {
		data: Buffer.from(JSON.stringify(meta)).toString('base64'),
		mimeType: META_MIME_TYPE,
		fileName: '_sync.json',
		fileExtension: 'json',
	};
	return { json: record, binary: { [SYNC_FIELD]: binary }, pairedItem };
}

async function metaFromItem(
	ctx: IExecuteFunctions,
	itemIndex: number,
	item: INodeExecutionData,
	takeFromFlow: boolean,
): Promise<{ meta: SyncMeta; from: ResolvedMeta['from'] } | undefined> {
	const inJson = item.json?.[SYNC_FIELD];
	if (isSyncMeta(inJson)) return { meta: inJson, from: 'json' };
	const binary = item.binary?.[SYNC_FIELD];
	if (binary) {
		const buffer = binary.id
			? await ctx.helpers.getBinaryDataBuffer(itemIndex, binary)
			: Buffer.from(binary.data, 'base64');
		const parsed: unknown = JSON.parse(buffer.toString('utf8'));
		if (isSyncMeta(parsed)) return { meta: parsed, from: 'binary' };
	}
	if (takeFromFlow) {
		// Taken, not peeked: the next identical record in flight gets the next entry.
		const queue = flowQueue(ctx);
		const key = hashValue(cleanRecord(item.json));
		const meta = queue[key]?.shift();
		if (queue[key]?.length === 0) delete queue[key];
		if (meta) return { meta, from: 'flow' };
	}
	return undefined;
}

// getNode() and getParentNodes() copy the workflow's nodes on every call; per execution of a node
// the answer never changes, so it is computed once per context.
const upstreamCache = new WeakMap<IExecuteFunctions, Map<Set<string>, string[]>>();

/** Our nodes of the given kinds upstream of this one, nearest first. */
function upstreamNodes(ctx: IExecuteFunctions, kinds: Set<string>): string[] {
	let byKinds = upstreamCache.get(ctx);
	if (!byKinds) upstreamCache.set(ctx, (byKinds = new Map()));
	let names = byKinds.get(kinds);
	if (!names) byKinds.set(kinds, (names = findUpstreamNodes(ctx, kinds)));
	return names;
}

function findUpstreamNodes(ctx: IExecuteFunctions, kinds: Set<string>): string[] {
	const self = ctx.getNode();
	const prefix = self.type.slice(0, self.type.lastIndexOf('.') + 1);
	return ctx
		.getParentNodes(self.name)
		.filter(
			(parent) =>
				!parent.disabled &&
				parent.type.startsWith(prefix) &&
				kinds.has(parent.type.slice(prefix.length)),
		)
		.map((parent) => parent.name)
		.reverse();
}

/** The item `nodeName` produced for input item `itemIndex`, through paired items; undefined when there is no path. */
function pairedItemOf(ctx: IExecuteFunctions, itemIndex: number, nodeName: string): INodeExecutionData | undefined {
	try {
		const item = ctx.getWorkflowDataProxy(itemIndex).$(nodeName, true).item as INodeExecutionData | undefined;
		return item?.json ? item : undefined;
	} catch {
		return undefined;
	}
}

export interface DetectedRecord {
	/** The record as the Change Detector read it from its system. */
	record: JsonObject;
	meta: SyncMeta;
	/** The name of the Change Detector node that read it. */
	detector: string;
}

/** A detector's field selection from its parameters; undefined when an expression sets it (known only in its own run). */
function literalFieldSelection(parameters: Record<string, unknown> | undefined): FieldSelection | undefined {
	if (!parameters) return undefined;
	const literal = (name: string): string | undefined => {
		const value = parameters[name];
		if (value === undefined || value === null) return '';
		return typeof value === 'string' && !value.startsWith('=') ? value : undefined;
	};
	if (parameters.compare === 'only') {
		const fields = literal('compareFields');
		return fields === undefined ? undefined : { mode: 'only', fields: fieldList(fields) };
	}
	const ignore = literal('ignoreFields');
	return ignore === undefined ? undefined : { mode: 'all', ignore: fieldList(ignore) };
}

const detectorParameters = new WeakMap<IExecuteFunctions, Map<string, Record<string, unknown> | undefined>>();

function parametersOf(ctx: IExecuteFunctions, nodeName: string): Record<string, unknown> | undefined {
	let byName = detectorParameters.get(ctx);
	if (!byName) {
		byName = new Map(
			ctx
				.getParentNodes(ctx.getNode().name, { includeNodeParameters: true })
				.map((parent) => [parent.name, parent.parameters as Record<string, unknown> | undefined]),
		);
		detectorParameters.set(ctx, byName);
	}
	return byName.get(nodeName);
}

/**
 * The fields of `record` (a record of `system`, e.g. a write node's answer) that the upstream
 * Change Detector of that system compares; undefined when no such detector's settings can be read.
 */
export function trackedBySystemDetector(ctx: IExecuteFunctions, system: string, record: JsonObject): JsonObject | undefined {
	for (const detector of upstreamNodes(ctx, DETECTOR_NODES)) {
		const parameters = parametersOf(ctx, detector);
		if (parameters?.system !== system) continue;
		const selection = literalFieldSelection(parameters);
		if (!selection || (selection.mode === 'only' && selection.fields.length === 0)) return undefined;
		return comparedFields(selection).project(cleanRecord(record as IDataObject));
	}
	return undefined;
}

/**
 * The fields of a detected record that its detector compares (its hash covers exactly these), when
 * the detector's settings can be read and reproduce its hash; otherwise the whole record.
 */
export function trackedContent(ctx: IExecuteFunctions, { detector, record, meta }: DetectedRecord): JsonObject {
	const selection = literalFieldSelection(parametersOf(ctx, detector));
	if (!selection || (selection.mode === 'only' && selection.fields.length === 0)) return record;
	const projection = comparedFields(selection).project(record);
	return meta.hash === undefined || hashValue(projection) === meta.hash ? projection : record;
}

/**
 * The record of `system` that input item `itemIndex` carries, as that system's Change Detector read
 * it: the nearest upstream detector item, through paired items, whose metadata names `system`.
 * A Conflict Resolver pairs an op with the changes of both systems, so the nearest detector may
 * well be the other system's; undefined when no detector item of `system` is paired.
 */
export async function resolveDetectedRecord(
	ctx: IExecuteFunctions,
	itemIndex: number,
	system: string,
): Promise<DetectedRecord | undefined> {
	for (const detector of upstreamNodes(ctx, DETECTOR_NODES)) {
		const item = pairedItemOf(ctx, itemIndex, detector);
		if (!item) continue;
		// Never from the flow context: those entries belong to the items in flight towards a write.
		const found = await metaFromItem(ctx, itemIndex, item, false);
		if (found?.meta.system === system) return { record: cleanRecord(item.json), meta: found.meta, detector };
	}
	return undefined;
}

/**
 * Finds the sync metadata for input item `itemIndex`: on the item itself, or on the item that
 * the nearest upstream node of this package emitted for it (through paired items, across any
 * write node in between). Returns undefined when it cannot be resolved: such an item must not
 * be committed.
 */
export async function resolveSyncMeta(
	ctx: IExecuteFunctions,
	itemIndex: number,
	item: INodeExecutionData,
): Promise<ResolvedMeta | undefined> {
	const own = await metaFromItem(ctx, itemIndex, item, false);
	if (own) return { ...own, record: cleanRecord(item.json) };

	for (const emitter of upstreamNodes(ctx, EMITTING_NODES)) {
		const emitted = pairedItemOf(ctx, itemIndex, emitter);
		if (!emitted) continue;
		const found = await metaFromItem(ctx, itemIndex, emitted, true);
		if (found) return { meta: found.meta, record: cleanRecord(emitted.json), from: found.from === 'flow' ? 'flow' : 'upstream' };
	}
	return undefined;
}

/**
 * Fails unless the item's metadata belongs to `syncId`: every node of one sync shares it.
 * Takes the context, not the node: n8n copies the node on every getNode(), which per item of a
 * large run costs more than the check.
 */
export function assertSameSync(ctx: Pick<IExecuteFunctions, 'getNode'>, meta: SyncMeta, syncId: string, itemIndex: number): void {
	if (meta.syncId === syncId) return;
	throw new NodeOperationError(ctx.getNode(), `The item belongs to sync "${meta.syncId}", not "${syncId}"`, {
		itemIndex,
		description: 'Use the same Sync ID on every node of one sync.',
	});
}
