// One scheduled cycle of example workflow 1 (examples/two-way-crm-database) through the real n8n
// 2.41.1 CLI, between a real Parse Server and a real PostgreSQL table, with 1k and then 10k changed
// records.
//
// Set-up: Parse Server (scripts/parse-server.mjs) and the `customers` table each on a scratch database
// of one PostgreSQL server (see bench/store.mjs: TWS_BENCH_PG_URL, else PGHOST/PGPORT, else
// 127.0.0.1:5432). Both systems are seeded with the same N contacts (Parse over REST, 16 saves in
// flight), and a baseline cycle links them (first-time matching on email)
// and commits them. Then, per measured size C: C/2 contacts are edited in Parse and C/2 other rows in
// PostgreSQL (the phone), and one cycle runs: it reads both sides in full, detects the C changes,
// maps, resolves, writes C/2 PostgreSQL updates and C/2 Parse PUTs, and commits and audits all of them.
// Each cycle is checked (every change detected, written and committed once, nothing failed) before
// its time counts.
//
// Times: the CLI's wall time (`n8n execute`, start-up included), the run's own time (stoppedAt -
// startedAt of the run JSON), and each node's executionTime from the run JSON.
// Run: node_modules/.bin/node bench/scheduledCycle.n8n.mjs [--records 10000] [--changes 1000,10000]
// Writes bench/results/scheduled-cycle-<date>.json and prints a table.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ensureN8nInstalled, ensurePackageBuilt, executeWorkflow, importCredentials, importWorkflow, installPackageInto } from '../scripts/n8n-host.mjs';
import { createClassSchema, ensureParseInstalled, parseRequest, startParse } from '../scripts/parse-server.mjs';
import { renderCycleTable } from './report.mjs';
import { postgresServer } from './store.mjs';
import { option } from './options.mjs';

const require = createRequire(import.meta.url);
const { Client } = require('pg');
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const log = (line) => process.stderr.write(`${line}\n`);

const DATABASE_WRITERS = ['Insert Customers', 'Update Customers', 'Delete Customers'];
const CRM_WRITERS = ['Create Contacts', 'Update Contacts', 'Delete Contacts'];
const PARSE_CONCURRENCY = 16;

// ---------------------------------------------------------------------------------------------
// The two systems

/** Contact number i, as the CRM holds it; the database row has the same content, mapped. */
function contact(index) {
	const day = String((index % 28) + 1).padStart(2, '0');
	const month = String((index % 12) + 1).padStart(2, '0');
	return {
		fullName: `Person ${index}`,
		email: `person${index}@example.com`,
		phoneNumber: `+1 555 ${String(index).padStart(7, '0')}`,
		isActive: index % 5 === 0 ? 'no' : 'yes',
		birthday: `${day}/${month}/${1950 + (index % 50)}`,
		status: ['Active', 'Inactive', 'Lead'][index % 3],
	};
}

function customerRow(index) {
	const record = contact(index);
	const [day, month, year] = record.birthday.split('/');
	return [record.fullName, record.email, record.phoneNumber, record.isActive === 'yes', `${year}-${month}-${day}T00:00:00Z`, record.status[0]];
}

/**
 * Saves or updates in Parse with a few requests in flight. Parse 9.10.0's POST /batch fails here
 * with HTTP 500 (a TypeError in its PromiseRouter.match for every sub-request), so each save is its
 * own REST call.
 */
async function parseWrites(server, requests) {
	let next = 0;
	const worker = async () => {
		while (next < requests.length) {
			const { method, path, body } = requests[next++];
			await parseRequest(server, method, path, body);
		}
	};
	await Promise.all(Array.from({ length: PARSE_CONCURRENCY }, worker));
}

async function createCustomers(client) {
	// The table as the example's README gives it to users.
	await client.query(readFileSync(join(root, 'examples', 'two-way-crm-database', 'customers.sql'), 'utf8'));
}

async function seed(parse, client, records) {
	const started = Date.now();
	const requests = [];
	for (let index = 0; index < records; index++) requests.push({ method: 'POST', path: '/classes/Contact', body: contact(index) });
	await parseWrites(parse, requests);
	for (let start = 0; start < records; start += 1000) {
		const rows = [];
		for (let index = start; index < Math.min(records, start + 1000); index++) rows.push(customerRow(index));
		const values = rows.map((_row, r) => `(${[1, 2, 3, 4, 5, 6].map((c) => `$${r * 6 + c}`).join(', ')})`).join(', ');
		await client.query(`INSERT INTO customers (full_name, email, phone, active, birth_date, status) VALUES ${values}`, rows.flat());
	}
	return Date.now() - started;
}

/** Edits the phone of `count` contacts in Parse (from `crmFrom`) and of `count` other rows in PostgreSQL (from `dbFrom`). */
async function edit(parse, client, { crmFrom, dbFrom, count, label }) {
	const wanted = new Set(Array.from({ length: count }, (_v, i) => `person${crmFrom + i}@example.com`));
	const ids = [];
	for (let skip = 0; ; skip += 1000) {
		const { results } = await parseRequest(parse, 'GET', `/classes/Contact?limit=1000&skip=${skip}&order=objectId&keys=email`);
		for (const result of results) if (wanted.has(result.email)) ids.push(result.objectId);
		if (results.length < 1000) break;
	}
	if (ids.length !== count) throw new Error(`Expected ${count} contacts to edit in Parse, found ${ids.length}.`);
	await parseWrites(
		parse,
		ids.map((id, i) => ({ method: 'PUT', path: `/classes/Contact/${id}`, body: { phoneNumber: `+1 666 ${label}${String(i).padStart(6, '0')}` } })),
	);
	const { rowCount } = await client.query(
		"UPDATE customers SET phone = '+1 777 ' || $3 || lpad(id::text, 6, '0') WHERE email IN (SELECT 'person' || g || '@example.com' FROM generate_series($1::int, $2::int) g)",
		[dbFrom, dbFrom + count - 1, label],
	);
	if (rowCount !== count) throw new Error(`Expected to edit ${count} customer rows, edited ${rowCount}.`);
}

// ---------------------------------------------------------------------------------------------
// The run JSON

function itemsOf(run, node, output) {
	return (run.data.resultData.runData[node] ?? []).reduce((sum, nodeRun) => sum + (nodeRun.data?.main?.[output]?.length ?? 0), 0);
}

function summarise(run, cliMs) {
	if (run.status !== 'success') {
		const error = run.data.resultData.error;
		throw new Error(`The cycle ended with status ${run.status}${error ? `: ${error.message}` : ''}`);
	}
	const nodes = Object.entries(run.data.resultData.runData)
		.map(([name, runs]) => ({
			name,
			ms: runs.reduce((sum, nodeRun) => sum + (nodeRun.executionTime ?? 0), 0),
			items: runs.reduce((sum, nodeRun) => sum + (nodeRun.data?.main ?? []).reduce((count, output) => count + (output?.length ?? 0), 0), 0),
		}))
		.sort((a, b) => b.ms - a.ms);
	const runMs = run.startedAt && run.stoppedAt ? new Date(run.stoppedAt).getTime() - new Date(run.startedAt).getTime() : null;
	const failed = [...DATABASE_WRITERS, ...CRM_WRITERS].reduce((sum, writer) => sum + itemsOf(run, writer, 1), 0);
	return {
		cliWallMs: cliMs,
		runMs,
		nodeTimeSumMs: nodes.reduce((sum, node) => sum + node.ms, 0),
		detected: {
			crm: { created: itemsOf(run, 'Detect CRM Changes', 0), updated: itemsOf(run, 'Detect CRM Changes', 1), deleted: itemsOf(run, 'Detect CRM Changes', 2) },
			db: { created: itemsOf(run, 'Detect Database Changes', 0), updated: itemsOf(run, 'Detect Database Changes', 1), deleted: itemsOf(run, 'Detect Database Changes', 2) },
		},
		committed: { db: itemsOf(run, 'Commit Database Writes', 0), crm: itemsOf(run, 'Commit CRM Writes', 0) },
		failedWrites: failed,
		nodes,
	};
}

async function cycle(folder, workflowId) {
	let cliMs = null;
	const run = await executeWorkflow(folder, workflowId, { attempts: 1, log, onTiming: (timing) => (cliMs = timing.ms) });
	return summarise(run, cliMs);
}

/** Which code was measured: the commit, and how many files of the package and the example differed from it. */
function codeVersion() {
	const git = (...args) => spawnSync('git', args, { cwd: root, encoding: 'utf8' });
	const head = git('rev-parse', '--short', 'HEAD');
	if (head.status !== 0) return { commit: 'unknown' };
	const changed = git('status', '--porcelain', '--', 'nodes', 'credentials', 'examples/two-way-crm-database').stdout.split('\n').filter(Boolean).length;
	return { commit: head.stdout.trim(), uncommittedFiles: changed };
}

// ---------------------------------------------------------------------------------------------

export async function measureScheduledCycle({ records = 10_000, changes = [1_000, 10_000] } = {}) {
	if (records > 10_000) throw new Error('Workflow 1 reads Parse in one page of at most 10,000 contacts: use --records 10000 or fewer.');
	for (const size of changes) if (size > records || size % 2 !== 0) throw new Error(`--changes ${size}: must be even and at most --records (${records}).`);
	await ensurePackageBuilt({ log });
	await ensureN8nInstalled({ log });
	await ensureParseInstalled({ log });

	const server = postgresServer();
	const suffix = randomBytes(4).toString('hex');
	const databases = [`tws_bench_cycle_parse_${suffix}`, `tws_bench_cycle_customers_${suffix}`];
	const admin = new Client({ connectionString: server.url });
	await admin.connect();
	for (const database of databases) await admin.query(`CREATE DATABASE ${database}`);
	await admin.end();
	const databaseUrl = (database) => {
		const url = new URL(server.url);
		url.pathname = `/${database}`;
		return url.toString();
	};

	const folder = mkdtempSync(join(tmpdir(), 'tws-bench-cycle-'));
	let parse;
	let client;
	try {
		parse = await startParse({ databaseURI: databaseUrl(databases[0]), log });
		await createClassSchema(parse, 'Contact', { fullName: 'String', email: 'String', phoneNumber: 'String', isActive: 'String', birthday: 'String', status: 'String' });
		client = new Client({ connectionString: databaseUrl(databases[1]) });
		await client.connect();
		await createCustomers(client);

		await installPackageInto(folder, { log });
		const customersUrl = new URL(databaseUrl(databases[1]));
		await importCredentials(folder, [
			{
				id: 'CustomersDb00001',
				name: 'Customers database',
				type: 'postgres',
				data: {
					host: customersUrl.hostname,
					port: Number(customersUrl.port || 5432),
					database: databases[1],
					user: decodeURIComponent(customersUrl.username),
					password: decodeURIComponent(customersUrl.password),
					ssl: 'disable',
				},
			},
			{
				id: 'ParseRestKeys001',
				name: 'Parse REST API keys',
				type: 'httpCustomAuth',
				data: { json: JSON.stringify({ headers: { 'X-Parse-Application-Id': parse.appId, 'X-Parse-REST-API-Key': parse.restApiKey } }) },
			},
		]);
		const workflow = JSON.parse(readFileSync(join(root, 'examples', 'two-way-crm-database', 'workflow.json'), 'utf8'));
		const settings = workflow.nodes.find((node) => node.name === 'Settings');
		settings.parameters.assignments.assignments.find((assignment) => assignment.name === 'parseUrl').value = parse.serverUrl;
		const workflowId = await importWorkflow(folder, workflow);

		log(`Seeding ${records} contacts in Parse and ${records} rows in PostgreSQL...`);
		const seedMs = await seed(parse, client, records);
		log(`  seeded in ${(seedMs / 1000).toFixed(1)} s; baseline cycle (first-time matching links the ${records} pairs)...`);
		const baseline = await cycle(folder, workflowId);
		if (baseline.committed.db !== records || baseline.failedWrites !== 0) {
			throw new Error(`The baseline cycle committed ${baseline.committed.db} of ${records} database writes (${baseline.failedWrites} failed).`);
		}
		log(`  baseline: ${(baseline.cliWallMs / 1000).toFixed(1)} s`);

		const cycles = [];
		for (const [round, size] of changes.entries()) {
			const half = size / 2;
			// The CRM edits the first half of the records, the database the second: no true conflicts.
			await edit(parse, client, { crmFrom: 0, dbFrom: Math.floor(records / 2), count: half, label: String(round + 1) });
			log(`${size} changed records (${half} in Parse, ${half} in PostgreSQL): one cycle...`);
			const measured = await cycle(folder, workflowId);
			const ok =
				measured.detected.crm.updated === half &&
				measured.detected.db.updated === half &&
				measured.committed.db === half &&
				measured.committed.crm === half &&
				measured.failedWrites === 0;
			if (!ok) throw new Error(`The cycle with ${size} changes did not apply exactly them: ${JSON.stringify({ detected: measured.detected, committed: measured.committed, failed: measured.failedWrites })}`);
			log(`  CLI ${(measured.cliWallMs / 1000).toFixed(1)} s, run ${(measured.runMs / 1000).toFixed(1)} s`);
			cycles.push({ changedRecords: size, changedInParse: half, changedInPostgres: half, ...measured });
		}
		return {
			records,
			seedMs,
			baseline: { cliWallMs: baseline.cliWallMs, runMs: baseline.runMs, committed: baseline.committed },
			cycles,
		};
	} finally {
		await client?.end();
		await parse?.stop();
		rmSync(folder, { recursive: true, force: true });
		const dropper = new Client({ connectionString: server.url });
		await dropper.connect();
		for (const database of databases) await dropper.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
		await dropper.end();
	}
}

export const METHOD =
	'example workflow 1 as shipped, imported into a fresh n8n 2.41.1 user folder with the package installed as a community node, built-in store; Parse Server 9.10.0 and the customers table on scratch databases of one local PostgreSQL; one `n8n execute` per cycle. CLI wall time includes n8n start-up; run time is stoppedAt - startedAt of the run JSON; node times are executionTime.';

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
	const startedAt = new Date();
	const loadAtStart = loadavg().map((value) => Math.round(value * 100) / 100);
	const measured = await measureScheduledCycle({
		records: Number(option('records', 10_000)),
		changes: option('changes', '1000,10000').split(',').map(Number),
	});
	const results = {
		bench: 'scheduled cycle of example workflow 1 (bench/scheduledCycle.n8n.mjs)',
		startedAt: startedAt.toISOString(),
		durationS: Math.round((Date.now() - startedAt.getTime()) / 1000),
		code: codeVersion(),
		machine: { cpuModel: cpus()[0]?.model ?? 'unknown', cpuCount: cpus().length, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadavg().map((value) => Math.round(value * 100) / 100) },
		method: METHOD,
		...measured,
	};
	mkdirSync(join(here, 'results'), { recursive: true });
	const file = join(here, 'results', `scheduled-cycle-${results.startedAt.slice(0, 10)}.json`);
	writeFileSync(file, `${JSON.stringify(results, null, '\t')}\n`);
	log(renderCycleTable(measured));
	log(`Results written to ${file}`);
}
