// Store throughput: Commit and Look Up of many records on the built-in store (SQLite file) and on
// PostgreSQL, in rows per second, always in batches (one call per batch, never one per record).
//
//   commit (new):     one side per record (key, seen hash, base), all keys new: inserts;
//   commit (changed): the same keys again with a new seen hash and base: updates;
//   look up:          lookUp by key, batch by batch, after the commits;
//   list keys:        one listKeys of the whole system (what a full-snapshot Change Detector reads).
// The hashes and bases are made before the clock starts.
//
// PostgreSQL: TWS_BENCH_PG_URL, else PGHOST/PGPORT/PGUSER/PGPASSWORD, else the server on
// 127.0.0.1:5432 as postgres (trust auth). A scratch database is created and dropped again.
// Run after `npm run build`: node_modules/.bin/node bench/store.mjs [--records 100000] [--batch 10000] [--stores builtin,postgres]
// Writes bench/results/store-<date>.json and prints a table. bench/run.mjs imports measureStores.

import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { option } from './options.mjs';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { openBuiltinStore } = require(join(root, 'dist/nodes/engine/store/sqlite.js'));
const { openPostgresStore } = require(join(root, 'dist/nodes/engine/store/postgres.js'));
const { hashValue } = require(join(root, 'dist/nodes/engine/hash.js'));
const { Client } = require('pg');

const SYNC_ID = 'bench';
const SYSTEM = 'crm';

/** The PostgreSQL server to use, and where its URL came from (for the report). */
export function postgresServer(env = process.env) {
	if (env.TWS_BENCH_PG_URL) return { url: env.TWS_BENCH_PG_URL, source: 'TWS_BENCH_PG_URL' };
	const host = env.PGHOST || '127.0.0.1';
	const port = env.PGPORT || '5432';
	const user = encodeURIComponent(env.PGUSER || 'postgres');
	const password = env.PGPASSWORD ? `:${encodeURIComponent(env.PGPASSWORD)}` : '';
	const source = env.PGHOST || env.PGPORT ? 'PGHOST/PGPORT' : 'the running server on 127.0.0.1:5432 (trust auth)';
	return { url: `postgres://${user}${password}@${host}:${port}/postgres`, source };
}

/** Commit inputs for `count` records in batches, version `round` of their content. */
function commitBatches(count, batchSize, round) {
	const batches = [];
	for (let start = 0; start < count; start += batchSize) {
		const batch = [];
		for (let index = start; index < Math.min(count, start + batchSize); index++) {
			const base = {
				id: index,
				name: round === 0 ? `Contact ${index}` : `Contact ${index} (edited ${round})`,
				email: `user${index}@example.com`,
				company: `Company ${index % 311}`,
				score: (index % 1000) / 10,
				active: index % 3 !== 0,
			};
			batch.push({ sides: [{ system: SYSTEM, key: String(index), seenHash: hashValue(base), base }] });
		}
		batches.push(batch);
	}
	return batches;
}

function keyBatches(count, batchSize) {
	const batches = [];
	for (let start = 0; start < count; start += batchSize) {
		batches.push(Array.from({ length: Math.min(batchSize, count - start) }, (_, offset) => String(start + offset)));
	}
	return batches;
}

/** The rate of a batched operation, with each batch's time: a batch that costs more as the table grows shows there. */
function rate(rows, { ms, batchMs }) {
	return { rows, ms: Math.round(ms), rowsPerSecond: Math.round(rows / (ms / 1000)), ...(batchMs ? { batchMs } : {}) };
}

const elapsedMs = (started) => Number(process.hrtime.bigint() - started) / 1e6;

/** Runs `work` on each batch in turn; returns the total and the per-batch times, and what the batches returned. */
async function timedBatches(batches, work) {
	const batchMs = [];
	const results = [];
	const started = process.hrtime.bigint();
	for (const batch of batches) {
		const batchStarted = process.hrtime.bigint();
		results.push(await work(batch));
		batchMs.push(Math.round(elapsedMs(batchStarted)));
	}
	return { ms: elapsedMs(started), batchMs, results };
}

/** Commit, Look Up and List Keys of `records` rows on an opened, empty store. */
export async function measureStore(store, { records, batchSize }) {
	const inserts = commitBatches(records, batchSize, 0);
	const updates = commitBatches(records, batchSize, 1);
	const keys = keyBatches(records, batchSize);

	const commitNew = await timedBatches(inserts, async (batch) => await store.commit(SYNC_ID, batch));
	const commitChanged = await timedBatches(updates, async (batch) => await store.commit(SYNC_ID, batch));
	const lookUp = await timedBatches(keys, async (batch) => (await store.lookUp(SYNC_ID, SYSTEM, batch)).size);
	const found = lookUp.results.reduce((sum, size) => sum + size, 0);
	if (found !== records) throw new Error(`Look Up found ${found} of ${records} records`);
	const listKeys = await timedBatches([SYSTEM], async (system) => (await store.listKeys(SYNC_ID, system)).size);
	if (listKeys.results[0] !== records) throw new Error(`List Keys found ${listKeys.results[0]} of ${records} records`);
	return {
		commitNew: rate(records, commitNew),
		commitChanged: rate(records, commitChanged),
		lookUp: rate(records, lookUp),
		listKeys: rate(records, { ms: listKeys.ms }),
	};
}

async function onBuiltin(options) {
	const folder = mkdtempSync(join(tmpdir(), 'tws-bench-store-'));
	const store = await openBuiltinStore({ filePath: join(folder, 'two-way-sync.sqlite') });
	try {
		return { where: 'a new SQLite file in the temporary folder', ...(await measureStore(store, options)) };
	} finally {
		await store.close();
		rmSync(folder, { recursive: true, force: true });
	}
}

async function onPostgres(options) {
	const server = postgresServer();
	const database = `tws_bench_store_${randomBytes(4).toString('hex')}`;
	const admin = new Client({ connectionString: server.url });
	await admin.connect();
	const serverVersion = (await admin.query('SHOW server_version')).rows[0].server_version;
	const settings = Object.fromEntries(
		(await admin.query("SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit')")).rows.map((row) => [row.name, row.setting]),
	);
	await admin.query(`CREATE DATABASE ${database}`);
	await admin.end();
	const url = new URL(server.url);
	const store = await openPostgresStore({
		host: url.hostname,
		port: Number(url.port || 5432),
		database,
		user: decodeURIComponent(url.username),
		password: decodeURIComponent(url.password),
		ssl: 'disable',
	});
	try {
		return { where: `PostgreSQL ${serverVersion} at ${url.hostname}:${url.port || 5432} (${server.source}), fsync ${settings.fsync}, synchronous_commit ${settings.synchronous_commit}`, ...(await measureStore(store, options)) };
	} finally {
		await store.close();
		const dropper = new Client({ connectionString: server.url });
		await dropper.connect();
		await dropper.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
		await dropper.end();
	}
}

/** Both stores, one after the other. */
export async function measureStores({ records = 100_000, batchSize = 10_000, stores = ['builtin', 'postgres'] } = {}) {
	const results = { records, batchSize, batches: Math.ceil(records / batchSize) };
	if (stores.includes('builtin')) results.builtin = await onBuiltin({ records, batchSize });
	if (stores.includes('postgres')) results.postgres = await onPostgres({ records, batchSize });
	return results;
}

export function storeTable(results) {
	const lines = ['store      operation         rows    ms      rows/s'];
	for (const backend of ['builtin', 'postgres']) {
		const measured = results[backend];
		if (!measured) continue;
		for (const operation of ['commitNew', 'commitChanged', 'lookUp', 'listKeys']) {
			const { rows, ms, rowsPerSecond } = measured[operation];
			lines.push(`${backend.padEnd(10)} ${operation.padEnd(15)} ${String(rows).padStart(7)} ${String(ms).padStart(6)} ${String(rowsPerSecond).padStart(11)}`);
		}
	}
	return lines.join('\n');
}

async function main() {
	const results = await measureStores({
		records: Number(option('records', 100_000)),
		batchSize: Number(option('batch', 10_000)),
		stores: option('stores', 'builtin,postgres').split(','),
	});
	const report = {
		benchmark: 'store throughput',
		date: new Date().toISOString(),
		node: process.version,
		cpu: `${cpus()[0]?.model ?? 'unknown'} x${cpus().length}`,
		targets: 'at least 20k rows/s on PostgreSQL and 50k rows/s on the built-in store',
		results,
	};
	mkdirSync(join(root, 'bench', 'results'), { recursive: true });
	const file = join(root, 'bench', 'results', `store-${report.date.slice(0, 10)}.json`);
	writeFileSync(file, `${JSON.stringify(report, null, '\t')}\n`);
	console.log(storeTable(results));
	console.log(`Written to ${file}`);
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) await main();
