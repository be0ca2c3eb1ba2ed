// Conflict Resolver node time inside the real n8n 2.41.1 (the CLI in e2e/n8n-host), beside n8n's
// own Compare Datasets node on the same items in the same run.
//
// Per size N: a Code node makes N changes of the CRM (mapped into the ERP's schema, with `_sync` in
// JSON) and another the ERP's N current records, 20 fields each plus a shared `ref`; the same
// workload as bench/conflictResolver.mjs (each side edited 2 fields, 10% true conflicts). The
// Resolver pairs them through a built-in store seeded with the N links and bases; Compare Datasets
// matches them on `ref`. Times are n8n's own per-node executionTime from the run.
// n8n prints the whole run as JSON (every node's items), so sizes stay moderate by default.
// Run: node_modules/.bin/node bench/conflictResolver.n8n.mjs [--sizes 2000,5000,10000]
// Writes bench/results/conflictResolver-n8n-<date>.json and prints a table.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import {
	describePackageNodes,
	ensureN8nInstalled,
	ensurePackageBuilt,
	executeWorkflow,
	importWorkflow,
	installPackageInto,
} from '../scripts/n8n-host.mjs';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function option(name, fallback) {
	const index = process.argv.indexOf(`--${name}`);
	return index === -1 ? fallback : process.argv[index + 1];
}

const SIZES = option('sizes', '2000,5000,10000').split(',').map(Number);
const FIELD_COUNT = 20;

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

function workflowFor(count, resolverType, databaseFile) {
	return {
		name: `Conflict Resolver bench ${count}`,
		nodes: [
			{ parameters: {}, name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0] },
			codeNode('CRM Changes', [220, -100], crmChanges, count),
			codeNode('ERP Records', [220, 100], erpRecords, count),
			{
				parameters: {
					store: 'builtin',
					databaseFile,
					syncId: 'bench',
					systemX: 'crm',
					systemY: 'erp',
					yKeyField: 'id',
					strategy: 'merge',
					tieStrategy: 'priority',
					prioritySystem: 'x',
				},
				name: 'Conflict Resolver',
				type: resolverType,
				typeVersion: 1,
				position: [480, 0],
			},
			{
				parameters: { mergeByFields: { values: [{ field1: 'ref', field2: 'ref' }] }, options: {} },
				name: 'Compare Datasets',
				type: 'n8n-nodes-base.compareDatasets',
				typeVersion: 2.3,
				position: [480, 240],
			},
		],
		connections: {
			Start: { main: [[{ node: 'CRM Changes', type: 'main', index: 0 }, { node: 'ERP Records', type: 'main', index: 0 }]] },
			'CRM Changes': { main: [[{ node: 'Conflict Resolver', type: 'main', index: 0 }, { node: 'Compare Datasets', type: 'main', index: 0 }]] },
			'ERP Records': { main: [[{ node: 'Conflict Resolver', type: 'main', index: 1 }, { node: 'Compare Datasets', type: 'main', index: 1 }]] },
		},
		settings: { executionOrder: 'v1' },
	};
}

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

const log = (line) => process.stderr.write(`${line}\n`);
await ensureN8nInstalled({ log });
await ensurePackageBuilt({ log });
const resolverType = describePackageNodes().find((node) => node.name === 'conflictResolver').type;

const rows = [];
for (const size of SIZES) {
	const userFolder = mkdtempSync(join(tmpdir(), 'tws-bench-resolver-'));
	try {
		await installPackageInto(userFolder, { log });
		const databaseFile = join(userFolder, 'state.sqlite');
		await seedStore(databaseFile, size);
		const id = await importWorkflow(userFolder, workflowFor(size, resolverType, databaseFile));
		const run = await executeWorkflow(userFolder, id, { log });
		if (run.status !== 'success') throw new Error(`The bench run at ${size} failed: ${JSON.stringify(run.data?.resultData?.error)}`);
		const runData = run.data.resultData.runData;
		const resolver = runData['Conflict Resolver'][0];
		const compare = runData['Compare Datasets'][0];
		const outputs = Object.fromEntries(['applyToY', 'applyToX', 'review', 'noChange'].map((name, index) => [name, resolver.data.main[index]?.length ?? 0]));
		rows.push({
			pairs: size,
			fields: FIELD_COUNT,
			resolverMs: resolver.executionTime,
			compareDatasetsMs: compare.executionTime,
			resolverUsPerPair: Number(((resolver.executionTime * 1000) / size).toFixed(1)),
			compareDatasetsUsPerPair: Number(((compare.executionTime * 1000) / size).toFixed(1)),
			outputs,
		});
		log(`  ${size} pairs: Conflict Resolver ${resolver.executionTime} ms, Compare Datasets ${compare.executionTime} ms`);
	} finally {
		rmSync(userFolder, { recursive: true, force: true });
	}
}

const summary = {
	benchmark: 'conflictResolver-n8n',
	date: new Date().toISOString(),
	n8n: '2.41.1',
	node: process.version,
	cpu: cpus()[0]?.model ?? 'unknown',
	cores: cpus().length,
	workload: 'as bench/conflictResolver.mjs; ERP side as current records (no metadata), paired through the seeded links',
	timing: "n8n's executionTime of each node in one `n8n execute` run",
	rows,
};
const resultsDir = join(root, 'bench', 'results');
mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, `conflictResolver-n8n-${summary.date.slice(0, 10)}.json`);
writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);

console.log('pairs     Conflict Resolver ms  us/pair   Compare Datasets ms  us/pair');
for (const row of rows) {
	console.log(
		`${String(row.pairs).padEnd(9)} ${String(row.resolverMs).padStart(20)}  ${String(row.resolverUsPerPair).padStart(7)}   ${String(row.compareDatasetsMs).padStart(19)}  ${String(row.compareDatasetsUsPerPair).padStart(7)}`,
	);
}
console.log(`Wrote ${file}`);
