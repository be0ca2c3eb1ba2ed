import { SyncError } from '../errors';
import type { JsonObject, JsonValue } from '../types';
import { directRule, inversionProblems, ruleApplies, type DirectedRule } from './invert';
import { compileGetter, compileSetter, pathsOverlap, type Getter, type Setter } from './paths';
import { ruleLabel, type MapDirection, type RuleProblem, type RuleSet } from './ruleSet';
import {
	cloneJson,
	compileStep,
	setOwn,
	StepError,
	type ExpressionEvaluator,
	type FieldErrorCode,
	type StepFn,
	type StepState,
} from './steps';

/** One reason an item cannot be mapped, as the Invalid output shows it. */
export interface FieldError {
	/** The field of the incoming record the rule reads (for a computed rule: the field it writes). */
	field: string;
	/** The value the failing step received. */
	value: JsonValue;
	rule: string;
	code: FieldErrorCode;
	message: string;
}

/** Something Validate points out about a sample that is not an error. */
export interface MappingNote {
	ruleNumber: number;
	rule: string;
	field: string;
	code: 'missingSource' | 'notInValueMap';
	value: JsonValue;
}

export interface MapperOptions {
	direction: MapDirection;
	/** Keep the top-level fields no rule reads or writes (never `_sync`). */
	passThroughUnmapped?: boolean;
	evaluate?: ExpressionEvaluator;
}

export interface MapOptions {
	/** Leave out the required checks, e.g. for a delete, where only the key matters. */
	skipRequired?: boolean;
	/**
	 * The record is a partial update: it holds only the fields that change. A rule whose source
	 * field is absent, or that has no source field, is left out, so neither a default nor a
	 * computed value overwrites a field the update leaves alone.
	 */
	partial?: boolean;
	/** Collect notes for Validate. */
	notes?: MappingNote[];
}

export interface MapResult {
	record: JsonObject;
	/** null when the item mapped cleanly. */
	errors: FieldError[] | null;
}

export interface Mapper {
	direction: MapDirection;
	rules: DirectedRule[];
	/** The paths the rules read, in this direction's source system. */
	sourceFields: string[];
	map(record: JsonObject, itemIndex: number, options?: MapOptions): MapResult;
	/** The source paths a mapping of `record` read: the rules' plus the passed-through fields. */
	readFields(record: JsonObject): string[];
}

interface CompiledRule {
	rule: DirectedRule;
	read: Getter | null;
	write: Setter;
	steps: StepFn[];
}

const SYNC_FIELD = '_sync';

function asJson(value: unknown): JsonValue {
	return value === undefined ? null : (cloneJson(value) as JsonValue);
}

function withoutUndefined(record: Record<string, unknown>): Record<string, unknown> {
	const clean: Record<string, unknown> = {};
	for (const key of Object.keys(record)) if (record[key] !== undefined) setOwn(clean, key, record[key]);
	return clean;
}

/** Rules of this direction that would write into each other's paths. */
function overlapProblems(rules: DirectedRule[], direction: MapDirection): Array<{ rule: DirectedRule; message: string }> {
	const problems: Array<{ rule: DirectedRule; message: string }> = [];
	for (let later = 1; later < rules.length; later++) {
		for (let earlier = 0; earlier < later; earlier++) {
			if (!pathsOverlap(rules[earlier].targetPath, rules[later].targetPath)) continue;
			const hint =
				direction === 'bToA' && rules[earlier].targetText === rules[later].targetText
					? `; from B to A both would write "${rules[later].targetText}": set one of them to "A to B only"`
					: '; give each rule its own target field';
			problems.push({
				rule: rules[later],
				message: `It writes "${rules[later].targetText}", which rule ${rules[earlier].number} also writes ("${rules[earlier].targetText}")${hint}`,
			});
			break;
		}
	}
	return problems;
}

/**
 * Compiles the rules that apply in one direction into closures, once per run. Rules that
 * cannot be compiled (not invertible, overlapping targets) are left out and reported.
 */
export function compileMapper(ruleSet: RuleSet, options: MapperOptions): { mapper: Mapper; problems: RuleProblem[] } {
	const { direction } = options;
	const problems: RuleProblem[] = [];
	const directed: DirectedRule[] = [];
	for (const rule of ruleSet.rules) {
		if (!ruleApplies(rule, direction)) continue;
		const reasons = direction === 'bToA' ? inversionProblems(rule) : [];
		if (reasons.length > 0) {
			problems.push({
				ruleNumber: rule.number,
				rule: ruleLabel(rule.source, rule.target),
				kind: 'notInvertible',
				message: `It cannot be applied from B to A: ${reasons.join('; ')}. Give it an inverse, or set its direction to "A to B only".`,
			});
			continue;
		}
		directed.push(directRule(rule, direction));
	}
	const overlaps = overlapProblems(directed, direction);
	for (const { rule, message } of overlaps) problems.push({ ruleNumber: rule.number, rule: rule.label, message, kind: 'overlap' });
	const rules = directed.filter((rule) => !overlaps.some((overlap) => overlap.rule === rule));

	const state: StepState = { record: {}, itemIndex: 0, onValueMapMiss: undefined };
	const compiled: CompiledRule[] = rules.map((rule) => ({
		rule,
		read: rule.sourcePath ? compileGetter(rule.sourcePath) : null,
		write: compileSetter(rule.targetPath),
		steps: rule.steps.map((step) => compileStep(step, state, options.evaluate)),
	}));

	const consumed = new Set<string>([SYNC_FIELD]);
	for (const rule of rules) {
		if (rule.sourcePath && typeof rule.sourcePath[0] === 'string') consumed.add(rule.sourcePath[0]);
		if (typeof rule.targetPath[0] === 'string') consumed.add(rule.targetPath[0]);
	}
	const sourceFields = [...new Set(rules.filter((rule) => rule.sourcePath).map((rule) => rule.sourceText))];
	// Every output starts as a copy of this shape. Adding 20 fields one by one through computed
	// keys would turn each output into a slow dictionary object (V8 allows only a few such adds).
	const topKeys = [...new Set(rules.map((rule) => String(rule.targetPath[0])))];
	const template = Object.fromEntries(topKeys.map((key) => [key, undefined])) as Record<string, unknown>;
	const passThrough = options.passThroughUnmapped === true;

	function map(record: JsonObject, itemIndex: number, mapOptions?: MapOptions): MapResult {
		const source = record as Record<string, unknown>;
		const notes = mapOptions?.notes;
		const skipRequired = mapOptions?.skipRequired === true;
		const partial = mapOptions?.partial === true;
		state.record = source;
		state.itemIndex = itemIndex;
		let out: Record<string, unknown> = { ...template };
		let errors: FieldError[] | null = null;
		let incomplete = false;
		for (const { rule, read, write, steps } of compiled) {
			let value = read ? read(source) : undefined;
			if (partial && value === undefined) {
				incomplete = true;
				continue;
			}
			if (notes) {
				if (read && value === undefined) notes.push({ ruleNumber: rule.number, rule: rule.label, field: rule.sourceText, code: 'missingSource', value: null });
				state.onValueMapMiss = (missed) => notes.push({ ruleNumber: rule.number, rule: rule.label, field: rule.sourceText, code: 'notInValueMap', value: asJson(missed) });
			}
			let input: unknown = value;
			try {
				for (const step of steps) {
					input = value;
					value = step(value);
				}
			} catch (error) {
				if (!(error instanceof StepError)) throw error;
				(errors ??= []).push({ field: rule.sourceText || rule.targetText, value: asJson(input), rule: rule.label, code: error.code, message: error.message });
				incomplete = true;
				continue;
			}
			if (value === undefined || value === null || value === '') {
				if (rule.required && !skipRequired) {
					const message = value === undefined && read
						? `"${rule.sourceText}" is required but missing`
						: `"${rule.sourceText || rule.targetText}" is required but empty`;
					(errors ??= []).push({ field: rule.sourceText || rule.targetText, value: asJson(value), rule: rule.label, code: 'required', message });
					incomplete = true;
					continue;
				}
				if (value === undefined) {
					incomplete = true;
					continue;
				}
			}
			write(out, value);
		}
		// A field no rule filled stays absent, as it was in the source.
		if (incomplete) out = withoutUndefined(out);
		if (passThrough) {
			for (const key of Object.keys(source)) if (!consumed.has(key)) setOwn(out, key, cloneJson(source[key]));
		}
		state.onValueMapMiss = undefined;
		return { record: out as JsonObject, errors };
	}

	function readFields(record: JsonObject): string[] {
		if (!passThrough) return sourceFields.slice();
		return [...sourceFields, ...Object.keys(record).filter((key) => !consumed.has(key))];
	}

	return { mapper: { direction, rules, sourceFields, map, readFields }, problems };
}

/** Lists rule problems for a message: the first few in full, then how many more. */
export function describeProblems(problems: RuleProblem[]): string {
	const shown = problems.slice(0, 3).map((problem) => (problem.ruleNumber === null ? problem.message : `Rule ${problem.ruleNumber} (${problem.rule}): ${problem.message}`));
	const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : '';
	return shown.join(' | ') + more;
}

/** Compiles a mapper for the Map operation; any rule problem stops the run with all of them listed. */
export function createMapper(ruleSet: RuleSet, options: MapperOptions, parseProblems: RuleProblem[] = []): Mapper {
	const { mapper, problems } = compileMapper(ruleSet, options);
	const all = [...parseProblems, ...problems];
	if (all.length > 0) {
		throw new SyncError(
			'INVALID_INPUT',
			all.length === 1 ? `The mapping rules have a problem: ${describeProblems(all)}` : `The mapping rules have ${all.length} problems: ${describeProblems(all)}`,
			'Fix the rules named above. Run the Validate operation on sample items to see every problem at once.',
		);
	}
	return mapper;
}
