import { execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Client } from 'pg';

import { connectionOf, type ScratchDatabase } from '../../support/postgres';
import type { CredentialJson, WorkflowJson } from './n8nHost';
import { n8nHost } from './n8nHost';
import { storeCredential } from './twoWaySystems';

// n8n queue mode for the end-to-end test and the scaling bench: our own password-protected Redis,
// the environment that main and workers share, and the sync workflow that stays correct when many
// workers run executions of one record at once (a per-record lock in the Sync State store, then a
// fresh read of the record).

// ---------------------------------------------------------------------------------------------
// Redis

export interface RunningRedis {
	port: number;
	password: string;
	pid: number;
	stop(): Promise<void>;
}

const REDIS_BINARY = '/usr/bin/redis-server';

function isRoot(): boolean {
	return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Debian's redis-server, installed with apt-get when missing and we are root; otherwise a clear error. */
function ensureRedisBinary(): string {
	if (existsSync(REDIS_BINARY)) return REDIS_BINARY;
	if (!isRoot() || !existsSync('/etc/debian_version')) {
		throw new Error('The queue-mode test needs Redis: install Debian\'s "redis-server" package (sudo apt-get install -y redis-server).');
	}
	process.stderr.write('redis-server is missing: installing Debian\'s "redis-server" package (apt-get update; apt-get install -y redis-server).\n');
	const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
	execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
	execFileSync('apt-get', ['install', '-y', 'redis-server'], { stdio: 'inherit', env });
	if (!existsSync(REDIS_BINARY)) throw new Error(`apt-get install -y redis-server left no ${REDIS_BINARY}.`);
	return REDIS_BINARY;
}

/** Sends raw RESP commands and returns what Redis answered (the test needs no Redis client library). */
export async function redisCommand(port: number, commands: string[][]): Promise<string> {
	const payload = commands.map((parts) => `*${parts.length}\r\n${parts.map((part) => `$${Buffer.byteLength(part)}\r\n${part}\r\n`).join('')}`).join('');
	return await new Promise((resolve, reject) => {
		const socket = connect({ host: '127.0.0.1', port });
		let answer = '';
		socket.setTimeout(2_000, () => socket.destroy(new Error('Redis did not answer within 2 s')));
		socket.on('error', reject);
		socket.on('data', (chunk) => {
			answer += chunk.toString('utf8');
			if (answer.split('\r\n').length > commands.length) socket.end();
		});
		socket.on('close', () => resolve(answer));
		socket.write(payload);
	});
}

/** Starts a throwaway redis-server on 127.0.0.1 and a free port, with a password and nothing kept on disk. */
export async function startRedis(): Promise<RunningRedis> {
	const binary = ensureRedisBinary();
	const port = await n8nHost.freePort();
	const password = randomBytes(18).toString('base64url');
	const dir = mkdtempSync(join(tmpdir(), 'tws-redis-'));
	const child = spawn(
		binary,
		['--port', String(port), '--bind', '127.0.0.1', '--requirepass', password, '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'],
		{ stdio: ['ignore', 'pipe', 'pipe'] },
	);
	let output = '';
	child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output = (output + chunk).slice(-20_000)));
	child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output = (output + chunk).slice(-20_000)));
	const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
	const stop = async () => {
		if (child.exitCode === null && child.signalCode === null) {
			child.kill('SIGTERM');
			const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
			await exited;
			clearTimeout(timer);
		}
		rmSync(dir, { recursive: true, force: true });
	};
	const started = Date.now();
	for (;;) {
		const answer = await redisCommand(port, [['AUTH', password], ['PING']]).catch(() => '');
		if (answer.includes('+PONG')) break;
		if (child.exitCode !== null || Date.now() - started > 20_000) {
			await stop();
			throw new Error(`redis-server did not start on 127.0.0.1:${port}.\n${output}`);
		}
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	return { port, password, pid: child.pid!, stop };
}

// ---------------------------------------------------------------------------------------------
// The environment main and workers share

/** What n8n's main process and every worker need alike, for queue mode on PostgreSQL and Redis. */
export function queueModeEnv(redis: RunningRedis, n8nDatabase: ScratchDatabase, encryptionKey: string): Record<string, string> {
	return {
		EXECUTIONS_MODE: 'queue',
		QUEUE_BULL_REDIS_HOST: '127.0.0.1',
		QUEUE_BULL_REDIS_PORT: String(redis.port),
		QUEUE_BULL_REDIS_PASSWORD: redis.password,
		N8N_ENCRYPTION_KEY: encryptionKey,
		DB_TYPE: 'postgresdb',
		DB_POSTGRESDB_HOST: n8nDatabase.host,
		DB_POSTGRESDB_PORT: String(n8nDatabase.port),
		DB_POSTGRESDB_DATABASE: n8nDatabase.database,
		DB_POSTGRESDB_USER: n8nDatabase.user,
		DB_POSTGRESDB_PASSWORD: n8nDatabase.password,
		// A worker runs up to its concurrency at once, each with a query or two on n8n's database.
		DB_POSTGRESDB_POOL_SIZE: '4',
		// n8n pings its database every 2 s and answers 503 to everything while a ping is late (5 s by
		// default). A busy machine (or database) is not a lost database.
		DB_PING_TIMEOUT_MS: '30000',
		// The built-in task runner is not used by these workflows; the Code node is absent.
	};
}

// ---------------------------------------------------------------------------------------------
// The two systems: a CRM table (the source, written by the test) and a customers table (the target)

export const SYNC_ID = 'contacts-queue';
export const WEBHOOK_PATH = 'queue-contacts';
export const BUILTIN_WEBHOOK_PATH = 'queue-builtin-store';
export const CRM_CREDENTIAL = { id: 'QueueCrmDb000001', name: 'CRM database' };
export const TARGET_CREDENTIAL = { id: 'QueueTargetDb001', name: 'Customers database' };
export const STORE_CREDENTIAL = { id: 'QueueSyncStore01', name: 'Sync State PostgreSQL' };

/** A contact as the CRM holds it; `version` goes up by one with every save. */
export interface CrmContact {
	object_id: string;
	full_name: string;
	email: string;
	phone: string;
	version: number;
}

/** A row of `customers` as the sync writes it. */
export interface TargetCustomer {
	id: number;
	crm_id: string;
	full_name: string;
	email: string;
	phone: string;
	version: number;
}

export async function createCrmTable(client: Client): Promise<void> {
	await client.query(`CREATE TABLE contacts (
		object_id text PRIMARY KEY, full_name text NOT NULL, email text NOT NULL, phone text, version integer NOT NULL,
		updated_at timestamptz NOT NULL DEFAULT clock_timestamp())`);
}

export async function createTargetTable(client: Client): Promise<void> {
	await client.query(`CREATE TABLE customers (
		id serial PRIMARY KEY, crm_id text NOT NULL, full_name text NOT NULL, email text NOT NULL, phone text, version integer NOT NULL)`);
}

/** Saves a contact in the CRM, as a user's edit would. */
export async function saveContact(client: Client, contact: CrmContact): Promise<void> {
	await client.query(
		`INSERT INTO contacts (object_id, full_name, email, phone, version) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (object_id) DO UPDATE SET full_name = excluded.full_name, email = excluded.email, phone = excluded.phone,
			version = excluded.version, updated_at = clock_timestamp()`,
		[contact.object_id, contact.full_name, contact.email, contact.phone, contact.version],
	);
}

/** The afterSave call a Parse-like CRM sends for a save. */
export function afterSaveBody(contact: CrmContact): Record<string, unknown> {
	return { triggerName: 'afterSave', object: { objectId: contact.object_id, ...contact, className: 'Contact' } };
}

function postgresCredential(reference: { id: string; name: string }, database: ScratchDatabase): CredentialJson {
	return {
		...reference,
		type: 'postgres',
		data: connectionOf(database),
	};
}

export function queueCredentials(crm: ScratchDatabase, target: ScratchDatabase, store: ScratchDatabase): CredentialJson[] {
	return [
		postgresCredential(CRM_CREDENTIAL, crm),
		postgresCredential(TARGET_CREDENTIAL, target),
		storeCredential(store, STORE_CREDENTIAL),
	];
}

// ---------------------------------------------------------------------------------------------
// The workflows

const PKG = 'n8n-nodes-two-way-sync';
const storeParameters = { store: 'postgres', syncId: SYNC_ID };
const storeCredentials = { syncStatePostgresApi: STORE_CREDENTIAL };

const MAPPING_RULES = {
	version: 1,
	systemA: 'crm',
	systemB: 'database',
	rules: [
		{ source: 'object_id', target: 'crm_id', type: 'string', required: true },
		{ source: 'full_name', target: 'full_name', type: 'string', required: true },
		{ source: 'email', target: 'email', type: 'string', required: true },
		{ source: 'phone', target: 'phone', type: 'string' },
		{ source: 'version', target: 'version', type: 'integer', required: true },
	],
};

type Node = WorkflowJson['nodes'][number];

function node(name: string, type: string, typeVersion: number, position: [number, number], parameters: Record<string, unknown>, extra: Partial<Node> = {}): Node {
	return { id: randomUUID(), name, type, typeVersion, position, parameters, ...extra };
}

function postgresWrite(name: string, operation: 'insert' | 'update', position: [number, number]): Node {
	return node(
		name,
		'n8n-nodes-base.postgres',
		2.6,
		position,
		{
			operation,
			schema: { __rl: true, mode: 'list', value: 'public' },
			table: { __rl: true, mode: 'list', value: 'customers' },
			columns: { mappingMode: 'autoMapInputData', value: {}, matchingColumns: operation === 'update' ? ['id'] : [], schema: [] },
			options: { queryBatching: 'independently', outputColumns: ['id'] },
		},
		{ onError: 'continueErrorOutput', credentials: { postgres: TARGET_CREDENTIAL } },
	);
}

const main = (...targets: string[]) => targets.map((target) => ({ node: target, type: 'main' as const, index: 0 }));

/**
 * CRM webhook -> lock the record -> read it afresh from the CRM -> detect, map, write, commit, audit
 * -> release the lock. Every path ends at the release, so a record is never left locked longer than
 * one execution (or, after a crash, than the lock's time to live).
 */
export function queueSyncWorkflow(): WorkflowJson {
	const nodes: Node[] = [
		node('CRM Webhook', 'n8n-nodes-base.webhook', 2.1, [0, 300], { httpMethod: 'POST', path: WEBHOOK_PATH, responseMode: 'onReceived', options: {} }, { webhookId: randomUUID() }),
		node(
			'Lock Contact',
			`${PKG}.syncState`,
			1,
			[220, 300],
			{
				...storeParameters,
				resource: 'lock',
				operation: 'acquireLock',
				lockName: "={{ 'contact:' + $json.body.object.objectId }}",
				owner: '={{ $execution.id }}',
				ttlSeconds: 60,
				whenLocked: 'wait',
				maxWaitSeconds: 180,
			},
			{ credentials: storeCredentials },
		),
		node(
			'Read Contact',
			'n8n-nodes-base.postgres',
			2.6,
			[440, 300],
			{
				operation: 'select',
				schema: { __rl: true, mode: 'list', value: 'public' },
				table: { __rl: true, mode: 'list', value: 'contacts' },
				limit: 1,
				where: { values: [{ column: 'object_id', condition: 'equal', value: "={{ $('CRM Webhook').first().json.body.object.objectId }}" }] },
				options: {},
			},
			{ credentials: { postgres: CRM_CREDENTIAL } },
		),
		node(
			'Detect Contact Change',
			`${PKG}.changeDetector`,
			1,
			[660, 300],
			{ ...storeParameters, system: 'crm', mode: 'snapshot', fullSnapshot: false, keyFields: 'object_id', ignoreFields: 'updated_at', includeUnchanged: true },
			{ credentials: storeCredentials },
		),
		node('Map to Customers', `${PKG}.fieldMapper`, 1, [880, 300], {
			systemA: 'crm',
			systemB: 'database',
			direction: 'aToB',
			rulesSource: 'json',
			rulesJson: JSON.stringify(MAPPING_RULES, null, 2),
			metadataPlacement: 'hidden',
			options: { targetKeyField: 'id' },
			splitByOperation: true,
		}),
		postgresWrite('Insert Customers', 'insert', [1100, 200]),
		postgresWrite('Update Customers', 'update', [1100, 400]),
		node('Commit Writes', `${PKG}.syncState`, 1, [1320, 300], { ...storeParameters, resource: 'record', operation: 'commit', targetKeyField: 'id' }, { credentials: storeCredentials }),
		node(
			'Record Failed Writes',
			`${PKG}.syncState`,
			1,
			[1320, 500],
			{ ...storeParameters, resource: 'record', operation: 'recordFailure', errorMessage: '={{ $json.error?.message || $json.message || "The write failed" }}' },
			{ credentials: storeCredentials },
		),
		node(
			'Audit Writes',
			`${PKG}.auditLogger`,
			1,
			[1540, 300],
			{ ...storeParameters, operation: 'log', sinks: ['output', 'store'], status: 'auto' },
			{ credentials: storeCredentials },
		),
		node(
			'Release Contact',
			`${PKG}.syncState`,
			1,
			[1760, 300],
			{ ...storeParameters, resource: 'lock', operation: 'releaseLock', lockName: "={{ $('Lock Contact').first().json.resource }}", owner: '={{ $execution.id }}' },
			{ credentials: storeCredentials },
		),
	];
	return {
		name: 'Queue mode: CRM to customers',
		nodes,
		connections: {
			'CRM Webhook': { main: [main('Lock Contact')] },
			'Lock Contact': { main: [main('Read Contact')] },
			'Read Contact': { main: [main('Detect Contact Change')] },
			// Created, Updated, Deleted, Unchanged, Errors
			'Detect Contact Change': { main: [main('Map to Customers'), main('Map to Customers'), main('Map to Customers'), main('Release Contact'), main('Release Contact')] },
			// create, update, delete, invalid
			'Map to Customers': { main: [main('Insert Customers'), main('Update Customers'), [], main('Release Contact')] },
			'Insert Customers': { main: [main('Commit Writes'), main('Record Failed Writes')] },
			'Update Customers': { main: [main('Commit Writes'), main('Record Failed Writes')] },
			'Commit Writes': { main: [main('Audit Writes')] },
			'Record Failed Writes': { main: [main('Audit Writes')] },
			'Audit Writes': { main: [main('Release Contact')] },
		},
		settings: { executionOrder: 'v1' },
	};
}

/** A webhook straight into a Sync State node on the built-in store, which queue mode must refuse. */
export function builtinStoreWorkflow(): WorkflowJson {
	return {
		name: 'Queue mode: built-in store',
		nodes: [
			node('Webhook', 'n8n-nodes-base.webhook', 2.1, [0, 0], { httpMethod: 'POST', path: BUILTIN_WEBHOOK_PATH, responseMode: 'onReceived', options: {} }, { webhookId: randomUUID() }),
			node('Sync Stats', `${PKG}.syncState`, 1, [220, 0], { store: 'builtin', syncId: SYNC_ID, resource: 'sync', operation: 'stats' }),
		],
		connections: { Webhook: { main: [main('Sync Stats')] } },
		settings: { executionOrder: 'v1' },
	};
}
