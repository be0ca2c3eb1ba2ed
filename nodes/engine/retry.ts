import type { RetryPolicy } from './store/SyncStore';

/** Exponential backoff: base, 2x base, 4x base, ... capped at maxDelayMs. */
export function retryDelayMs(attempts: number, policy: RetryPolicy): number {
	const exponent = Math.max(0, attempts - 1);
	return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(exponent, 40));
}

export function isDeadLettered(attempts: number, policy: RetryPolicy): boolean {
	return attempts >= policy.maxAttempts;
}
