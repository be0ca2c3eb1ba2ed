import type { JsonPrimitive, JsonValue } from '../types';
import type { PathSegment } from './paths';
import {
	ruleLabel,
	type BooleanOptions,
	type DateOptions,
	type JsonForm,
	type MapDirection,
	type MappingRule,
	type SourceType,
	type ValueMapFallback,
} from './ruleSet';

/**
 * A rule as it applies in one direction: which path it reads, which it writes, and the steps in
 * between. From B to A a rule is inverted: the paths swap, the type conversion is undone first,
 * then the transforms are undone in reverse order.
 */

export type Conversion =
	| { type: 'keep' | 'string' | 'number' | 'integer' }
	| ({ type: 'boolean' } & BooleanOptions)
	| ({ type: 'date'; dateOnly: boolean } & DateOptions)
	| { type: 'json'; from: JsonForm; to: JsonForm };

export type Step =
	| { kind: 'trim' | 'lowercase' | 'uppercase' }
	| { kind: 'default'; value: JsonValue }
	| { kind: 'valueMap'; entries: Map<string, JsonPrimitive>; fallback: ValueMapFallback; default?: JsonValue }
	| { kind: 'expression'; expression: string }
	| { kind: 'convert'; conversion: Conversion };

export interface DirectedRule {
	number: number;
	label: string;
	/** Path text read in this direction; empty for a computed rule. */
	sourceText: string;
	targetText: string;
	sourcePath: PathSegment[] | null;
	targetPath: PathSegment[];
	required: boolean;
	steps: Step[];
}

export function ruleApplies(rule: MappingRule, direction: MapDirection): boolean {
	return rule.direction === 'both' || rule.direction === direction;
}

function forwardConversion(rule: MappingRule): Conversion {
	switch (rule.type) {
		case 'boolean':
			return { type: 'boolean', ...rule.boolean! };
		case 'date':
		case 'datetime':
			return { type: 'date', dateOnly: rule.type === 'date', ...rule.date! };
		case 'json':
			return { type: 'json', ...rule.json! };
		default:
			return { type: rule.type };
	}
}

/** Undoes the type conversion. Scalars are left as they are here and take the source type at the end. */
function inverseConversion(rule: MappingRule): Conversion {
	switch (rule.type) {
		case 'boolean': {
			const options = rule.boolean!;
			// The target's spelling of true is what the inverse reads; the source's first word is what it writes.
			return {
				type: 'boolean',
				true: options.writeTrue === true ? [] : [options.writeTrue],
				false: options.writeFalse === false ? [] : [options.writeFalse],
				writeTrue: options.true.length > 0 ? options.true[0] : true,
				writeFalse: options.false.length > 0 ? options.false[0] : false,
			};
		}
		case 'date':
		case 'datetime': {
			const date = rule.date!;
			return {
				type: 'date',
				dateOnly: rule.type === 'date',
				from: date.to,
				to: date.from,
				fromZone: date.toZone,
				toZone: date.fromZone,
				locale: date.locale,
			};
		}
		case 'json':
			return { type: 'json', from: rule.json!.to, to: rule.json!.from };
		default:
			return { type: 'keep' };
	}
}

function valueMapEntries(map: Record<string, JsonPrimitive>): Map<string, JsonPrimitive> {
	return new Map(Object.entries(map));
}

/** The reasons why a rule cannot be applied from B to A; empty when it can. */
export function inversionProblems(rule: MappingRule): string[] {
	const problems: string[] = [];
	if (rule.sourcePath === null) problems.push('it has no source field to write the value back to');
	for (const transform of rule.transforms) {
		if (transform.type === 'expression' && transform.inverse === undefined) {
			problems.push('its expression has no inverse expression');
		}
		if (transform.type === 'valueMap') {
			const seen = new Map<string, string>();
			for (const [from, to] of Object.entries(transform.map)) {
				const other = seen.get(String(to));
				if (other !== undefined) {
					problems.push(`its value map sends both "${other}" and "${from}" to ${JSON.stringify(to)}, so ${JSON.stringify(to)} cannot be mapped back`);
				} else {
					seen.set(String(to), from);
				}
			}
		}
	}
	return problems;
}

/** What an inverted rule loses, for Validate to point out; it still works. */
export function inversionNotes(rule: MappingRule): string[] {
	const notes: string[] = [];
	for (const transform of rule.transforms) {
		if (transform.type === 'valueMap' && transform.fallback === 'default') {
			notes.push(`values outside its value map become ${JSON.stringify(transform.default)}; from B to A such values are kept as they are`);
		}
	}
	return notes;
}

function inverseSteps(rule: MappingRule): Step[] {
	const steps: Step[] = [{ kind: 'convert', conversion: inverseConversion(rule) }];
	for (const transform of [...rule.transforms].reverse()) {
		if (transform.type === 'valueMap') {
			const entries = new Map<string, JsonPrimitive>();
			for (const [from, to] of Object.entries(transform.map)) entries.set(String(to), from);
			// A default swallows the original value, so from B to A the best is to keep what B has.
			steps.push({ kind: 'valueMap', entries, fallback: transform.fallback === 'error' ? 'error' : 'keep' });
		} else if (transform.type === 'expression') {
			steps.push({ kind: 'expression', expression: transform.inverse! });
		}
		// trim, case and default normalise the value; B already holds the normalised value.
	}
	const sourceType: SourceType = rule.sourceType;
	if (['keep', 'string', 'number', 'integer'].includes(rule.type) && sourceType !== 'keep') {
		steps.push({ kind: 'convert', conversion: { type: sourceType } });
	}
	return steps;
}

function forwardSteps(rule: MappingRule): Step[] {
	const steps: Step[] = rule.transforms.map((transform): Step => {
		switch (transform.type) {
			case 'default':
				return { kind: 'default', value: transform.value };
			case 'valueMap':
				return { kind: 'valueMap', entries: valueMapEntries(transform.map), fallback: transform.fallback, default: transform.default };
			case 'expression':
				return { kind: 'expression', expression: transform.expression };
			default:
				return { kind: transform.type };
		}
	});
	steps.push({ kind: 'convert', conversion: forwardConversion(rule) });
	return steps;
}

/** The rule as applied in `direction`; throws with the reasons when it cannot be inverted. */
export function directRule(rule: MappingRule, direction: MapDirection): DirectedRule {
	if (direction === 'aToB') {
		return {
			number: rule.number,
			label: ruleLabel(rule.source, rule.target),
			sourceText: rule.source,
			targetText: rule.target,
			sourcePath: rule.sourcePath,
			targetPath: rule.targetPath,
			required: rule.required,
			steps: forwardSteps(rule),
		};
	}
	const problems = inversionProblems(rule);
	if (problems.length > 0) throw new Error(`cannot be applied from B to A: ${problems.join('; ')}`);
	return {
		number: rule.number,
		label: ruleLabel(rule.target, rule.source),
		sourceText: rule.target,
		targetText: rule.source,
		sourcePath: rule.targetPath,
		targetPath: rule.sourcePath!,
		required: rule.required,
		steps: inverseSteps(rule),
	};
}
