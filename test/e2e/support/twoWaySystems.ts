import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Client } from 'pg';

import { connectionOf, createScratchDatabase, type ScratchDatabase } from '../../support/postgres';
import type { CredentialJson, RunJson, WorkflowJson } from './n8nHost';
import { parseHost, type ParseObject, type ParseStack, type RunningParse } from './systems';

// The two systems of the example workflows (a Parse class `Contact`, a PostgreSQL table `customers`),
// the credentials the examples name, and readers of their run JSON: shared by the end-to-end tests of
// workflow 1 (scheduled, two-way), workflow 2 (real-time, one-way) and workflow 3 (first-time matching).

const examplesDir = join(__dirname, '..', '..', '..', 'examples');
/** The customers table, as the example's README gives it to users. */
const CUSTOMERS_TABLE_SQL = readFileSync(join(examplesDir, 'two-way-crm-database', 'customers.sql'), 'utf8');

const readExample = (folder: string): WorkflowJson =>
	JSON.parse(readFileSync(join(examplesDir, folder, 'workflow.json'), 'utf8')) as WorkflowJson;

/** Example workflow 1, as shipped. */
export const scheduledExample = readExample('two-way-crm-database');
/** Example workflow 3 (the initial load that links records existing on both sides), as shipped. */
export const firstTimeMatchingExample = readExample('first-time-matching');

const { parseRequest, createClassSchema } = parseHost;

export const PACKAGE_TYPE_PREFIX = 'n8n-nodes-two-way-sync.';
export const CLASS = 'Contact';
export const POSTGRES_CREDENTIAL = { id: 'CustomersDb00001', name: 'Customers database' };
export const PARSE_CREDENTIAL = { id: 'ParseRestKeys001', name: 'Parse REST API keys' };
export const STORE_CREDENTIAL = { id: 'SyncStatePg00001', name: 'Sync State PostgreSQL' };

export type StoreKind = 'builtin' | 'postgres';

export const DATABASE_WRITERS = ['Insert Customers', 'Update Customers', 'Delete Customers'];
export const CRM_WRITERS = ['Create Contacts', 'Update Contacts', 'Delete Contacts'];

/** A contact in Parse, as the CRM holds it. */
export interface Contact {
	fullName: string;
	email: string;
	phoneNumber: string;
	isActive: 'yes' | 'no';
	/** dd/MM/yyyy */
	birthday: string;
	status: string;
}

/** A row of `customers`, as the database holds it; also what both systems must agree on. */
export interface Customer {
	full_name: string;
	email: string;
	phone: string;
	active: boolean;
	/** yyyy-MM-dd; stored as a timestamptz at midnight UTC. */
	birth_date: string;
	status: 'A' | 'I' | 'L';
}

const STATUS_CODES: Record<string, Customer['status']> = { Active: 'A', Inactive: 'I', Lead: 'L' };

/** The test's own reading of the mapping, independent of the Field Mapper. */
export function contactAsCustomer(contact: ParseObject): Customer {
	const [day, month, year] = String(contact.birthday).split('/');
	return {
		full_name: String(contact.fullName),
		email: String(contact.email),
		phone: String(contact.phoneNumber),
		active: contact.isActive === 'yes',
		birth_date: `${year}-${month}-${day}`,
		status: STATUS_CODES[String(contact.status)],
	};
}

export const byEmail = (a: Customer, b: Customer) => a.email.toLowerCase().localeCompare(b.email.toLowerCase());

// ---------------------------------------------------------------------------------------------
// The two systems

export class Crm {
	constructor(private readonly stack: ParseStack) {}

	private get server() {
		return this.stack.parse;
	}

	async createClass(): Promise<void> {
		await createClassSchema(this.server, CLASS, {
			fullName: 'String',
			email: 'String',
			phoneNumber: 'String',
			isActive: 'String',
			birthday: 'String',
			status: 'String',
		});
	}

	async create(contact: Contact): Promise<string> {
		const created = await parseRequest<{ objectId: string }>(this.server, 'POST', `/classes/${CLASS}`, contact);
		return created.objectId;
	}

	async update(email: string, fields: Partial<Contact>): Promise<void> {
		const contact = await this.byEmail(email);
		await parseRequest(this.server, 'PUT', `/classes/${CLASS}/${contact.objectId}`, fields);
	}

	async delete(email: string): Promise<void> {
		const contact = await this.byEmail(email);
		await parseRequest(this.server, 'DELETE', `/classes/${CLASS}/${contact.objectId}`);
	}

	async all(): Promise<ParseObject[]> {
		const { results } = await parseRequest<{ results: ParseObject[] }>(this.server, 'GET', `/classes/${CLASS}?limit=1000&order=objectId`);
		return results;
	}

	async byEmail(email: string): Promise<ParseObject> {
		const found = (await this.all()).filter((contact) => String(contact.email).toLowerCase() === email.toLowerCase());
		if (found.length !== 1) throw new Error(`Expected one CRM contact with email ${email}, found ${found.length}.`);
		return found[0];
	}

	/** The field names of the class, as Parse's schema lists them. */
	async fieldNames(): Promise<string[]> {
		const schema = await parseRequest<{ fields: Record<string, unknown> }>(this.server, 'GET', `/schemas/${CLASS}`, undefined, { useMasterKey: true });
		return Object.keys(schema.fields).sort();
	}
}

export class Database {
	constructor(private readonly client: Client) {}

	async createTable(): Promise<void> {
		await this.client.query(CUSTOMERS_TABLE_SQL);
	}

	async insert(customer: Customer): Promise<number> {
		const { rows } = await this.client.query<{ id: number }>(
			'INSERT INTO customers (full_name, email, phone, active, birth_date, status) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id',
			[customer.full_name, customer.email, customer.phone, customer.active, `${customer.birth_date}T00:00:00Z`, customer.status],
		);
		return rows[0].id;
	}

	async update(email: string, fields: Partial<Customer>): Promise<void> {
		const entries = Object.entries(fields).map(([column, value]): [string, unknown] => [column, column === 'birth_date' ? `${String(value)}T00:00:00Z` : value]);
		const assignments = entries.map(([column], index) => `${column} = $${index + 2}`).join(', ');
		const { rowCount } = await this.client.query(`UPDATE customers SET ${assignments} WHERE lower(email) = lower($1)`, [email, ...entries.map(([, value]) => value)]);
		if (rowCount !== 1) throw new Error(`Expected to update one customer with email ${email}, updated ${rowCount}.`);
	}

	async delete(email: string): Promise<void> {
		const { rowCount } = await this.client.query('DELETE FROM customers WHERE lower(email) = lower($1)', [email]);
		if (rowCount !== 1) throw new Error(`Expected to delete one customer with email ${email}, deleted ${rowCount}.`);
	}

	async all(): Promise<Customer[]> {
		const { rows } = await this.client.query<Customer>(`
			SELECT full_name, email, phone, active, to_char(birth_date AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS birth_date, status
			FROM customers ORDER BY id`);
		return rows;
	}

	async columnNames(): Promise<string[]> {
		const { rows } = await this.client.query<{ column_name: string }>(
			"SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'customers' ORDER BY column_name",
		);
		return rows.map((row) => row.column_name);
	}
}

export interface ExampleSystems {
	crm: Crm;
	database: Database;
	/** The connection `database` uses; end it when the test is done. */
	client: Client;
	customersDatabase: ScratchDatabase;
}

/** The examples' two systems, fresh on a Parse stack: the Contact class, and the customers table in a new database. */
export async function createExampleSystems(stack: ParseStack): Promise<ExampleSystems> {
	const crm = new Crm(stack);
	const customersDatabase = await createScratchDatabase('customers', stack.postgres.url);
	const client = new Client({ connectionString: customersDatabase.url });
	await client.connect();
	const database = new Database(client);
	await crm.createClass();
	await database.createTable();
	return { crm, database, client, customersDatabase };
}

// ---------------------------------------------------------------------------------------------
// Example workflow 1

/**
 * The example (workflow 1 unless another is given) with the Parse URL of this test's server, and for
 * the PostgreSQL store every node of ours pointed at it.
 */
export function exampleFor(parseUrl: string, store: StoreKind, example: WorkflowJson = scheduledExample): WorkflowJson {
	const workflow = structuredClone(example);
	const settings = workflow.nodes.find((node) => node.name === 'Settings');
	const assignments = (settings?.parameters.assignments as { assignments: Array<{ name: string; value: unknown }> } | undefined)?.assignments;
	const parseUrlSetting = assignments?.find((assignment) => assignment.name === 'parseUrl');
	if (!parseUrlSetting) throw new Error('The example has no "parseUrl" in its Settings node.');
	parseUrlSetting.value = parseUrl;
	if (store === 'postgres') {
		workflow.name = `${workflow.name} (PostgreSQL store)`;
		for (const node of workflow.nodes) withPostgresStore(node);
	}
	return workflow;
}

export function withPostgresStore(node: WorkflowJson['nodes'][number]): void {
	const type = node.type.startsWith(PACKAGE_TYPE_PREFIX) ? node.type.slice(PACKAGE_TYPE_PREFIX.length) : null;
	// The Field Mapper keeps no state; every other node of ours reads or writes the store.
	if (!type || type === 'fieldMapper') return;
	node.parameters = { ...node.parameters, store: 'postgres' };
	node.credentials = { ...node.credentials, syncStatePostgresApi: STORE_CREDENTIAL };
}


// ---------------------------------------------------------------------------------------------
// Reading the run JSON

/** Items one node emitted on one output over all its runs; none when it did not run. */
export function emitted(run: RunJson, nodeName: string, output: number): Array<Record<string, unknown>> {
	const runs = run.data.resultData.runData[nodeName] ?? [];
	return runs.flatMap((nodeRun) => (nodeRun.data?.main?.[output] ?? []).map((item) => item.json));
}

/** Items that reached a write node, whatever became of them. */
export function writesOf(run: RunJson, writers: string[]): number {
	return writers.reduce((sum, writer) => sum + emitted(run, writer, 0).length + emitted(run, writer, 1).length, 0);
}

/** `target.system:target.op` of each write the example committed, e.g. "db:create", sorted. */
export function committedWrites(run: RunJson): string[] {
	return [...emitted(run, 'Commit Database Writes', 0), ...emitted(run, 'Commit CRM Writes', 0)]
		.map((item) => {
			const target = (item._sync as { target: { system: string; op: string } }).target;
			return `${target.system}:${target.op}`;
		})
		.sort();
}

/** The Sync State PostgreSQL credential that `withPostgresStore` points the nodes at (or another one), on the given database. */
export function storeCredential(storeDatabase: ScratchDatabase, reference: { id: string; name: string } = STORE_CREDENTIAL): CredentialJson {
	return {
		...reference,
		type: 'syncStatePostgresApi',
		data: { ...connectionOf(storeDatabase), schema: 'two_way_sync', tablePrefix: '' },
	};
}

/** The two credentials the examples name, for the given customers database and Parse server. */
export function systemCredentials(customersDatabase: ScratchDatabase, parse: RunningParse): CredentialJson[] {
	return [
		{
			...POSTGRES_CREDENTIAL,
			type: 'postgres',
			data: connectionOf(customersDatabase),
		},
		{
			...PARSE_CREDENTIAL,
			type: 'httpCustomAuth',
			data: {
				json: JSON.stringify({
					headers: { 'X-Parse-Application-Id': parse.appId, 'X-Parse-REST-API-Key': parse.restApiKey },
				}),
			},
		},
	];
}
