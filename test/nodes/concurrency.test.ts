import type { IDataObject } from 'n8n-workflow';
import { Client } from 'pg';

import { openPostgresStore, type PostgresStoreOptions } from '../../nodes/engine/store/postgres';
import { postgresOptionsFromCredential } from '../../nodes/shared/store';
import { FIXTURE_TYPES, connect, packageNodeType, runChain, runWorkflow, startNode, type NodeSpec, type RunResult } from '../harness';
import { useNodeTestStores } from '../support/nodeStores';

/**
 * Concurrent executions of one sync on the PostgreSQL store, as n8n queue-mode workers run them:
 * 8 executions at once with overlapping records. No key gets a second entity or an entity a
 * second key per system, no base update is lost (row locks: SELECT ... FOR UPDATE), the audit
 * chain stays one valid chain, and a lock can be taken over once its time to live has passed.
 */

const SYNC_ID = 'contacts';
const PARALLEL = 8;
const { postgresCredentials } = useNodeTestStores('concurrency');
let schemaCounter = 0;

function freshSchema() {
	const credentials = postgresCredentials({ schema: `concurrency_${++schemaCounter}` });
	return { credentials, options: postgresOptionsFromCredential(credentials.syncStatePostgresApi) };
}

async function sql<R extends Record<string, unknown>>(options: PostgresStoreOptions, text: string, params: unknown[] = []): Promise<R[]> {
	const client = new Client({ host: options.host, port: options.port, database: options.database, user: options.user, password: options.password });
	await client.connect();
	try {
		return (await client.query<R>(text, params)).rows;
	} finally {
		await client.end();
	}
}

const store = { store: 'postgres' };

/** Change Detector (CRM snapshot) -> Field Mapper (CRM to ERP) -> write to the ERP -> Commit -> Audit Logger (store sink). */
function cycle(assignId: string): { nodes: NodeSpec[]; connections: ReturnType<typeof connect> } {
	return {
		nodes: [
			startNode(),
			{ name: 'Detect', type: packageNodeType('changeDetector'), parameters: { ...store, syncId: SYNC_ID, system: 'crm', keyFields: 'id' } },
			{
				name: 'Map',
				type: packageNodeType('fieldMapper'),
				parameters: { systemA: 'crm', systemB: 'erp', rules: { rule: [{ source: 'id', target: 'crm_id' }, { source: 'name', target: 'name' }] } },
			},
			{ name: 'Write ERP', type: FIXTURE_TYPES.failWriter, parameters: { assignId } },
			{ name: 'Commit', type: packageNodeType('syncState'), parameters: { ...store, syncId: SYNC_ID, resource: 'record', operation: 'commit' }, continueOnFail: true },
			{ name: 'Audit', type: packageNodeType('auditLogger'), parameters: { ...store, syncId: SYNC_ID, operation: 'log', sinks: ['store'] } },
		],
		connections: connect(
			['Start', 'Detect'],
			{ from: 'Detect', to: 'Map', output: 0 },
			{ from: 'Detect', to: 'Map', output: 1 },
			['Map', 'Write ERP'],
			['Write ERP', 'Commit'],
			['Commit', 'Audit'],
		),
	};
}

/** Run i sees 6 of 12 CRM records, overlapping its neighbours', with its own version of their names. */
function recordsOf(run: number): IDataObject[] {
	return Array.from({ length: 6 }, (_, offset) => {
		const id = ((run + offset) % 12) + 1;
		return { id, name: `contact ${id}`, note: `seen by run ${run}` };
	});
}

/**
 * Every item a node emitted, over all its runs: Created and Updated both feed the Field Mapper, so
 * when an execution finds both, n8n runs the nodes after it once for each.
 */
function emittedByAllRuns(result: RunResult, node: string): IDataObject[] {
	return result.nodeRuns(node).flatMap((task) => (task.data?.main?.[0] ?? []).map((item) => item.json));
}

async function verifyChain(credentials: ReturnType<typeof postgresCredentials>): Promise<IDataObject> {
	const result = await runChain([{ name: 'Verify', type: packageNodeType('auditLogger'), parameters: { ...store, syncId: SYNC_ID, operation: 'verifyChain' } }], {
		input: [{}],
		credentials,
	});
	expect(result.status).toBe('success');
	return result.json('Verify')[0];
}

describe('8 parallel executions of one sync on the PostgreSQL store', () => {
	it('link every record once, however the executions interleave, and keep one valid audit chain', async () => {
		const { credentials, options } = freshSchema();
		// A target that answers with the same id for the same record (an upsert by natural key).
		const { nodes, connections } = cycle('={{ "erp-" + $json.crm_id }}');
		const runs = await Promise.all(
			Array.from({ length: PARALLEL }, (_, run) => runWorkflow({ nodes, connections, input: recordsOf(run), credentials, executionMode: 'trigger' })),
		);
		for (const run of runs) expect(run.error?.message).toBeUndefined();

		const links = await sql<{ system: string; key: string; entity_id: string }>(options, `SELECT system, key, entity_id FROM ${options.schema}.records WHERE sync_id = $1`, [SYNC_ID]);
		const crm = links.filter((link) => link.system === 'crm');
		const erp = links.filter((link) => link.system === 'erp');
		expect(crm.map((link) => Number(link.key)).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
		// One entity per CRM key, and each entity has exactly one ERP key: the one its record got.
		expect(new Set(crm.map((link) => link.entity_id)).size).toBe(12);
		const erpOf = new Map(erp.map((link) => [link.entity_id, link.key]));
		expect(erp).toHaveLength(12);
		for (const link of crm) expect(erpOf.get(link.entity_id)).toBe(`erp-${link.key}`);

		// Each execution commits every record it saw, created or (when another was faster) updated.
		const committed = runs.flatMap((run) => emittedByAllRuns(run, 'Commit'));
		expect(committed.filter((item) => item.error === undefined)).toHaveLength(PARALLEL * 6);
		const audit = await sql<{ seq: string }>(options, `SELECT seq FROM ${options.schema}.audit WHERE sync_id = $1 ORDER BY seq`, [SYNC_ID]);
		expect(audit.map((row) => Number(row.seq))).toEqual(Array.from({ length: PARALLEL * 6 }, (_, i) => i + 1));
		expect(await verifyChain(credentials)).toMatchObject({ valid: true, checked: PARALLEL * 6 });
	});

	it('refuse a second target key for a record that two executions created at once, so no duplicate link arises', async () => {
		const { credentials, options } = freshSchema();
		// A target that creates a new row for every create: each execution gets another id.
		const { nodes, connections } = cycle('={{ "erp-" + $json.crm_id + "-" + $execution.id }}');
		const runs = await Promise.all(
			Array.from({ length: PARALLEL }, (_, run) => runWorkflow({ nodes, connections, input: recordsOf(run), credentials, executionMode: 'trigger' })),
		);
		for (const run of runs) expect(run.error?.message).toBeUndefined();

		const links = await sql<{ system: string; key: string; entity_id: string }>(options, `SELECT system, key, entity_id FROM ${options.schema}.records WHERE sync_id = $1`, [SYNC_ID]);
		const perEntity = new Map<string, number>();
		for (const link of links.filter((row) => row.system === 'erp')) perEntity.set(link.entity_id, (perEntity.get(link.entity_id) ?? 0) + 1);
		expect([...perEntity.values()].every((count) => count === 1)).toBe(true);
		expect(links.filter((row) => row.system === 'crm')).toHaveLength(12);

		// The executions that lost the race are told, per item, instead of linking a second key.
		const committed = runs.flatMap((run) => emittedByAllRuns(run, 'Commit'));
		const refused = committed.filter((item) => item.error !== undefined);
		const applied = committed.length - refused.length;
		expect(committed).toHaveLength(PARALLEL * 6);
		// At least the 12 first creates win; every create that lost a race is refused.
		expect(applied).toBeGreaterThanOrEqual(12);
		expect(refused.length).toBeGreaterThan(0);
		for (const item of refused) expect(String(item.error)).toMatch(/already has key "erp-.*" in system "erp", so ".*" cannot be linked too/);
		// The audit trail shows the refused commits as failed, in the same valid chain.
		const statuses = await sql<{ status: string; n: number }>(options, `SELECT status, count(*)::int AS n FROM ${options.schema}.audit WHERE sync_id = $1 GROUP BY status ORDER BY status`, [SYNC_ID]);
		expect(statuses).toEqual([
			{ status: 'applied', n: applied },
			{ status: 'failed', n: refused.length },
		]);
		expect(await verifyChain(credentials)).toMatchObject({ valid: true, checked: PARALLEL * 6 });
	});
});

describe('base updates under concurrency (row locks)', () => {
	it('keeps every field of 8 parallel partial updates of one record: none is lost', async () => {
		const { options } = freshSchema();
		const opened = await openPostgresStore(options);
		try {
			await opened.commit(SYNC_ID, [{ sides: [{ system: 'crm', key: 'c1', base: { name: 'Ada' } }, { system: 'erp', key: 'e1', base: { name: 'Ada' } }] }]);
			const stores = await Promise.all(Array.from({ length: PARALLEL }, () => openPostgresStore(options)));
			await Promise.all(
				stores.map((each, run) => each.commit(SYNC_ID, [{ sides: [{ system: 'crm', key: 'c1' }, { system: 'erp', key: 'e1', basePatch: { [`field${run}`]: run } }] }])),
			);
			const erp = (await opened.lookUp(SYNC_ID, 'erp', ['e1'])).get('e1')!.systems.erp;
			expect(erp.base).toEqual({ name: 'Ada', ...Object.fromEntries(Array.from({ length: PARALLEL }, (_, run) => [`field${run}`, run])) });
			expect(erp.version).toBe(1 + PARALLEL);
		} finally {
			await opened.close();
		}
	});

	it('makes a commit wait for another transaction holding the record row, then build on what it wrote', async () => {
		const { options } = freshSchema();
		const opened = await openPostgresStore(options);
		await opened.commit(SYNC_ID, [{ sides: [{ system: 'crm', key: 'c1' }, { system: 'erp', key: 'e1', base: { name: 'Ada' } }] }]);
		const blocker = new Client({ host: options.host, port: options.port, database: options.database, user: options.user, password: options.password });
		await blocker.connect();
		try {
			await blocker.query('BEGIN');
			await blocker.query(`SELECT * FROM ${options.schema}.records WHERE sync_id = $1 FOR UPDATE`, [SYNC_ID]);
			let settled = false;
			const waiting = opened.commit(SYNC_ID, [{ sides: [{ system: 'crm', key: 'c1' }, { system: 'erp', key: 'e1', basePatch: { phone: '100' } }] }]).finally(() => {
				settled = true;
			});
			// The commit's backend shows up waiting on a row lock (bounded polling, no timing assumption).
			let waitingOnLock = false;
			for (let attempt = 0; attempt < 200 && !waitingOnLock; attempt++) {
				const rows = (await blocker.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = $1`, [options.database])).rows as Array<{ n: number }>;
				waitingOnLock = rows[0].n > 0;
				if (!waitingOnLock) await new Promise((resolve) => setTimeout(resolve, 25));
			}
			expect(waitingOnLock).toBe(true);
			expect(settled).toBe(false);
			// The blocker changes the base and commits; the waiting commit then merges over that.
			await blocker.query(`UPDATE ${options.schema}.records SET base = $2::json, version = version + 1 WHERE sync_id = $1 AND system = 'erp'`, [SYNC_ID, JSON.stringify({ name: 'Ada L' })]);
			await blocker.query('COMMIT');
			await waiting;
			expect((await opened.lookUp(SYNC_ID, 'erp', ['e1'])).get('e1')!.systems.erp).toMatchObject({ base: { name: 'Ada L', phone: '100' }, version: 3 });
		} finally {
			await blocker.end();
			await opened.close();
		}
	});
});

describe('locks under concurrency', () => {
	function acquire(ttlSeconds: number, owner: string): NodeSpec {
		return {
			name: 'Acquire',
			type: packageNodeType('syncState'),
			parameters: { ...store, syncId: SYNC_ID, resource: 'lock', operation: 'acquireLock', lockName: 'cycle', ttlSeconds, owner },
		};
	}
	const leaseOf = (result: RunResult) => result.json('Acquire')[0];

	it('gives the lock to exactly one of 8 executions asking at once', async () => {
		const { credentials } = freshSchema();
		const runs = await Promise.all(Array.from({ length: PARALLEL }, (_, run) => runChain([acquire(60, `worker-${run}`)], { input: [{}], credentials })));
		const leases = runs.map(leaseOf);
		const winners = leases.filter((lease) => lease.acquired === true);
		expect(winners).toHaveLength(1);
		// Every loser is told who holds it.
		for (const lease of leases) expect(lease.owner).toBe(winners[0].owner);
	});

	it('lets another execution take the lock over once its time to live has passed, and not before', async () => {
		const { credentials, options } = freshSchema();
		const first = await runChain([acquire(1, 'crashed-worker')], { input: [{}], credentials });
		expect(leaseOf(first)).toMatchObject({ acquired: true, owner: 'crashed-worker' });
		const early = await runChain([acquire(60, 'next-worker')], { input: [{}], credentials });
		expect(leaseOf(early)).toMatchObject({ acquired: false, owner: 'crashed-worker' });

		// Wait until the database's clock has passed the expiry (bounded), then ask again.
		const expiresAt = new Date(String(leaseOf(first).expiresAt)).getTime();
		for (let attempt = 0; attempt < 100; attempt++) {
			const [row] = await sql<{ now: Date }>(options, 'SELECT clock_timestamp() AS now');
			if (row.now.getTime() > expiresAt && Date.now() > expiresAt) break;
			await new Promise((resolve) => setTimeout(resolve, 50));
		}
		const takeover = await runChain([acquire(60, 'next-worker')], { input: [{}], credentials });
		expect(leaseOf(takeover)).toMatchObject({ acquired: true, owner: 'next-worker' });
		const late = await runChain([acquire(60, 'crashed-worker')], { input: [{}], credentials });
		expect(leaseOf(late)).toMatchObject({ acquired: false, owner: 'next-worker' });
	});
});
