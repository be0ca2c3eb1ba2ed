import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { IDataObject, INodeExecutionData } from 'n8n-workflow';
import { Client } from 'pg';

import { endPostgresPools } from '../../nodes/engine/store/postgres';
import { FIXTURE_TYPES, connect, packageNodeType, runWorkflow, startNode, type NodeSpec, type RunResult } from '../harness';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../support/postgres';

/**
 * Planted secrets never leak. A PostgreSQL password (on a throwaway cluster with password auth),
 * a webhook signing secret and an audit HTTP sink secret are set to unique values; whole sync runs
 * then succeed and fail (wrong password, unreachable server, collector down, forged webhooks).
 * The node outputs, the errors, every row of the store, the JSON Lines file, the bodies the HTTP
 * collector received and everything written to the console are scanned for those values.
 */

const tag = randomBytes(6).toString('hex');
const PG_PASSWORD = `pg-planted-${tag}`;
const WRONG_PG_PASSWORD = `pg-wrong-planted-${tag}`;
const SIGNING_SECRET = `sig-planted-${tag}`;
const SINK_SECRET = `sink-planted-${tag}`;
const PLANTED = [PG_PASSWORD, WRONG_PG_PASSWORD, SIGNING_SECRET, SINK_SECRET];
const SYNC_ID = 'contacts';
const SCHEMA = 'secrets_test';

interface Received {
	headers: IncomingHttpHeaders;
	body: string;
}

let server: ThrowawayPostgres;
let collector: Server;
let collectorUrl: string;
const received: Received[] = [];
let replies: number[] = [];
let folder: string;
const logged: string[] = [];
const restores: Array<() => void> = [];

function capture(target: { write: (...args: never[]) => boolean }): void {
	const original = target.write.bind(target) as (...args: unknown[]) => boolean;
	(target as { write: (...args: unknown[]) => boolean }).write = (...args: unknown[]) => {
		logged.push(String(args[0]));
		return original(...args);
	};
	restores.push(() => ((target as { write: unknown }).write = original));
}

beforeAll(async () => {
	server = await startThrowawayPostgres({ superuserPassword: PG_PASSWORD });
	folder = mkdtempSync(join(tmpdir(), 'tws-secrets-'));
	collector = createServer((request, response) => {
		const chunks: Buffer[] = [];
		request.on('data', (chunk: Buffer) => chunks.push(chunk));
		request.on('end', () => {
			received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
			response.statusCode = replies.shift() ?? 200;
			response.end('{}');
		});
	});
	await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
	collectorUrl = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/ingest`;
	for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
		const spy = jest.spyOn(console, method).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(' ')));
		restores.push(() => spy.mockRestore());
	}
	capture(process.stdout as never);
	capture(process.stderr as never);
}, 60_000);

afterAll(async () => {
	for (const restore of restores.reverse()) restore();
	await endPostgresPools();
	await new Promise<void>((resolve) => collector?.close(() => resolve()));
	await server?.stop();
	if (folder) rmSync(folder, { recursive: true, force: true });
});

function credentials(overrides: { password?: string; port?: number; sinkUrl?: string } = {}) {
	return {
		syncStatePostgresApi: {
			host: server.host,
			port: overrides.port ?? server.port,
			database: 'tws_test',
			user: 'postgres',
			password: overrides.password ?? PG_PASSWORD,
			ssl: 'disable',
			schema: SCHEMA,
		},
		webhookSignatureApi: {
			secret: SIGNING_SECRET,
			algorithm: 'sha256',
			headerName: 'X-Signature',
			encoding: 'hex',
			prefix: '',
			timestampHeader: 'X-Timestamp',
			toleranceSeconds: 300,
			payloadFormat: '{timestamp}.{body}',
		},
		auditHttpSinkApi: { url: overrides.sinkUrl ?? collectorUrl, headerName: 'Authorization', headerSecret: SINK_SECRET },
	};
}

/** A webhook event as n8n's Webhook node gives it with "Raw Body" on; forged ones use another secret. */
function webhook(objectId: string, name: string, secret = SIGNING_SECRET): INodeExecutionData {
	const body = { triggerName: 'afterSave', object: { objectId, name, password: `record-field-${objectId}` } };
	const raw = JSON.stringify(body);
	const timestamp = String(Math.floor(Date.now() / 1000));
	const signature = createHmac('sha256', secret).update(`${timestamp}.${raw}`).digest('hex');
	return {
		json: { headers: { 'x-signature': signature, 'x-timestamp': timestamp }, params: {}, query: {}, body },
		binary: { data: { data: Buffer.from(raw).toString('base64'), mimeType: 'application/json' } },
	};
}

const store = { store: 'postgres' };

/** Webhook -> Change Detector -> write -> Commit -> Audit Logger (store, file, HTTP, output). */
async function syncRun(items: INodeExecutionData[], creds: ReturnType<typeof credentials>, continueOnFail: boolean): Promise<RunResult> {
	const nodes: NodeSpec[] = [
		startNode(),
		{
			name: 'Detect',
			type: packageNodeType('changeDetector'),
			parameters: { ...store, syncId: SYNC_ID, system: 'parse', mode: 'event', keyFields: 'objectId', recordField: 'body.object', opField: 'body.triggerName', verifySignature: true },
			continueOnFail,
		},
		{ name: 'Write', type: FIXTURE_TYPES.failWriter, parameters: { assignId: '={{ "db-" + $json.objectId }}' } },
		{ name: 'Commit', type: packageNodeType('syncState'), parameters: { ...store, syncId: SYNC_ID, resource: 'record', operation: 'commit' }, continueOnFail },
		{
			name: 'Audit',
			type: packageNodeType('auditLogger'),
			parameters: {
				...store,
				syncId: SYNC_ID,
				operation: 'log',
				sinks: ['output', 'store', 'file', 'http'],
				filePath: join(folder, 'audit.jsonl'),
				signBody: true,
				httpOptions: { maxAttempts: 1, retryDelayMs: 0, timeoutMs: 2000 },
			},
			continueOnFail,
		},
	];
	return await runWorkflow({
		nodes,
		connections: connect(['Start', 'Detect'], { from: 'Detect', to: 'Write', output: 0 }, ['Write', 'Commit'], ['Commit', 'Audit']),
		inputItems: items,
		credentials: creds,
		executionMode: 'webhook',
	});
}

/** Every text a user, a log reader or an attacker with read access to the outputs could see of a run. */
function visible(result: RunResult): string {
	const errors = Object.values(result.run.data.resultData.runData)
		.flat()
		.map((task) => task.error)
		.filter(Boolean)
		.map((error) => [error!.message, (error as { description?: string }).description, error!.stack].join('\n'));
	return [JSON.stringify(result.run), result.error?.message, result.error?.stack, ...errors].join('\n');
}

async function storeDump(): Promise<string> {
	const client = new Client({ host: server.host, port: server.port, database: 'tws_test', user: 'postgres', password: PG_PASSWORD });
	await client.connect();
	try {
		const tables = await client.query<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = $1', [SCHEMA]);
		const parts: string[] = [];
		for (const { table_name: table } of tables.rows) {
			const rows = await client.query(`SELECT row_to_json(t)::text AS row FROM "${SCHEMA}"."${table}" t`);
			parts.push(`${table}: ${rows.rows.map((row: { row: string }) => row.row).join('\n')}`);
		}
		return parts.join('\n');
	} finally {
		await client.end();
	}
}

function leaks(text: string): string[] {
	return PLANTED.filter((planted) => text.includes(planted));
}

/** A sync that succeeds, with a forged webhook among the real ones. */
async function succeedingRun(): Promise<RunResult> {
	const result = await syncRun([webhook('p1', 'Ada'), webhook('p2', 'Eve', `${SIGNING_SECRET}-guess`), webhook('p3', 'Bob')], credentials(), false);
	expect(result.error?.message).toBeUndefined();
	expect(result.json('Commit').map((item) => (item._sync as IDataObject).status)).toEqual(['applied', 'applied']);
	expect(result.json('Detect', 3).map((item) => (item._sync as IDataObject).reason)).toEqual(['badSignature']);
	expect(result.json('Audit', 1)).toHaveLength(2);
	expect(received.at(-1)?.headers.authorization).toBe(SINK_SECRET);
	return result;
}

/** Syncs that fail: wrong password, unreachable server, collector down, with and without Continue On Fail. */
async function failingRuns(): Promise<RunResult[]> {
	const runs: RunResult[] = [];
	for (const continueOnFail of [false, true]) {
		const wrong = await syncRun([webhook(`w${Number(continueOnFail)}`, 'Grace')], credentials({ password: WRONG_PG_PASSWORD }), continueOnFail);
		runs.push(wrong);
		if (!continueOnFail) {
			expect(wrong.status).toBe('error');
			expect(wrong.nodeError('Detect')?.message).toMatch(/password|authentication/i);
		} else {
			expect(wrong.json('Detect', 4)[0].error).toMatch(/password|authentication/i);
		}
		const unreachable = await syncRun([webhook('u1', 'Linus')], credentials({ port: 1 }), continueOnFail);
		runs.push(unreachable);
		expect(unreachable.status).toBe(continueOnFail ? 'success' : 'error');
	}
	replies = [500];
	const collectorDown = await syncRun([webhook('c1', 'Ken')], credentials(), false);
	runs.push(collectorDown);
	expect(collectorDown.status).toBe('success');
	expect(collectorDown.nodeRuns('Audit')[0].hints?.map((hint) => hint.message).join(' ')).toMatch(/could not be sent/);
	const noCollector = await syncRun([webhook('c2', 'Dennis')], credentials({ sinkUrl: 'http://127.0.0.1:1/ingest' }), false);
	runs.push(noCollector);
	expect(noCollector.status).toBe('success');
	return runs;
}

describe('planted secrets', () => {
	it('appear in no node output, error, store row, audit file, HTTP body or log line, whether the runs succeed or fail', async () => {
		const runs = [await succeedingRun(), ...(await failingRuns())];
		expect(runs).toHaveLength(7);
		// The scanner finds a planted value where there is one.
		expect(leaks(JSON.stringify(credentials()))).toEqual([PG_PASSWORD, SIGNING_SECRET, SINK_SECRET]);
		const places: Record<string, string> = {
			'node outputs and errors': runs.map(visible).join('\n'),
			'store tables': await storeDump(),
			'JSON Lines file': existsSync(join(folder, 'audit.jsonl')) ? readFileSync(join(folder, 'audit.jsonl'), 'utf8') : '',
			'HTTP bodies': received.map((request) => request.body).join('\n'),
			// The sink's own header carries its secret by design; every other header is scanned.
			'HTTP headers': received.map(({ headers }) => JSON.stringify({ ...headers, authorization: undefined })).join('\n'),
			logs: logged.join('\n'),
		};
		for (const [place, text] of Object.entries(places)) {
			expect({ place, leaks: leaks(text) }).toEqual({ place, leaks: [] });
		}
		// The scan looked at real content: the runs, the stored audit chain, the file and the deliveries.
		expect(places['store tables']).toContain('"source_key":"p1"');
		expect(places['JSON Lines file']).toContain('"key":"p3"');
		expect(places['HTTP bodies']).toContain('"key":"p1"');
		expect(places['node outputs and errors']).toMatch(/password authentication failed|authentication/i);
		// Secret-like record fields are redacted on the way to the sinks too.
		expect(places['HTTP bodies']).not.toContain('record-field-p1');
	});
});
