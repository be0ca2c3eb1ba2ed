import { isDeadLettered, retryDelayMs } from '../../nodes/engine/retry';

describe('retry backoff', () => {
	const policy = { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 10_000 };

	it('doubles the delay after each failure, up to the longest delay', () => {
		expect([1, 2, 3, 4, 5, 6].map((attempts) => retryDelayMs(attempts, policy))).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
	});

	it('never overflows for a large attempt count', () => {
		expect(retryDelayMs(10_000, policy)).toBe(10_000);
	});

	it('dead-letters once the attempts reach the maximum', () => {
		expect(isDeadLettered(4, policy)).toBe(false);
		expect(isDeadLettered(5, policy)).toBe(true);
	});
});
