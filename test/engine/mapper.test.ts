import { SyncError } from '../../nodes/engine/errors';
import {
	compileGetter,
	compileSetter,
	createMapper,
	exportRuleSet,
	parsePath,
	parseRuleSet,
	PathError,
	pathText,
	type ExpressionEvaluator,
	type MapDirection,
	type Mapper,
} from '../../nodes/engine/mapper';
import type { JsonObject } from '../../nodes/engine/types';

function mapperFor(rules: unknown[], options: { direction?: MapDirection; passThroughUnmapped?: boolean; evaluate?: ExpressionEvaluator } = {}): Mapper {
	const { ruleSet, problems } = parseRuleSet({ version: 1, rules });
	expect(problems).toEqual([]);
	return createMapper(ruleSet, { direction: options.direction ?? 'aToB', ...options });
}

/** Maps one field through one rule and returns what the target got (or the errors). */
function mapOne(rule: Record<string, unknown>, value: unknown): unknown {
	const result = mapperFor([{ source: 'in', target: 'out', ...rule }]).map({ in: value } as JsonObject, 0);
	return result.errors ?? result.record.out;
}

function errorOf(rule: Record<string, unknown>, value: unknown): { code: string; message: string } {
	const result = mapperFor([{ source: 'in', target: 'out', ...rule }]).map({ in: value } as JsonObject, 0);
	expect(result.errors).toHaveLength(1);
	return result.errors![0];
}

describe('field paths', () => {
	it('reads nested objects and array entries', () => {
		expect(parsePath('address.city')).toEqual(['address', 'city']);
		expect(parsePath('phones[0].number')).toEqual(['phones', 0, 'number']);
		expect(parsePath('["First.Name"]')).toEqual(['First.Name']);
		expect(parsePath("meta['a b'][2]")).toEqual(['meta', 'a b', 2]);
		expect(parsePath('  Customer ID  ')).toEqual(['Customer ID']);
	});

	it('writes paths back as text that lodash reads the same way (Commit uses lodash)', () => {
		expect(pathText(['phones', 0, 'number'])).toBe('phones[0].number');
		expect(pathText(['First.Name', 'x'])).toBe('["First.Name"].x');
	});

	it.each([
		['__proto__.polluted', '__proto__'],
		['constructor.prototype.polluted', 'constructor'],
		['a.prototype', 'prototype'],
		['["__proto__"]', '__proto__'],
		["items[0]['constructor']", 'constructor'],
	])('refuses the hostile path %s', (path, name) => {
		expect(() => parsePath(path)).toThrow(PathError);
		expect(() => parsePath(path)).toThrow(`reserved name "${name}"`);
	});

	it.each(['', 'a..b', '.a', 'a.', 'a[x]', 'a[0', 'a]', 'a["b]', 'a[0]b'])('refuses the malformed path %j', (path) => {
		expect(() => parsePath(path)).toThrow(PathError);
	});

	it('never reaches the prototype when a rule set carries a hostile path', () => {
		const { problems } = parseRuleSet({ rules: [{ source: 'a', target: '__proto__.polluted' }, { source: 'constructor.prototype.x', target: 'b' }] });
		expect(problems.map((problem) => problem.ruleNumber)).toEqual([1, 2]);
		expect(problems[0].message).toContain('The target path "__proto__.polluted" uses the reserved name');
		expect(({} as Record<string, unknown>).polluted).toBeUndefined();
	});

	it('reads inherited names such as toString only when the record really has them', () => {
		expect(compileGetter(['toString'])({})).toBeUndefined();
		expect(compileGetter(['toString'])({ toString: 'own' })).toBe('own');
		expect(compileGetter(['list', 'length'])({ list: 'abc' })).toBeUndefined();
		expect(compileGetter(['a', 'b', 'c'])({ a: { b: null } })).toBeUndefined();
		expect(compileGetter(['a', 0])({ a: { 0: 'not an array' } })).toBeUndefined();
	});

	it('creates the objects and arrays on the way when writing', () => {
		const target: Record<string, unknown> = {};
		compileSetter(['phones', 1, 'number'])(target, '555');
		compileSetter(['address', 'city'])(target, 'Berlin');
		compileSetter(['address', 'zip'])(target, '10115');
		expect(target).toEqual({ phones: [undefined, { number: '555' }], address: { city: 'Berlin', zip: '10115' } });
	});
});

describe('types', () => {
	it('keeps values as they are by default, copying objects so output and input never share them', () => {
		const address = { city: 'Berlin' };
		const result = mapperFor([{ source: 'address', target: 'addr' }]).map({ address }, 0);
		expect(result.record).toEqual({ addr: { city: 'Berlin' } });
		expect(result.record.addr).not.toBe(address);
	});

	it('String: turns numbers and booleans into text and refuses objects', () => {
		expect(mapOne({ type: 'string' }, 42)).toBe('42');
		expect(mapOne({ type: 'string' }, false)).toBe('false');
		expect(mapOne({ type: 'string' }, '')).toBe('');
		expect(errorOf({ type: 'string' }, { a: 1 })).toEqual(expect.objectContaining({ code: 'type', message: expect.stringContaining('use the type JSON') }));
	});

	it('Number: reads numbers written as text and refuses anything else', () => {
		expect(mapOne({ type: 'number' }, ' 12.50 ')).toBe(12.5);
		expect(mapOne({ type: 'number' }, '-1e3')).toBe(-1000);
		expect(mapOne({ type: 'number' }, 7)).toBe(7);
		expect(mapOne({ type: 'number' }, '')).toBeNull();
		expect(errorOf({ type: 'number' }, '12abc').message).toBe('"12abc" is not a number');
		expect(errorOf({ type: 'number' }, true).code).toBe('type');
	});

	it('Integer: refuses fractions and numbers too large to be exact, rather than rounding', () => {
		expect(mapOne({ type: 'integer' }, '0042')).toBe(42);
		expect(mapOne({ type: 'integer' }, 3.0)).toBe(3);
		expect(errorOf({ type: 'integer' }, '1.5').message).toBe('"1.5" is not a whole number');
		expect(errorOf({ type: 'integer' }, '90071992547409930').message).toContain('too large to be exact');
	});

	it('Boolean: reads the common words by default, case and spaces aside', () => {
		expect(mapOne({ type: 'boolean' }, ' Yes ')).toBe(true);
		expect(mapOne({ type: 'boolean' }, 0)).toBe(false);
		expect(mapOne({ type: 'boolean' }, 'OFF')).toBe(false);
		expect(mapOne({ type: 'boolean' }, true)).toBe(true);
		expect(errorOf({ type: 'boolean' }, 'maybe').message).toContain('"maybe" is not a yes/no value');
	});

	it('Boolean: uses the configured words on both sides', () => {
		const rule = { type: 'boolean', boolean: { true: 'TRUE, Ja', false: ['FALSE', 'Nein'], writeTrue: 'Y', writeFalse: 'N' } };
		expect(mapOne(rule, 'ja')).toBe('Y');
		expect(mapOne(rule, 'FALSE')).toBe('N');
		expect(errorOf(rule, 'yes').message).toBe('"yes" is not a yes/no value; expected "TRUE", "Ja" or "FALSE", "Nein"');
	});

	it('Boolean: refuses a word that means both true and false', () => {
		const { problems } = parseRuleSet({ rules: [{ source: 'a', target: 'b', type: 'boolean', boolean: { true: ['x'], false: ['X'] } }] });
		expect(problems[0].message).toBe('"X" is both a true word and a false word');
	});

	it('Date: converts between formats, and ISO by default', () => {
		expect(mapOne({ type: 'date', date: { from: 'MM/dd/yyyy' } }, '03/11/2026')).toBe('2026-03-11');
		expect(mapOne({ type: 'date', date: { to: 'dd.MM.yyyy' } }, '2026-03-11')).toBe('11.03.2026');
		expect(mapOne({ type: 'date', date: { from: 'dd MMMM yyyy', locale: 'de-DE' } }, '11 März 2026')).toBe('2026-03-11');
		expect(mapOne({ type: 'date', date: { from: 'epochMillis' } }, 1773187200000)).toBe('2026-03-11');
		expect(errorOf({ type: 'date', date: { from: 'MM/dd/yyyy' } }, '2026-03-11').message).toContain('is not a date in the format "MM/dd/yyyy"');
		expect(errorOf({ type: 'date' }, '31.02.2026').code).toBe('type');
	});

	it('Date and time: converts formats and time zones', () => {
		const rule = { type: 'datetime', date: { from: 'MM/dd/yyyy HH:mm', fromZone: 'America/New_York', to: 'iso', toZone: 'UTC' } };
		expect(mapOne(rule, '03/11/2026 10:00')).toBe('2026-03-11T14:00:00.000Z');
		// A value that carries its own offset keeps its moment, whatever the source zone.
		expect(mapOne({ type: 'datetime', date: { fromZone: 'Asia/Tokyo', toZone: 'Europe/Berlin', to: 'yyyy-MM-dd HH:mm' } }, '2026-07-01T12:00:00Z')).toBe('2026-07-01 14:00');
		expect(mapOne({ type: 'datetime', date: { to: 'epochSeconds' } }, '2026-03-11T14:00:00.999Z')).toBe(1773237600);
		expect(mapOne({ type: 'datetime' }, new Date('2026-03-11T14:00:00Z'))).toBe('2026-03-11T14:00:00.000Z');
	});

	it('Date: reads the format names in any case, and refuses a format that cannot read back what it writes', () => {
		expect(mapOne({ type: 'date', date: { from: 'ISO', to: 'EpochMillis' } }, '2026-03-11')).toBe(1773187200000);
		const unreadable = parseRuleSet({ rules: [{ source: 'a', target: 'b', type: 'date', date: { to: 'MMMM' } }] });
		expect(unreadable.problems[0].message).toBe('"date.to" is "MMMM", which cannot read back the dates it writes (such as "November"); use luxon tokens such as yyyy-MM-dd HH:mm, or iso');
		// Written only from A to B, the target format never has to be read.
		expect(parseRuleSet({ rules: [{ source: 'a', target: 'b', type: 'date', direction: 'aToB', date: { to: 'MMMM' } }] }).problems).toEqual([]);
		expect(parseRuleSet({ rules: [{ source: 'a', target: 'b', type: 'date', date: { locale: 'en_US' } }] }).problems[0].message).toContain('"en_US", which is not a locale');
	});

	it('Date: refuses an unknown time zone when the rules are read', () => {
		const { problems } = parseRuleSet({ rules: [{ source: 'a', target: 'b', type: 'datetime', date: { fromZone: 'Mars/Olympus' } }] });
		expect(problems[0].message).toContain('"Mars/Olympus", which is not a time zone');
	});

	it('JSON: parses text into a value, or writes a value as text', () => {
		expect(mapOne({ type: 'json' }, '{"a":[1,2]}')).toEqual({ a: [1, 2] });
		expect(mapOne({ type: 'json', json: { from: 'value', to: 'text' } }, { a: 1 })).toBe('{"a":1}');
		expect(mapOne({ type: 'json', json: { from: 'value', to: 'value' } }, 'plain text')).toBe('plain text');
		expect(errorOf({ type: 'json' }, '{not json').message).toContain('is not valid JSON');
	});

	it('passes empty values through every type: missing stays missing and null stays null', () => {
		for (const type of ['string', 'number', 'integer', 'boolean', 'date', 'datetime', 'json']) {
			expect(mapperFor([{ source: 'in', target: 'out', type }]).map({}, 0)).toEqual({ record: {}, errors: null });
			expect(mapOne({ type }, null)).toBeNull();
		}
	});
});

describe('transforms', () => {
	it('apply in the order given, before the type', () => {
		expect(mapOne({ transforms: [{ type: 'trim' }, { type: 'uppercase' }] }, '  ada ')).toBe('ADA');
		expect(mapOne({ transforms: [{ type: 'lowercase' }] }, 'Ada@Example.COM')).toBe('ada@example.com');
		expect(mapOne({ type: 'integer', transforms: [{ type: 'trim' }, { type: 'default', value: '0' }] }, '   ')).toBe(0);
	});

	it('leave values that are not text alone when changing case or trimming', () => {
		expect(mapOne({ transforms: [{ type: 'trim' }, { type: 'uppercase' }] }, 5)).toBe(5);
	});

	it('Default When Empty fills missing, null and empty values only', () => {
		const rule = { transforms: [{ type: 'default', value: 'n/a' }] };
		expect(mapperFor([{ source: 'in', target: 'out', ...rule }]).map({}, 0).record).toEqual({ out: 'n/a' });
		expect(mapOne(rule, null)).toBe('n/a');
		expect(mapOne(rule, '')).toBe('n/a');
		expect(mapOne(rule, 0)).toBe(0);
		expect(mapOne(rule, false)).toBe(false);
	});

	it('Value Map translates values, and keeps, defaults or refuses the ones it does not know', () => {
		const map = { Active: 'A', Inactive: 'I', '1': 'one' };
		expect(mapOne({ transforms: [{ type: 'valueMap', map }] }, 'Active')).toBe('A');
		expect(mapOne({ transforms: [{ type: 'valueMap', map }] }, 1)).toBe('one');
		expect(mapOne({ transforms: [{ type: 'valueMap', map }] }, 'Gone')).toBe('Gone');
		expect(mapOne({ transforms: [{ type: 'valueMap', map, fallback: 'default', default: '?' }] }, 'Gone')).toBe('?');
		const error = errorOf({ transforms: [{ type: 'valueMap', map, fallback: 'error' }] }, 'Gone');
		expect(error).toEqual({ field: 'in', value: 'Gone', rule: 'in → out', code: 'valueMap', message: '"Gone" is not in the value map ("1", "Active", "Inactive")' });
	});

	it('Value Map treats "__proto__" as an ordinary source value', () => {
		// Found by fast-check: a plain object swallowed the entry as its prototype.
		expect(mapOne({ transforms: [{ type: 'valueMap', map: '{"__proto__": "P", "x": "X"}', fallback: 'error' }] }, '__proto__')).toBe('P');
		expect(({} as Record<string, unknown>).P).toBeUndefined();
	});

	it('Value Map accepts its table as JSON text, as the editor gives it', () => {
		expect(mapOne({ transforms: [{ type: 'valueMap', map: '{"Active": "A"}' }] }, 'Active')).toBe('A');
		const { problems } = parseRuleSet({ rules: [{ source: 'a', target: 'b', transforms: [{ type: 'valueMap', map: '{"Active": }' }] }] });
		expect(problems[0].message).toContain('"valueMap.map" is not valid JSON');
	});

	it('an expression replaces the value with what the evaluator returns for that item', () => {
		const seen: unknown[] = [];
		const evaluate: ExpressionEvaluator = (expression, context) => {
			seen.push({ expression, itemIndex: context.itemIndex, value: context.value });
			return `${String(context.record.first)} ${String(context.record.last)}`;
		};
		const mapper = mapperFor([{ target: 'fullName', transforms: [{ type: 'expression', expression: "$json.first + ' ' + $json.last" }, { type: 'uppercase' }] }], { evaluate });
		expect(mapper.map({ first: 'Ada', last: 'Lovelace' }, 3).record).toEqual({ fullName: 'ADA LOVELACE' });
		expect(seen).toEqual([{ expression: "$json.first + ' ' + $json.last", itemIndex: 3, value: undefined }]);
	});

	it('an expression that fails marks the item invalid with the reason', () => {
		const mapper = mapperFor([{ source: 'a', target: 'b', transforms: [{ type: 'expression', expression: '$json.x.y' }] }], {
			evaluate: () => {
				throw new Error("Cannot read properties of undefined (reading 'y')");
			},
		});
		expect(mapper.map({ a: 1 }, 0).errors).toEqual([
			{ field: 'a', value: 1, rule: 'a → b', code: 'expression', message: "The expression $json.x.y failed: Cannot read properties of undefined (reading 'y')" },
		]);
	});
});

describe('mapping records', () => {
	it('drops unmapped fields by default, and passes them through on request (never _sync)', () => {
		const record = { Customer_ID: 'c1', name: 'Ada', extra: { x: 1 }, _sync: { syncId: 's' } } as unknown as JsonObject;
		const rules = [{ source: 'Customer_ID', target: 'ClientID' }];
		expect(mapperFor(rules).map(record, 0).record).toEqual({ ClientID: 'c1' });
		const passing = mapperFor(rules, { passThroughUnmapped: true });
		expect(passing.map(record, 0).record).toEqual({ ClientID: 'c1', name: 'Ada', extra: { x: 1 } });
		expect(passing.readFields(record)).toEqual(['Customer_ID', 'name', 'extra']);
	});

	it('does not pass through a field that a rule reads from in part, or writes to', () => {
		const mapper = mapperFor([{ source: 'address.city', target: 'city' }, { source: 'a', target: 'name' }], { passThroughUnmapped: true });
		expect(mapper.map({ address: { city: 'Berlin', zip: '1' }, a: 'x', name: 'old', other: 1 }, 0).record).toEqual({ city: 'Berlin', name: 'x', other: 1 });
	});

	it('writes nested targets and reads nested sources', () => {
		const mapper = mapperFor([
			{ source: 'phones[0].number', target: 'contact.phone' },
			{ source: 'address.city', target: 'contact.city' },
			{ source: 'tags', target: 'labels[0]' },
		]);
		expect(mapper.map({ phones: [{ number: '555' }], address: { city: 'Berlin' }, tags: 'vip' }, 0).record).toEqual({
			contact: { phone: '555', city: 'Berlin' },
			labels: ['vip'],
		});
	});

	it('leaves out a target whose source is missing, rather than writing null', () => {
		const mapper = mapperFor([{ source: 'a', target: 'x' }, { source: 'b', target: 'y' }]);
		const result = mapper.map({ b: 2 }, 0);
		expect(result.record).toEqual({ y: 2 });
		expect(Object.keys(result.record)).toEqual(['y']);
	});

	it('marks an item invalid when a required value is missing or empty, naming the field', () => {
		const mapper = mapperFor([{ source: 'email', target: 'mail', required: true }, { source: 'name', target: 'n', required: true }]);
		expect(mapper.map({ name: '' }, 0).errors).toEqual([
			{ field: 'email', value: null, rule: 'email → mail', code: 'required', message: '"email" is required but missing' },
			{ field: 'name', value: '', rule: 'name → n', code: 'required', message: '"name" is required but empty' },
		]);
		expect(mapper.map({}, 0, { skipRequired: true })).toEqual({ record: {}, errors: null });
	});

	it('maps only the fields a partial update holds: no defaults, no computed values, no required checks for the rest', () => {
		const evaluate: ExpressionEvaluator = () => 'computed';
		const mapper = mapperFor(
			[
				{ source: 'email', target: 'mail', required: true },
				{ source: 'status', target: 'state', transforms: [{ type: 'default', value: 'new' }] },
				{ source: 'phone', target: 'tel', type: 'string', transforms: [{ type: 'trim' }] },
				{ target: 'label', direction: 'aToB', transforms: [{ type: 'expression', expression: '$json.email' }] },
			],
			{ evaluate },
		);

		expect(mapper.map({ phone: ' 555 ' }, 0, { partial: true })).toEqual({ record: { tel: '555' }, errors: null });
		// A field the update does hold is still checked.
		expect(mapper.map({ email: '' }, 0, { partial: true }).errors?.map((error) => error.code)).toEqual(['required']);
		// Without the option the same record gets the default and the computed value.
		expect(mapper.map({ email: 'a@b.c', phone: '1' }, 0).record).toEqual({ mail: 'a@b.c', state: 'new', tel: '1', label: 'computed' });
	});

	it('reports every failing field of an item at once', () => {
		const mapper = mapperFor([
			{ source: 'id', target: 'id', type: 'integer' },
			{ source: 'vip', target: 'vip', type: 'boolean' },
			{ source: 'name', target: 'name' },
		]);
		const result = mapper.map({ id: 'x', vip: 'perhaps', name: 'Ada' }, 0);
		expect(result.errors?.map((error) => [error.field, error.code])).toEqual([
			['id', 'type'],
			['vip', 'type'],
		]);
	});

	it('lists the source fields the rules read, for Commit to keep as the base', () => {
		const mapper = mapperFor([{ source: 'address.city', target: 'city' }, { source: 'phones[0].number', target: 'phone' }, { target: 'origin', transforms: [{ type: 'default', value: 'crm' }] }]);
		expect(mapper.sourceFields).toEqual(['address.city', 'phones[0].number']);
		expect(mapper.map({}, 0).record).toEqual({ origin: 'crm' });
	});

	it('refuses two rules that write the same target, or one inside the other', () => {
		const { ruleSet } = parseRuleSet({ rules: [{ source: 'a', target: 'x' }, { source: 'b', target: 'x' }, { source: 'c', target: 'y' }, { source: 'd', target: 'y.z' }] });
		expect(() => createMapper(ruleSet, { direction: 'aToB' })).toThrow(SyncError);
		expect(() => createMapper(ruleSet, { direction: 'aToB' })).toThrow(
			'The mapping rules have 2 problems: Rule 2 (b → x): It writes "x", which rule 1 also writes ("x"); give each rule its own target field | Rule 4 (d → y.z): It writes "y.z", which rule 3 also writes ("y")',
		);
	});
});

describe('rule set documents', () => {
	it('reads a document given as JSON text or as an object, and reports each broken rule by number', () => {
		const { ruleSet, problems } = parseRuleSet(
			JSON.stringify({
				version: 1,
				rules: [
					{ source: 'a', target: 'b' },
					{ source: 'a', target: '', type: 'string' },
					{ source: 'a', target: 'c', type: 'text' },
					{ sorce: 'a', target: 'd' },
					{ target: 'e' },
					{ source: 'a', target: 'f', transforms: [{ type: 'expression' }] },
				],
			}),
		);
		expect(ruleSet.rules.map((rule) => rule.number)).toEqual([1]);
		expect(problems.map((problem) => [problem.ruleNumber, problem.message])).toEqual([
			[2, 'The rule has no target field'],
			[3, '"type" is "text"; use one of: keep, string, number, integer, boolean, date, datetime, json'],
			[4, 'Unknown field "sorce"; a rule has: source, target, type, sourceType, required, direction, transforms, boolean, date, json'],
			[5, 'The rule has no source field (only a rule with a default or an expression can do without one)'],
			[6, 'Transform 1 (expression) has no "expression"'],
		]);
	});

	it('explains a document that is not a rule set at all', () => {
		expect(parseRuleSet('{oops').problems[0].message).toContain('"Rules (JSON)" is not valid JSON');
		expect(parseRuleSet({ rule: [] }).problems[0].message).toContain('must be an object with a "rules" list');
		expect(parseRuleSet({ version: 2, rules: [{ source: 'a', target: 'b' }] }).problems[0].message).toBe('The rule set has version 2; this node reads version 1');
		expect(parseRuleSet({ rules: [] }).problems[0].message).toBe('The rule set has no rules');
	});

	it('exports a document that reads back into the same rules, leaving defaults out', () => {
		const document = {
			version: 1,
			systemA: 'crm',
			systemB: 'erp',
			rules: [
				{ source: 'Customer_ID', target: 'ClientID', type: 'integer', sourceType: 'string', required: true },
				{ source: 'Vip', target: 'vip', type: 'boolean', boolean: { true: ['TRUE'], false: ['FALSE'], writeTrue: 'Y', writeFalse: 'N' } },
				{ source: 'Joined', target: 'joined', type: 'date', date: { from: 'MM/dd/yyyy' } },
				{ source: 'Meta', target: 'meta', type: 'json', json: { from: 'value', to: 'text' } },
				{ target: 'fullName', type: 'keep', direction: 'aToB', transforms: [{ type: 'expression', expression: "$json.first + ' ' + $json.last" }] },
				{ source: 'Status', target: 'status', type: 'keep', transforms: [{ type: 'trim' }, { type: 'valueMap', map: { Active: 'A' }, fallback: 'default', default: 'X' }] },
			],
		};
		const { ruleSet, problems } = parseRuleSet(document);
		expect(problems).toEqual([]);
		const exported = exportRuleSet(ruleSet);
		expect(exported).toEqual(document);
		expect(parseRuleSet(exported).ruleSet).toEqual(ruleSet);
	});
});
