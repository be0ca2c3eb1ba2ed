import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

import type { IDataObject } from 'n8n-workflow';

import { verifySignature, type SignatureSettings } from '../../nodes/engine/signature';
import { FIXTURE_TYPES, connect, packageNodeType, runChain, runWorkflow, startNode, type NodeSpec } from '../harness';
import { useNodeTestStores, type StoreChoice } from '../support/nodeStores';

const SYNC_ID = 'contacts';
const { freshBuiltinStore, tempDir, postgresCredentials } = useNodeTestStores('audit');

function freshFolder(): string {
	return tempDir('files-');
}

function audit(name: string, store: StoreChoice, operation: string, parameters: IDataObject = {}, extra: Partial<NodeSpec> = {}): NodeSpec {
	return { name, type: packageNodeType('auditLogger'), parameters: { ...store, syncId: SYNC_ID, operation, ...parameters }, ...extra };
}

function state(name: string, store: StoreChoice, resource: string, operation: string, parameters: IDataObject = {}): NodeSpec {
	return { name, type: packageNodeType('syncState'), parameters: { ...store, syncId: SYNC_ID, resource, operation, ...parameters } };
}

/** A change from the CRM, prepared for a write to the ERP, with its metadata in JSON. */
function crmChange(key: string, email: string, op: 'create' | 'update' = 'create', targetKey: string | null = null): IDataObject {
	return {
		email,
		name: email.split('@')[0],
		_sync: { syncId: SYNC_ID, system: 'crm', key, op, hash: `hash-of-${key}`, target: { system: 'erp', key: targetKey, op } },
	};
}

/** An item as Sync State Commit leaves it: the written record plus `_sync` with status applied. */
function committed(key: string, fields: IDataObject, meta: IDataObject = {}): IDataObject {
	return {
		...fields,
		_sync: {
			syncId: SYNC_ID,
			system: 'crm',
			key,
			op: 'update',
			changedFields: Object.keys(fields),
			target: { system: 'erp', key: `erp-${key}`, op: 'update' },
			entityId: `ent-${key}`,
			status: 'applied',
			...meta,
		},
	};
}

const assignErpId = { assignId: '={{ "erp-" + $json.email }}' };

// ---------------------------------------------------------------------------------------------
// A log collector on 127.0.0.1 that records every request and answers with the statuses it is told.

interface Received {
	headers: IncomingHttpHeaders;
	body: Buffer;
}

class Collector {
	readonly requests: Received[] = [];
	/** Statuses for the next requests, in order; 200 once they run out. */
	replies: number[] = [];
	private server: Server | undefined;

	get url(): string {
		return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/ingest`;
	}

	async start(): Promise<void> {
		this.server = createServer((request, response) => {
			const chunks: Buffer[] = [];
			request.on('data', (chunk: Buffer) => chunks.push(chunk));
			request.on('end', () => {
				this.requests.push({ headers: request.headers, body: Buffer.concat(chunks) });
				response.statusCode = this.replies.shift() ?? 200;
				response.end('{}');
			});
		});
		await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
	}

	async stop(): Promise<void> {
		await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
	}

	/** The events of every request received, in order. */
	events(): IDataObject[] {
		return this.requests.flatMap((request) => JSON.parse(request.body.toString('utf8')) as IDataObject[]);
	}
}

const HEADER_SECRET = 'Bearer planted-header-secret-9f8e';
const SIGNING: SignatureSettings = {
	secret: 'planted-signing-secret-77aa',
	headerName: 'X-Audit-Signature',
	algorithm: 'sha256',
	encoding: 'hex',
	prefix: 'sha256=',
	timestampHeader: 'X-Audit-Timestamp',
	toleranceSeconds: 300,
	payloadFormat: '{timestamp}.{body}',
};

function httpCredentials(collector: Collector) {
	return {
		auditHttpSinkApi: { url: collector.url, headerName: 'Authorization', headerSecret: HEADER_SECRET },
		webhookSignatureApi: { ...SIGNING },
	};
}

/** Every row of the built-in store's audit tables, as text. */
function storeRows(file: string): string {
	const db = new DatabaseSync(file, { readOnly: true });
	try {
		return JSON.stringify([db.prepare('SELECT * FROM audit').all(), db.prepare('SELECT * FROM audit_queue').all()]);
	} finally {
		db.close();
	}
}

const seqs = (items: IDataObject[]) => items.map((item) => Number(item.seq));

function filesIn(folder: string): string[] {
	return readdirSync(folder).sort();
}

describe('Audit Logger node', () => {
	describe('Log', () => {
		it('logs one applied event per committed change and passes the items on unchanged', async () => {
			const store = freshBuiltinStore();
			const result = await runChain(
				[
					{ name: 'Write', type: FIXTURE_TYPES.failWriter, parameters: assignErpId },
					state('Commit', store, 'record', 'commit'),
					audit('Audit', store, 'log'),
				],
				{ input: [crmChange('c1', 'ada@example.com'), crmChange('c2', 'grace@example.com')], workflowId: 'wf-42', workflowName: 'Contacts' },
			);

			expect(result.status).toBe('success');
			expect(result.json('Audit', 0)).toEqual(result.json('Commit'));
			const events = result.json('Audit', 1);
			const commitMeta = result.json('Commit').map((item) => item._sync as IDataObject);
			expect(events).toEqual([
				{
					id: expect.any(String),
					time: expect.any(String),
					syncId: SYNC_ID,
					executionId: expect.any(String),
					workflowId: 'wf-42',
					workflowName: 'Contacts',
					node: 'Commit',
					source: { system: 'crm', key: 'c1' },
					target: { system: 'erp', key: 'erp-ada@example.com' },
					entityId: commitMeta[0].entityId,
					correlationId: commitMeta[0].entityId,
					op: 'create',
					reason: null,
					changedFields: ['email', 'id', 'name'],
					changes: {
						email: { after: 'ada@example.com' },
						id: { after: 'erp-ada@example.com' },
						name: { after: 'ada' },
					},
					resolution: null,
					status: 'applied',
					error: null,
					retry: null,
					seq: 1,
					prevHash: expect.any(String),
					hash: expect.any(String),
				},
				expect.objectContaining({ seq: 2, source: { system: 'crm', key: 'c2' }, status: 'applied' }),
			]);
			expect(events[1].prevHash).toBe(events[0].hash);
		});

		it('logs a failed write with its error and attempts after Record Failure', async () => {
			const store = freshBuiltinStore();
			const result = await runWorkflow({
				nodes: [
					startNode(),
					{ name: 'Write', type: FIXTURE_TYPES.failWriter, parameters: { fail: true }, onError: 'continueErrorOutput' },
					state('Record Failure', store, 'record', 'recordFailure', { maxAttempts: 1 }),
					audit('Audit', store, 'log'),
				],
				connections: connect(['Start', 'Write'], { from: 'Write', to: 'Record Failure', output: 1 }, ['Record Failure', 'Audit']),
				input: [crmChange('c1', 'ada@example.com')],
			});

			expect(result.status).toBe('success');
			const [event] = result.json('Audit', 1);
			expect(event).toMatchObject({
				status: 'failed',
				error: 'Simulated write failure',
				retry: { attempts: 1, nextAttemptAt: null, deadLettered: true },
				node: 'Record Failure',
				changes: { email: { after: 'ada@example.com' }, name: { after: 'ada' } },
			});
			expect(event.changedFields).toEqual(['email', 'name']);
		});

		it('records echoes and skipped records from the Change Detector as such', async () => {
			const store = freshBuiltinStore();
			const seen = (key: string, reason: string) => ({ name: key, _sync: { syncId: SYNC_ID, system: 'crm', key, op: 'none', reason } });
			const result = await runChain([audit('Audit', store, 'log')], { input: [seen('c1', 'echo'), seen('c2', 'unchanged')] });

			expect(result.json('Audit', 1).map((event) => [event.status, event.reason, event.target])).toEqual([
				['echo', 'echo', null],
				['skipped', 'unchanged', null],
			]);
		});

		it('gives every event the status chosen in the node, e.g. conflict after Needs Review', async () => {
			const store = freshBuiltinStore();
			const review = {
				name: 'Ada',
				_sync: {
					syncId: SYNC_ID,
					system: 'crm',
					key: 'c1',
					op: 'update',
					changedFields: ['name'],
					resolution: { name: { winner: 'review', strategy: 'manual', reason: 'changed in both systems' } },
				},
			};
			const result = await runChain([audit('Audit', store, 'log', { status: 'conflict' })], { input: [review] });

			const [event] = result.json('Audit', 1);
			expect(event).toMatchObject({ status: 'conflict', resolution: review._sync.resolution, changes: { name: { after: 'Ada' } } });
		});

		it('records the values before the change when given, and the whole record when asked', async () => {
			const store = freshBuiltinStore();
			const result = await runChain(
				[
					audit('Audit', store, 'log', {
						logOnlyChangedFields: false,
						logOptions: { beforeValues: '={{ { "name": "Ada", "email": "ada@example.com" } }}' },
					}),
				],
				{ input: [committed('c1', { name: 'Ada L.', email: 'ada@example.com' }, { changedFields: undefined })] },
			);

			const [event] = result.json('Audit', 1);
			expect(event.changedFields).toEqual(['name']);
			expect(event.changes).toEqual({ name: { before: 'Ada', after: 'Ada L.' } });
			expect(event.record).toEqual({ name: 'Ada L.', email: 'ada@example.com' });
		});

		it('fails an item whose outcome it cannot tell, and logs the others with Continue On Fail', async () => {
			const store = freshBuiltinStore();
			const undecided = { name: 'Ada', _sync: { syncId: SYNC_ID, system: 'crm', key: 'c1', op: 'update' } };
			const result = await runChain([audit('Audit', store, 'log', {}, { continueOnFail: true })], {
				input: [undecided, committed('c2', { name: 'Grace' }), { name: 'no metadata' }],
			});

			const [first, second, third] = result.json('Audit', 0);
			expect(first.error).toBe("The item's sync metadata does not say whether its update was applied, failed or skipped");
			expect(first.description).toMatch(/set "Status"/);
			expect(second).toEqual(committed('c2', { name: 'Grace' }));
			expect(third.error).toBe('This item has no sync metadata, so there is nothing to log');
			expect(result.json('Audit', 1).map((event) => event.source)).toEqual([{ system: 'crm', key: 'c2' }]);

			const failing = await runChain([audit('Audit', store, 'log')], { input: [undecided] });
			expect(failing.status).toBe('error');
		});

		it('refuses items of another sync', async () => {
			const store = freshBuiltinStore();
			const other = { name: 'Ada', _sync: { syncId: 'orders', system: 'crm', key: 'c1', op: 'none', reason: 'echo' } };
			const result = await runChain([audit('Audit', store, 'log', {}, { continueOnFail: true })], { input: [other] });
			expect(result.json('Audit', 0)[0].error).toBe('The item belongs to sync "orders", not "contacts"');
		});

		it('writes JSON Lines and rotates the file by size', async () => {
			const folder = freshFolder();
			const items = Array.from({ length: 12 }, (_, n) => committed(`c${n}`, { name: `Person ${n}` }));
			const result = await runChain(
				[audit('Audit', freshBuiltinStore(), 'log', { sinks: ['file'], filePath: join(folder, 'audit.jsonl'), maxFileSizeMb: 0.002, maxFiles: 10 })],
				{ input: items },
			);

			expect(result.status).toBe('success');
			expect(result.json('Audit', 1)).toEqual([]);
			const files = filesIn(folder);
			expect(files.length).toBeGreaterThan(1);
			for (const file of files) expect(readFileSync(join(folder, file)).length).toBeLessThanOrEqual(2097);
			// Oldest file first: audit.jsonl.N ... audit.jsonl.1, then audit.jsonl.
			const ordered = [...files.filter((file) => file !== 'audit.jsonl').sort().reverse(), 'audit.jsonl'];
			const lines = ordered.flatMap((file) => readFileSync(join(folder, file), 'utf8').trimEnd().split('\n'));
			expect(lines.map((line) => (JSON.parse(line) as { source: { key: string } }).source.key)).toEqual(items.map((_, n) => `c${n}`));
		});
	});

	describe('redaction', () => {
		const HASH_KEY = 'planted-hash-key-0042';
		const PLANTED = [
			'hunter2-planted-password',
			'old-planted-password',
			'tok-planted-7c1d',
			'ak-planted-5566',
			'planted-bearer-abc',
			'170 1234567',
			'jane.roe@example.com',
			'jane.roe',
			'4111 1111 1111 1111',
			'4111111111111111',
			'DE44500105175407324931',
			'123-45-6789',
			HASH_KEY,
			HEADER_SECRET,
			'planted-header-secret',
			SIGNING.secret,
		];

		const record = {
			name: 'Jane Roe',
			password: 'hunter2-planted-password',
			profile: { auth: { accessToken: 'tok-planted-7c1d' }, apiKey: 'ak-planted-5566' },
			headers: { Authorization: 'Bearer planted-bearer-abc' },
			notes: 'Call +49 170 1234567 or mail jane.roe@example.com',
			card: '4111 1111 1111 1111',
			iban: 'DE44500105175407324931',
			ssn: '123-45-6789',
		};
		const item = {
			...record,
			_sync: {
				syncId: SYNC_ID,
				system: 'crm',
				key: 'jane.roe@example.com',
				op: 'update',
				target: { system: 'erp', key: 'e-7', op: 'update' },
				entityId: 'ent-7',
				status: 'failed',
				error: 'Duplicate: jane.roe@example.com already uses card 4111111111111111',
				changedFields: Object.keys(record),
			},
		};
		const logParameters = (folder: string): IDataObject => ({
			sinks: ['output', 'store', 'file', 'http'],
			logOnlyChangedFields: false,
			filePath: join(folder, 'audit.jsonl'),
			hashKey: HASH_KEY,
			signBody: true,
			httpOptions: { maxAttempts: 1, retryDelayMs: 1 },
			logOptions: { beforeValues: '={{ { "password": "old-planted-password", "notes": "old" } }}' },
			redaction: {
				rules: [
					{ match: 'email', method: 'mask' },
					{ match: 'phone', method: 'mask' },
					{ match: 'cardNumber', method: 'mask' },
					{ match: 'custom', regex: 'DE\\d{20}', method: 'drop' },
					{ match: 'field', fields: 'ssn', method: 'hash' },
				],
			},
		});

		let collector: Collector;
		beforeEach(async () => {
			collector = new Collector();
			await collector.start();
		});
		afterEach(async () => {
			await collector.stop();
		});

		it('lets no planted secret or personal value reach any sink', async () => {
			const store = freshBuiltinStore();
			const folder = freshFolder();
			// The first run cannot deliver, so the event also waits in the store's delivery queue.
			collector.replies = [503];
			const first = await runChain([audit('Audit', store, 'log', logParameters(folder))], { input: [item], credentials: httpCredentials(collector) });
			expect(first.status).toBe('success');
			const queuedRows = storeRows(store.databaseFile);
			const second = await runChain([audit('Audit', store, 'log', logParameters(folder))], { input: [item], credentials: httpCredentials(collector) });
			expect(second.status).toBe('success');

			const sinks: Record<string, string> = {
				output: JSON.stringify([first.json('Audit', 1), second.json('Audit', 1)]),
				store: storeRows(store.databaseFile) + queuedRows,
				file: filesIn(folder).map((file) => readFileSync(join(folder, file), 'utf8')).join('\n'),
				http: collector.requests.map((request) => request.body.toString('utf8')).join('\n'),
			};
			expect(collector.events()).toHaveLength(3);
			for (const [sink, text] of Object.entries(sinks)) {
				expect(text.length).toBeGreaterThan(100);
				for (const planted of PLANTED) {
					if (text.includes(planted)) throw new Error(`The ${sink} sink contains the planted value "${planted}"`);
				}
			}
		});

		it('masks, hashes and drops as each rule says, and keeps secret-like fields out', async () => {
			const store = freshBuiltinStore();
			const result = await runChain([audit('Audit', store, 'log', { ...logParameters(freshFolder()), sinks: ['output'] })], {
				input: [item, { ...item, _sync: { ...item._sync, key: 'c2' } }],
			});

			const [event, twin] = result.json('Audit', 1);
			expect(event.record).toEqual({
				name: 'Jane Roe',
				password: '***',
				profile: { auth: { accessToken: '***' }, apiKey: '***' },
				headers: { Authorization: '***' },
				notes: 'Call ***67 or mail j***@example.com',
				card: '****1111',
				ssn: expect.stringMatching(/^hmac:[A-Za-z0-9_-]{43}$/),
			});
			expect((event.changes as IDataObject).password).toEqual({ before: '***', after: '***' });
			expect((event.changes as IDataObject).iban).toBeUndefined();
			expect(event.changedFields).toContain('iban');
			expect(event.source).toEqual({ system: 'crm', key: 'j***@example.com' });
			expect(event.error).toBe('Duplicate: j***@example.com already uses card ****1111');
			// A keyed hash: the same value gives the same token, so events stay joinable.
			expect((twin.record as IDataObject).ssn).toBe((event.record as IDataObject).ssn);
		});

		it('asks for a hash key when a rule hashes', async () => {
			const result = await runChain(
				[audit('Audit', freshBuiltinStore(), 'log', { redaction: { rules: [{ match: 'field', fields: 'ssn', method: 'hash' }] } })],
				{ input: [item] },
			);
			expect(result.status).toBe('error');
			expect(result.error?.message).toBe('A redaction rule hashes values, but no hash key is set');
		});
	});

	describe('HTTP endpoint', () => {
		let collector: Collector;
		beforeEach(async () => {
			collector = new Collector();
			await collector.start();
		});
		afterEach(async () => {
			await collector.stop();
		});

		const http = (extra: IDataObject = {}): IDataObject => ({
			sinks: ['http'],
			signBody: true,
			httpOptions: { maxAttempts: 3, retryDelayMs: 1, ...(extra.httpOptions as IDataObject) },
			...extra,
		});

		it('signs each request body, so the endpoint can check where it came from', async () => {
			const items = Array.from({ length: 5 }, (_, n) => committed(`c${n}`, { name: `Person ${n}` }));
			const result = await runChain([audit('Audit', freshBuiltinStore(), 'log', http({ httpOptions: { batchSize: 2 } }))], {
				input: items,
				credentials: httpCredentials(collector),
			});

			expect(result.status).toBe('success');
			expect(collector.requests).toHaveLength(3);
			for (const request of collector.requests) {
				expect(request.headers.authorization).toBe(HEADER_SECRET);
				expect(request.headers['content-type']).toBe('application/json');
				expect(verifySignature(SIGNING, { headers: request.headers, rawBody: request.body })).toMatchObject({ ok: true });
				const forged = Buffer.from(request.body.toString('utf8').replace('Person', 'Persen'));
				expect(verifySignature(SIGNING, { headers: request.headers, rawBody: forged })).toMatchObject({ ok: false, reason: 'badSignature' });
			}
			expect(collector.events().map((event) => (event.source as IDataObject).key)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
		});

		it('sends JSON Lines when asked', async () => {
			const result = await runChain(
				[audit('Audit', freshBuiltinStore(), 'log', http({ signBody: false, httpOptions: { bodyFormat: 'jsonLines' } }))],
				{ input: [committed('c1', { name: 'Ada' }), committed('c2', { name: 'Grace' })], credentials: httpCredentials(collector) },
			);

			expect(result.status).toBe('success');
			const [request] = collector.requests;
			expect(request.headers['content-type']).toBe('application/x-ndjson');
			expect(request.headers['x-audit-signature']).toBeUndefined();
			const lines = request.body.toString('utf8').trimEnd().split('\n');
			expect(lines.map((line) => (JSON.parse(line) as IDataObject).status)).toEqual(['applied', 'applied']);
		});

		it('retries a failing endpoint and delivers once it answers', async () => {
			const store = freshBuiltinStore();
			collector.replies = [503, 429];
			const result = await runChain([audit('Audit', store, 'log', http())], {
				input: [committed('c1', { name: 'Ada' })],
				credentials: httpCredentials(collector),
			});

			expect(result.status).toBe('success');
			expect(collector.requests).toHaveLength(3);
			expect(new Set(collector.requests.map((request) => request.body.toString('utf8'))).size).toBe(1);
			expect(storeRows(store.databaseFile)).toBe('[[],[]]');
		});

		it('keeps the events an endpoint did not take, and sends them first on the next run', async () => {
			const store = freshBuiltinStore();
			collector.replies = [503, 503];
			const down = await runChain([audit('Audit', store, 'log', http({ httpOptions: { maxAttempts: 2, retryDelayMs: 1 } }))], {
				input: [committed('c1', { name: 'Ada' }), committed('c2', { name: 'Grace' })],
				credentials: httpCredentials(collector),
			});
			expect(down.status).toBe('success');
			expect(down.nodeRuns('Audit')[0].hints).toEqual([
				expect.objectContaining({
					type: 'warning',
					message: expect.stringContaining('2 audit event(s) could not be sent to the HTTP endpoint (The endpoint answered HTTP 503)'),
				}),
			]);

			const up = await runChain([audit('Audit', store, 'log', http())], {
				input: [committed('c3', { name: 'Linus' })],
				credentials: httpCredentials(collector),
			});

			expect(up.status).toBe('success');
			expect(collector.requests).toHaveLength(3);
			expect(collector.events().slice(-3).map((event) => (event.source as IDataObject).key)).toEqual(['c1', 'c2', 'c3']);
			expect(storeRows(store.databaseFile)).toBe('[[],[]]');
		});

		it('keeps the events when the endpoint cannot be reached at all', async () => {
			const store = freshBuiltinStore();
			const url = collector.url;
			await collector.stop();
			const result = await runChain([audit('Audit', store, 'log', http({ signBody: false, httpOptions: { maxAttempts: 1 } }))], {
				input: [committed('c1', { name: 'Ada' })],
				credentials: { auditHttpSinkApi: { url, headerName: 'Authorization', headerSecret: HEADER_SECRET } },
			});

			expect(result.status).toBe('success');
			const db = new DatabaseSync(store.databaseFile, { readOnly: true });
			try {
				const [row] = db.prepare('SELECT attempts, last_error FROM audit_queue').all() as Array<{ attempts: number; last_error: string }>;
				expect(row.attempts).toBe(1);
				expect(row.last_error).toMatch(/^The endpoint could not be reached/);
				expect(row.last_error).not.toContain('planted');
			} finally {
				db.close();
			}
		});
	});

	describe('Query, Verify Chain and Summary', () => {
		async function logSample(store: StoreChoice): Promise<void> {
			const result = await runChain([audit('Audit', store, 'log')], {
				input: [
					committed('c1', { name: 'Ada' }),
					committed('c2', { name: 'Grace' }),
					committed('c3', { name: 'Linus' }, { status: 'failed', error: 'HTTP 500' }),
					{ name: 'Ada', _sync: { syncId: SYNC_ID, system: 'erp', key: 'erp-c1', op: 'none', reason: 'echo' } },
					committed('c4', { name: 'Alan' }, { op: 'create', target: { system: 'erp', key: 'erp-c4', op: 'create' } }),
				],
			});
			expect(result.status).toBe('success');
		}

		it('finds events by system, key, entity and status, newest first, a page at a time', async () => {
			const store = freshBuiltinStore();
			await logSample(store);
			const query = async (parameters: IDataObject) => {
				const result = await runChain([audit('Query', store, 'query', parameters)], { input: [{}] });
				expect(result.status).toBe('success');
				return seqs(result.json('Query'));
			};

			expect(await query({ returnAll: true })).toEqual([5, 4, 3, 2, 1]);
			expect(await query({ limit: 2 })).toEqual([5, 4]);
			expect(await query({ limit: 2, after: 4 })).toEqual([3, 2]);
			expect(await query({ order: 'oldest', limit: 2, after: 2 })).toEqual([3, 4]);
			expect(await query({ system: 'erp', key: 'erp-c1', returnAll: true })).toEqual([4, 1]);
			expect(await query({ entityId: 'ent-c2', returnAll: true })).toEqual([2]);
			expect(await query({ statuses: ['failed', 'echo'], returnAll: true })).toEqual([4, 3]);
			expect(await query({ ops: ['create'], returnAll: true })).toEqual([5]);
			expect(await query({ from: '2000-01-01T00:00:00Z', to: '2001-01-01T00:00:00Z', returnAll: true })).toEqual([]);
		});

		it('confirms an intact chain and reports its head', async () => {
			const store = freshBuiltinStore();
			await logSample(store);
			const result = await runChain([audit('Verify', store, 'verifyChain')], { input: [{}] });

			expect(result.json('Verify')).toEqual([
				{ syncId: SYNC_ID, valid: true, checked: 5, head: { seq: 5, hash: expect.any(String) }, firstBreak: null, message: 'All 5 events are intact' },
			]);
		});

		it.each([
			['edited', `UPDATE audit SET event = replace(event, '"Grace"', '"Mallory"') WHERE seq = 2`, 2, 'hash'],
			['deleted', 'DELETE FROM audit WHERE seq = 3', 3, 'sequence'],
			['reordered', 'UPDATE audit SET seq = -1 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = -1', 2, 'link'],
		])('reports the first broken link when an event was %s in the store', async (_how, tamper, position, reason) => {
			const store = freshBuiltinStore();
			await logSample(store);
			const db = new DatabaseSync(store.databaseFile);
			try {
				db.exec(tamper);
			} finally {
				db.close();
			}

			const result = await runChain([audit('Verify', store, 'verifyChain')], { input: [{}] });
			const [verification] = result.json('Verify');
			expect(verification).toMatchObject({ valid: false, checked: position - 1, firstBreak: { position, reason } });
			expect(verification.message).toMatch(new RegExp(`^The chain is broken at position ${position}: `));
		});

		it('detects events removed from the end against an anchor kept elsewhere', async () => {
			const store = freshBuiltinStore();
			await logSample(store);
			const [intact] = (await runChain([audit('Verify', store, 'verifyChain')], { input: [{}] })).json('Verify');
			const head = intact.head as { seq: number; hash: string };
			const db = new DatabaseSync(store.databaseFile);
			try {
				db.exec('DELETE FROM audit WHERE seq >= 4');
			} finally {
				db.close();
			}

			const plain = await runChain([audit('Verify', store, 'verifyChain')], { input: [{}] });
			expect(plain.json('Verify')[0].valid).toBe(true);
			const anchored = await runChain([audit('Verify', store, 'verifyChain', { anchor: { seq: head.seq, hash: head.hash } })], { input: [{}] });
			expect(anchored.json('Verify')[0]).toMatchObject({ valid: false, firstBreak: { reason: 'anchor', seq: 5 } });
		});

		it('summarises a window per system and op, with the success rate and the dead-lettered retries', async () => {
			const store = freshBuiltinStore();
			await logSample(store);
			await runWorkflow({
				nodes: [
					startNode(),
					{ name: 'Write', type: FIXTURE_TYPES.failWriter, parameters: { fail: true }, onError: 'continueErrorOutput' },
					state('Record Failure', store, 'record', 'recordFailure', { maxAttempts: 1 }),
				],
				connections: connect(['Start', 'Write'], { from: 'Write', to: 'Record Failure', output: 1 }),
				input: [crmChange('c9', 'ada@example.com')],
			});

			const result = await runChain([audit('Summary', store, 'summary', { hours: 1 })], { input: [{}] });
			const [summary] = result.json('Summary');
			expect(summary).toEqual({
				syncId: SYNC_ID,
				from: expect.any(String),
				to: expect.any(String),
				total: 5,
				applied: 3,
				failed: 1,
				conflict: 0,
				echo: 1,
				skipped: 0,
				successRate: 75,
				deadLettered: 1,
				pendingRetries: 0,
				systems: {
					erp: {
						total: 5,
						applied: 3,
						failed: 1,
						conflict: 0,
						echo: 1,
						skipped: 0,
						successRate: 75,
						ops: {
							create: { applied: 1, failed: 0, conflict: 0, echo: 0, skipped: 0 },
							none: { applied: 0, failed: 0, conflict: 0, echo: 1, skipped: 0 },
							update: { applied: 2, failed: 1, conflict: 0, echo: 0, skipped: 0 },
						},
					},
				},
			});

			const empty = await runChain(
				[audit('Summary', store, 'summary', { window: 'range', windowFrom: '2000-01-01T00:00:00Z', windowTo: '2000-01-02T00:00:00Z' })],
				{ input: [{}] },
			);
			expect(empty.json('Summary')[0]).toMatchObject({ total: 0, successRate: 100 });
		});
	});

	describe('on PostgreSQL', () => {
		const postgres: StoreChoice = { store: 'postgres' };
		const credentials = () => postgresCredentials();

		it('keeps one valid chain when parallel executions log the same sync', async () => {
			const runs = await Promise.all(
				Array.from({ length: 4 }, async (_, run) =>
					await runChain([audit('Audit', postgres, 'log')], {
						input: Array.from({ length: 5 }, (_, n) => committed(`r${run}-c${n}`, { name: `Person ${n}` })),
						credentials: credentials(),
					}),
				),
			);
			for (const run of runs) expect(run.status).toBe('success');
			expect(
				runs
					.flatMap((run) => seqs(run.json('Audit', 1)))
					.sort((a, b) => a - b),
			).toEqual(Array.from({ length: 20 }, (_, n) => n + 1));

			const verify = await runChain([audit('Verify', postgres, 'verifyChain')], { input: [{}], credentials: credentials() });
			expect(verify.json('Verify')[0]).toMatchObject({ valid: true, checked: 20 });
		});
	});

	it('ships with its icons and codex', () => {
		const folder = join(__dirname, '..', '..', 'dist', 'nodes', 'AuditLogger');
		for (const file of ['auditLogger.svg', 'auditLogger.dark.svg', 'AuditLogger.node.json']) expect(existsSync(join(folder, file))).toBe(true);
	});
});
