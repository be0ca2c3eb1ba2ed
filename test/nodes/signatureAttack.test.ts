import { createHmac } from 'node:crypto';

import fc from 'fast-check';
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import { packageNodeType, runChain, type NodeSpec, type RunResult } from '../harness';
import { useNodeTestStores } from '../support/nodeStores';

/**
 * Attacks on the Change Detector's webhook signature check, through the node in a real n8n
 * execution: forged, truncated, wrong-algorithm, stale and replayed requests all end in Rejected
 * with the reason; none reaches Created or Updated, and none is remembered by the sync.
 */

const SYNC_ID = 'contacts';
const SECRET = 'whsec_attack_test_5f2c';
const { freshBuiltinStore } = useNodeTestStores('sigattack', { postgres: false });

const credentials = {
	webhookSignatureApi: {
		secret: SECRET,
		algorithm: 'sha256',
		headerName: 'X-Signature',
		encoding: 'hex',
		prefix: 'sha256=',
		timestampHeader: 'X-Timestamp',
		toleranceSeconds: 300,
		payloadFormat: '{timestamp}.{body}',
	},
};

// Outputs with signature checks and Include Unchanged: Created, Updated, Deleted, Unchanged, Rejected, Errors.
const OUT = { created: 0, updated: 1, deleted: 2, unchanged: 3, rejected: 4, errors: 5 } as const;

function detector(store: IDataObject): NodeSpec {
	return {
		name: 'Detect',
		type: packageNodeType('changeDetector'),
		parameters: {
			...store,
			syncId: SYNC_ID,
			system: 'parse',
			mode: 'event',
			keyFields: 'objectId',
			recordField: 'body.object',
			opField: 'body.triggerName',
			verifySignature: true,
			includeUnchanged: true,
			eventId: "={{ $json.headers['x-event-id'] ?? '' }}",
		},
	};
}

interface Sent {
	body?: IDataObject;
	/** Seconds since the epoch; now by default. */
	timestamp?: number;
	/** The signature header as sent; by default the correct one. */
	signature?: (correct: string, signedText: string) => string | undefined;
	eventId?: string;
	/** Bytes delivered instead of the signed ones. */
	deliveredBody?: string;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

function hmac(algorithm: string, secret: string, text: string): string {
	return createHmac(algorithm, secret).update(text).digest('hex');
}

/** A webhook item as n8n's Webhook node gives it with "Raw Body" on. */
function request(sent: Sent = {}): INodeExecutionData {
	const body = sent.body ?? { triggerName: 'afterSave', object: { objectId: 'p1', name: 'Ada' } };
	const raw = JSON.stringify(body);
	const timestamp = String(sent.timestamp ?? nowSeconds());
	const signedText = `${timestamp}.${raw}`;
	const correct = `sha256=${hmac('sha256', SECRET, signedText)}`;
	const signature = sent.signature ? sent.signature(correct, signedText) : correct;
	const headers: IDataObject = { 'x-timestamp': timestamp, 'content-type': 'application/json' };
	if (signature !== undefined) headers['x-signature'] = signature;
	if (sent.eventId !== undefined) headers['x-event-id'] = sent.eventId;
	const delivered = sent.deliveredBody ?? raw;
	return {
		json: { headers, params: {}, query: {}, body: JSON.parse(delivered) as IDataObject },
		binary: { data: { data: Buffer.from(delivered).toString('base64'), mimeType: 'application/json' } },
	};
}

const reasons = (result: RunResult) => result.json('Detect', OUT.rejected).map((item) => (item._sync as IDataObject).reason);
const emitted = (result: RunResult) =>
	result.json('Detect', OUT.created).length + result.json('Detect', OUT.updated).length + result.json('Detect', OUT.deleted).length;

async function linkedKeys(store: IDataObject): Promise<string[]> {
	const result = await runChain(
		[{ name: 'Stats', type: packageNodeType('syncState'), parameters: { ...store, syncId: SYNC_ID, resource: 'sync', operation: 'stats' } }],
		{ input: [{}] },
	);
	const systems = (result.json('Stats')[0].systems ?? {}) as Record<string, { links: number }>;
	return Object.entries(systems).flatMap(([system, counts]) => Array.from({ length: counts.links }, () => system));
}

describe('webhook signature attacks on the Change Detector', () => {
	it('rejects forged, truncated, wrong-algorithm, stale and future requests, and lets none reach Created or Updated', async () => {
		const store = freshBuiltinStore();
		const stale = nowSeconds() - 301;
		const attacks: Array<[string, Sent, string]> = [
			['forged with a guessed secret', { signature: (_c, text) => `sha256=${hmac('sha256', 'guessed', text)}` }, 'badSignature'],
			['truncated by one byte', { signature: (correct) => correct.slice(0, -2) }, 'badSignature'],
			['truncated to the prefix', { signature: () => 'sha256=' }, 'badSignature'],
			['signed with SHA-1', { signature: (_c, text) => `sha256=${hmac('sha1', SECRET, text)}` }, 'badSignature'],
			['signed with SHA-512', { signature: (_c, text) => `sha256=${hmac('sha512', SECRET, text)}` }, 'badSignature'],
			['sent as the plain secret', { signature: () => SECRET }, 'badSignature'],
			['signed over the body without the timestamp', { signature: () => `sha256=${hmac('sha256', SECRET, JSON.stringify({ triggerName: 'afterSave', object: { objectId: 'p1', name: 'Ada' } }))}` }, 'badSignature'],
			['with a body changed after signing', { deliveredBody: JSON.stringify({ triggerName: 'afterSave', object: { objectId: 'p1', name: 'Eve' } }) }, 'badSignature'],
			['unsigned', { signature: () => undefined }, 'missingSignature'],
			['replayed outside the tolerance', { timestamp: stale }, 'staleTimestamp'],
			['dated in the future beyond the tolerance', { timestamp: nowSeconds() + 3600 }, 'staleTimestamp'],
			['with an unreadable timestamp', { timestamp: Number.NaN }, 'missingTimestamp'],
		];
		const result = await runChain([detector(store)], { inputItems: attacks.map(([, sent]) => request(sent)), credentials });

		expect(result.status).toBe('success');
		expect(emitted(result)).toBe(0);
		expect(result.json('Detect', OUT.unchanged)).toEqual([]);
		expect(reasons(result)).toEqual(attacks.map(([, , reason]) => reason));
		// Each rejection says why, without the secret or the signature it expected (the request's
		// own headers stay on the item: one attacker sent the secret itself).
		for (const item of result.json('Detect', OUT.rejected)) {
			expect(item.error).toEqual(expect.any(String));
			expect(`${String(item.error)} ${JSON.stringify(item._sync)}`).not.toContain(SECRET);
			expect(String(item.error)).not.toMatch(/[0-9a-f]{64}/);
		}
		expect(await linkedKeys(store)).toEqual([]);
	});

	it('accepts a request once and rejects its replays inside the tolerance, in the same run and in later runs', async () => {
		const store = freshBuiltinStore();
		const original = request();
		const first = await runChain([detector(store)], { inputItems: [original, original], credentials });

		expect(first.json('Detect', OUT.created).map((item) => (item._sync as IDataObject).key)).toEqual(['p1']);
		expect(reasons(first)).toEqual(['replay']);

		const later = await runChain([detector(store)], { inputItems: [original], credentials });
		expect(emitted(later)).toBe(0);
		expect(reasons(later)).toEqual(['replay']);
	});

	it('deduplicates by event ID: a second delivery of one event, freshly signed, is a replay', async () => {
		const store = freshBuiltinStore();
		const body = { triggerName: 'afterSave', object: { objectId: 'p7', name: 'Grace' } };
		const first = await runChain([detector(store)], { inputItems: [request({ body, eventId: 'evt-42' })], credentials });
		expect(first.json('Detect', OUT.created)).toHaveLength(1);

		// The sender retries: same event ID, a new timestamp and so a new, valid signature.
		const retry = request({ body: { ...body, object: { ...body.object, name: 'Grace H' } }, eventId: 'evt-42', timestamp: nowSeconds() + 1 });
		const second = await runChain([detector(store)], { inputItems: [retry, request({ body, eventId: 'evt-43' })], credentials });

		expect(reasons(second)).toEqual(['replay']);
		expect(second.json('Detect', OUT.rejected)[0].error).toContain('event ID "evt-42"');
		// evt-43 is a new event for a record that was not committed yet: Created again, not Updated by the replay.
		expect(second.json('Detect', OUT.updated)).toEqual([]);
		expect(second.json('Detect', OUT.created).map((item) => item.name)).toEqual(['Grace']);
	});

	it('lets no mutation of a signed request through (fuzz)', async () => {
		const store = freshBuiltinStore();
		let cases = 0;
		await fc.assert(
			fc.asyncProperty(
				fc.oneof(
					// Flip one character of the signature.
					fc.nat().map((at) => ({ signature: (correct: string) => flip(correct, 'sha256='.length + (at % 64)) }) as Sent),
					// Change one byte of the delivered body.
					fc.nat().map((at) => ({ deliveredBody: mutateJson(at) }) as Sent),
					// Shift the timestamp by a second, keeping the old signature.
					fc.constantFrom(-1, 1).map((shift) => ({ timestamp: nowSeconds() + shift, signature: (_c: string) => `sha256=${hmac('sha256', SECRET, `${nowSeconds()}.${JSON.stringify(sample)}`)}` }) as Sent),
					// Upper-case hex or a repeated prefix.
					fc.constantFrom<Sent>({ signature: (correct) => `sha256=${correct}` }, { signature: (correct) => correct.replace('sha256=', 'SHA256=') }),
				),
				async (sent) => {
					const result = await runChain([detector(store)], { inputItems: [request(sent)], credentials });
					cases++;
					expect(result.status).toBe('success');
					expect(emitted(result)).toBe(0);
					expect(reasons(result)).toHaveLength(1);
				},
			),
			{ numRuns: 60 },
		);
		expect(cases).toBe(60);
		expect(await linkedKeys(store)).toEqual([]);
	});
});

const sample = { triggerName: 'afterSave', object: { objectId: 'p1', name: 'Ada' } };

function flip(text: string, at: number): string {
	const char = text[at];
	const replacement = char === '0' ? '1' : '0';
	return `${text.slice(0, at)}${replacement}${text.slice(at + 1)}`;
}

/** The sample body with one character of its name changed: still valid JSON, different bytes. */
function mutateJson(at: number): string {
	const name = sample.object.name;
	const index = at % name.length;
	const changed = `${name.slice(0, index)}${name[index] === 'x' ? 'y' : 'x'}${name.slice(index + 1)}`;
	return JSON.stringify({ ...sample, object: { ...sample.object, name: changed } });
}
