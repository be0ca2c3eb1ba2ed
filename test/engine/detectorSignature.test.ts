import { createHmac } from 'node:crypto';

import {
	intentOfEvent,
	settingsProblems,
	sign,
	verifySignature,
	type SignatureSettings,
} from '../../nodes/engine/detector';

const body = Buffer.from('{"event":"contact.updated","data":{"id":1,"name":"Jos\u00e9"}}', 'utf8');
const now = new Date('2026-03-01T12:00:00Z');
const nowSeconds = String(Math.floor(now.getTime() / 1000));

function settings(overrides: Partial<SignatureSettings> = {}): SignatureSettings {
	return {
		secret: 'whsec_test',
		headerName: 'X-Signature',
		algorithm: 'sha256',
		encoding: 'hex',
		prefix: '',
		timestampHeader: '',
		toleranceSeconds: 300,
		payloadFormat: '{body}',
		...overrides,
	};
}

describe('webhook signatures', () => {
	it('accepts a body signed with the secret, whatever the case of the header name', () => {
		const signature = createHmac('sha256', 'whsec_test').update(body).digest('hex');
		const check = verifySignature(settings(), { headers: { 'x-signature': signature }, rawBody: body }, now);

		expect(check.ok).toBe(true);
	});

	it('accepts base64 signatures with a prefix, as GitHub-style senders use', () => {
		const options = settings({ encoding: 'base64', prefix: 'sha256=' });
		const check = verifySignature(options, { headers: { 'X-Signature': sign(options, body) }, rawBody: body }, now);

		expect(check.ok).toBe(true);
	});

	it('rejects a forged signature', () => {
		const forged = createHmac('sha256', 'not the secret').update(body).digest('hex');
		const check = verifySignature(settings(), { headers: { 'x-signature': forged }, rawBody: body }, now);

		expect(check).toEqual({ ok: false, reason: 'badSignature', message: 'The signature in "X-Signature" does not match the request body' });
	});

	it('rejects a body changed after signing, even by one byte', () => {
		const signature = sign(settings(), body);
		const tampered = Buffer.from(body.toString('utf8').replace('Jos', 'Joz'), 'utf8');

		expect(verifySignature(settings(), { headers: { 'x-signature': signature }, rawBody: tampered }, now)).toEqual(
			expect.objectContaining({ ok: false, reason: 'badSignature' }),
		);
	});

	it('rejects a truncated signature and one that is not hex at all', () => {
		const signature = sign(settings(), body);

		for (const provided of [signature.slice(0, 32), `${signature}00`, 'zz'.repeat(32), '']) {
			const check = verifySignature(settings(), { headers: { 'x-signature': provided }, rawBody: body }, now);
			expect(check.ok).toBe(false);
		}
	});

	it('rejects a signature made with another algorithm', () => {
		const sha1 = createHmac('sha1', 'whsec_test').update(body).digest('hex');

		expect(verifySignature(settings(), { headers: { 'x-signature': sha1 }, rawBody: body }, now)).toEqual(
			expect.objectContaining({ ok: false, reason: 'badSignature' }),
		);
		expect(verifySignature(settings({ algorithm: 'sha1' }), { headers: { 'x-signature': sha1 }, rawBody: body }, now).ok).toBe(true);
	});

	it('rejects a request without the signature header', () => {
		expect(verifySignature(settings(), { headers: {}, rawBody: body }, now)).toEqual(
			expect.objectContaining({ ok: false, reason: 'missingSignature' }),
		);
	});

	describe('with a timestamp header', () => {
		const timed = settings({ timestampHeader: 'X-Timestamp', payloadFormat: '{timestamp}.{body}', toleranceSeconds: 300 });

		it('accepts a fresh request whose signature covers the timestamp', () => {
			const headers = { 'x-timestamp': nowSeconds, 'x-signature': sign(timed, body, nowSeconds) };

			expect(verifySignature(timed, { headers, rawBody: body }, now)).toEqual({
				ok: true,
				signature: expect.any(String),
				timestampMs: now.getTime(),
			});
		});

		it('rejects a request older than the tolerance, and one from too far in the future', () => {
			for (const offset of [-301, 301]) {
				const timestamp = String(Number(nowSeconds) + offset);
				const headers = { 'x-timestamp': timestamp, 'x-signature': sign(timed, body, timestamp) };
				const check = verifySignature(timed, { headers, rawBody: body }, now);

				expect(check).toEqual(expect.objectContaining({ ok: false, reason: 'staleTimestamp' }));
			}
		});

		it('rejects a fresh timestamp pasted onto an old signature', () => {
			const old = String(Number(nowSeconds) - 3600);
			const headers = { 'x-timestamp': nowSeconds, 'x-signature': sign(timed, body, old) };

			expect(verifySignature(timed, { headers, rawBody: body }, now)).toEqual(expect.objectContaining({ reason: 'badSignature' }));
		});

		it('rejects a request without a readable timestamp', () => {
			const headers = { 'x-signature': sign(timed, body, nowSeconds), 'x-timestamp': 'soon' };

			expect(verifySignature(timed, { headers, rawBody: body }, now)).toEqual(expect.objectContaining({ reason: 'missingTimestamp' }));
		});

		it('gives a replay the same signature text, so it can be recognised', () => {
			const headers = { 'x-timestamp': nowSeconds, 'x-signature': sign(timed, body, nowSeconds) };
			const first = verifySignature(timed, { headers, rawBody: body }, now);
			const replay = verifySignature(timed, { headers, rawBody: body }, new Date(now.getTime() + 1000));

			expect(first.ok && replay.ok && first.signature === replay.signature).toBe(true);
		});
	});

	describe('a plain shared secret in a header', () => {
		const plain = settings({ algorithm: 'plain', headerName: 'X-Parse-Webhook-Key' });

		it('accepts the secret and rejects anything else', () => {
			expect(verifySignature(plain, { headers: { 'x-parse-webhook-key': 'whsec_test' }, rawBody: body }, now).ok).toBe(true);
			for (const provided of ['whsec_tes', 'whsec_test2', 'WHSEC_TEST']) {
				expect(verifySignature(plain, { headers: { 'x-parse-webhook-key': provided }, rawBody: body }, now)).toEqual(
					expect.objectContaining({ ok: false, reason: 'badSignature' }),
				);
			}
		});
	});

	it('names every problem of unusable settings', () => {
		expect(settingsProblems(settings({ secret: '', headerName: 'bad header', payloadFormat: '{timestamp}' }))).toEqual([
			'The secret is empty.',
			'"bad header" is not a valid header name.',
			'The signed payload format must contain {body}.',
			'The signed payload format uses {timestamp}, but no timestamp header is set.',
		]);
		expect(settingsProblems(settings())).toEqual([]);
	});
});

describe('event names', () => {
	it('reads common event names of many systems', () => {
		const none = new Map();

		expect(['INSERT', 'created', 'contact.created'].map((name) => intentOfEvent(name, none))).toEqual(['create', 'create', 'create']);
		expect(['UPDATE', 'record.updated'].map((name) => intentOfEvent(name, none))).toEqual(['update', 'update']);
		expect(['afterSave', 'after_save', 'upsert'].map((name) => intentOfEvent(name, none))).toEqual(['upsert', 'upsert', 'upsert']);
		expect(['DELETE', 'afterDelete', 'contact.deleted'].map((name) => intentOfEvent(name, none))).toEqual(['delete', 'delete', 'delete']);
		expect(intentOfEvent('beforeFind', none)).toBeUndefined();
		expect(intentOfEvent('__proto__', none)).toBeUndefined();
	});

	it("lets the user's mapping win over the common names", () => {
		expect(intentOfEvent('afterSave', new Map([['afterSave', 'ignore' as const]]))).toBe('ignore');
	});
});
