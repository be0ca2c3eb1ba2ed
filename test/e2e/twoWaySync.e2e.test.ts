import { Client } from 'pg';

import { createScratchDatabase } from '../support/postgres';
import {
	N8N_RUN_TIMEOUT_MS,
	N8N_SETUP_TIMEOUT_MS,
	expectRunSucceeded,
	n8nHost,
	outputJson,
	withN8nUserFolder,
	type CredentialJson,
	type RunJson,
	type WorkflowJson,
	syncOf,
} from './support';
import { PARSE_SETUP_TIMEOUT_MS, startParseStack, type ParseStack } from './support/systems';
import {
	CRM_WRITERS,
	Crm,
	DATABASE_WRITERS,
	Database,
	PACKAGE_TYPE_PREFIX,
	storeCredential,
	byEmail,
	contactAsCustomer,
	emitted,
	exampleFor,
	systemCredentials,
	withPostgresStore,
	writesOf,
	type Contact,
	type Customer,
	type StoreKind,
	createExampleSystems,
	committedWrites,
} from './support/twoWaySystems';

// Example workflow 1 (examples/two-way-crm-database) through the real n8n CLI, between two real
// systems: Parse Server (the CRM, over REST with the REST key) and PostgreSQL (the database). Edits
// are made directly in each system between the cycles; the test then reads both systems back.

/** Reads the audit trail of the sync back from the store, and verifies its hash chain. */
function auditCheckWorkflow(store: StoreKind): WorkflowJson {
	const workflow: WorkflowJson = {
		name: 'Audit trail check',
		nodes: [
			{ id: 'audit-check-start', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
			{
				id: 'audit-check-query',
				name: 'All Events',
				type: `${PACKAGE_TYPE_PREFIX}auditLogger`,
				typeVersion: 1,
				position: [220, -100],
				parameters: { operation: 'query', syncId: 'contacts', order: 'oldest', returnAll: true },
			},
			{
				id: 'audit-check-verify',
				name: 'Verify Chain',
				type: `${PACKAGE_TYPE_PREFIX}auditLogger`,
				typeVersion: 1,
				position: [220, 100],
				parameters: { operation: 'verifyChain', syncId: 'contacts' },
			},
		],
		connections: {
			Start: {
				main: [
					[
						{ node: 'All Events', type: 'main', index: 0 },
						{ node: 'Verify Chain', type: 'main', index: 0 },
					],
				],
			},
		},
		settings: { executionOrder: 'v1' },
	};
	if (store === 'postgres') for (const node of workflow.nodes) withPostgresStore(node);
	return workflow;
}

// ---------------------------------------------------------------------------------------------
// Reading the run JSON

function failedWrites(run: RunJson): Array<Record<string, unknown>> {
	return [...DATABASE_WRITERS, ...CRM_WRITERS].flatMap((writer) => emitted(run, writer, 1));
}


// ---------------------------------------------------------------------------------------------
// The scenario

const ada: Contact = { fullName: 'Ada Lovelace', email: 'ada@example.com', phoneNumber: '+44 20 7946 0001', isActive: 'yes', birthday: '10/12/1815', status: 'Active' };
const grace: Contact = { fullName: 'Grace Hopper', email: 'Grace.Hopper@Example.com', phoneNumber: '+1 212 555 0102', isActive: 'yes', birthday: '09/12/1906', status: 'Active' };
const barbara: Contact = { fullName: 'Barbara Liskov', email: 'barbara@example.com', phoneNumber: '+1 617 555 0103', isActive: 'yes', birthday: '07/11/1939', status: 'Lead' };
const ken: Contact = { fullName: 'Ken Thompson', email: 'ken@example.com', phoneNumber: '+1 908 555 0104', isActive: 'yes', birthday: '04/02/1943', status: 'Active' };
const ivan: Contact = { fullName: 'Ivan Sutherland', email: 'ivan@example.com', phoneNumber: '+1 801 555 0108', isActive: 'yes', birthday: '16/05/1938', status: 'Prospect' };
// The database keeps phone numbers of at most 20 characters: this one fails the insert.
const linus: Contact = { fullName: 'Linus Torvalds', email: 'linus@example.com', phoneNumber: '+358 9 555 0111 ext. 4242', isActive: 'yes', birthday: '28/12/1969', status: 'Active' };
const radia: Contact = { fullName: 'Radia Perlman', email: 'radia@example.com', phoneNumber: '+1 978 555 0109', isActive: 'yes', birthday: '18/12/1951', status: 'Lead' };

// Grace exists on both sides before the first run: matched on email, ignoring case.
const graceInDatabase: Customer = { full_name: 'Grace Hopper', email: 'grace.hopper@example.com', phone: '+1 212 555 0199', active: true, birth_date: '1906-12-09', status: 'I' };
const edsger: Customer = { full_name: 'Edsger Dijkstra', email: 'edsger@example.com', phone: '+31 20 555 0105', active: true, birth_date: '1930-05-11', status: 'A' };
const alan: Customer = { full_name: 'Alan Turing', email: 'alan@example.com', phone: '+44 161 555 0106', active: false, birth_date: '1912-06-23', status: 'I' };
const margaret: Customer = { full_name: 'Margaret Hamilton', email: 'margaret@example.com', phone: '+1 617 555 0107', active: true, birth_date: '1936-08-17', status: 'L' };
const frances: Customer = { full_name: 'Frances Allen', email: 'frances@example.com', phone: '+1 914 555 0110', active: true, birth_date: '1932-08-04', status: 'A' };

interface Cycle {
	label: string;
	run: RunJson;
}

function describeTwoWaySync(label: string, store: StoreKind): void {
	describe(label, () => {
		const n8n = withN8nUserFolder({ label: `two-way-${store}` });
		let stack: ParseStack;
		let client: Client;
		let crm: Crm;
		let database: Database;
		let workflowId: string;
		let edsgerId: number;
		const cycles: Cycle[] = [];

		const cycle = (name: string): RunJson => {
			const found = cycles.find((entry) => entry.label === name);
			if (!found) throw new Error(`Cycle "${name}" did not run; the cycles that ran: ${cycles.map((entry) => entry.label).join(', ') || 'none'}.`);
			return found.run;
		};

		async function runCycle(name: string): Promise<RunJson> {
			const started = Date.now();
			const run = await n8nHost.executeWorkflow(n8n.folder(), workflowId);
			const ms = Date.now() - started;
			cycles.push({ label: name, run });
			process.stderr.write(`[two-way ${store}] ${name}: ${run.status} in ${(ms / 1000).toFixed(1)} s\n`);
			return run;
		}

		beforeAll(async () => {
			stack = await startParseStack();
			const systems = await createExampleSystems(stack);
			({ crm, database, client } = systems);
			const { customersDatabase } = systems;

			const credentials: CredentialJson[] = systemCredentials(customersDatabase, stack.parse);
			if (store === 'postgres') {
				const storeDatabase = await createScratchDatabase('sync_state', stack.postgres.url);
				credentials.push(storeCredential(storeDatabase));
			}
			await n8nHost.importCredentials(n8n.folder(), credentials);
			workflowId = await n8nHost.importWorkflow(n8n.folder(), exampleFor(stack.parse.serverUrl, store));
		}, N8N_SETUP_TIMEOUT_MS + PARSE_SETUP_TIMEOUT_MS);

		afterAll(async () => {
			await client?.end();
			await stack?.stop();
		});

		describe('cycle 1: records created on both sides before the first run', () => {
			beforeAll(async () => {
				for (const contact of [ada, grace, barbara, ken]) await crm.create(contact);
				await database.insert(graceInDatabase);
				edsgerId = await database.insert(edsger);
				for (const customer of [alan, margaret]) await database.insert(customer);
				await runCycle('cycle 1');
			}, N8N_RUN_TIMEOUT_MS);

			it('runs to success through the n8n CLI', () => {
				expectRunSucceeded(cycle('cycle 1'));
				expect(failedWrites(cycle('cycle 1'))).toEqual([]);
			});

			it('creates each record on the side that lacked it, and links the record that existed on both sides by its email', async () => {
				expect(committedWrites(cycle('cycle 1'))).toEqual([
					'crm:create',
					'crm:create',
					'crm:create',
					'db:create',
					'db:create',
					'db:create',
					'db:update',
				]);
				expect(await database.all()).toHaveLength(7);
				expect(await crm.all()).toHaveLength(7);
			});

			it('gives the CRM the upper hand where the two versions of the matched record differ', async () => {
				const [graceRow] = (await database.all()).filter((row) => row.email.toLowerCase() === 'grace.hopper@example.com');
				expect(graceRow).toEqual({ ...graceInDatabase, email: grace.email, phone: grace.phoneNumber, status: 'A' });
			});
		});

		describe('cycle 2: edits on both sides, a true conflict, a delete on each side and an invalid record', () => {
			beforeAll(async () => {
				// Different fields of one record on both sides: both edits must survive.
				await crm.update(ada.email, { phoneNumber: '+44 20 7946 0999' });
				await database.update(ada.email, { status: 'I' });
				// The same field on both sides: the CRM has priority.
				await crm.update(edsger.email, { fullName: 'Edsger W. Dijkstra' });
				await database.update(edsger.email, { full_name: 'E. W. Dijkstra' });
				await crm.delete(barbara.email);
				await database.delete(alan.email);
				await crm.create(ivan);
				await crm.create(linus);
				await crm.create(radia);
				await database.insert(frances);
				await runCycle('cycle 2');
			}, N8N_RUN_TIMEOUT_MS);

			it('runs to success through the n8n CLI', () => {
				expectRunSucceeded(cycle('cycle 2'));
			});

			it('keeps both edits of the record edited on both sides', async () => {
				expect((await crm.byEmail(ada.email)).phoneNumber).toBe('+44 20 7946 0999');
				expect((await crm.byEmail(ada.email)).status).toBe('Inactive');
				expect((await database.all()).find((row) => row.email === ada.email)).toEqual(expect.objectContaining({ phone: '+44 20 7946 0999', status: 'I' }));
			});

			it("settles the true conflict by the CRM's priority, and says so in the resolution", async () => {
				expect((await crm.byEmail(edsger.email)).fullName).toBe('Edsger W. Dijkstra');
				expect((await database.all()).find((row) => row.email === edsger.email)?.full_name).toBe('Edsger W. Dijkstra');
				const committed = emitted(cycle('cycle 2'), 'Commit Database Writes', 0).find((item) => (syncOf(item).keys as Record<string, string>).db === String(edsgerId));
				expect((syncOf(committed!).resolution as Record<string, unknown>).full_name).toEqual({
					winner: 'crm',
					strategy: 'priority',
					reason: 'changed in both to different values; crm has priority',
				});
			});

			it('applies the delete made in each system to the other', async () => {
				expect((await crm.all()).map((contact) => contact.email)).not.toContain(alan.email);
				expect((await database.all()).map((row) => row.email)).not.toContain(barbara.email);
			});

			it('sends the record that fails validation to Invalid and to the audit trail, and writes it nowhere', async () => {
				const invalid = emitted(cycle('cycle 2'), 'Map CRM to Database', 1);
				expect(invalid).toEqual([
					expect.objectContaining({
						email: ivan.email,
						errors: [expect.objectContaining({ field: 'status', value: 'Prospect', code: 'valueMap' })],
					}),
				]);
				expect(emitted(cycle('cycle 2'), 'Audit Invalid Records', 1)).toEqual([
					expect.objectContaining({ status: 'skipped', source: { system: 'crm', key: expect.any(String) }, op: 'create' }),
				]);
				expect((await database.all()).map((row) => row.email)).not.toContain(ivan.email);
			});

			it('queues the write the database refused for a retry, audits it as failed, and commits nothing for it', async () => {
				expect(failedWrites(cycle('cycle 2'))).toEqual([expect.objectContaining({ email: linus.email, phone: linus.phoneNumber, error: expect.any(Object) })]);
				// n8n's Postgres node reports the failed query, not the server's reason.
				const error = expect.stringContaining('Failed query: INSERT INTO');
				expect(emitted(cycle('cycle 2'), 'Record Failed Writes', 0)).toEqual([
					expect.objectContaining({
						email: linus.email,
						_sync: expect.objectContaining({ status: 'failed', attempts: 1, error, target: { system: 'db', key: null, op: 'create' } }),
					}),
				]);
				const failedEvents = emitted(cycle('cycle 2'), 'Audit Writes', 1).filter((event) => event.status === 'failed');
				expect(failedEvents).toEqual([expect.objectContaining({ op: 'create', target: { system: 'db', key: null }, error })]);
				expect((await database.all()).map((row) => row.email)).not.toContain(linus.email);
			});

			it('creates the records new on either side on the other', async () => {
				expect((await database.all()).map((row) => row.email)).toContain(radia.email);
				expect((await crm.all()).map((contact) => contact.email)).toContain(frances.email);
			});

			it('writes exactly what the edits call for', () => {
				expect(committedWrites(cycle('cycle 2'))).toEqual(['crm:create', 'crm:delete', 'crm:update', 'db:create', 'db:delete', 'db:update', 'db:update']);
			});
		});

		describe('cycle 3: the invalid and the refused records fixed, one-sided edits, and an update against a delete', () => {
			beforeAll(async () => {
				await crm.update(ivan.email, { status: 'Lead' });
				await crm.update(linus.email, { phoneNumber: '+358 9 555 0111' });
				await crm.update(ken.email, { isActive: 'no' });
				await database.update(margaret.email, { birth_date: '1936-08-18' });
				// Deleted in the database while changed in the CRM: the update wins.
				await database.delete(radia.email);
				await crm.update(radia.email, { status: 'Active' });
				// And the other way round: deleted in the CRM while changed in the database.
				await crm.delete(frances.email);
				await database.update(frances.email, { phone: '+1 914 555 0199' });
				// Both sides make the same edit: nothing to write, and it must not come back next cycle.
				await crm.update(edsger.email, { phoneNumber: '+31 20 555 0150' });
				await database.update(edsger.email, { phone: '+31 20 555 0150' });
				await runCycle('cycle 3');
			}, N8N_RUN_TIMEOUT_MS);

			it('runs to success through the n8n CLI', () => {
				expectRunSucceeded(cycle('cycle 3'));
				expect(failedWrites(cycle('cycle 3'))).toEqual([]);
			});

			it('creates the fixed records, and translates the boolean and the date', async () => {
				expect(committedWrites(cycle('cycle 3'))).toEqual(['crm:create', 'crm:update', 'db:create', 'db:create', 'db:create', 'db:update']);
				const rows = await database.all();
				expect(rows.find((row) => row.email === ivan.email)).toEqual(expect.objectContaining({ status: 'L' }));
				expect(rows.find((row) => row.email === linus.email)).toEqual(expect.objectContaining({ phone: '+358 9 555 0111' }));
				expect(rows.find((row) => row.email === ken.email)?.active).toBe(false);
				expect((await crm.byEmail(margaret.email)).birthday).toBe('18/08/1936');
			});

			it('brings back a record deleted on one side but changed on the other, with the change', async () => {
				expect((await database.all()).filter((row) => row.email === radia.email)).toEqual([expect.objectContaining({ full_name: radia.fullName, status: 'A' })]);
				expect((await crm.byEmail(frances.email)).phoneNumber).toBe('+1 914 555 0199');
				const recreated = [...emitted(cycle('cycle 3'), 'Commit Database Writes', 0), ...emitted(cycle('cycle 3'), 'Commit CRM Writes', 0)].filter(
					(item) => (syncOf(item).target as { op: string }).op === 'create' && (syncOf(item).resolution as Record<string, { strategy?: string }>)['*']?.strategy === 'updateVersusDelete',
				);
				expect(recreated.map((item) => (syncOf(item).target as { system: string }).system).sort()).toEqual(['crm', 'db']);
			});

			it('writes nothing for the same edit made on both sides, and remembers both versions as seen', async () => {
				expect((await crm.byEmail(edsger.email)).phoneNumber).toBe('+31 20 555 0150');
				expect((await database.all()).find((row) => row.email === edsger.email)?.phone).toBe('+31 20 555 0150');
				expect(emitted(cycle('cycle 3'), 'Remember Settled Records', 0).map((item) => syncOf(item))).toEqual([
					expect.objectContaining({ op: 'none', reason: 'in sync', status: 'seen', committed: true }),
				]);
			});
		});

		describe('cycle 4: no edits', () => {
			// Cycle 3's same edit on both sides was settled then: neither detector reports it again.
			beforeAll(async () => {
				await runCycle('cycle 4');
			}, N8N_RUN_TIMEOUT_MS);

			it('runs to success and writes nothing: its own writes do not come back as changes', () => {
				const run = cycle('cycle 4');
				expectRunSucceeded(run);
				expect(writesOf(run, DATABASE_WRITERS)).toBe(0);
				expect(writesOf(run, CRM_WRITERS)).toBe(0);
				for (const detector of ['Detect CRM Changes', 'Detect Database Changes']) {
					expect([0, 1, 2].flatMap((output) => emitted(run, detector, output))).toEqual([]);
				}
			});
		});

		describe('after all cycles', () => {
			let audit: RunJson;

			beforeAll(async () => {
				const id = await n8nHost.importWorkflow(n8n.folder(), auditCheckWorkflow(store));
				audit = await n8nHost.executeWorkflow(n8n.folder(), id);
			}, N8N_RUN_TIMEOUT_MS);

			it('leaves both systems holding the same records, through the mapping', async () => {
				const contacts = (await crm.all()).map(contactAsCustomer).sort(byEmail);
				const customers = (await database.all()).sort(byEmail);
				expect(contacts).toEqual(customers);
				expect(customers.map((row) => row.email.toLowerCase())).toEqual([
					ada.email,
					edsger.email,
					frances.email,
					grace.email.toLowerCase(),
					ivan.email,
					ken.email,
					linus.email,
					margaret.email,
					radia.email,
				]);
			});

			it('creates no duplicates on either side', async () => {
				const contactEmails = (await crm.all()).map((contact) => String(contact.email).toLowerCase());
				const customerEmails = (await database.all()).map((row) => row.email.toLowerCase());
				expect(new Set(contactEmails).size).toBe(contactEmails.length);
				expect(new Set(customerEmails).size).toBe(customerEmails.length);
			});

			it('adds no sync metadata to either system', async () => {
				expect(await crm.fieldNames()).toEqual(['ACL', 'birthday', 'createdAt', 'email', 'fullName', 'isActive', 'objectId', 'phoneNumber', 'status', 'updatedAt']);
				expect(await database.columnNames()).toEqual(['active', 'birth_date', 'email', 'full_name', 'id', 'phone', 'status', 'updated_at']);
			});

			it('keeps an audit trail of exactly the writes, failed writes and invalid records of each cycle', () => {
				expectRunSucceeded(audit);
				const events = outputJson(audit, 'All Events');
				// One group per run that logged anything, in run order: cycles 1 to 3 (cycle 4 had nothing to log).
				const byRun = new Map<string, string[]>();
				for (const event of events) {
					const target = event.target as { system: string } | null;
					const line = `${String(event.status)} → ${target?.system ?? '-'}`;
					byRun.set(String(event.executionId), [...(byRun.get(String(event.executionId)) ?? []), line]);
				}
				const applied = (crmWrites: number, databaseWrites: number) => [...Array(crmWrites).fill('applied → crm'), ...Array(databaseWrites).fill('applied → db')];
				expect([...byRun.values()].map((lines) => lines.sort())).toEqual([
					applied(3, 4),
					[...applied(3, 4), 'failed → db', 'skipped → -'],
					applied(2, 4),
				]);
			});

			it('keeps the audit trail in an intact hash chain', () => {
				const events = outputJson(audit, 'All Events');
				expect(events.map((event) => event.seq)).toEqual(events.map((_event, index) => index + 1));
				expect(outputJson(audit, 'Verify Chain')).toEqual([expect.objectContaining({ valid: true, checked: events.length })]);
			});
		});
	});
}

describe('Two-way sync between Parse Server and PostgreSQL through the real n8n CLI (example workflow 1)', () => {
	describeTwoWaySync('Built-in store', 'builtin');
	describeTwoWaySync('PostgreSQL store, through the Sync State PostgreSQL credential', 'postgres');
});
