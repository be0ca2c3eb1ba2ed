import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';

import { Client } from 'pg';

import { ChainVerifier } from '../../nodes/engine/audit/chain';
import type { ChainedAuditEvent } from '../../nodes/engine/audit/types';
import { endPostgresPools, openPostgresStore } from '../../nodes/engine/store/postgres';
import type { SyncStore } from '../../nodes/engine/store/SyncStore';
import { createScratchDatabase, type ScratchDatabase } from '../support/postgres';
import {
	N8N_SETUP_TIMEOUT_MS,
	createN8nUserFolder,
	n8nHost,
	removeN8nUserFolder,
	withN8nUserFolder,
	type RunningN8n,
	type RunningWorker,
} from './support';
import {
	BUILTIN_WEBHOOK_PATH,
	SYNC_ID,
	WEBHOOK_PATH,
	afterSaveBody,
	builtinStoreWorkflow,
	createCrmTable,
	createTargetTable,
	queueCredentials,
	queueModeEnv,
	queueSyncWorkflow,
	redisCommand,
	saveContact,
	startRedis,
	type CrmContact,
	type RunningRedis,
	type TargetCustomer,
} from './support/queueMode';

// n8n in queue mode, as production runs it when one instance is not enough: a main process that
// receives the webhooks, Redis (our own, with a password) as the queue, PostgreSQL as n8n's database,
// and three `n8n worker` processes that each have this package installed. A burst of saves of one
// contact lands on several workers at once; the sync still ends with the last save, once, because
// each execution takes the contact's lock in the shared PostgreSQL state store and reads the contact
// afresh under it.
//
// Set TWS_QUEUE_BENCH=1 (bench/queueMode.mjs does) to also measure events per second with 3, 2 and 1
// workers in this run; the figures go to bench/results/queue-mode-<date>.json (measured, never asserted).

const WORKERS = 3;
/** n8n warns below 5; at 5, three workers keep every connection pool within PostgreSQL's default 100 connections. */
const WORKER_CONCURRENCY = 5;
const RECORDS = 500;
const SAVES_PER_RECORD = 4;
/** Records per burst: each burst is every save of these records, fired at once. */
const RECORDS_PER_BURST = 50;
/** Webhook calls in flight at once while a burst is fired. */
const IN_FLIGHT = 16;
/** How long the executions of all events may take before the test gives up (not a timing assertion). */
const DRAIN_DEADLINE_MS = 10 * 60_000;
const measureScaling = process.env.TWS_QUEUE_BENCH === '1';
/** Per phase of the bench: saves that contend for the record lock, and saves that do not. */
const BENCH_SCENARIOS = [
	{ scenario: '4 saves per contact', records: 150, saves: 4 },
	{ scenario: '1 save per contact', records: 600, saves: 1 },
];

interface BenchPhase {
	workers: number;
	scenario: string;
	events: number;
	seconds: number;
	eventsPerSecond: number;
	peakConcurrent: number;
	/** 1-minute load average of the machine when the phase started and ended. */
	loadAverage: [number, number];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The saves of `records` contacts, `saves` each, every save with a higher version and new content. */
function savesOf(prefix: string, records: number, saves: number): CrmContact[][] {
	return Array.from({ length: records }, (_, record) =>
		Array.from({ length: saves }, (_, index) => {
			const version = index + 1;
			const id = `${prefix}${String(record).padStart(4, '0')}`;
			return { object_id: id, full_name: `Contact ${id} v${version}`, email: `${id}.v${version}@example.com`, phone: `+1 555 ${record}-${version}`, version };
		}),
	);
}

/** Calls refused with 503 and sent again: n8n answers 503, before it takes the call, while its database ping is late. */
let resent = 0;

/** Posts one afterSave call; a 503 is sent again (a few times), as a webhook sender retries. */
async function postEvent(url: string, save: CrmContact): Promise<void> {
	for (let attempt = 1; ; attempt++) {
		const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(afterSaveBody(save)) });
		if (response.status === 200) return;
		const text = await response.text();
		if (response.status !== 503 || attempt >= 10) throw new Error(`The webhook answered HTTP ${response.status} (attempt ${attempt}): ${text.slice(0, 300)}`);
		resent++;
		await sleep(1_000);
	}
}

/**
 * Fires the saves in bursts: a burst holds every save of RECORDS_PER_BURST contacts, interleaved.
 * Each save is written to the CRM first and its webhook call sent right after, without waiting for
 * the run, so the calls of one contact overlap and reach different workers.
 */
async function fireBursts(crmClient: Client, url: string, perRecord: CrmContact[][]): Promise<number> {
	let sent = 0;
	for (let first = 0; first < perRecord.length; first += RECORDS_PER_BURST) {
		const group = perRecord.slice(first, first + RECORDS_PER_BURST);
		const burst = group[0].flatMap((_, index) => group.map((saves) => saves[index]));
		const inFlight = new Set<Promise<void>>();
		for (const save of burst) {
			await saveContact(crmClient, save);
			const call = postEvent(url, save).then(() => {
				sent++;
			});
			const tracked: Promise<void> = call.finally(() => inFlight.delete(tracked));
			inFlight.add(tracked);
			if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
		}
		await Promise.all(inFlight);
	}
	return sent;
}

interface ExecutionRow {
	id: string;
	status: string;
	startedAt: Date | null;
	stoppedAt: Date | null;
}

/** The executions of a workflow, from n8n's own database (the REST list stops at 100). */
async function executionsOf(n8nClient: Client, workflowId: string, afterId = 0): Promise<ExecutionRow[]> {
	const { rows } = await n8nClient.query<ExecutionRow>(
		`SELECT id::text AS id, status, "startedAt", "stoppedAt" FROM execution_entity WHERE "workflowId" = $1 AND id > $2 ORDER BY id`,
		[workflowId, afterId],
	);
	return rows;
}

const ENDED = new Set(['success', 'error', 'crashed', 'canceled']);

/** Waits until `count` executions after `afterId` have ended; fails with what is still open after the deadline. */
async function drain(n8nClient: Client, workflowId: string, afterId: number, count: number): Promise<ExecutionRow[]> {
	const started = Date.now();
	for (;;) {
		const executions = await executionsOf(n8nClient, workflowId, afterId);
		const ended = executions.filter((execution) => ENDED.has(execution.status));
		if (ended.length >= count) return executions;
		if (Date.now() - started > DRAIN_DEADLINE_MS) {
			throw new Error(`Gave up after ${DRAIN_DEADLINE_MS / 1000} s: ${ended.length} of ${count} executions ended (${executions.length} created).`);
		}
		await sleep(500);
	}
}

/** The largest number of executions that ran at the same moment. */
function peakOverlap(executions: ExecutionRow[]): number {
	const edges = executions
		.filter((execution) => execution.startedAt && execution.stoppedAt)
		.flatMap((execution) => [
			{ at: execution.startedAt!.getTime(), delta: 1 },
			{ at: execution.stoppedAt!.getTime(), delta: -1 },
		])
		.sort((a, b) => a.at - b.at || a.delta - b.delta);
	let running = 0;
	let peak = 0;
	for (const edge of edges) {
		running += edge.delta;
		peak = Math.max(peak, running);
	}
	return peak;
}

/** Counts the executions a worker reports starting in its log, line by line. */
function startCounter(): { onOutput(chunk: string): void; started(): number } {
	let partial = '';
	let started = 0;
	return {
		onOutput(chunk) {
			const lines = (partial + chunk).split('\n');
			partial = lines.pop() ?? '';
			started += lines.filter((line) => /Worker started execution \d+/.test(line)).length;
		},
		started: () => started,
	};
}

// n8n keeps run data in the `flatted` format; the n8n host has the package.
const hostRequire = process.getBuiltinModule('node:module').createRequire(join(n8nHost.ROOT, 'e2e', 'n8n-host', 'node_modules', 'n8n', 'package.json'));
const flatted = hostRequire('flatted') as { parse(text: string): unknown };

async function runErrorOf(n8nClient: Client, executionId: string): Promise<{ message?: string; description?: string } | undefined> {
	const { rows } = await n8nClient.query<{ data: string }>('SELECT data FROM execution_data WHERE "executionId" = $1', [executionId]);
	const run = flatted.parse(rows[0].data) as { resultData: { error?: { message?: string; description?: string } } };
	return run.resultData.error;
}

async function auditTrail(store: SyncStore): Promise<ChainedAuditEvent[]> {
	const events: ChainedAuditEvent[] = [];
	for (;;) {
		const page = await store.queryAudit(SYNC_ID, { order: 'oldest', after: events.at(-1)?.seq, limit: 1000 });
		if (page.length === 0) return events;
		events.push(...page);
	}
}

async function verifyChain(store: SyncStore) {
	const verifier = new ChainVerifier(SYNC_ID);
	for (;;) {
		const page = await store.readAuditChain(SYNC_ID, verifier.lastSeq, 1000);
		if (page.length === 0 || !page.every((link) => verifier.add(link))) return verifier.finish();
	}
}

describe('n8n queue mode: three workers share the PostgreSQL Sync State store', () => {
	const mainFolder = withN8nUserFolder({ label: 'queue-main' });
	const workerFolders: string[] = [];
	const workers: RunningWorker[] = [];
	const counters: Array<ReturnType<typeof startCounter>> = [];
	let redis: RunningRedis | undefined;
	let databases: ScratchDatabase[] = [];
	let n8nClient: Client;
	let crmClient: Client;
	let targetClient: Client;
	let store: SyncStore;
	let env: Record<string, string>;
	let main: RunningN8n | undefined;
	let syncWorkflowId: string;
	let builtinWorkflowId: string;
	let webhookUrl: string;

	async function startWorkers(count: number): Promise<void> {
		const starting: Array<Promise<RunningWorker>> = [];
		for (let index = workers.length; index < count; index++) {
			starting.push(
				(async () => {
					// What each worker needs: this package installed in its own n8n, and the same env as main.
					const folder = await createN8nUserFolder({ label: `queue-worker-${index + 1}` });
					workerFolders.push(folder);
					const counter = startCounter();
					counters[index] = counter;
					return await n8nHost.startWorker(folder, { concurrency: WORKER_CONCURRENCY, env, onOutput: counter.onOutput });
				})(),
			);
		}
		workers.push(...(await Promise.all(starting)));
	}

	beforeAll(async () => {
		redis = await startRedis();
		const [n8nDatabase, crmDatabase, targetDatabase, storeDatabase] = await Promise.all(
			['n8n', 'crm', 'target', 'store'].map(async (label) => await createScratchDatabase(`queue_${label}`)),
		);
		databases = [n8nDatabase, crmDatabase, targetDatabase, storeDatabase];
		n8nClient = new Client({ connectionString: n8nDatabase.url });
		crmClient = new Client({ connectionString: crmDatabase.url });
		targetClient = new Client({ connectionString: targetDatabase.url });
		for (const client of [n8nClient, crmClient, targetClient]) client.on('error', () => undefined);
		await Promise.all([n8nClient.connect(), crmClient.connect(), targetClient.connect()]);
		await createCrmTable(crmClient);
		await createTargetTable(targetClient);
		store = await openPostgresStore({ ...storeDatabase, ssl: 'disable', schema: 'two_way_sync', tablePrefix: '' });

		env = queueModeEnv(redis, n8nDatabase, randomBytes(24).toString('hex'));
		const folder = mainFolder.folder();
		await n8nHost.importCredentials(folder, queueCredentials(crmDatabase, targetDatabase, storeDatabase), { env });
		syncWorkflowId = await n8nHost.importWorkflow(folder, queueSyncWorkflow(), { env });
		builtinWorkflowId = await n8nHost.importWorkflow(folder, builtinStoreWorkflow(), { env });
		for (const id of [syncWorkflowId, builtinWorkflowId]) await n8nHost.n8nCommand(folder, ['publish:workflow', `--id=${id}`], { env });

		// Main writes an execution row per webhook call: a larger pool than the workers', or its own
		// database ping queues behind the calls, fails, and main answers 503 until it recovers.
		const [started] = await Promise.all([n8nHost.startN8n(folder, { env: { ...env, DB_POSTGRESDB_POOL_SIZE: '20' } }), startWorkers(WORKERS)]);
		main = started;
		process.stderr.write(`[queue] main ready in ${(main.readyMs / 1000).toFixed(1)} s; workers in ${workers.map((worker) => (worker.readyMs / 1000).toFixed(1)).join(', ')} s\n`);
		webhookUrl = `${main.url}/webhook/${WEBHOOK_PATH}`;
		// Main registers the webhooks of active workflows only after its health check answers.
		const started2 = Date.now();
		for (;;) {
			const preflight = await fetch(webhookUrl, { method: 'OPTIONS', headers: { origin: main.url, 'access-control-request-method': 'POST' } }).catch(() => undefined);
			if (preflight?.status === 204) break;
			if (Date.now() - started2 > 60_000) throw new Error(`n8n main did not register ${webhookUrl} within 60 s.\n${main.output().slice(-3000)}`);
			await sleep(200);
		}
	}, N8N_SETUP_TIMEOUT_MS);

	afterAll(async () => {
		await main?.stop();
		await Promise.all(workers.map(async (worker) => await worker.stop()));
		await redis?.stop();
		await Promise.all([n8nClient, crmClient, targetClient].map(async (client) => await client?.end()));
		await store?.close();
		await endPostgresPools();
		for (const database of databases) await database.drop().catch(() => undefined);
		for (const folder of workerFolders) await removeN8nUserFolder(folder);
	}, 120_000);

	it('uses a Redis that refuses clients without its password', async () => {
		expect(await redisCommand(redis!.port, [['PING']])).toMatch(/^-NOAUTH/);
		expect(await redisCommand(redis!.port, [['AUTH', redis!.password], ['PING']])).toBe('+OK\r\n+PONG\r\n');
	});

	it('refuses the built-in store on a worker, with a message that says to choose PostgreSQL', async () => {
		const response = await fetch(`${main!.url}/webhook/${BUILTIN_WEBHOOK_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
		expect(response.status).toBe(200);
		const [execution] = await drain(n8nClient, builtinWorkflowId, 0, 1);
		expect(execution.status).toBe('error');
		const error = await runErrorOf(n8nClient, execution.id);
		expect(error?.message).toMatch(/The built-in store cannot be used in n8n queue mode/);
		expect(error?.description).toMatch(/Choose the PostgreSQL store/);
	}, 120_000);

	describe(`${RECORDS * SAVES_PER_RECORD} saves of ${RECORDS} contacts, fired in bursts`, () => {
		const perRecord = savesOf('c', RECORDS, SAVES_PER_RECORD);
		const lastSave = new Map(perRecord.map((saves) => [saves[0].object_id, saves[saves.length - 1]]));
		let executions: ExecutionRow[];
		let workerStarts: number[];

		beforeAll(async () => {
			const before = counters.map((counter) => counter.started());
			const sent = await fireBursts(crmClient, webhookUrl, perRecord);
			expect(sent).toBe(RECORDS * SAVES_PER_RECORD);
			executions = await drain(n8nClient, syncWorkflowId, 0, sent);
			workerStarts = counters.map((counter, index) => counter.started() - before[index]);
			process.stderr.write(`[queue] executions per worker: ${workerStarts.join(', ')}; at most ${peakOverlap(executions)} at once; ${resent} calls sent again after a 503\n`);
		}, DRAIN_DEADLINE_MS + 5 * 60_000);

		it('runs one execution per call, every one successful, on every worker and many at once', () => {
			expect(executions).toHaveLength(RECORDS * SAVES_PER_RECORD);
			const failed = executions.filter((execution) => execution.status !== 'success');
			expect(failed).toEqual([]);
			for (const count of workerStarts) expect(count).toBeGreaterThan(0);
			expect(workerStarts.reduce((sum, count) => sum + count, 0)).toBe(RECORDS * SAVES_PER_RECORD);
			expect(peakOverlap(executions)).toBeGreaterThan(WORKER_CONCURRENCY);
		});

		it('leaves one row per contact, holding its last save', async () => {
			const { rows } = await targetClient.query<TargetCustomer>('SELECT id, crm_id, full_name, email, phone, version FROM customers ORDER BY crm_id');
			expect(rows).toHaveLength(RECORDS);
			expect(new Set(rows.map((row) => row.crm_id)).size).toBe(RECORDS);
			const stale = rows.filter((row) => {
				const last = lastSave.get(row.crm_id)!;
				return row.version !== last.version || row.full_name !== last.full_name || row.email !== last.email || row.phone !== last.phone;
			});
			expect(stale).toEqual([]);
		});

		it('links each contact to its row, and remembers the last save as the base on both sides', async () => {
			const { rows } = await targetClient.query<TargetCustomer>('SELECT id, crm_id, version FROM customers');
			const crmKeys = await store.listKeys(SYNC_ID, 'crm');
			const databaseKeys = await store.listKeys(SYNC_ID, 'database');
			expect(crmKeys.size).toBe(RECORDS);
			expect(databaseKeys.size).toBe(RECORDS);
			const mismatched = rows.filter((row) => {
				const crmSide = crmKeys.get(row.crm_id);
				const databaseSide = databaseKeys.get(String(row.id));
				return !crmSide || !databaseSide || crmSide.entityId !== databaseSide.entityId || databaseSide.base?.version !== lastSave.get(row.crm_id)!.version;
			});
			expect(mismatched).toEqual([]);
		});

		it('released every lock and queued no retry', async () => {
			const stats = await store.stats(SYNC_ID);
			expect(stats.locks).toBe(0);
			expect(stats.outbox).toEqual({ pending: 0, due: 0, dead: 0 });
		});

		it('keeps one unbroken audit chain: one create per contact, and each contact last logged at its last save', async () => {
			const verification = await verifyChain(store);
			expect(verification).toMatchObject({ valid: true, firstBreak: null });
			const events = await auditTrail(store);
			expect(verification.checked).toBe(events.length);
			expect(events.filter((event) => event.status !== 'applied')).toEqual([]);
			const creates = events.filter((event) => event.op === 'create').map((event) => String(event.source.key));
			expect(creates).toHaveLength(RECORDS);
			expect(new Set(creates).size).toBe(RECORDS);
			const lastLogged = new Map<string, ChainedAuditEvent>();
			for (const event of events) lastLogged.set(String(event.source.key), event);
			// Commit logs what the write changed in the target: the last event of a contact wrote its last version.
			const behind = [...lastSave.values()].filter((save) => lastLogged.get(save.object_id)?.changes.version?.after !== save.version);
			expect(behind).toEqual([]);
		});
	});

	(measureScaling ? describe : describe.skip)('throughput with 3, 2 and 1 workers (TWS_QUEUE_BENCH=1)', () => {
		const phases: BenchPhase[] = [];

		beforeAll(async () => {
			for (const count of [3, 2, 1]) {
				while (workers.length > count) await workers.pop()!.stop();
				for (const { scenario, records, saves } of BENCH_SCENARIOS) {
					const afterId = Math.max(0, ...(await executionsOf(n8nClient, syncWorkflowId)).map((execution) => Number(execution.id)));
					const perRecord = savesOf(`w${count}s${saves}-`, records, saves);
					const load = loadavg()[0];
					const started = Date.now();
					const sent = await fireBursts(crmClient, webhookUrl, perRecord);
					const executions = await drain(n8nClient, syncWorkflowId, afterId, sent);
					const lastStop = Math.max(...executions.map((execution) => execution.stoppedAt?.getTime() ?? 0));
					const seconds = (lastStop - started) / 1000;
					const round = (value: number) => Math.round(value * 10) / 10;
					phases.push({ workers: count, scenario, events: sent, seconds: round(seconds), eventsPerSecond: round(sent / seconds), peakConcurrent: peakOverlap(executions), loadAverage: [round(load), round(loadavg()[0])] });
					process.stderr.write(`[queue] ${count} worker(s), ${scenario}: ${sent} events in ${seconds.toFixed(1)} s\n`);
				}
			}
			await writeScalingResults(phases);
		}, 6 * (DRAIN_DEADLINE_MS + 60_000));

		it('brings every event of every phase through', () => {
			expect(phases.map((phase) => phase.events)).toEqual([3, 2, 1].flatMap(() => BENCH_SCENARIOS.map(({ records, saves }) => records * saves)));
		});
	});
});

async function writeScalingResults(phases: BenchPhase[]): Promise<void> {
	const oneWorker = (scenario: string) => phases.find((phase) => phase.workers === 1 && phase.scenario === scenario)!;
	const result = {
		name: 'queue-mode',
		date: new Date().toISOString(),
		description: `Webhook events per second through n8n 2.41.1 in queue mode (main + Redis + PostgreSQL + N workers, --concurrency=${WORKER_CONCURRENCY}), each event a CRM save synced to PostgreSQL by the per-record-lock workflow (Acquire Lock (wait) -> Postgres select -> Change Detector -> Field Mapper -> Postgres insert/update -> Commit -> Audit Logger -> Release Lock) on the PostgreSQL Sync State store. Two loads per worker count: every save of ${RECORDS_PER_BURST} contacts fired at once (4 saves per contact: they wait for each other's lock), and one save per contact (no waiting). Time from the first webhook call to the last execution's end. The phases run one after the other in one run (3, then 2, then 1 worker), on one machine that also runs main, Redis and PostgreSQL.`,
		phases: phases.map((phase) => ({ ...phase, speedupOverOneWorker: Math.round((phase.eventsPerSecond / oneWorker(phase.scenario).eventsPerSecond) * 100) / 100 })),
		environment: { node: process.version, cpus: cpus().length, memoryGb: Math.round(totalmem() / 2 ** 30), platform: process.platform },
	};
	const dir = join(__dirname, '..', '..', 'bench', 'results');
	await mkdir(dir, { recursive: true });
	await writeFile(join(dir, `queue-mode-${new Date().toISOString().slice(0, 10)}.json`), `${JSON.stringify(result, null, 2)}\n`);
}
