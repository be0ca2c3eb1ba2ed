import { canonicalJson } from '../hash';
import type { JsonObject, JsonValue } from '../types';
import { compileMapper, type Mapper, type MappingNote } from './compile';
import { inversionNotes, inversionProblems } from './invert';
import { compileGetter } from './paths';
import { parseRuleSet, ruleLabel, type MapDirection, type RuleProblem, type RuleSet } from './ruleSet';
import type { ExpressionEvaluator } from './steps';

/**
 * Validate: checks a rule set against sample items before go-live and reports every problem.
 * It maps nothing for real; the report is the only output.
 */

export type ProblemCode =
	| 'ruleSet'
	| 'notInvertible'
	| 'lossyInverse'
	| 'required'
	| 'type'
	| 'valueMap'
	| 'expression'
	| 'missingSource'
	| 'notInValueMap'
	| 'roundTrip'
	| 'system';

export interface ValidationProblem {
	severity: 'error' | 'warning';
	code: ProblemCode;
	ruleNumber: number | null;
	rule: string;
	field: string | null;
	message: string;
	/** How many samples show it (0 for problems of the rules themselves). */
	count: number;
	/** Indexes of the first samples that show it. */
	items: number[];
	/** The first distinct values involved. */
	examples: JsonValue[];
}

export interface ValidationReport {
	valid: boolean;
	direction: MapDirection;
	rules: number;
	samples: number;
	invalidSamples: number;
	errors: number;
	warnings: number;
	problems: ValidationProblem[];
}

export interface ValidateOptions {
	direction: MapDirection;
	passThroughUnmapped?: boolean;
	evaluate?: ExpressionEvaluator;
	/** Only operations that need every field (not deletes) check required fields. */
	skipRequired?: (itemIndex: number) => boolean;
	/** A sample that cannot be mapped at all (e.g. it comes from the other system): why. */
	rejectSample?: (itemIndex: number) => { field: string; value: JsonValue; message: string } | undefined;
}

const MAX_ITEMS = 10;
const MAX_EXAMPLES = 5;

class ProblemList {
	private readonly byKey = new Map<string, ValidationProblem>();

	add(problem: Omit<ValidationProblem, 'count' | 'items' | 'examples'>, sample?: { itemIndex: number; value: JsonValue }): void {
		const key = `${problem.code}\u0000${problem.ruleNumber ?? ''}\u0000${problem.field ?? ''}\u0000${sample ? '' : problem.message}`;
		let entry = this.byKey.get(key);
		if (!entry) {
			entry = { ...problem, count: 0, items: [], examples: [] };
			this.byKey.set(key, entry);
		}
		if (!sample) return;
		entry.count++;
		if (entry.items.length < MAX_ITEMS && !entry.items.includes(sample.itemIndex)) entry.items.push(sample.itemIndex);
		const text = canonicalJson(sample.value);
		if (entry.examples.length < MAX_EXAMPLES && !entry.examples.some((example) => canonicalJson(example) === text)) {
			entry.examples.push(sample.value);
		}
	}

	all(): ValidationProblem[] {
		// Errors first, then by rule; problems of the whole rule set lead.
		const rank = (problem: ValidationProblem) => (problem.severity === 'error' ? 0 : 1) * 1e9 + (problem.ruleNumber ?? 0);
		return [...this.byKey.values()].sort((a, b) => rank(a) - rank(b));
	}
}

function other(direction: MapDirection): MapDirection {
	return direction === 'aToB' ? 'bToA' : 'aToB';
}

function ruleProblem(list: ProblemList, problem: RuleProblem, severity: 'error' | 'warning', code: ProblemCode, prefix = ''): void {
	list.add({ severity, code, ruleNumber: problem.ruleNumber, rule: problem.rule, field: null, message: prefix + problem.message });
}

/** Maps each valid sample there and back, and reports the tracked fields that do not come back unchanged. */
function checkRoundTrip(list: ProblemList, samples: Array<JsonObject | null>, forward: Mapper, backward: Mapper, options: ValidateOptions): void {
	const returning = forward.rules.filter((rule) => rule.sourcePath && backward.rules.some((back) => back.number === rule.number));
	if (returning.length === 0) return;
	const readers = returning.map((rule) => ({ rule, read: compileGetter(rule.sourcePath!) }));
	samples.forEach((sample, itemIndex) => {
		if (!sample) return;
		const there = forward.map(sample, itemIndex, { skipRequired: options.skipRequired?.(itemIndex) });
		if (there.errors) return;
		const back = backward.map(there.record, itemIndex, { skipRequired: true });
		for (const { rule, read } of readers) {
			const original = read(sample);
			if (original === undefined) continue;
			const returned = read(back.record);
			if (canonicalJson(original) === canonicalJson(returned)) continue;
			list.add(
				{
					severity: 'warning',
					code: 'roundTrip',
					ruleNumber: rule.number,
					rule: rule.label,
					field: rule.sourceText,
					message: `Mapping there and back changes ${JSON.stringify(original)} into ${returned === undefined ? 'nothing' : JSON.stringify(returned)}`,
				},
				{ itemIndex, value: original as JsonValue },
			);
		}
	});
}

function noteProblem(note: MappingNote): Omit<ValidationProblem, 'count' | 'items' | 'examples'> {
	if (note.code === 'missingSource') {
		return {
			severity: 'warning',
			code: 'missingSource',
			ruleNumber: note.ruleNumber,
			rule: note.rule,
			field: note.field,
			message: `"${note.field}" is missing in some samples`,
		};
	}
	return {
		severity: 'warning',
		code: 'notInValueMap',
		ruleNumber: note.ruleNumber,
		rule: note.rule,
		field: note.field,
		message: 'Some values are not in the value map; they are kept or replaced by the default',
	};
}

/** Validates a rule set document (an object or JSON text). */
export function validateRuleSet(document: unknown, samples: JsonObject[], options: ValidateOptions): ValidationReport {
	const { ruleSet, problems } = parseRuleSet(document);
	return validateRules(ruleSet, problems, samples, options);
}

/** Validates parsed rules; `parseProblems` are reported as errors of the rule set. */
export function validateRules(ruleSet: RuleSet, parseProblems: RuleProblem[], samples: JsonObject[], options: ValidateOptions): ValidationReport {
	const list = new ProblemList();
	for (const problem of parseProblems) ruleProblem(list, problem, 'error', 'ruleSet');

	// Rules that can never be inverted are errors where they must be (B to A only, or the chosen direction).
	for (const rule of ruleSet.rules) {
		const reasons = inversionProblems(rule);
		const usedBackwards = rule.direction === 'bToA' || (rule.direction === 'both' && options.direction === 'bToA');
		if (reasons.length > 0 && rule.direction !== 'aToB') {
			list.add({
				severity: usedBackwards ? 'error' : 'warning',
				code: 'notInvertible',
				ruleNumber: rule.number,
				rule: ruleLabel(rule.source, rule.target),
				field: null,
				message: `It cannot be applied from B to A: ${reasons.join('; ')}. Give it an inverse, or set its direction to "A to B only".`,
			});
		}
		if (rule.direction !== 'aToB') {
			for (const note of inversionNotes(rule)) {
				list.add({ severity: 'warning', code: 'lossyInverse', ruleNumber: rule.number, rule: ruleLabel(rule.source, rule.target), field: null, message: `From B to A, ${note}` });
			}
		}
	}

	const chosen = compileMapper(ruleSet, { direction: options.direction, passThroughUnmapped: options.passThroughUnmapped, evaluate: options.evaluate });
	const reverse = compileMapper(ruleSet, { direction: other(options.direction) });
	// Inversion problems are reported above, once per rule.
	for (const problem of chosen.problems) {
		if (problem.kind !== 'notInvertible') ruleProblem(list, problem, 'error', 'ruleSet');
	}
	for (const problem of reverse.problems) {
		if (problem.kind !== 'notInvertible') {
			ruleProblem(list, problem, 'warning', 'ruleSet', options.direction === 'aToB' ? 'From B to A: ' : 'From A to B: ');
		}
	}

	let invalidSamples = 0;
	const rejected = new Set<number>();
	samples.forEach((sample, itemIndex) => {
		const rejection = options.rejectSample?.(itemIndex);
		if (rejection) {
			invalidSamples++;
			rejected.add(itemIndex);
			list.add({ severity: 'error', code: 'system', ruleNumber: null, rule: '', field: rejection.field, message: rejection.message }, { itemIndex, value: rejection.value });
			return;
		}
		const notes: MappingNote[] = [];
		const result = chosen.mapper.map(sample, itemIndex, { notes, skipRequired: options.skipRequired?.(itemIndex) });
		for (const note of notes) list.add(noteProblem(note), { itemIndex, value: note.value });
		if (!result.errors) return;
		invalidSamples++;
		for (const error of result.errors) {
			const number = chosen.mapper.rules.find((rule) => rule.label === error.rule)?.number ?? null;
			list.add(
				{ severity: 'error', code: error.code, ruleNumber: number, rule: error.rule, field: error.field, message: error.message },
				{ itemIndex, value: error.value },
			);
		}
	});
	// n8n evaluates an expression against the node's input item, not against a mapped record, so
	// the way back leaves expression rules out.
	const withoutExpressions = { ...ruleSet, rules: ruleSet.rules.filter((rule) => rule.transforms.every((transform) => transform.type !== 'expression')) };
	const back = compileMapper(withoutExpressions, { passThroughUnmapped: false, direction: other(options.direction) });
	checkRoundTrip(list, samples.map((sample, itemIndex) => (rejected.has(itemIndex) ? null : sample)), chosen.mapper, back.mapper, options);

	const problems = list.all();
	for (const problem of problems) {
		if (problem.code !== 'missingSource') continue;
		problem.message = problem.count === samples.length
			? `"${problem.field}" is missing in all ${samples.length} samples; check the field name`
			: `"${problem.field}" is missing in ${problem.count} of ${samples.length} samples`;
	}
	const errors = problems.filter((problem) => problem.severity === 'error').length;
	return {
		valid: errors === 0,
		direction: options.direction,
		rules: ruleSet.rules.length,
		samples: samples.length,
		invalidSamples,
		errors,
		warnings: problems.length - errors,
		problems,
	};
}
