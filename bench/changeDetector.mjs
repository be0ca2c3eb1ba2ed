// Change Detector engine speed and memory, against the floor of canonical JSON plus sha256 over the
// same records (the least any content-hashing detector must do).
//
// Per size: one child process times floor and engine in turns on the same records (best of N
// rounds each), and two more fresh children run each job once alone for its peak RSS.
//   floor:  hashValue(record) for every input record;
//   engine: prepareRecords + classifyRecords (detectChanges) on a full snapshot against a
//           remembered state: 80% unchanged, 10% echoes of our own writes (the system added
//           updated_at), 5% edited, 3% new, 2% deleted; updated_at is ignored.
// Run after `npm run build`: node_modules/.bin/node bench/changeDetector.mjs [--sizes 10000,100000,1000000] [--rounds N]
// Writes bench/results/changeDetector-<date>.json and prints a table.
// bench/run.mjs imports timingJob and memoryJob (the diff of its engine-scaling section).

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { median, settleHeap } from './rounds.mjs';
import { option } from './options.mjs';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { hashValue } = require(join(root, 'dist/nodes/engine/hash.js'));
const { classifyRecords, prepareRecords } = require(join(root, 'dist/nodes/engine/detector/index.js'));

const DETECTOR = {
	syncId: 'bench',
	system: 'crm',
	mode: 'snapshot',
	keyFields: ['id'],
	fields: { mode: 'all', ignore: ['updated_at'] },
	fullSnapshot: true,
};

/** Contact-like records with nested and list fields, as a CRM returns them. */
export function makeRecords(count) {
	const records = new Array(count);
	for (let index = 0; index < count; index++) {
		records[index] = {
			id: index,
			name: `Contact ${index}`,
			email: `user${index}@example.com`,
			company: `Company ${index % 311}`,
			score: (index % 1000) / 10,
			active: index % 3 !== 0,
			tags: [`t${index % 7}`, `s${index % 5}`],
			address: { city: `City ${index % 101}`, zip: String(index % 99999).padStart(5, '0') },
			updated_at: new Date(Date.UTC(2026, 0, 1) + index * 1000).toISOString(),
		};
	}
	return records;
}

function withoutUpdatedAt(record) {
	const { updated_at: _omit, ...rest } = record;
	return rest;
}

/** This run's input alone: the same records makeScenario gives, without the state. */
export function makeInput(count) {
	const input = [];
	for (const record of makeRecords(count)) {
		const bucket = record.id % 100;
		if (bucket >= 98) continue;
		input.push(bucket >= 90 && bucket < 95 ? { ...record, name: `${record.name} (edited)` } : record);
	}
	return input;
}

/** The state a previous sync left, and this run's input, for the mix described above. */
export function makeScenario(count) {
	const records = makeRecords(count);
	const entities = new Map();
	const known = new Map();
	const input = [];
	const remember = (key, state) => {
		const entity = { entityId: `e${key}`, systems: { crm: { system: 'crm', key, version: 1, updatedAt: '', deletedAt: null, writtenHash: null, ...state } } };
		entities.set(key, entity);
		known.set(key, { ...entity.systems.crm, entityId: entity.entityId });
	};
	for (const record of records) {
		const key = String(record.id);
		const bucket = record.id % 100;
		const content = withoutUpdatedAt(record);
		if (bucket < 80) {
			remember(key, { seenHash: hashValue(content), base: record });
			input.push(record);
		} else if (bucket < 90) {
			// We wrote it: the base is what we wrote, the system added updated_at.
			remember(key, { seenHash: hashValue(content), writtenHash: hashValue(content), base: content });
			input.push(record);
		} else if (bucket < 95) {
			remember(key, { seenHash: hashValue(content), base: record });
			input.push({ ...record, name: `${record.name} (edited)` });
		} else if (bucket < 98) {
			input.push(record);
		} else {
			remember(key, { seenHash: hashValue(content), base: record });
		}
	}
	return { input, entities, known };
}

function floorRound(records) {
	const started = process.hrtime.bigint();
	let sink = 0;
	for (const record of records) sink += hashValue(record).length;
	if (sink === 0) throw new Error('no hashes');
	return Number(process.hrtime.bigint() - started) / 1e6;
}

function engineRound(inputs, entities, known) {
	const started = process.hrtime.bigint();
	const result = classifyRecords(prepareRecords(inputs, DETECTOR), { entities, known });
	return { ms: Number(process.hrtime.bigint() - started) / 1e6, result };
}

function countsOf(result, input) {
	return {
		input,
		created: result.created.length,
		updated: result.updated.length,
		deleted: result.deleted.length,
		unchanged: result.unchanged.filter((item) => item.meta.reason === 'unchanged').length,
		echo: result.unchanged.filter((item) => item.meta.reason === 'echo').length,
		errors: result.errors.length,
	};
}

/** Floor and engine in turns on the same records in one process, so a busy machine slows both alike. */
export function timingJob(count, rounds) {
	const { input, entities, known } = makeScenario(count);
	const inputs = input.map((record) => ({ record }));
	const floor = [];
	const engine = [];
	let counts;
	for (let round = 0; round < rounds; round++) {
		settleHeap();
		floor.push(floorRound(input));
		settleHeap();
		const run = engineRound(inputs, entities, known);
		engine.push(run.ms);
		counts = countsOf(run.result, input.length);
	}
	return { floorMs: median(floor), engineMs: median(engine), counts };
}

/** One job ('floor' or 'engine') alone in a fresh process, for its peak memory. */
export function memoryJob(job, count) {
	const { input, entities, known } = job === 'engine' ? makeScenario(count) : { input: makeInput(count) };
	if (job === 'floor') floorRound(input);
	else engineRound(input.map((record) => ({ record })), entities, known);
	return {};
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
const SIZES = option('sizes', '10000,100000,1000000').split(',').map(Number);
const ROUNDS = Number(option('rounds', 3));

if (isMain && process.argv[2] === '--child') {
	const [job, count] = [process.argv[3], Number(process.argv[4])];
	const result = job === 'timing' ? timingJob(count, ROUNDS) : memoryJob(job, count);
	process.stdout.write(JSON.stringify({ ...result, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) }));
	process.exit(0);
}

function child(job, count) {
	const out = execFileSync(process.execPath, ['--max-old-space-size=6144', fileURLToPath(import.meta.url), '--child', job, String(count), '--rounds', String(ROUNDS)], {
		encoding: 'utf8',
		maxBuffer: 1 << 20,
	});
	return JSON.parse(out);
}

function main() {
	const results = [];
	for (const size of SIZES) {
		const timing = child('timing', size);
		const floor = child('floor', size);
		const engine = child('engine', size);
		results.push({
			records: size,
			floorMs: Math.round(timing.floorMs),
			engineMs: Math.round(timing.engineMs),
			ratio: Math.round((timing.engineMs / timing.floorMs) * 100) / 100,
			engineRecordsPerSecond: Math.round(size / (timing.engineMs / 1000)),
			floorPeakRssMb: floor.maxRssMb,
			enginePeakRssMb: engine.maxRssMb,
			counts: timing.counts,
		});
	}

	const date = new Date().toISOString().slice(0, 10);
	const report = {
		benchmark: 'changeDetector (engine level)',
		date: new Date().toISOString(),
		node: process.version,
		cpu: `${cpus()[0]?.model ?? 'unknown'} x${cpus().length}`,
		rounds: ROUNDS,
		scenario: 'full snapshot; state: 80% unchanged, 10% echoes (base without updated_at), 5% edited, 3% new, 2% deleted; ignore updated_at',
		floor: 'hashValue(record) = canonical JSON + sha256, over the same input records, in the same process as the engine, rounds taken in turns',
		timing: `best of ${ROUNDS} rounds each; peak RSS of a fresh process that built the data and ran the job once (includes the records and, for the engine, the remembered state)`,
		target: 'engine within 3x the floor',
		results,
	};
	mkdirSync(join(root, 'bench', 'results'), { recursive: true });
	const file = join(root, 'bench', 'results', `changeDetector-${date}.json`);
	writeFileSync(file, `${JSON.stringify(report, null, '\t')}\n`);

	console.log(`Change Detector engine, ${report.cpu}, Node ${process.version}`);
	console.log('records    floor ms  engine ms  ratio  floor RSS MB  engine RSS MB');
	for (const row of results) {
		console.log(
			`${String(row.records).padStart(9)}  ${String(row.floorMs).padStart(8)}  ${String(row.engineMs).padStart(9)}  ${String(row.ratio).padStart(5)}  ${String(row.floorPeakRssMb).padStart(12)}  ${String(row.enginePeakRssMb).padStart(13)}`,
		);
	}
	console.log(`Written to ${file}`);
}

if (isMain) main();
