import type { EntityState } from '../store/SyncStore';
import type { JsonObject, JsonValue, SyncMeta, SyncOp } from '../types';

/**
 * The Conflict Resolver settles both directions of one sync between system X and system Y, in Y's
 * schema. X's changes arrive already mapped into Y's schema; Y's changes (or current records) arrive
 * as they are. Sides are named 'x' and 'y'; the systems' own names are in the options.
 */
export type Side = 'x' | 'y';

/** Both sides, in order; one shared list, so loops over the sides allocate nothing. */
export const SIDES: readonly Side[] = Object.freeze(['x', 'y']);

export type ChangeOp = SyncOp | 'none';

/** One input item of either side, reduced to what the resolver needs. */
export interface SideChange {
	/** Position of the item in its input, so outputs can be paired back to it. */
	index: number;
	/** The record's key in its own system. */
	key: string;
	/** 'none' for a current record that is not a detected change. */
	op: ChangeOp;
	/** The record in Y's schema, without sync metadata. */
	record: JsonObject;
	/** The detector's hash of the record in its own system, passed on so Commit can remember it. */
	hash?: string;
	/** The source fields the mapping read, passed on for Commit. */
	sourceFields?: string[];
	/** When the side last changed the record, in ms since the epoch; null when unknown. */
	changedAt?: number | null;
	/** Where the side's next incremental read starts, passed on so Set Cursor can store it after Commit. */
	cursor?: string;
}

export type RecordStrategy = 'merge' | 'lastWriteWins' | 'priority' | 'manual';
export type TieStrategy = 'lastWriteWins' | 'priority' | 'manual';
export type DeletePolicy = 'propagate' | 'archive' | 'hold' | 'ignore';
export type UpdateVersusDelete = 'updateWins' | 'deleteWins';

/** A per-field override. Ownership always applies; the others decide true conflicts only. */
export type FieldRule =
	| { kind: 'owner'; side: Side }
	| { kind: 'priority'; side: Side }
	| { kind: 'lastWriteWins' }
	| { kind: 'manual' }
	| { kind: 'custom'; expression: string };

/** What a custom rule sees: `local` is Y's value, `remote` is X's incoming value, `base` the last synced one. */
export interface CustomRuleRequest {
	field: string;
	expression: string;
	local: JsonValue | undefined;
	remote: JsonValue | undefined;
	base: JsonValue | undefined;
	/** The input items of the pair (an X item is always present for a true conflict). */
	xIndex: number;
	yIndex: number;
}

export type CustomRuleEvaluator = (request: CustomRuleRequest) => JsonValue | undefined;

export interface ResolverOptions {
	syncId: string;
	systems: Record<Side, string>;
	strategy: RecordStrategy;
	/** Decides true conflicts under the three-way merge. */
	tie: TieStrategy;
	/** Wins under system priority; also the fallback and deterministic tie-break of last write wins. */
	priority: Side;
	/** Changes whose timestamps are at most this far apart count as concurrent. */
	clockSkewMs: number;
	fieldRules: Record<string, FieldRule>;
	/** What to do with a delete made in X (applied to Y) and one made in Y (applied to X). */
	deletes: Record<Side, DeletePolicy>;
	archive: { field: string; value: JsonValue };
	updateVersusDelete: UpdateVersusDelete;
	/** First-time pairing of records not linked yet, on these fields of Y's schema. */
	match?: { fields: string[]; ignoreCaseAndSpaces: boolean };
	/** When set, only these fields are merged; otherwise X's fields and the base's. */
	compareFields?: string[];
	ignoreFields: string[];
	/** Fields that carry timestamps; they describe a change and are not merged. */
	timestampFields: string[];
	/** Fields that receive the target's key on updates and deletes, so the write node can address the record. */
	keyFields: Partial<Record<Side, string>>;
	sendOnlyChangedFields: boolean;
	evaluateCustom?: CustomRuleEvaluator;
}

export interface ResolveInput {
	x: SideChange[];
	y: SideChange[];
	/** What the store knows about each side's keys (absent: not linked). */
	known: Record<Side, Map<string, EntityState>>;
}

export type ResolverOutput = 'applyToY' | 'applyToX' | 'review' | 'noChange';

export interface ReviewDetails {
	reason: string;
	conflictingFields: readonly string[];
	/** X's version (in Y's schema), Y's version and the last synced one, as far as they exist. */
	x: JsonObject | null;
	y: JsonObject | null;
	base: JsonObject | null;
	/** For an ambiguous match: the keys of every record involved, per system. */
	candidates?: Record<string, string[]>;
}

/** The input items of both sides that one output item accounts for (a group's own lists, shared, never copied). */
export interface Sources {
	readonly x: readonly SideChange[];
	readonly y: readonly SideChange[];
}

export interface ResolvedItem {
	output: ResolverOutput;
	record: JsonObject;
	meta: SyncMeta;
	review?: ReviewDetails;
	/** The input items this item accounts for. */
	from: Sources;
}

/** A group that failed (e.g. a custom rule threw); the node turns it into an error or an error item. */
export interface FailedGroup {
	error: unknown;
	from: Sources;
}

export interface ResolveResult {
	items: ResolvedItem[];
	failures: FailedGroup[];
}

export type Resolution = NonNullable<SyncMeta['resolution']>;
