import { SyncError } from '../errors';
import { requirePositiveInteger, requireText, type RowDecoder, type SqlValue } from '../store/commitPlan';
import { auditColumns, unchained } from './chain';
import { AUDIT_STATUSES, type AuditDelivery, type AuditEvent, type AuditQuery, type ChainedAuditEvent, type StoredAuditLink } from './types';

/**
 * The audit tables of both store backends, described once (as commitPlan.ts does for the others):
 * - audit: (sync_id, seq) -> the event document as hashed, its prev_hash and hash, and copies of
 *   the fields that Query and Summary filter on (logged_at, status, op, systems, keys, ids);
 * - audit_queue: (sync_id, sink, event_id) -> an event not yet delivered to that sink, with its
 *   attempts and last error, in the order it was first queued.
 */

export const AUDIT_COLUMNS = [
	'seq',
	'event_id',
	'logged_at',
	'status',
	'op',
	'source_system',
	'source_key',
	'target_system',
	'target_key',
	'entity_id',
	'correlation_id',
	'event',
	'prev_hash',
	'hash',
] as const;

export const AUDIT_QUEUE_COLUMNS = ['event_id', 'event', 'attempts', 'last_error', 'created_at', 'updated_at'] as const;

export type AuditRow = Record<(typeof AUDIT_COLUMNS)[number], unknown>;
export type AuditQueueRow = Record<(typeof AUDIT_QUEUE_COLUMNS)[number], unknown>;

/** An event's values in AUDIT_COLUMNS order; the document is the event without its chain fields. */
export function auditValues(event: ChainedAuditEvent): SqlValue[] {
	const columns = auditColumns(event);
	return [
		event.seq,
		columns.eventId,
		columns.time,
		columns.status,
		columns.op,
		columns.sourceSystem,
		columns.sourceKey,
		columns.targetSystem,
		columns.targetKey,
		columns.entityId,
		columns.correlationId,
		JSON.stringify(unchained(event)),
		event.prevHash,
		event.hash,
	];
}

/** The event as the store holds it: the hashed document is the truth, the columns only index it. */
export function auditFromRow(row: AuditRow, decode: RowDecoder): ChainedAuditEvent {
	const event = decode.json(row.event) as unknown as AuditEvent;
	return { ...event, seq: Number(row.seq), prevHash: row.prev_hash as string, hash: row.hash as string };
}

export function auditLinkFromRow(row: AuditRow, decode: RowDecoder): StoredAuditLink {
	return {
		seq: Number(row.seq),
		prevHash: row.prev_hash as string,
		hash: row.hash as string,
		event: decode.json(row.event),
		columns: {
			eventId: row.event_id as string,
			time: decode.time(row.logged_at) as string,
			status: row.status as string,
			op: row.op as string,
			sourceSystem: row.source_system as string,
			sourceKey: row.source_key as string | null,
			targetSystem: row.target_system as string | null,
			targetKey: row.target_key as string | null,
			entityId: row.entity_id as string | null,
			correlationId: row.correlation_id as string,
		},
	};
}

export function auditDeliveryFromRow(row: AuditQueueRow, decode: RowDecoder): AuditDelivery {
	return {
		event: decode.json(row.event) as unknown as AuditEvent,
		attempts: Number(row.attempts),
		lastError: row.last_error as string,
		createdAt: decode.time(row.created_at) as string,
		updatedAt: decode.time(row.updated_at) as string,
	};
}

function isoTime(value: unknown, what: string): string {
	const time = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
	if (Number.isNaN(time.getTime())) {
		throw new SyncError('INVALID_INPUT', `${what} is not a valid date and time: ${JSON.stringify(value)}`, 'Give an ISO date and time, e.g. 2030-01-31T00:00:00Z.');
	}
	return time.toISOString();
}

function optionalText(value: unknown, what: string): void {
	if (value !== null) requireText(value, what);
}

/** Events reach text columns and the chain: each must be whole and belong to this sync. */
export function validateAuditEvents(syncId: string, events: AuditEvent[]): AuditEvent[] {
	if (!Array.isArray(events)) {
		throw new SyncError('INVALID_INPUT', 'The audit events must be a list', 'Pass one event per logged item.');
	}
	events.forEach((event, index) => {
		if (event?.syncId !== syncId) {
			throw new SyncError(
				'INVALID_INPUT',
				`Audit event ${index} belongs to sync "${String(event?.syncId)}", not "${syncId}"`,
				'Use the same Sync ID on every node of one sync.',
			);
		}
		requireText(event.id, `the id of audit event ${index}`);
		isoTime(event.time, `The time of audit event ${index}`);
		if (!(AUDIT_STATUSES as readonly string[]).includes(event.status)) {
			throw new SyncError('INVALID_INPUT', `Audit event ${index} has the unknown status "${String(event.status)}"`, `Use one of: ${AUDIT_STATUSES.join(', ')}.`);
		}
		requireText(event.op, `the op of audit event ${index}`);
		requireText(event.source?.system, `the source system of audit event ${index}`);
		optionalText(event.source.key, `the source key of audit event ${index}`);
		if (event.target !== null) {
			requireText(event.target?.system, `the target system of audit event ${index}`);
			optionalText(event.target.key, `the target key of audit event ${index}`);
		}
		optionalText(event.entityId, `the entity id of audit event ${index}`);
		requireText(event.correlationId, `the correlation id of audit event ${index}`);
	});
	return events;
}

/** The query with its times as ISO text and its bounds checked; absent filters become null. */
export interface NormalisedAuditQuery {
	system: string | null;
	key: string | null;
	entityId: string | null;
	statuses: string[] | null;
	ops: string[] | null;
	from: string | null;
	to: string | null;
	newestFirst: boolean;
	after: number | null;
	limit: number;
}

function filterText(value: string | undefined): string | null {
	return value === undefined || value === '' ? null : value;
}

export function normaliseAuditQuery(query: AuditQuery): NormalisedAuditQuery {
	if (query.order !== 'newest' && query.order !== 'oldest') {
		throw new SyncError('INVALID_INPUT', `Unknown order "${String(query.order)}"`, 'Choose newest first or oldest first.');
	}
	requirePositiveInteger(query.limit, 'the query limit');
	if (query.after !== undefined && (!Number.isInteger(query.after) || query.after < 0)) {
		throw new SyncError('INVALID_INPUT', `The page cursor ${String(query.after)} is not a sequence number`, 'Pass the seq of the last event of the previous page, or leave it empty for the first page.');
	}
	for (const status of query.statuses ?? []) {
		if (!(AUDIT_STATUSES as readonly string[]).includes(status)) {
			throw new SyncError('INVALID_INPUT', `Unknown status "${status}"`, `Filter by: ${AUDIT_STATUSES.join(', ')}.`);
		}
	}
	return {
		system: filterText(query.system),
		key: filterText(query.key),
		entityId: filterText(query.entityId),
		statuses: query.statuses && query.statuses.length > 0 ? query.statuses : null,
		ops: query.ops && query.ops.length > 0 ? query.ops : null,
		from: query.from ? isoTime(query.from, 'The start of the time range') : null,
		to: query.to ? isoTime(query.to, 'The end of the time range') : null,
		newestFirst: query.order === 'newest',
		after: query.after ?? null,
		limit: query.limit,
	};
}

export function normaliseWindow(from: string, to: string): { from: string; to: string } {
	return { from: isoTime(from, 'The start of the window'), to: isoTime(to, 'The end of the window') };
}

/** A sink's name in the queue, e.g. `http:<hash of its URL>`. */
export function requireSinkName(sink: string): string {
	return requireText(sink, 'the audit sink name');
}

export interface DeliverySettlement {
	/** Ids of events the sink received. */
	delivered: string[];
	/** Events it did not receive: queued, or counted as one more failed attempt. */
	undelivered: Array<AuditEvent | ChainedAuditEvent>;
	error: string | null;
}
