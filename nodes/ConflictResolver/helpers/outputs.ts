import type { IDataObject, IExecuteFunctions, INodeExecutionData, IPairedItemData } from 'n8n-workflow';

import type { ResolvedItem, ResolveResult, ResolverOutput, Side } from '../../engine/resolver';
import type { SyncMeta } from '../../engine/types';
import { errorJson, toNodeError } from '../../shared/errors';
import { withSyncMeta } from '../../shared/syncMeta';
import type { InputFailure } from './inputs';

/** Output order, as named in the node's description. */
export const OUTPUT_INDEX: Record<ResolverOutput, number> = { applyToY: 0, applyToX: 1, review: 2, noChange: 3 };

function pairedItemsOf(from: Record<Side, number[]>): IPairedItemData | IPairedItemData[] {
	const paired: IPairedItemData[] = [
		...from.x.map((item) => ({ item, input: 0 })),
		...from.y.map((item) => ({ item, input: 1 })),
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
): INodeExecutionData[][] {
	const outputs: INodeExecutionData[][] = [[], [], [], []];
	const review = outputs[OUTPUT_INDEX.review];
	const recordOf = (input: 0 | 1, index: number): IDataObject => inputs[input][index]?.json ?? {};
	for (const failure of inputFailures) review.push(failureItem(ctx, failure.error, failure.input, failure.index, recordOf(failure.input, failure.index)));
	for (const failure of result.failures) {
		const [input, index] = failure.from.x.length > 0 ? ([0, failure.from.x[0]] as const) : ([1, failure.from.y[0]] as const);
		const item = failureItem(ctx, failure.error, input, index, recordOf(input, index));
		review.push({ ...item, pairedItem: pairedItemsOf(failure.from) });
	}
	for (const item of result.items) outputs[OUTPUT_INDEX[item.output]].push(toItem(ctx, item));
	return outputs;
}
