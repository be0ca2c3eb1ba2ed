// Change Detector inside a real n8n 2.41.1 run (n8n CLI, package installed as a community node),
// reading a real PostgreSQL table with n8n's own Postgres node.
//
// Per size: run 1 (seed) detects every row as created and commits them with Sync State; then 5%
// of the rows are edited, 3% inserted and 2% deleted; run 2 (measured) detects the changes on a
// full snapshot. Reported: the node's own execution time from n8n's run data, the whole CLI run,
// and the n8n process's peak RSS (VmHWM). For comparison, run 2 also feeds the same rows, and the
// table as it was before the edits, to n8n's Compare Datasets node (matched on id), at the sizes
// given by --compare-sizes (it pairs items by scanning, so it grows with the square of the rows).
//
// Needs a PostgreSQL server: TWS_BENCH_PG_URL, else postgres://postgres@127.0.0.1:5432/postgres.
// Run after `npm run build`: node_modules/.bin/node bench/changeDetector-n8n.mjs [--sizes 10000,100000] [--compare-sizes 10000]
// Writes bench/results/changeDetector-n8n-<date>.json and prints a table.
// bench/run.mjs (through bench/detectorVsCompare.n8n.mjs) imports execute, nodeMs and outputCount.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { option } from './options.mjs';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const host = await import(join(root, 'scripts', 'n8n-host.mjs'));
const { Client } = require('pg');

const SERVER_URL = process.env.TWS_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const N8N_BIN = join(host.HOST_DIR, 'node_modules', 'n8n', 'bin', 'n8n');
const PG_CREDENTIAL = { id: 'BenchDetectorPg01', name: 'Bench contacts' };
const log = (line) => process.stderr.write(`${line}\n`);

async function createDatabase() {
	const name = `tws_bench_detector_${randomBytes(4).toString('hex')}`;
	const admin = new Client({ connectionString: SERVER_URL });
	await admin.connect();
	await admin.query(`CREATE DATABASE ${name}`);
	await admin.end();
	const url = new URL(SERVER_URL);
	url.pathname = `/${name}`;
	return {
		name,
		url: url.toString(),
		credential: { host: url.hostname, port: Number(url.port || 5432), database: name, user: decodeURIComponent(url.username), password: decodeURIComponent(url.password), ssl: 'disable' },
		async drop() {
			const again = new Client({ connectionString: SERVER_URL });
			await again.connect();
			await again.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
			await again.end();
		},
	};
}

const COLUMNS = 'id, name, email, company, score, active, city, zip, updated_at';

async function seedTable(client, size) {
	await client.query(`CREATE TABLE contacts (id integer PRIMARY KEY, name text, email text, company text, score double precision,
		active boolean, city text, zip text, updated_at timestamptz NOT NULL DEFAULT clock_timestamp())`);
	await client.query(
		`INSERT INTO contacts (${COLUMNS})
		SELECT i, 'Contact ' || i, 'user' || i || '@example.com', 'Company ' || (i % 311), (i % 1000) / 10.0, i % 3 <> 0,
			'City ' || (i % 101), lpad((i % 99999)::text, 5, '0'), timestamptz '2026-01-01' + i * interval '1 second'
		FROM generate_series(0, $1 - 1) AS i`,
		[size],
	);
}

async function changeTable(client, size) {
	await client.query('CREATE TABLE contacts_before AS SELECT * FROM contacts');
	await client.query(`UPDATE contacts SET name = name || ' (edited)', updated_at = clock_timestamp() WHERE id % 100 BETWEEN 90 AND 94`);
	await client.query('DELETE FROM contacts WHERE id % 100 >= 98');
	await client.query(
		`INSERT INTO contacts (${COLUMNS})
		SELECT i, 'New ' || i, 'new' || i || '@example.com', 'Company 1', 1.5, true, 'City 1', '00001', clock_timestamp()
		FROM generate_series($1::integer, $1::integer + $2::integer - 1) AS i`,
		[size, Math.round(size * 0.03)],
	);
}

function node(name, type, typeVersion, x, y, parameters, extra = {}) {
	return { id: `${name.toLowerCase().replace(/\W+/g, '-')}-bench`, name, type, typeVersion, position: [x, y], parameters, ...extra };
}

const read = (name, table, y) =>
	node(name, 'n8n-nodes-base.postgres', 2.6, 220, y, { operation: 'executeQuery', query: `SELECT ${COLUMNS} FROM ${table} ORDER BY id`, options: {} }, { credentials: { postgres: PG_CREDENTIAL } });

const detect = node('Detect', 'n8n-nodes-two-way-sync.changeDetector', 1, 440, 0, {
	syncId: 'bench',
	system: 'db',
	mode: 'snapshot',
	keyFields: 'id',
	fullSnapshot: true,
	ignoreFields: 'updated_at',
});

function seedWorkflow() {
	return {
		name: 'Bench: seed',
		nodes: [node('Start', 'n8n-nodes-base.manualTrigger', 1, 0, 0, {}), read('Read', 'contacts', 0), detect, node('Commit', 'n8n-nodes-two-way-sync.syncState', 1, 660, 0, { syncId: 'bench', resource: 'record', operation: 'commit' })],
		connections: {
			Start: { main: [[{ node: 'Read', type: 'main', index: 0 }]] },
			Read: { main: [[{ node: 'Detect', type: 'main', index: 0 }]] },
			Detect: { main: [[{ node: 'Commit', type: 'main', index: 0 }]] },
		},
		settings: { executionOrder: 'v1' },
	};
}

function measureWorkflow(withCompare) {
	const nodes = [node('Start', 'n8n-nodes-base.manualTrigger', 1, 0, 0, {}), read('Read', 'contacts', 0), detect];
	const connections = {
		Start: { main: [[{ node: 'Read', type: 'main', index: 0 }]] },
		Read: { main: [[{ node: 'Detect', type: 'main', index: 0 }]] },
	};
	if (withCompare) {
		nodes.push(
			read('Read Before', 'contacts_before', 200),
			node('Compare Datasets', 'n8n-nodes-base.compareDatasets', 2.3, 660, 200, {
				mergeByFields: { values: [{ field1: 'id', field2: 'id' }] },
				resolve: 'preferInput1',
				options: { skipFields: 'updated_at' },
			}),
		);
		connections.Start.main[0].push({ node: 'Read Before', type: 'main', index: 0 });
		connections.Read.main[0].push({ node: 'Compare Datasets', type: 'main', index: 0 });
		connections['Read Before'] = { main: [[{ node: 'Compare Datasets', type: 'main', index: 1 }]] };
	}
	return { name: 'Bench: measure', nodes, connections, settings: { executionOrder: 'v1' } };
}

/** Peak RSS (VmHWM, kB) of a process, or 0 once it has gone. */
function peakKbOf(pid) {
	try {
		const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
		return match ? Number(match[1]) : 0;
	} catch {
		return 0;
	}
}

/** The pids of a process's children (n8n's task runner, which runs the Code nodes). */
function childPids(pid) {
	try {
		return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
	} catch {
		return [];
	}
}

/**
 * `n8n execute`, watching the peak RSS (VmHWM) of the n8n process, where the nodes run, and of its
 * children (the task runner of the Code nodes) while it runs. `nodeArgs` go to Node itself
 * (e.g. --cpu-prof).
 */
export async function execute(folder, id, { nodeArgs = [] } = {}) {
	const brokerPort = await host.freePort();
	const started = Date.now();
	// Into a file, not a pipe: n8n exits right after printing, and Node writes files synchronously,
	// so a run JSON of many megabytes arrives whole (through a pipe its end is cut off).
	const outputFile = join(folder, `run-${id}.json`);
	const outputFd = openSync(outputFile, 'w');
	const child = spawn(host.NODE24, [...nodeArgs, N8N_BIN, 'execute', `--id=${id}`, '--rawOutput'], {
		cwd: folder,
		env: host.n8nEnv(folder, { N8N_RUNNERS_BROKER_PORT: String(brokerPort), N8N_LOG_LEVEL: 'info' }),
		stdio: ['ignore', outputFd, 'pipe'],
	});
	closeSync(outputFd);
	let stderr = '';
	child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
	let peakKb = 0;
	const childPeakKb = new Map();
	const watch = setInterval(() => {
		peakKb = Math.max(peakKb, peakKbOf(child.pid));
		for (const pid of childPids(child.pid)) childPeakKb.set(pid, Math.max(childPeakKb.get(pid) ?? 0, peakKbOf(pid)));
	}, 50);
	const code = await new Promise((resolve) => child.on('close', resolve));
	clearInterval(watch);
	const stdout = readFileSync(outputFile, 'utf8');
	const run = host.parseRunJson(stdout) ?? host.parseRunJson(stderr);
	if (!run) throw new Error(`n8n execute printed no run (exit ${code}).\n${stdout.slice(-1500)}\n${stderr.slice(-1500)}`);
	if (run.status !== 'success') throw new Error(`The run ended with ${run.status}: ${JSON.stringify(run.data.resultData.error)}`);
	const childrenPeakKb = [...childPeakKb.values()].reduce((sum, kb) => sum + kb, 0);
	return { run, wallMs: Date.now() - started, peakRssMb: Math.round(peakKb / 1024), childrenPeakRssMb: Math.round(childrenPeakKb / 1024) };
}

export const nodeMs = (run, name) => run.data.resultData.runData[name]?.[0]?.executionTime;
export const outputCount = (run, name, output) => run.data.resultData.runData[name]?.[0]?.data?.main?.[output]?.length ?? 0;

async function main() {
	const SIZES = option('sizes', '10000,100000').split(',').map(Number);
	const COMPARE_SIZES = new Set(option('compare-sizes', '10000').split(',').filter(Boolean).map(Number));
	await host.ensurePackageBuilt({ log });
	await host.ensureN8nInstalled({ log });

	const results = [];
	for (const size of SIZES) {
		log(`--- ${size} rows ---`);
		const database = await createDatabase();
		const client = new Client({ connectionString: database.url });
		const folder = await mkdtemp(join(tmpdir(), 'tws-bench-detector-'));
		try {
			await client.connect();
			await seedTable(client, size);
			await host.installPackageInto(folder, { log });
			await host.importCredentials(folder, { ...PG_CREDENTIAL, type: 'postgres', data: database.credential });
			const seedId = await host.importWorkflow(folder, seedWorkflow());
			const seed = await execute(folder, seedId);
			log(`seed run: ${seed.wallMs} ms`);
			await changeTable(client, size);
			const withCompare = COMPARE_SIZES.has(size);
			const measureId = await host.importWorkflow(folder, measureWorkflow(withCompare));
			const measured = await execute(folder, measureId);
			const { run } = measured;
			results.push({
				rows: size,
				seedRun: {
					detectMs: nodeMs(seed.run, 'Detect'),
					commitMs: nodeMs(seed.run, 'Commit'),
					created: outputCount(seed.run, 'Detect', 0),
					cliWallMs: seed.wallMs,
					peakRssMb: seed.peakRssMb,
				},
				measuredRun: {
					detectMs: nodeMs(run, 'Detect'),
					readMs: nodeMs(run, 'Read'),
					created: outputCount(run, 'Detect', 0),
					updated: outputCount(run, 'Detect', 1),
					deleted: outputCount(run, 'Detect', 2),
					compareDatasetsMs: withCompare ? nodeMs(run, 'Compare Datasets') : null,
					compareDatasetsCounts: withCompare
						? { inAOnly: outputCount(run, 'Compare Datasets', 0), same: outputCount(run, 'Compare Datasets', 1), different: outputCount(run, 'Compare Datasets', 2), inBOnly: outputCount(run, 'Compare Datasets', 3) }
						: null,
					cliWallMs: measured.wallMs,
					peakRssMb: measured.peakRssMb,
				},
			});
			log(JSON.stringify(results.at(-1)));
		} finally {
			await client.end().catch(() => undefined);
			await database.drop();
			await rm(folder, { recursive: true, force: true });
		}
	}

	const date = new Date().toISOString().slice(0, 10);
	const report = {
		benchmark: 'changeDetector inside a real n8n run',
		date: new Date().toISOString(),
		n8n: '2.41.1 (CLI execute, community-node install, built-in SQLite store)',
		node: process.version,
		cpu: `${cpus()[0]?.model ?? 'unknown'} x${cpus().length}`,
		scenario:
			'run 1: every row created and committed; then 5% edited, 3% inserted, 2% deleted; run 2: full snapshot. Times are n8n run data executionTime of each node; the read by the Postgres node is not included in detectMs.',
		target: '100k rows through the node in a real n8n run under 5 s',
		results,
	};
	await mkdir(join(root, 'bench', 'results'), { recursive: true });
	const file = join(root, 'bench', 'results', `changeDetector-n8n-${date}.json`);
	await writeFile(file, `${JSON.stringify(report, null, '\t')}\n`);

	console.log(`Change Detector in real n8n, ${report.cpu}`);
	console.log('rows     detect ms (run 2)  detect ms (run 1)  commit ms (run 1)  Compare Datasets ms  peak RSS MB (run 2)');
	for (const row of results) {
		console.log(
			`${String(row.rows).padStart(7)}  ${String(row.measuredRun.detectMs).padStart(17)}  ${String(row.seedRun.detectMs).padStart(17)}  ${String(row.seedRun.commitMs).padStart(17)}  ${String(row.measuredRun.compareDatasetsMs ?? 'not run').padStart(19)}  ${String(row.measuredRun.peakRssMb).padStart(19)}`,
		);
	}
	console.log(`Written to ${file}`);
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) await main();
