import {
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type NodeExecutionHint,
} from 'n8n-workflow';

import {
	classifyRecords,
	prepareRecords,
	withLinkedKeys,
	type Detected,
	type DetectionResult,
	type DetectorInput,
} from '../../engine/detector';
import { isCursorAhead } from '../../engine/cursor';
import type { SyncStore } from '../../engine/store/SyncStore';
import type { SyncMeta } from '../../engine/types';
import { errorJson, toNodeError } from '../../shared/errors';
import { withNodeStore } from '../../shared/store';
import { cleanRecord, SYNC_FIELD, withSyncMeta } from '../../shared/syncMeta';
import { readEvents, releaseLeases, type ReadEvents, type ReplayLease } from './events';
import { configuredOutputs, type OutputName } from './outputs';
import { readSettings, type DetectorSettings } from './parameters';

/** An item that goes to Errors or Rejected: the input item as it came, with why. */
interface Problem {
	itemIndex: number;
	key: string | null;
	reason: string;
	message: string;
	hint?: string;
}

interface Detection {
	result: DetectionResult;
	/** The input item of each engine input. */
	itemIndexes: number[] | null;
	events?: ReadEvents;
	cursorStored: boolean;
}

/** The keys in the other systems, for the linked records a full snapshot emits. */
async function addLinkedKeys(store: SyncStore, syncId: string, result: DetectionResult, includeUnchanged: boolean): Promise<void> {
	type Emitted = 'created' | 'updated' | 'deleted' | 'heldBack' | 'unchanged';
	const lists: Emitted[] = ['created', 'updated', 'deleted', 'heldBack', ...(includeUnchanged ? (['unchanged'] as const) : [])];
	const ids = new Set<string>();
	for (const list of lists) for (const detected of result[list]) if (detected.meta.entityId) ids.add(detected.meta.entityId);
	if (ids.size === 0) return;
	const entities = await store.getEntities(syncId, [...ids]);
	for (const list of lists) result[list] = withLinkedKeys(result[list], entities);
}

async function detectWithStore(
	ctx: IExecuteFunctions,
	items: INodeExecutionData[],
	settings: DetectorSettings,
	store: SyncStore,
): Promise<Detection> {
	const { detector } = settings;
	const { syncId, system } = detector;
	let events: ReadEvents | undefined;
	const leases: ReplayLease[] = [];
	try {
		let inputs: DetectorInput[];
		if (settings.event) {
			events = await readEvents(ctx, items, settings.event, store, syncId, system, leases);
			inputs = events.inputs;
		} else {
			inputs = items.map((item) => ({ record: item.json }));
		}

		const prepared = prepareRecords(inputs, detector);
		const fullSnapshot = detector.mode === 'snapshot' && detector.fullSnapshot === true;
		// A full snapshot needs every known key anyway; those rows classify the records without a
		// second lookup by key.
		const known = fullSnapshot ? await store.listKeys(syncId, system) : undefined;
		const entities = known ? undefined : prepared.keys.length > 0 ? await store.lookUp(syncId, system, prepared.keys) : new Map();
		const cursor = detector.mode === 'incremental' ? await store.getCursor(syncId, system) : undefined;
		const result = classifyRecords(prepared, { entities, known, cursor });
		if (known) await addLinkedKeys(store, syncId, result, settings.includeUnchanged);

		if (settings.failOnInvalid) {
			const invalid = [
				...result.errors.map((error) => ({ ...error, itemIndex: events ? events.itemIndexes[error.index] : error.index })),
				...(events?.errors ?? []),
			].sort((a, b) => a.itemIndex - b.itemIndex);
			if (invalid.length > 0) {
				const [first] = invalid;
				throw new NodeOperationError(
					ctx.getNode(),
					`${invalid.length} record${invalid.length === 1 ? '' : 's'} cannot be synced. The first, item ${first.itemIndex}: ${first.message}`,
					{
						description: `${first.hint} To pass such records on instead of stopping, set "On Invalid Record" to "Send to Errors Output".`,
						itemIndex: first.itemIndex,
					},
				);
			}
		}

		let cursorStored = false;
		const pending = result.created.length + result.updated.length + result.deleted.length;
		// The cursor may pass a record once it is committed or needs no commit: with nothing
		// pending, moving it now breaks no promise.
		if (result.cursor?.moved && result.cursor.next !== null && (settings.advanceCursorAtEnd || pending === 0)) {
			// Another run may have moved it meanwhile; never move it back.
			const stored = await store.getCursor(syncId, system);
			if (stored === null || isCursorAhead(result.cursor.next, stored)) {
				await store.setCursor(syncId, system, result.cursor.next);
				cursorStored = true;
			}
		}
		return { result, itemIndexes: events ? events.itemIndexes : null, events, cursorStored };
	} catch (error) {
		// The original error is the one to report; a failed release only means the lease runs out by itself.
		await releaseLeases(store, syncId, leases).then(
			() => undefined,
			() => undefined,
		);
		throw toNodeError(ctx.getNode(), error);
	}
}

function problemItem(items: INodeExecutionData[], settings: DetectorSettings, problem: Problem): INodeExecutionData {
	const source = items[problem.itemIndex];
	const meta: SyncMeta = {
		syncId: settings.detector.syncId,
		system: settings.detector.system,
		key: problem.key,
		op: 'none',
		reason: problem.reason,
	};
	const json: IDataObject = { ...source.json, [SYNC_FIELD]: meta as unknown as IDataObject, error: problem.message };
	if (problem.hint) json.description = problem.hint;
	return { json, ...(source.binary ? { binary: source.binary } : {}), pairedItem: { item: problem.itemIndex } };
}

function detectedItem(
	ctx: IExecuteFunctions,
	detected: Detected,
	itemIndex: number | null,
	settings: DetectorSettings,
	cursor: string | null,
): INodeExecutionData {
	const meta = cursor === null ? detected.meta : { ...detected.meta, cursor };
	return withSyncMeta(ctx, cleanRecord(detected.record as IDataObject), meta, settings.placement, itemIndex === null ? undefined : { item: itemIndex });
}

function count(n: number, what: string): string {
	return `${n} ${what}${n === 1 ? '' : 's'}`;
}

function hintsFor(detection: Detection, settings: DetectorSettings, droppedUnchanged: Detected[]): NodeExecutionHint[] {
	const hints: NodeExecutionHint[] = [];
	const { result, events } = detection;
	if (droppedUnchanged.length > 0) {
		const echoes = droppedUnchanged.filter((detected) => detected.meta.reason === 'echo' || detected.meta.reason === 'ownWrite').length;
		hints.push({
			type: 'info',
			location: 'outputPane',
			message: `${count(droppedUnchanged.length, 'unchanged record')}${echoes > 0 ? ` (${echoes} of them echoes of this sync's own writes)` : ''} not emitted, because "Include Unchanged" is off.`,
		});
	}
	if (events?.usedJsonBody) {
		hints.push({
			type: 'warning',
			location: 'outputPane',
			message: `Signatures were checked against the JSON body written out again, because binary property "${settings.event?.rawBodyProperty}" holds no raw body. That only matches if the sender wrote its JSON the same way. Turn on "Raw Body" in the Webhook node's options.`,
		});
	}
	if (result.cursor?.moved && result.cursor.next !== null) {
		hints.push({
			type: 'info',
			location: 'outputPane',
			message: detection.cursorStored
				? `The cursor of "${settings.detector.system}" moved to ${result.cursor.next}.`
				: `The next read starts at ${result.cursor.next} (in _sync.cursor). Store it with Sync State > Cursor > Set once the changes are committed.`,
		});
	}
	return hints;
}

type Emit = (name: OutputName, item: INodeExecutionData) => void;

/** Sends each detected record, rejected event and invalid record to its output. */
function sortIntoOutputs(ctx: IExecuteFunctions, items: INodeExecutionData[], settings: DetectorSettings, detection: Detection, emit: Emit): void {
	const { result, itemIndexes, events } = detection;
	const itemOf = (index: number | null) => (index === null ? null : itemIndexes ? itemIndexes[index] : index);
	const cursor = settings.detector.mode === 'incremental' ? (result.cursor?.next ?? null) : null;
	const place = (name: OutputName, list: Detected[]) => {
		for (const detected of list) emit(name, detectedItem(ctx, detected, itemOf(detected.index), settings, cursor));
	};
	place('Created', result.created);
	place('Updated', result.updated);
	place('Deleted', result.deleted);
	if (settings.includeUnchanged) place('Unchanged', result.unchanged);
	place('Held Back', result.heldBack);

	if (events) {
		for (const rejection of events.rejected) {
			emit('Rejected', problemItem(items, settings, { ...rejection, key: null }));
		}
	}
	const problems: Problem[] = [
		...result.errors.map((error) => ({ ...error, itemIndex: itemOf(error.index)! })),
		...(events?.errors.map((error) => ({ ...error, key: null })) ?? []),
	].sort((a, b) => a.itemIndex - b.itemIndex);
	for (const problem of problems) emit('Errors', problemItem(items, settings, problem));

	const hints = hintsFor(detection, settings, settings.includeUnchanged ? [] : result.unchanged);
	if (hints.length > 0) ctx.addExecutionHints(...hints);
}

/** Runs the detection for all input items and sorts the items into the configured outputs. */
export async function runChangeDetector(ctx: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = ctx.getInputData();
	// The outputs depend only on parameters that cannot hold expressions, so they are known even
	// when the rest of the settings is wrong.
	const names = configuredOutputs({
		mode: ctx.getNodeParameter('mode', 0, 'snapshot') as string,
		includeUnchanged: ctx.getNodeParameter('includeUnchanged', 0, false) as boolean,
		holdBack: ctx.getNodeParameter('holdBack', 0, false) as boolean,
		verifySignature: ctx.getNodeParameter('verifySignature', 0, false) as boolean,
	}).map((output) => output.displayName);
	let outputs = new Map<OutputName, INodeExecutionData[]>(names.map((name) => [name, []]));
	const emit: Emit = (name, item) => outputs.get(name)!.push(item);
	const collect = () => names.map((name) => outputs.get(name)!);

	try {
		const settings = readSettings(ctx);
		const detection = await withNodeStore(ctx, async (store) => await detectWithStore(ctx, items, settings, store));
		sortIntoOutputs(ctx, items, settings, detection, emit);
	} catch (error) {
		// n8n's own Continue On Fail would pass the input items on through the first output,
		// Created, towards a write node. So with Continue On Fail every item goes to Errors with
		// the reason instead (a mass-delete stop included), and no item is lost.
		const nodeError = toNodeError(ctx.getNode(), error);
		if (!ctx.continueOnFail()) throw nodeError;
		outputs = new Map(names.map((name) => [name, []]));
		for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
			emit('Errors', {
				json: { ...items[itemIndex].json, ...errorJson(nodeError) },
				...(items[itemIndex].binary ? { binary: items[itemIndex].binary } : {}),
				pairedItem: { item: itemIndex },
			});
		}
	}
	return collect();
}
