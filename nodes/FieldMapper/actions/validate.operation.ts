import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { validateRules } from '../../engine/mapper';
import type { JsonObject, SyncMeta } from '../../engine/types';
import { cleanRecord, resolveSyncMeta } from '../../shared/syncMeta';
import { itemEvaluator, loadRules, readSystems } from '../helpers/rules';
import { forOperations } from '../helpers/utils';

export const description: INodeProperties[] = forOperations(
	['validate'],
	[
		{
			displayName:
				'Validate maps the input items as samples and outputs one report: rule problems, type mismatches, missing fields, values outside the value maps, rules that cannot be inverted, and fields that do not survive the way there and back. It writes nothing.',
			name: 'validateNotice',
			type: 'notice',
			default: '',
		},
	],
);

export async function execute(this: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const systems = readSystems(this, true);
	const { ruleSet, problems } = loadRules(this, systems);
	const samples: JsonObject[] = [];
	const metas: Array<SyncMeta | undefined> = [];
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		samples.push(cleanRecord(items[itemIndex].json));
		metas.push((await resolveSyncMeta(this, itemIndex, items[itemIndex]))?.meta);
	}
	const report = validateRules(ruleSet, problems, samples, {
		direction: systems.direction,
		evaluate: itemEvaluator(this),
		skipRequired: (itemIndex) => metas[itemIndex]?.op === 'delete',
		rejectSample: (itemIndex) => {
			const meta = metas[itemIndex];
			if (!meta || meta.system === systems.source) return undefined;
			return { field: '_sync.system', value: meta.system, message: `Samples come from "${meta.system}", but this node maps from "${systems.source}"` };
		},
	});
	const json: IDataObject = { ...report, from: systems.source, to: systems.target } as unknown as IDataObject;
	return [[{ json, pairedItem: items.map((_item, itemIndex) => ({ item: itemIndex })) }], []];
}
