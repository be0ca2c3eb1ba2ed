// Our Change Detector against n8n's Compare Datasets, in the same real n8n 2.41.1 run (the CLI in
// e2e/n8n-host, this package installed as a community node, the built-in store).
//
// Per size N, in a fresh n8n user folder:
//   seed run:     Code "Previous" (N records) -> Change Detector -> Sync State Commit, so the
//                 previous snapshot is committed in the built-in store;
//   measured run: Code "Current" (the same records with 5% edited, 3% new, 2% deleted) feeds the
//                 Change Detector (snapshot mode, full snapshot, updated_at ignored) and input 1 of
//                 Compare Datasets; Code "Previous" feeds its input 2 (matched on id, updated_at
//                 skipped). Compare Datasets scans input 2 for every item of input 1 (O(N x M)), so
//                 it runs only up to --compare-max; above that the run holds our path alone.
// Times are each node's executionTime from n8n's run JSON. Peak memory is the VmHWM of the n8n
// process (the nodes run there; the Code nodes run in n8n's task runner, reported apart).
// Memory runs: our path alone at the largest N, Compare Datasets alone at --compare-max, and the
// Code nodes alone at both (the baseline of n8n plus the generated items).
// Profile run: our path alone at --profile-size under `node --cpu-prof`, summarised over the
// samples taken while the Change Detector ran; the raw profile is kept in .tmp/bench-profiles
// (open it in Chrome DevTools, Performance tab).
//
// Run after `npm run build`: node_modules/.bin/node bench/detectorVsCompare.n8n.mjs [--sizes 1000,5000,10000,20000,40000,100000] [--compare-max 40000] [--profile-size 20000]
// Writes bench/results/detectorVsCompare-n8n-<date>.json and prints a table. bench/run.mjs imports
// measureDetectorVsCompare.

import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { ensureN8nInstalled, ensurePackageBuilt, importWorkflow, installPackageInto } from '../scripts/n8n-host.mjs';
import { makeRecords } from './changeDetector.mjs';
import { execute, nodeMs, outputCount } from './changeDetector-n8n.mjs';
import { readProfile, summariseProfile } from './cpuProfile.mjs';
import { option } from './options.mjs';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { hashValue } = require(join(root, 'dist/nodes/engine/hash.js'));

const PACKAGE = 'n8n-nodes-two-way-sync';
const defaultLog = (line) => process.stderr.write(`${line}\n`);

// The generators run both here (for the floor) and inside n8n's Code nodes (from their source).
function currentRecords(count) {
	const edited = new Date(Date.UTC(2026, 1, 1)).toISOString();
	const records = [];
	for (const record of makeRecords(count)) {
		const bucket = record.id % 100;
		if (bucket >= 98) continue;
		records.push(bucket >= 90 && bucket < 95 ? { ...record, name: `${record.name} (edited)`, updated_at: edited } : record);
	}
	const added = Math.round(count * 0.03);
	for (let index = count; index < count + added; index++) {
		records.push({
			id: index,
			name: `New ${index}`,
			email: `new${index}@example.com`,
			company: 'Company 1',
			score: 1.5,
			active: true,
			tags: ['t1'],
			address: { city: 'City 1', zip: '00001' },
			updated_at: edited,
		});
	}
	return records;
}

/** What the same records cost to hash, here in the bench process: canonical JSON + sha256 each. */
function hashFloorMs(count) {
	const records = currentRecords(count);
	let best = Infinity;
	for (let round = 0; round < 3; round++) {
		const started = process.hrtime.bigint();
		let sink = 0;
		for (const record of records) sink += hashValue(record).length;
		if (sink === 0) throw new Error('no hashes');
		best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e6);
	}
	return best;
}

function node(name, type, typeVersion, position, parameters) {
	return { id: `${name.toLowerCase().replace(/\W+/g, '-')}-bench`, name, type, typeVersion, position, parameters };
}

function codeNode(name, position, make, count) {
	const source = make === currentRecords ? `${makeRecords.toString()}\n${currentRecords.toString()}` : makeRecords.toString();
	return node(name, 'n8n-nodes-base.code', 2, position, {
		mode: 'runOnceForAllItems',
		language: 'javaScript',
		jsCode: `${source}\nreturn ${make.name}(${count}).map((json) => ({ json }));`,
	});
}

const DETECT = node('Change Detector', `${PACKAGE}.changeDetector`, 1, [480, -100], {
	store: 'builtin',
	syncId: 'bench',
	system: 'crm',
	mode: 'snapshot',
	keyFields: 'id',
	fullSnapshot: true,
	ignoreFields: 'updated_at',
});

const COMPARE = node('Compare Datasets', 'n8n-nodes-base.compareDatasets', 2.3, [480, 100], {
	mergeByFields: { values: [{ field1: 'id', field2: 'id' }] },
	resolve: 'preferInput1',
	options: { skipFields: 'updated_at' },
});

const link = (name, index = 0) => ({ node: name, type: 'main', index });

function seedWorkflow(count) {
	return {
		name: `Bench: seed ${count}`,
		nodes: [
			node('Start', 'n8n-nodes-base.manualTrigger', 1, [0, 0], {}),
			codeNode('Previous', [220, 0], makeRecords, count),
			DETECT,
			node('Commit', `${PACKAGE}.syncState`, 1, [700, -100], { store: 'builtin', syncId: 'bench', resource: 'record', operation: 'commit' }),
		],
		connections: {
			Start: { main: [[link('Previous')]] },
			Previous: { main: [[link('Change Detector')]] },
			'Change Detector': { main: [[link('Commit')]] },
		},
		settings: { executionOrder: 'v1' },
	};
}

/**
 * ours: Current -> Change Detector; compare: Current and Previous -> Compare Datasets;
 * previous: the Previous Code node even without Compare Datasets (a baseline).
 */
function measureWorkflow(count, { ours, compare, previous = compare }) {
	const nodes = [node('Start', 'n8n-nodes-base.manualTrigger', 1, [0, 0], {}), codeNode('Current', [220, -100], currentRecords, count)];
	const fromStart = [link('Current')];
	const fromCurrent = [];
	const connections = { Start: { main: [fromStart] }, Current: { main: [fromCurrent] } };
	if (ours) {
		nodes.push(DETECT);
		fromCurrent.push(link('Change Detector'));
	}
	if (previous) {
		nodes.push(codeNode('Previous', [220, 100], makeRecords, count));
		fromStart.push(link('Previous'));
	}
	if (compare) {
		nodes.push(COMPARE);
		fromCurrent.push(link('Compare Datasets', 0));
		connections.Previous = { main: [[link('Compare Datasets', 1)]] };
	}
	return { name: `Bench: measure ${count}`, nodes, connections, settings: { executionOrder: 'v1' } };
}

function detectorCounts(run) {
	return {
		created: outputCount(run, 'Change Detector', 0),
		updated: outputCount(run, 'Change Detector', 1),
		deleted: outputCount(run, 'Change Detector', 2),
	};
}

function compareCounts(run) {
	return {
		inAOnly: outputCount(run, 'Compare Datasets', 0),
		same: outputCount(run, 'Compare Datasets', 1),
		different: outputCount(run, 'Compare Datasets', 2),
		inBOnly: outputCount(run, 'Compare Datasets', 3),
	};
}

async function withUserFolder(label, log, work) {
	const folder = mkdtempSync(join(tmpdir(), `tws-bench-${label}-`));
	try {
		await installPackageInto(folder, { log });
		return await work(folder);
	} finally {
		rmSync(folder, { recursive: true, force: true });
	}
}

async function seed(folder, count, log) {
	const seeded = await execute(folder, await importWorkflow(folder, seedWorkflow(count)));
	const committed = outputCount(seeded.run, 'Commit', 0);
	log(`  seed: ${committed} records committed (Change Detector ${nodeMs(seeded.run, 'Change Detector')} ms, Commit ${nodeMs(seeded.run, 'Commit')} ms)`);
	if (committed !== count) throw new Error(`The seed run committed ${committed} of ${count} records`);
	return { detectMs: nodeMs(seeded.run, 'Change Detector'), commitMs: nodeMs(seeded.run, 'Commit'), peakRssMb: seeded.peakRssMb };
}

/**
 * Where the Change Detector's time went: the n8n process's samples from the first to the last one
 * that ran our package's code (only our node runs our code in that workflow).
 */
function summariseDetectorProfile(profileDir, keepDir) {
	const files = readdirSync(profileDir).filter((name) => name.endsWith('.cpuprofile'));
	if (files.length === 0) return { error: 'n8n wrote no CPU profile (it exits with process.exit; a crash at shutdown writes none)' };
	mkdirSync(keepDir, { recursive: true });
	const summaries = files.map((name) => {
		copyFileSync(join(profileDir, name), join(keepDir, name));
		// The node's own code runs only inside the execution: loading the package at start-up runs
		// the files' top level and the node classes, not these.
		const summary = summariseProfile(readProfile(join(profileDir, name)), { window: ranDetectorCode, group: areaOf, top: 20 });
		return { ...summary, file: join(keepDir, name) };
	});
	// Only the n8n process runs our code; a task runner's profile, if any, holds none.
	return summaries.sort((a, b) => b.windowMs - a.windowMs)[0];
}

const DETECTOR_CODE = ['ChangeDetector/helpers/', 'engine/detector/', 'engine/store/', 'shared/'].map((folder) => `/${PACKAGE}/dist/nodes/${folder}`);
/** The part of the work a function belongs to, for the profile's summary. */
function areaOf(url, functionName) {
	if (url.includes('/engine/hash.js') || url.startsWith('node:internal/crypto')) return 'hashing: canonical JSON + sha256';
	if (url.includes('/engine/store/') || url.startsWith('node:sqlite')) return 'store: reading the known records (SQLite)';
	if (url.includes('/engine/detector/')) return 'engine: keys, fields and classification';
	if (url.includes(`/${PACKAGE}/dist/`)) return 'node: settings and output items';
	if (url.includes('/n8n-workflow/') || url.includes('/n8n-core/') || url.includes('/n8n/dist/') || url.includes('/@n8n/')) return 'n8n itself';
	if (functionName === '(garbage collector)') return 'garbage collection';
	if (functionName === '(idle)' || functionName === '(program)') return 'idle or outside JavaScript';
	return 'other (Node internals, libraries)';
}

const ranDetectorCode = (url, functionName) => functionName !== '' && DETECTOR_CODE.some((part) => url.includes(part));

/**
 * Runs the comparison at each size, plus the memory and profile runs. Returns plain figures;
 * the caller writes them.
 */
export async function measureDetectorVsCompare({
	sizes,
	compareMax = 40_000,
	profileSize = 20_000,
	profileKeepDir = join(root, '.tmp', 'bench-profiles'),
	memory = true,
	log = defaultLog,
}) {
	await ensurePackageBuilt({ log });
	await ensureN8nInstalled({ log });
	const rows = [];
	let profile = null;
	for (const count of sizes) {
		const withCompare = count <= compareMax;
		log(`--- ${count} records${withCompare ? ', with Compare Datasets' : ', our path alone'} ---`);
		const row = await withUserFolder(`cmp-${count}`, log, async (folder) => {
			const seeded = await seed(folder, count, log);
			const measured = await execute(folder, await importWorkflow(folder, measureWorkflow(count, { ours: true, compare: withCompare })));
			const { run } = measured;
			const oursMs = nodeMs(run, 'Change Detector');
			const compareMs = withCompare ? nodeMs(run, 'Compare Datasets') : null;
			const result = {
				records: count,
				changeDetectorMs: oursMs,
				compareDatasetsMs: compareMs,
				ratio: compareMs === null ? null : Math.round((compareMs / oursMs) * 10) / 10,
				currentCodeMs: nodeMs(run, 'Current'),
				hashFloorMs: Math.round(hashFloorMs(count)),
				detected: detectorCounts(run),
				compared: withCompare ? compareCounts(run) : null,
				peakRssMb: measured.peakRssMb,
				taskRunnerPeakRssMb: measured.childrenPeakRssMb,
				cliWallMs: measured.wallMs,
				seed: seeded,
			};
			log(`  Change Detector ${oursMs} ms${withCompare ? `, Compare Datasets ${compareMs} ms (x${result.ratio})` : ''}, n8n peak RSS ${measured.peakRssMb} MB`);
			if (count === profileSize) {
				const profileDir = join(folder, 'profile');
				mkdirSync(profileDir);
				const profiled = await execute(folder, await importWorkflow(folder, measureWorkflow(count, { ours: true, compare: false })), {
					nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
				});
				profile = { records: count, changeDetectorMs: nodeMs(profiled.run, 'Change Detector'), ...summariseDetectorProfile(profileDir, profileKeepDir) };
				log(`  profiled: Change Detector ${profile.changeDetectorMs} ms under --cpu-prof, ${profile.totalMs} ms of samples`);
			}
			return result;
		});
		rows.push(row);
	}

	let memoryRuns = null;
	if (memory) {
		const largest = Math.max(...sizes);
		const compareAt = Math.min(compareMax, Math.max(...sizes.filter((size) => size <= compareMax)));
		const alone = async (label, count, paths) =>
			await withUserFolder(`mem-${label}-${count}`, log, async (folder) => {
				const measured = await execute(folder, await importWorkflow(folder, measureWorkflow(count, paths)));
				log(`  memory, ${label} at ${count}: n8n peak RSS ${measured.peakRssMb} MB`);
				return { records: count, peakRssMb: measured.peakRssMb, taskRunnerPeakRssMb: measured.childrenPeakRssMb };
			});
		log('--- memory runs ---');
		memoryRuns = {
			changeDetector: { records: largest, ...pick(rows.find((row) => row.records === largest)) },
			changeDetectorBaseline: await alone('code-nodes-only', largest, { ours: false, compare: false }),
			compareDatasets: await alone('compare-datasets', compareAt, { ours: false, compare: true }),
			compareDatasetsBaseline: await alone('code-nodes-only', compareAt, { ours: false, compare: false, previous: true }),
		};
	}
	return { rows, memory: memoryRuns, profile };
}

function pick(row) {
	return { peakRssMb: row.peakRssMb, taskRunnerPeakRssMb: row.taskRunnerPeakRssMb, changeDetectorMs: row.changeDetectorMs };
}

export function comparisonTable(result) {
	const lines = ['records  Change Detector ms  Compare Datasets ms   ratio  hash floor ms  n8n peak RSS MB'];
	for (const row of result.rows) {
		lines.push(
			`${String(row.records).padStart(7)}  ${String(row.changeDetectorMs).padStart(17)}  ${String(row.compareDatasetsMs ?? 'skipped').padStart(19)}  ${String(row.ratio ?? '-').padStart(6)}  ${String(row.hashFloorMs).padStart(13)}  ${String(row.peakRssMb).padStart(15)}`,
		);
	}
	return lines.join('\n');
}

async function main() {
	const result = await measureDetectorVsCompare({
		sizes: option('sizes', '1000,5000,10000,20000,40000,100000').split(',').map(Number),
		compareMax: Number(option('compare-max', 40_000)),
		profileSize: Number(option('profile-size', 20_000)),
	});
	const report = {
		benchmark: 'Change Detector vs Compare Datasets in one real n8n run',
		date: new Date().toISOString(),
		node: process.version,
		cpu: `${cpus()[0]?.model ?? 'unknown'} x${cpus().length}`,
		...result,
	};
	mkdirSync(join(root, 'bench', 'results'), { recursive: true });
	const file = join(root, 'bench', 'results', `detectorVsCompare-n8n-${report.date.slice(0, 10)}.json`);
	writeFileSync(file, `${JSON.stringify(report, null, '\t')}\n`);
	console.log(comparisonTable(result));
	console.log(`Written to ${file}`);
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) await main();
