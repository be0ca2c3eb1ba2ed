import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Client } from 'pg';

import { createScratchDatabase, startThrowawayPostgres, type ThrowawayPostgres } from '../support/postgres';
import { N8N_RUN_TIMEOUT_MS, N8N_SETUP_TIMEOUT_MS, expectRunSucceeded, n8nHost, withN8nUserFolder, type RunJson } from './support';
import { startFaultProxy, type FaultProxy } from './support/faultProxy';
import { allContacts, countContacts, duplicateCount, tunedExample, writeReliabilityFigures } from './support/faults';
import { PARSE_SETUP_TIMEOUT_MS, startParseStack, type ParseStack } from './support/systems';
import {
	CRM_WRITERS,
	Crm,
	DATABASE_WRITERS,
	Database,
	storeCredential,
	byEmail,
	contactAsCustomer,
	emitted,
	systemCredentials,
	writesOf,
	type Customer,
	createExampleSystems,
	committedWrites,
} from './support/twoWaySystems';

// Example workflow 1 through the real n8n CLI, when the process or the state store dies mid-run:
// - n8n is killed (SIGKILL) half way through writing a 5,000-record cycle to Parse;
// - the Sync State store (PostgreSQL) stops while the run is writing.
// In both cases records were written that the sync never committed. The next run must link them
// (the Conflict Resolver's first-time matching on email) instead of creating them a second time.

/** Records in the crash cycle; TWS_CRASH_RECORDS lowers it on a slow machine (RELIABILITY.md says what was used). */
const CRASH_RECORDS = Number(process.env.TWS_CRASH_RECORDS ?? 5000);

const customerNumber = (index: number): Customer => ({
	full_name: `Customer ${index}`,
	email: `customer${index}@crash.test`,
	phone: `+1 555 ${String(index).padStart(6, '0')}`,
	active: index % 5 !== 0,
	birth_date: `1975-0${(index % 9) + 1}-${String((index % 28) + 1).padStart(2, '0')}`,
	status: (['A', 'I', 'L'] as const)[index % 3],
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const figures: Record<string, unknown> = {};

/** The committed writes, counted, e.g. { "crm:create": 2500 }. */
function committedWriteCounts(run: RunJson): Record<string, number> {
	const counts: Record<string, number> = {};
	for (const write of committedWrites(run)) counts[write] = (counts[write] ?? 0) + 1;
	return counts;
}

/** Changes found already in sync and remembered without a write: the Conflict Resolver's No Change, committed. */
function settledWithoutWrite(run: RunJson): number {
	return emitted(run, 'Remember Settled Records', 0).filter((item) => (item._sync as { committed?: boolean }).committed === true).length;
}

async function expectSameRecords(stack: ParseStack, database: Database, expectedEmails: string[]): Promise<void> {
	const contacts = (await allContacts(stack.parse)).map(contactAsCustomer).sort(byEmail);
	const customers = (await database.all()).sort(byEmail);
	expect(duplicateCount(contacts.map((row) => row.email))).toBe(0);
	expect(duplicateCount(customers.map((row) => row.email))).toBe(0);
	expect(customers.map((row) => row.email).sort()).toEqual([...expectedEmails].sort());
	expect(contacts).toEqual(customers);
}

afterAll(() => {
	if (Object.keys(figures).length > 0) {
		const file = writeReliabilityFigures('faults-crash', { test: 'test/e2e/faults.crash.e2e.test.ts', ...figures });
		process.stderr.write(`[faults] figures in ${file}\n`);
	}
});

describe(`n8n killed (SIGKILL) half way through a ${CRASH_RECORDS}-record cycle`, () => {
	const n8n = withN8nUserFolder({ label: 'faults-crash' });
	let stack: ParseStack;
	let client: Client;
	let database: Database;
	let workflowId: string;
	let orphans = 0;
	let crashMs = 0;
	let afterCrash: RunJson;
	let again: RunJson;
	const emails = Array.from({ length: CRASH_RECORDS }, (_value, index) => customerNumber(index).email);

	/**
	 * Runs the workflow as `n8n execute` does, in its own process group, and kills the group with
	 * SIGKILL once Parse holds `killAt` contacts. Returns how many contacts Parse held when it settled.
	 */
	async function runAndKill(killAt: number): Promise<{ killed: boolean; contacts: number }> {
		const hostBin = join(n8nHost.ROOT, 'e2e', 'n8n-host', 'node_modules', 'n8n', 'bin', 'n8n');
		const node24 = join(n8nHost.ROOT, 'node_modules', 'node', 'bin', 'node');
		const env = n8nHost.n8nEnv(n8n.folder(), { N8N_RUNNERS_BROKER_PORT: String(await n8nHost.freePort()) });
		const child = spawn(node24, [hostBin, 'execute', `--id=${workflowId}`, '--rawOutput'], { cwd: n8n.folder(), env, stdio: 'ignore', detached: true });
		let exited = false;
		child.on('exit', () => (exited = true));
		const started = Date.now();
		let killed = false;
		// Bounded: the whole cycle takes well under this on the slowest machine measured.
		while (!exited && Date.now() - started < N8N_RUN_TIMEOUT_MS - 30_000) {
			if ((await countContacts(stack.parse)) >= killAt) {
				process.kill(-child.pid!, 'SIGKILL');
				killed = true;
				break;
			}
			await sleep(200);
		}
		crashMs = Date.now() - started;
		if (!exited && !killed) process.kill(-child.pid!, 'SIGKILL');
		// Requests already at Parse finish on their own: wait until the count holds still.
		let contacts = await countContacts(stack.parse);
		for (let settled = 0; settled < 5; ) {
			await sleep(300);
			const now = await countContacts(stack.parse);
			settled = now === contacts ? settled + 1 : 0;
			contacts = now;
		}
		return { killed, contacts };
	}

	beforeAll(async () => {
		stack = await startParseStack();
		const customersDatabase = await createScratchDatabase('customers', stack.postgres.url);
		client = new Client({ connectionString: customersDatabase.url });
		await client.connect();
		database = new Database(client);
		await new Crm(stack).createClass();
		await database.createTable();
		for (let start = 0; start < CRASH_RECORDS; start += 500) {
			const batch = Array.from({ length: Math.min(500, CRASH_RECORDS - start) }, (_value, offset) => customerNumber(start + offset));
			await client.query(
				`INSERT INTO customers (full_name, email, phone, active, birth_date, status)
				SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(full_name text, email text, phone text, active boolean, birth_date timestamptz, status text)`,
				[JSON.stringify(batch.map((customer) => ({ ...customer, birth_date: `${customer.birth_date}T00:00:00Z` })))],
			);
		}
		await n8nHost.importCredentials(n8n.folder(), systemCredentials(customersDatabase, stack.parse));
		workflowId = await n8nHost.importWorkflow(n8n.folder(), tunedExample(stack.parse.serverUrl, 'builtin'));

		const crash = await runAndKill(Math.floor(CRASH_RECORDS / 2));
		if (!crash.killed) throw new Error(`The cycle ended before Parse held ${Math.floor(CRASH_RECORDS / 2)} contacts, so n8n was not killed mid-batch.`);
		orphans = crash.contacts;
		let started = Date.now();
		afterCrash = await n8nHost.executeWorkflow(n8n.folder(), workflowId, { attempts: 1 });
		const recoveryMs = Date.now() - started;
		started = Date.now();
		again = await n8nHost.executeWorkflow(n8n.folder(), workflowId, { attempts: 1 });
		figures.crash = {
			records: CRASH_RECORDS,
			killedAfterMs: crashMs,
			contactsWrittenBeforeKill: orphans,
			recoveryCycleMs: recoveryMs,
			quietCycleMs: Date.now() - started,
			recoveryCommitted: committedWriteCounts(afterCrash),
			linkedByEmailMatch: committedWriteCounts(afterCrash)['db:update'] ?? 0,
			contactsAfter: await countContacts(stack.parse),
			duplicates: duplicateCount((await allContacts(stack.parse)).map((contact) => String(contact.email))),
		};
	}, N8N_SETUP_TIMEOUT_MS + PARSE_SETUP_TIMEOUT_MS + 3 * N8N_RUN_TIMEOUT_MS);

	afterAll(async () => {
		await client?.end();
		await stack?.stop();
	});

	it('kills n8n after Parse received some of the creates but not all of them', () => {
		expect(orphans).toBeGreaterThanOrEqual(Math.floor(CRASH_RECORDS / 2));
		expect(orphans).toBeLessThan(CRASH_RECORDS);
	});

	it('links the contacts written before the kill by their email in the next run, and creates only the rest', () => {
		expectRunSucceeded(afterCrash);
		// A first-time match writes the database side (with what it already holds) so that Commit links the two.
		expect(committedWriteCounts(afterCrash)).toEqual({ 'crm:create': CRASH_RECORDS - orphans, 'db:update': orphans });
		const matched = emitted(afterCrash, 'Commit Database Writes', 0).map((item) => item._sync as { system: string; op: string });
		expect(matched.every((meta) => meta.system === 'crm' && meta.op === 'create')).toBe(true);
	});

	it('converges with every record once on each side', async () => {
		await expectSameRecords(stack, database, emails);
	});

	it('writes nothing in the run after that', () => {
		expectRunSucceeded(again);
		expect(writesOf(again, CRM_WRITERS) + writesOf(again, DATABASE_WRITERS)).toBe(0);
	});
});

describe('the Sync State store (PostgreSQL) stops while a run is writing', () => {
	const n8n = withN8nUserFolder({ label: 'faults-store-outage' });
	let stack: ParseStack;
	let storeCluster: ThrowawayPostgres;
	let proxy: FaultProxy;
	let client: Client;
	let database: Database;
	let workflowId: string;
	let outage: RunJson;
	let afterRestart: RunJson;
	let again: RunJson;
	let writtenDuringOutage = 0;
	const model = new Map<string, Customer>();

	const clusterDir = () => join(storeCluster.dataDir, 'data');

	/** Stops the store's cluster the hard way (SIGQUIT to the postmaster: pg_ctl's "immediate" mode). */
	async function stopStore(): Promise<void> {
		const pid = Number(readFileSync(join(clusterDir(), 'postmaster.pid'), 'utf8').split('\n')[0]);
		process.kill(pid, 'SIGQUIT');
		for (let waited = 0; waited < 100; waited++) {
			try {
				process.kill(pid, 0);
			} catch {
				return;
			}
			await sleep(100);
		}
		throw new Error(`The store's postmaster (pid ${pid}) did not stop.`);
	}

	/** Starts the same cluster again, on the same port. */
	function startStore(): void {
		const binary = '/usr/lib/postgresql/15/bin/pg_ctl';
		const settings = [`-c listen_addresses='127.0.0.1'`, `-c port=${storeCluster.port}`, `-c unix_socket_directories='${storeCluster.dataDir}'`, '-c fsync=off'].join(' ');
		const args = ['start', '-w', '-D', clusterDir(), '-l', join(storeCluster.dataDir, 'server.log'), '-o', settings];
		const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
		execFileSync(asRoot ? 'runuser' : binary, asRoot ? ['-u', 'postgres', '--', binary, ...args] : args, { stdio: 'ignore', cwd: '/tmp' });
	}

	beforeAll(async () => {
		stack = await startParseStack();
		storeCluster = await startThrowawayPostgres();
		proxy = await startFaultProxy({ target: stack.parse.url, seed: 1, writeFailureRate: 0, kinds: ['error500'], hangMs: 0, maxFaults: 0 });
		const systems = await createExampleSystems(stack);
		({ database, client } = systems);
		const { customersDatabase } = systems;
		const storeDatabase = await createScratchDatabase('sync_state', storeCluster.url);
		await n8nHost.importCredentials(n8n.folder(), [
			...systemCredentials(customersDatabase, stack.parse),
			storeCredential(storeDatabase),
		]);
		workflowId = await n8nHost.importWorkflow(n8n.folder(), tunedExample(`${proxy.origin}/parse`, 'postgres'));

		for (let index = 0; index < 20; index++) {
			const customer = customerNumber(index);
			await database.insert(customer);
			model.set(customer.email, customer);
		}
		expectRunSucceeded(await n8nHost.executeWorkflow(n8n.folder(), workflowId, { attempts: 1 }));

		// Creates and updates for Parse; the store stops as the first of them reaches Parse.
		for (let index = 20; index < 30; index++) {
			const customer = customerNumber(index);
			await database.insert(customer);
			model.set(customer.email, customer);
		}
		for (let index = 0; index < 5; index++) {
			const { email } = customerNumber(index);
			await database.update(email, { phone: '+1 555 777777' });
			model.set(email, { ...model.get(email)!, phone: '+1 555 777777' });
		}
		let stopping: Promise<void> | undefined;
		proxy.setWriteHook(async () => {
			stopping ??= stopStore();
			await stopping;
		});
		const contactsBefore = await countContacts(stack.parse);
		const forwardedBefore = proxy.counts().forwardedWrites;
		outage = await n8nHost.executeWorkflow(n8n.folder(), workflowId, { attempts: 1 });
		proxy.setWriteHook(undefined);
		writtenDuringOutage = proxy.counts().forwardedWrites - forwardedBefore;
		figures.storeOutage = { contactsBefore, writesForwardedDuringOutage: writtenDuringOutage, outageStatus: outage.status, outageError: outage.data.resultData.error?.message };

		startStore();
		afterRestart = await n8nHost.executeWorkflow(n8n.folder(), workflowId, { attempts: 1 });
		again = await n8nHost.executeWorkflow(n8n.folder(), workflowId, { attempts: 1 });
		Object.assign(figures.storeOutage as object, {
			afterRestartCommitted: committedWriteCounts(afterRestart),
			settledWithoutWrite: settledWithoutWrite(afterRestart),
			contactsAfter: await countContacts(stack.parse),
		});
	}, N8N_SETUP_TIMEOUT_MS + PARSE_SETUP_TIMEOUT_MS + 4 * N8N_RUN_TIMEOUT_MS);

	afterAll(async () => {
		await proxy?.stop();
		await client?.end();
		await stack?.stop();
		if (storeCluster && !existsSync(join(clusterDir(), 'postmaster.pid'))) startStore();
		await storeCluster?.stop();
	});

	it('fails the run with an error that names the unreachable store', () => {
		expect(writtenDuringOutage).toBeGreaterThan(0);
		expect(outage.status).toBe('error');
		const error = outage.data.resultData.error;
		expect(error?.node?.name).toMatch(/^Commit /);
		expect(`${error?.message} ${error?.description ?? ''}`).toMatch(/PostgreSQL|store|connect|terminat/i);
	});

	it('marked nothing synced that was not: after a restart the next run writes what did not reach Parse, and settles what did', () => {
		expectRunSucceeded(afterRestart);
		const committed = committedWriteCounts(afterRestart);
		const written = (committed['crm:create'] ?? 0) + (committed['crm:update'] ?? 0);
		// 10 creates and 5 updates were due. Those Parse received before the run stopped were not
		// committed: they come back, are found already in sync (or matched by email), and are settled.
		expect(written + settledWithoutWrite(afterRestart) + (committed['db:update'] ?? 0)).toBe(15);
		expect(written).toBe(15 - writtenDuringOutage);
		expect(committed['crm:create'] ?? 0).toBeLessThanOrEqual(10);
	});

	it('converges with every record once on each side, and writes nothing in the run after', async () => {
		await expectSameRecords(stack, database, [...model.keys()]);
		const contacts = (await allContacts(stack.parse)).map(contactAsCustomer).sort(byEmail);
		expect(contacts).toEqual([...model.values()].sort(byEmail));
		expectRunSucceeded(again);
		expect(writesOf(again, CRM_WRITERS) + writesOf(again, DATABASE_WRITERS)).toBe(0);
	});
});
