import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { connectionOf, createScratchDatabase, type ScratchDatabase } from '../support/postgres';
import {
	N8N_RUN_TIMEOUT_MS,
	expectRunSucceeded,
	n8nHost,
	outputJson,
	withN8nUserFolder,
	type RunJson,
	type WorkflowJson,
	syncOf,
} from './support';

const example = JSON.parse(
	readFileSync(join(__dirname, '..', '..', 'examples', 'sync-state-basics', 'workflow.json'), 'utf8'),
) as WorkflowJson;

const SYNC_STATE_TYPE = 'n8n-nodes-two-way-sync.syncState';


/** The example workflow with every Sync State node pointed at the PostgreSQL store credential. */
function withPostgresStore(workflow: WorkflowJson, credential: { id: string; name: string }): WorkflowJson {
	const copy = structuredClone(workflow);
	copy.name = `${workflow.name} (PostgreSQL)`;
	for (const node of copy.nodes) {
		if (node.type !== SYNC_STATE_TYPE) continue;
		node.parameters = { store: 'postgres', ...node.parameters };
		node.credentials = { syncStatePostgresApi: credential };
	}
	return copy;
}

/** Two CLI runs of one imported workflow: state written by the first must be read back by the second. */
function describeStateAcrossRuns(label: string, setUp: (folder: string) => Promise<WorkflowJson>): void {
	describe(label, () => {
		const n8n = withN8nUserFolder({ label: `syncstate-${label.toLowerCase().replace(/\W+/g, '-')}` });
		let first: RunJson;
		let second: RunJson;

		beforeAll(async () => {
			const workflow = await setUp(n8n.folder());
			const id = await n8nHost.importWorkflow(n8n.folder(), workflow);
			first = await n8nHost.executeWorkflow(n8n.folder(), id);
			second = await n8nHost.executeWorkflow(n8n.folder(), id);
		}, N8N_RUN_TIMEOUT_MS);

		it('runs the workflow to success twice through the n8n CLI', () => {
			expectRunSucceeded(first);
			expectRunSucceeded(second);
		});

		it('links each record to the key the target assigned in the first run', () => {
			const committed = outputJson(first, 'Commit');
			expect(committed.map((item) => syncOf(item).target)).toEqual([
				{ system: 'erp', key: 'erp-101', op: 'create' },
				{ system: 'erp', key: 'erp-102', op: 'create' },
				{ system: 'erp', key: 'erp-103', op: 'create' },
			]);
			expect(committed.map((item) => syncOf(item).committed)).toEqual([true, true, true]);
			expect(outputJson(first, 'Stats')[0]).toMatchObject({
				entities: 3,
				systems: { crm: { links: 3, tombstones: 0 }, erp: { links: 3, tombstones: 0 } },
			});
		});

		it('reads the first run state back in the second run: same entities, nothing committed twice', () => {
			const firstEntities = outputJson(first, 'Commit').map((item) => syncOf(item).entityId);
			const secondCommit = outputJson(second, 'Commit');
			expect(secondCommit.map((item) => syncOf(item).entityId)).toEqual(firstEntities);
			expect(secondCommit.map((item) => syncOf(item).committed)).toEqual([false, false, false]);
			expect(outputJson(second, 'Stats')[0]).toMatchObject({ entities: 3 });
		});

		it('returns in the second run the cursor the first run stored', () => {
			expect(outputJson(first, 'Get CRM Cursor')[0]).toMatchObject({ stored: false, cursor: '1970-01-01T00:00:00.000Z' });
			const stored = outputJson(first, 'Set CRM Cursor')[0].cursor;
			expect(outputJson(second, 'Get CRM Cursor')[0]).toEqual({ syncId: 'contacts', system: 'crm', cursor: stored, stored: true });
		});
	});
}

describe('Sync State in a real n8n (community-node install, n8n CLI)', () => {
	describeStateAcrossRuns('Built-in store', async () => example);

	let database: ScratchDatabase | undefined;
	afterAll(async () => {
		await database?.drop();
	});

	describeStateAcrossRuns('PostgreSQL store', async (folder) => {
		database = await createScratchDatabase('e2e_syncstate');
		const credential = { id: 'SyncStatePg0001', name: 'Sync State PostgreSQL' };
		await n8nHost.importCredentials(folder, {
			...credential,
			type: 'syncStatePostgresApi',
			data: { ...connectionOf(database), schema: 'two_way_sync', tablePrefix: '' },
		});
		return withPostgresStore(example, credential);
	});
});
