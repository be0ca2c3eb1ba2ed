import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import type { Client } from 'pg';

import {
	N8N_RUN_TIMEOUT_MS,
	N8N_SETUP_TIMEOUT_MS,
	expectRunSucceeded,
	n8nHost,
	withN8nUserFolder,
	type RunJson,
	type RunningN8n,
	type WorkflowJson,
} from './support';
import { PARSE_SETUP_TIMEOUT_MS, parseHost, startParseStack, type ParseStack, type ParseTriggerBody } from './support/systems';
import {
	CLASS,
	CRM_WRITERS,
	Crm,
	DATABASE_WRITERS,
	Database,
	contactAsCustomer,
	emitted,
	exampleFor,
	systemCredentials,
	writesOf,
	type Contact,
	type Customer,
	createExampleSystems,
} from './support/twoWaySystems';

// Example workflow 2 (examples/realtime-crm-to-database) in a real `n8n start`, active, fed by Parse
// Server's own afterSave/afterDelete webhooks; then example workflow 1 through the CLI on the same
// user folder, to show that the two share one sync state without echoes.
//
// Set TWS_WEBHOOK_LATENCY=1 to also time 50 sequential saves from Parse to PostgreSQL; the figures go
// to bench/results/webhook-latency-<date>.json (measured here, where the whole stack runs; never asserted).

const realtimeExample = JSON.parse(
	readFileSync(join(__dirname, '..', '..', 'examples', 'realtime-crm-to-database', 'workflow.json'), 'utf8'),
) as WorkflowJson;

const WEBHOOK_PATH = 'parse-contacts';
const WEBHOOK_CREDENTIAL = { id: 'ParseWebhookKey1', name: 'Parse webhook key' };
const DETECTOR = 'Detect CRM Change';
/** Outputs of the Change Detector in event mode with the signature check. */
const REJECTED_OUTPUT = 3;
/** How long a change may take to reach PostgreSQL before the test gives up waiting (not a timing assertion). */
const ARRIVAL_DEADLINE_MS = 60_000;
const measureLatency = process.env.TWS_WEBHOOK_LATENCY === '1';
const LATENCY_SAVES = 50;
const LATENCY_POLL_MS = 5;

const execFileAsync = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs another n8n CLI command on the user folder (n8n-host.mjs wraps only import and execute). */
async function n8nCommand(userFolder: string, args: string[]): Promise<string> {
	const node = join(n8nHost.ROOT, 'node_modules', 'node', 'bin', 'node');
	const bin = join(n8nHost.ROOT, 'e2e', 'n8n-host', 'node_modules', 'n8n', 'bin', 'n8n');
	const env = n8nHost.n8nEnv(userFolder, { N8N_RUNNERS_BROKER_PORT: String(await n8nHost.freePort()) });
	const { stdout, stderr } = await execFileAsync(node, [bin, ...args], { cwd: userFolder, env, timeout: 120_000 });
	return stdout + stderr;
}

/** Waits until `check` returns a value other than undefined, polling, or fails after the deadline. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, { deadlineMs = ARRIVAL_DEADLINE_MS, pollMs = 25 } = {}): Promise<T> {
	const started = Date.now();
	for (;;) {
		const value = await check();
		if (value !== undefined) return value;
		if (Date.now() - started > deadlineMs) throw new Error(`Gave up after ${deadlineMs / 1000} s waiting for ${what}.`);
		await sleep(pollMs);
	}
}

// ---------------------------------------------------------------------------------------------
// The executions of the running n8n, through its REST API

interface ExecutionSummary {
	id: string;
	status: string;
	finished?: boolean;
}

// n8n stores run data in the `flatted` format; the n8n host has the package.
const hostRequire = process.getBuiltinModule('node:module').createRequire(join(n8nHost.ROOT, 'e2e', 'n8n-host', 'node_modules', 'n8n', 'package.json'));
const flatted = hostRequire('flatted') as { parse(text: string): unknown };

async function executionsOf(n8n: RunningN8n, cookie: string, workflowId: string): Promise<ExecutionSummary[]> {
	const filter = encodeURIComponent(JSON.stringify({ workflowId }));
	const body = (await n8nHost.getJson(n8n.url, `/rest/executions?filter=${filter}&limit=100`, cookie)) as {
		data: { results: ExecutionSummary[] } | ExecutionSummary[];
	};
	return Array.isArray(body.data) ? body.data : body.data.results;
}

async function executionRun(n8n: RunningN8n, cookie: string, id: string): Promise<RunJson> {
	const body = (await n8nHost.getJson(n8n.url, `/rest/executions/${id}`, cookie)) as { data: { status: RunJson['status']; mode: string; data: string } };
	return { status: body.data.status, mode: body.data.mode, data: flatted.parse(body.data.data) as RunJson['data'] };
}

/**
 * Waits until the workflow has `count` executions newer than `afterId`, all ended, and returns them
 * newest first. (The list API returns at most 100, newest first.)
 */
async function endedExecutionsAfter(n8n: RunningN8n, cookie: string, workflowId: string, afterId: number, count: number): Promise<ExecutionSummary[]> {
	return await eventually(`${count} new ended executions of the real-time workflow`, async () => {
		const newer = (await executionsOf(n8n, cookie, workflowId)).filter((execution) => Number(execution.id) > afterId);
		const ended = newer.every((execution) => !['new', 'running', 'waiting'].includes(execution.status));
		return newer.length >= count && ended ? newer.sort((a, b) => Number(b.id) - Number(a.id)) : undefined;
	});
}

/** Items that reached the given write nodes, on either output. */
function writeItems(run: RunJson, writers: string[]): Array<Record<string, unknown>> {
	return writers.flatMap((writer) => [...emitted(run, writer, 0), ...emitted(run, writer, 1)]);
}

// ---------------------------------------------------------------------------------------------
// The scenario

const ada: Contact = { fullName: 'Ada Lovelace', email: 'ada@example.com', phoneNumber: '+44 20 7946 0001', isActive: 'yes', birthday: '10/12/1815', status: 'Active' };
const grace: Contact = { fullName: 'Grace Hopper', email: 'grace@example.com', phoneNumber: '+1 212 555 0102', isActive: 'no', birthday: '09/12/1906', status: 'Lead' };
const mallory: Contact = { fullName: 'Mallory Forger', email: 'mallory@example.com', phoneNumber: '+1 555 0100', isActive: 'yes', birthday: '01/01/1990', status: 'Active' };

/** The body Parse would send for a create, for the forged calls. */
function forgedSave(contact: Contact): ParseTriggerBody {
	const now = new Date().toISOString();
	return {
		triggerName: 'afterSave',
		object: { ...contact, objectId: 'F0rg3d0bj3ct', createdAt: now, updatedAt: now, className: CLASS },
		master: false,
		isReadOnly: false,
		ip: '127.0.0.1',
		headers: {},
		context: {},
	};
}

describe('Real-time leg: Parse webhooks into PostgreSQL through an active workflow in a real `n8n start` (example workflow 2)', () => {
	const n8nFolder = withN8nUserFolder({ label: 'realtime' });
	let stack: ParseStack;
	let client: Client;
	let crm: Crm;
	let database: Database;
	let n8n: RunningN8n | undefined;
	let cookie: string;
	let realtimeId: string;
	let scheduledId: string;
	let webhookUrl: string;
	/** The newest execution of the real-time workflow seen so far, to wait for the next one. */
	let lastExecutionId = 0;

	const customerByEmail = async (email: string): Promise<Customer | undefined> => (await database.all()).find((row) => row.email === email);

	/** Waits for the execution(s) the last action caused, and returns the newest one's run data. */
	async function nextExecution(count = 1): Promise<RunJson> {
		const [newest] = await endedExecutionsAfter(n8n!, cookie, realtimeId, lastExecutionId, count).catch(async (error: Error) => {
			const seen = await executionsOf(n8n!, cookie, realtimeId);
			throw new Error(`${error.message}\nExecutions after ${lastExecutionId}: ${JSON.stringify(seen)}\nn8n said:\n${n8n!.output().slice(-3000)}`);
		});
		lastExecutionId = Number(newest.id);
		return await executionRun(n8n!, cookie, newest.id);
	}

	beforeAll(async () => {
		stack = await startParseStack();
		const systems = await createExampleSystems(stack);
		({ crm, database, client } = systems);
		const { customersDatabase } = systems;

		const folder = n8nFolder.folder();
		await n8nHost.importCredentials(folder, [
			...systemCredentials(customersDatabase, stack.parse),
			{
				...WEBHOOK_CREDENTIAL,
				type: 'webhookSignatureApi',
				data: { secret: stack.parse.webhookKey, algorithm: 'plain', headerName: 'X-Parse-Webhook-Key', toleranceSeconds: 300 },
			},
		]);
		realtimeId = await n8nHost.importWorkflow(folder, realtimeExample);
		scheduledId = await n8nHost.importWorkflow(folder, exampleFor(stack.parse.serverUrl, 'builtin'));
		// n8n 2.x activates a workflow by publishing a version of it; `n8n start` then registers its webhook.
		await n8nCommand(folder, ['publish:workflow', `--id=${realtimeId}`]);

		n8n = await n8nHost.startN8n(folder);
		process.stderr.write(`[realtime] n8n start ready in ${(n8n.readyMs / 1000).toFixed(1)} s\n`);
		cookie = await n8nHost.login(n8n.url);
		webhookUrl = `${n8n.url}/webhook/${WEBHOOK_PATH}`;
		// n8n answers its health check before it has registered the webhooks of active workflows. A CORS
		// preflight names the webhook's methods once it is registered, and fails until then.
		await eventually('n8n to register the production webhook', async () => {
			const preflight = await fetch(webhookUrl, { method: 'OPTIONS', headers: { origin: n8n!.url, 'access-control-request-method': 'POST' } });
			return preflight.status === 204 ? true : undefined;
		});
		for (const trigger of ['afterSave', 'afterDelete'] as const) {
			await parseHost.registerTriggerHook(stack.parse, CLASS, trigger, webhookUrl);
		}
	}, N8N_SETUP_TIMEOUT_MS + PARSE_SETUP_TIMEOUT_MS);

	afterAll(async () => {
		await n8n?.stop();
		await client?.end();
		await stack?.stop();
	});

	describe('a contact created in Parse', () => {
		let run: RunJson;

		beforeAll(async () => {
			await crm.create(ada);
			run = await nextExecution();
		}, N8N_RUN_TIMEOUT_MS);

		it('arrives in PostgreSQL as a row, translated by the same rules as the scheduled sync', async () => {
			expectRunSucceeded(run);
			const contact = await crm.byEmail(ada.email);
			expect(await eventually('Ada in PostgreSQL', () => customerByEmail(ada.email))).toEqual(contactAsCustomer(contact));
			expect(emitted(run, 'Commit Database Writes', 0)).toHaveLength(1);
		});

		it('keeps the sync metadata out of the row', async () => {
			expect(await database.columnNames()).toEqual(['active', 'birth_date', 'email', 'full_name', 'id', 'phone', 'status', 'updated_at']);
		});
	});

	describe('the contact changed in Parse, and a second contact created', () => {
		beforeAll(async () => {
			await crm.update(ada.email, { phoneNumber: '+44 20 7946 0999', status: 'Inactive' });
			await nextExecution();
			await crm.create(grace);
			await nextExecution();
		}, N8N_RUN_TIMEOUT_MS);

		it('updates the linked row in place, and inserts the new one', async () => {
			const rows = await database.all();
			expect(rows.filter((row) => row.email === ada.email)).toEqual([expect.objectContaining({ phone: '+44 20 7946 0999', status: 'I' })]);
			expect(rows.find((row) => row.email === grace.email)).toEqual(contactAsCustomer(await crm.byEmail(grace.email)));
			expect(rows).toHaveLength(2);
		});
	});

	describe('the second contact deleted in Parse', () => {
		let run: RunJson;

		beforeAll(async () => {
			await crm.create({ ...grace, email: 'grace.twin@example.com' });
			await nextExecution();
			await crm.delete('grace.twin@example.com');
			run = await nextExecution();
		}, N8N_RUN_TIMEOUT_MS);

		it('deletes its row', async () => {
			expectRunSucceeded(run);
			expect(emitted(run, 'Delete Customers', 0)).toHaveLength(1);
			expect((await database.all()).map((row) => row.email).sort()).toEqual([ada.email, grace.email]);
		});
	});

	describe('forged calls straight to the webhook URL', () => {
		const runs: Record<string, RunJson> = {};

		beforeAll(async () => {
			const calls: Array<[string, Record<string, string>]> = [
				['wrong key', { 'X-Parse-Webhook-Key': 'not-the-webhook-key' }],
				['no key', {}],
			];
			for (const [label, headers] of calls) {
				const response = await fetch(webhookUrl, {
					method: 'POST',
					headers: { 'content-type': 'application/json', ...headers },
					body: JSON.stringify(forgedSave(mallory)),
				});
				expect(response.status).toBe(200);
				runs[label] = await nextExecution();
			}
		}, N8N_RUN_TIMEOUT_MS);

		it.each([
			['wrong key', 'badSignature'],
			['no key', 'missingSignature'],
		])('rejects the call with %s, and writes nothing', async (label, reason) => {
			const run = runs[label];
			expectRunSucceeded(run);
			expect(emitted(run, DETECTOR, REJECTED_OUTPUT)).toEqual([expect.objectContaining({ _sync: expect.objectContaining({ op: 'none', reason }) })]);
			for (const output of [0, 1, 2]) expect(emitted(run, DETECTOR, output)).toEqual([]);
			expect(writesOf(run, DATABASE_WRITERS)).toBe(0);
			expect(await customerByEmail(mallory.email)).toBeUndefined();
		});

		it("rejects a replayed copy of Parse's own call, although it carries the right key", async () => {
			// The call Parse made for Ada's last save, as an eavesdropper would have recorded it.
			const { objectId, createdAt, updatedAt, ...fields } = await crm.byEmail(ada.email);
			const recorded: ParseTriggerBody = {
				...forgedSave(mallory),
				object: { ...fields, objectId, createdAt, updatedAt, className: CLASS },
			};
			await fetch(webhookUrl, {
				method: 'POST',
				headers: { 'content-type': 'application/json', 'X-Parse-Webhook-Key': stack.parse.webhookKey },
				body: JSON.stringify(recorded),
			});
			const replay = await nextExecution();
			expectRunSucceeded(replay);
			expect(emitted(replay, DETECTOR, REJECTED_OUTPUT)).toEqual([expect.objectContaining({ _sync: expect.objectContaining({ op: 'none', reason: 'replay' }) })]);
			expect(writesOf(replay, DATABASE_WRITERS)).toBe(0);
		}, N8N_RUN_TIMEOUT_MS);
	});

	describe('the scheduled workflow (example 1) writing to Parse while this one is active', () => {
		const katherine: Customer = { full_name: 'Katherine Johnson', email: 'katherine@example.com', phone: '+1 757 555 0126', active: true, birth_date: '1918-08-26', status: 'A' };
		let scheduled: RunJson;
		let webhookRuns: RunJson[];

		beforeAll(async () => {
			await database.insert(katherine);
			await database.update(grace.email, { phone: '+1 212 555 0199' });
			// Both n8n processes at once, as in production: the webhook calls arrive while the
			// scheduled run writes, before its Commit links the new contact. The CLI run shares the
			// user folder's SQLite files with `n8n start` (WAL lets two processes on one machine do that).
			scheduled = await n8nHost.executeWorkflow(n8nFolder.folder(), scheduledId);
			// One afterSave call for the created contact and one for the updated one.
			const executions = await endedExecutionsAfter(n8n!, cookie, realtimeId, lastExecutionId, 2);
			lastExecutionId = Number(executions[0].id);
			webhookRuns = await Promise.all(executions.map(async (execution) => await executionRun(n8n!, cookie, execution.id)));
		}, 2 * N8N_RUN_TIMEOUT_MS);

		it('creates and updates the contacts in Parse', async () => {
			expectRunSucceeded(scheduled);
			expect(emitted(scheduled, 'Create Contacts', 0)).toHaveLength(1);
			expect(emitted(scheduled, 'Update Contacts', 0)).toHaveLength(1);
			expect((await crm.byEmail(grace.email)).phoneNumber).toBe('+1 212 555 0199');
			expect(contactAsCustomer(await crm.byEmail(katherine.email))).toEqual(katherine);
		});

		it('leaves one row per person in PostgreSQL: the webhook runs wrote nothing for those writes', async () => {
			expect(webhookRuns).toHaveLength(2);
			for (const run of webhookRuns) {
				expectRunSucceeded(run);
				for (const output of [0, 1, 2]) expect(emitted(run, DETECTOR, output)).toEqual([]);
				expect(writesOf(run, DATABASE_WRITERS)).toBe(0);
			}
			expect((await database.all()).map((row) => row.email).sort()).toEqual([ada.email, grace.email, katherine.email]);
		});
	});

	(measureLatency ? describe : describe.skip)(`latency from a Parse save to the row in PostgreSQL (${LATENCY_SAVES} sequential saves)`, () => {
		const latencies: number[] = [];

		beforeAll(async () => {
			const email = 'latency@example.com';
			const objectId = await crm.create({ ...ada, email });
			await nextExecution();
			const phoneInDatabase = async () => (await client.query<{ phone: string }>('SELECT phone FROM customers WHERE email = $1', [email])).rows[0]?.phone;
			for (let save = 1; save <= LATENCY_SAVES; save++) {
				const phone = `+1 555 ${String(save).padStart(4, '0')}`;
				const started = performance.now();
				await parseHost.parseRequest(stack.parse, 'PUT', `/classes/${CLASS}/${objectId}`, { phoneNumber: phone });
				await eventually(`save ${save} in PostgreSQL`, async () => ((await phoneInDatabase()) === phone ? true : undefined), { pollMs: LATENCY_POLL_MS });
				latencies.push(performance.now() - started);
				// The run goes on after the write (Commit, Audit): let it end before the next save.
				await nextExecution();
			}
			await writeLatencyResults(latencies);
		}, 10 * N8N_RUN_TIMEOUT_MS);

		it('brings every one of the saves to PostgreSQL', () => {
			expect(latencies).toHaveLength(LATENCY_SAVES);
		});
	});

	describe('then the scheduled two-way workflow (example 1), run through the CLI on the same user folder', () => {
		let run: RunJson;

		beforeAll(async () => {
			// One n8n process at a time on the user folder's databases.
			await n8n?.stop();
			n8n = undefined;
			run = await n8nHost.executeWorkflow(n8nFolder.folder(), scheduledId);
		}, N8N_RUN_TIMEOUT_MS);

		it('writes nothing: the webhook runs left the sync state as if it had made those writes itself', () => {
			expectRunSucceeded(run);
			expect(writeItems(run, DATABASE_WRITERS)).toEqual([]);
			expect(writeItems(run, CRM_WRITERS)).toEqual([]);
			for (const detector of ['Detect CRM Changes', 'Detect Database Changes']) {
				expect([0, 1, 2].flatMap((output) => emitted(run, detector, output))).toEqual([]);
			}
		});
	});
});

/** p50 and p95 (nearest rank) of the measured latencies, with the run's setting, for bench/run.mjs to pick up. */
async function writeLatencyResults(latencies: number[]): Promise<void> {
	const sorted = [...latencies].sort((a, b) => a - b);
	const percentile = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
	const round = (ms: number) => Math.round(ms * 10) / 10;
	const date = new Date().toISOString().slice(0, 10);
	const result = {
		name: 'webhook-latency',
		date: new Date().toISOString(),
		description: `Time from a Parse Server REST save (PUT, client side) until the changed row is visible in PostgreSQL, through Parse afterSave webhook -> n8n 2.41.1 "n8n start" (active example workflow 2, built-in store) -> Postgres Update -> Commit -> Audit. Sequential saves, each after the previous run ended; the row polled every ${LATENCY_POLL_MS} ms.`,
		saves: sorted.length,
		unit: 'ms',
		p50: round(percentile(50)),
		p95: round(percentile(95)),
		min: round(sorted[0]),
		max: round(sorted[sorted.length - 1]),
		mean: round(sorted.reduce((sum, ms) => sum + ms, 0) / sorted.length),
		samples: latencies.map(round),
		environment: { node: process.version, cpus: cpus().length, platform: process.platform },
	};
	const dir = join(__dirname, '..', '..', 'bench', 'results');
	await mkdir(dir, { recursive: true });
	await writeFile(join(dir, `webhook-latency-${date}.json`), `${JSON.stringify(result, null, 2)}\n`);
	process.stderr.write(`[realtime] webhook latency over ${result.saves} saves: p50 ${result.p50} ms, p95 ${result.p95} ms\n`);
}
