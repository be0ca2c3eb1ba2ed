import type { IDataObject, IExecuteFunctions, INodeExecutionData, IPairedItemData } from 'n8n-workflow';

import type { ResolvedItem, ResolveResult, ResolverOutput, Sources } from '../../engine/resolver';
import type { SyncMeta } from '../../engine/types';
import { errorJson, toNodeError } from '../../shared/errors';
import { splitByOperation } from '../../shared/operations';
import { withSyncMeta } from '../../shared/syncMeta';
import type { InputFailure } from './inputs';

/**
 * The node's outputs, in a fixed order:
 * - by default: Apply to Y, Apply to X, Needs Review, No Change;
 * - with "Split by Operation": Create in Y, Update in Y, Delete in Y, Create in X, Update in X,
 *   Delete in X, Needs Review, No Change (each Apply output split in the order of
 *   nodes/shared/operations.ts, SPLIT_OPS).
 */
export type ResolverOutputName =
	| 'Apply to Y'
	| 'Apply to X'
	| 'Create in Y'
	| 'Update in Y'
	| 'Delete in Y'
	| 'Create in X'
	| 'Update in X'
	| 'Delete in X'
	| 'Needs Review'
	| 'No Change';

/**
 * n8n evaluates this in the editor and in the engine as the text of an expression, so it must be
 * self-contained: no imports, no helpers from outside its body.
 */
export function configuredOutputs(parameters: { splitByOperation?: boolean }): Array<{ type: 'main'; displayName: ResolverOutputName }> {
	const names: ResolverOutputName[] =
		parameters.splitByOperation === true
			? ['Create in Y', 'Update in Y', 'Delete in Y', 'Create in X', 'Update in X', 'Delete in X', 'Needs Review', 'No Change']
			: ['Apply to Y', 'Apply to X', 'Needs Review', 'No Change'];
	return names.map((displayName) => ({ type: 'main', displayName }));
}

export const OUTPUTS_EXPRESSION = `={{(${configuredOutputs.toString()})($parameter)}}` as const;

/** Where each kind of item goes without Split by Operation; with it, buildOutputs splits both Apply outputs in three. */
export const OUTPUT_INDEX: Record<ResolverOutput, number> = { applyToY: 0, applyToX: 1, review: 2, noChange: 3 };

function pairedItemsOf(from: Sources): IPairedItemData | IPairedItemData[] {
	const paired: IPairedItemData[] = [
		...from.x.map((change) => ({ item: change.index, input: 0 })),
		...from.y.map((change) => ({ item: change.index, input: 1 })),
	];
	return paired.length === 1 ? paired[0] : paired;
}

function toItem(ctx: IExecuteFunctions, item: ResolvedItem): INodeExecutionData {
	const pairedItem = pairedItemsOf(item.from);
	// Apply outputs feed write nodes: the record stays clean and the metadata rides beside it.
	if (item.output === 'applyToY' || item.output === 'applyToX') return withSyncMeta(ctx, item.record, item.meta, 'hidden', pairedItem);
	const meta: SyncMeta = item.review ? ({ ...item.meta, review: item.review } as SyncMeta) : item.meta;
	return withSyncMeta(ctx, item.record, meta, 'json', pairedItem);
}

/**
 * Turns a failure into an item on Needs Review under Continue On Fail (never on an Apply output,
 * where a write node would write it); otherwise throws.
 */
function failureItem(ctx: IExecuteFunctions, error: unknown, input: 0 | 1, index: number, record: IDataObject): INodeExecutionData {
	const nodeError = toNodeError(ctx.getNode(), error, input === 0 ? index : undefined);
	if (!ctx.continueOnFail()) throw nodeError;
	return { json: { ...record, ...errorJson(nodeError) }, pairedItem: { item: index, input } };
}

export function buildOutputs(
	ctx: IExecuteFunctions,
	inputs: [INodeExecutionData[], INodeExecutionData[]],
	result: ResolveResult,
	inputFailures: InputFailure[],
	split: boolean,
): INodeExecutionData[][] {
	const outputs: INodeExecutionData[][] = [[], [], [], []];
	const review = outputs[OUTPUT_INDEX.review];
	const recordOf = (input: 0 | 1, index: number): IDataObject => inputs[input][index]?.json ?? {};
	for (const failure of inputFailures) review.push(failureItem(ctx, failure.error, failure.input, failure.index, recordOf(failure.input, failure.index)));
	for (const failure of result.failures) {
		const [input, index] = failure.from.x.length > 0 ? ([0, failure.from.x[0].index] as const) : ([1, failure.from.y[0].index] as const);
		const item = failureItem(ctx, failure.error, input, index, recordOf(input, index));
		review.push({ ...item, pairedItem: pairedItemsOf(failure.from) });
	}
	if (!split) {
		for (const item of result.items) outputs[OUTPUT_INDEX[item.output]].push(toItem(ctx, item));
		return outputs;
	}
	const apply: Record<'applyToY' | 'applyToX', ResolvedItem[]> = { applyToY: [], applyToX: [] };
	for (const item of result.items) {
		if (item.output === 'applyToY' || item.output === 'applyToX') apply[item.output].push(item);
		else outputs[OUTPUT_INDEX[item.output]].push(toItem(ctx, item));
	}
	// Every Apply item has a target: it is what the Apply outputs are for.
	const opOf = (item: ResolvedItem) => item.meta.target!.op;
	const toItems = (lists: ResolvedItem[][]) => lists.map((list) => list.map((item) => toItem(ctx, item)));
	return [
		...toItems(splitByOperation(apply.applyToY, opOf)),
		...toItems(splitByOperation(apply.applyToX, opOf)),
		outputs[OUTPUT_INDEX.review],
		outputs[OUTPUT_INDEX.noChange],
	];
}
