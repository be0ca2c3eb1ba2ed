import fc from 'fast-check';

import { statusFromMeta, type LoggedMeta } from '../../nodes/engine/audit/event';
import { Redactor } from '../../nodes/engine/audit/redact';
import { detectChanges } from '../../nodes/engine/detector';
import { keySpec, recordKey } from '../../nodes/engine/detector/keys';
import { SyncError } from '../../nodes/engine/errors';
import { MAX_DEPTH, canonicalJson, hashValue } from '../../nodes/engine/hash';
import type { JsonObject, JsonValue } from '../../nodes/engine/types';
import { POLLUTION_MARKER, assertNoPollution, define, hostileBatch, hostileRecord, prototypeSnapshot } from '../support/fuzzRecords';

/**
 * The engine on hostile records: hashing, key reading, detection and audit redaction either
 * answer or fail with a SyncError that carries a hint; nothing reaches Object.prototype.
 */

const FORMS = ['NFC', 'NFD', 'NFKC', 'NFKD'] as const;

function nested(depth: number): unknown {
	let value: unknown = 'leaf';
	for (let level = 0; level < depth; level++) value = level % 2 ? [value] : { [`k${level}`]: value };
	return value;
}

describe('hashing hostile records', () => {
	it('gives one hash to the NFC and NFD spellings of the same text, in keys and in values', () => {
		fc.assert(
			fc.property(fc.string({ unit: 'grapheme', maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 20 }), (key, value) => {
				const nfc = define({}, key.normalize('NFC'), value.normalize('NFC'));
				const nfd = define({}, key.normalize('NFD'), value.normalize('NFD'));
				expect(hashValue(nfd)).toBe(hashValue(nfc));
			}),
			{ numRuns: 200 },
		);
		// Compatibility forms are a different text (ﬁ is not fi), and stay a change.
		expect(hashValue({ name: 'ﬁancé' })).not.toBe(hashValue({ name: 'ﬁancé'.normalize('NFKC') }));
		expect(new Set(FORMS.map((form) => hashValue({ name: 'José'.normalize(form) }))).size).toBe(1);
	});

	it('keeps NaN, Infinity and -Infinity apart from null and from each other, and -0 equal to 0', () => {
		const hashes = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, null].map((value) => hashValue({ value }));
		expect(new Set(hashes).size).toBe(4);
		expect(hashValue({ value: -0 })).toBe(hashValue({ value: 0 }));
		// A BigInt-like text stays the text: no rounding through a number.
		expect(canonicalJson({ id: '9007199254740993' })).toBe('{"id":"9007199254740993"}');
		expect(hashValue({ id: '9007199254740993' })).not.toBe(hashValue({ id: '9007199254740992' }));
	});

	it('refuses a circular record with a SyncError that says what to do, and accepts a shared one', () => {
		const cyclic: Record<string, unknown> = { id: 1 };
		cyclic.self = { back: cyclic };
		const error = (() => {
			try {
				hashValue(cyclic);
			} catch (caught) {
				return caught;
			}
			return undefined;
		})();
		expect(error).toBeInstanceOf(SyncError);
		expect(error).toMatchObject({ code: 'INVALID_INPUT', hint: expect.stringContaining('Remove the circular reference') });

		const shared = { city: 'Paris' };
		expect(() => hashValue({ home: shared, work: shared })).not.toThrow();
	});

	it('hashes records nested 1,000 levels deep and strings of 5 MB, and refuses deeper records with a hint', () => {
		expect(hashValue(nested(MAX_DEPTH))).toMatch(/^[A-Za-z0-9_-]{43}$/);
		const huge = 'é'.repeat(5 * 1024 * 1024);
		expect(hashValue({ huge })).not.toBe(hashValue({ huge: `${huge}x` }));
		for (const depth of [MAX_DEPTH + 1, 5000, 50_000]) {
			expect(() => hashValue(nested(depth))).toThrow(
				expect.objectContaining({ code: 'INVALID_INPUT', message: `The record is nested more than ${MAX_DEPTH} levels deep`, hint: expect.stringContaining('Flatten') }),
			);
		}
	});

	it('treats __proto__, constructor and _sync as ordinary fields', () => {
		const withProto = JSON.parse('{"id": 1, "__proto__": {"admin": true}}') as JsonObject;
		expect(canonicalJson(withProto)).toBe('{"__proto__":{"admin":true},"id":1}');
		expect(hashValue(withProto)).not.toBe(hashValue({ id: 1 }));
		expect(hashValue({ id: 1, constructor: 'x' })).not.toBe(hashValue({ id: 1 }));
	});
});

describe('reading keys of hostile records', () => {
	it('names what is wrong with a key that is NaN or Infinity', () => {
		const spec = keySpec(['id']);
		expect(recordKey({ id: Number.NaN }, spec)).toMatchObject({ ok: false, reason: 'invalidKey', message: 'Key field "id" holds NaN, which is no usable number' });
		expect(recordKey({ id: Number.POSITIVE_INFINITY }, spec)).toMatchObject({ ok: false, reason: 'invalidKey' });
		expect(recordKey({ id: '9007199254740993' }, spec)).toEqual({ ok: true, key: '9007199254740993' });
	});
});

describe('detection on fuzzed hostile records', () => {
	it('puts every record in one output or in Errors, and never throws anything but a SyncError', () => {
		const before = prototypeSnapshot();
		let records = 0;
		fc.assert(
			fc.property(hostileBatch({ syncId: 'contacts', cycleRate: 0.1, maxLength: 10 }), fc.constantFrom('snapshot', 'event') , (batch, mode) => {
				records += batch.length;
				try {
					const result = detectChanges({
						records: batch.map((record) => ({ record: record as JsonObject })),
						state: { entities: new Map(), known: new Map(), cursor: null },
						options: { syncId: 'contacts', system: 'crm', mode: mode as 'snapshot' | 'event', keyFields: ['id'], fields: { mode: 'all', ignore: [] }, fullSnapshot: true },
					});
					const placed = [result.created, result.updated, result.deleted, result.unchanged, result.heldBack, result.errors].reduce((sum, list) => sum + list.length, 0);
					expect(placed).toBe(batch.length);
				} catch (error) {
					expect(error).toBeInstanceOf(SyncError);
					expect((error as SyncError).hint).toMatch(/\S/);
				}
				assertNoPollution(before);
			}),
			{ numRuns: 150 },
		);
		expect(records).toBeGreaterThan(150);
	});
});

describe('audit events of hostile records', () => {
	it('reads no status out of Object.prototype for "__proto__" or "constructor"', () => {
		const meta = (status: string) => ({ syncId: 's', system: 'crm', key: '1', op: 'update', status }) as LoggedMeta;
		expect(statusFromMeta(meta('__proto__'), {})).toBeUndefined();
		expect(statusFromMeta(meta('constructor'), {})).toBeUndefined();
		expect(statusFromMeta(meta('toString'), {})).toBeUndefined();
		expect(statusFromMeta(meta('Applied'), {})).toBe('applied');
	});

	it('redacts secret-like fields at any depth, also under __proto__, and pollutes nothing', () => {
		const before = prototypeSnapshot();
		const redactor = new Redactor({ rules: [], secretFields: 'drop' });
		fc.assert(
			fc.property(hostileRecord({ syncId: 'contacts' }), fc.string({ minLength: 8, maxLength: 16 }), (record, planted) => {
				const secretHolder = JSON.parse(`{"__proto__": {"password": ${JSON.stringify(`pw-${planted}`)}, "${POLLUTION_MARKER}": 1}}`) as JsonObject;
				define(record, 'nested', secretHolder);
				define(record, 'apiToken', `tok-${planted}`);
				let redacted: JsonValue | undefined;
				try {
					redacted = redactor.redactValue(JSON.parse(JSON.stringify(record)) as JsonObject, []);
				} catch (error) {
					// JSON cannot hold a cycle: those records never reach the redactor as JSON.
					expect(error).toBeInstanceOf(TypeError);
					return;
				}
				const text = JSON.stringify(redacted);
				expect(text).not.toContain(`pw-${planted}`);
				expect(text).not.toContain(`tok-${planted}`);
				assertNoPollution(before);
			}),
			{ numRuns: 150 },
		);
	});
});
