// Conflict Resolver node time inside the real n8n 2.41.1 (the CLI in e2e/n8n-host), against the
// floor of one pass that compares the fields, beside n8n's own Compare Datasets node on the same
// items in the same run.
//
// Per size N, in a fresh n8n user folder: a Code node makes N changes of the CRM (mapped into the
// ERP's schema, with `_sync` in JSON) and another the ERP's N current records, 20 fields each plus a
// shared `ref`; the same workload as bench/conflictResolver.mjs (each side edited 2 fields, 10% true
// conflicts). The Resolver pairs them through a built-in store seeded here with the N links and
// bases; Compare Datasets matches them on `ref`. Compare Datasets scans input 2 for every item of
// input 1 (O(N x M), 69 s at 40k), so it runs only up to --compare-max; above that the run holds our
// path alone. Times are each node's executionTime from n8n's run JSON, one `n8n execute` per size.
//
// Keeping the run JSON small: `n8n execute --rawOutput` prints the whole run, every node's items,
// as indented JSON: 76 MB at 10k pairs without Compare Datasets, so some 760 MB at 100k, more than
// the longest string V8 allows (about 512 MB), for n8n's JSON.stringify and for the reader here.
// So n8n loads an external hook (EXTERNAL_HOOK_FILES, written into the user folder) whose
// `workflow.postExecute` runs after the last node, before n8n prints: it replaces each node's
// output items with their counts (`outputItemCounts`) and adds the n8n process's peak RSS.
// executionTime is untouched: n8n recorded it when each node finished. The workflow also sets
// saveDataSuccessExecution to 'none', so n8n does not serialise the full run into its own database
// after the run.
//
// Floor: floor(makeWorkload(N)) of bench/conflictResolver.mjs, one pass over N paired records
// comparing their 20 fields with ===, timed in this process: the median of 7 rounds after one
// untimed warm-up, each after a full garbage collection (bench/rounds.mjs).
// Split at the largest size, timed in this process after the n8n run, each the median of 7 rounds
// after a full garbage collection:
//   store:  what the node does with the store: open the same seeded file, look up X's N keys,
//           take Y's keys linked to them from that answer (knownThroughX), look up Y's other keys
//           (none here), close;
//   engine: resolveChanges on the changes the node reads from the same items (records without
//           `_sync`, the ERP side keyed by `id`), the looked-up links, and the options the node's
//           own readSettings makes of its parameters;
//   rest:   the node's executionTime minus both: reading the input items and building the output
//           items inside n8n (and whatever the two parts cost more there, in n8n's fuller heap).
//
// Run after `npm run build`: node_modules/.bin/node bench/conflictResolver.n8n.mjs [--sizes 1000,10000,100000] [--compare-max 40000]
// Writes bench/results/conflictResolver-n8n-<date>.json and prints a table. bench/run.mjs imports
// measureResolverInN8n.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import {
	describePackageNodes,
	ensureN8nInstalled,
	ensurePackageBuilt,
	executeWorkflow,
	importWorkflow,
	installPackageInto,
} from '../scripts/n8n-host.mjs';
import { median, settleHeap } from './rounds.mjs';
import { option } from './options.mjs';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const defaultLog = (line) => process.stderr.write(`${line}\n`);

const FIELD_COUNT = 20;
const ROUNDS = 7;
const OUTPUT_NAMES = ['applyToY', 'applyToX', 'review', 'noChange'];

export const METHOD =
	"one n8n 2.41.1 CLI run (n8n execute) per size, package installed as a community node; Code nodes make N CRM changes (input 1) and the ERP's N current records (input 2), paired by the Resolver through a built-in store seeded with the N links and bases, and matched on ref by Compare Datasets in the same run; times are each node's executionTime from the run JSON";

/** Shared by the seeding here and the Code nodes in n8n, so the bases match the records. */
function baseRecord(index, fieldCount) {
	const record = { ref: `r${index}` };
	for (let field = 0; field < fieldCount; field++) {
		record[`f${field}`] = field % 3 === 0 ? index * 31 + field : `value ${index % 997} of field ${field}`;
	}
	return record;
}

function crmChanges(count, fieldCount, makeBase) {
	const items = [];
	for (let index = 0; index < count; index++) {
		const record = makeBase(index, fieldCount);
		const first = index % fieldCount;
		record[`f${first}`] = `crm edit ${index}`;
		record[`f${(first + 5) % fieldCount}`] = `crm edit b ${index}`;
		record._sync = { syncId: 'bench', system: 'crm', key: `c${index}`, op: 'update', hash: `hx${index}`, target: { system: 'erp', key: `E${index}`, op: 'update' } };
		items.push({ json: record });
	}
	return items;
}

function erpRecords(count, fieldCount, makeBase) {
	const items = [];
	for (let index = 0; index < count; index++) {
		const record = { id: `E${index}`, ...makeBase(index, fieldCount) };
		const first = index % fieldCount;
		record[`f${index % 10 === 0 ? first : (first + 10) % fieldCount}`] = `erp edit ${index}`;
		record[`f${(first + 15) % fieldCount}`] = `erp edit b ${index}`;
		items.push({ json: record });
	}
	return items;
}

function codeNode(name, position, make, count) {
	return {
		parameters: {
			mode: 'runOnceForAllItems',
			language: 'javaScript',
			jsCode: `${baseRecord.toString()}\n${make.toString()}\nreturn ${make.name}(${count}, ${FIELD_COUNT}, baseRecord);`,
		},
		name,
		type: 'n8n-nodes-base.code',
		typeVersion: 2,
		position,
	};
}

/** The Resolver's parameters in the workflow; the split reads the node's options from the same. */
function resolverParameters(databaseFile) {
	return {
		store: 'builtin',
		databaseFile,
		syncId: 'bench',
		systemX: 'crm',
		systemY: 'erp',
		yKeyField: 'id',
		strategy: 'merge',
		tieStrategy: 'priority',
		prioritySystem: 'x',
	};
}

function workflowFor(count, resolverType, databaseFile, withCompare) {
	const link = (node, index) => ({ node, type: 'main', index });
	const fromCrm = [link('Conflict Resolver', 0)];
	const fromErp = [link('Conflict Resolver', 1)];
	const nodes = [
		{ parameters: {}, name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0] },
		codeNode('CRM Changes', [220, -100], crmChanges, count),
		codeNode('ERP Records', [220, 100], erpRecords, count),
		{ parameters: resolverParameters(databaseFile), name: 'Conflict Resolver', type: resolverType, typeVersion: 1, position: [480, 0] },
	];
	if (withCompare) {
		nodes.push({
			parameters: { mergeByFields: { values: [{ field1: 'ref', field2: 'ref' }] }, options: {} },
			name: 'Compare Datasets',
			type: 'n8n-nodes-base.compareDatasets',
			typeVersion: 2.3,
			position: [480, 240],
		});
		fromCrm.push(link('Compare Datasets', 0));
		fromErp.push(link('Compare Datasets', 1));
	}
	return {
		name: `Conflict Resolver bench ${count}`,
		nodes,
		connections: {
			Start: { main: [[link('CRM Changes', 0), link('ERP Records', 0)]] },
			'CRM Changes': { main: [fromCrm] },
			'ERP Records': { main: [fromErp] },
		},
		// The figures come from the printed run; a copy in n8n's database would only cost time and memory.
		settings: { executionOrder: 'v1', saveDataSuccessExecution: 'none' },
	};
}

// n8n's external hook (CommonJS, required by n8n): after the last node, before n8n prints the run.
const SLIM_RUN_HOOK = `// Written by bench/conflictResolver.n8n.mjs: keeps the printed run small (see its header).
module.exports = {
	workflow: {
		postExecute: [
			async function slimRun(run) {
				for (const tasks of Object.values(run.data.resultData.runData)) {
					for (const task of tasks) {
						const main = task.data?.main ?? [];
						task.outputItemCounts = main.map((items) => items?.length ?? 0);
						task.data = { main: main.map(() => []) };
					}
				}
				run.benchPeakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
			},
		],
	},
};
`;

/** The links and ERP bases the Resolver reads, written with the package's own store. */
async function seedStore(databaseFile, count) {
	const { openBuiltinStore } = require(join(root, 'dist/nodes/engine/store/sqlite.js'));
	const store = await openBuiltinStore({ filePath: databaseFile });
	try {
		const inputs = [];
		for (let index = 0; index < count; index++) {
			inputs.push({
				sides: [
					{ system: 'crm', key: `c${index}`, seenHash: `old${index}` },
					{ system: 'erp', key: `E${index}`, base: baseRecord(index, FIELD_COUNT) },
				],
			});
		}
		await store.commit('bench', inputs);
	} finally {
		await store.close();
	}
}

const elapsedMs = (started) => Number(process.hrtime.bigint() - started) / 1e6;
const round2 = (value) => Math.round(value * 100) / 100;

/** floor(makeWorkload(N)) of bench/conflictResolver.mjs: the median of ROUNDS after a warm-up, each after a full GC. */
function floorMs(count, { makeWorkload, floor }) {
	const workload = makeWorkload(count);
	// One untimed pass first, as bench/conflictResolver.mjs does: the floor is the pass, not its compilation.
	floor(workload);
	const times = [];
	for (let round = 0; round < ROUNDS; round++) {
		settleHeap();
		const started = process.hrtime.bigint();
		const differing = floor(workload);
		times.push(elapsedMs(started));
		if (differing === 0) throw new Error('The floor found no differing fields');
	}
	return median(times);
}

/** The changes the node reads from the Code nodes' items (nodes/ConflictResolver/helpers/inputs.ts). */
function nodeChanges(count) {
	const x = crmChanges(count, FIELD_COUNT, baseRecord).map(({ json }, index) => {
		const { _sync: meta, ...record } = json;
		return { index, key: meta.key, op: meta.op, record, hash: meta.hash };
	});
	// Plain current records on input 2: keyed by the Key Field of Y Records, nothing changed on their own.
	const y = erpRecords(count, FIELD_COUNT, baseRecord).map(({ json }, index) => ({ index, key: String(json.id), op: 'none', record: json }));
	return { x, y };
}

/** The options the node's readSettings makes of its parameters, with n8n's defaults for the rest. */
function nodeOptions(parameters) {
	const { ConflictResolver } = require(join(root, 'dist/nodes/ConflictResolver/ConflictResolver.node.js'));
	const { readSettings } = require(join(root, 'dist/nodes/ConflictResolver/helpers/options.js'));
	const defaults = Object.fromEntries(new ConflictResolver().description.properties.map((property) => [property.name, property.default]));
	const ctx = {
		getNode: () => ({ name: 'Conflict Resolver', type: 'conflictResolver' }),
		getNodeParameter: (name, _index, fallback) => parameters[name] ?? defaults[name] ?? fallback,
	};
	const settings = readSettings(ctx);
	if (settings.customRules.size > 0) throw new Error('The bench workflow has no custom rules to evaluate');
	return settings.options;
}

/** Store look-ups and engine as the node runs them, timed here against the same seeded store file. */
async function splitNodeTime(databaseFile, count, row) {
	const { openBuiltinStore } = require(join(root, 'dist/nodes/engine/store/sqlite.js'));
	const { knownThroughX, resolveChanges } = require(join(root, 'dist/nodes/engine/resolver/index.js'));
	const { x, y } = nodeChanges(count);
	const keysOf = (changes) => [...new Set(changes.map((change) => change.key))];
	const [xKeys, yKeys] = [keysOf(x), keysOf(y)];

	const storeRounds = [];
	let known;
	for (let round = 0; round < ROUNDS; round++) {
		settleHeap();
		const started = process.hrtime.bigint();
		const store = await openBuiltinStore({ filePath: databaseFile });
		const opened = elapsedMs(started);
		const lookedUpX = await store.lookUp('bench', 'crm', xKeys);
		const xDone = elapsedMs(started);
		// As the node does: Y's keys linked to X's changes come with X's look-up; only the rest are looked up.
		const { known: lookedUpY, missing } = knownThroughX(lookedUpX, 'erp', yKeys);
		if (missing.length > 0) for (const [key, entity] of await store.lookUp('bench', 'erp', missing)) lookedUpY.set(key, entity);
		const yDone = elapsedMs(started);
		await store.close();
		const total = elapsedMs(started);
		storeRounds.push({ openMs: opened, lookUpXMs: xDone - opened, lookUpYMs: yDone - xDone, closeMs: total - yDone, totalMs: total });
		known = { x: lookedUpX, y: lookedUpY };
	}
	if (known.x.size !== count || known.y.size !== count) throw new Error(`The store found ${known.x.size} and ${known.y.size} of ${count} links`);

	const options = nodeOptions(resolverParameters(databaseFile));
	const engineRounds = [];
	let result;
	for (let round = 0; round < ROUNDS; round++) {
		settleHeap();
		const started = process.hrtime.bigint();
		result = resolveChanges({ x, y, known }, options);
		engineRounds.push(elapsedMs(started));
	}
	const engineOutputs = Object.fromEntries(OUTPUT_NAMES.map((name) => [name, 0]));
	for (const item of result.items) engineOutputs[item.output]++;
	const sameOutputsAsNode = result.failures.length === 0 && OUTPUT_NAMES.every((name) => engineOutputs[name] === row.outputs[name]);

	const medianOf = (part) => round2(median(storeRounds.map((measured) => measured[part])));
	const storeMs = medianOf('totalMs');
	const engineMs = round2(median(engineRounds));
	return {
		pairs: count,
		rounds: ROUNDS,
		resolverMs: row.resolverMs,
		store: {
			ms: storeMs,
			openMs: medianOf('openMs'),
			lookUpXMs: medianOf('lookUpXMs'),
			lookUpYMs: medianOf('lookUpYMs'),
			closeMs: medianOf('closeMs'),
			firstRoundMs: round2(storeRounds[0].totalMs),
		},
		engine: { ms: engineMs, firstRoundMs: round2(engineRounds[0]), outputs: engineOutputs, failures: result.failures.length, sameOutputsAsNode },
		restMs: round2(row.resolverMs - storeMs - engineMs),
	};
}

/**
 * Runs the Resolver (and Compare Datasets up to compareMax) in n8n at each size, times the floor
 * per size and splits the node's time at the largest. Returns plain figures; the caller writes them.
 */
export async function measureResolverInN8n({ sizes, compareMax = 40_000, log = defaultLog }) {
	await ensurePackageBuilt({ log });
	await ensureN8nInstalled({ log });
	// Imported after the build check: conflictResolver.mjs loads the engine from dist/ when imported.
	const floorBench = await import('./conflictResolver.mjs');
	const resolverType = describePackageNodes().find((node) => node.name === 'conflictResolver').type;
	const largest = Math.max(...sizes);
	const rows = [];
	let split = null;
	for (const size of sizes) {
		const withCompare = size <= compareMax;
		log(`--- ${size} pairs${withCompare ? ', with Compare Datasets' : ', our path alone'} ---`);
		const userFolder = mkdtempSync(join(tmpdir(), 'tws-bench-resolver-'));
		try {
			await installPackageInto(userFolder, { log });
			const databaseFile = join(userFolder, 'state.sqlite');
			await seedStore(databaseFile, size);
			const hookFile = join(userFolder, 'slim-run-hook.cjs');
			writeFileSync(hookFile, SLIM_RUN_HOOK);
			const id = await importWorkflow(userFolder, workflowFor(size, resolverType, databaseFile, withCompare));
			let cliWallMs = null;
			const run = await executeWorkflow(userFolder, id, { log, env: { EXTERNAL_HOOK_FILES: hookFile }, onTiming: (timing) => (cliWallMs = timing.ms) });
			if (run.status !== 'success') throw new Error(`The bench run at ${size} failed: ${JSON.stringify(run.data?.resultData?.error)}`);
			const runData = run.data.resultData.runData;
			const resolver = runData['Conflict Resolver'][0];
			if (!resolver.outputItemCounts) throw new Error('The run JSON has no outputItemCounts: n8n did not load the external hook');
			const compareMs = withCompare ? runData['Compare Datasets'][0].executionTime : null;
			const floor = round2(floorMs(size, floorBench));
			const row = {
				pairs: size,
				fields: FIELD_COUNT,
				resolverMs: resolver.executionTime,
				resolverUsPerPair: round2((resolver.executionTime * 1000) / size),
				floorMs: floor,
				resolverOverFloor: Math.round((resolver.executionTime / floor) * 10) / 10,
				compareDatasetsMs: compareMs,
				compareDatasetsUsPerPair: compareMs === null ? null : round2((compareMs * 1000) / size),
				outputs: Object.fromEntries(OUTPUT_NAMES.map((name, index) => [name, resolver.outputItemCounts[index] ?? 0])),
				n8nPeakRssMb: run.benchPeakRssMb,
				cliWallMs,
			};
			rows.push(row);
			log(
				`  Conflict Resolver ${row.resolverMs} ms (floor ${row.floorMs} ms, x${row.resolverOverFloor})${withCompare ? `, Compare Datasets ${compareMs} ms` : ''}, n8n peak RSS ${row.n8nPeakRssMb} MB, CLI ${Math.round(cliWallMs / 1000)} s`,
			);
			if (size === largest) {
				split = await splitNodeTime(databaseFile, size, row);
				log(`  split: store ${split.store.ms} ms, engine ${split.engine.ms} ms, rest ${split.restMs} ms${split.engine.sameOutputsAsNode ? '' : ' (the engine here did NOT give the node\'s outputs)'}`);
			}
		} finally {
			rmSync(userFolder, { recursive: true, force: true });
		}
	}
	return {
		compareMax,
		rounds: ROUNDS,
		workload: 'as bench/conflictResolver.mjs: 20 fields, each side edited 2 fields, 10% true conflicts settled by priority; the ERP side as current records (no metadata), paired through the seeded links',
		floor: `floor(makeWorkload(N)) of bench/conflictResolver.mjs: one pass over the N paired records comparing their 20 fields with ===, in the bench process, median of ${ROUNDS} rounds after one warm-up, each after a full GC`,
		split: split && {
			method: `at the largest size, in the bench process after the n8n run, median of ${ROUNDS} rounds each after a full GC: store = open the same seeded store file, look up both sides' N keys, close; engine = resolveChanges on the same changes with the looked-up links and the node's own options; rest = the node's executionTime minus both (reading input items, building output items)`,
			...split,
		},
		rows,
	};
}

export function resolverTable(result) {
	const lines = ['pairs    Conflict Resolver ms  us/pair  floor ms  node/floor  Compare Datasets ms  us/pair  outputs (Y / X / review / none)'];
	for (const row of result.rows) {
		lines.push(
			`${String(row.pairs).padEnd(8)} ${String(row.resolverMs).padStart(20)}  ${String(row.resolverUsPerPair).padStart(7)}  ${String(row.floorMs).padStart(8)}  ${String(row.resolverOverFloor).padStart(10)}  ${String(row.compareDatasetsMs ?? 'skipped').padStart(19)}  ${String(row.compareDatasetsUsPerPair ?? '-').padStart(7)}  ${OUTPUT_NAMES.map((name) => row.outputs[name]).join(' / ')}`,
		);
	}
	const { split } = result;
	if (split) {
		lines.push(
			`Split at ${split.pairs} pairs (node ${split.resolverMs} ms): store ${split.store.ms} ms (open ${split.store.openMs}, look up X ${split.store.lookUpXMs}, look up Y ${split.store.lookUpYMs}, close ${split.store.closeMs}; first round ${split.store.firstRoundMs}), engine ${split.engine.ms} ms (first round ${split.engine.firstRoundMs}; same outputs as the node: ${split.engine.sameOutputsAsNode}), rest ${split.restMs} ms`,
		);
	}
	return lines.join('\n');
}

async function main() {
	const result = await measureResolverInN8n({
		sizes: option('sizes', '1000,10000,100000').split(',').map(Number),
		compareMax: Number(option('compare-max', 40_000)),
	});
	const summary = {
		benchmark: 'conflictResolver-n8n',
		date: new Date().toISOString(),
		n8n: '2.41.1',
		node: process.version,
		cpu: cpus()[0]?.model ?? 'unknown',
		cores: cpus().length,
		method: METHOD,
		...result,
	};
	const resultsDir = join(root, 'bench', 'results');
	mkdirSync(resultsDir, { recursive: true });
	const file = join(resultsDir, `conflictResolver-n8n-${summary.date.slice(0, 10)}.json`);
	writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
	console.log(resolverTable(result));
	console.log(`Wrote ${file}`);
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) await main();
