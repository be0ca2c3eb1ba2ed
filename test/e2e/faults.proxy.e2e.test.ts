import type { Client } from 'pg';

import { N8N_RUN_TIMEOUT_MS, N8N_SETUP_TIMEOUT_MS, expectRunSucceeded, n8nHost, outputJson, withN8nUserFolder, type RunJson } from './support';
import { startFaultProxy, type FaultProxy } from './support/faultProxy';
import { allContacts, duplicateCount, retryQueueWorkflow, tunedExample, writeReliabilityFigures } from './support/faults';
import { PARSE_SETUP_TIMEOUT_MS, startParseStack, type ParseStack } from './support/systems';
import {
	CRM_WRITERS,
	Crm,
	DATABASE_WRITERS,
	Database,
	byEmail,
	contactAsCustomer,
	emitted,
	systemCredentials,
	writesOf,
	type Contact,
	type Customer,
	createExampleSystems,
} from './support/twoWaySystems';

// Example workflow 1 through the real n8n CLI, with a fault-injecting proxy between n8n and Parse
// Server. For three cycles 30% of the writes to Parse fail: a 500, a request held past the HTTP
// node's timeout, or a write Parse applied whose answer is lost. Then the faults stop. The test keeps
// its own model of what both systems must hold and checks that they converge to it: no record lost,
// none duplicated, and the retry queue empty.

const FAULT_CYCLES = 3;
const RETRY = { baseDelaySeconds: 1, maxDelaySeconds: 8, maxAttempts: 8 };
const SEED_PER_SIDE = 50;

const contactNumber = (index: number): Contact => ({
	fullName: `Crm Person ${index}`,
	email: `crm${index}@faults.test`,
	phoneNumber: `+1 555 01${String(index).padStart(2, '0')}`,
	isActive: index % 3 === 0 ? 'no' : 'yes',
	birthday: `${String((index % 28) + 1).padStart(2, '0')}/0${(index % 9) + 1}/1970`,
	status: ['Active', 'Inactive', 'Lead'][index % 3],
});

const customerNumber = (index: number): Customer => ({
	full_name: `Db Person ${index}`,
	email: `db${index}@faults.test`,
	phone: `+1 555 02${String(index).padStart(2, '0')}`,
	active: index % 4 !== 0,
	birth_date: `1980-0${(index % 9) + 1}-${String((index % 28) + 1).padStart(2, '0')}`,
	status: (['A', 'I', 'L'] as const)[index % 3],
});

/** What a contact becomes in the database, by the test's own reading of the mapping. */
const asCustomer = (contact: Contact): Customer => contactAsCustomer({ objectId: '', createdAt: '', updatedAt: '', ...contact });

interface CycleFigures {
	label: string;
	status: string;
	retriesDue: number;
	retriesReplayed: number;
	crmWrites: number;
	databaseWrites: number;
	failedWrites: number;
	committed: number;
}

describe('Faults between n8n and Parse Server: failed writes are queued, replayed with backoff, and the systems converge', () => {
	const n8n = withN8nUserFolder({ label: 'faults-proxy' });
	let stack: ParseStack;
	let proxy: FaultProxy;
	let client: Client;
	let crm: Crm;
	let database: Database;
	let workflowId: string;
	let queueCheckId: string;
	/** What both systems must hold at the end, keyed by lower-case email. */
	const model = new Map<string, Customer>();
	const runs: Array<{ label: string; run: RunJson }> = [];
	const figures: CycleFigures[] = [];
	let queueAfterFaults: Array<Record<string, unknown>> = [];

	async function runCycle(label: string): Promise<RunJson> {
		const run = await n8nHost.executeWorkflow(n8n.folder(), workflowId, { attempts: 1 });
		runs.push({ label, run });
		const cycle: CycleFigures = {
			label,
			status: run.status,
			retriesDue: emitted(run, 'Get Due Retries', 0).length,
			retriesReplayed: [0, 1, 2, 3].reduce((sum, output) => sum + emitted(run, 'Route Retries', output).length, 0),
			crmWrites: writesOf(run, CRM_WRITERS),
			databaseWrites: writesOf(run, DATABASE_WRITERS),
			failedWrites: emitted(run, 'Record Failed Writes', 0).length,
			committed: emitted(run, 'Commit CRM Writes', 0).length + emitted(run, 'Commit Database Writes', 0).length,
		};
		figures.push(cycle);
		process.stderr.write(`[faults] ${label}: ${JSON.stringify(cycle)}\n`);
		return run;
	}

	const runOf = (label: string): RunJson => {
		const found = runs.find((entry) => entry.label === label);
		if (!found) throw new Error(`Cycle "${label}" did not run; ran: ${runs.map((entry) => entry.label).join(', ') || 'none'}.`);
		return found.run;
	};

	/** Emails of the records whose CRM side the sync has committed so far: safe to edit (see RELIABILITY.md on orphans). */
	function syncedDatabaseEmails(): string[] {
		// A create's answer holds only the new objectId; what was written is in the commit's `after`.
		const committed = runs
			.flatMap(({ run }) => emitted(run, 'Commit CRM Writes', 0))
			.map((item) => String((item._sync as { after?: { email?: string } }).after?.email ?? item.email).toLowerCase());
		return [...new Set(committed)].filter((email) => email.startsWith('db') && model.has(email)).sort();
	}

	beforeAll(async () => {
		stack = await startParseStack();
		proxy = await startFaultProxy({
			target: stack.parse.url,
			seed: 9,
			writeFailureRate: 0.3,
			kinds: ['error500', 'timeout', 'lostResponse'],
			hangMs: 3000,
			maxFaults: 300,
		});
		const systems = await createExampleSystems(stack);
		({ crm, database, client } = systems);
		const { customersDatabase } = systems;
		await n8nHost.importCredentials(n8n.folder(), systemCredentials(customersDatabase, stack.parse));
		workflowId = await n8nHost.importWorkflow(
			n8n.folder(),
			tunedExample(`${proxy.origin}/parse`, 'builtin', { httpTimeoutMs: 1500, retry: RETRY }),
		);
		queueCheckId = await n8nHost.importWorkflow(n8n.folder(), retryQueueWorkflow('builtin'));
	}, N8N_SETUP_TIMEOUT_MS + PARSE_SETUP_TIMEOUT_MS);

	describe(`${FAULT_CYCLES} cycles with 30% of the writes to Parse failing`, () => {
		beforeAll(async () => {
			for (let index = 0; index < SEED_PER_SIDE; index++) {
				const contact = contactNumber(index);
				await crm.create(contact);
				model.set(contact.email, asCustomer(contact));
				const customer = customerNumber(index);
				await database.insert(customer);
				model.set(customer.email, customer);
			}
			proxy.setFaults(true);
			await runCycle('fault cycle 1');

			// Edits on records both sides already share: updates and deletes that must cross the proxy.
			const synced = syncedDatabaseEmails();
			for (const email of synced.slice(0, 8)) {
				await database.update(email, { phone: '+1 555 0999' });
				model.set(email, { ...model.get(email)!, phone: '+1 555 0999' });
			}
			for (const email of synced.slice(8, 11)) {
				await database.delete(email);
				model.delete(email);
			}
			for (let index = SEED_PER_SIDE; index < SEED_PER_SIDE + 5; index++) {
				const customer = customerNumber(index);
				await database.insert(customer);
				model.set(customer.email, customer);
			}
			await runCycle('fault cycle 2');

			const later = syncedDatabaseEmails();
			for (const email of later.slice(11, 19)) {
				await database.update(email, { status: 'L' });
				model.set(email, { ...model.get(email)!, status: 'L' });
			}
			for (const email of later.slice(19, 21)) {
				await database.delete(email);
				model.delete(email);
			}
			await runCycle('fault cycle 3');
			proxy.setFaults(false);
			queueAfterFaults = outputJson(await n8nHost.executeWorkflow(n8n.folder(), queueCheckId, { attempts: 1 }), 'Queued Changes');
		}, FAULT_CYCLES * N8N_RUN_TIMEOUT_MS);

		it('runs every cycle to success: a failed write is an item on an error output, not a failed run', () => {
			for (const label of ['fault cycle 1', 'fault cycle 2', 'fault cycle 3']) expectRunSucceeded(runOf(label));
		});

		it('injects every kind of fault', () => {
			const { faults } = proxy.counts();
			expect(faults.error500).toBeGreaterThan(0);
			expect(faults.timeout).toBeGreaterThan(0);
			expect(faults.lostResponse).toBeGreaterThan(0);
		});

		it('sends each failed write to Record Failure, which queues it with its attempt count', () => {
			const failed = runs.flatMap(({ run }) => emitted(run, 'Record Failed Writes', 0));
			expect(failed.length).toBeGreaterThan(0);
			for (const item of failed) {
				expect(item._sync).toEqual(expect.objectContaining({ status: 'failed', attempts: expect.any(Number), nextAttemptAt: expect.any(String) }));
			}
			expect(failed.some((item) => (item._sync as { attempts: number }).attempts >= 2)).toBe(true);
		});

		it('doubles the delay before the next attempt with each failed attempt, up to the longest delay', () => {
			expect(queueAfterFaults.length).toBeGreaterThan(0);
			for (const entry of queueAfterFaults) {
				const attempts = Number(entry.attempts);
				const delayMs = Date.parse(String(entry.nextAttemptAt)) - Date.parse(String(entry.updatedAt));
				expect(delayMs).toBe(Math.min(RETRY.maxDelaySeconds, RETRY.baseDelaySeconds * 2 ** (attempts - 1)) * 1000);
			}
		});

		it('replays due updates and deletes through Get Due Retries before reading', () => {
			const replayed = runs.flatMap(({ run }) => [0, 1, 2, 3].flatMap((output) => emitted(run, 'Route Retries', output)));
			expect(replayed.length).toBeGreaterThan(0);
			// Get Due Retries runs first: on the writers, the replays come before the cycle's own writes.
			for (const { run } of runs) {
				const order = Object.keys(run.data.resultData.runData);
				if (emitted(run, 'Get Due Retries', 0).length > 0) expect(order.indexOf('Get Due Retries')).toBeLessThan(order.indexOf('Detect CRM Changes'));
			}
		});
	});

	describe('recovery: the faults stop', () => {
		beforeAll(async () => {
			await runCycle('recovery 1');
			await runCycle('recovery 2');
		}, 2 * N8N_RUN_TIMEOUT_MS);

		it('runs to success and leaves no failed write', () => {
			expectRunSucceeded(runOf('recovery 1'));
			expectRunSucceeded(runOf('recovery 2'));
			expect(emitted(runOf('recovery 2'), 'Record Failed Writes', 0)).toEqual([]);
		});

		it('converges: both systems hold exactly the records the edits call for, none lost and none twice', async () => {
			const contacts = (await allContacts(stack.parse)).map(contactAsCustomer);
			const customers = await database.all();
			expect(duplicateCount(contacts.map((row) => row.email))).toBe(0);
			expect(duplicateCount(customers.map((row) => row.email))).toBe(0);
			const expected = [...model.values()].sort(byEmail);
			expect(customers.sort(byEmail)).toEqual(expected);
			expect(contacts.sort(byEmail)).toEqual(expected);
		});

		it('empties the retry queue: every queued change was applied or settled', async () => {
			const queue = outputJson(await n8nHost.executeWorkflow(n8n.folder(), queueCheckId, { attempts: 1 }), 'Queued Changes');
			expect(queue).toEqual([]);
		}, N8N_RUN_TIMEOUT_MS);
	});

	describe('re-running the same workflow twice on unchanged systems', () => {
		beforeAll(async () => {
			await runCycle('re-run 1');
			await runCycle('re-run 2');
		}, 2 * N8N_RUN_TIMEOUT_MS);

		it('writes nothing and duplicates nothing', async () => {
			for (const label of ['re-run 1', 're-run 2']) {
				const run = runOf(label);
				expectRunSucceeded(run);
				expect(writesOf(run, CRM_WRITERS)).toBe(0);
				expect(writesOf(run, DATABASE_WRITERS)).toBe(0);
				expect(emitted(run, 'Get Due Retries', 0)).toEqual([]);
			}
			expect((await allContacts(stack.parse)).length).toBe(model.size);
			expect((await database.all()).length).toBe(model.size);
		});
	});

	describe('a replayed update, then a merge that writes both sides where only the database write succeeds', () => {
		let email: string;
		const routed = (run: RunJson) => [0, 1, 2, 3].flatMap((output) => emitted(run, 'Route Retries', output));

		beforeAll(async () => {
			email = syncedDatabaseEmails()[0];
			// A database edit whose write to Parse fails once, then is replayed from the queue.
			await database.update(email, { phone: '+1 555 0777' });
			model.set(email, { ...model.get(email)!, phone: '+1 555 0777' });
			proxy.failNextWrites(1, 'error500');
			await runCycle('update, CRM write failing');
			await runCycle('update, replay');
			// Then different fields edited on each side: the merge writes both, and the write to Parse fails.
			await crm.update(email, { fullName: 'Merged On Both Sides' });
			await database.update(email, { phone: '+1 555 0888' });
			model.set(email, { ...model.get(email)!, full_name: 'Merged On Both Sides', phone: '+1 555 0888' });
			proxy.failNextWrites(1, 'error500');
			await runCycle('merge, CRM write failing');
			await runCycle('merge, replay');
		}, 4 * N8N_RUN_TIMEOUT_MS);

		it('replays the failed update from the queue', () => {
			expect(emitted(runOf('update, CRM write failing'), 'Record Failed Writes', 0)).toHaveLength(1);
			expect(routed(runOf('update, replay'))).toHaveLength(1);
			expect(emitted(runOf('update, replay'), 'Record Failed Writes', 0)).toEqual([]);
		});

		it('remembers the replayed version as synced: the later merge sees two edits of different fields, not a conflict', () => {
			const run = runOf('merge, CRM write failing');
			expectRunSucceeded(run);
			const [committed] = emitted(run, 'Commit Database Writes', 0);
			const resolution = (committed._sync as { resolution: Record<string, { winner: string; strategy: string }> }).resolution;
			expect(resolution.full_name).toEqual(expect.objectContaining({ winner: 'crm', strategy: 'merge' }));
			// Before the fix, the replay left the database's base behind: phone read as a conflict, and the CRM's old value won.
			expect(resolution.phone).toEqual(expect.objectContaining({ winner: 'db', strategy: 'merge' }));
			expect(emitted(run, 'Record Failed Writes', 0)).toEqual([
				expect.objectContaining({ _sync: expect.objectContaining({ target: expect.objectContaining({ system: 'crm', op: 'update' }), status: 'failed' }) }),
			]);
		});

		it('replays the failed side in the next run, so the CRM gets the database edit that the next read cannot see', async () => {
			const run = runOf('merge, replay');
			expectRunSucceeded(run);
			expect(routed(run)).toHaveLength(1);
			expect(emitted(run, 'Record Failed Writes', 0)).toEqual([]);
			expect(contactAsCustomer(await crm.byEmail(email))).toEqual(model.get(email));
			expect((await database.all()).find((row) => row.email === email)).toEqual(model.get(email));
		});
	});

	describe('a partial read: Parse answers half of the contacts', () => {
		let partial: RunJson;
		let after: RunJson;
		let countsBefore: { crm: number; database: number };

		beforeAll(async () => {
			countsBefore = { crm: (await allContacts(stack.parse)).length, database: (await database.all()).length };
			proxy.setTruncateReads(true);
			partial = await n8nHost.executeWorkflow(n8n.folder(), workflowId, { attempts: 1 });
			runs.push({ label: 'partial read', run: partial });
			proxy.setTruncateReads(false);
			after = await n8nHost.executeWorkflow(n8n.folder(), workflowId, { attempts: 1 });
		}, 2 * N8N_RUN_TIMEOUT_MS);

		it('stops the run with the mass-delete alert instead of deleting the other half', async () => {
			expect(proxy.counts().truncatedReads).toBeGreaterThan(0);
			expect(partial.status).toBe('error');
			expect(partial.data.resultData.error?.message).toMatch(/The snapshot would delete \d+ of \d+ known "crm" records/);
			expect(writesOf(partial, DATABASE_WRITERS)).toBe(0);
			expect({ crm: (await allContacts(stack.parse)).length, database: (await database.all()).length }).toEqual(countsBefore);
		});

		it('remembers nothing of the partial read: the next full read finds nothing to do', () => {
			expectRunSucceeded(after);
			expect(writesOf(after, CRM_WRITERS) + writesOf(after, DATABASE_WRITERS)).toBe(0);
		});
	});

	afterAll(async () => {
		try {
			// Only a run that got through its cycles has figures worth keeping.
			if (stack && client && runs.length > 0) writeFigures(await outcome());
		} finally {
			await proxy?.stop();
			await client?.end();
			await stack?.stop();
		}
	});

	/** Losses and duplicates, measured for the figures file whatever the assertions said. */
	async function outcome(): Promise<Record<string, unknown>> {
		const contacts = (await allContacts(stack.parse)).map((contact) => String(contact.email).toLowerCase());
		const customers = (await database.all()).map((row) => row.email.toLowerCase());
		const expected = [...model.keys()];
		return {
			expectedRecords: expected.length,
			duplicates: { crm: duplicateCount(contacts), database: duplicateCount(customers) },
			lost: { crm: expected.filter((email) => !contacts.includes(email)).length, database: expected.filter((email) => !customers.includes(email)).length },
			unexpected: { crm: contacts.filter((email) => !model.has(email)).length, database: customers.filter((email) => !model.has(email)).length },
		};
	}

	/** What the queued errors say, grouped: the injected faults, and whatever else Parse or n8n answered. */
	function failureCauses(failures: Array<Record<string, unknown>>): Record<string, number> {
		const causes: Record<string, number> = {};
		for (const item of failures) {
			const error = String((item._sync as { error?: string }).error ?? '');
			const cause = /answer was lost/.test(error)
				? 'injected lost answer (502)'
				: /Injected fault/.test(error)
					? 'injected 500'
					: /timeout|ECONNRESET|socket hang up/i.test(error)
						? 'injected timeout'
						: error.slice(0, 120);
			causes[cause] = (causes[cause] ?? 0) + 1;
		}
		return causes;
	}

	function writeFigures(result: Record<string, unknown>): void {
		const counts = proxy.counts();
		const failures = runs.flatMap(({ run }) => emitted(run, 'Record Failed Writes', 0));
		const partial = runs.find((entry) => entry.label === 'partial read')?.run;
		const file = writeReliabilityFigures('faults-proxy', {
			test: 'test/e2e/faults.proxy.e2e.test.ts',
			records: model.size,
			faultRate: 0.3,
			faultCycles: FAULT_CYCLES,
			retryPolicy: RETRY,
			proxy: counts,
			faultsInjected: counts.faults.error500 + counts.faults.timeout + counts.faults.lostResponse,
			recordFailureItems: failures.length,
			recordFailureCauses: failureCauses(failures),
			maxAttemptsSeen: Math.max(0, ...failures.map((item) => Number((item._sync as { attempts: number }).attempts))),
			retriesDue: figures.reduce((sum, cycle) => sum + cycle.retriesDue, 0),
			retriesReplayed: figures.reduce((sum, cycle) => sum + cycle.retriesReplayed, 0),
			queuedAfterFaults: queueAfterFaults.length,
			partialRead: partial ? { status: partial.status, error: partial.data.resultData.error?.message } : null,
			outcome: result,
			cycles: figures,
		});
		process.stderr.write(`[faults] figures in ${file}\n`);
	}
});
