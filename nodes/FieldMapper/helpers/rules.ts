import { NodeOperationError, type IDataObject, type IExecuteFunctions } from 'n8n-workflow';

import { parseRuleSet, type ExpressionEvaluator, type MapDirection, type RuleProblem, type RuleSet } from '../../engine/mapper';
import type { JsonObject, JsonValue } from '../../engine/types';
import { requiredText } from '../../shared/items';

/** Reading the node's parameters into the engine's rule set, once per run. */

export interface Systems {
	a: string;
	b: string;
	source: string;
	target: string;
	direction: MapDirection;
}

export interface LoadedRules {
	ruleSet: RuleSet;
	problems: RuleProblem[];
	/** What Export outputs and Validate checks: the rules as their JSON document. */
	document: unknown;
}

export function readSystems(ctx: IExecuteFunctions, withDirection: boolean): Systems {
	const a = requiredText(ctx, 'systemA', 0, 'System A', 'Name system A, e.g. "crm"; use the same names as the Change Detector and Sync State nodes.');
	const b = requiredText(ctx, 'systemB', 0, 'System B', 'Name system B, e.g. "erp"; use the same names as the Change Detector and Sync State nodes.');
	if (a === b) {
		throw new NodeOperationError(ctx.getNode(), `System A and System B are both "${a}"`, {
			description: 'Give the two systems different names, e.g. "crm" and "erp".',
		});
	}
	const direction = withDirection ? (ctx.getNodeParameter('direction', 0, 'aToB') as MapDirection) : 'aToB';
	return direction === 'aToB' ? { a, b, source: a, target: b, direction } : { a, b, source: b, target: a, direction };
}

/** A UI expression field holds `={{ ... }}`; the rule document keeps just the code inside. */
function expressionText(raw: unknown): string {
	if (typeof raw !== 'string') return '';
	const text = (raw.startsWith('=') ? raw.slice(1) : raw).trim();
	const single = /^\{\{([\s\S]*)\}\}$/.exec(text);
	return single && !single[1].includes('{{') ? single[1].trim() : text;
}

/** The text of an expression for n8n: bare code is wrapped in {{ }}. */
export function expressionTemplate(expression: string): string {
	return expression.includes('{{') ? expression : `{{ ${expression} }}`;
}

/** Evaluates a rule's expression for one item, with that item as $json. */
export function itemEvaluator(ctx: IExecuteFunctions): ExpressionEvaluator {
	const templates = new Map<string, string>();
	return (expression, { itemIndex }) => {
		let template = templates.get(expression);
		if (template === undefined) {
			template = expressionTemplate(expression);
			templates.set(expression, template);
		}
		return ctx.evaluateExpression(template, itemIndex);
	};
}

type Resolve = (value: unknown) => unknown;

function uiTransform(raw: IDataObject, resolve: Resolve): JsonObject {
	const type = String(resolve(raw.type) ?? 'trim');
	switch (type) {
		case 'default':
			return { type, value: String(resolve(raw.value) ?? '') };
		case 'valueMap': {
			const fallback = String(resolve(raw.fallback) ?? 'keep');
			const map = resolve(raw.map);
			return {
				type,
				map: (typeof map === 'string' || (typeof map === 'object' && map !== null) ? map : '') as JsonValue,
				fallback,
				...(fallback === 'default' ? { default: String(resolve(raw.fallbackValue) ?? '') } : {}),
			};
		}
		case 'expression': {
			const inverse = expressionText(raw.inverse);
			return { type, expression: expressionText(raw.expression), ...(inverse ? { inverse } : {}) };
		}
		default:
			return { type };
	}
}

/** Turns the rule editor's entries into the rule set's JSON document, so both sources share one parser. */
function uiDocument(ctx: IExecuteFunctions, systems: Systems): JsonObject {
	// Raw, so an expression transform stays an expression and is evaluated per item later. Any
	// other field given as an expression is resolved here, once, for the first item.
	const raw = ctx.getNodeParameter('rules', 0, {}, { rawExpressions: true }) as { rule?: IDataObject[] };
	const resolve: Resolve = (value) =>
		typeof value === 'string' && value.startsWith('=') ? ctx.evaluateExpression(value.slice(1), 0) : value;
	const textOf = (value: unknown) => {
		const resolved = resolve(value);
		return resolved === undefined || resolved === null ? '' : String(resolved).trim();
	};
	const rules = (raw.rule ?? []).map((entry): JsonObject => {
		const type = textOf(entry.type) || 'keep';
		const rule: JsonObject = {
			source: textOf(entry.source),
			target: textOf(entry.target),
			type,
			required: resolve(entry.required) === true,
			direction: textOf(entry.direction) || 'both',
		};
		if (['keep', 'string', 'number', 'integer'].includes(type)) rule.sourceType = textOf(entry.sourceType) || 'keep';
		const transforms = ((entry.transforms as { transform?: IDataObject[] } | undefined)?.transform ?? []).map((transform) => uiTransform(transform, resolve));
		if (transforms.length > 0) rule.transforms = transforms;
		if (type === 'boolean') {
			const writeTrue = textOf(entry.writeTrue);
			const writeFalse = textOf(entry.writeFalse);
			rule.boolean = {
				true: textOf(entry.trueWords),
				false: textOf(entry.falseWords),
				writeTrue: writeTrue === '' ? true : writeTrue,
				writeFalse: writeFalse === '' ? false : writeFalse,
			};
		}
		if (type === 'date' || type === 'datetime') {
			rule.date = {
				from: textOf(entry.dateFrom),
				to: textOf(entry.dateTo),
				fromZone: textOf(entry.dateFromZone),
				toZone: textOf(entry.dateToZone),
				locale: textOf(entry.dateLocale),
			};
		}
		if (type === 'json') rule.json = { from: textOf(entry.jsonFrom) || 'text', to: textOf(entry.jsonTo) || 'value' };
		return rule;
	});
	return { version: 1, systemA: systems.a, systemB: systems.b, rules };
}

/** The rules from the editor or from "Rules (JSON)", parsed; problems are collected, not thrown. */
export function loadRules(ctx: IExecuteFunctions, systems: Systems): LoadedRules {
	const fromJson = ctx.getNodeParameter('rulesSource', 0, 'ui') === 'json';
	const document: unknown = fromJson ? ctx.getNodeParameter('rulesJson', 0, '') : uiDocument(ctx, systems);
	const { ruleSet, problems } = parseRuleSet(document);
	const named = [ruleSet.systemA, ruleSet.systemB];
	if ((named[0] && named[0] !== systems.a) || (named[1] && named[1] !== systems.b)) {
		const swapped = named[0] === systems.b && named[1] === systems.a;
		problems.unshift({
			ruleNumber: null,
			rule: '',
			message: `The rules are written from "${named[0] ?? '?'}" to "${named[1] ?? '?'}", but this node has System A "${systems.a}" and System B "${systems.b}"${
				swapped ? '. Swap the system names and choose the direction with "Direction" instead' : '. Use the same names, or remove systemA/systemB from the JSON'
			}`,
		});
	}
	return { ruleSet, problems, document };
}
