/**
 * What an event says happened to its record. `create`, `update` and `upsert` all mean "the record
 * now looks like this": the sync state decides between create and update (an update of a record
 * never synced is a create for the other side, a create of a linked one an update). `delete` ends
 * the record; `ignore` is an event that changes nothing (e.g. a read hook).
 */
export type RecordIntent = 'create' | 'update' | 'upsert' | 'delete' | 'ignore';

export const RECORD_INTENTS: readonly RecordIntent[] = ['create', 'update', 'upsert', 'delete', 'ignore'];

/** Event names many systems use, compared without case, spaces, dashes or underscores. */
const COMMON_EVENT_NAMES: Record<string, RecordIntent> = {
	create: 'create',
	created: 'create',
	insert: 'create',
	inserted: 'create',
	add: 'create',
	added: 'create',
	new: 'create',
	update: 'update',
	updated: 'update',
	change: 'update',
	changed: 'update',
	modify: 'update',
	modified: 'update',
	edit: 'update',
	edited: 'update',
	upsert: 'upsert',
	save: 'upsert',
	saved: 'upsert',
	aftersave: 'upsert',
	delete: 'delete',
	deleted: 'delete',
	remove: 'delete',
	removed: 'delete',
	destroy: 'delete',
	destroyed: 'delete',
	afterdelete: 'delete',
};

function commonIntent(name: string): RecordIntent | undefined {
	const normalised = name.toLowerCase().replace(/[\s_-]+/g, '');
	return Object.prototype.hasOwnProperty.call(COMMON_EVENT_NAMES, normalised) ? COMMON_EVENT_NAMES[normalised] : undefined;
}

/**
 * The intent of an event name: the user's own mapping first (exact name), then the common names
 * (e.g. "INSERT", "record.updated", "afterSave"; a dotted name is read by its last part).
 */
export function intentOfEvent(name: unknown, mapping: ReadonlyMap<string, RecordIntent>): RecordIntent | undefined {
	if (typeof name !== 'string' || name.trim() === '') return undefined;
	const text = name.trim();
	return mapping.get(text) ?? commonIntent(text) ?? (text.includes('.') ? commonIntent(text.slice(text.lastIndexOf('.') + 1)) : undefined);
}
