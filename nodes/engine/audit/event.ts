import { randomUUID } from 'node:crypto';

import get from 'lodash/get';

import { SyncError } from '../errors';
import { canonicalJson } from '../hash';
import { entityIdFor } from '../ids';
import type { JsonObject, JsonValue, SyncMeta, SyncOp } from '../types';
import { AUDIT_STATUSES, type AuditEvent, type AuditStatus, type FieldChange, type RetryInfo } from './types';

/**
 * Builds one audit event from an item: its sync metadata (`_sync`, as the nodes before left it)
 * and its record. The status comes from the metadata unless the user sets it:
 * - `_sync.status` applied (Sync State Commit) -> applied;
 * - `_sync.status` failed or dead-lettered (Sync State Record Failure) -> failed;
 * - `_sync.status` conflict, needs-review or review (Conflict Resolver, Needs Review) -> conflict;
 * - `_sync.status` skipped or echo -> the same;
 * - a `_sync.review` (Conflict Resolver, Needs Review) -> conflict;
 * - an `errors` list beside the metadata (Field Mapper, Invalid) -> skipped, with the errors as its error;
 * - op `none` with reason `echo` (Change Detector) -> echo; any other op `none` -> skipped;
 * - an item from a write node's error output (it has an `error` field) -> failed.
 */

/** The metadata as it arrives: the SyncMeta contract plus what Sync State adds after a write. */
export type LoggedMeta = SyncMeta & {
	status?: unknown;
	attempts?: unknown;
	nextAttemptAt?: unknown;
	error?: unknown;
	/** The previous values of the changed fields, when a node before knew them. */
	before?: unknown;
	/** The new values of exactly the fields a write changed in its target (Sync State Commit). */
	after?: unknown;
	/** Why the Conflict Resolver sent the item to Needs Review. */
	review?: unknown;
};

const STATUS_ALIASES: Record<string, AuditStatus> = {
	applied: 'applied',
	failed: 'failed',
	'dead-lettered': 'failed',
	conflict: 'conflict',
	'needs-review': 'conflict',
	needsreview: 'conflict',
	review: 'conflict',
	skipped: 'skipped',
	echo: 'echo',
};

export function isAuditStatus(value: unknown): value is AuditStatus {
	return typeof value === 'string' && (AUDIT_STATUSES as readonly string[]).includes(value);
}

function isObject(value: unknown): value is JsonObject {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The status the metadata implies, or undefined when it does not say. */
export function statusFromMeta(meta: LoggedMeta, record: JsonObject): AuditStatus | undefined {
	if (typeof meta.status === 'string') {
		const alias = meta.status.toLowerCase();
		// Own entries only: "__proto__" or "constructor" must not find Object.prototype's members.
		if (Object.hasOwn(STATUS_ALIASES, alias)) return STATUS_ALIASES[alias];
	}
	if (isObject(meta.review)) return 'conflict';
	if (invalidReasons(record) !== null) return 'skipped';
	if (meta.op === 'none') return meta.reason === 'echo' ? 'echo' : 'skipped';
	if (record.error !== undefined && record.error !== null && record.error !== '') return 'failed';
	return undefined;
}

/**
 * The reasons a Field Mapper gave for an Invalid item, as one text: each field with its message,
 * never the rejected value (it may be personal data the redaction rules do not name).
 */
function invalidReasons(record: JsonObject): string | null {
	const errors = record.errors;
	if (!Array.isArray(errors) || errors.length === 0 || !errors.every(isObject)) return null;
	return errors
		.map((error) => {
			const message = typeof error.message === 'string' ? error.message : 'invalid';
			return typeof error.field === 'string' && error.field !== '' ? `${error.field}: ${message}` : message;
		})
		.join('; ');
}

function isAuditOp(value: unknown): value is SyncOp {
	return value === 'create' || value === 'update' || value === 'delete';
}

function reviewReason(meta: LoggedMeta): string | null {
	return isObject(meta.review) && typeof meta.review.reason === 'string' ? meta.review.reason : null;
}

function errorMessage(value: unknown): string | null {
	if (value === undefined || value === null || value === '') return null;
	if (typeof value === 'string') return value;
	if (isObject(value) && typeof value.message === 'string') return value.message;
	return canonicalJson(value);
}

function retryOf(meta: LoggedMeta): RetryInfo | null {
	if (typeof meta.attempts !== 'number') return null;
	return {
		attempts: meta.attempts,
		nextAttemptAt: typeof meta.nextAttemptAt === 'string' ? meta.nextAttemptAt : null,
		deadLettered: meta.status === 'dead-lettered',
	};
}

/** Top-level fields whose canonical values differ between the two versions. */
export function differingFields(before: JsonObject, after: JsonObject): string[] {
	const names = new Set([...Object.keys(before), ...Object.keys(after)]);
	return [...names].filter((name) => canonicalJson(before[name]) !== canonicalJson(after[name])).sort();
}

function valueAt(record: JsonObject | null, path: string): JsonValue | undefined {
	if (!record) return undefined;
	if (Object.prototype.hasOwnProperty.call(record, path)) return record[path];
	return get(record, path) as JsonValue | undefined;
}

export interface EventContext {
	syncId: string;
	executionId: string | null;
	workflowId: string | null;
	workflowName: string | null;
	node: string | null;
	now: Date;
	/** Defaults to a random UUID. */
	id?: string;
}

export interface EventInput {
	meta: LoggedMeta;
	/** The record as the item carries it, without `_sync`. */
	record: JsonObject;
	/** The previous values, when known (a parameter, or `_sync.before`). */
	before?: JsonObject | null;
	/** The user's choice, overriding what the metadata implies. */
	status?: AuditStatus;
	/** Only the changed fields' values (data minimisation); otherwise the whole record too. */
	onlyChangedFields: boolean;
}

/**
 * Where a write's content came from. The metadata of a merged write (both sides edited the record)
 * names its target, so that Commit keeps each side's state apart; the fields it writes there came
 * from the other side, whose key the links give.
 */
function sourceOf(meta: LoggedMeta, key: string | null): AuditEvent['source'] {
	if (meta.target && meta.target.system === meta.system && meta.keys) {
		const other = Object.keys(meta.keys).find((system) => system !== meta.system);
		if (other !== undefined) return { system: other, key: String(meta.keys[other]) };
	}
	return { system: meta.system, key };
}

/** The unredacted event; pass it through a Redactor before it reaches any sink. */
export function buildAuditEvent(input: EventInput, context: EventContext): AuditEvent {
	const { meta } = input;
	const status = input.status ?? statusFromMeta(meta, input.record);
	if (!status) {
		throw new SyncError(
			'INVALID_INPUT',
			`The item's sync metadata does not say whether its ${meta.op} was applied, failed or skipped`,
			'Place the Audit Logger after Sync State (Commit or Record Failure), after a Conflict Resolver\'s Needs Review output, or after a Change Detector; or set "Status" to the status these items have.',
		);
	}
	const before = input.before ?? (isObject(meta.before) ? meta.before : null);
	// n8n's error outputs add `error` to the record, the Field Mapper's Invalid output `errors`:
	// each is the event's error, not a field of the record.
	const { error: recordError, ...rest } = input.record;
	const invalid = invalidReasons(input.record);
	let record = status === 'failed' ? rest : input.record;
	if (invalid !== null) {
		const { errors: _errors, ...fields } = record;
		record = fields;
	}
	// Commit names what the write changed in the target, in the target's field names; the
	// source's changed fields are in the source's names and the write node's answer is no guide.
	const written = isObject(meta.after) ? meta.after : null;
	const changedFields = written
		? Object.keys(written).sort()
		: Array.isArray(meta.changedFields)
			? meta.changedFields.filter((field): field is string => typeof field === 'string')
			: before
				? differingFields(before, record)
				: meta.op === 'create'
					? Object.keys(record).sort()
					: [];
	const changes: Record<string, FieldChange> = {};
	for (const path of changedFields) {
		const change: FieldChange = {};
		const was = valueAt(before, path);
		const now = valueAt(written ?? record, path);
		if (was !== undefined) change.before = was;
		if (now !== undefined) change.after = now;
		changes[path] = change;
	}
	const id = context.id ?? randomUUID();
	const key = meta.key === null || meta.key === undefined ? null : String(meta.key);
	const entityId = typeof meta.entityId === 'string' && meta.entityId !== '' ? meta.entityId : null;
	const event: AuditEvent = {
		id,
		time: context.now.toISOString(),
		syncId: context.syncId,
		executionId: context.executionId,
		workflowId: context.workflowId,
		workflowName: context.workflowName,
		node: context.node,
		source: sourceOf(meta, key),
		target: meta.target ? { system: meta.target.system, key: meta.target.key === null || meta.target.key === undefined ? null : String(meta.target.key) } : null,
		entityId,
		correlationId: entityId ?? (key !== null ? entityIdFor(context.syncId, meta.system, key) : id),
		// What happened to the record the event is about: the write's op when there was one.
		op: meta.target && isAuditOp(meta.target.op) ? meta.target.op : meta.op,
		reason: typeof meta.reason === 'string' ? meta.reason : reviewReason(meta),
		changedFields,
		changes,
		resolution: isObject(meta.resolution) ? (meta.resolution as unknown as JsonObject) : null,
		status,
		error: errorMessage(meta.error) ?? (status === 'failed' ? errorMessage(recordError) : null) ?? invalid,
		retry: retryOf(meta),
	};
	if (!input.onlyChangedFields) event.record = record;
	return event;
}
