import { DateTime } from 'luxon';
import { NodeOperationError, type IDataObject, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';

import { failedItem } from '../../shared/items';

/**
 * Like mapItems (nodes/shared/items.ts), for operations that give any number of results per input
 * item (Query): each result is paired with the item that asked for it.
 */
export async function mapItemsToMany(
	ctx: IExecuteFunctions,
	items: INodeExecutionData[],
	run: (item: INodeExecutionData, itemIndex: number) => Promise<IDataObject[]>,
): Promise<INodeExecutionData[]> {
	const output: INodeExecutionData[] = [];
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		try {
			for (const json of await run(items[itemIndex], itemIndex)) output.push({ json, pairedItem: { item: itemIndex } });
		} catch (error) {
			output.push(failedItem(ctx, error, itemIndex));
		}
	}
	return output;
}

/**
 * A date and time parameter as ISO text with its zone. A time without a zone (as the date picker
 * gives it) is read in the workflow's time zone. Empty: undefined.
 */
export function userTime(ctx: IExecuteFunctions, name: string, itemIndex: number, label: string): string | undefined {
	const value = ctx.getNodeParameter(name, itemIndex, '') as unknown;
	if (value === undefined || value === null || value === '') return undefined;
	if (value instanceof Date) return checked(ctx, DateTime.fromJSDate(value), value, label, itemIndex);
	if (DateTime.isDateTime(value)) return checked(ctx, value, value, label, itemIndex);
	return checked(ctx, DateTime.fromISO(String(value).trim(), { zone: ctx.getTimezone() }), value, label, itemIndex);
}

function checked(ctx: IExecuteFunctions, time: DateTime, given: unknown, label: string, itemIndex: number): string {
	if (!time.isValid) {
		throw new NodeOperationError(ctx.getNode(), `"${label}" is not a date and time: ${JSON.stringify(String(given))}`, {
			itemIndex,
			description: `Set "${label}" to an ISO date and time, e.g. 2030-01-31T00:00:00Z, or pick one.`,
		});
	}
	return time.toUTC().toISO() as string;
}
