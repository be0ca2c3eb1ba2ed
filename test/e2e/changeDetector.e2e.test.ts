import { Client } from 'pg';

import { connectionOf, createScratchDatabase, type ScratchDatabase } from '../support/postgres';
import {
	N8N_RUN_TIMEOUT_MS,
	expectRunSucceeded,
	n8nHost,
	nodeRuns,
	outputJson,
	withN8nUserFolder,
	type RunJson,
	type WorkflowJson,
	syncOf,
} from './support';

// A real n8n reads a real PostgreSQL table with its own Postgres node, and the Change Detector
// (full snapshot) compares it with what the previous run committed. Between runs, a row is
// inserted, one updated and one deleted.

const POSTGRES_CREDENTIAL = { id: 'DetectorSrcPg001', name: 'Contacts database' };


function keysOf(items: Array<Record<string, unknown>>): unknown[] {
	return items.map((item) => syncOf(item).key);
}

/** Commit runs once per Detect output that has items; all its items in run order. */
function committed(run: RunJson): Array<Record<string, unknown>> {
	return nodeRuns(run, 'Commit').flatMap((nodeRun) => (nodeRun.data?.main?.[0] ?? []).map((item) => item.json));
}

function workflow(): WorkflowJson {
	const node = (name: string, type: string, typeVersion: number, x: number, parameters: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
		id: `${name.toLowerCase().replace(/\W+/g, '-')}-0001`,
		name,
		type,
		typeVersion,
		position: [x, 0] as [number, number],
		parameters,
		...extra,
	});
	return {
		name: 'Change Detector: snapshot of a PostgreSQL table',
		nodes: [
			node('Start', 'n8n-nodes-base.manualTrigger', 1, 0, {}),
			node(
				'Read Contacts',
				'n8n-nodes-base.postgres',
				2.6,
				220,
				{ operation: 'executeQuery', query: 'SELECT id, name, email, updated_at FROM contacts ORDER BY id', options: {} },
				{ credentials: { postgres: POSTGRES_CREDENTIAL } },
			),
			node('Detect', 'n8n-nodes-two-way-sync.changeDetector', 1, 440, {
				syncId: 'contacts',
				system: 'db',
				mode: 'snapshot',
				keyFields: 'id',
				fullSnapshot: true,
				ignoreFields: 'updated_at',
			}),
			node('Commit', 'n8n-nodes-two-way-sync.syncState', 1, 660, { syncId: 'contacts', resource: 'record', operation: 'commit' }),
		],
		connections: {
			Start: { main: [[{ node: 'Read Contacts', type: 'main', index: 0 }]] },
			'Read Contacts': { main: [[{ node: 'Detect', type: 'main', index: 0 }]] },
			Detect: {
				main: [
					[{ node: 'Commit', type: 'main', index: 0 }],
					[{ node: 'Commit', type: 'main', index: 0 }],
					[{ node: 'Commit', type: 'main', index: 0 }],
				],
			},
		},
		settings: { executionOrder: 'v1' },
	};
}

describe('Change Detector in a real n8n (community-node install, n8n CLI, PostgreSQL source)', () => {
	const n8n = withN8nUserFolder({ label: 'detector' });
	let database: ScratchDatabase;
	let client: Client;
	const runs: RunJson[] = [];

	beforeAll(async () => {
		database = await createScratchDatabase('e2e_detector');
		client = new Client({ connectionString: database.url });
		await client.connect();
		await client.query(`CREATE TABLE contacts (id integer PRIMARY KEY, name text NOT NULL, email text, updated_at timestamptz NOT NULL DEFAULT clock_timestamp())`);
		await client.query(`INSERT INTO contacts (id, name, email) VALUES
			(1, 'Ada', 'ada@example.com'), (2, 'Grace', 'grace@example.com'), (3, 'Edsger', 'edsger@example.com'),
			(4, 'Barbara', 'barbara@example.com'), (5, 'Donald', 'donald@example.com')`);

		await n8nHost.importCredentials(n8n.folder(), {
			...POSTGRES_CREDENTIAL,
			type: 'postgres',
			data: connectionOf(database),
		});
		const id = await n8nHost.importWorkflow(n8n.folder(), workflow());

		runs.push(await n8nHost.executeWorkflow(n8n.folder(), id));
		await client.query(`INSERT INTO contacts (id, name, email) VALUES (6, 'Alan', 'alan@example.com')`);
		await client.query(`UPDATE contacts SET email = 'grace@navy.mil', updated_at = clock_timestamp() WHERE id = 2`);
		await client.query(`DELETE FROM contacts WHERE id = 3`);
		// Touches only the ignored field: not a change.
		await client.query(`UPDATE contacts SET updated_at = clock_timestamp() WHERE id = 4`);
		runs.push(await n8nHost.executeWorkflow(n8n.folder(), id));
		runs.push(await n8nHost.executeWorkflow(n8n.folder(), id));
	}, N8N_RUN_TIMEOUT_MS);

	afterAll(async () => {
		await client?.end();
		await database?.drop();
	});

	const created = (run: number) => outputJson(runs[run], 'Detect', { output: 0 });
	const updated = (run: number) => outputJson(runs[run], 'Detect', { output: 1 });
	const deleted = (run: number) => outputJson(runs[run], 'Detect', { output: 2 });

	it('runs the workflow to success three times', () => {
		expect(runs).toHaveLength(3);
		runs.forEach(expectRunSucceeded);
	});

	it('reports every row of the first run as created, with the row at the top level', () => {
		expect(keysOf(created(0))).toEqual(['1', '2', '3', '4', '5']);
		expect(created(0)[0]).toEqual(
			expect.objectContaining({ id: 1, name: 'Ada', email: 'ada@example.com', _sync: expect.objectContaining({ syncId: 'contacts', system: 'db', op: 'create' }) }),
		);
		expect(updated(0)).toEqual([]);
		expect(deleted(0)).toEqual([]);
	});

	it('reports the inserted row as created, the edited one as updated and the deleted one as deleted in the second run', () => {
		expect(keysOf(created(1))).toEqual(['6']);
		expect(keysOf(updated(1))).toEqual(['2']);
		expect(syncOf(updated(1)[0]).changedFields).toEqual(['email']);
		expect(deleted(1)).toEqual([
			expect.objectContaining({ id: 3, name: 'Edsger', _sync: expect.objectContaining({ key: '3', op: 'delete' }) }),
		]);
	});

	it('finds nothing in a third run over the same table: the commits of the second run were remembered', () => {
		expect([...created(2), ...updated(2), ...deleted(2)]).toEqual([]);
		expect(outputJson(runs[2], 'Detect', { output: 3 })).toEqual([]);
	});

	it('commits each reported change once', () => {
		expect(committed(runs[0])).toHaveLength(5);
		// n8n runs Commit once per Detect output; the order of those runs is n8n's business.
		const commits = committed(runs[1]).map((item) => [syncOf(item).key, syncOf(item).op, syncOf(item).status]);
		expect(commits.sort()).toEqual([
			['2', 'update', 'applied'],
			['3', 'delete', 'applied'],
			['6', 'create', 'applied'],
		]);
	});
});
