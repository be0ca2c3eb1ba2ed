import fc from 'fast-check';

import { SyncError } from '../../nodes/engine/errors';
import { canonicalJson, hashValue } from '../../nodes/engine/hash';

describe('canonical hashing', () => {
	it('gives the same hash whatever the key order', () => {
		expect(hashValue({ a: 1, b: { c: 2, d: [1, 2] } })).toBe(hashValue({ b: { d: [1, 2], c: 2 }, a: 1 }));
	});

	it('treats composed and decomposed Unicode as the same text', () => {
		const composed = 'Jos\u00e9';
		const decomposed = 'Jose\u0301';
		expect(composed).not.toBe(decomposed);
		expect(hashValue({ name: composed })).toBe(hashValue({ name: decomposed }));
	});

	it('spells numbers one way: 1.0 is 1 and -0 is 0', () => {
		expect(canonicalJson({ n: 1.0, z: -0 })).toBe('{"n":1,"z":0}');
	});

	it('keeps types apart: the number 1 and the text "1" differ', () => {
		expect(hashValue({ n: 1 })).not.toBe(hashValue({ n: '1' }));
	});

	it('keeps array order, since order can carry meaning', () => {
		expect(hashValue([1, 2])).not.toBe(hashValue([2, 1]));
	});

	it('drops undefined fields, as JSON does', () => {
		expect(hashValue({ a: 1, b: undefined })).toBe(hashValue({ a: 1 }));
	});

	it('gives NaN, Infinity and bigint their own tokens instead of null', () => {
		const forms = [null, NaN, Infinity, -Infinity, BigInt(10)].map((value) => hashValue({ v: value }));
		expect(new Set(forms).size).toBe(forms.length);
	});

	it('writes dates as ISO text', () => {
		expect(canonicalJson({ at: new Date('2026-01-02T03:04:05.000Z') })).toBe('{"at":"2026-01-02T03:04:05.000Z"}');
	});

	it('refuses a circular record with a hint, and accepts a shared but acyclic one', () => {
		const shared = { x: 1 };
		expect(() => canonicalJson({ a: shared, b: shared })).not.toThrow();
		const loop: Record<string, unknown> = {};
		loop.self = loop;
		expect(() => canonicalJson(loop)).toThrow(SyncError);
	});

	it('treats __proto__ as an ordinary field name', () => {
		const record = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}');
		expect(canonicalJson(record)).toBe('{"__proto__":{"polluted":true},"a":1}');
		expect(({} as Record<string, unknown>).polluted).toBeUndefined();
	});

	it('is stable under any reordering of keys (property)', () => {
		fc.assert(
			fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (record) => {
				const reversed = Object.fromEntries(Object.entries(record).reverse());
				expect(hashValue(reversed)).toBe(hashValue(record));
			}),
		);
	});

	it('round-trips through JSON for any JSON value (property)', () => {
		fc.assert(
			fc.property(fc.jsonValue(), (value) => {
				expect(canonicalJson(JSON.parse(canonicalJson(value)))).toBe(canonicalJson(value));
			}),
		);
	});
});
