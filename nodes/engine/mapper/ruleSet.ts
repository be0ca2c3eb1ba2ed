import { DateTime } from 'luxon';

import type { JsonObject, JsonPrimitive, JsonValue } from '../types';
import { parsePath, PathError, pathText, type PathSegment } from './paths';

/**
 * The rule set as a JSON document (import/export) and its parsed form. A rule set is always
 * written from system A to system B; applying it from B to A inverts it (see invert.ts).
 */

export const RULE_SET_VERSION = 1;

export const VALUE_TYPES = ['keep', 'string', 'number', 'integer', 'boolean', 'date', 'datetime', 'json'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];

/** The types a scalar field can have in system A, for the B-to-A direction. */
export const SOURCE_TYPES = ['keep', 'string', 'number', 'integer'] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];

export const RULE_DIRECTIONS = ['both', 'aToB', 'bToA'] as const;
export type RuleDirection = (typeof RULE_DIRECTIONS)[number];
export type MapDirection = 'aToB' | 'bToA';

export const VALUE_MAP_FALLBACKS = ['keep', 'default', 'error'] as const;
export type ValueMapFallback = (typeof VALUE_MAP_FALLBACKS)[number];

export type JsonForm = 'text' | 'value';

export type Transform =
	| { type: 'trim' }
	| { type: 'lowercase' }
	| { type: 'uppercase' }
	| { type: 'default'; value: JsonValue }
	| { type: 'valueMap'; map: Record<string, JsonPrimitive>; fallback: ValueMapFallback; default?: JsonValue }
	| { type: 'expression'; expression: string; inverse?: string };

export type TransformType = Transform['type'];
const TRANSFORM_TYPES: TransformType[] = ['trim', 'lowercase', 'uppercase', 'default', 'valueMap', 'expression'];

export interface BooleanOptions {
	/** Values that mean true in the source. Empty: the common words (true, yes, 1, ...), and the source holds real booleans. */
	true: JsonPrimitive[];
	false: JsonPrimitive[];
	/** How the target writes true and false. */
	writeTrue: JsonPrimitive;
	writeFalse: JsonPrimitive;
}

/** `from`/`to` are luxon format tokens (e.g. `MM/dd/yyyy`) or one of DATE_FORMAT_NAMES. */
export interface DateOptions {
	from: string;
	to: string;
	/** The zone of source values that carry no offset. */
	fromZone: string;
	/** The zone the target's values are written in. */
	toZone: string;
	locale: string;
}

export const DATE_FORMAT_NAMES = ['iso', 'epochMillis', 'epochSeconds'] as const;

export interface JsonOptions {
	from: JsonForm;
	to: JsonForm;
}

export interface MappingRule {
	/** 1-based position in the rule set, for messages. */
	number: number;
	/** Empty for a computed rule (a default or an expression makes the value). */
	source: string;
	target: string;
	sourcePath: PathSegment[] | null;
	targetPath: PathSegment[];
	type: ValueType;
	sourceType: SourceType;
	required: boolean;
	direction: RuleDirection;
	transforms: Transform[];
	boolean?: BooleanOptions;
	date?: DateOptions;
	json?: JsonOptions;
}

export interface RuleSet {
	version: typeof RULE_SET_VERSION;
	systemA?: string;
	systemB?: string;
	rules: MappingRule[];
}

/** A problem with the rule set itself (not with a record). */
export interface RuleProblem {
	/** null for a problem of the whole document. */
	ruleNumber: number | null;
	rule: string;
	message: string;
	/** Set by compiling: a rule that cannot be inverted, or whose target another rule also writes. */
	kind?: 'notInvertible' | 'overlap';
}

export const DEFAULT_TRUE_WORDS: JsonPrimitive[] = ['true', 'yes', 'y', '1', 'on'];
export const DEFAULT_FALSE_WORDS: JsonPrimitive[] = ['false', 'no', 'n', '0', 'off'];
const DEFAULT_DATE: DateOptions = { from: 'iso', to: 'iso', fromZone: 'UTC', toZone: 'UTC', locale: 'en-US' };
const DEFAULT_JSON: JsonOptions = { from: 'text', to: 'value' };

const RULE_KEYS = new Set(['source', 'target', 'type', 'sourceType', 'required', 'direction', 'transforms', 'boolean', 'date', 'json']);

export function ruleLabel(source: string, target: string): string {
	return `${source === '' ? '(computed)' : source} → ${target}`;
}

class RuleInputError extends Error {}

function isObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPrimitive(value: unknown): value is JsonPrimitive {
	return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

function describe(value: unknown): string {
	return JSON.stringify(value) ?? String(value);
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string, fallback: T): T {
	if (value === undefined || value === null || value === '') return fallback;
	if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
	throw new RuleInputError(`"${field}" is ${describe(value)}; use one of: ${allowed.join(', ')}`);
}

function text(value: unknown, field: string): string {
	if (value === undefined || value === null) return '';
	if (typeof value !== 'string') throw new RuleInputError(`"${field}" must be text, not ${describe(value)}`);
	return value.trim();
}

function parseRulePath(value: string, field: string): PathSegment[] {
	try {
		return parsePath(value);
	} catch (error) {
		if (error instanceof PathError) throw new RuleInputError(`The ${field} path ${error.message}`);
		throw error;
	}
}

/** Words may be given as a list or as comma-separated text (as the UI has them). */
function words(value: unknown, field: string): JsonPrimitive[] {
	if (value === undefined || value === null || value === '') return [];
	if (typeof value === 'string') return value.split(',').map((word) => word.trim()).filter((word) => word !== '');
	if (Array.isArray(value) && value.every(isPrimitive)) return value;
	throw new RuleInputError(`"${field}" must be a list of words, or text with words separated by commas`);
}

function validZone(zone: string): boolean {
	return DateTime.fromMillis(0, { zone }).isValid;
}

function parseBoolean(value: unknown): BooleanOptions {
	const options = value === undefined || value === null ? {} : value;
	if (!isObject(options)) throw new RuleInputError('"boolean" must be an object with "true", "false", "writeTrue" and "writeFalse"');
	const trueWords = words(options.true, 'boolean.true');
	const falseWords = words(options.false, 'boolean.false');
	const writeTrue = options.writeTrue ?? true;
	const writeFalse = options.writeFalse ?? false;
	if (!isPrimitive(writeTrue) || !isPrimitive(writeFalse)) throw new RuleInputError('"boolean.writeTrue" and "boolean.writeFalse" must be text, numbers or booleans');
	if (writeTrue === writeFalse) throw new RuleInputError(`"boolean.writeTrue" and "boolean.writeFalse" are both ${describe(writeTrue)}; true and false must be written differently`);
	const trueKeys = new Set((trueWords.length ? trueWords : DEFAULT_TRUE_WORDS).map(wordKey));
	const shared = (falseWords.length ? falseWords : DEFAULT_FALSE_WORDS).find((word) => trueKeys.has(wordKey(word)));
	if (shared !== undefined) throw new RuleInputError(`${describe(shared)} is both a true word and a false word`);
	return { true: trueWords, false: falseWords, writeTrue, writeFalse };
}

/** Boolean words compare without regard to case or surrounding spaces. */
export function wordKey(word: JsonPrimitive): string {
	return String(word).trim().toLowerCase();
}

/** "ISO" and "iso" mean the same; anything else is a luxon token format. */
function dateFormat(value: unknown, field: string): string {
	const format = text(value, field);
	if (format === '') return DEFAULT_DATE.from;
	return DATE_FORMAT_NAMES.find((name) => name.toLowerCase() === format.toLowerCase()) ?? format;
}

/** A token format must read back what it writes, or one direction of the rule could never parse. */
function checkReadable(format: string, field: string, locale: string): void {
	if ((DATE_FORMAT_NAMES as readonly string[]).includes(format)) return;
	const sample = DateTime.fromObject({ year: 2031, month: 11, day: 23, hour: 17, minute: 45, second: 12 }, { zone: 'UTC', locale });
	const written = sample.toFormat(format);
	// The sample's year is not this year, so a format without a year, month or day reads back another date.
	const read = DateTime.fromFormat(written, format, { zone: 'UTC', locale });
	if (!read.isValid || read.toISODate() !== sample.toISODate()) {
		throw new RuleInputError(`"${field}" is "${format}", which cannot read back the dates it writes (such as "${written}"); use luxon tokens such as yyyy-MM-dd HH:mm, or iso`);
	}
}

function parseDate(value: unknown, direction: RuleDirection): DateOptions {
	const options = value === undefined || value === null ? {} : value;
	if (!isObject(options)) throw new RuleInputError('"date" must be an object with "from", "to", "fromZone", "toZone" and "locale"');
	const date: DateOptions = {
		from: dateFormat(options.from, 'date.from'),
		to: dateFormat(options.to, 'date.to'),
		fromZone: text(options.fromZone, 'date.fromZone') || DEFAULT_DATE.fromZone,
		toZone: text(options.toZone, 'date.toZone') || DEFAULT_DATE.toZone,
		locale: text(options.locale, 'date.locale') || DEFAULT_DATE.locale,
	};
	try {
		Intl.DateTimeFormat.supportedLocalesOf(date.locale);
	} catch {
		throw new RuleInputError(`"date.locale" is "${date.locale}", which is not a locale; use a tag such as en-US or de-DE`);
	}
	// A to B parses "from"; B to A parses "to".
	if (direction !== 'bToA') checkReadable(date.from, 'date.from', date.locale);
	if (direction !== 'aToB') checkReadable(date.to, 'date.to', date.locale);
	for (const field of ['fromZone', 'toZone'] as const) {
		if (!validZone(date[field])) {
			throw new RuleInputError(`"date.${field}" is "${date[field]}", which is not a time zone; use an IANA name such as "Europe/Berlin", or "UTC"`);
		}
	}
	return date;
}

function parseJsonOptions(value: unknown): JsonOptions {
	const options = value === undefined || value === null ? {} : value;
	if (!isObject(options)) throw new RuleInputError('"json" must be an object with "from" and "to" ("text" or "value")');
	return {
		from: oneOf(options.from, ['text', 'value'] as const, 'json.from', DEFAULT_JSON.from),
		to: oneOf(options.to, ['text', 'value'] as const, 'json.to', DEFAULT_JSON.to),
	};
}

function parseValueMap(value: unknown): Record<string, JsonPrimitive> {
	const map = typeof value === 'string' ? parseJsonText(value, 'valueMap.map') : value;
	if (!isObject(map)) throw new RuleInputError('The value map must be an object of source value to target value, e.g. {"Active": "A"}');
	// No prototype: a source value such as "__proto__" must stay an ordinary entry.
	const result: Record<string, JsonPrimitive> = Object.create(null) as Record<string, JsonPrimitive>;
	for (const [key, target] of Object.entries(map)) {
		if (!isPrimitive(target)) throw new RuleInputError(`The value map gives ${describe(target)} for "${key}"; use text, a number, a boolean or null`);
		result[key] = target;
	}
	if (Object.keys(result).length === 0) throw new RuleInputError('The value map is empty');
	return result;
}

function parseJsonText(value: string, field: string): unknown {
	if (value.trim() === '') return {};
	try {
		return JSON.parse(value);
	} catch (error) {
		throw new RuleInputError(`"${field}" is not valid JSON: ${(error as Error).message}`);
	}
}

function parseTransform(value: unknown, position: number): Transform {
	if (!isObject(value) || value.type === undefined || value.type === '') {
		throw new RuleInputError(`Transform ${position} has no "type"; use one of: ${TRANSFORM_TYPES.join(', ')}`);
	}
	const type = oneOf(value.type, TRANSFORM_TYPES, `transforms[${position - 1}].type`, 'trim');
	switch (type) {
		case 'trim':
		case 'lowercase':
		case 'uppercase':
			return { type };
		case 'default':
			if (value.value === undefined) throw new RuleInputError(`Transform ${position} (default) has no "value"`);
			return { type, value: value.value as JsonValue };
		case 'valueMap': {
			const fallback = oneOf(value.fallback, VALUE_MAP_FALLBACKS, 'valueMap.fallback', 'keep');
			const map = parseValueMap(value.map);
			if (fallback === 'default') {
				if (value.default === undefined) throw new RuleInputError(`Transform ${position} (value map) falls back to a default but gives no "default"`);
				return { type, map, fallback, default: value.default as JsonValue };
			}
			return { type, map, fallback };
		}
		case 'expression': {
			const expression = text(value.expression, 'expression');
			if (expression === '') throw new RuleInputError(`Transform ${position} (expression) has no "expression"`);
			const inverse = text(value.inverse, 'inverse');
			return inverse === '' ? { type, expression } : { type, expression, inverse };
		}
	}
}

function parseRule(value: unknown, number: number): MappingRule {
	if (!isObject(value)) throw new RuleInputError('A rule must be an object with at least "source" and "target"');
	const unknownKeys = Object.keys(value).filter((key) => !RULE_KEYS.has(key));
	if (unknownKeys.length > 0) throw new RuleInputError(`Unknown field ${unknownKeys.map((key) => `"${key}"`).join(', ')}; a rule has: ${[...RULE_KEYS].join(', ')}`);
	const source = text(value.source, 'source');
	const target = text(value.target, 'target');
	if (target === '') throw new RuleInputError('The rule has no target field');
	const type = oneOf(value.type, VALUE_TYPES, 'type', 'keep');
	if (value.transforms !== undefined && value.transforms !== null && !Array.isArray(value.transforms)) {
		throw new RuleInputError('"transforms" must be a list');
	}
	const transforms = ((value.transforms as unknown[] | undefined) ?? []).map((transform, index) => parseTransform(transform, index + 1));
	const computes = transforms.some((transform) => transform.type === 'expression' || transform.type === 'default');
	if (source === '' && !computes) throw new RuleInputError('The rule has no source field (only a rule with a default or an expression can do without one)');
	if (value.required !== undefined && typeof value.required !== 'boolean') throw new RuleInputError('"required" must be true or false');
	const rule: MappingRule = {
		number,
		source: source === '' ? '' : pathText(parseRulePath(source, 'source')),
		target: pathText(parseRulePath(target, 'target')),
		sourcePath: source === '' ? null : parseRulePath(source, 'source'),
		targetPath: parseRulePath(target, 'target'),
		type,
		sourceType: oneOf(value.sourceType, SOURCE_TYPES, 'sourceType', 'keep'),
		required: value.required === true,
		direction: oneOf(value.direction, RULE_DIRECTIONS, 'direction', 'both'),
		transforms,
	};
	if (type === 'boolean') rule.boolean = parseBoolean(value.boolean);
	if (type === 'date' || type === 'datetime') rule.date = parseDate(value.date, rule.direction);
	if (type === 'json') rule.json = parseJsonOptions(value.json);
	return rule;
}

function ruleTexts(value: unknown): { source: string; target: string } {
	if (!isObject(value)) return { source: '', target: '?' };
	return {
		source: typeof value.source === 'string' ? value.source.trim() : '',
		target: typeof value.target === 'string' && value.target.trim() !== '' ? value.target.trim() : '?',
	};
}

/**
 * Reads a rule set document (an object, or its JSON text). Every problem is collected rather than
 * the first one thrown, so Validate can list them all; rules with problems are left out.
 */
export function parseRuleSet(input: unknown): { ruleSet: RuleSet; problems: RuleProblem[] } {
	const problems: RuleProblem[] = [];
	const ruleSet: RuleSet = { version: RULE_SET_VERSION, rules: [] };
	let document = input;
	if (typeof input === 'string') {
		try {
			document = parseJsonText(input, 'Rules (JSON)');
		} catch (error) {
			return { ruleSet, problems: [{ ruleNumber: null, rule: '', message: (error as Error).message }] };
		}
	}
	if (Array.isArray(document)) document = { rules: document };
	if (!isObject(document) || !Array.isArray(document.rules)) {
		problems.push({ ruleNumber: null, rule: '', message: 'The rule set must be an object with a "rules" list, e.g. {"version": 1, "rules": [{"source": "Customer_ID", "target": "ClientID"}]}' });
		return { ruleSet, problems };
	}
	if (document.version !== undefined && document.version !== RULE_SET_VERSION) {
		problems.push({ ruleNumber: null, rule: '', message: `The rule set has version ${describe(document.version)}; this node reads version ${RULE_SET_VERSION}` });
	}
	for (const side of ['systemA', 'systemB'] as const) {
		const name = document[side];
		if (typeof name === 'string' && name.trim() !== '') ruleSet[side] = name.trim();
	}
	document.rules.forEach((value, index) => {
		try {
			ruleSet.rules.push(parseRule(value, index + 1));
		} catch (error) {
			if (!(error instanceof RuleInputError)) throw error;
			const { source, target } = ruleTexts(value);
			problems.push({ ruleNumber: index + 1, rule: ruleLabel(source, target), message: error.message });
		}
	});
	if (document.rules.length === 0) problems.push({ ruleNumber: null, rule: '', message: 'The rule set has no rules' });
	return { ruleSet, problems };
}

/** The rule set as its JSON document, leaving out what equals the defaults. */
export function exportRuleSet(ruleSet: RuleSet): JsonObject {
	const rules = ruleSet.rules.map((rule) => {
		const out: JsonObject = {};
		if (rule.source !== '') out.source = rule.source;
		out.target = rule.target;
		out.type = rule.type;
		if (rule.sourceType !== 'keep') out.sourceType = rule.sourceType;
		if (rule.required) out.required = true;
		if (rule.direction !== 'both') out.direction = rule.direction;
		if (rule.transforms.length > 0) out.transforms = rule.transforms.map((transform) => ({ ...transform }) as JsonObject);
		if (rule.boolean) {
			const options: JsonObject = {};
			if (rule.boolean.true.length > 0) options.true = rule.boolean.true;
			if (rule.boolean.false.length > 0) options.false = rule.boolean.false;
			if (rule.boolean.writeTrue !== true) options.writeTrue = rule.boolean.writeTrue;
			if (rule.boolean.writeFalse !== false) options.writeFalse = rule.boolean.writeFalse;
			if (Object.keys(options).length > 0) out.boolean = options;
		}
		if (rule.date) {
			const options: JsonObject = {};
			for (const field of ['from', 'to', 'fromZone', 'toZone', 'locale'] as const) {
				if (rule.date[field] !== DEFAULT_DATE[field]) options[field] = rule.date[field];
			}
			if (Object.keys(options).length > 0) out.date = options;
		}
		if (rule.json && (rule.json.from !== DEFAULT_JSON.from || rule.json.to !== DEFAULT_JSON.to)) out.json = { ...rule.json };
		return out;
	});
	const document: JsonObject = { version: RULE_SET_VERSION };
	if (ruleSet.systemA) document.systemA = ruleSet.systemA;
	if (ruleSet.systemB) document.systemB = ruleSet.systemB;
	document.rules = rules;
	return document;
}
