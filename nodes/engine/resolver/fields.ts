import type { JsonObject, JsonValue } from '../types';

/** The fields one merge works on. */
export interface FieldList {
	names: string[];
	/** Per name: a plain read could reach Object.prototype (e.g. "constructor"), so it must check ownership. */
	guarded: boolean[];
	/** The names are exactly the first record's own keys, in order: that record can be cloned as a start. */
	keysOfFirst: boolean;
	/** Subsets already named by `namesIn`, by their bit mask. */
	subsets: Map<number, readonly string[]>;
	/** Each name's index, made when a record layout is first mapped onto the list. */
	indexOf?: Map<string, number>;
}

/** Up to this many fields, a subset of a list is a bit mask (bit i: names[i]), and equal subsets share one array. */
export const MAX_MASKED_FIELDS = 31;
/** Bounds the shared arrays of one list: past it, subsets are named afresh each time. */
const MAX_SHARED_SUBSETS = 4096;

const PROTOTYPE_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype));
const NO_KEYS: string[] = [];

function listOf(names: string[], keysOfFirst = false): FieldList {
	return { names, guarded: names.map((name) => PROTOTYPE_NAMES.has(name)), keysOfFirst, subsets: new Map() };
}

/**
 * The names of the fields whose bits are set in `mask`, in list order. Records of one run change the
 * same few fields again and again, so each combination is one frozen array, shared by every
 * record with it, instead of an array per record.
 */
export function namesIn(list: FieldList, mask: number): readonly string[] {
	const shared = list.subsets.get(mask);
	if (shared) return shared;
	const names: string[] = [];
	for (let i = 0; i < list.names.length && i < MAX_MASKED_FIELDS; i++) if ((mask & (1 << i)) !== 0) names.push(list.names[i]);
	Object.freeze(names);
	if (list.subsets.size < MAX_SHARED_SUBSETS) list.subsets.set(mask, names);
	return names;
}

/** A field's own value; undefined when the record does not have it. */
export function readField(record: JsonObject | null | undefined, name: string, guarded: boolean): JsonValue | undefined {
	if (!record) return undefined;
	if (guarded && !Object.prototype.hasOwnProperty.call(record, name)) return undefined;
	return record[name];
}

function sameKeys(a: string[], b: string[]): boolean {
	if (a.length !== b.length) return false;
	for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
	return true;
}

/**
 * Whether the record's keys are exactly `keys`, in order, found without allocating: for-in walks
 * the record's cached key list. For-in also walks inherited enumerable keys, after the own ones;
 * records parsed from JSON or built as literals inherit none.
 */
function hasExactlyKeys(record: JsonObject | null | undefined, keys: string[]): boolean {
	if (!record) return keys === NO_KEYS;
	let i = 0;
	for (const key in record) {
		if (key !== keys[i]) return false;
		i++;
	}
	return i === keys.length && keys !== NO_KEYS;
}

/**
 * Works out which fields to merge: the configured ones, or the union of the given records' own
 * fields less the excluded ones. Records of one sync nearly always share their shape, so the last
 * answer is kept and reused while the records' keys stay the same (no per-record set building).
 */
export class FieldLists {
	private readonly configured?: FieldList;
	private lastKeys: [string[], string[], string[]] = [NO_KEYS, NO_KEYS, NO_KEYS];
	private last?: FieldList;

	constructor(
		private readonly excluded: Set<string>,
		configured?: string[],
	) {
		if (configured) this.configured = listOf(configured.filter((name) => !excluded.has(name)));
	}

	of(first?: JsonObject | null, second?: JsonObject | null, third?: JsonObject | null): FieldList {
		if (this.configured) return this.configured;
		const [lastFirst, lastSecond, lastThird] = this.lastKeys;
		if (this.last && hasExactlyKeys(first, lastFirst) && hasExactlyKeys(second, lastSecond) && hasExactlyKeys(third, lastThird)) {
			return this.last;
		}
		const keys: [string[], string[], string[]] = [
			first ? Object.keys(first) : NO_KEYS,
			second ? Object.keys(second) : NO_KEYS,
			third ? Object.keys(third) : NO_KEYS,
		];
		const seen = new Set<string>();
		const names: string[] = [];
		for (const list of keys) {
			for (const name of list) {
				if (seen.has(name) || this.excluded.has(name)) continue;
				seen.add(name);
				names.push(name);
			}
		}
		this.lastKeys = keys;
		this.last = listOf(names, first !== null && first !== undefined && sameKeys(names, keys[0]));
		return this.last;
	}
}

/** The values of a field list's fields in one version of a record, by the list's index; undefined where it has none. */
export type FieldValues = Array<JsonValue | undefined>;

/** The three versions a merge compares, each read into its own FieldValues. */
export interface VersionValues {
	x: FieldValues;
	base: FieldValues;
	y: FieldValues;
}

/** Where each key of one record layout goes in a field list. */
interface Shape {
	/** The record's own keys, in order. */
	keys: string[];
	/** Per key: the field's index in the list, or -1 when the field is not merged. */
	slots: Int32Array;
	/** Every field of the list is among the keys, so a read sets every value. */
	complete: boolean;
}

function shapeOf(list: FieldList, keys: string[]): Shape {
	list.indexOf ??= new Map(list.names.map((name, i) => [name, i]));
	const slots = new Int32Array(keys.length);
	let covered = 0;
	for (let i = 0; i < keys.length; i++) {
		slots[i] = list.indexOf.get(keys[i]) ?? -1;
		if (slots[i] >= 0) covered++;
	}
	// Own keys are distinct, so as many keys in the list as names means all of them.
	return { keys, slots, complete: covered === list.names.length };
}

/** Makes `out` exactly `length` long, without holes (a holey array reads slower). */
function sizeTo(out: FieldValues, length: number): void {
	if (out.length === length) return;
	out.length = 0;
	for (let i = 0; i < length; i++) out.push(undefined);
}

/**
 * Reads the record's values into `out` by walking its keys with for-in, which takes each value from
 * the record's layout instead of looking its name up. False, with `out` part-written, when the
 * record's keys are not the shape's. For-in also walks inherited enumerable keys (see
 * hasExactlyKeys); their values are read as a read by name reads them. A null shape stands for an
 * absent record.
 */
function readByShape(record: JsonObject | null | undefined, shape: Shape | null, out: FieldValues): boolean {
	if (shape === null || !record) {
		if (shape !== null || record) return false;
		out.fill(undefined);
		return true;
	}
	if (!shape.complete) out.fill(undefined);
	const { keys, slots } = shape;
	let i = 0;
	for (const key in record) {
		if (i === keys.length || key !== keys[i]) return false;
		const slot = slots[i++];
		if (slot >= 0) out[slot] = record[key];
	}
	return i === keys.length;
}

/** Reads by field name, for a record of a layout other than the remembered one. */
function readByName(record: JsonObject | null | undefined, list: FieldList, out: FieldValues): void {
	const { names, guarded } = list;
	for (let i = 0; i < names.length; i++) out[i] = readField(record, names[i], guarded[i]);
}

/**
 * Reads the three versions of a record for the merge. Records of one sync share their layout, so
 * the layouts of X's record, the base and Y's record are remembered with where their keys go in the
 * field list. A record of the same layout is then read in one walk of its keys, and X's and the
 * base's walks also prove that the field list made from their keys still holds.
 */
export class VersionReader {
	/** Scratch arrays, overwritten by every read: a merge copies what it keeps. */
	readonly values: VersionValues = { x: [], base: [], y: [] };
	private made?: { list: FieldList; x: Shape | null; base: Shape | null };
	private y?: { list: FieldList; shape: Shape | null };

	constructor(private readonly fieldLists: FieldLists) {}

	/** The fields to merge, as FieldLists.of(x, base, y-when-neither) gives them, with all three versions read. */
	read(x: JsonObject | null | undefined, base: JsonObject | null | undefined, y: JsonObject | null | undefined): FieldList {
		const { values, made } = this;
		let list: FieldList;
		if (!x && !base) {
			// Fields from Y's record alone: a record new in Y, rare enough to read by name.
			list = this.fieldLists.of(undefined, undefined, y);
			this.made = undefined;
			this.sizeAll(list);
			readByName(x, list, values.x);
			readByName(base, list, values.base);
		} else {
			if (made) this.sizeAll(made.list);
			if (made && readByShape(x, made.x, values.x) && readByShape(base, made.base, values.base)) {
				list = made.list;
			} else {
				list = this.fieldLists.of(x, base);
				this.made = { list, x: x ? shapeOf(list, Object.keys(x)) : null, base: base ? shapeOf(list, Object.keys(base)) : null };
				this.sizeAll(list);
				readByName(x, list, values.x);
				readByName(base, list, values.base);
			}
		}
		if (this.y?.list === list && readByShape(y, this.y.shape, values.y)) return list;
		this.y = { list, shape: y ? shapeOf(list, Object.keys(y)) : null };
		readByName(y, list, values.y);
		return list;
	}

	private sizeAll(list: FieldList): void {
		const length = list.names.length;
		sizeTo(this.values.x, length);
		sizeTo(this.values.base, length);
		sizeTo(this.values.y, length);
	}
}
