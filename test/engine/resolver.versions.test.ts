import fc from 'fast-check';

import { FieldLists, VersionReader, readField, type FieldList } from '../../nodes/engine/resolver/fields';
import type { JsonObject, JsonValue } from '../../nodes/engine/types';

type Maybe = JsonObject | null | undefined;

/** What the reader must give: each field's own value, looked up by name. */
function byName(record: Maybe, list: FieldList): Array<JsonValue | undefined> {
	return list.names.map((name, i) => readField(record, name, list.guarded[i]));
}

function readerFor(excluded: string[] = [], configured?: string[]) {
	const lists = new FieldLists(new Set(excluded), configured);
	const reader = new VersionReader(lists);
	// The reference: a second FieldLists that only ever answers by name.
	const reference = new FieldLists(new Set(excluded), configured);
	return {
		reader,
		expectRead(x: Maybe, base: Maybe, y: Maybe) {
			const list = reader.read(x, base, y);
			const expected = reference.of(x, base, x || base ? undefined : y);
			expect(list.names).toEqual(expected.names);
			expect(reader.values.x).toEqual(byName(x, expected));
			expect(reader.values.base).toEqual(byName(base, expected));
			expect(reader.values.y).toEqual(byName(y, expected));
			return list;
		},
	};
}

describe('VersionReader', () => {
	it('reads each record of a repeated layout afresh, with the field list made once', () => {
		const { expectRead } = readerFor(['id']);
		const first = expectRead({ a: 1, b: 'x' }, { a: 0, b: 'x' }, { a: 0, b: 'y', id: 'E1' });
		const second = expectRead({ a: 2, b: 'p' }, { a: 1, b: 'q' }, { a: 3, b: 'r', id: 'E2' });
		expect(second).toBe(first);
	});

	it('follows a change of layout: another key order, an extra field, a missing one', () => {
		const { expectRead } = readerFor();
		expectRead({ a: 1, b: 2 }, { a: 1, b: 2 }, { a: 1, b: 2 });
		expectRead({ b: 3, a: 4 }, { a: 1, b: 2 }, { a: 1, b: 2 });
		expectRead({ a: 1, b: 2, c: 3 }, { a: 1, b: 2 }, { b: 5 });
		expectRead({ a: 1 }, { a: 1, b: 2 }, { a: 7, b: 8, c: 9 });
	});

	it('leaves no value of the previous record where Y lacks a field', () => {
		const { reader, expectRead } = readerFor();
		expectRead({ a: 1, b: 2 }, { a: 1, b: 2 }, { a: 10, b: 20 });
		expectRead({ a: 1, b: 2 }, { a: 1, b: 2 }, { a: 11 });
		expectRead({ a: 1, b: 2 }, { a: 1, b: 2 }, { a: 12 });
		expect(reader.values.y).toEqual([12, undefined]);
	});

	it('reads absent versions as holding nothing, and a record new in Y by its own fields', () => {
		const { expectRead } = readerFor();
		expectRead({ a: 1 }, null, undefined);
		expectRead({ a: 2 }, null, { a: 3 });
		expectRead({ a: 2 }, { a: 1 }, { a: 3 });
		expectRead(undefined, { a: 1 }, { a: 3 });
		expectRead(undefined, null, { z: 1, a: 3 });
		expectRead({ a: 4 }, { a: 1 }, null);
	});

	it('reads inherited keys and prototype names as a read by name does', () => {
		const { expectRead } = readerFor();
		const inherited = Object.create({ b: 'inherited' }) as JsonObject;
		inherited.a = 1;
		expectRead({ a: 1, b: 2 }, { a: 1, b: 2 }, { a: 1, b: 2 });
		expectRead({ a: 1, b: 2 }, { a: 1, b: 2 }, inherited);
		expectRead({ a: 1, constructor: 'own' }, { a: 1 }, { a: 1 });
		expectRead({ a: 2, constructor: 'mine' }, { a: 1 }, { a: 1, constructor: 'theirs' });
	});

	it('maps records onto configured fields, ignoring the rest', () => {
		const { expectRead } = readerFor([], ['b', 'a']);
		expectRead({ a: 1, b: 2, c: 3 }, { a: 1, b: 1 }, { c: 1, b: 9 });
		expectRead({ a: 5, b: 6, c: 7 }, { a: 1, b: 1 }, { c: 1, b: 8 });
	});

	it('agrees with reading by name for any sequence of layouts', () => {
		const keys = ['a', 'b', 'c', 'id'];
		const record = fc
			.uniqueArray(fc.constantFrom(...keys), { maxLength: keys.length })
			.chain((names) => fc.tuple(...names.map((name) => fc.tuple(fc.constant(name), fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant(null))))))
			.map((entries) => Object.fromEntries(entries) as JsonObject);
		const maybe = fc.oneof({ weight: 4, arbitrary: record }, { weight: 1, arbitrary: fc.constant(null) });
		fc.assert(
			fc.property(fc.array(fc.tuple(maybe, maybe, maybe), { minLength: 1, maxLength: 12 }), (reads) => {
				const { expectRead } = readerFor(['id']);
				for (const [x, base, y] of reads) expectRead(x, base, y);
			}),
		);
	});
});
