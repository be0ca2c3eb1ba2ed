import { Client } from 'pg';

import { createScratchDatabase } from '../support/postgres';
import {
	N8N_RUN_TIMEOUT_MS,
	N8N_SETUP_TIMEOUT_MS,
	expectRunSucceeded,
	n8nHost,
	outputJson,
	withN8nUserFolder,
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
	POSTGRES_CREDENTIAL,
	emitted,
	exampleFor,
	firstTimeMatchingExample,
	storeCredential,
	systemCredentials,
	withPostgresStore,
	writesOf,
	type Contact,
	type Customer,
	type StoreKind,
	createExampleSystems,
	committedWrites,
} from './support/twoWaySystems';

// Example workflow 3 (examples/first-time-matching) through the real n8n CLI: both systems already
// hold contacts before the sync ever ran, some of them the same people with their email spelt
// differently. One run must link those, create the rest on the side that lacks them, and leave the
// one email that two contacts share to a person.

const WRITERS = [...DATABASE_WRITERS, ...CRM_WRITERS];

/** Reads every customer row and looks up its link in the sync state. */
function linkCheckWorkflow(store: StoreKind): WorkflowJson {
	const workflow: WorkflowJson = {
		name: 'Link check',
		nodes: [
			{ id: 'link-check-start', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
			{
				id: 'link-check-read',
				name: 'Customers',
				type: 'n8n-nodes-base.postgres',
				typeVersion: 2.6,
				position: [220, 0],
				parameters: { operation: 'executeQuery', query: 'SELECT id, email FROM customers ORDER BY id', options: {} },
				credentials: { postgres: POSTGRES_CREDENTIAL },
			},
			{
				id: 'link-check-look-up',
				name: 'Look Up',
				type: `${PACKAGE_TYPE_PREFIX}syncState`,
				typeVersion: 1,
				position: [440, 0],
				parameters: { syncId: 'contacts', resource: 'record', operation: 'lookUp', system: 'db', key: '={{ $json.id }}', outputField: 'syncState' },
			},
		],
		connections: {
			Start: { main: [[{ node: 'Customers', type: 'main', index: 0 }]] },
			Customers: { main: [[{ node: 'Look Up', type: 'main', index: 0 }]] },
		},
		settings: { executionOrder: 'v1' },
	};
	if (store === 'postgres') for (const node of workflow.nodes) withPostgresStore(node);
	return workflow;
}

/** The match key the workflow uses: case and surrounding spaces do not count. */
const normalised = (email: unknown): string => String(email).trim().toLowerCase();


// Before the first run. Ada and Grace are in both systems, their emails spelt differently.
const ada: Contact = { fullName: 'Ada Lovelace', email: 'Ada@Example.com', phoneNumber: '+44 20 7946 0001', isActive: 'yes', birthday: '10/12/1815', status: 'Active' };
const adaInDatabase: Customer = { full_name: 'Ada Lovelace', email: '  ada@example.COM ', phone: '+44 20 7946 0001', active: true, birth_date: '1815-12-10', status: 'A' };
const grace: Contact = { fullName: 'Grace Hopper', email: ' grace.hopper@example.com', phoneNumber: '+1 212 555 0102', isActive: 'yes', birthday: '09/12/1906', status: 'Active' };
const graceInDatabase: Customer = { full_name: 'Grace B. Hopper', email: 'GRACE.HOPPER@EXAMPLE.COM', phone: '+1 212 555 0199', active: true, birth_date: '1906-12-09', status: 'I' };
// Only in the CRM.
const ken: Contact = { fullName: 'Ken Thompson', email: 'ken@example.com', phoneNumber: '+1 908 555 0104', isActive: 'yes', birthday: '04/02/1943', status: 'Active' };
const barbara: Contact = { fullName: 'Barbara Liskov', email: 'barbara@example.com', phoneNumber: '+1 617 555 0103', isActive: 'no', birthday: '07/11/1939', status: 'Lead' };
// Only in the database.
const edsger: Customer = { full_name: 'Edsger Dijkstra', email: 'edsger@example.com', phone: '+31 20 555 0105', active: true, birth_date: '1930-05-11', status: 'A' };
const margaret: Customer = { full_name: 'Margaret Hamilton', email: 'margaret@example.com', phone: '+1 617 555 0107', active: false, birth_date: '1936-08-17', status: 'L' };
// Two CRM contacts share one email, which one customer row has too: which contact is that row?
const jean: Contact = { fullName: 'Jean Sammet', email: 'jean@example.com', phoneNumber: '+1 212 555 0111', isActive: 'yes', birthday: '23/03/1928', status: 'Active' };
const jeanAgain: Contact = { fullName: 'Jean E. Sammet', email: ' JEAN@example.com', phoneNumber: '+1 212 555 0112', isActive: 'yes', birthday: '23/03/1928', status: 'Lead' };
const jeanInDatabase: Customer = { full_name: 'J. Sammet', email: 'Jean@Example.com', phone: '+1 212 555 0113', active: true, birth_date: '1928-03-23', status: 'A' };

function describeFirstTimeMatching(label: string, store: StoreKind): void {
	describe(label, () => {
		const n8n = withN8nUserFolder({ label: `first-match-${store}` });
		let stack: ParseStack;
		let client: Client;
		let crm: Crm;
		let database: Database;
		let workflowId: string;
		let firstRun: RunJson;
		let secondRun: RunJson;
		let linkCheck: RunJson;
		const crmKeyByEmail = new Map<string, string>();
		const rowIdByEmail = new Map<string, number>();

		beforeAll(async () => {
			stack = await startParseStack();
			const systems = await createExampleSystems(stack);
			({ crm, database, client } = systems);
			const { customersDatabase } = systems;
			for (const contact of [ada, grace, ken, barbara, jean, jeanAgain]) crmKeyByEmail.set(contact.email, await crm.create(contact));
			for (const customer of [adaInDatabase, graceInDatabase, edsger, margaret, jeanInDatabase]) rowIdByEmail.set(customer.email, await database.insert(customer));

			const credentials = systemCredentials(customersDatabase, stack.parse);
			if (store === 'postgres') credentials.push(storeCredential(await createScratchDatabase('sync_state', stack.postgres.url)));
			await n8nHost.importCredentials(n8n.folder(), credentials);
			workflowId = await n8nHost.importWorkflow(n8n.folder(), exampleFor(stack.parse.serverUrl, store, firstTimeMatchingExample));
			firstRun = await n8nHost.executeWorkflow(n8n.folder(), workflowId);
		}, N8N_SETUP_TIMEOUT_MS + PARSE_SETUP_TIMEOUT_MS);

		afterAll(async () => {
			await client?.end();
			await stack?.stop();
		});

		describe('the first run', () => {
			it('runs to success through the n8n CLI, with no failed write', () => {
				expectRunSucceeded(firstRun);
				expect(WRITERS.flatMap((writer) => emitted(firstRun, writer, 1))).toEqual([]);
			});

			it('links the records that exist on both sides, creates the one-sided ones on the other side, and deletes nothing', () => {
				// A first match always updates the database row, which is how Commit links the pair.
				expect(committedWrites(firstRun)).toEqual(['crm:create', 'crm:create', 'db:create', 'db:create', 'db:update', 'db:update']);
			});

			it('pairs the matched records on the email whatever its case and spaces, and gives the CRM the upper hand where they differ', async () => {
				const updated = emitted(firstRun, 'Commit Database Writes', 0).filter((item) => (syncOf(item).target as { op: string }).op === 'update');
				expect(updated.map((item) => syncOf(item).keys).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual(
					[
						{ crm: crmKeyByEmail.get(ada.email), db: String(rowIdByEmail.get(adaInDatabase.email)) },
						{ crm: crmKeyByEmail.get(grace.email), db: String(rowIdByEmail.get(graceInDatabase.email)) },
					].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
				);
				const rows = await database.all();
				expect(rows.find((row) => normalised(row.email) === normalised(grace.email))).toEqual({
					full_name: grace.fullName,
					email: grace.email,
					phone: grace.phoneNumber,
					active: true,
					birth_date: '1906-12-09',
					status: 'A',
				});
			});

			it('sends the email two CRM contacts share to Needs Review with every candidate, and writes none of them', async () => {
				const review = emitted(firstRun, 'Match and Resolve', 6);
				expect(review).toHaveLength(1);
				expect(syncOf(review[0])).toEqual(expect.objectContaining({ reason: 'ambiguous match' }));
				expect((syncOf(review[0]).review as { candidates: unknown }).candidates).toEqual({
					crm: [crmKeyByEmail.get(jean.email), crmKeyByEmail.get(jeanAgain.email)].sort(),
					db: [String(rowIdByEmail.get(jeanInDatabase.email))],
				});
				expect(emitted(firstRun, 'Audit Needs Review', 1)).toEqual([expect.objectContaining({ status: 'conflict' })]);

				const written = WRITERS.flatMap((writer) => [...emitted(firstRun, writer, 0), ...emitted(firstRun, writer, 1)]);
				expect(written.filter((item) => normalised(item.email) === 'jean@example.com')).toEqual([]);
				expect((await database.all()).filter((row) => normalised(row.email) === 'jean@example.com')).toEqual([jeanInDatabase]);
				expect((await crm.all()).filter((contact) => normalised(contact.email) === 'jean@example.com')).toHaveLength(2);
			});

			it('creates no duplicates on either side: one record per email, apart from the two contacts waiting for review', async () => {
				const emails = ['ada@example.com', 'barbara@example.com', 'edsger@example.com', 'grace.hopper@example.com', 'jean@example.com', 'ken@example.com', 'margaret@example.com'];
				expect((await database.all()).map((row) => normalised(row.email)).sort()).toEqual(emails);
				expect((await crm.all()).map((contact) => normalised(contact.email)).sort()).toEqual([...emails.slice(0, 5), 'jean@example.com', ...emails.slice(5)]);
			});
		});

		describe('the sync state after the first run', () => {
			beforeAll(async () => {
				const id = await n8nHost.importWorkflow(n8n.folder(), linkCheckWorkflow(store));
				linkCheck = await n8nHost.executeWorkflow(n8n.folder(), id);
			}, N8N_RUN_TIMEOUT_MS);

			it('links every customer row to the CRM contact with its email, and leaves the ambiguous one unlinked', async () => {
				expectRunSucceeded(linkCheck);
				const contacts = await crm.all();
				const linkedTo = new Map(
					outputJson(linkCheck, 'Look Up').map((row) => {
						const state = row.syncState as { linked: boolean; keys: Record<string, string> };
						return [normalised(row.email), state.linked ? state.keys.crm : null];
					}),
				);
				const expected = new Map<string, string | null>();
				for (const contact of contacts) {
					const email = normalised(contact.email);
					expected.set(email, email === 'jean@example.com' ? null : contact.objectId);
				}
				expect(Object.fromEntries([...linkedTo].sort())).toEqual(Object.fromEntries([...expected].sort()));
			});
		});

		describe('a second run with no edits', () => {
			beforeAll(async () => {
				secondRun = await n8nHost.executeWorkflow(n8n.folder(), workflowId);
			}, N8N_RUN_TIMEOUT_MS);

			it('writes nothing to either system', () => {
				expectRunSucceeded(secondRun);
				expect(writesOf(secondRun, WRITERS)).toBe(0);
				expect(committedWrites(secondRun)).toEqual([]);
			});

			it('still holds the ambiguous email for review until a person fixes it', () => {
				expect(emitted(secondRun, 'Match and Resolve', 6).map((item) => syncOf(item).reason)).toEqual(['ambiguous match']);
			});
		});

		describe('the scheduled two-way workflow, run next on the same Sync ID', () => {
			let scheduledRun: RunJson;

			beforeAll(async () => {
				const id = await n8nHost.importWorkflow(n8n.folder(), exampleFor(stack.parse.serverUrl, store));
				scheduledRun = await n8nHost.executeWorkflow(n8n.folder(), id);
			}, N8N_RUN_TIMEOUT_MS);

			it('starts from the links made here: it writes nothing, and the ambiguous email still waits for review', () => {
				expectRunSucceeded(scheduledRun);
				expect(writesOf(scheduledRun, WRITERS)).toBe(0);
				expect(emitted(scheduledRun, 'Resolve Conflicts', 6).map((item) => syncOf(item).reason)).toEqual(['ambiguous match']);
			});
		});
	});
}

describe('First-time matching between Parse Server and PostgreSQL through the real n8n CLI (example workflow 3)', () => {
	describeFirstTimeMatching('Built-in store', 'builtin');
	describeFirstTimeMatching('PostgreSQL store, through the Sync State PostgreSQL credential', 'postgres');
});
