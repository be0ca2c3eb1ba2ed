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
		const keys: [string[], string[], string[]] = [
			first ? Object.keys(first) : NO_KEYS,
			second ? Object.keys(second) : NO_KEYS,
			third ? Object.keys(third) : NO_KEYS,
		];
		if (this.last && sameKeys(keys[0], this.lastKeys[0]) && sameKeys(keys[1], this.lastKeys[1]) && sameKeys(keys[2], this.lastKeys[2])) {
			return this.last;
		}
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
