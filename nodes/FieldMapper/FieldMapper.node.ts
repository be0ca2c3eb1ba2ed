import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { operationDescriptions, router } from './actions/router';
import { rulesProperty } from './helpers/descriptions';
import { OUTPUTS_EXPRESSION } from './helpers/outputs';

export class FieldMapper implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Field Mapper',
		name: 'fieldMapper',
		icon: { light: 'file:fieldMapper.svg', dark: 'file:fieldMapper.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle:
			'={{ $parameter["operation"] === "exportRules" ? "Export Rules" : ($parameter["direction"] === "bToA" ? $parameter["systemB"] + " → " + $parameter["systemA"] : $parameter["systemA"] + " → " + $parameter["systemB"]) + ($parameter["operation"] === "validate" ? " (validate)" : "") }}',
		description: "Translate records between two systems' schemas, in either direction from one rule set, and route records that fail to an Invalid output",
		defaults: { name: 'Field Mapper' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: OUTPUTS_EXPRESSION,
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Map', value: 'map', action: 'Map records', description: "Translate each record into the target system's fields" },
					{ name: 'Validate', value: 'validate', action: 'Validate rules against samples', description: 'Check the rules on the input items and report every problem; writes nothing' },
					{ name: 'Export Rules', value: 'exportRules', action: 'Export the rules as JSON', description: 'Output the rules as a JSON document for another Field Mapper' },
				],
				default: 'map',
			},
			{
				displayName: 'System A',
				name: 'systemA',
				type: 'string',
				default: '',
				required: true,
				placeholder: 'e.g. crm',
				description: 'The system the rules read from. Use the same name as in the Change Detector and Sync State nodes.',
			},
			{
				displayName: 'System B',
				name: 'systemB',
				type: 'string',
				default: '',
				required: true,
				placeholder: 'e.g. erp',
				description: 'The system the rules write to',
			},
			{
				displayName: 'Direction',
				name: 'direction',
				type: 'options',
				options: [
					{ name: 'A to B', value: 'aToB', description: 'Apply the rules as written' },
					{ name: 'B to A', value: 'bToA', description: 'Apply the rules inverted' },
				],
				default: 'aToB',
				displayOptions: { show: { operation: ['map', 'validate'] } },
			},
			{
				displayName:
					'From B to A the rules are inverted: source and target swap, value maps are read backwards, date formats and time zones swap, and expressions need an inverse expression.',
				name: 'inversionNotice',
				type: 'notice',
				default: '',
				displayOptions: { show: { direction: ['bToA'], operation: ['map', 'validate'] } },
			},
			{
				displayName: 'Rules Source',
				name: 'rulesSource',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Define Below', value: 'ui' },
					{ name: 'JSON', value: 'json', description: 'A rule set document, e.g. from Export Rules or from an expression' },
				],
				default: 'ui',
			},
			{ ...rulesProperty, displayOptions: { show: { rulesSource: ['ui'] } } },
			{
				displayName: 'Rules (JSON)',
				name: 'rulesJson',
				type: 'json',
				default: '{\n  "version": 1,\n  "rules": [\n    { "source": "Customer_ID", "target": "ClientID", "type": "string", "required": true }\n  ]\n}',
				description:
					'The rule set document. It can be an expression, e.g. {{ $(\'Rules\').first().json }}, so one definition serves the nodes of both directions. Write expression transforms without the braces, e.g. "expression": "$json.first + \' \' + $json.last".',
				displayOptions: { show: { rulesSource: ['json'] } },
			},
			...operationDescriptions,
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
