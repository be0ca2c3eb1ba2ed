import { NodeOperationError, type IDataObject, type IExecuteFunctions } from 'n8n-workflow';

import type { PatternKind, RedactionMethod, RedactionRule, RedactionSettings } from '../../engine/audit/redact';

const METHODS: RedactionMethod[] = ['mask', 'hash', 'drop'];
const PATTERNS: Array<PatternKind | 'field'> = ['field', 'email', 'phone', 'cardNumber', 'custom'];

/** The Log operation's redaction parameters as engine settings. Read once per run: rules do not vary per item. */
export function redactionSettingsFrom(ctx: IExecuteFunctions): RedactionSettings {
	const collection = ctx.getNodeParameter('redaction', 0, {}) as { rules?: IDataObject[] };
	const rules = (collection.rules ?? []).map((rule, index): RedactionRule => {
		const match = String(rule.match ?? 'field') as PatternKind | 'field';
		const method = String(rule.method ?? 'mask') as RedactionMethod;
		if (!PATTERNS.includes(match) || !METHODS.includes(method)) {
			throw new NodeOperationError(ctx.getNode(), `Redaction rule ${index + 1} is not valid`, {
				description: 'Choose what the rule matches (a field name or a pattern) and a method (mask, hash or drop).',
			});
		}
		if (match === 'field') {
			return { match, method, fields: String(rule.fields ?? '').split(',') };
		}
		return match === 'custom' ? { match, method, regex: String(rule.regex ?? '') } : { match, method };
	});
	const secretFields = ctx.getNodeParameter('secretFields', 0, 'mask') as RedactionMethod;
	const hashKey = String(ctx.getNodeParameter('hashKey', 0, '') ?? '');
	return { rules, secretFields, ...(hashKey !== '' ? { hashKey } : {}) };
}
