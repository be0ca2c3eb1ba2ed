import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

import { SyncError } from './errors';
import { timestampMs } from './cursor';

/**
 * Webhook authentication: an HMAC of the raw request body (optionally with a timestamp) sent in a
 * header, or a plain shared secret in a header (as Parse Server's X-Parse-Webhook-Key).
 * Comparisons take constant time; only lengths, which are public, can end one early.
 */

export type SignatureAlgorithm = 'sha256' | 'sha1' | 'plain';
export type SignatureEncoding = 'hex' | 'base64';

export interface SignatureSettings {
	secret: string;
	headerName: string;
	algorithm: SignatureAlgorithm;
	encoding: SignatureEncoding;
	/** Text before the signature in the header, e.g. "sha256=". */
	prefix: string;
	/** When set, the request must carry a time in this header, within `toleranceSeconds` of now. */
	timestampHeader: string;
	toleranceSeconds: number;
	/** What is signed: `{body}` and `{timestamp}` stand for the raw body and the timestamp header. */
	payloadFormat: string;
}

export type RejectReason = 'missingSignature' | 'badSignature' | 'missingTimestamp' | 'staleTimestamp' | 'replay';

export type SignatureCheck =
	| { ok: true; /** The verified signature, as a stable text: a replay repeats it. */ signature: string; timestampMs?: number }
	| { ok: false; reason: RejectReason; message: string };

export interface SignedRequest {
	/** Request headers; names are matched without regard to case. */
	headers: Record<string, unknown>;
	rawBody: Buffer;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Problems with the settings themselves, so the credential test and the node can name them. */
export function settingsProblems(settings: SignatureSettings): string[] {
	const problems: string[] = [];
	if (settings.secret === '') problems.push('The secret is empty.');
	if (!HEADER_NAME.test(settings.headerName)) problems.push(`"${settings.headerName}" is not a valid header name.`);
	if (!['sha256', 'sha1', 'plain'].includes(settings.algorithm)) problems.push(`Unknown algorithm "${settings.algorithm}".`);
	if (!['hex', 'base64'].includes(settings.encoding)) problems.push(`Unknown encoding "${settings.encoding}".`);
	if (settings.algorithm !== 'plain') {
		if (!settings.payloadFormat.includes('{body}')) problems.push('The signed payload format must contain {body}.');
		if (settings.payloadFormat.includes('{timestamp}') && settings.timestampHeader === '') {
			problems.push('The signed payload format uses {timestamp}, but no timestamp header is set.');
		}
	}
	if (settings.timestampHeader !== '' && !HEADER_NAME.test(settings.timestampHeader)) {
		problems.push(`"${settings.timestampHeader}" is not a valid header name.`);
	}
	if (settings.timestampHeader !== '' && !(settings.toleranceSeconds > 0)) problems.push('The tolerance must be more than 0 seconds.');
	return problems;
}

export function assertValidSettings(settings: SignatureSettings): void {
	const problems = settingsProblems(settings);
	if (problems.length > 0) {
		throw new SyncError('INVALID_INPUT', `The Webhook Signature credential is not usable: ${problems[0]}`, `Fix the credential: ${problems.join(' ')}`);
	}
}

export function headerValue(headers: Record<string, unknown>, name: string): string | undefined {
	const wanted = name.toLowerCase();
	for (const key of Object.keys(headers)) {
		if (key.toLowerCase() !== wanted) continue;
		const value = headers[key];
		const text = Array.isArray(value) ? value.join(', ') : value === undefined || value === null ? undefined : String(value);
		return text === undefined || text.trim() === '' ? undefined : text.trim();
	}
	return undefined;
}

/** The bytes that were signed: the format with `{timestamp}` and `{body}` filled in, the body byte for byte. */
export function signedPayload(format: string, rawBody: Buffer, timestamp: string): Buffer {
	const parts: Buffer[] = [];
	for (const piece of format.split(/(\{body\}|\{timestamp\})/)) {
		if (piece === '{body}') parts.push(rawBody);
		else if (piece === '{timestamp}') parts.push(Buffer.from(timestamp, 'utf8'));
		else if (piece !== '') parts.push(Buffer.from(piece, 'utf8'));
	}
	return Buffer.concat(parts);
}

/** Signs a request as a sender would: for tests, and for the credential's self-check. */
export function sign(settings: SignatureSettings, rawBody: Buffer, timestamp = ''): string {
	if (settings.algorithm === 'plain') return settings.secret;
	const digest = createHmac(settings.algorithm, settings.secret)
		.update(signedPayload(settings.payloadFormat, rawBody, timestamp))
		.digest(settings.encoding);
	return `${settings.prefix}${digest}`;
}

function decodeSignature(text: string, encoding: SignatureEncoding): Buffer | undefined {
	if (encoding === 'hex') return /^(?:[0-9a-f]{2})+$/i.test(text) ? Buffer.from(text, 'hex') : undefined;
	if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return undefined;
	return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

function bad(message: string): SignatureCheck {
	return { ok: false, reason: 'badSignature', message };
}

export function verifySignature(settings: SignatureSettings, request: SignedRequest, now: Date = new Date()): SignatureCheck {
	const provided = headerValue(request.headers, settings.headerName);
	if (provided === undefined) {
		return { ok: false, reason: 'missingSignature', message: `The request has no "${settings.headerName}" header` };
	}

	let timestampText = '';
	let timestamp: number | undefined;
	if (settings.timestampHeader !== '') {
		timestampText = headerValue(request.headers, settings.timestampHeader) ?? '';
		timestamp = timestampMs(timestampText);
		if (timestamp === undefined) {
			return {
				ok: false,
				reason: 'missingTimestamp',
				message: `The request has no readable time in the "${settings.timestampHeader}" header`,
			};
		}
	}

	let signature: string;
	if (settings.algorithm === 'plain') {
		// Digests first, so that the comparison takes the same time whatever the lengths.
		const expected = createHash('sha256').update(settings.secret, 'utf8').digest();
		const actual = createHash('sha256').update(provided, 'utf8').digest();
		if (!timingSafeEqual(expected, actual)) return bad(`The "${settings.headerName}" header does not match the secret`);
		signature = '';
	} else {
		if (!provided.startsWith(settings.prefix)) {
			return bad(`The "${settings.headerName}" header does not start with "${settings.prefix}"`);
		}
		const actual = decodeSignature(provided.slice(settings.prefix.length).trim(), settings.encoding);
		const expected = createHmac(settings.algorithm, settings.secret)
			.update(signedPayload(settings.payloadFormat, request.rawBody, timestampText))
			.digest();
		if (!actual || actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
			return bad(`The signature in "${settings.headerName}" does not match the request body`);
		}
		signature = expected.toString('base64url');
	}

	if (timestamp !== undefined) {
		const skewSeconds = Math.abs(now.getTime() - timestamp) / 1000;
		if (skewSeconds > settings.toleranceSeconds) {
			return {
				ok: false,
				reason: 'staleTimestamp',
				message: `The request was signed ${Math.round(skewSeconds)} s ${timestamp < now.getTime() ? 'ago' : 'in the future'}, outside the ${settings.toleranceSeconds} s tolerance`,
			};
		}
	}
	return { ok: true, signature, ...(timestamp !== undefined ? { timestampMs: timestamp } : {}) };
}
