// Conflict Resolver engine speed against the floor of one pass that compares the fields.
//
// Workload per size N: N linked entities with 20 fields. X's change and Y's change of each entity
// arrive together (N paired changes); each side edited 2 fields, and in 10% of the pairs both
// edited the same field to different values (a true conflict, settled by system priority).
//   floor:  one pass over the already paired records, comparing each of the 20 fields of X's
//           version with Y's (===): the least any resolver must do;
//   engine: resolveChanges (pairing through the store's links by hash map, the three-way merge
//           against the base, and the ops with their metadata and resolution).
// Run after `npm run build`: node_modules/.bin/node bench/conflictResolver.mjs [--sizes 25000,50000,100000] [--rounds N]
// Writes bench/results/conflictResolver-<date>.json and prints a table.
// bench/run.mjs imports timingJob and memoryJob (the merge of its engine-scaling section).

import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { resolveChanges } = require(join(root, 'dist/nodes/engine/resolver/index.js'));

function option(name, fallback) {
	const index = process.argv.indexOf(`--${name}`);
	return index === -1 ? fallback : process.argv[index + 1];
}

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

/** N paired changes plus the store's view of their links, built outside the timing. */
export function makeWorkload(count) {
	const x = new Array(count);
	const y = new Array(count);
	const known = { x: new Map(), y: new Map() };
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
		x[index] = { index, key: `c${index}`, op: 'update', record: xRecord, hash: `hx${index}` };
		y[index] = { index, key: `E${index}`, op: 'update', record: yRecord, hash: `hy${index}` };
		const at = '2026-01-01T00:00:00.000Z';
		const state = {
			entityId: `e${index}`,
			systems: {
				crm: { system: 'crm', key: `c${index}`, seenHash: null, writtenHash: null, base: null, deletedAt: null, version: 1, updatedAt: at },
				erp: { system: 'erp', key: `E${index}`, seenHash: null, writtenHash: null, base, deletedAt: null, version: 1, updatedAt: at },
			},
		};
		known.x.set(`c${index}`, state);
		known.y.set(`E${index}`, state);
	}
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

export function engine(workload) {
	const result = resolveChanges(workload, OPTIONS);
	if (result.failures.length > 0) throw new Error(`unexpected failures: ${result.failures.length}`);
	return result.items.length;
}

/**
 * Best of N rounds, in wall time and in the process's CPU time. The CPU time counts GC helper
 * threads too, but not the time other processes on a busy machine take from this one.
 */
function bestOf(rounds, job) {
	let bestWall = Infinity;
	let bestCpu = Infinity;
	for (let round = 0; round < rounds; round++) {
		const cpuBefore = process.cpuUsage();
		const started = process.hrtime.bigint();
		job();
		const wall = Number(process.hrtime.bigint() - started) / 1e6;
		const cpu = process.cpuUsage(cpuBefore);
		bestWall = Math.min(bestWall, wall);
		bestCpu = Math.min(bestCpu, (cpu.user + cpu.system) / 1000);
	}
	return { wallMs: bestWall, cpuMs: bestCpu };
}

/** Floor and engine in turns on the same workload in one process, so a busy machine slows both alike. */
export function timingJob(count, rounds) {
	const workload = makeWorkload(count);
	floor(workload);
	engine(workload);
	let floorMs = Infinity;
	let engineMs = Infinity;
	for (let round = 0; round < rounds; round++) {
		floorMs = Math.min(floorMs, bestOf(1, () => floor(workload)).wallMs);
		engineMs = Math.min(engineMs, bestOf(1, () => engine(workload)).wallMs);
	}
	return { floorMs, engineMs, counts: { pairs: count, fields: FIELD_COUNT } };
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
	const ROUNDS = Number(option('rounds', 5));
	const rows = [];
	for (const size of SIZES) {
		const workload = makeWorkload(size);
		// Warm up both code paths so the JIT compares like with like.
		floor(workload);
		engine(workload);
		const floorRun = bestOf(ROUNDS, () => floor(workload));
		const engineRun = bestOf(ROUNDS, () => engine(workload));
		const items = resolveChanges(workload, OPTIONS).items;
		const outputs = {};
		for (const item of items) outputs[item.output] = (outputs[item.output] ?? 0) + 1;
		const round2 = (value) => Number(value.toFixed(2));
		rows.push({
			pairs: size,
			fields: FIELD_COUNT,
			floorMs: round2(floorRun.wallMs),
			engineMs: round2(engineRun.wallMs),
			ratio: round2(engineRun.wallMs / floorRun.wallMs),
			floorCpuMs: round2(floorRun.cpuMs),
			engineCpuMs: round2(engineRun.cpuMs),
			cpuRatio: round2(engineRun.cpuMs / floorRun.cpuMs),
			engineNsPerPair: Math.round((engineRun.wallMs * 1e6) / size),
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
		workload: '20 fields; each side edited 2 fields; 10% true conflicts settled by system priority; all pairs linked',
		floor: 'one pass over the paired records comparing the 20 fields with ===',
		rows,
		// Linear: the cost per pair stays flat as the input grows.
		nsPerPairGrowth: Number((largest.engineNsPerPair / smallest.engineNsPerPair).toFixed(2)),
		withinFiveTimesFloor: largest.ratio <= 5,
	};

	const resultsDir = join(root, 'bench', 'results');
	mkdirSync(resultsDir, { recursive: true });
	const file = join(resultsDir, `conflictResolver-${summary.date.slice(0, 10)}.json`);
	writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);

	console.log('pairs     fields  floor ms  engine ms  engine/floor  (cpu: floor  engine  ratio)  ns/pair');
	for (const row of rows) {
		console.log(
			`${String(row.pairs).padEnd(9)} ${String(row.fields).padEnd(7)} ${row.floorMs.toFixed(2).padStart(8)}  ${row.engineMs.toFixed(2).padStart(9)}  ${row.ratio.toFixed(2).padStart(12)}  ${row.floorCpuMs.toFixed(1).padStart(11)} ${row.engineCpuMs.toFixed(1).padStart(7)} ${row.cpuRatio.toFixed(2).padStart(6)}   ${String(row.engineNsPerPair).padStart(7)}`,
		);
	}
	console.log(`ns/pair growth from ${smallest.pairs} to ${largest.pairs} pairs: x${summary.nsPerPairGrowth}; within 5x the floor at ${largest.pairs}: ${summary.withinFiveTimesFloor}`);
	console.log(`Wrote ${file}`);
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) main();
