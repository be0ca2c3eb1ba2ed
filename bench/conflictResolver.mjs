// Conflict Resolver engine speed against the floor of one pass that compares the fields.
//
// Workload per size N: N linked entities with 20 fields. X's change and Y's change of each entity
// arrive together (N paired changes); each side edited 2 fields, and in 10% of the pairs both
// edited the same field to different values (a true conflict, settled by system priority).
//   floor:  one pass over the already paired records, comparing each of the 20 fields of X's
//           version with Y's (===): the least any resolver must do;
//   floor with base: the same pass comparing X and Y each with the base, as a three-way merge
//           must; shown beside the floor to read the engine's time by, not as the target's floor;
//   engine: resolveChanges (pairing through the store's links by hash map, the three-way merge
//           against the base, and the ops with their metadata and resolution).
// Each side's entity states are separate objects, as the node's two store look-ups return them.
// Timing: the jobs in turns, each round after a full GC; medians of the rounds.
// Run after `npm run build`: node_modules/.bin/node bench/conflictResolver.mjs [--sizes 25000,50000,100000] [--rounds 9]
// Writes bench/results/conflictResolver-<date>.json and prints a table.
// bench/run.mjs imports timingJob and memoryJob (the merge of its engine-scaling section).

import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { median, settleHeap } from './rounds.mjs';
import { option } from './options.mjs';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { resolveChanges } = require(join(root, 'dist/nodes/engine/resolver/index.js'));

const FIELD_COUNT = 20;
const FIELDS = Array.from({ length: FIELD_COUNT }, (_, index) => `f${index}`);

const OPTIONS = {
	syncId: 'bench',
	systems: { x: 'crm', y: 'erp' },
	strategy: 'merge',
	tie: 'priority',
	priority: 'x',
	clockSkewMs: 1000,
	fieldRules: {},
	deletes: { x: 'propagate', y: 'propagate' },
	archive: { field: 'archived', value: true },
	updateVersusDelete: 'updateWins',
	ignoreFields: [],
	timestampFields: [],
	keyFields: { y: 'id' },
	sendOnlyChangedFields: false,
};

function baseRecord(index) {
	const record = {};
	for (let field = 0; field < FIELD_COUNT; field++) {
		record[FIELDS[field]] = field % 3 === 0 ? index * 31 + field : `value ${index % 997} of field ${field}`;
	}
	return record;
}

/** What one store look-up returns for an entity: fresh objects per call, as the store builds them. */
function entityState(index, base) {
	const at = '2026-01-01T00:00:00.000Z';
	return {
		entityId: `e${index}`,
		systems: {
			crm: { system: 'crm', key: `c${index}`, seenHash: null, writtenHash: null, base: null, deletedAt: null, version: 1, updatedAt: at },
			erp: { system: 'erp', key: `E${index}`, seenHash: null, writtenHash: null, base, deletedAt: null, version: 1, updatedAt: at },
		},
	};
}

/** The records as a parser hands them over: every string its own, as when each system's data arrives as JSON. */
function asParsed(records) {
	const parsed = [];
	// In slices: one JSON text of a million records would pass V8's longest string.
	for (let start = 0; start < records.length; start += 10000) parsed.push(...JSON.parse(JSON.stringify(records.slice(start, start + 10000))));
	return parsed;
}

/**
 * N paired changes plus the store's view of their links, built outside the timing. Like the node,
 * which looks up each side's keys in its own store call, each side gets its own entity objects.
 * X's records, Y's records and each side's bases are parsed from their own JSON, as they reach the
 * node from two systems and the store, so no two of them share a string.
 */
export function makeWorkload(count) {
	const xRecords = new Array(count);
	const yRecords = new Array(count);
	const bases = new Array(count);
	for (let index = 0; index < count; index++) {
		const base = baseRecord(index);
		const xRecord = { ...base };
		const yRecord = { ...base, id: `E${index}` };
		const first = index % FIELD_COUNT;
		xRecord[FIELDS[first]] = `crm edit ${index}`;
		xRecord[FIELDS[(first + 5) % FIELD_COUNT]] = `crm edit b ${index}`;
		// Every tenth pair: Y edits one of the fields X edited, to another value.
		yRecord[FIELDS[index % 10 === 0 ? first : (first + 10) % FIELD_COUNT]] = `erp edit ${index}`;
		yRecord[FIELDS[(first + 15) % FIELD_COUNT]] = `erp edit b ${index}`;
		xRecords[index] = xRecord;
		yRecords[index] = yRecord;
		bases[index] = base;
	}
	const parsedX = asParsed(xRecords);
	const parsedY = asParsed(yRecords);
	const x = parsedX.map((record, index) => ({ index, key: `c${index}`, op: 'update', record, hash: `hx${index}` }));
	const y = parsedY.map((record, index) => ({ index, key: `E${index}`, op: 'update', record, hash: `hy${index}` }));
	const known = { x: new Map(), y: new Map() };
	asParsed(bases).forEach((base, index) => known.x.set(`c${index}`, entityState(index, base)));
	asParsed(bases).forEach((base, index) => known.y.set(`E${index}`, entityState(index, base)));
	return { x, y, known };
}

export function floor({ x, y }) {
	let differing = 0;
	for (let index = 0; index < x.length; index++) {
		const left = x[index].record;
		const right = y[index].record;
		for (let field = 0; field < FIELD_COUNT; field++) {
			const name = FIELDS[field];
			if (left[name] !== right[name]) differing++;
		}
	}
	return differing;
}

/** Each pair's base as the store keeps it, found outside the timing: the floor with base takes the pairs as given. */
export function basesOf({ x, known }) {
	return x.map((change) => known.x.get(change.key).systems.erp.base);
}

/**
 * What a three-way merge must at least read: X's and Y's fields each compared with the base.
 * Reported beside the floor, for reading the engine's time; the target is set against the floor.
 */
export function floorWithBase({ x, y }, bases) {
	let changed = 0;
	for (let index = 0; index < x.length; index++) {
		const left = x[index].record;
		const right = y[index].record;
		const base = bases[index];
		for (let field = 0; field < FIELD_COUNT; field++) {
			const name = FIELDS[field];
			const was = base[name];
			if (left[name] !== was) changed++;
			if (right[name] !== was) changed++;
		}
	}
	return changed;
}

export function engine(workload) {
	const result = resolveChanges(workload, OPTIONS);
	if (result.failures.length > 0) throw new Error(`unexpected failures: ${result.failures.length}`);
	return result.items.length;
}

/**
 * The jobs in turns on the same workload, `rounds` times, each round after a full GC, so a busy
 * machine slows them alike. Per job: the median and the least wall time, and the median CPU time
 * of the process (GC helper threads included; other processes' time not).
 */
function timeInTurns(rounds, jobs) {
	const times = Object.fromEntries(Object.keys(jobs).map((name) => [name, { wall: [], cpu: [] }]));
	for (let round = 0; round < rounds; round++) {
		for (const [name, job] of Object.entries(jobs)) {
			settleHeap();
			const cpuBefore = process.cpuUsage();
			const started = process.hrtime.bigint();
			job();
			times[name].wall.push(Number(process.hrtime.bigint() - started) / 1e6);
			const cpu = process.cpuUsage(cpuBefore);
			times[name].cpu.push((cpu.user + cpu.system) / 1000);
		}
	}
	return Object.fromEntries(
		Object.entries(times).map(([name, { wall, cpu }]) => [name, { wallMs: median(wall), leastWallMs: Math.min(...wall), cpuMs: median(cpu) }]),
	);
}

/** Floor, floor with base and engine, for bench/run.mjs: medians of the rounds. */
export function timingJob(count, rounds) {
	const workload = makeWorkload(count);
	floor(workload);
	engine(workload);
	const bases = basesOf(workload);
	floorWithBase(workload, bases);
	const timed = timeInTurns(rounds, {
		floor: () => floor(workload),
		floorWithBase: () => floorWithBase(workload, bases),
		engine: () => engine(workload),
	});
	return {
		floorMs: timed.floor.wallMs,
		engineMs: timed.engine.wallMs,
		floorWithBaseMs: timed.floorWithBase.wallMs,
		counts: { pairs: count, fields: FIELD_COUNT },
	};
}

/** One job ('floor' or 'engine') alone in a fresh process, for its peak memory. */
export function memoryJob(job, count) {
	const workload = makeWorkload(count);
	if (job === 'engine') engine(workload);
	else floor(workload);
	return {};
}

function main() {
	const SIZES = option('sizes', '25000,50000,100000').split(',').map(Number);
	const ROUNDS = Number(option('rounds', 9));
	const rows = [];
	for (const size of SIZES) {
		const workload = makeWorkload(size);
		const bases = basesOf(workload);
		// Warm up every code path so the JIT compares like with like.
		floor(workload);
		floorWithBase(workload, bases);
		engine(workload);
		const timed = timeInTurns(ROUNDS, {
			floor: () => floor(workload),
			floorWithBase: () => floorWithBase(workload, bases),
			engine: () => engine(workload),
		});
		const items = resolveChanges(workload, OPTIONS).items;
		const outputs = {};
		for (const item of items) outputs[item.output] = (outputs[item.output] ?? 0) + 1;
		const round2 = (value) => Number(value.toFixed(2));
		rows.push({
			pairs: size,
			fields: FIELD_COUNT,
			floorMs: round2(timed.floor.wallMs),
			engineMs: round2(timed.engine.wallMs),
			ratio: round2(timed.engine.wallMs / timed.floor.wallMs),
			floorCpuMs: round2(timed.floor.cpuMs),
			engineCpuMs: round2(timed.engine.cpuMs),
			cpuRatio: round2(timed.engine.cpuMs / timed.floor.cpuMs),
			leastFloorMs: round2(timed.floor.leastWallMs),
			leastEngineMs: round2(timed.engine.leastWallMs),
			floorWithBaseMs: round2(timed.floorWithBase.wallMs),
			ratioToFloorWithBase: round2(timed.engine.wallMs / timed.floorWithBase.wallMs),
			engineNsPerPair: Math.round((timed.engine.wallMs * 1e6) / size),
			outputs,
		});
	}

	const largest = rows[rows.length - 1];
	const smallest = rows[0];
	const summary = {
		benchmark: 'conflictResolver',
		date: new Date().toISOString(),
		node: process.version,
		cpu: cpus()[0]?.model ?? 'unknown',
		cores: cpus().length,
		rounds: ROUNDS,
		timing: 'floor, floor with base and engine in turns, each round after a full GC; medians of the rounds (least times kept beside them)',
		workload: '20 fields; each side edited 2 fields; 10% true conflicts settled by system priority; all pairs linked',
		floor: 'one pass over the paired records comparing the 20 fields of X with those of Y (===)',
		floorWithBase: 'one pass over the paired records and their bases comparing X and Y each with the base (===)',
		rows,
		// Linear: the cost per pair stays flat as the input grows.
		nsPerPairGrowth: Number((largest.engineNsPerPair / smallest.engineNsPerPair).toFixed(2)),
		withinFiveTimesFloor: largest.ratio <= 5,
	};

	const resultsDir = join(root, 'bench', 'results');
	mkdirSync(resultsDir, { recursive: true });
	const file = join(resultsDir, `conflictResolver-${summary.date.slice(0, 10)}.json`);
	writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);

	console.log('pairs     floor ms  engine ms  engine/floor  (cpu: floor  engine  ratio)  floor with base ms  engine/that  ns/pair');
	for (const row of rows) {
		console.log(
			`${String(row.pairs).padEnd(9)} ${row.floorMs.toFixed(2).padStart(8)}  ${row.engineMs.toFixed(2).padStart(9)}  ${row.ratio.toFixed(2).padStart(12)}  ${row.floorCpuMs.toFixed(1).padStart(11)} ${row.engineCpuMs.toFixed(1).padStart(7)} ${row.cpuRatio.toFixed(2).padStart(6)}   ${row.floorWithBaseMs.toFixed(2).padStart(18)}  ${row.ratioToFloorWithBase.toFixed(2).padStart(11)}  ${String(row.engineNsPerPair).padStart(7)}`,
		);
	}
	console.log(`ns/pair growth from ${smallest.pairs} to ${largest.pairs} pairs: x${summary.nsPerPairGrowth}; within 5x the floor at ${largest.pairs}: ${summary.withinFiveTimesFloor}`);
	console.log(`Wrote ${file}`);
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) main();
