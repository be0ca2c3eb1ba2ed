import type { SyncMeta, SyncOp } from '../engine/types';

/**
 * "Split by Operation": a write node does one operation (n8n's Postgres node inserts, updates or
 * deletes; an HTTP Request node sends one method), and an item's op travels in hidden metadata that
 * a Switch node cannot read. So a node that feeds write nodes can send each op to its own output.
 * Wherever a node splits, the outputs come in this order: Create, Update, Delete.
 */
export const SPLIT_OPS: readonly SyncOp[] = ['create', 'update', 'delete'];

/** The op a write node performs for an item: its target's, else its change's; undefined when there is nothing to write. */
export function writeOpOf(meta: SyncMeta | undefined): SyncOp | undefined {
	if (!meta) return undefined;
	if (meta.target) return meta.target.op;
	return meta.op === 'none' ? undefined : meta.op;
}

/** Sorts items into one list per op, in SPLIT_OPS order, keeping their order within each list. */
export function splitByOperation<T>(items: T[], opOf: (item: T) => SyncOp): [T[], T[], T[]] {
	const lists: [T[], T[], T[]] = [[], [], []];
	for (const item of items) lists[SPLIT_OPS.indexOf(opOf(item))].push(item);
	return lists;
}
