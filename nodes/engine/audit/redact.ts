import { createHmac } from 'node:crypto';

import { SyncError } from '../errors';
import { canonicalJson } from '../hash';
import type { JsonObject, JsonValue } from '../types';
import type { AuditEndpoint, AuditEvent, FieldChange } from './types';

/**
 * Redaction keeps the audit trail from becoming a second copy of the data. Rules match a field by
 * name (at any depth) or a value by pattern, and each has a method:
 * - mask: keeps a hint of the value (`j***@x.com`, `****1111`), never enough to restore it;
 * - hash: a keyed HMAC-SHA256, so equal values stay joinable but cannot be guessed without the key;
 * - drop: removes the value.
 * Secret-like fields (password, token, secret, API key, authorization, ...) are always redacted.
 */

export type RedactionMethod = 'mask' | 'hash' | 'drop';
export type PatternKind = 'email' | 'phone' | 'cardNumber' | 'custom';

export type RedactionRule =
	| { match: 'field'; fields: string[]; method: RedactionMethod }
	| { match: PatternKind; method: RedactionMethod; regex?: string };

export interface RedactionSettings {
	rules: RedactionRule[];
	/** How secret-like fields are redacted; they are never logged in clear. */
	secretFields: RedactionMethod;
	/** The HMAC key for the hash method. */
	hashKey?: string;
}

/** Parts of a field name (lower case, letters and digits only) that mark it as secret. */
const SECRET_MARKERS = ['password', 'passwd', 'passphrase', 'secret', 'token', 'apikey', 'authorization', 'privatekey', 'accesskey'];

export const MASK = '***';
/** What a dropped value leaves where a value must stay (an error text, a key). */
export const DROPPED = '[redacted]';

export function isSecretFieldName(name: string): boolean {
	const normalised = name.toLowerCase().replace(/[^a-z0-9]/g, '');
	return SECRET_MARKERS.some((marker) => normalised.includes(marker));
}

interface FieldMatch {
	method: RedactionMethod;
	secret: boolean;
}

interface Matcher {
	kind: PatternKind;
	method: RedactionMethod;
	regex: RegExp;
	/** The part of a match that really is what the rule looks for, if any. */
	refine?: (text: string) => Span | undefined;
}

/** The local part takes every character RFC 5322 allows unquoted, so no valid address slips through. */
const EMAIL = /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
const WHOLE_EMAIL = new RegExp(`^${EMAIL.source}$`);
/** Digits with optional separators; `acceptPhone` then keeps only what looks like a phone number. */
const PHONE = /(?<![\w+])\+?(?:\(\d{1,4}\)[ .-]?)?\d[\d .()-]{5,}\d(?![\w])/g;
const CARD = /(?<![\w])\d(?:[ -]?\d){12,18}(?![\w])/g;
const DATE_LIKE = /^\d{4}[-./]\d{1,2}[-./]\d{1,2}|^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$/;
/** A decimal number or an IPv4 address, which the phone pattern would otherwise take. */
const DECIMAL_OR_ADDRESS = /^\d+\.\d+$|^\d{1,3}(?:\.\d{1,3}){3}$/;
/** When two patterns match the same text, the more specific one redacts it. */
const PRIORITY: Record<PatternKind, number> = { cardNumber: 0, email: 1, custom: 2, phone: 3 };

function digitsOf(text: string): string {
	return text.replace(/\D/g, '');
}

/** Phone numbers: 7 to 15 digits (E.164), written with a leading + or 0 or with separators, and not a date. */
function acceptPhone(text: string): boolean {
	const digits = digitsOf(text).length;
	if (digits < 7 || digits > 15 || DATE_LIKE.test(text) || DECIMAL_OR_ADDRESS.test(text)) return false;
	return text.startsWith('+') || /[ .()-]/.test(text) || (text.startsWith('0') && digits >= 9);
}

function passesLuhn(digits: string): boolean {
	let sum = 0;
	for (let index = 0; index < digits.length; index++) {
		let digit = Number(digits[digits.length - 1 - index]);
		if (index % 2 === 1) {
			digit *= 2;
			if (digit > 9) digit -= 9;
		}
		sum += digit;
	}
	return sum % 10 === 0;
}

type Span = { start: number; end: number };

/**
 * Card numbers are 13 to 19 digits that pass the Luhn check, which almost no other number does by
 * chance. The pattern may take in digits written next to a card ("order 12 4111 1111 ..."), so
 * the card is looked for among the whole digit groups of the match, longest first.
 */
function findCard(text: string): Span | undefined {
	const positions: number[] = [];
	for (let index = 0; index < text.length; index++) if (/\d/.test(text[index])) positions.push(index);
	const isEdge = (index: number) => index < 0 || index >= text.length || !/\d/.test(text[index]);
	for (let length = Math.min(19, positions.length); length >= 13; length--) {
		for (let first = 0; first + length <= positions.length; first++) {
			const start = positions[first];
			const end = positions[first + length - 1] + 1;
			// Only whole digit groups: a run of digits cut anywhere would pass the check one time in ten.
			if (!isEdge(start - 1) || !isEdge(end)) continue;
			if (passesLuhn(positions.slice(first, first + length).map((index) => text[index]).join(''))) return { start, end };
		}
	}
	return undefined;
}

function whole(accept: (text: string) => boolean): (text: string) => Span | undefined {
	return (text) => (accept(text) ? { start: 0, end: text.length } : undefined);
}

function compileCustom(source: string | undefined): RegExp {
	if (!source || source.trim() === '') {
		throw new SyncError('INVALID_INPUT', 'A custom redaction pattern is empty', 'Enter a regular expression for the custom pattern rule, or remove the rule.');
	}
	try {
		const regex = new RegExp(source, 'g');
		if (regex.test('')) {
			throw new SyncError(
				'INVALID_INPUT',
				`The custom redaction pattern /${source}/ matches empty text`,
				'Make the pattern match at least one character (e.g. use + instead of *).',
			);
		}
		return regex;
	} catch (error) {
		if (error instanceof SyncError) throw error;
		throw new SyncError(
			'INVALID_INPUT',
			`The custom redaction pattern /${source}/ is not a valid regular expression: ${(error as Error).message}`,
			'Correct the pattern (JavaScript regular expression syntax, without the surrounding slashes).',
			{ cause: error },
		);
	}
}

function normaliseFieldName(name: string): string {
	return name.trim().toLowerCase();
}

/** Path segments without array indexes: a rule for `phones.number` matches `phones.0.number`. */
function namedSegments(path: string[]): string[] {
	return path.filter((segment) => !/^\d+$/.test(segment));
}

export class Redactor {
	private readonly fieldRules: Array<{ names: Set<string>; method: RedactionMethod }> = [];
	private readonly matchers: Matcher[] = [];

	constructor(private readonly settings: RedactionSettings) {
		const methods = new Set<RedactionMethod>([settings.secretFields]);
		for (const rule of settings.rules) {
			methods.add(rule.method);
			if (rule.match === 'field') {
				const names = rule.fields.map(normaliseFieldName).filter((name) => name !== '');
				if (names.length === 0) {
					throw new SyncError('INVALID_INPUT', 'A field redaction rule names no field', 'Enter the field names to redact, separated by commas (e.g. "email, address.street"), or remove the rule.');
				}
				this.fieldRules.push({ names: new Set(names), method: rule.method });
			} else {
				this.matchers.push(this.matcherFor(rule.match, rule.method, rule.regex));
			}
		}
		if (methods.has('hash') && !settings.hashKey) {
			throw new SyncError(
				'INVALID_INPUT',
				'A redaction rule hashes values, but no hash key is set',
				'Set "Hash Key" to a long random secret. Keep it the same across runs, or equal values will no longer give equal hashes.',
			);
		}
	}

	private matcherFor(kind: PatternKind, method: RedactionMethod, regex: string | undefined): Matcher {
		switch (kind) {
			case 'email':
				return { kind, method, regex: EMAIL };
			case 'phone':
				return { kind, method, regex: PHONE, refine: whole(acceptPhone) };
			case 'cardNumber':
				return { kind, method, regex: CARD, refine: findCard };
			case 'custom':
				return { kind, method, regex: compileCustom(regex) };
			default:
				throw new SyncError('INVALID_INPUT', `Unknown redaction pattern "${String(kind)}"`, 'Choose Field Name, Email, Phone Number, Card Number or Custom Pattern.');
		}
	}

	/** Redacts the values of an event; names, ids, systems, ops and statuses are left as they are. */
	redactEvent(event: AuditEvent): AuditEvent {
		const changes: Record<string, FieldChange> = {};
		for (const [path, change] of Object.entries(event.changes)) {
			const redacted = this.redactChange(path.split('.'), change);
			if (redacted) changes[path] = redacted;
		}
		const redacted: AuditEvent = {
			...event,
			source: this.redactEndpoint(event.source),
			target: event.target ? this.redactEndpoint(event.target) : null,
			changes,
			resolution: event.resolution === null ? null : ((this.redactValue(event.resolution, []) as JsonObject | undefined) ?? {}),
			error: event.error === null ? null : this.redactStructuralText(event.error),
		};
		if (event.record !== undefined) redacted.record = (this.redactValue(event.record, []) as JsonObject | undefined) ?? {};
		return redacted;
	}

	/** A field's before and after; a dropped field leaves no entry (its name stays in changedFields). */
	private redactChange(path: string[], change: FieldChange): FieldChange | undefined {
		const rule = this.ruleForField(path);
		if (rule?.method === 'drop') return undefined;
		const result: FieldChange = {};
		for (const side of ['before', 'after'] as const) {
			if (!(side in change)) continue;
			const value = change[side] as JsonValue;
			const redacted = rule ? this.applyToValue(value, rule) : this.redactValue(value, path);
			if (redacted !== undefined) result[side] = redacted;
		}
		// Every value dropped by a pattern: the entry goes too, like a dropped field's.
		const hadValues = 'before' in change || 'after' in change;
		return hadValues && Object.keys(result).length === 0 ? undefined : result;
	}

	private redactEndpoint(endpoint: AuditEndpoint): AuditEndpoint {
		return { system: endpoint.system, key: endpoint.key === null ? null : this.redactStructuralText(endpoint.key) };
	}

	/** Texts that must stay texts (keys, error messages): patterns apply, a drop leaves a marker. */
	private redactStructuralText(text: string): string {
		return this.redactText(text) ?? DROPPED;
	}

	/** The first field rule that matches the path, else the secret rule for a secret-like name. */
	private ruleForField(path: string[]): FieldMatch | undefined {
		const named = namedSegments(path);
		if (named.length === 0) return undefined;
		const last = normaliseFieldName(named[named.length - 1]);
		const full = named.map(normaliseFieldName).join('.');
		for (const rule of this.fieldRules) {
			if (rule.names.has(last) || rule.names.has(full)) return { method: rule.method, secret: false };
		}
		return named.some(isSecretFieldName) ? { method: this.settings.secretFields, secret: true } : undefined;
	}

	/** Walks a value; undefined means the value is dropped. */
	redactValue(value: JsonValue, path: string[]): JsonValue | undefined {
		if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
		if (typeof value === 'string') return this.redactText(value);
		if (Array.isArray(value)) {
			const items: JsonValue[] = [];
			value.forEach((item, index) => {
				const redacted = this.redactValue(item, [...path, String(index)]);
				if (redacted !== undefined) items.push(redacted);
			});
			return items;
		}
		const out: JsonObject = {};
		for (const [name, field] of Object.entries(value)) {
			const fieldPath = [...path, name];
			const rule = this.ruleForField(fieldPath);
			const redacted = rule ? this.applyToValue(field, rule) : this.redactValue(field, fieldPath);
			// Defined as a data property, so that a field named __proto__ stays a field.
			if (redacted !== undefined) Object.defineProperty(out, name, { value: redacted, enumerable: true, writable: true, configurable: true });
		}
		return out;
	}

	/** A whole value under a field rule. A secret's mask shows nothing of it. */
	private applyToValue(value: JsonValue, { method, secret }: FieldMatch): JsonValue | undefined {
		if (method === 'drop') return undefined;
		if (value === null) return null;
		if (method === 'hash') return this.hmac(typeof value === 'string' ? value : canonicalJson(value));
		if (secret || typeof value !== 'string') return MASK;
		if (WHOLE_EMAIL.test(value)) return maskEmail(value);
		return value.length > 3 ? `${value[0]}${MASK}` : MASK;
	}

	/** Replaces every pattern match in one pass, so a replacement is never matched again. */
	redactText(text: string): string | undefined {
		if (this.matchers.length === 0) return text;
		const found: Array<{ start: number; end: number; matcher: Matcher; text: string }> = [];
		for (const matcher of this.matchers) {
			matcher.regex.lastIndex = 0;
			for (const match of text.matchAll(matcher.regex)) {
				if (match[0] === '') continue;
				const span = matcher.refine ? matcher.refine(match[0]) : { start: 0, end: match[0].length };
				if (!span) continue;
				const start = match.index + span.start;
				found.push({ start, end: match.index + span.end, matcher, text: match[0].slice(span.start, span.end) });
			}
		}
		if (found.length === 0) return text;
		// Earliest first; of two that start together, the longer one.
		found.sort((a, b) => a.start - b.start || b.end - a.end || PRIORITY[a.matcher.kind] - PRIORITY[b.matcher.kind]);
		let out = '';
		let cursor = 0;
		for (const hit of found) {
			if (hit.start < cursor) continue;
			if (hit.matcher.method === 'drop') return undefined;
			out += text.slice(cursor, hit.start) + this.replacement(hit.text, hit.matcher);
			cursor = hit.end;
		}
		return out + text.slice(cursor);
	}

	private replacement(text: string, matcher: Matcher): string {
		if (matcher.method === 'hash') return this.hmac(matcher.kind === 'email' ? text.toLowerCase() : matcher.kind === 'custom' ? text : digitsOf(text));
		switch (matcher.kind) {
			case 'email':
				return maskEmail(text);
			case 'phone':
				return `${MASK}${digitsOf(text).slice(-2)}`;
			case 'cardNumber':
				return `****${digitsOf(text).slice(-4)}`;
			default:
				return MASK;
		}
	}

	private hmac(text: string): string {
		return `hmac:${createHmac('sha256', this.settings.hashKey ?? '').update(text, 'utf8').digest('base64url')}`;
	}
}

/** `john@x.com` -> `j***@x.com`: enough to recognise, not to contact. */
export function maskEmail(email: string): string {
	const at = email.lastIndexOf('@');
	return `${email.slice(0, 1)}${MASK}${email.slice(at)}`;
}
