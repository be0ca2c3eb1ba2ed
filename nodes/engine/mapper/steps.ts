import { DateTime, type Zone } from 'luxon';

import type { JsonPrimitive, JsonValue } from '../types';
import type { Conversion, Step } from './invert';
import { DEFAULT_FALSE_WORDS, DEFAULT_TRUE_WORDS, wordKey, type DateOptions } from './ruleSet';

/**
 * Each step of a rule compiled into a closure once per run. A step takes the value and returns
 * the new one, or throws StepError, which becomes a per-field error on the Invalid output.
 */

export type FieldErrorCode = 'required' | 'type' | 'valueMap' | 'expression';

export class StepError extends Error {
	constructor(
		readonly code: FieldErrorCode,
		message: string,
	) {
		super(message);
	}
}

/** What a step needs to know about the item being mapped; one object per run, updated per item. */
export interface StepState {
	record: Record<string, unknown>;
	itemIndex: number;
	/** Set only while validating: values that a value map kept or defaulted. */
	onValueMapMiss: ((value: unknown) => void) | undefined;
}

export type ExpressionContext = { itemIndex: number; record: Record<string, unknown>; value: unknown };
/** Evaluates an n8n expression for one item; supplied by the node, since the engine has no n8n. */
export type ExpressionEvaluator = (expression: string, context: ExpressionContext) => unknown;

export type StepFn = (value: unknown) => unknown;

export function isEmpty(value: unknown): boolean {
	return value === undefined || value === null || value === '';
}

export function show(value: unknown): string {
	if (typeof value === 'string') return JSON.stringify(value);
	if (value === undefined) return 'nothing';
	try {
		const text = JSON.stringify(value) ?? String(value);
		return text.length > 80 ? `${text.slice(0, 77)}...` : text;
	} catch {
		return String(value);
	}
}

/**
 * Sets an own property. JSON.parse can give a record an own "__proto__" field; a plain
 * assignment of that name would replace the object's prototype instead of copying the field.
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
	if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
	else target[key] = value;
}

/** A deep copy of JSON-like data, so an output item never shares objects with its input. */
export function cloneJson(value: unknown): unknown {
	if (value === null || typeof value !== 'object') return value;
	if (Array.isArray(value)) return value.map(cloneJson);
	if (value instanceof Date) return value.toISOString();
	const copy: Record<string, unknown> = {};
	for (const key of Object.keys(value)) setOwn(copy, key, cloneJson((value as Record<string, unknown>)[key]));
	return copy;
}

const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function toNumber(value: unknown): number {
	if (typeof value === 'number') {
		if (Number.isFinite(value)) return value;
		throw new StepError('type', `${String(value)} is not a finite number`);
	}
	if (typeof value === 'string') {
		const text = value.trim();
		if (NUMBER_TEXT.test(text)) return Number(text);
	}
	throw new StepError('type', `${show(value)} is not a number`);
}

function toInteger(value: unknown): number {
	const number = toNumber(value);
	if (!Number.isInteger(number)) throw new StepError('type', `${show(value)} is not a whole number`);
	if (!Number.isSafeInteger(number)) throw new StepError('type', `${show(value)} is too large to be exact as a number; keep it as text (type String)`);
	return number;
}

function toText(value: unknown): string {
	switch (typeof value) {
		case 'string':
			return value;
		case 'number':
		case 'boolean':
			return String(value);
		default:
			throw new StepError('type', `${show(value)} is not a single value, so it cannot become text; use the type JSON`);
	}
}

/** Empty values pass every conversion: nothing stays nothing, null stays null, and "" becomes null where text makes no sense. */
function emptyAware(convert: StepFn, keepsEmptyText: boolean): StepFn {
	return (value) => {
		if (value === undefined || value === null) return value;
		if (value === '') return keepsEmptyText ? '' : null;
		return convert(value);
	};
}

function booleanStep(conversion: Extract<Conversion, { type: 'boolean' }>): StepFn {
	const trueWords = conversion.true.length > 0 ? conversion.true : DEFAULT_TRUE_WORDS;
	const falseWords = conversion.false.length > 0 ? conversion.false : DEFAULT_FALSE_WORDS;
	const meaning = new Map<string, boolean>();
	for (const word of trueWords) meaning.set(wordKey(word), true);
	for (const word of falseWords) meaning.set(wordKey(word), false);
	const { writeTrue, writeFalse } = conversion;
	const expected = `${trueWords.map((word) => show(word)).join(', ')} or ${falseWords.map((word) => show(word)).join(', ')}`;
	return (value) => {
		let truth: boolean | undefined;
		if (typeof value === 'boolean') truth = value;
		else if (typeof value === 'string' || typeof value === 'number') truth = meaning.get(wordKey(value));
		if (truth === undefined) throw new StepError('type', `${show(value)} is not a yes/no value; expected ${expected}`);
		return truth ? writeTrue : writeFalse;
	};
}

function zoneOf(name: string): Zone {
	return DateTime.fromMillis(0, { zone: name }).zone;
}

type Parse = (value: unknown) => DateTime;
type Format = (date: DateTime) => JsonPrimitive;

function dateParser(options: DateOptions): Parse {
	const zone = zoneOf(options.fromZone);
	const parseOptions = { zone, locale: options.locale };
	const invalid = (value: unknown, date: DateTime | undefined, expected: string): never => {
		const why = date?.invalidExplanation ? ` (${date.invalidExplanation})` : '';
		throw new StepError('type', `${show(value)} is not a date in the format ${expected}${why}`);
	};
	const fromObjects = (value: unknown): DateTime | undefined => {
		if (value instanceof Date) return DateTime.fromJSDate(value, parseOptions);
		if (DateTime.isDateTime(value)) return value.setZone(zone);
		return undefined;
	};
	const checked = (value: unknown, date: DateTime, expected: string): DateTime => (date.isValid ? date : invalid(value, date, expected));
	switch (options.from) {
		case 'iso':
			return (value) => {
				const object = fromObjects(value);
				if (object) return object;
				if (typeof value !== 'string') return invalid(value, undefined, 'ISO 8601');
				return checked(value, DateTime.fromISO(value.trim(), parseOptions), 'ISO 8601');
			};
		case 'epochMillis':
		case 'epochSeconds': {
			const seconds = options.from === 'epochSeconds';
			return (value) => {
				const object = fromObjects(value);
				if (object) return object;
				let number: number;
				try {
					number = toNumber(value);
				} catch {
					return invalid(value, undefined, seconds ? 'seconds since 1970' : 'milliseconds since 1970');
				}
				return DateTime.fromMillis(seconds ? number * 1000 : number, parseOptions);
			};
		}
		default: {
			// Building the token parser once per run is what keeps custom formats fast.
			const parser = DateTime.buildFormatParser(options.from, { locale: options.locale });
			return (value) => {
				const object = fromObjects(value);
				if (object) return object;
				if (typeof value !== 'string') return invalid(value, undefined, `"${options.from}"`);
				return checked(value, DateTime.fromFormatParser(value.trim(), parser, parseOptions), `"${options.from}"`);
			};
		}
	}
}

function dateFormatter(options: DateOptions, dateOnly: boolean): Format {
	const zone = zoneOf(options.toZone);
	const inZone = (date: DateTime) => date.setZone(zone);
	switch (options.to) {
		case 'iso':
			return dateOnly ? (date) => inZone(date).toISODate() : (date) => inZone(date).toISO();
		case 'epochMillis':
			return (date) => date.toMillis();
		case 'epochSeconds':
			return (date) => Math.floor(date.toMillis() / 1000);
		default: {
			const format = options.to;
			const locale = options.locale;
			return (date) => {
				const zoned = inZone(date);
				return (zoned.locale === locale ? zoned : zoned.setLocale(locale)).toFormat(format);
			};
		}
	}
}

function dateStep(conversion: Extract<Conversion, { type: 'date' }>): StepFn {
	const parse = dateParser(conversion);
	const format = dateFormatter(conversion, conversion.dateOnly);
	return (value) => format(parse(value));
}

function jsonStep(conversion: Extract<Conversion, { type: 'json' }>): StepFn {
	const read: StepFn =
		conversion.from === 'text'
			? (value) => {
					if (typeof value !== 'string') return value;
					try {
						return JSON.parse(value) as JsonValue;
					} catch (error) {
						throw new StepError('type', `${show(value)} is not valid JSON (${(error as Error).message})`);
					}
				}
			: (value) => value;
	if (conversion.to === 'text') return (value) => JSON.stringify(read(value));
	return (value) => cloneJson(read(value));
}

function conversionStep(conversion: Conversion): StepFn {
	switch (conversion.type) {
		case 'keep':
			return cloneJson;
		case 'string':
			return emptyAware(toText, true);
		case 'number':
			return emptyAware(toNumber, false);
		case 'integer':
			return emptyAware(toInteger, false);
		case 'boolean':
			return emptyAware(booleanStep(conversion), false);
		case 'date':
			return emptyAware(dateStep(conversion), false);
		case 'json': {
			const json = jsonStep(conversion);
			// Empty text is no document; but as a value, "" is the JSON string "".
			if (conversion.from === 'value') return (value) => (value === undefined || value === null ? value : json(value));
			return emptyAware(json, false);
		}
	}
}

function valueMapStep(step: Extract<Step, { kind: 'valueMap' }>, state: StepState): StepFn {
	const { entries, fallback } = step;
	const fallbackValue = step.default;
	const known = [...entries.keys()].slice(0, 10).map((key) => JSON.stringify(key)).join(', ');
	return (value) => {
		// Empty values skip the map; "default when empty" is the transform for those.
		if (value === undefined || value === null || value === '') return value;
		const key = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
		if (key !== undefined) {
			const mapped = entries.get(key);
			if (mapped !== undefined || entries.has(key)) return mapped;
		}
		if (fallback === 'error') throw new StepError('valueMap', `${show(value)} is not in the value map (${known}${entries.size > 10 ? ', ...' : ''})`);
		state.onValueMapMiss?.(value);
		return fallback === 'default' ? fallbackValue : value;
	};
}

function expressionStep(expression: string, state: StepState, evaluate: ExpressionEvaluator | undefined): StepFn {
	return (value) => {
		if (!evaluate) throw new StepError('expression', 'Expressions can only be evaluated inside n8n');
		try {
			return evaluate(expression, { itemIndex: state.itemIndex, record: state.record, value });
		} catch (error) {
			throw new StepError('expression', `The expression ${expression} failed: ${error instanceof Error ? error.message : String(error)}`);
		}
	};
}

export function compileStep(step: Step, state: StepState, evaluate: ExpressionEvaluator | undefined): StepFn {
	switch (step.kind) {
		case 'trim':
			return (value) => (typeof value === 'string' ? value.trim() : value);
		case 'lowercase':
			return (value) => (typeof value === 'string' ? value.toLowerCase() : value);
		case 'uppercase':
			return (value) => (typeof value === 'string' ? value.toUpperCase() : value);
		case 'default': {
			const fallback = step.value;
			return (value) => (isEmpty(value) ? cloneJson(fallback) : value);
		}
		case 'valueMap':
			return valueMapStep(step, state);
		case 'expression':
			return expressionStep(step.expression, state, evaluate);
		case 'convert':
			return conversionStep(step.conversion);
	}
}
