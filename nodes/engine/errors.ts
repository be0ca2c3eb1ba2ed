/**
 * Typed engine errors. Each carries a `hint` that tells the user what to change;
 * the nodes turn them into NodeOperationError with that hint as the description.
 */
export type SyncErrorCode =
	| 'INVALID_INPUT'
	| 'INVALID_IDENTIFIER'
	| 'UNKNOWN_ENTITY'
	| 'LINK_CONFLICT'
	| 'STORE_UNAVAILABLE'
	| 'STORE_REFUSED'
	| 'CONFIRMATION_REQUIRED'
	| 'MASS_DELETE'
	| 'LOCK_HELD';

export class SyncError extends Error {
	constructor(
		readonly code: SyncErrorCode,
		message: string,
		readonly hint: string,
		options?: { cause?: unknown },
	) {
		super(message, options);
		this.name = 'SyncError';
	}
}

export function isSyncError(error: unknown): error is SyncError {
	return error instanceof SyncError;
}
