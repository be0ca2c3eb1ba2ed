import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { IDataObject, INodeExecutionData, INodeParameters } from 'n8n-workflow';

import {
	FIXTURE_TYPES,
	connect,
	packageNodeType,
	runChain,
	runWorkflow,
	startNode,
	type BinaryDataMode,
	type Link,
	type NodeSpec,
	type RunResult,
} from '../harness';

/**
 * The canonical two-way flow, wired as a user wires it, with fixtures in place of the systems:
 *
 *   Read CRM → Change Detector (crm) → Join → Field Mapper (crm→db) → Conflict Resolver input 1
 *   Read DB  → Change Detector (db)  → Join →                          Conflict Resolver input 2
 *   (Join: a fixture standing in for n8n's Merge node in Append mode)
 *   Resolver Create/Update/Delete in Y → Insert/Update/Delete DB → Commit (key "id")
 *   Resolver Create/Update/Delete in X → Field Mapper (db→crm, split) → Create/Update/Delete CRM → Commit (key "objectId")
 *   Resolver No Change → Commit (remembers what both sides hold; writes nothing)
 *   both write Commits → Audit Logger
 *
 * Each test runs it for several cycles against one built-in store, applying what the write
 * nodes wrote to two in-memory tables between runs, as the real systems would hold it.
 */

const SYNC_ID = 'contacts';
const workDir = mkdtempSync(join(tmpdir(), 'tws-flow-'));
let fileCounter = 0;

afterAll(() => {
	rmSync(workDir, { recursive: true, force: true });
});

/** Output indexes: documented contracts of the nodes, relied on by the wiring below. */
const DETECTOR = { created: 0, updated: 1, deleted: 2 } as const;
const RESOLVER_SPLIT = { createInY: 0, updateInY: 1, deleteInY: 2, createInX: 3, updateInX: 4, deleteInX: 5, review: 6, noChange: 7 } as const;
const MAPPER_SPLIT = { create: 0, update: 1, delete: 2, invalid: 3 } as const;

/** The same rules serve both mappers: CRM fields on the left, database columns on the right. */
const rules: { rule: Array<{ source: string; target: string; direction?: 'both' | 'aToB' | 'bToA' }> } = {
	rule: [
		{ source: 'name', target: 'full_name' },
		{ source: 'email', target: 'email' },
		{ source: 'phone', target: 'phone' },
		{ source: 'city', target: 'city' },
	],
};

/** A system's records, keyed by their key field; some systems stamp every write with a time. */
class Table {
	private readonly rows = new Map<string, IDataObject>();
	private clock = 0;

	constructor(
		readonly keyField: string,
		private readonly stampField?: string,
	) {}

	put(key: string, fields: IDataObject): void {
		const row: IDataObject = { [this.keyField]: key, ...fields };
		if (this.stampField) row[this.stampField] = new Date(Date.UTC(2030, 0, 1) + ++this.clock * 1000).toISOString();
		this.rows.set(key, row);
	}

	edit(key: string, fields: IDataObject): void {
		expect(this.rows.has(key)).toBe(true);
		const { [this.keyField]: _key, ...current } = this.rows.get(key)!;
		this.put(key, { ...current, ...fields });
	}

	remove(key: string): void {
		expect(this.rows.delete(key)).toBe(true);
	}

	keyOf(field: string, value: unknown): string {
		const found = [...this.rows.values()].find((row) => row[field] === value);
		expect(found).toBeDefined();
		return String(found![this.keyField]);
	}

	records(): IDataObject[] {
		return [...this.rows.values()].map((row) => ({ ...row }));
	}

	/** What the write nodes did in a run, applied here: creates get their assigned key, updates change only the fields sent. */
	applyWrites(result: RunResult, nodes: { create: string; update: string; delete: string }): void {
		for (const written of itemsOf(result, nodes.create)) {
			const { [this.keyField]: key, ...fields } = written;
			expect(this.rows.has(String(key))).toBe(false);
			this.put(String(key), fields);
		}
		for (const written of itemsOf(result, nodes.update)) {
			const { [this.keyField]: key, ...fields } = written;
			this.edit(String(key), fields);
		}
		for (const written of itemsOf(result, nodes.delete)) this.remove(String(written[this.keyField]));
	}
}

/** Every item a node emitted on one output, over all of its runs in one execution. */
function outputOf(result: RunResult, node: string, output = 0): INodeExecutionData[] {
	return result.nodeRuns(node).flatMap((run) => {
		expect(run.error).toBeUndefined();
		return run.data?.main?.[output] ?? [];
	});
}

function itemsOf(result: RunResult, node: string, output = 0): IDataObject[] {
	return outputOf(result, node, output).map((item) => item.json);
}

const WRITES = {
	db: { create: 'Insert DB', update: 'Update DB', delete: 'Delete DB' },
	crm: { create: 'Create CRM', update: 'Update CRM', delete: 'Delete CRM' },
};

interface Flow {
	store: IDataObject;
	crm: Table;
	db: Table;
	resolver: IDataObject;
	binary: BinarySetup;
	rules: typeof rules;
	/** Fields the database fills in a new row when the insert does not set them. */
	dbDefaults: IDataObject;
}

/**
 * Where n8n keeps binary data, and so the hidden metadata: in memory, or on disk as a real
 * instance does; the workflow's binary mode "combined" moves it into the flow context.
 */
interface BinarySetup {
	dataMode: BinaryDataMode;
	combined: boolean;
}

function newFlow(resolver: IDataObject = {}, binary: BinarySetup = { dataMode: 'default', combined: false }): Flow {
	return {
		store: { store: 'builtin', databaseFile: join(workDir, `state-${++fileCounter}.sqlite`) },
		crm: new Table('objectId', 'updatedAt'),
		db: new Table('id'),
		resolver,
		binary,
		rules,
		dbDefaults: {},
	};
}

function flowNodes(flow: Flow): { nodes: NodeSpec[]; links: Array<Link | [string, string]> } {
	const state = { ...flow.store, syncId: SYNC_ID };
	const detector = (name: string, system: string, keyFields: string, ignoreFields = ''): NodeSpec => ({
		name,
		type: packageNodeType('changeDetector'),
		parameters: { ...state, system, mode: 'snapshot', keyFields, fullSnapshot: true, maxDeletePercent: 50, ignoreFields },
	});
	const writer = (name: string, parameters: INodeParameters = {}): NodeSpec => ({ name, type: FIXTURE_TYPES.failWriter, parameters });
	const commit = (name: string, targetKeyField: string): NodeSpec => ({
		name,
		type: packageNodeType('syncState'),
		parameters: { ...state, resource: 'record', operation: 'commit', targetKeyField },
	});
	const mapper = (name: string, parameters: IDataObject): NodeSpec => ({
		name,
		type: packageNodeType('fieldMapper'),
		parameters: { systemA: 'crm', systemB: 'db', rules: flow.rules, ...parameters },
	});
	const nodes: NodeSpec[] = [
		startNode(),
		writer('Read CRM'),
		writer('Read DB'),
		detector('Detect CRM', 'crm', 'objectId', 'updatedAt'),
		detector('Detect DB', 'db', 'id'),
		{ name: 'Join CRM', type: FIXTURE_TYPES.append },
		{ name: 'Join DB', type: FIXTURE_TYPES.append },
		mapper('Map CRM to DB', { direction: 'aToB' }),
		{
			name: 'Resolver',
			type: packageNodeType('conflictResolver'),
			parameters: { ...state, systemX: 'crm', systemY: 'db', yKeyField: 'id', splitByOperation: true, ...flow.resolver },
		},
		// The database generates keys; the run's id keeps a re-created record's key new.
		writer('Insert DB', { assignId: '={{ "db-" + $json.email + "-" + $execution.id }}', defaults: JSON.stringify(flow.dbDefaults) }),
		writer('Update DB'),
		writer('Delete DB'),
		commit('Commit DB', 'id'),
		mapper('Map DB to CRM', { direction: 'bToA', splitByOperation: true, options: { targetKeyField: 'objectId' } }),
		writer('Create CRM', { assignId: '={{ "crm-" + $json.email + "-" + $execution.id }}', idField: 'objectId' }),
		writer('Update CRM'),
		writer('Delete CRM'),
		commit('Commit CRM', 'objectId'),
		// No write, but both sides' versions are remembered, so a change already in sync is not reported again.
		commit('Commit Seen', 'id'),
		{ name: 'Audit', type: packageNodeType('auditLogger'), parameters: { ...state, operation: 'log', sinks: ['output', 'store'] } },
	];
	const join = (from: string, to: string, firstOutput: number): Link[] =>
		[0, 1, 2].map((offset) => ({ from, to, output: firstOutput + offset, input: offset }));
	const links: Array<Link | [string, string]> = [
		['Start', 'Read CRM'],
		['Start', 'Read DB'],
		['Read CRM', 'Detect CRM'],
		['Read DB', 'Detect DB'],
		...join('Detect CRM', 'Join CRM', DETECTOR.created),
		...join('Detect DB', 'Join DB', DETECTOR.created),
		['Join CRM', 'Map CRM to DB'],
		{ from: 'Map CRM to DB', to: 'Resolver', input: 0 },
		{ from: 'Join DB', to: 'Resolver', input: 1 },
		{ from: 'Resolver', to: 'Insert DB', output: RESOLVER_SPLIT.createInY },
		{ from: 'Resolver', to: 'Update DB', output: RESOLVER_SPLIT.updateInY },
		{ from: 'Resolver', to: 'Delete DB', output: RESOLVER_SPLIT.deleteInY },
		['Insert DB', 'Commit DB'],
		['Update DB', 'Commit DB'],
		['Delete DB', 'Commit DB'],
		// Several outputs may feed one input: the mapper then runs once per output that has items.
		{ from: 'Resolver', to: 'Map DB to CRM', output: RESOLVER_SPLIT.createInX },
		{ from: 'Resolver', to: 'Map DB to CRM', output: RESOLVER_SPLIT.updateInX },
		{ from: 'Resolver', to: 'Map DB to CRM', output: RESOLVER_SPLIT.deleteInX },
		{ from: 'Map DB to CRM', to: 'Create CRM', output: MAPPER_SPLIT.create },
		{ from: 'Map DB to CRM', to: 'Update CRM', output: MAPPER_SPLIT.update },
		{ from: 'Map DB to CRM', to: 'Delete CRM', output: MAPPER_SPLIT.delete },
		['Create CRM', 'Commit CRM'],
		['Update CRM', 'Commit CRM'],
		['Delete CRM', 'Commit CRM'],
		{ from: 'Resolver', to: 'Commit Seen', output: RESOLVER_SPLIT.noChange },
		['Commit DB', 'Audit'],
		['Commit CRM', 'Audit'],
	];
	return { nodes, links };
}

interface Cycle {
	result: RunResult;
	/** Records each detector reported as created, updated or deleted. */
	detected: { crm: number; db: number };
	/** Items each system's write nodes received, by op. */
	writes: { db: Record<'create' | 'update' | 'delete', number>; crm: Record<'create' | 'update' | 'delete', number> };
}

/** One run of the flow over what both systems hold now; the writes are then applied to them. */
async function runCycle(flow: Flow): Promise<Cycle> {
	const { nodes, links } = flowNodes(flow);
	const result = await runWorkflow({
		nodes,
		connections: connect(...links),
		input: [{}],
		binaryDataMode: flow.binary.dataMode,
		...(flow.binary.combined ? { settings: { binaryMode: 'combined' } } : {}),
		pinData: {
			'Read CRM': flow.crm.records().map((json) => ({ json })),
			'Read DB': flow.db.records().map((json) => ({ json })),
		},
	});
	expect(result.error).toBeUndefined();
	expect(result.status).toBe('success');
	// Nothing may fall out of the flow: no review, no invalid mapping, every write committed.
	expect(outputOf(result, 'Resolver', RESOLVER_SPLIT.review)).toEqual([]);
	expect(outputOf(result, 'Map DB to CRM', MAPPER_SPLIT.invalid)).toEqual([]);
	for (const commit of ['Commit DB', 'Commit CRM']) {
		for (const item of itemsOf(result, commit)) expect(item._sync).toMatchObject({ status: 'applied' });
	}
	const count = (writes: Record<'create' | 'update' | 'delete', string>) => ({
		create: itemsOf(result, writes.create).length,
		update: itemsOf(result, writes.update).length,
		delete: itemsOf(result, writes.delete).length,
	});
	const detectedBy = (node: string) =>
		[DETECTOR.created, DETECTOR.updated, DETECTOR.deleted].reduce((sum: number, output) => sum + outputOf(result, node, output).length, 0);
	const cycle: Cycle = {
		result,
		detected: { crm: detectedBy('Detect CRM'), db: detectedBy('Detect DB') },
		writes: { db: count(WRITES.db), crm: count(WRITES.crm) },
	};
	expect(itemsOf(result, 'Commit DB')).toHaveLength(cycle.writes.db.create + cycle.writes.db.update + cycle.writes.db.delete);
	expect(itemsOf(result, 'Commit CRM')).toHaveLength(cycle.writes.crm.create + cycle.writes.crm.update + cycle.writes.crm.delete);
	// One audit event per committed write, each saying it was applied to its target.
	const events = itemsOf(result, 'Audit', 1);
	expect(events).toHaveLength(itemsOf(result, 'Commit DB').length + itemsOf(result, 'Commit CRM').length);
	for (const event of events) expect(event).toMatchObject({ syncId: SYNC_ID, status: 'applied', target: { system: expect.stringMatching(/^(crm|db)$/) } });
	// No metadata ever reaches a system, whichever way n8n keeps binary data.
	for (const node of [...Object.values(WRITES.db), ...Object.values(WRITES.crm)]) {
		for (const written of itemsOf(result, node)) expect(Object.keys(written).filter((field) => field.startsWith('_'))).toEqual([]);
	}
	flow.db.applyWrites(result, WRITES.db);
	flow.crm.applyWrites(result, WRITES.crm);
	return cycle;
}

const none = { create: 0, update: 0, delete: 0 };

/** A cycle without edits: every record read back is an echo of our writes or unchanged, so nothing is emitted or written. */
async function expectQuietCycle(flow: Flow): Promise<void> {
	const quiet = await runCycle(flow);
	expect(quiet.detected).toEqual({ crm: 0, db: 0 });
	expect(quiet.writes).toEqual({ db: none, crm: none });
}

/** The tracked fields of every record, in the database's terms, so both systems can be compared. */
function trackedContent(flow: Flow): { crm: IDataObject[]; db: IDataObject[] } {
	const byEmail = (a: IDataObject, b: IDataObject) => String(a.email).localeCompare(String(b.email));
	return {
		crm: flow.crm.records().map((row) => ({ full_name: row.name, email: row.email, phone: row.phone, city: row.city })).sort(byEmail),
		db: flow.db.records().map(({ id: _id, ...row }) => row).sort(byEmail),
	};
}

/** What the sync remembers of one record: its keys and, per system, its last synced version. */
async function lookUp(flow: Flow, system: string, key: string): Promise<IDataObject> {
	const result = await runChain(
		[{ name: 'Look Up', type: packageNodeType('syncState'), parameters: { ...flow.store, syncId: SYNC_ID, resource: 'record', operation: 'lookUp', system, key } }],
		{ input: [{}] },
	);
	expect(result.status).toBe('success');
	return result.json('Look Up')[0].syncState as IDataObject;
}

async function stats(flow: Flow): Promise<IDataObject> {
	const result = await runChain(
		[{ name: 'Stats', type: packageNodeType('syncState'), parameters: { ...flow.store, syncId: SYNC_ID, resource: 'sync', operation: 'stats' } }],
		{ input: [{}] },
	);
	expect(result.status).toBe('success');
	return result.json('Stats')[0];
}

/** Live links per system: each record linked once, and never two records of one system for one entity. */
function liveLinks(statistics: IDataObject): Record<string, number> {
	const systems = statistics.systems as Record<string, { links: number; tombstones: number }>;
	return Object.fromEntries(Object.entries(systems).map(([system, counts]) => [system, counts.links - counts.tombstones]));
}

const ada = { name: 'Ada', email: 'ada@example.com', phone: '100', city: 'London' };
const grace = { name: 'Grace', email: 'grace@example.com', phone: '200', city: 'Arlington' };
const bob = { full_name: 'Bob', email: 'bob@example.com', phone: '300', city: 'Boston' };

describe('the two-way flow, end to end in the harness', () => {
	const memory: BinarySetup = { dataMode: 'default', combined: false };
	describe.each([
		['whole records', false, memory],
		['only the changed fields', true, memory],
		['whole records, with binary data on disk as on a real instance', false, { dataMode: 'filesystem', combined: false }],
		['only the changed fields, in the workflow binary mode "combined"', true, { dataMode: 'filesystem', combined: true }],
	] as const)('sending %s', (_label, sendOnlyChangedFields, binary: BinarySetup) => {
		it('creates, merges, settles conflicts and deletes on both sides, and converges without echoes or duplicates', async () => {
			const flow = newFlow({ sendOnlyChangedFields }, binary);
			flow.crm.put('c1', ada);
			flow.crm.put('c2', grace);
			flow.db.put('d1', bob);

			// Each side's new records are created on the other side and linked.
			const first = await runCycle(flow);
			expect(first.detected).toEqual({ crm: 2, db: 1 });
			expect(first.writes).toEqual({ db: { ...none, create: 2 }, crm: { ...none, create: 1 } });
			expect(trackedContent(flow).crm).toEqual(trackedContent(flow).db);
			expect(await stats(flow)).toMatchObject({ entities: 3 });
			expect(liveLinks(await stats(flow))).toEqual({ crm: 3, db: 3 });

			// The records just written come back as echoes.
			await expectQuietCycle(flow);

			// Ada's phone changes in the CRM and her city in the database: both edits survive.
			// Bob's name changes on both sides: a true conflict, which the CRM wins by priority.
			const adaInDb = flow.db.keyOf('email', ada.email);
			const bobInCrm = flow.crm.keyOf('email', bob.email);
			flow.crm.edit('c1', { phone: '111' });
			flow.db.edit(adaInDb, { city: 'Paris' });
			flow.crm.edit(bobInCrm, { name: 'Robert' });
			flow.db.edit('d1', { full_name: 'Bobby' });
			const second = await runCycle(flow);
			expect(second.detected).toEqual({ crm: 2, db: 2 });
			expect(second.writes).toEqual({ db: { ...none, update: 2 }, crm: { ...none, update: 1 } });
			if (sendOnlyChangedFields) {
				expect(itemsOf(second.result, 'Update DB')).toEqual(
					expect.arrayContaining([
						{ id: adaInDb, phone: '111' },
						{ id: 'd1', full_name: 'Robert' },
					]),
				);
				expect(itemsOf(second.result, 'Update CRM')).toEqual([{ objectId: 'c1', city: 'Paris' }]);
			}
			expect(trackedContent(flow).crm).toEqual(trackedContent(flow).db);
			expect(trackedContent(flow).db).toEqual(
				expect.arrayContaining([
					{ full_name: 'Ada', email: ada.email, phone: '111', city: 'Paris' },
					{ full_name: 'Robert', email: bob.email, phone: '300', city: 'Boston' },
				]),
			);
			// The write to the database named Bob's CRM change as its source; though paired with the
			// database's change too, the CRM's own record became the CRM's last synced version.
			const bobState = await lookUp(flow, 'crm', bobInCrm);
			expect((bobState.records as IDataObject).crm).toMatchObject({ base: { name: 'Robert', email: bob.email, phone: '300', city: 'Boston' } });

			await expectQuietCycle(flow);

			// Again both sides edit different fields of Ada. This holds only if the last synced
			// version remembered all of her fields: had it kept just the fields a partial update
			// sent, the CRM's untouched city would look changed too and overrule the database's edit.
			flow.crm.edit('c1', { name: 'Ada L.' });
			flow.db.edit(adaInDb, { city: 'Oslo' });
			const again = await runCycle(flow);
			expect(again.writes).toEqual({ db: { ...none, update: 1 }, crm: { ...none, update: 1 } });
			expect(trackedContent(flow).crm).toEqual(trackedContent(flow).db);
			expect(trackedContent(flow).db).toContainEqual({ full_name: 'Ada L.', email: ada.email, phone: '111', city: 'Oslo' });

			await expectQuietCycle(flow);

			// Both sides give Ada the same new phone, and the database also moves her: only the CRM
			// needs a write, whose source is the database's change. That change's own record, not
			// the CRM's paired one, becomes the database's last synced version.
			flow.crm.edit('c1', { phone: '123' });
			flow.db.edit(adaInDb, { phone: '123', city: 'Rome' });
			const oneWay = await runCycle(flow);
			expect(oneWay.writes).toEqual({ db: none, crm: { ...none, update: 1 } });
			const adaState = await lookUp(flow, 'db', adaInDb);
			expect((adaState.records as IDataObject).db).toMatchObject({ base: { full_name: 'Ada L.', email: ada.email, phone: '123', city: 'Rome' } });

			await expectQuietCycle(flow);

			// Grace is deleted in the CRM and Bob in the database; each delete reaches the other side.
			flow.crm.remove('c2');
			flow.db.remove('d1');
			const third = await runCycle(flow);
			expect(third.detected).toEqual({ crm: 1, db: 1 });
			expect(third.writes).toEqual({ db: { ...none, delete: 1 }, crm: { ...none, delete: 1 } });
			expect(trackedContent(flow)).toEqual({
				crm: [{ full_name: 'Ada L.', email: ada.email, phone: '123', city: 'Rome' }],
				db: [{ full_name: 'Ada L.', email: ada.email, phone: '123', city: 'Rome' }],
			});

			// A final cycle without edits emits nothing: no echo loop.
			await expectQuietCycle(flow);
			const final = await stats(flow);
			expect(final).toMatchObject({ entities: 3, outbox: { pending: 0, dead: 0 } });
			expect(liveLinks(final)).toEqual({ crm: 1, db: 1 });
		});
	});

	it('sends only the differing fields to a record matched on its first sync, and then stays quiet', async () => {
		const flow = newFlow({ sendOnlyChangedFields: true, matchFields: 'email' });
		flow.crm.put('c1', { ...ada, phone: '111' });
		flow.db.put('d1', { full_name: 'Ada', email: ada.email, phone: '100', city: 'London' });

		const first = await runCycle(flow);
		expect(first.writes).toEqual({ db: { ...none, update: 1 }, crm: none });
		expect(itemsOf(first.result, 'Update DB')).toEqual([{ id: 'd1', phone: '111' }]);
		// Logged as the update it was, though the CRM's record was new to the sync.
		expect(itemsOf(first.result, 'Audit', 1)).toEqual([
			expect.objectContaining({ op: 'update', target: { system: 'db', key: 'd1' }, changes: { phone: { after: '111' } } }),
		]);
		// The database's last synced version holds the fields not sent too.
		const adaState = await lookUp(flow, 'db', 'd1');
		expect((adaState.records as IDataObject).db).toMatchObject({ base: { id: 'd1', full_name: 'Ada', email: ada.email, phone: '111', city: 'London' } });

		await expectQuietCycle(flow);
		await expectQuietCycle(flow);

		// A later edit of a field that was never sent is still seen.
		flow.db.edit('d1', { city: 'Paris' });
		const edit = await runCycle(flow);
		expect(edit.detected).toEqual({ crm: 0, db: 1 });
		expect(itemsOf(edit.result, 'Update CRM')).toEqual([{ objectId: 'c1', city: 'Paris' }]);
		// The audit trail names the write and the one field it changed, with both values.
		expect(itemsOf(edit.result, 'Audit', 1)).toEqual([
			expect.objectContaining({ op: 'update', target: { system: 'crm', key: 'c1' }, changedFields: ['city'], changes: { city: { before: 'London', after: 'Paris' } } }),
		]);
		await expectQuietCycle(flow);
	});

	it('settles edits that leave both sides in sync, or touch only untracked fields, without reporting them again', async () => {
		const flow = newFlow();
		flow.crm.put('c1', ada);
		await runCycle(flow);
		const adaInDb = flow.db.keyOf('email', ada.email);
		await expectQuietCycle(flow);

		// Both sides give Ada the same new phone: nothing to write, but both changes were seen.
		flow.crm.edit('c1', { phone: '999' });
		flow.db.edit(adaInDb, { phone: '999' });
		const same = await runCycle(flow);
		expect(same.detected).toEqual({ crm: 1, db: 1 });
		expect(same.writes).toEqual({ db: none, crm: none });
		expect(itemsOf(same.result, 'Commit Seen')).toEqual([expect.objectContaining({ _sync: expect.objectContaining({ status: 'seen', committed: true }) })]);
		await expectQuietCycle(flow);

		// A CRM field no rule maps changes: the CRM sees a change, the database has nothing to get.
		flow.crm.edit('c1', { notes: 'met at the conference' });
		const untracked = await runCycle(flow);
		expect(untracked.detected).toEqual({ crm: 1, db: 0 });
		expect(untracked.writes).toEqual({ db: none, crm: none });
		await expectQuietCycle(flow);

		// What was seen is the last synced version: a later edit on one side still syncs.
		flow.db.edit(adaInDb, { city: 'Paris' });
		const later = await runCycle(flow);
		expect(itemsOf(later.result, 'Update CRM')).toEqual([expect.objectContaining({ objectId: 'c1', city: 'Paris' })]);
		await expectQuietCycle(flow);
	});

	it('sees an edit to a field the sync did not write, made right after a sync write, instead of taking it for the echo', async () => {
		const flow = newFlow();
		// Notes are kept in the database (empty for a new row) and copied to the CRM, never the other way.
		flow.rules = { rule: [...rules.rule, { source: 'notes', target: 'notes', direction: 'bToA' }] };
		flow.dbDefaults = { notes: null };
		flow.crm.put('c1', ada);
		await runCycle(flow);
		const adaInDb = flow.db.keyOf('email', ada.email);
		expect(flow.db.records()).toEqual([expect.objectContaining({ id: adaInDb, notes: null })]);
		await expectQuietCycle(flow);

		// Right after the sync created the row, the database's notes change: an edit, not the echo of the create.
		flow.db.edit(adaInDb, { notes: 'prefers email' });
		const afterCreate = await runCycle(flow);
		expect(afterCreate.detected).toEqual({ crm: 0, db: 1 });
		expect(itemsOf(afterCreate.result, 'Update CRM')).toEqual([expect.objectContaining({ objectId: 'c1', notes: 'prefers email' })]);
		await expectQuietCycle(flow);

		// The same right after an update the sync wrote to the database without the notes.
		flow.crm.edit('c1', { phone: '101' });
		const write = await runCycle(flow);
		expect(write.writes).toEqual({ db: { ...none, update: 1 }, crm: none });
		flow.db.edit(adaInDb, { notes: 'prefers phone' });
		const afterUpdate = await runCycle(flow);
		expect(afterUpdate.detected).toEqual({ crm: 0, db: 1 });
		expect(itemsOf(afterUpdate.result, 'Update CRM')).toEqual([expect.objectContaining({ objectId: 'c1', notes: 'prefers phone' })]);
		await expectQuietCycle(flow);
	});

	it('carries the cursor of an incremental read through mapping, resolving and Commit, for Set Cursor to store after the write', async () => {
		const flow = newFlow();
		const state = { ...flow.store, syncId: SYNC_ID };
		const result = await runWorkflow({
			nodes: [
				startNode(),
				{
					name: 'Detect CRM',
					type: packageNodeType('changeDetector'),
					parameters: { ...state, system: 'crm', mode: 'incremental', keyFields: 'objectId', cursorField: 'updatedAt', lookBackSeconds: 0, ignoreFields: 'updatedAt' },
				},
				{ name: 'Map CRM to DB', type: packageNodeType('fieldMapper'), parameters: { systemA: 'crm', systemB: 'db', rules } },
				{ name: 'Resolver', type: packageNodeType('conflictResolver'), parameters: { ...state, systemX: 'crm', systemY: 'db', splitByOperation: true } },
				{ name: 'Insert DB', type: FIXTURE_TYPES.failWriter, parameters: { assignId: '={{ "db-" + $json.email }}' } },
				{ name: 'Commit DB', type: packageNodeType('syncState'), parameters: { ...state, resource: 'record', operation: 'commit', targetKeyField: 'id' } },
				{
					name: 'Set Cursor',
					type: packageNodeType('syncState'),
					parameters: { ...state, resource: 'cursor', operation: 'setCursor', system: 'crm', cursor: '={{ $json._sync.cursor }}' },
				},
			],
			connections: connect(
				['Start', 'Detect CRM'],
				{ from: 'Detect CRM', to: 'Map CRM to DB', output: DETECTOR.created },
				{ from: 'Map CRM to DB', to: 'Resolver', input: 0 },
				{ from: 'Resolver', to: 'Insert DB', output: RESOLVER_SPLIT.createInY },
				['Insert DB', 'Commit DB'],
				['Commit DB', 'Set Cursor'],
			),
			input: [
				{ objectId: 'c1', ...ada, updatedAt: '2030-01-01T00:00:01.000Z' },
				{ objectId: 'c2', ...grace, updatedAt: '2030-01-01T00:00:02.000Z' },
			],
		});

		expect(result.status).toBe('success');
		const newest = '2030-01-01T00:00:02.000Z';
		// The detector leaves the cursor alone until the changes are committed.
		expect(itemsOf(result, 'Detect CRM').map((item) => (item._sync as IDataObject).cursor)).toEqual([newest, newest]);
		expect(itemsOf(result, 'Commit DB').map((item) => (item._sync as IDataObject).cursor)).toEqual([newest, newest]);
		expect(itemsOf(result, 'Set Cursor')[0]).toMatchObject({ system: 'crm', cursor: newest, previous: null, moved: true });
		expect(await stats(flow)).toMatchObject({ cursors: { crm: newest } });
	});

	it('brings back a record deleted on one side while the other side changed it, under a new key, in both directions', async () => {
		const flow = newFlow({ updateVersusDelete: 'updateWins' });
		flow.crm.put('c1', ada);
		flow.crm.put('c2', grace);
		await runCycle(flow);
		const adaInDb = flow.db.keyOf('email', ada.email);
		const graceInDb = flow.db.keyOf('email', grace.email);

		// Ada is deleted in the CRM while the database changes her; Grace the other way round.
		flow.crm.remove('c1');
		flow.db.edit(adaInDb, { city: 'Rome' });
		flow.db.remove(graceInDb);
		flow.crm.edit('c2', { phone: '222' });
		const recreate = await runCycle(flow);

		expect(recreate.writes).toEqual({ db: { ...none, create: 1 }, crm: { ...none, create: 1 } });
		const recreatedAda = flow.crm.keyOf('email', ada.email);
		const recreatedGrace = flow.db.keyOf('email', grace.email);
		expect(recreatedAda).not.toBe('c1');
		expect(recreatedGrace).not.toBe(graceInDb);
		expect(trackedContent(flow).crm).toEqual(trackedContent(flow).db);
		expect(trackedContent(flow).db).toEqual([
			{ full_name: 'Ada', email: ada.email, phone: '100', city: 'Rome' },
			{ full_name: 'Grace', email: grace.email, phone: '222', city: 'Arlington' },
		]);
		// The new keys replaced the old ones: still one entity per person, one live key per system.
		const statistics = await stats(flow);
		expect(statistics).toMatchObject({ entities: 2 });
		expect(liveLinks(statistics)).toEqual({ crm: 2, db: 2 });

		await expectQuietCycle(flow);
	});
});
