import { NodeOperationError, type IDataObject, type IExecuteFunctions } from 'n8n-workflow';

import type {
	DeletePolicy,
	FieldRule,
	RecordStrategy,
	ResolverOptions,
	Side,
	TieStrategy,
	UpdateVersusDelete,
} from '../../engine/resolver';
import type { JsonValue } from '../../engine/types';
import { requiredText } from '../../shared/items';

/** The node's settings, read once per run (they describe the sync, not a single item). */
export interface NodeSettings {
	options: ResolverOptions;
	/** Where each side's change time is read (a path in that side's record). */
	timestampFields: Partial<Record<Side, string>>;
	/** Raw custom-rule expressions by field; the node evaluates them itself. */
	customRules: Map<string, string>;
}

interface FieldRuleEntry {
	field?: string;
	kind?: string;
	expression?: string;
}

export function fieldList(text: unknown): string[] {
	if (typeof text !== 'string') return [];
	return text
		.split(',')
		.map((field) => field.trim())
		.filter((field) => field !== '');
}

/** The archive value as typed: JSON when it parses (true, 0, "x", {...}), otherwise the text itself. */
export function parseArchiveValue(text: string): JsonValue {
	try {
		return JSON.parse(text) as JsonValue;
	} catch {
		return text;
	}
}

function toFieldRule(ctx: IExecuteFunctions, entry: FieldRuleEntry, position: number): [string, FieldRule] {
	const field = String(entry.field ?? '').trim();
	if (field === '') {
		throw new NodeOperationError(ctx.getNode(), `Field rule ${position} names no field`, {
			description: "Enter the name of a field of Y's records (e.g. phone), or remove the rule.",
		});
	}
	switch (entry.kind) {
		case 'ownerX':
			return [field, { kind: 'owner', side: 'x' }];
		case 'ownerY':
			return [field, { kind: 'owner', side: 'y' }];
		case 'preferX':
			return [field, { kind: 'priority', side: 'x' }];
		case 'preferY':
			return [field, { kind: 'priority', side: 'y' }];
		case 'lastWriteWins':
			return [field, { kind: 'lastWriteWins' }];
		case 'manual':
			return [field, { kind: 'manual' }];
		case 'custom': {
			const expression = String(entry.expression ?? '');
			if (expression.trim() === '' || expression.trim() === '=') {
				throw new NodeOperationError(ctx.getNode(), `The custom rule for field "${field}" is empty`, {
					description: 'Enter an expression that returns the winning value, e.g. {{ $remote }} or {{ Math.max($local, $remote) }}.',
				});
			}
			return [field, { kind: 'custom', expression }];
		}
		default:
			throw new NodeOperationError(ctx.getNode(), `Field rule ${position} has an unknown rule "${String(entry.kind)}"`, {
				description: 'Choose one of the listed rules.',
			});
	}
}

export function readSettings(ctx: IExecuteFunctions): NodeSettings {
	const syncId = requiredText(ctx, 'syncId', 0, 'Sync ID', 'Set "Sync ID" to the name all nodes of this sync share, e.g. "contacts".');
	const systemX = requiredText(ctx, 'systemX', 0, 'System X', 'Name the system whose changes arrive on input 1, e.g. "crm" (as in its Change Detector).');
	const systemY = requiredText(ctx, 'systemY', 0, 'System Y', 'Name the system the changes are applied to, e.g. "erp" (as in its Change Detector).');
	const strategy = ctx.getNodeParameter('strategy', 0, 'merge') as RecordStrategy;
	const extra = ctx.getNodeParameter('options', 0, {}) as IDataObject;

	// Raw: a custom rule mentions $local, $remote and $base, which only the resolver can supply.
	const ruleEntries = (ctx.getNodeParameter('fieldRules.rule', 0, [], { rawExpressions: true }) as FieldRuleEntry[]) ?? [];
	const fieldRules: Record<string, FieldRule> = {};
	const customRules = new Map<string, string>();
	ruleEntries.forEach((entry, index) => {
		const [field, rule] = toFieldRule(ctx, entry, index + 1);
		if (fieldRules[field]) {
			throw new NodeOperationError(ctx.getNode(), `Field "${field}" has more than one rule`, {
				description: 'Keep one rule per field.',
			});
		}
		fieldRules[field] = rule;
		if (rule.kind === 'custom') customRules.set(field, rule.expression);
	});

	const timestampFields: Partial<Record<Side, string>> = {};
	const usesTimestamps = strategy === 'lastWriteWins' || strategy === 'merge';
	if (usesTimestamps) {
		const xField = String(ctx.getNodeParameter('xTimestampField', 0, '') ?? '').trim();
		const yField = String(ctx.getNodeParameter('yTimestampField', 0, '') ?? '').trim();
		if (xField) timestampFields.x = xField;
		if (yField) timestampFields.y = yField;
	}
	const matchFields = fieldList(ctx.getNodeParameter('matchFields', 0, ''));
	const yKeyField = String(ctx.getNodeParameter('yKeyField', 0, 'id') ?? '').trim();
	const xKeyField = String(extra.xKeyField ?? '').trim();
	const compareFields = fieldList(extra.compareFields);

	const options: ResolverOptions = {
		syncId,
		systems: { x: systemX, y: systemY },
		strategy,
		tie: ctx.getNodeParameter('tieStrategy', 0, 'priority') as TieStrategy,
		priority: ctx.getNodeParameter('prioritySystem', 0, 'x') as Side,
		clockSkewMs: usesTimestamps ? Number(ctx.getNodeParameter('clockSkewMs', 0, 1000)) : 0,
		fieldRules,
		deletes: {
			x: ctx.getNodeParameter('deletesFromX', 0, 'propagate') as DeletePolicy,
			y: ctx.getNodeParameter('deletesFromY', 0, 'propagate') as DeletePolicy,
		},
		archive: {
			field: String(extra.archiveField ?? 'archived').trim() || 'archived',
			value: parseArchiveValue(String(extra.archiveValue ?? 'true')),
		},
		updateVersusDelete: ctx.getNodeParameter('updateVersusDelete', 0, 'updateWins') as UpdateVersusDelete,
		...(matchFields.length > 0
			? { match: { fields: matchFields, ignoreCaseAndSpaces: ctx.getNodeParameter('matchIgnoringCase', 0, true) as boolean } }
			: {}),
		...(compareFields.length > 0 ? { compareFields } : {}),
		ignoreFields: fieldList(extra.ignoreFields),
		timestampFields: [...new Set(Object.values(timestampFields))],
		keyFields: { ...(yKeyField ? { y: yKeyField } : {}), ...(xKeyField ? { x: xKeyField } : {}) },
		sendOnlyChangedFields: ctx.getNodeParameter('sendOnlyChangedFields', 0, false) as boolean,
	};
	return { options, timestampFields, customRules };
}
