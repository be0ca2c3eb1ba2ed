import { createHash } from 'node:crypto';

/**
 * A new entity's id is derived from the record that founded it, so re-running the same
 * commit after a crash yields the same entity instead of a duplicate.
 */
export function entityIdFor(syncId: string, system: string, key: string): string {
	const digest = createHash('sha256').update(`${syncId}\u0000${system}\u0000${key}`).digest('base64url');
	return `e_${digest.slice(0, 22)}`;
}
