import { NodeOperationError, type IDataObject, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';

import { errorJson, toNodeError } from './errors';

/**
 * Runs `run` for each item. A failing item fails the node, or, with Continue On Fail,
 * becomes an output item carrying the error, so that no item is lost.
 */
export async function mapItems(
	ctx: IExecuteFunctions,
	items: INodeExecutionData[],
	run: (item: INodeExecutionData, itemIndex: number) => Promise<IDataObject>,
): Promise<INodeExecutionData[]> {
	const output: INodeExecutionData[] = [];
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		try {
			output.push({ json: await run(items[itemIndex], itemIndex), pairedItem: { item: itemIndex } });
		} catch (error) {
			output.push(failedItem(ctx, error, itemIndex));
		}
	}
	return output;
}

/** The output item for a failed input item under Continue On Fail; otherwise throws. */
export function failedItem(ctx: IExecuteFunctions, error: unknown, itemIndex: number): INodeExecutionData {
	const nodeError = toNodeError(ctx.getNode(), error, itemIndex);
	if (!ctx.continueOnFail()) throw nodeError;
	return { json: { ...ctx.getInputData()[itemIndex]?.json, ...errorJson(nodeError) }, pairedItem: { item: itemIndex } };
}

/** A required text parameter, trimmed; a clear error when it is empty. */
export function requiredText(ctx: IExecuteFunctions, name: string, itemIndex: number, label: string, hint: string): string {
	const value = ctx.getNodeParameter(name, itemIndex, '') as unknown;
	const text = value === null || value === undefined ? '' : String(value).trim();
	if (text === '') throw new NodeOperationError(ctx.getNode(), `${label} is empty`, { description: hint, itemIndex });
	return text;
}
