import { SyncError } from '../errors';

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const TABLE_PREFIX = /^[A-Za-z_][A-Za-z0-9_]{0,29}$/;
const MAX_SYNC_ID_LENGTH = 200;

/** Schema names are user input that ends up in SQL text, so only plain identifiers pass. */
export function validateSchemaName(schema: string): string {
	if (!SCHEMA_NAME.test(schema)) {
		throw new SyncError(
			'INVALID_IDENTIFIER',
			`The schema name "${schema}" is not allowed`,
			'Use letters, digits and underscores only, starting with a letter or underscore, at most 63 characters (e.g. "two_way_sync").',
		);
	}
	return schema;
}

export function validateTablePrefix(prefix: string): string {
	if (prefix !== '' && !TABLE_PREFIX.test(prefix)) {
		throw new SyncError(
			'INVALID_IDENTIFIER',
			`The table prefix "${prefix}" is not allowed`,
			'Use letters, digits and underscores only, starting with a letter or underscore, at most 30 characters (e.g. "sync_"), or leave it empty.',
		);
	}
	return prefix;
}

/** A syncId is only ever a query parameter, so any text is safe; it must just be present and bounded. */
export function validateSyncId(syncId: unknown): string {
	if (typeof syncId !== 'string' || syncId.trim() === '') {
		throw new SyncError(
			'INVALID_INPUT',
			'The Sync ID is empty',
			'Set "Sync ID" to the name all nodes of this sync share, e.g. "contacts".',
		);
	}
	if (syncId.length > MAX_SYNC_ID_LENGTH) {
		throw new SyncError(
			'INVALID_INPUT',
			`The Sync ID is ${syncId.length} characters long`,
			`Use a Sync ID of at most ${MAX_SYNC_ID_LENGTH} characters.`,
		);
	}
	return syncId;
}
