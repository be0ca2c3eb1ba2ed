import fc from 'fast-check';
import { DateTime } from 'luxon';

import { compileGetter, compileSetter, createMapper, parsePath, parseRuleSet, type ExpressionEvaluator, type Mapper } from '../../nodes/engine/mapper';
import type { JsonObject } from '../../nodes/engine/types';

function mappers(rules: unknown[], evaluate?: ExpressionEvaluator): { aToB: Mapper; bToA: Mapper } {
	const { ruleSet, problems } = parseRuleSet({ version: 1, rules });
	expect(problems).toEqual([]);
	return { aToB: createMapper(ruleSet, { direction: 'aToB', evaluate }), bToA: createMapper(ruleSet, { direction: 'bToA', evaluate }) };
}

function bToAError(rules: unknown[]): string {
	const { ruleSet } = parseRuleSet({ version: 1, rules });
	expect(() => createMapper(ruleSet, { direction: 'aToB' })).not.toThrow();
	try {
		createMapper(ruleSet, { direction: 'bToA' });
	} catch (error) {
		return (error as Error).message;
	}
	throw new Error('Expected B to A to be refused');
}

describe('inverting a rule set (B to A)', () => {
	it('swaps source and target paths', () => {
		const { bToA } = mappers([{ source: 'Customer_ID', target: 'ClientID' }, { source: 'address.city', target: 'city' }]);
		expect(bToA.map({ ClientID: 'c1', city: 'Berlin' }, 0).record).toEqual({ Customer_ID: 'c1', address: { city: 'Berlin' } });
		expect(bToA.sourceFields).toEqual(['ClientID', 'city']);
	});

	it("gives numbers back in system A's own type", () => {
		const { aToB, bToA } = mappers([{ source: 'id', target: 'id', type: 'integer', sourceType: 'string' }, { source: 'n', target: 'n', type: 'string', sourceType: 'number' }]);
		expect(aToB.map({ id: '12', n: 3.5 }, 0).record).toEqual({ id: 12, n: '3.5' });
		expect(bToA.map({ id: 12, n: '3.5' }, 0).record).toEqual({ id: '12', n: 3.5 });
	});

	it('reads value maps backwards', () => {
		const { bToA } = mappers([{ source: 'status', target: 'state', transforms: [{ type: 'valueMap', map: { Active: 'A', Inactive: 'I' }, fallback: 'error' }] }]);
		expect(bToA.map({ state: 'I' }, 0).record).toEqual({ status: 'Inactive' });
		expect(bToA.map({ state: 'X' }, 0).errors?.[0]).toEqual(expect.objectContaining({ field: 'state', code: 'valueMap', rule: 'state → status' }));
	});

	it('undoes several value maps in reverse order', () => {
		const { aToB, bToA } = mappers([
			{ source: 's', target: 't', transforms: [{ type: 'valueMap', map: { a: 'b' } }, { type: 'valueMap', map: { b: 'c' } }] },
		]);
		expect(aToB.map({ s: 'a' }, 0).record).toEqual({ t: 'c' });
		expect(bToA.map({ t: 'c' }, 0).record).toEqual({ s: 'a' });
	});

	it('keeps values that a defaulting value map cannot take back', () => {
		const { bToA } = mappers([{ source: 's', target: 't', transforms: [{ type: 'valueMap', map: { a: 'A' }, fallback: 'default', default: 'OTHER' } ] }]);
		expect(bToA.map({ t: 'OTHER' }, 0).record).toEqual({ s: 'OTHER' });
	});

	it('refuses a value map that sends two values to the same one', () => {
		expect(bToAError([{ source: 's', target: 't', transforms: [{ type: 'valueMap', map: { Active: 'A', Enabled: 'A' } }] }])).toContain(
			'Rule 1 (s → t): It cannot be applied from B to A: its value map sends both "Active" and "Enabled" to "A", so "A" cannot be mapped back. Give it an inverse, or set its direction to "A to B only".',
		);
	});

	it('refuses an expression without an inverse, and uses the inverse expression when there is one', () => {
		expect(bToAError([{ source: 'cents', target: 'amount', transforms: [{ type: 'expression', expression: '$json.cents / 100' }] }])).toContain('its expression has no inverse expression');
		const evaluate: ExpressionEvaluator = (expression, { record }) =>
			expression === '$json.cents / 100' ? Number(record.cents) / 100 : Math.round(Number(record.amount) * 100);
		const { aToB, bToA } = mappers([{ source: 'cents', target: 'amount', transforms: [{ type: 'expression', expression: '$json.cents / 100', inverse: '$json.amount * 100' }] }], evaluate);
		expect(aToB.map({ cents: 1250 }, 0).record).toEqual({ amount: 12.5 });
		expect(bToA.map({ amount: 12.5 }, 0).record).toEqual({ cents: 1250 });
	});

	it('refuses a computed rule, which has no field in A to write back to', () => {
		expect(bToAError([{ target: 'origin', transforms: [{ type: 'default', value: 'crm' }] }])).toContain('it has no source field to write the value back to');
	});

	it('refuses two rules that would write the same field of A', () => {
		expect(bToAError([{ source: 'name', target: 'first' }, { source: 'name', target: 'display' }])).toContain(
			'It writes "name", which rule 1 also writes ("name"); from B to A both would write "name": set one of them to "A to B only"',
		);
		const { bToA } = mappers([{ source: 'name', target: 'first' }, { source: 'name', target: 'display', direction: 'aToB' }]);
		expect(bToA.map({ first: 'Ada', display: 'Ada L.' }, 0).record).toEqual({ name: 'Ada' });
	});

	it('swaps date formats and time zones', () => {
		const { aToB, bToA } = mappers([
			{ source: 'at', target: 'at', type: 'datetime', date: { from: 'MM/dd/yyyy HH:mm', fromZone: 'America/New_York', to: 'iso', toZone: 'UTC' } },
			{ source: 'on', target: 'on', type: 'date', date: { from: 'dd.MM.yyyy', to: 'iso' } },
		]);
		expect(aToB.map({ at: '03/11/2026 10:00', on: '11.03.2026' }, 0).record).toEqual({ at: '2026-03-11T14:00:00.000Z', on: '2026-03-11' });
		expect(bToA.map({ at: '2026-03-11T14:00:00.000Z', on: '2026-03-11' }, 0).record).toEqual({ at: '03/11/2026 10:00', on: '11.03.2026' });
	});

	it("swaps boolean words: A's first word is what B to A writes", () => {
		const { aToB, bToA } = mappers([{ source: 'vip', target: 'vip', type: 'boolean', boolean: { true: ['TRUE', 'yes'], false: ['FALSE', 'no'], writeTrue: 'Y', writeFalse: 'N' } }]);
		expect(aToB.map({ vip: 'yes' }, 0).record).toEqual({ vip: 'Y' });
		expect(bToA.map({ vip: 'Y' }, 0).record).toEqual({ vip: 'TRUE' });
		expect(bToA.map({ vip: 'n' }, 0).record).toEqual({ vip: 'FALSE' });
		expect(bToA.map({ vip: 'yes' }, 0).errors?.[0].message).toBe('"yes" is not a yes/no value; expected "Y" or "N"');
		const plain = mappers([{ source: 'vip', target: 'vip', type: 'boolean', boolean: { true: ['TRUE'], false: ['FALSE'] } }]);
		expect(plain.bToA.map({ vip: true }, 0).record).toEqual({ vip: 'TRUE' });
	});

	it('swaps JSON text and value', () => {
		const { bToA } = mappers([{ source: 'meta', target: 'meta', type: 'json' }]);
		expect(bToA.map({ meta: { a: [1, 2] } }, 0).record).toEqual({ meta: '{"a":[1,2]}' });
	});

	it('does not undo trim, case and defaults: B already holds the normalised value', () => {
		const { bToA } = mappers([{ source: 'email', target: 'email', transforms: [{ type: 'trim' }, { type: 'lowercase' }, { type: 'default', value: 'none' }] }]);
		expect(bToA.map({ email: 'ada@example.com' }, 0).record).toEqual({ email: 'ada@example.com' });
	});

	it('applies one-way rules only in their direction', () => {
		const { aToB, bToA } = mappers([
			{ source: 'id', target: 'id' },
			{ source: 'createdBy', target: 'origin', direction: 'aToB' },
			{ source: 'lastEditor', target: 'updatedBy', direction: 'bToA' },
		]);
		expect(aToB.map({ id: 1, createdBy: 'x', lastEditor: 'y' }, 0).record).toEqual({ id: 1, origin: 'x' });
		expect(bToA.map({ id: 1, origin: 'x', updatedBy: 'z' }, 0).record).toEqual({ id: 1, lastEditor: 'z' });
	});
});

/** One invertible rule kind: the rule (without paths) and the values system A holds for it in canonical form. */
interface RuleCase {
	rule: Record<string, unknown>;
	value: fc.Arbitrary<unknown>;
}

const ZONES = ['UTC', 'America/New_York', 'Europe/Berlin', 'Asia/Kolkata', 'Australia/Lord_Howe'];
const DATE_FORMATS = ['iso', 'MM/dd/yyyy', 'dd.MM.yyyy', 'yyyyMMdd', 'd MMMM yyyy'];
const instant = fc.integer({ min: Date.UTC(1950, 0, 1) / 60000, max: Date.UTC(2090, 0, 1) / 60000 }).map((minutes) => minutes * 60000);
const text = fc.string({ unit: 'grapheme', maxLength: 12 });

const ruleCases: Array<fc.Arbitrary<RuleCase>> = [
	fc.constant({ rule: { type: 'keep' }, value: fc.jsonValue({ maxDepth: 2 }) }),
	fc.constant({ rule: { type: 'string', sourceType: 'string' }, value: text }),
	fc.constant({ rule: { type: 'string', transforms: [{ type: 'trim' }] }, value: text.map((value) => value.trim()) }),
	fc.constant({ rule: { type: 'number', sourceType: 'string' }, value: fc.double({ noNaN: true, noDefaultInfinity: true }).map(String) }),
	fc.constant({ rule: { type: 'number' }, value: fc.double({ noNaN: true, noDefaultInfinity: true }) }),
	fc.constantFrom('string', 'number', 'keep').map((sourceType) => ({
		rule: { type: 'integer', sourceType },
		value: fc.maxSafeInteger().map((n) => (sourceType === 'string' ? String(n) : n)),
	})),
	fc
		.record({
			words: fc.constantFrom<[string, string] | null>(['TRUE', 'FALSE'], ['yes', 'no'], ['Ja', 'Nein'], null),
			writes: fc.constantFrom<[unknown, unknown]>([true, false], ['Y', 'N'], [1, 0], ['t', 'f']),
		})
		.map(({ words, writes }) => ({
			rule: { type: 'boolean', boolean: { ...(words ? { true: [words[0]], false: [words[1]] } : {}), writeTrue: writes[0], writeFalse: writes[1] } },
			value: fc.boolean().map((truth) => (words ? words[truth ? 0 : 1] : truth)),
		})),
	fc.record({ from: fc.constantFrom(...DATE_FORMATS), to: fc.constantFrom(...DATE_FORMATS) }).map(({ from, to }) => ({
		rule: { type: 'date', date: { from, to } },
		value: instant.map((millis) => {
			const date = DateTime.fromMillis(millis, { zone: 'UTC' });
			return from === 'iso' ? date.toISODate() : date.toFormat(from);
		}),
	})),
	fc
		.record({
			fromZone: fc.constantFrom(...ZONES),
			toZone: fc.constantFrom(...ZONES),
			to: fc.constantFrom('iso', 'epochMillis', 'yyyy-MM-dd HH:mm ZZ'),
		})
		.map(({ fromZone, toZone, to }) => ({
			rule: { type: 'datetime', date: { from: 'MM/dd/yyyy HH:mm', fromZone, to, toZone } },
			value: instant.map((millis) => DateTime.fromMillis(millis, { zone: fromZone }).toFormat('MM/dd/yyyy HH:mm')),
		})),
	// The text "null" and a missing value both become null in B, so only non-null documents come back as text.
	fc.constant({ rule: { type: 'json' }, value: fc.jsonValue({ maxDepth: 2 }).filter((value) => value !== null).map((value) => JSON.stringify(value)) }),
	fc
		.uniqueArray(fc.tuple(text, text), { minLength: 1, maxLength: 5, selector: ([from]) => from })
		.filter((pairs) => new Set(pairs.map(([, to]) => to)).size === pairs.length && pairs.every(([from, to]) => from !== '' && to !== ''))
		.map((pairs) => ({
			rule: { transforms: [{ type: 'valueMap', map: Object.fromEntries(pairs), fallback: 'error' }] },
			value: fc.constantFrom(...pairs.map(([from]) => from)),
		})),
];

const ruleSetWithRecord = fc.array(fc.tuple(fc.oneof(...ruleCases), fc.boolean(), fc.boolean()), { minLength: 1, maxLength: 8 }).chain((cases) => {
	const rules = cases.map(([ruleCase, nestedSource, nestedTarget], index) => ({
		source: nestedSource ? `group.f${index}` : `f${index}`,
		target: nestedTarget ? `out.items[0].t${index}` : `t${index}`,
		...ruleCase.rule,
	}));
	const values = cases.map(([ruleCase]) => fc.option(ruleCase.value, { nil: undefined, freq: 5 }));
	return fc.tuple(fc.constant(rules), fc.tuple(...values));
});

describe('round trip', () => {
	it('maps A to B and back to A without changing any tracked field, for invertible rules', () => {
		fc.assert(
			fc.property(ruleSetWithRecord, ([rules, values]) => {
				const record: Record<string, unknown> = {};
				rules.forEach((rule, index) => {
					if (values[index] !== undefined) compileSetter(parsePath(rule.source))(record, values[index]);
				});
				const { aToB, bToA } = mappers(rules);
				const there = aToB.map(record as JsonObject, 0);
				expect(there.errors).toBeNull();
				const back = bToA.map(there.record, 0);
				expect(back.errors).toBeNull();
				for (const rule of rules) {
					const read = compileGetter(parsePath(rule.source));
					expect(read(back.record)).toEqual(read(record));
				}
				expect(back.record).toEqual(record);
			}),
			{ numRuns: 300 },
		);
	});
});
