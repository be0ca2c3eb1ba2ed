import type { JsonObject, JsonValue, SyncOp } from '../types';

/**
 * The audit event: one per item that passed an Audit Logger, the same shape in every sink.
 * Values are already redacted when an event has this type; nothing unredacted leaves the builder.
 */

export const AUDIT_STATUSES = ['applied', 'failed', 'skipped', 'conflict', 'echo'] as const;
export type AuditStatus = (typeof AUDIT_STATUSES)[number];

export interface AuditEndpoint {
	system: string;
	key: string | null;
}

/** A changed field's value before and after; a side the event does not know is left out. */
export interface FieldChange {
	before?: JsonValue;
	after?: JsonValue;
}

export interface RetryInfo {
	attempts: number;
	nextAttemptAt: string | null;
	deadLettered: boolean;
}

export interface AuditEvent {
	/** Unique per event, so that a receiver can drop a repeated delivery. */
	id: string;
	/** ISO-8601 UTC time the event was logged. */
	time: string;
	syncId: string;
	executionId: string | null;
	workflowId: string | null;
	workflowName: string | null;
	/** The node whose result was logged (the Audit Logger's input). */
	node: string | null;
	source: AuditEndpoint;
	target: AuditEndpoint | null;
	entityId: string | null;
	/** Joins every event of one record across runs: the entity id, or the id the store derives for a new entity. */
	correlationId: string;
	op: SyncOp | 'none';
	/** Why the op is `none` (e.g. `echo`). */
	reason: string | null;
	changedFields: string[];
	/** Per changed field (a dotted path): its value before and after. */
	changes: Record<string, FieldChange>;
	/** The whole record after the change; only when "Log Only Changed Fields" is off. */
	record?: JsonObject;
	resolution: JsonObject | null;
	status: AuditStatus;
	error: string | null;
	retry: RetryInfo | null;
}

/** An event as the store keeps it: its place in the sync's hash chain. */
export interface ChainedAuditEvent extends AuditEvent {
	/** 1, 2, 3, ... per syncId, without gaps. */
	seq: number;
	/** The hash of the event before (the sync's genesis hash for the first). */
	prevHash: string;
	hash: string;
}

export type AuditOrder = 'newest' | 'oldest';

export interface AuditQuery {
	/** Events where this system is the source or the target. */
	system?: string;
	/** Events where this is the source or the target key (within `system` when both are given). */
	key?: string;
	/** Events of this entity (its entity id or correlation id). */
	entityId?: string;
	statuses?: AuditStatus[];
	ops?: Array<SyncOp | 'none'>;
	/** ISO times: from inclusive, to exclusive. */
	from?: string;
	to?: string;
	order: AuditOrder;
	/** Continue after this seq (a page's last seq), in the chosen order. */
	after?: number;
	limit: number;
}

/** One group of the Summary: how many events of one system, op and status. */
export interface AuditCount {
	/** The target system, or the source system for an event without a target. */
	system: string;
	op: string;
	status: AuditStatus;
	count: number;
}

/** A chained event as read back for Verify Chain: the stored document and the index columns beside it. */
export interface StoredAuditLink {
	seq: number;
	prevHash: string;
	hash: string;
	/** The event document as stored, not trusted to have the AuditEvent shape. */
	event: unknown;
	columns: AuditColumns;
}

/** The copies of event fields that the store indexes for Query and Summary. */
export interface AuditColumns {
	eventId: string;
	time: string;
	status: string;
	op: string;
	sourceSystem: string;
	sourceKey: string | null;
	targetSystem: string | null;
	targetKey: string | null;
	entityId: string | null;
	correlationId: string;
}

/** An event waiting in the store to be delivered to a sink that was unreachable. */
export interface AuditDelivery {
	event: AuditEvent | ChainedAuditEvent;
	attempts: number;
	lastError: string;
	createdAt: string;
	updatedAt: string;
}
