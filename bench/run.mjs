// The whole benchmark suite in one command: `npm run bench`.
//
//   1. change detection: our Change Detector against n8n's Compare Datasets in the same real n8n
//      run (bench/detectorVsCompare.n8n.mjs), with the memory runs and a CPU profile;
//   2. engine scaling: diff, map and merge at 10k, 100k and 1M records against their floors in
//      the same process (bench/changeDetector.mjs, fieldMapper.mjs, conflictResolver.mjs), each
//      size in fresh child processes for a clean peak RSS;
//   3. store throughput: Commit and Look Up of 100k records on both stores (bench/store.mjs);
//   4. end to end: one scheduled cycle of example workflow 1 with 1k and 10k changed records
//      between Parse Server and PostgreSQL (bench/scheduledCycle.n8n.mjs);
//   5. conflict resolution: our Conflict Resolver node in a real n8n run at 1k, 10k and 100k pairs,
//      against the floor and beside Compare Datasets (bench/conflictResolver.n8n.mjs).
// Writes bench/results/<date>.json and regenerates bench/RESULTS.md and bench/chart.svg.
// The targets are checked by reading the figures; nothing here fails on a slow result.
//
// Options: --quick (small sizes, to try the suite out; its results go to bench/results/<date>-quick.json
// and the report is not regenerated), --sections n8n,engine,store,cycle,resolver, --rounds N,
// --report-only <results.json> (regenerate RESULTS.md and chart.svg from a results file).
// Needs: `npm run build` (done here when the sources changed), the n8n host (installed here when
// missing) and a PostgreSQL server (see bench/store.mjs).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { operationLabel, renderChart, renderMarkdown, thousands } from './report.mjs';
import { latestQueueModeRun } from './queueModeReport.mjs';
import { option } from './options.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const log = (line) => process.stderr.write(`${line}\n`);

const ENGINE_MODULES = {
	diff: './changeDetector.mjs',
	map: './fieldMapper.mjs',
	merge: './conflictResolver.mjs',
};

// ---------------------------------------------------------------------------------------------
// Engine scaling: one child process per measurement

if (process.argv[2] === '--engine-child') {
	const [operation, job, count, rounds] = process.argv.slice(3);
	const bench = await import(ENGINE_MODULES[operation]);
	const result = job === 'timing' ? bench.timingJob(Number(count), Number(rounds)) : bench.memoryJob(job, Number(count));
	process.stdout.write(JSON.stringify({ ...result, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) }));
	process.exit(0);
}

function engineChild(operation, job, count, rounds) {
	const child = spawnSync(
		process.execPath,
		['--max-old-space-size=12288', fileURLToPath(import.meta.url), '--engine-child', operation, job, String(count), String(rounds)],
		{ encoding: 'utf8', maxBuffer: 1 << 20 },
	);
	if (child.status !== 0) throw new Error(`${operation} ${job} at ${count} records failed (exit ${child.status ?? child.signal}):\n${child.stderr}`);
	return JSON.parse(child.stdout);
}

const round2 = (value) => Math.round(value * 100) / 100;

async function engineSection({ sizes, rounds }) {
	const rows = [];
	for (const operation of Object.keys(ENGINE_MODULES)) {
		for (const count of sizes) {
			log(`engine ${operation} at ${count} records...`);
			const timing = engineChild(operation, 'timing', count, rounds);
			const engine = engineChild(operation, 'engine', count, rounds);
			const floor = engineChild(operation, 'floor', count, rounds);
			rows.push({
				operation,
				records: count,
				floorMs: round2(timing.floorMs),
				engineMs: round2(timing.engineMs),
				ratio: round2(timing.engineMs / timing.floorMs),
				engineRecordsPerSecond: Math.round(count / (timing.engineMs / 1000)),
				enginePeakRssMb: engine.maxRssMb,
				floorPeakRssMb: floor.maxRssMb,
				counts: timing.counts,
				...(timing.floorWithBaseMs !== undefined ? { floorWithBaseMs: round2(timing.floorWithBaseMs) } : {}),
			});
			log(`  floor ${round2(timing.floorMs)} ms, engine ${round2(timing.engineMs)} ms (x${rows.at(-1).ratio}), engine peak RSS ${engine.maxRssMb} MB`);
		}
	}
	return {
		rounds,
		floors: {
			diff: 'canonical JSON + sha256 of every input record (hashValue)',
			map: 'a hand-written copy of the same 20 fields (no conversion)',
			merge: 'one pass over the paired records comparing their 20 fields with ===',
		},
		workloads: {
			diff: 'full snapshot against the remembered state: 80% unchanged, 10% echoes, 5% edited, 3% new, 2% deleted; updated_at ignored',
			map: '20 rules without dates (trim, lowercase, value map, number and boolean conversions, nesting)',
			merge: 'paired changes of two systems, 20 fields, each side edited 2 fields, 10% true conflicts settled by priority; X\'s records, Y\'s records and the bases each parsed from their own JSON, so no two share a string',
		},
		timing: `median of ${rounds} rounds, floor and engine taken in turns in one child process, each round after a full GC and once V8's helper threads are idle again; peak RSS of a fresh child that built the data and ran the engine (or the floor) once`,
		rows,
	};
}

// ---------------------------------------------------------------------------------------------
// The machine

function n8nVersion() {
	const file = join(root, 'e2e', 'n8n-host', 'node_modules', 'n8n', 'package.json');
	return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).version : JSON.parse(readFileSync(join(root, 'e2e', 'n8n-host', 'package.json'), 'utf8')).dependencies.n8n;
}

/** Which code was measured: the commit, and whether the package's sources differed from it. */
function codeVersion() {
	const git = (...args) => spawnSync('git', args, { cwd: root, encoding: 'utf8' });
	const head = git('rev-parse', '--short', 'HEAD');
	if (head.status !== 0) return { commit: 'unknown' };
	const changed = git('status', '--porcelain', '--', 'nodes', 'credentials').stdout.split('\n').filter(Boolean).length;
	return { commit: head.stdout.trim(), uncommittedSourceFiles: changed };
}

function machine() {
	const list = cpus();
	return {
		cpuModel: list[0]?.model ?? 'unknown',
		cpuCount: list.length,
		memoryGb: Math.round(totalmem() / 2 ** 30),
		node: process.version,
		n8n: n8nVersion(),
		platform: `${process.platform} ${process.arch}`,
	};
}

/** Samples the 1-minute load average every 10 s while the suite runs. */
function watchLoad() {
	const samples = [];
	const take = () => samples.push(round2(loadavg()[0]));
	take();
	const timer = setInterval(take, 10_000);
	timer.unref();
	return () => {
		clearInterval(timer);
		take();
		return { samples: samples.length, min: Math.min(...samples), max: Math.max(...samples), mean: round2(samples.reduce((a, b) => a + b, 0) / samples.length) };
	};
}

// ---------------------------------------------------------------------------------------------
// Targets, read from the figures

function targetsFrom(results) {
	const detection = results.sections.changeDetection;
	const engine = results.sections.engine;
	const store = results.sections.store;
	const at = (records) => detection?.rows.find((row) => row.records === records);
	const targets = [];

	const row20k = at(20_000);
	targets.push({
		id: 'fasterThanCompareDatasets',
		target: 'At least 200x faster than Compare Datasets at 20k records (node time in the same n8n run)',
		value: row20k?.ratio ?? null,
		display: row20k?.ratio == null ? 'not measured' : `${row20k.ratio}x (${row20k.changeDetectorMs} ms against ${row20k.compareDatasetsMs} ms)`,
		met: row20k?.ratio == null ? null : row20k.ratio >= 200,
	});

	const [row10k, row100k] = [at(10_000), at(100_000)];
	const growth = row10k && row100k ? round2(row100k.changeDetectorMs / row10k.changeDetectorMs) : null;
	targets.push({
		id: 'linearGrowth',
		target: 'Linear growth: the Change Detector node time grows less than 12x from 10k to 100k records',
		value: growth,
		display: growth === null ? 'not measured' : `${growth}x (${row10k.changeDetectorMs} ms to ${row100k.changeDetectorMs} ms)`,
		met: growth === null ? null : growth < 12,
	});

	const diff1m = engine?.rows.find((row) => row.operation === 'diff' && row.records === 1_000_000);
	targets.push({
		id: 'engineDiffNearFloor',
		target: 'The engine diff within 3x the floor (canonical JSON + sha256) at 1M records',
		value: diff1m?.ratio ?? null,
		display: diff1m ? `${diff1m.ratio}x (${Math.round(diff1m.engineMs)} ms against ${Math.round(diff1m.floorMs)} ms)` : 'not measured',
		met: diff1m ? diff1m.ratio <= 3 : null,
	});

	const merge = (records) => engine?.rows.find((row) => row.operation === 'merge' && row.records === records);
	const merge100k = merge(100_000);
	targets.push({
		id: 'engineMergeNearFloor',
		target: 'The Conflict Resolver engine within 5x the floor (one pass comparing the paired fields) at 100k pairs',
		value: merge100k?.ratio ?? null,
		display: merge100k ? `${merge100k.ratio}x (${Math.round(merge100k.engineMs)} ms against ${Math.round(merge100k.floorMs)} ms)` : 'not measured',
		met: merge100k ? merge100k.ratio <= 5 : null,
	});

	// Linear: the time per pair stays flat from 10k to 1M pairs (within 1.5x).
	const [merge10k, merge1m] = [merge(10_000), merge(1_000_000)];
	const perPairGrowth = merge10k && merge1m ? round2(merge1m.engineMs / 1_000_000 / (merge10k.engineMs / 10_000)) : null;
	targets.push({
		id: 'engineMergeLinear',
		target: "Linear: the Conflict Resolver engine's time per pair grows less than 1.5x from 10k to 1M pairs",
		value: perPairGrowth,
		display:
			perPairGrowth === null
				? 'not measured'
				: `${perPairGrowth}x (${round2((merge10k.engineMs * 1000) / 10_000)} µs to ${round2((merge1m.engineMs * 1000) / 1_000_000)} µs per pair)`,
		met: perPairGrowth === null ? null : perPairGrowth < 1.5,
	});

	for (const [backend, minimum, label] of [
		['postgres', 20_000, 'PostgreSQL'],
		['builtin', 50_000, 'the built-in store'],
	]) {
		const measured = store?.[backend];
		const operations = ['commitNew', 'commitChanged', 'lookUp'];
		const slowest = measured ? Math.min(...operations.map((operation) => measured[operation].rowsPerSecond)) : null;
		targets.push({
			id: `store.${backend}`,
			target: `At least ${minimum / 1000}k rows/s on ${label} (Commit of new and of changed records, and Look Up; 100k records in batches)`,
			value: slowest,
			display: measured ? operations.map((operation) => `${operationLabel(operation)} ${thousands(measured[operation].rowsPerSecond)}/s`).join(', ') : 'not measured',
			met: measured ? slowest >= minimum : null,
		});
	}
	return targets;
}

// ---------------------------------------------------------------------------------------------
// The run

async function runSuite({ quick, sections, rounds }) {
	const { ensureN8nInstalled, ensurePackageBuilt } = await import('../scripts/n8n-host.mjs');
	const startedAt = new Date();
	const loadAtStart = loadavg().map(round2);
	const stopWatching = watchLoad();
	log(`Benchmark suite${quick ? ' (quick)' : ''}: load average at start ${loadAtStart.join(', ')} on ${cpus().length} CPUs`);
	await ensurePackageBuilt({ log });
	if (sections.includes('n8n')) await ensureN8nInstalled({ log });

	const results = {
		suite: 'n8n-nodes-two-way-sync benchmarks (bench/run.mjs)',
		quick,
		startedAt: startedAt.toISOString(),
		code: codeVersion(),
		machine: { ...machine(), loadAverageAtStart: { '1m': loadAtStart[0], '5m': loadAtStart[1], '15m': loadAtStart[2] } },
		sections: {},
	};

	if (sections.includes('engine')) {
		log('=== engine scaling ===');
		results.sections.engine = await engineSection({ sizes: quick ? [10_000, 20_000] : [10_000, 100_000, 1_000_000], rounds });
	}
	if (sections.includes('store')) {
		log('=== store throughput ===');
		const { measureStores, storeTable } = await import('./store.mjs');
		results.sections.store = await measureStores(quick ? { records: 20_000, batchSize: 5_000 } : { records: 100_000, batchSize: 10_000 });
		log(storeTable(results.sections.store));
	}
	if (sections.includes('n8n')) {
		log('=== change detection in real n8n ===');
		const { measureDetectorVsCompare } = await import('./detectorVsCompare.n8n.mjs');
		const measured = await measureDetectorVsCompare(
			quick
				? { sizes: [1_000, 2_000], compareMax: 2_000, profileSize: 2_000, log }
				: { sizes: [1_000, 5_000, 10_000, 20_000, 40_000, 100_000], compareMax: 40_000, profileSize: 20_000, log },
		);
		results.sections.changeDetection = {
			method:
				'one n8n 2.41.1 CLI run (n8n execute) per size, package installed as a community node; Code "Current" feeds the Change Detector (snapshot, full snapshot, built-in store, previous snapshot committed by a seed run) and input 1 of Compare Datasets, Code "Previous" its input 2; times are executionTime from the run JSON; peak RSS is the VmHWM of the n8n process',
			scenario: 'previous: N contact records; current: 5% edited, 3% new, 2% deleted; updated_at ignored by both nodes',
			...measured,
		};
	}
	if (sections.includes('resolver')) {
		log('=== Conflict Resolver node in real n8n ===');
		const { measureResolverInN8n, METHOD } = await import('./conflictResolver.n8n.mjs');
		results.sections.conflictResolver = {
			method: METHOD,
			...(await measureResolverInN8n(quick ? { sizes: [1_000, 2_000], compareMax: 2_000, log } : { sizes: [1_000, 10_000, 100_000], compareMax: 40_000, log })),
		};
	}
	if (sections.includes('cycle')) {
		log('=== scheduled cycle of example workflow 1 ===');
		const { measureScheduledCycle, METHOD } = await import('./scheduledCycle.n8n.mjs');
		results.sections.scheduledCycle = { method: METHOD, ...(await measureScheduledCycle(quick ? { records: 2_000, changes: [200, 1_000] } : {})) };
	}

	results.finishedAt = new Date().toISOString();
	results.durationS = Math.round((Date.now() - startedAt.getTime()) / 1000);
	results.machine.loadAverageDuringRun = stopWatching();
	results.targets = targetsFrom(results);
	return results;
}

/** The newest results of a standalone bench/scheduledCycle.n8n.mjs run, for a suite run without that section. */
function latestCycleRun() {
	const dir = join(here, 'results');
	const [newest] = readdirSync(dir)
		.filter((name) => /^scheduled-cycle-.*\.json$/.test(name))
		.sort()
		.reverse();
	return newest ? { file: `results/${newest}`, results: JSON.parse(readFileSync(join(dir, newest), 'utf8')) } : undefined;
}

async function main() {
	const reportOnly = option('report-only', null);
	let results;
	let file;
	if (reportOnly) {
		file = reportOnly;
		results = JSON.parse(readFileSync(file, 'utf8'));
		results.targets = targetsFrom(results);
	} else {
		const quick = process.argv.includes('--quick');
		const sections = option('sections', 'engine,store,n8n,resolver,cycle').split(',');
		results = await runSuite({ quick, sections, rounds: Number(option('rounds', 5)) });
		mkdirSync(join(here, 'results'), { recursive: true });
		file = join(here, 'results', `${results.startedAt.slice(0, 10)}${quick ? '-quick' : ''}.json`);
		writeFileSync(file, `${JSON.stringify(results, null, '\t')}\n`);
		log(`Results written to ${relative(process.cwd(), file)}`);
		if (quick) {
			for (const target of results.targets) log(`${target.met === null ? 'not measured' : target.met ? 'met   ' : 'MISSED'}  ${target.target}: ${target.display}`);
			return;
		}
	}
	const resultsFile = relative(here, file);
	writeFileSync(join(here, 'RESULTS.md'), renderMarkdown(results, { resultsFile, standaloneCycle: results.sections.scheduledCycle ? undefined : latestCycleRun(), queueMode: latestQueueModeRun() }));
	const chart = renderChart(results);
	if (chart) writeFileSync(join(here, 'chart.svg'), chart);
	log(`Regenerated bench/RESULTS.md${chart ? ' and bench/chart.svg' : ''} from ${resultsFile}`);
	for (const target of results.targets) log(`${target.met === null ? 'not measured' : target.met ? 'met   ' : 'MISSED'}  ${target.target}: ${target.display}`);
}

await main();
