/** Plain data shapes shared by the engine and the nodes. No n8n imports here. */

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export type SyncOp = 'create' | 'update' | 'delete';

/** The sync metadata every node of this package reads and writes (`_sync`). */
export interface SyncMeta {
	syncId: string;
	/** The system this version of the record lives in, and its key there. */
	system: string;
	key: string | null;
	op: SyncOp | 'none';
	/** Why the op is `none` (e.g. `echo`, `unchanged`). */
	reason?: string;
	hash?: string;
	/** Read-only: equal lists may be one shared array. */
	changedFields?: readonly string[];
	/** The shared id linking this record's keys across systems. */
	entityId?: string;
	/** The record's key in each system it is linked in (so a write node can address the target). */
	keys?: Record<string, string>;
	/** The source fields the mapping read: Commit keeps only these as the source's base (data minimisation). */
	sourceFields?: string[];
	/**
	 * The source's version this change carried, cut to `sourceFields`. Record Failure keeps it with a
	 * queued change, so that Commit after a replay (with no detector upstream) stores it as the base.
	 */
	sourceBase?: JsonObject;
	/** The op to apply, when this item is meant for a write node. */
	target?: { system: string; key: string | null; op: SyncOp };
	/** Per field: who won and why (Conflict Resolver). */
	resolution?: Record<string, { winner: string; strategy: string; reason: string }>;
	/** Where the next incremental read of `system` starts (Change Detector); Set Cursor stores it once the change is committed. */
	cursor?: string;
	/** The record holds only the fields that change, plus the key: Commit merges it over the last synced base. */
	partial?: boolean;
	/**
	 * A create that brings back a record deleted in the target system: the deleted record's key there.
	 * Commit replaces that key by the new one, in the same transaction.
	 */
	replacesKey?: string;
}
