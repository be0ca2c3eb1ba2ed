import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { createMapper, exportRuleSet } from '../../engine/mapper';
import type { JsonObject } from '../../engine/types';
import { loadRules, readSystems } from '../helpers/rules';
import { forOperations } from '../helpers/utils';

export const description: INodeProperties[] = forOperations(
	['exportRules'],
	[
		{
			displayName:
				'Outputs the rules as one JSON document. Paste it into "Rules (JSON)" of another Field Mapper, or reference it there with an expression, so one rule set serves both directions.',
			name: 'exportNotice',
			type: 'notice',
			default: '',
		},
	],
);

export async function execute(this: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const systems = readSystems(this, false);
	const { ruleSet, problems } = loadRules(this, systems);
	// Exports only a rule set that works from A to B; its problems are listed in the error.
	createMapper(ruleSet, { direction: 'aToB' }, problems);
	const document: JsonObject = exportRuleSet({ ...ruleSet, systemA: systems.a, systemB: systems.b });
	return [[{ json: document, pairedItem: items.length > 0 ? { item: 0 } : undefined }], []];
}
