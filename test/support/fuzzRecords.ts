import fc from 'fast-check';

/**
 * Hostile records for fuzzing the engine and the nodes: deep nesting, huge strings, every Unicode
 * normal form, keys such as `__proto__`, `constructor` and `_sync`, NaN and Infinity, BigInt-like
 * texts, circular references, null and duplicate keys. Each record is a plain object built with
 * defineProperty, so `__proto__` is an own field (as JSON.parse makes it), never a prototype.
 */

/** The field every pollution attempt tries to plant on Object.prototype. */
export const POLLUTION_MARKER = 'twsPolluted';

const NORMAL_FORMS = ['NFC', 'NFD', 'NFKC', 'NFKD'] as const;
const UNICODE_SAMPLES = ['José', 'Ångström', 'ﬁancé', 'Ｆｕｌｌ', '한국어', '\u{1F469}\u200D\u{1F4BB}', 'e\u0301\u0301', 'a\u0000b', '\uFEFFbom', 'ℌ𝔢𝔩𝔩𝔬'];

export const hostileKeys = [
	'__proto__',
	'constructor',
	'prototype',
	'_sync',
	'toString',
	'hasOwnProperty',
	'valueOf',
	'',
	' ',
	'a.b',
	'a[0]',
	'$json',
	'{{ $json }}',
	'\u0000',
	'José',
	'Jose\u0301',
	'id',
];

/** An own property, whatever its name (a plain assignment to `__proto__` would set the prototype). */
export function define(target: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
	Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
	return target;
}

function objectFrom(entries: Array<[string, unknown]>): Record<string, unknown> {
	const object: Record<string, unknown> = {};
	for (const [key, value] of entries) define(object, key, value);
	return object;
}

/** Payloads that would pollute Object.prototype if a node merged them with a naive deep assign. */
export function pollutionPayloads(): unknown[] {
	return [
		JSON.parse(`{"__proto__": {"${POLLUTION_MARKER}": "via __proto__"}}`),
		{ constructor: { prototype: { [POLLUTION_MARKER]: 'via constructor.prototype' } } },
		JSON.parse(`{"a": {"__proto__": {"${POLLUTION_MARKER}": "nested"}}}`),
	];
}

const unicodeText = fc
	.tuple(fc.constantFrom(...UNICODE_SAMPLES), fc.constantFrom(...NORMAL_FORMS))
	.map(([text, form]) => text.normalize(form));

const oddNumber = fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53 + 1);

const bigintLike = fc.constantFrom('9007199254740993', '123456789012345678901234567890', '-0', '1e400', '0x1F', '12n');

/** Large but bounded, so a run stays quick: up to 200 kB. */
const hugeString = fc.integer({ min: 10_000, max: 200_000 }).map((length) => 'x'.repeat(length));

const scalar = fc.oneof(
	{ weight: 4, arbitrary: fc.string({ maxLength: 12 }) },
	{ weight: 3, arbitrary: unicodeText },
	{ weight: 2, arbitrary: fc.integer() },
	{ weight: 2, arbitrary: oddNumber },
	{ weight: 2, arbitrary: bigintLike },
	{ weight: 1, arbitrary: fc.boolean() },
	{ weight: 1, arbitrary: fc.constant(null) },
	{ weight: 1, arbitrary: hugeString },
);

/** Nested `depth` levels deep: objects and arrays in turn, with a hostile key on the way. */
function nested(depth: number, leaf: unknown): unknown {
	let value = leaf;
	for (let level = 0; level < depth; level++) {
		value = level % 2 === 0 ? [value] : objectFrom([[hostileKeys[level % hostileKeys.length], value]]);
	}
	return value;
}

const deepValue = fc.tuple(fc.integer({ min: 10, max: 400 }), scalar).map(([depth, leaf]) => nested(depth, leaf));

const fieldValue: fc.Arbitrary<unknown> = fc.oneof(
	{ weight: 6, arbitrary: scalar },
	{ weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
	{ weight: 1, arbitrary: deepValue },
	{ weight: 1, arbitrary: fc.constantFrom(...pollutionPayloads()) },
	{ weight: 1, arbitrary: fc.array(scalar, { maxLength: 4 }) },
);

const fieldName = fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...hostileKeys) }, { weight: 3, arbitrary: fc.string({ maxLength: 6 }) }, { weight: 1, arbitrary: unicodeText });

/** Key values: usual ones, duplicates (few distinct values), null, missing, objects, odd numbers. */
export const keyValue: fc.Arbitrary<unknown> = fc.oneof(
	{ weight: 4, arbitrary: fc.integer({ min: 1, max: 4 }) },
	{ weight: 2, arbitrary: fc.constantFrom('a', 'A', 'José', 'Jose\u0301', ' 1', '1 ', '__proto__', 'constructor', 'x; DROP TABLE records; --', "o'hara") },
	{ weight: 1, arbitrary: fc.constant(null) },
	{ weight: 1, arbitrary: fc.constant(undefined) },
	{ weight: 1, arbitrary: oddNumber },
	{ weight: 1, arbitrary: bigintLike },
	{ weight: 1, arbitrary: fc.constantFrom({ nested: 1 }, [1, 2], true, '', '   ', 'x'.repeat(5000)) },
);

const syncOp = fc.constantFrom('create', 'update', 'delete');

/**
 * A `_sync` field as hostile input may carry it: mostly metadata that looks real (so the nodes'
 * main paths run) with hostile keys and fields, sometimes junk or a foreign sync.
 */
export const hostileSync = (syncId: string, system: string): fc.Arbitrary<unknown> =>
	fc.oneof(
		{
			weight: 6,
			arbitrary: fc
				.record({
					key: keyValue,
					op: fc.constantFrom('create', 'update', 'delete', 'none'),
					targetKey: keyValue,
					targetOp: syncOp,
					status: fc.constantFrom(undefined, 'applied', 'failed', 'skipped', '__proto__'),
					changedFields: fc.array(fc.constantFrom(...hostileKeys), { maxLength: 3 }),
				})
				.map(({ key, op, targetKey, targetOp, status, changedFields }) => {
					const meta = objectFrom([
						['syncId', syncId],
						['system', system],
						['key', key],
						['op', op],
						['hash', 'h'],
						['changedFields', changedFields],
						['target', { system: 'erp', key: targetKey, op: targetOp }],
						['resolution', objectFrom([['__proto__', { winner: 'crm', strategy: 'merge', reason: POLLUTION_MARKER }]])],
					]);
					if (status !== undefined) define(meta, 'status', status);
					return meta;
				}),
		},
		{ weight: 1, arbitrary: fc.constantFrom('not metadata', 42, null, [], true) },
		{ weight: 1, arbitrary: fc.constant(JSON.parse(`{"syncId": "${syncId}", "system": "${system}", "__proto__": {"${POLLUTION_MARKER}": "meta"}}`)) },
		{
			weight: 1,
			arbitrary: fc.record({
				syncId: fc.constantFrom('other-sync', ''),
				system: fc.constantFrom(system, 'erp', '__proto__'),
				key: keyValue,
				op: fc.constantFrom('create', '__proto__', 'DROP'),
			}),
		},
	);

export interface HostileRecordOptions {
	/** How often a record holds a circular reference (0 to 1). */
	cycleRate?: number;
	/** Whether `_sync` may be set (as junk or as fake metadata). */
	syncId?: string;
	system?: string;
}

/** One hostile record with an `id` field (possibly null, missing, duplicate or odd). */
export function hostileRecord(options: HostileRecordOptions = {}): fc.Arbitrary<Record<string, unknown>> {
	const { cycleRate = 0, syncId, system = 'crm' } = options;
	return fc
		.tuple(
			keyValue,
			fc.array(fc.tuple(fieldName, fieldValue), { maxLength: 5 }),
			syncId === undefined ? fc.constant(undefined) : fc.option(hostileSync(syncId, system), { nil: undefined, freq: 8 }),
			fc.double({ min: 0, max: 1, noNaN: true }),
		)
		.map(([id, fields, sync, dice]) => {
			const record = objectFrom(fields);
			if (id !== undefined) define(record, 'id', id);
			if (sync !== undefined) define(record, '_sync', sync);
			if (dice < cycleRate) define(record, 'self', record);
			return record;
		});
}

/** A batch of hostile records; small, so that many runs stay quick. */
export function hostileBatch(options: HostileRecordOptions & { maxLength?: number } = {}): fc.Arbitrary<Array<Record<string, unknown>>> {
	return fc.array(hostileRecord(options), { minLength: 1, maxLength: options.maxLength ?? 6 });
}

/** Object.prototype's and Array.prototype's own property names, to compare before and after. */
export function prototypeSnapshot(): string {
	return JSON.stringify([Object.getOwnPropertyNames(Object.prototype).sort(), Object.getOwnPropertyNames(Array.prototype).sort()]);
}

/** Throws when any object now inherits the pollution marker. */
export function assertNoPollution(before: string): void {
	const probe: Record<string, unknown> = {};
	if (POLLUTION_MARKER in probe || POLLUTION_MARKER in []) throw new Error(`Object.prototype was polluted with "${POLLUTION_MARKER}"`);
	const after = prototypeSnapshot();
	if (after !== before) throw new Error(`Object.prototype or Array.prototype changed: ${after}`);
}
