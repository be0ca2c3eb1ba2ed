import { SyncError } from '../errors';
import type { JsonObject, JsonValue } from '../types';
import { MAX_MASKED_FIELDS, namesIn, type FieldList, type FieldValues, type VersionValues } from './fields';
import type { FieldRule, Resolution, ResolverOptions, Side, TieStrategy } from './types';
import { describeTime, sameValue } from './values';

/** One side's version of the record for the merge: what it holds now, when it changed it. */
export interface Version {
	record: JsonObject;
	changedAt?: number | null;
	index: number;
}

export interface MergeInput {
	fields: FieldList;
	/** The three versions' values of `fields`, as VersionReader reads them. */
	values: VersionValues;
	/** X's record has exactly `fields.names` as its own keys, in order: the merged record starts as a clone of it. */
	xHasExactlyTheFields?: boolean;
	/** Absent: that side did not change the record, so it still holds the base. */
	x?: Version;
	y?: Version;
}

export interface MergeOutcome {
	merged: JsonObject;
	resolution: Resolution;
	/** Fields in true conflict that a person must decide (manual review). */
	conflicts: readonly string[];
	/** Fields whose merged value differs from what each side holds: what an op must write there. */
	differs: Record<Side, readonly string[]>;
	/** Whether each side changed any merged field since the last sync. */
	changed: Record<Side, boolean>;
}

interface Decision {
	value: JsonValue | undefined;
	winner: string;
	strategy: string;
	reason: string;
}

const OTHER: Record<Side, Side> = { x: 'y', y: 'x' };
const NO_CONFLICTS: readonly string[] = Object.freeze([]);
type ResolutionEntry = Resolution[string];

/**
 * The fields an op must write on each side, noted while one merge runs (merges run one at a time):
 * bit masks for lists of up to MAX_MASKED_FIELDS fields, named by namesIn, which shares equal
 * subsets; arrays for longer lists.
 */
const differMasks: Record<Side, number> = { x: 0, y: 0 };
const differNames: Record<Side, string[]> = { x: [], y: [] };

function noteDiffer(side: Side, fields: FieldList, i: number): void {
	if (fields.names.length <= MAX_MASKED_FIELDS) differMasks[side] |= 1 << i;
	else differNames[side].push(fields.names[i]);
}

function putField(record: JsonObject, field: string, value: JsonValue, guarded: boolean): void {
	// A plain assignment to "__proto__" would replace the record's prototype instead.
	if (guarded) Object.defineProperty(record, field, { value, enumerable: true, writable: true, configurable: true });
	else record[field] = value;
}

/** Clears the notes at the start of a merge (a merge that threw may have left some). */
function startDiffers(): void {
	differMasks.x = 0;
	differMasks.y = 0;
	// Setting an array's length is a runtime call even when it changes nothing: the lists are only
	// filled past MAX_MASKED_FIELDS fields.
	if (differNames.x.length !== 0) differNames.x.length = 0;
	if (differNames.y.length !== 0) differNames.y.length = 0;
}

function takeDiffers(fields: FieldList): Record<Side, readonly string[]> {
	if (fields.names.length <= MAX_MASKED_FIELDS) return { x: namesIn(fields, differMasks.x), y: namesIn(fields, differMasks.y) };
	// Copied at their exact size: an array grown by push keeps room for 17 entries.
	return { x: differNames.x.slice(), y: differNames.y.slice() };
}

/** What a merge needs beyond the records, prepared once per run. */
export class MergeSettings {
	readonly rules: Map<string, FieldRule> | null;
	/**
	 * The resolution entries most fields get, built once per run and shared by every record that
	 * gets them (they are read, serialised and logged, never changed).
	 */
	readonly onlyChangedIn: Record<Side, ResolutionEntry>;
	readonly sameChange: ResolutionEntry;
	readonly wholeRecord: boolean;

	constructor(readonly options: ResolverOptions) {
		const rules = Object.entries(options.fieldRules);
		this.rules = rules.length > 0 ? new Map(rules) : null;
		const { x, y } = options.systems;
		this.onlyChangedIn = {
			x: { winner: x, strategy: 'merge', reason: `changed in ${x} only` },
			y: { winner: y, strategy: 'merge', reason: `changed in ${y} only` },
		};
		this.sameChange = { winner: 'both', strategy: 'merge', reason: `changed to the same value in ${x} and ${y}` };
		this.wholeRecord = options.strategy === 'lastWriteWins' || options.strategy === 'priority';
	}
}

/** Whether a side changed any of the fields (only needed for whole-record strategies). */
function changesAny(side: Version | undefined, values: FieldValues, base: FieldValues): boolean {
	if (!side) return false;
	for (let i = 0; i < values.length; i++) if (values[i] !== undefined && !sameValue(values[i], base[i])) return true;
	return false;
}

/**
 * The field-level three-way merge, in one pass over the fields. A field changed on one side only
 * takes that change; changed on both to the same value, it is no conflict; changed on both to
 * different values, it is a true conflict, decided by the field's rule or the record's strategy.
 * Ownership always applies. Whole-record strategies (last write wins, system priority) let the
 * winning side's version win every field once both sides changed the record.
 * A side that lacks a field did not change it: it still holds the base value.
 */
export function mergeVersions(input: MergeInput, settings: MergeSettings): MergeOutcome {
	const { fields, x, y } = input;
	const { x: xValues, y: yValues, base: baseValues } = input.values;
	const { options, rules } = settings;
	const names = options.systems;
	let deciders: ConflictDeciders | undefined;
	const wholeRecord =
		settings.wholeRecord && changesAny(x, xValues, baseValues) && changesAny(y, yValues, baseValues)
			? options.strategy === 'priority'
				? (deciders ??= new ConflictDeciders(options, x, y)).priority()
				: (deciders ??= new ConflictDeciders(options, x, y)).lastWriter()
			: undefined;

	// A clone takes the record's shape in one allocation; adding fields one by one grows it many times.
	const template = input.xHasExactlyTheFields ? x?.record : undefined;
	const merged: JsonObject = template ? { ...template } : {};
	const resolution: Resolution = {};
	// Made when the first conflict is found: most merges have none.
	let conflicts: string[] | undefined;
	startDiffers();
	let anyX = false;
	let anyY = false;
	const { names: fieldNames, guarded } = fields;
	for (let i = 0; i < fieldNames.length; i++) {
		const field = fieldNames[i];
		const b = baseValues[i];
		let xv = xValues[i];
		if (xv === undefined) xv = b;
		let yv = yValues[i];
		if (yv === undefined) yv = b;
		if (xv === b && yv === b) {
			// Unchanged on both sides, the common case: nothing to decide, note or report.
			if (b === undefined) {
				if (template) delete merged[field];
			} else if (!template) {
				putField(merged, field, b, guarded[i]);
			}
			continue;
		}
		const xChanged = xv !== b && !sameValue(xv, b);
		const yChanged = yv !== b && !sameValue(yv, b);
		if (xChanged) anyX = true;
		if (yChanged) anyY = true;
		const rule = rules?.get(field);

		let value: JsonValue | undefined;
		// Set by the two common cases, which know without comparing again which side must change:
		// none, when neither side changed the field; the other side, when one side's change wins.
		let needsWrite: Side | 'none' | undefined;
		const changer: Side | undefined = xChanged === yChanged ? undefined : xChanged ? 'x' : 'y';
		if (!rule && !xChanged && !yChanged) {
			value = b;
			needsWrite = 'none';
		} else if (changer && !rule && !(wholeRecord && wholeRecord.side !== changer)) {
			// The common case, kept free of allocations: one side changed the field, and it wins.
			value = changer === 'x' ? xv : yv;
			resolution[field] = settings.onlyChangedIn[changer];
			needsWrite = OTHER[changer];
		} else if (!changer && !rule && sameValue(xv, yv)) {
			value = xv;
			resolution[field] = settings.sameChange;
		} else {
			let decision: Decision;
			if (rule?.kind === 'owner' && (rule.side === 'x' ? xv : yv) !== undefined) {
				decision = ownerDecision(rule.side, field, xv, yv, xChanged, yChanged, names);
			} else if (!xChanged && !yChanged) {
				decision = { value: b, winner: '', strategy: '', reason: '' };
			} else if (changer) {
				if (wholeRecord && !rule && wholeRecord.side !== changer) {
					decision = {
						value: changer === 'x' ? yv : xv,
						winner: names[wholeRecord.side],
						strategy: options.strategy,
						reason: `changed in ${names[changer]} only, but ${names[wholeRecord.side]}'s whole record wins: ${wholeRecord.reason}`,
					};
				} else {
					decision = { value: changer === 'x' ? xv : yv, ...settings.onlyChangedIn[changer] };
				}
			} else if (sameValue(xv, yv)) {
				decision = { value: xv, ...settings.sameChange };
			} else if (rule && rule.kind !== 'owner') {
				decision = (deciders ??= new ConflictDeciders(options, x, y)).byRule(rule, field, xv, yv, b);
			} else if (wholeRecord) {
				decision = {
					value: wholeRecord.side === 'x' ? xv : yv,
					winner: names[wholeRecord.side],
					strategy: options.strategy,
					reason: `changed in both; ${wholeRecord.reason}`,
				};
			} else {
				const tie: TieStrategy = options.strategy === 'manual' ? 'manual' : options.tie;
				decision = (deciders ??= new ConflictDeciders(options, x, y)).byTie(tie, xv, yv);
			}
			value = decision.value;
			if (decision.strategy === 'manual' && decision.winner === 'none') (conflicts ??= []).push(field);
			if (decision.reason !== '') resolution[field] = { winner: decision.winner, strategy: decision.strategy, reason: decision.reason };
		}
		if (value === undefined) {
			if (template) delete merged[field];
			continue;
		}
		if (!template || value !== xv || guarded[i]) putField(merged, field, value, guarded[i]);
		if (needsWrite === undefined) {
			if (value !== yv && !sameValue(value, yv)) noteDiffer('y', fields, i);
			if (value !== xv && !sameValue(value, xv)) noteDiffer('x', fields, i);
		} else if (needsWrite !== 'none') {
			noteDiffer(needsWrite, fields, i);
		}
	}
	return { merged, resolution, conflicts: conflicts ?? NO_CONFLICTS, differs: takeDiffers(fields), changed: { x: anyX, y: anyY } };
}

function ownerDecision(
	owner: Side,
	field: string,
	xv: JsonValue | undefined,
	yv: JsonValue | undefined,
	xChanged: boolean,
	yChanged: boolean,
	names: Record<Side, string>,
): Decision {
	const other = OTHER[owner];
	const ownerValue = owner === 'x' ? xv : yv;
	const otherValue = owner === 'x' ? yv : xv;
	const otherChanged = owner === 'x' ? yChanged : xChanged;
	const ownerChanged = owner === 'x' ? xChanged : yChanged;
	let reason: string;
	if (otherChanged && !sameValue(otherValue, ownerValue)) {
		reason = `${field} is owned by ${names[owner]}; the edit made in ${names[other]} is reverted`;
	} else if (ownerChanged) {
		reason = `changed in ${names[owner]}, which owns ${field}`;
	} else if (!sameValue(otherValue, ownerValue)) {
		reason = `${field} is owned by ${names[owner]}`;
	} else {
		// Nothing happened to an owned field: no decision to report.
		reason = '';
	}
	return { value: ownerValue, winner: names[owner], strategy: 'ownership', reason };
}

/** Decides true conflicts; remembers the record-level last-writer verdict so each pair computes it once. */
class ConflictDeciders {
	private lastWriterVerdict?: { side: Side; reason: string };

	constructor(
		private readonly options: ResolverOptions,
		private readonly x: Version | undefined,
		private readonly y: Version | undefined,
	) {}

	priority(): { side: Side; reason: string } {
		const side = this.options.priority;
		return { side, reason: `${this.options.systems[side]} has priority` };
	}

	lastWriter(): { side: Side; reason: string } {
		if (this.lastWriterVerdict) return this.lastWriterVerdict;
		const names = this.options.systems;
		const xAt = this.x?.changedAt ?? null;
		const yAt = this.y?.changedAt ?? null;
		const fallback = this.priority();
		let verdict: { side: Side; reason: string };
		if (xAt === null || yAt === null) {
			const missing = [xAt === null ? names.x : '', yAt === null ? names.y : ''].filter(Boolean).join(' and ');
			verdict = { side: fallback.side, reason: `no change time from ${missing}, so ${fallback.reason}` };
		} else if (Math.abs(xAt - yAt) <= this.options.clockSkewMs) {
			verdict = {
				side: fallback.side,
				reason: `both changed within ${this.options.clockSkewMs} ms of each other (the clock-skew tolerance), so ${fallback.reason}`,
			};
		} else {
			const side: Side = xAt > yAt ? 'x' : 'y';
			const other = OTHER[side];
			const times: Record<Side, number> = { x: xAt, y: yAt };
			verdict = {
				side,
				reason: `${names[side]}'s change is newer (${describeTime(times[side])} against ${describeTime(times[other])} in ${names[other]})`,
			};
		}
		this.lastWriterVerdict = verdict;
		return verdict;
	}

	byTie(tie: TieStrategy, xv: JsonValue | undefined, yv: JsonValue | undefined): Decision {
		if (tie === 'manual') return this.manual();
		const verdict = tie === 'priority' ? this.priority() : this.lastWriter();
		return {
			value: verdict.side === 'x' ? xv : yv,
			winner: this.options.systems[verdict.side],
			strategy: tie,
			reason: `changed in both to different values; ${verdict.reason}`,
		};
	}

	byRule(rule: Exclude<FieldRule, { kind: 'owner' }>, field: string, xv: JsonValue | undefined, yv: JsonValue | undefined, base: JsonValue | undefined): Decision {
		const names = this.options.systems;
		switch (rule.kind) {
			case 'priority':
				return {
					value: rule.side === 'x' ? xv : yv,
					winner: names[rule.side],
					strategy: 'priority',
					reason: `changed in both to different values; the rule for ${field} prefers ${names[rule.side]}`,
				};
			case 'lastWriteWins':
				return this.byTie('lastWriteWins', xv, yv);
			case 'manual':
				return this.manual();
			case 'custom':
				return this.custom(rule.expression, field, xv, yv, base);
		}
	}

	private manual(): Decision {
		const names = this.options.systems;
		return {
			value: undefined,
			winner: 'none',
			strategy: 'manual',
			reason: `changed in both ${names.x} and ${names.y} to different values; a person decides`,
		};
	}

	private custom(expression: string, field: string, xv: JsonValue | undefined, yv: JsonValue | undefined, base: JsonValue | undefined): Decision {
		const evaluate = this.options.evaluateCustom;
		if (!evaluate || !this.x || !this.y) {
			throw new SyncError(
				'INVALID_INPUT',
				`The custom rule for field "${field}" cannot be evaluated here`,
				'Custom rules are n8n expressions; they run inside the Conflict Resolver node.',
			);
		}
		const value = evaluate({ field, expression, local: yv, remote: xv, base, xIndex: this.x.index, yIndex: this.y.index });
		if (value === undefined) {
			throw new SyncError(
				'INVALID_INPUT',
				`The custom rule for field "${field}" returned no value`,
				`Make the expression return the value ${field} should take, e.g. {{ $remote }} for the incoming value or {{ $local }} to keep the current one.`,
			);
		}
		const names = this.options.systems;
		const winner = sameValue(value, xv) ? names.x : sameValue(value, yv) ? names.y : 'custom';
		return {
			value,
			winner,
			strategy: 'custom',
			reason:
				winner === 'custom'
					? `changed in both to different values; the custom rule computed a new value`
					: `changed in both to different values; the custom rule chose ${winner}'s value`,
		};
	}
}
