import { SyncError } from '../errors';
import { retryDelayMs } from '../retry';
import type { RetryPolicy } from '../store/SyncStore';
import type { AuditEvent } from './types';

/**
 * Delivery of events to an HTTP endpoint (a SIEM or a log collector), in batches, each retried
 * with exponential backoff. The transport is injected: the node sends through n8n's request
 * helpers, the tests through a fake. Batches go out in order, and the first batch that cannot be
 * delivered stops the run: it and every later event are returned undelivered, for the caller to
 * keep and send first next time.
 */

export type BodyFormat = 'jsonArray' | 'jsonLines';

export interface HttpReply {
	status: number;
}

/** Sends one body; resolves with the HTTP status, rejects on a network failure. */
export type SendBody = (body: string, headers: Record<string, string>) => Promise<HttpReply>;

export interface DeliveryOptions {
	batchSize: number;
	policy: RetryPolicy;
	format: BodyFormat;
	/** Headers that authenticate this exact body (e.g. an HMAC signature); called for every attempt. */
	sign?: (body: string) => Record<string, string>;
	sleep: (ms: number) => Promise<void>;
	/** Removes secrets from error texts before they are kept. */
	scrub?: (text: string) => string;
}

export interface DeliveryOutcome<E extends AuditEvent> {
	delivered: E[];
	undelivered: E[];
	/** Why the first undelivered batch failed. */
	error: string | null;
	requests: number;
}

export function deliveryBody(events: AuditEvent[], format: BodyFormat): { body: string; contentType: string } {
	if (format === 'jsonLines') {
		return { body: events.map((event) => JSON.stringify(event)).join('\n') + '\n', contentType: 'application/x-ndjson' };
	}
	return { body: JSON.stringify(events), contentType: 'application/json' };
}

/** Worth another attempt: the endpoint is busy or broken for now, not refusing this request. */
export function isRetryableStatus(status: number): boolean {
	return status === 408 || status === 425 || status === 429 || status >= 500;
}

export function validateDelivery(options: Pick<DeliveryOptions, 'batchSize' | 'policy'>): void {
	if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
		throw new SyncError('INVALID_INPUT', 'The HTTP batch size must be a whole number of at least 1', 'Set "Batch Size" to 1 or more, e.g. 100.');
	}
	if (!Number.isInteger(options.policy.maxAttempts) || options.policy.maxAttempts < 1) {
		throw new SyncError('INVALID_INPUT', 'The HTTP attempts must be a whole number of at least 1', 'Set "Max Attempts" to 1 or more.');
	}
	for (const value of [options.policy.baseDelayMs, options.policy.maxDelayMs]) {
		if (!Number.isFinite(value) || value < 0) {
			throw new SyncError('INVALID_INPUT', 'The retry delays must be zero or more milliseconds', 'Set "Retry Delay (ms)" to 0 or more.');
		}
	}
}

export async function deliverEvents<E extends AuditEvent>(events: E[], send: SendBody, options: DeliveryOptions): Promise<DeliveryOutcome<E>> {
	validateDelivery(options);
	const scrub = options.scrub ?? ((text: string) => text);
	const delivered: E[] = [];
	let requests = 0;
	for (let start = 0; start < events.length; start += options.batchSize) {
		const batch = events.slice(start, start + options.batchSize);
		const { body, contentType } = deliveryBody(batch, options.format);
		let lastError = '';
		let sent = false;
		for (let attempt = 1; attempt <= options.policy.maxAttempts; attempt++) {
			let retryable = true;
			try {
				requests += 1;
				const reply = await send(body, { 'content-type': contentType, ...options.sign?.(body) });
				if (reply.status >= 200 && reply.status < 300) {
					sent = true;
					break;
				}
				lastError = `The endpoint answered HTTP ${reply.status}`;
				retryable = isRetryableStatus(reply.status);
			} catch (error) {
				lastError = `The endpoint could not be reached: ${error instanceof Error ? error.message : String(error)}`;
			}
			if (!retryable || attempt === options.policy.maxAttempts) break;
			await options.sleep(retryDelayMs(attempt, options.policy));
		}
		if (!sent) {
			return { delivered, undelivered: events.slice(start), error: scrub(lastError), requests };
		}
		delivered.push(...batch);
	}
	return { delivered, undelivered: [], error: null, requests };
}
