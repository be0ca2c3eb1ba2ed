import { createHmac } from 'node:crypto';

import { verifySignature, type SignatureSettings } from '../../nodes/engine/signature';

// The real timingSafeEqual, watched: node:crypto's own export cannot be spied on in place.
jest.mock('node:crypto', () => {
	const actual = jest.requireActual<typeof import('node:crypto')>('node:crypto');
	return { ...actual, timingSafeEqual: jest.fn((a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => actual.timingSafeEqual(a, b)) };
});

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { timingSafeEqual } = require('node:crypto') as { timingSafeEqual: jest.Mock };

const SECRET = 'whsec_constant_time';
const settings: SignatureSettings = {
	secret: SECRET,
	headerName: 'X-Signature',
	algorithm: 'sha256',
	encoding: 'hex',
	prefix: '',
	timestampHeader: '',
	toleranceSeconds: 300,
	payloadFormat: '{body}',
};
const body = Buffer.from('{"id":1}');

beforeEach(() => timingSafeEqual.mockClear());

describe('signature comparison on hostile requests', () => {
	it('compares an HMAC signature of the right length with crypto.timingSafeEqual, over the decoded bytes', () => {
		const wrongButSameLength = createHmac('sha256', 'other').update(body).digest('hex');
		expect(verifySignature(settings, { headers: { 'x-signature': wrongButSameLength }, rawBody: body }).ok).toBe(false);

		expect(timingSafeEqual).toHaveBeenCalledTimes(1);
		const [actual, expected] = timingSafeEqual.mock.calls[0] as [Buffer, Buffer];
		expect([actual.length, expected.length]).toEqual([32, 32]);
		expect(actual.toString('hex')).toBe(wrongButSameLength);
	});

	it('ends early only on the length, which is public: a truncated signature is never compared byte by byte', () => {
		const correct = createHmac('sha256', SECRET).update(body).digest('hex');
		expect(verifySignature(settings, { headers: { 'x-signature': correct.slice(0, -2) }, rawBody: body })).toMatchObject({ ok: false, reason: 'badSignature' });
		expect(timingSafeEqual).not.toHaveBeenCalled();
		expect(verifySignature(settings, { headers: { 'x-signature': correct }, rawBody: body }).ok).toBe(true);
		expect(timingSafeEqual).toHaveBeenCalledTimes(1);
	});

	it('compares a plain shared secret as two SHA-256 digests, so not even its length shows', () => {
		const plain: SignatureSettings = { ...settings, algorithm: 'plain' };
		for (const guess of ['w', 'whsec_constant_timf', `${SECRET}-longer`]) {
			expect(verifySignature(plain, { headers: { 'x-signature': guess }, rawBody: body }).ok).toBe(false);
		}
		expect(verifySignature(plain, { headers: { 'x-signature': SECRET }, rawBody: body }).ok).toBe(true);
		expect(timingSafeEqual).toHaveBeenCalledTimes(4);
		for (const [a, b] of timingSafeEqual.mock.calls as Array<[Buffer, Buffer]>) expect([a.length, b.length]).toEqual([32, 32]);
	});
});
