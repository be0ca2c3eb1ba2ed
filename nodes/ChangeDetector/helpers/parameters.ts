import { NodeOperationError, type IDataObject, type IExecuteFunctions } from 'n8n-workflow';

import type { CursorType, DetectorMode, DetectorOptions, FieldSelection, RecordIntent } from '../../engine/detector';
import { fieldList, RECORD_INTENTS } from '../../engine/detector';
import { validateSyncId } from '../../engine/store/identifiers';
import type { MetadataPlacement } from '../../shared/syncMeta';

/** Everything the node reads from its parameters once per run. */
export interface DetectorSettings {
	detector: DetectorOptions;
	includeUnchanged: boolean;
	holdBack: boolean;
	failOnInvalid: boolean;
	placement: MetadataPlacement;
	advanceCursorAtEnd: boolean;
	event?: EventSettings;
}

export interface EventSettings {
	/** Path of the record inside the event item; empty: the whole item. */
	recordField: string;
	opSource: 'field' | 'fixed';
	opField: string;
	fixedOp: RecordIntent;
	mapping: Map<string, RecordIntent>;
	verifySignature: boolean;
	rawBodyProperty: string;
}

function text(ctx: IExecuteFunctions, name: string, fallback = ''): string {
	const value = ctx.getNodeParameter(name, 0, fallback) as unknown;
	return value === null || value === undefined ? '' : String(value).trim();
}

function required(ctx: IExecuteFunctions, name: string, label: string, hint: string): string {
	const value = text(ctx, name);
	if (value === '') throw new NodeOperationError(ctx.getNode(), `${label} is empty`, { description: hint });
	return value;
}

function nonNegative(ctx: IExecuteFunctions, name: string, label: string, fallback: number): number {
	const value = Number(ctx.getNodeParameter(name, 0, fallback));
	if (!Number.isFinite(value) || value < 0) {
		throw new NodeOperationError(ctx.getNode(), `${label} must be a number of at least 0`, { description: `Set "${label}" to 0 or more.` });
	}
	return value;
}

function eventMapping(ctx: IExecuteFunctions): Map<string, RecordIntent> {
	const collection = ctx.getNodeParameter('eventMapping', 0, {}) as IDataObject;
	const rows = (collection.mappings as IDataObject[] | undefined) ?? [];
	const mapping = new Map<string, RecordIntent>();
	for (const row of rows) {
		const name = String(row.eventName ?? '').trim();
		const op = String(row.op ?? '') as RecordIntent;
		if (name === '') continue;
		if (!RECORD_INTENTS.includes(op)) {
			throw new NodeOperationError(ctx.getNode(), `The event "${name}" is mapped to an unknown operation "${op}"`, {
				description: 'Choose Create, Update, Create or Update, Delete or Ignore in "Event Mapping".',
			});
		}
		mapping.set(name, op);
	}
	return mapping;
}

function fieldSelection(ctx: IExecuteFunctions): FieldSelection {
	if (text(ctx, 'compare', 'all') === 'only') {
		const fields = fieldList(text(ctx, 'compareFields'));
		if (fields.length === 0) {
			throw new NodeOperationError(ctx.getNode(), 'Fields to Compare is empty', {
				description: 'List the fields whose changes matter, separated by commas, or compare all fields except the ignored ones.',
			});
		}
		return { mode: 'only', fields };
	}
	return { mode: 'all', ignore: fieldList(text(ctx, 'ignoreFields')) };
}

export function readSettings(ctx: IExecuteFunctions): DetectorSettings {
	const mode = text(ctx, 'mode', 'snapshot') as DetectorMode;
	const syncId = validateSyncId(ctx.getNodeParameter('syncId', 0, ''));
	const system = required(ctx, 'system', 'System', 'Set "System" to a short name for the system these records come from, e.g. "crm".');
	const keyFields = fieldList(required(ctx, 'keyFields', 'Key Field(s)', 'Set "Key Field(s)" to the field that identifies a record, e.g. "id".'));
	const holdBack = mode !== 'event' && (ctx.getNodeParameter('holdBack', 0, false) as boolean);

	const detector: DetectorOptions = { syncId, system, mode, keyFields, fields: fieldSelection(ctx) };
	if (mode === 'snapshot') {
		detector.fullSnapshot = ctx.getNodeParameter('fullSnapshot', 0, false) as boolean;
		if (detector.fullSnapshot) {
			const percent = nonNegative(ctx, 'maxDeletePercent', 'Max Deletes (% of Known Records)', 20);
			if (percent > 100) {
				throw new NodeOperationError(ctx.getNode(), 'Max Deletes (% of Known Records) is more than 100', {
					description: 'Set a share between 0 and 100, or turn on "Allow Mass Delete" to lift the limit for one run.',
				});
			}
			detector.maxDeleteShare = percent / 100;
			detector.allowMassDelete = ctx.getNodeParameter('allowMassDelete', 0, false) as boolean;
		}
	}
	if (mode === 'incremental') {
		const type = text(ctx, 'cursorType', 'timestamp') as CursorType;
		detector.cursor = {
			field: required(ctx, 'cursorField', 'Cursor Field', 'Set "Cursor Field" to the field that grows with every change, e.g. "updated_at".'),
			type,
			lookBack:
				type === 'timestamp'
					? nonNegative(ctx, 'lookBackSeconds', 'Look-Back Window (Seconds)', 300) * 1000
					: nonNegative(ctx, 'lookBackAmount', 'Look-Back Amount', 0),
		};
		const deletedField = text(ctx, 'deletedField');
		if (deletedField !== '') detector.deletedField = deletedField;
	}
	if (holdBack) {
		detector.settle = {
			field: required(ctx, 'settleField', 'Edited-At Field', 'Set "Edited-At Field" to the field holding when the record was last edited, e.g. "updated_at".'),
			seconds: nonNegative(ctx, 'settleSeconds', 'Settle Time (Seconds)', 60),
		};
	}

	let event: EventSettings | undefined;
	if (mode === 'event') {
		const opSource = text(ctx, 'opSource', 'field') === 'fixed' ? 'fixed' : 'field';
		event = {
			recordField: text(ctx, 'recordField', 'body'),
			opSource,
			opField:
				opSource === 'field'
					? required(ctx, 'opField', 'Operation Field', 'Set "Operation Field" to the field naming the event, e.g. "body.triggerName".')
					: '',
			fixedOp: text(ctx, 'fixedOp', 'upsert') as RecordIntent,
			mapping: opSource === 'field' ? eventMapping(ctx) : new Map(),
			verifySignature: ctx.getNodeParameter('verifySignature', 0, false) as boolean,
			rawBodyProperty: text(ctx, 'rawBodyProperty', 'data') || 'data',
		};
	}

	return {
		detector,
		includeUnchanged: ctx.getNodeParameter('includeUnchanged', 0, false) as boolean,
		holdBack,
		failOnInvalid: text(ctx, 'onInvalid', 'output') === 'fail',
		placement: text(ctx, 'metadataPlacement', 'json') === 'hidden' ? 'hidden' : 'json',
		advanceCursorAtEnd: mode === 'incremental' && (ctx.getNodeParameter('advanceCursorAtEnd', 0, false) as boolean),
		event,
	};
}
