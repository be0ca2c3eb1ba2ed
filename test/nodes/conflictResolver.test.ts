import type { IDataObject, INodeExecutionData, IPinData } from 'n8n-workflow';

import { configuredOutputs } from '../../nodes/ConflictResolver/helpers/outputs';

import {
	FIXTURE_TYPES,
	connect,
	packageNodeType,
	runChain,
	runWorkflow,
	startNode,
	vmModulesEnabled,
	type Link,
	type NodeSpec,
	type RunResult,
	type RunWorkflowOptions,
} from '../harness';
import { useNodeTestStores } from '../support/nodeStores';

const SYNC_ID = 'contacts';
const { freshBuiltinStore: freshStore } = useNodeTestStores('resolver', { postgres: false });
type StoreChoice = ReturnType<typeof freshStore>;

const OUT = { applyToY: 0, applyToX: 1, review: 2, noChange: 3 } as const;

const ada = { name: 'Ada', email: 'ada@example.com', phone: '100', city: 'London' };
const grace = { name: 'Grace', email: 'grace@example.com', phone: '200', city: 'Arlington' };

type Op = 'create' | 'update' | 'delete';

/** A CRM change as a Field Mapper emits it: mapped into the ERP's schema, metadata in JSON. */
function crmChange(key: string, record: IDataObject, op: Op = 'update', erpKey: string | null = null): IDataObject {
	return {
		...record,
		_sync: { syncId: SYNC_ID, system: 'crm', key, op, hash: `h-${key}-${op}`, target: { system: 'erp', key: erpKey, op } },
	};
}

/** An ERP change as its Change Detector emits it. */
function erpChange(key: string, record: IDataObject, op: Op = 'update'): IDataObject {
	return { ...record, _sync: { syncId: SYNC_ID, system: 'erp', key, op, hash: `h-${key}-${op}` } };
}

function state(name: string, store: StoreChoice, resource: string, operation: string, parameters: IDataObject = {}): NodeSpec {
	return { name, type: packageNodeType('syncState'), parameters: { ...store, syncId: SYNC_ID, resource, operation, ...parameters } };
}

/**
 * Seeds linked, synced records: each CRM record was written to the ERP under the given key and
 * committed, so the ERP's base is the record.
 */
async function seedSynced(store: StoreChoice, records: Array<{ crm: string; erp: string; record: IDataObject }>): Promise<void> {
	const result = await runChain(
		[{ name: 'Write', type: FIXTURE_TYPES.failWriter }, state('Commit', store, 'record', 'commit')],
		{ input: records.map(({ crm, erp, record }) => crmChange(crm, record, 'create', erp)) },
	);
	expect(result.status).toBe('success');
}

async function lookUp(store: StoreChoice, system: string, key: string): Promise<IDataObject> {
	const result = await runChain([state('Look Up', store, 'record', 'lookUp', { system, key: '={{ $json.key }}' })], { input: [{ key }] });
	expect(result.status).toBe('success');
	return result.json('Look Up')[0].syncState as IDataObject;
}

interface ResolverRun {
	store: StoreChoice;
	parameters?: IDataObject;
	crm?: Array<IDataObject | INodeExecutionData>;
	erp?: Array<IDataObject | INodeExecutionData>;
	/** Add Write (ERP) and Commit after Apply to Y. */
	commitErp?: { assignId?: string };
	continueOnFail?: boolean;
	expressionEngine?: 'legacy' | 'vm';
	settings?: RunWorkflowOptions['settings'];
	binaryDataMode?: RunWorkflowOptions['binaryDataMode'];
}

function asItems(entries: Array<IDataObject | INodeExecutionData>): INodeExecutionData[] {
	return entries.map((entry) => ('json' in entry && typeof entry.json === 'object' ? (entry as INodeExecutionData) : { json: entry as IDataObject }));
}

/** Start feeds a pinned "CRM Changes" node into input 1 and, when given, "ERP Changes" into input 2. */
async function runResolver(run: ResolverRun): Promise<RunResult> {
	const nodes: NodeSpec[] = [
		startNode(),
		{
			name: 'Resolver',
			type: packageNodeType('conflictResolver'),
			parameters: { ...run.store, syncId: SYNC_ID, systemX: 'crm', systemY: 'erp', ...run.parameters },
			continueOnFail: run.continueOnFail ?? false,
		},
	];
	const links: Array<Link | [string, string]> = [];
	const pinData: IPinData = {};
	// n8n ignores empty pinned data, so an empty side is left unconnected, as a user would.
	if (run.crm?.length) {
		nodes.push({ name: 'CRM Changes', type: FIXTURE_TYPES.failWriter, parameters: { keepBinary: true } });
		links.push(['Start', 'CRM Changes'], { from: 'CRM Changes', to: 'Resolver', input: 0 });
		pinData['CRM Changes'] = asItems(run.crm);
	}
	if (run.erp?.length) {
		nodes.push({ name: 'ERP Changes', type: FIXTURE_TYPES.failWriter, parameters: { keepBinary: true } });
		links.push(['Start', 'ERP Changes'], { from: 'ERP Changes', to: 'Resolver', input: 1 });
		pinData['ERP Changes'] = asItems(run.erp);
	}
	if (run.commitErp) {
		nodes.push(
			{ name: 'Write ERP', type: FIXTURE_TYPES.failWriter, parameters: { assignId: run.commitErp.assignId ?? '' } },
			state('Commit', run.store, 'record', 'commit'),
		);
		links.push({ from: 'Resolver', to: 'Write ERP', output: OUT.applyToY }, ['Write ERP', 'Commit']);
	}
	return await runWorkflow({
		nodes,
		connections: connect(...links),
		input: [{}],
		pinData,
		expressionEngine: run.expressionEngine,
		settings: run.settings,
		binaryDataMode: run.binaryDataMode,
	});
}

function syncOf(item: IDataObject): IDataObject {
	return item._sync as IDataObject;
}

/** The metadata an Apply output keeps beside the clean record. */
function hiddenMeta(item: INodeExecutionData): IDataObject {
	expect(item.json._sync).toBeUndefined();
	return JSON.parse(Buffer.from(item.binary!._sync.data, 'base64').toString('utf8')) as IDataObject;
}

function counts(result: RunResult): Record<keyof typeof OUT, number> {
	return {
		applyToY: result.output('Resolver', OUT.applyToY).length,
		applyToX: result.output('Resolver', OUT.applyToX).length,
		review: result.output('Resolver', OUT.review).length,
		noChange: result.output('Resolver', OUT.noChange).length,
	};
}

describe('Conflict Resolver node', () => {
	describe('outputs', () => {
		it('emits an update for Y with a clean record and the metadata hidden, which Commit then remembers', async () => {
			const store = freshStore();
			await seedSynced(store, [{ crm: 'c1', erp: 'E1', record: ada }]);

			const result = await runResolver({ store, crm: [crmChange('c1', { ...ada, phone: '101' })], commitErp: {} });

			expect(result.status).toBe('success');
			const [apply] = result.output('Resolver', OUT.applyToY);
			expect(apply.json).toEqual({ id: 'E1', ...ada, phone: '101' });
			expect(hiddenMeta(apply)).toMatchObject({
				system: 'crm',
				key: 'c1',
				op: 'update',
				keys: { crm: 'c1', erp: 'E1' },
				changedFields: ['phone'],
				target: { system: 'erp', key: 'E1', op: 'update' },
				resolution: { phone: { winner: 'crm', strategy: 'merge', reason: 'changed in crm only' } },
			});
			// What the write node received had no metadata in it.
			expect(result.json('Write ERP')).toEqual([{ id: 'E1', ...ada, phone: '101' }]);
			expect(syncOf(result.json('Commit')[0])).toMatchObject({ status: 'applied', committed: true });
			const erp = await lookUp(store, 'erp', 'E1');
			expect((erp.records as IDataObject).erp).toMatchObject({ base: { id: 'E1', ...ada, phone: '101' } });
		});

		it("emits an update for X when only Y changed, reading Y's current records by their key field", async () => {
			const store = freshStore();
			await seedSynced(store, [{ crm: 'c1', erp: 'E1', record: ada }]);

			const result = await runResolver({ store, crm: [], erp: [{ id: 'E1', ...ada, city: 'Paris', updated_at: 'now' }], parameters: { options: { ignoreFields: 'updated_at' } } });

			expect(counts(result)).toEqual({ applyToY: 0, applyToX: 1, review: 0, noChange: 0 });
			const [apply] = result.output('Resolver', OUT.applyToX);
			expect(apply.json).toEqual({ ...ada, city: 'Paris' });
			expect(hiddenMeta(apply)).toMatchObject({ system: 'erp', key: 'E1', target: { system: 'crm', key: 'c1', op: 'update' } });
			expect(apply.pairedItem).toEqual({ item: 0, input: 1 });
		});

		it('sends a true conflict to Needs Review with the metadata, both versions and the base visible in JSON', async () => {
			const store = freshStore();
			await seedSynced(store, [{ crm: 'c1', erp: 'E1', record: ada }]);

			const result = await runResolver({
				store,
				crm: [crmChange('c1', { ...ada, phone: '101' })],
				erp: [erpChange('E1', { ...ada, phone: '102' })],
				parameters: { strategy: 'manual' },
			});

			expect(counts(result)).toEqual({ applyToY: 0, applyToX: 0, review: 1, noChange: 0 });
			const [review] = result.json('Resolver', OUT.review);
			expect(review.phone).toBe('101');
			expect(syncOf(review)).toMatchObject({
				reason: 'conflict',
				entityId: expect.any(String),
				review: {
					reason: 'changed in both crm and erp to different values: phone',
					conflictingFields: ['phone'],
					x: { ...ada, phone: '101' },
					y: { ...ada, phone: '102' },
					base: ada,
				},
			});
			expect(result.output('Resolver', OUT.review)[0].pairedItem).toEqual([
				{ item: 0, input: 0 },
				{ item: 0, input: 1 },
			]);
		});

		it('reports changes that need no write on No Change', async () => {
			const store = freshStore();
			await seedSynced(store, [{ crm: 'c1', erp: 'E1', record: ada }]);

			const result = await runResolver({ store, crm: [crmChange('c1', { ...ada, phone: '9' })], erp: [erpChange('E1', { ...ada, phone: '9' })] });

			expect(counts(result)).toEqual({ applyToY: 0, applyToX: 0, review: 0, noChange: 1 });
			expect(syncOf(result.json('Resolver', OUT.noChange)[0])).toMatchObject({ op: 'none', reason: 'in sync' });
		});

		it('keeps the records clean in binary mode "combined" too, and Commit still finds the metadata', async () => {
			const store = freshStore();
			await seedSynced(store, [{ crm: 'c1', erp: 'E1', record: ada }]);

			const result = await runResolver({
				store,
				crm: [crmChange('c1', { ...ada, phone: '101' })],
				commitErp: {},
				settings: { binaryMode: 'combined' },
				binaryDataMode: 'filesystem',
			});

			expect(result.status).toBe('success');
			expect(result.json('Write ERP')).toEqual([{ id: 'E1', ...ada, phone: '101' }]);
			expect(syncOf(result.json('Commit')[0])).toMatchObject({ system: 'crm', key: 'c1', status: 'applied', target: { system: 'erp', key: 'E1', op: 'update' } });
		});

		it('reads metadata that the Field Mapper kept out of the JSON', async () => {
			const store = freshStore();
			await seedSynced(store, [{ crm: 'c1', erp: 'E1', record: ada }]);
			const meta = { syncId: SYNC_ID, system: 'crm', key: 'c1', op: 'update', target: { system: 'erp', key: 'E1', op: 'update' } };
			const hidden: INodeExecutionData = {
				json: { ...ada, city: 'Bath' },
				binary: { _sync: { data: Buffer.from(JSON.stringify(meta)).toString('base64'), mimeType: 'application/vnd.two-way-sync+json', fileName: '_sync.json' } },
			};

			const result = await runResolver({ store, crm: [hidden] });

			expect(result.json('Resolver', OUT.applyToY)).toEqual([{ id: 'E1', ...ada, city: 'Bath' }]);
		});
	});

	describe('Split by Operation', () => {
		const SPLIT = { createInY: 0, updateInY: 1, deleteInY: 2, createInX: 3, updateInX: 4, deleteInX: 5, review: 6, noChange: 7 } as const;

		it('names its outputs in a fixed order: the three ops for Y, then for X, then Needs Review and No Change', () => {
			const names = (splitByOperation?: boolean) => configuredOutputs({ splitByOperation }).map((output) => output.displayName);
			expect(names(true)).toEqual(['Create in Y', 'Update in Y', 'Delete in Y', 'Create in X', 'Update in X', 'Delete in X', 'Needs Review', 'No Change']);
			expect(names()).toEqual(['Apply to Y', 'Apply to X', 'Needs Review', 'No Change']);
		});

		it('sends each op to the output a write node doing that op listens on', async () => {
			const store = freshStore();
			const person = (name: string) => ({ name, email: `${name.toLowerCase()}@example.com`, phone: '1', city: 'Rome' });
			await seedSynced(store, ['Ada', 'Bea', 'Cy', 'Di', 'Eve'].map((name, n) => ({ crm: `c${n}`, erp: `E${n}`, record: person(name) })));

			const result = await runResolver({
				store,
				parameters: { splitByOperation: true },
				crm: [
					crmChange('c9', person('New'), 'create'),
					crmChange('c0', { ...person('Ada'), phone: '2' }, 'update', 'E0'),
					crmChange('c1', {}, 'delete', 'E1'),
					crmChange('c4', person('Eve')),
				],
				erp: [erpChange('E9', person('Fay'), 'create'), erpChange('E2', { ...person('Cy'), city: 'Oslo' }), erpChange('E3', {}, 'delete')],
			});

			expect(result.status).toBe('success');
			const opsAt = (output: number) => result.output('Resolver', output).map((item) => hiddenMeta(item).target);
			expect(opsAt(SPLIT.createInY)).toEqual([{ system: 'erp', key: null, op: 'create' }]);
			expect(opsAt(SPLIT.updateInY)).toEqual([{ system: 'erp', key: 'E0', op: 'update' }]);
			expect(opsAt(SPLIT.deleteInY)).toEqual([{ system: 'erp', key: 'E1', op: 'delete' }]);
			expect(opsAt(SPLIT.createInX)).toEqual([{ system: 'crm', key: null, op: 'create' }]);
			expect(opsAt(SPLIT.updateInX)).toEqual([{ system: 'crm', key: 'c2', op: 'update' }]);
			expect(opsAt(SPLIT.deleteInX)).toEqual([{ system: 'crm', key: 'c3', op: 'delete' }]);
			expect(result.output('Resolver', SPLIT.review)).toEqual([]);
			expect(syncOf(result.json('Resolver', SPLIT.noChange)[0])).toMatchObject({ key: 'c4', reason: 'unchanged' });
			expect(result.json('Resolver', SPLIT.createInY)).toEqual([person('New')]);
		});

		it("carries each change's cursor on to the write, for Set Cursor after Commit", async () => {
			const store = freshStore();
			await seedSynced(store, [{ crm: 'c1', erp: 'E1', record: ada }]);
			const change = crmChange('c1', { ...ada, phone: '5' });
			(change._sync as IDataObject).cursor = '2030-01-01T10:00:00.000Z';

			const result = await runResolver({ store, parameters: { splitByOperation: true }, crm: [change] });

			expect(hiddenMeta(result.output('Resolver', SPLIT.updateInY)[0]).cursor).toBe('2030-01-01T10:00:00.000Z');
		});
	});

	describe('strategies', () => {
		const conflict = (crm: IDataObject, erp: IDataObject) => ({ crm: [crmChange('c1', { ...ada, ...crm })], erp: [erpChange('E1', { ...ada, ...erp })] });

		it.each([
			['system priority as the tie strategy', { tieStrategy: 'priority', prioritySystem: 'y' }, 'erp', 'priority'],
			[
				'last write wins on the timestamp fields',
				{ tieStrategy: 'lastWriteWins', xTimestampField: 'changedAt', yTimestampField: 'updated_at', prioritySystem: 'y' },
				'crm',
				'lastWriteWins',
			],
			['whole-record system priority', { strategy: 'priority', prioritySystem: 'x' }, 'crm', 'priority'],
			[
				'whole-record last write wins',
				{ strategy: 'lastWriteWins', xTimestampField: 'changedAt', yTimestampField: 'updated_at', prioritySystem: 'y' },
				'crm',
				'lastWriteWins',
			],
		])('settles a true conflict by %s', async (_name, parameters, winner, strategy) => {
			const store = freshStore();
			await seedSynced(store, [{ crm: 'c1', erp: 'E1', record: ada }]);

			const result = await runResolver({
				store,
				parameters,
				...conflict({ phone: 'from crm', changedAt: '2024-05-01T10:00:10Z' }, { phone: 'from erp', updated_at: '2024-05-01T10:00:00Z' }),
			});

			expect(result.status).toBe('success');
			const output = winner === 'crm' ? OUT.applyToY : OUT.applyToX;
			const [apply] = result.output('Resolver', output);
			expect(apply.json.phone).toBe(`from ${winner}`);
			// A configured timestamp field says when a side changed; it is not merged or written.
			if ('xTimestampField' in parameters) expect(apply.json).not.toHaveProperty('changedAt');
			expect((hiddenMeta(apply).resolution as IDataObject).phone).toMatchObject({ winner, strategy });
		});

		it('reverts an edit to a field owned by the other system and reports the reversion', async () => {
			const store = freshStore();
			await seedSynced(store, [{ crm: 'c1', erp: 'E1', record: ada }]);

			const result = await runResolver({
				store,
				crm: [],
				erp: [erpChange('E1', { ...ada, email: 'hijack@example.com' })],
				parameters: { fieldRules: { rule: [{ field: 'email', kind: 'ownerX' }] } },
			});

			const [revert] = result.output('Resolver', OUT.applyToY);
			expect(revert.json.email).toBe('ada@example.com');
			expect((hiddenMeta(revert).resolution as IDataObject).email).toEqual({
				winner: 'crm',
				strategy: 'ownership',
				reason: 'email is owned by crm; the edit made in erp is reverted',
			});
		});

		it('lets a custom expression pick the value from $local, $remote, $base and $json', async () => {
			const store = freshStore();
			await seedSynced(store, [{ crm: 'c1', erp: 'E1', record: { ...ada, phone: 100 } }]);

			const result = await runResolver({
				store,
				...conflict({ phone: 130 }, { phone: 120 }),
				parameters: {
					fieldRules: {
						rule: [{ field: 'phone', kind: 'custom', expression: '={{ Math.max($local, $remote) + $base + ($json.name === "Ada" ? 1 : 0) }}' }],
					},
				},
			});

			expect(result.status).toBe('success');
			expect(result.json('Resolver', OUT.applyToY)[0].phone).toBe(231);
			expect(result.json('Resolver', OUT.applyToX)[0].phone).toBe(231);
		});

		it('passes values that contain braces to a custom expression unharmed', async () => {
			const store = freshStore();
			await seedSynced(store, [{ crm: 'c1', erp: 'E1', record: ada }]);

			const result = await runResolver({
				store,
				...conflict({ city: 'a}}b{{c' }, { city: '{"x":{"y":1}}' }),
				parameters: { fieldRules: { rule: [{ field: 'city', kind: 'custom', expression: '={{ $remote + "|" + $local }}' }] } },
			});

			expect(result.json('Resolver', OUT.applyToY)[0].city).toBe('a}}b{{c|{"x":{"y":1}}');
		});

		(vmModulesEnabled() ? it : it.skip)("evaluates a custom expression in n8n 2.41's isolated-vm engine", async () => {
			const store = freshStore();
			await seedSynced(store, [{ crm: 'c1', erp: 'E1', record: { ...ada, phone: 100 } }]);

			const result = await runResolver({
				store,
				...conflict({ phone: 130 }, { phone: 120 }),
				parameters: { fieldRules: { rule: [{ field: 'phone', kind: 'custom', expression: '={{ Math.min($local, $remote) }}' }] } },
				expressionEngine: 'vm',
			});

			// The rule keeps ERP's value, so only the CRM is written.
			expect(result.json('Resolver', OUT.applyToY)).toEqual([]);
			expect(result.json('Resolver', OUT.applyToX)[0].phone).toBe(120);
		});

		it.each([
			['has a syntax error', '={{ $local + }}', 'The custom rule for field "phone" failed: invalid syntax'],
			['returns nothing', '={{ $local.missing }}', 'The custom rule for field "phone" returned no value'],
		])('names the field when a custom expression %s', async (_case, expression, message) => {
			const store = freshStore();
			await seedSynced(store, [{ crm: 'c1', erp: 'E1', record: ada }]);

			const result = await runResolver({
				store,
				...conflict({ phone: '1' }, { phone: '2' }),
				parameters: { fieldRules: { rule: [{ field: 'phone', kind: 'custom', expression }] } },
			});

			expect(result.status).toBe('error');
			expect(result.nodeError('Resolver')?.message).toBe(message);
		});
	});

	describe('deletes', () => {
		const deleteInCrm = [crmChange('c1', {}, 'delete', 'E1')];

		it.each([
			['propagate', { deletesFromX: 'propagate' }, OUT.applyToY, { id: 'E1', ...ada }, 'delete'],
			['archive', { deletesFromX: 'archive', sendOnlyChangedFields: true, options: { archiveField: 'status', archiveValue: '"archived"' } }, OUT.applyToY, { id: 'E1', status: 'archived' }, 'update'],
			['hold', { deletesFromX: 'hold' }, OUT.review, { ...ada }, undefined],
			['ignore', { deletesFromX: 'ignore' }, OUT.noChange, {}, undefined],
		])('applies the %s delete policy', async (_policy, parameters, output, record, targetOp) => {
			const store = freshStore();
			await seedSynced(store, [{ crm: 'c1', erp: 'E1', record: ada }]);

			const result = await runResolver({ store, crm: deleteInCrm, parameters });

			expect(result.status).toBe('success');
			const emitted = result.output('Resolver', output);
			expect(emitted).toHaveLength(1);
			const { _sync: _meta, ...clean } = emitted[0].json;
			expect(clean).toEqual(record);
			if (targetOp) expect(hiddenMeta(emitted[0]).target).toEqual({ system: 'erp', key: 'E1', op: targetOp });
		});

		it('treats the delete of a record the other side never had as a no-op', async () => {
			const result = await runResolver({ store: freshStore(), crm: [crmChange('c7', {}, 'delete')] });

			expect(counts(result)).toEqual({ applyToY: 0, applyToX: 0, review: 0, noChange: 1 });
		});

		it('lets an update win over a delete by default, and the delete win when configured', async () => {
			const store = freshStore();
			await seedSynced(store, [{ crm: 'c1', erp: 'E1', record: ada }]);
			const run = async (updateVersusDelete: string) =>
				await runResolver({ store, crm: deleteInCrm, erp: [erpChange('E1', { ...ada, city: 'Rome' })], parameters: { updateVersusDelete } });

			const updateWins = await run('updateWins');
			expect(hiddenMeta(updateWins.output('Resolver', OUT.applyToX)[0]).target).toEqual({ system: 'crm', key: null, op: 'create' });
			expect(updateWins.json('Resolver', OUT.applyToX)[0]).toEqual({ ...ada, city: 'Rome' });

			const deleteWins = await run('deleteWins');
			expect(hiddenMeta(deleteWins.output('Resolver', OUT.applyToY)[0]).target).toEqual({ system: 'erp', key: 'E1', op: 'delete' });
		});
	});

	describe('pairing', () => {
		it('pairs records on the match key the first time, and Commit links them', async () => {
			const store = freshStore();

			const result = await runResolver({
				store,
				crm: [crmChange('c1', { ...ada, email: ' ADA@example.com' }, 'create')],
				erp: [erpChange('E1', { ...ada, phone: '555' }, 'create')],
				parameters: { matchFields: 'email', prioritySystem: 'y' },
				commitErp: {},
			});

			expect(result.status).toBe('success');
			expect(counts(result)).toEqual({ applyToY: 1, applyToX: 1, review: 0, noChange: 0 });
			expect(hiddenMeta(result.output('Resolver', OUT.applyToY)[0])).toMatchObject({
				system: 'crm',
				key: 'c1',
				target: { system: 'erp', key: 'E1', op: 'update' },
			});
			const linked = await lookUp(store, 'crm', 'c1');
			expect(linked).toMatchObject({ linked: true, keys: { crm: 'c1', erp: 'E1' } });
		});

		it('creates an unmatched record in Y, and Commit links the key the write assigned', async () => {
			const store = freshStore();

			const result = await runResolver({
				store,
				crm: [crmChange('c2', grace, 'create')],
				erp: [],
				parameters: { matchFields: 'email' },
				commitErp: { assignId: '={{ "E-" + $json.name }}' },
			});

			expect(hiddenMeta(result.output('Resolver', OUT.applyToY)[0]).target).toEqual({ system: 'erp', key: null, op: 'create' });
			expect(result.json('Resolver', OUT.applyToY)[0]).toEqual(grace);
			expect(await lookUp(store, 'erp', 'E-Grace')).toMatchObject({ linked: true, keys: { crm: 'c2', erp: 'E-Grace' } });
		});

		it('sends an ambiguous match to Needs Review, accounting for every record involved', async () => {
			const result = await runResolver({
				store: freshStore(),
				crm: [crmChange('c1', ada, 'create')],
				erp: [erpChange('E1', ada, 'create'), erpChange('E2', { ...ada, email: 'ADA@EXAMPLE.COM' }, 'create')],
				parameters: { matchFields: 'email' },
			});

			expect(counts(result)).toEqual({ applyToY: 0, applyToX: 0, review: 1, noChange: 0 });
			const [review] = result.output('Resolver', OUT.review);
			expect(syncOf(review.json)).toMatchObject({ reason: 'ambiguous match', review: { candidates: { crm: ['c1'], erp: ['E1', 'E2'] } } });
			expect(review.pairedItem).toEqual([
				{ item: 0, input: 0 },
				{ item: 0, input: 1 },
				{ item: 1, input: 1 },
			]);
		});

		it('pairs through the links whatever the order of the items', async () => {
			const store = freshStore();
			await seedSynced(store, [
				{ crm: 'c1', erp: 'E1', record: ada },
				{ crm: 'c2', erp: 'E2', record: grace },
			]);

			const result = await runResolver({
				store,
				crm: [crmChange('c2', { ...grace, phone: '201' }), crmChange('c1', { ...ada, phone: '101' })],
				erp: [erpChange('E1', { ...ada, city: 'Bath' }), erpChange('E2', { ...grace, city: 'Boston' })],
			});

			const toY = result.output('Resolver', OUT.applyToY).map((item) => [item.json.id, item.json.phone, item.json.city]);
			expect(toY).toEqual([
				['E2', '201', 'Boston'],
				['E1', '101', 'Bath'],
			]);
		});
	});

	describe('failures', () => {
		it('with Continue On Fail, puts an item it cannot read on Needs Review, never on an Apply output', async () => {
			const store = freshStore();
			await seedSynced(store, [{ crm: 'c1', erp: 'E1', record: ada }]);

			const result = await runResolver({ store, crm: [{ name: 'no metadata' }, crmChange('c1', { ...ada, phone: '3' })], continueOnFail: true });

			expect(result.status).toBe('success');
			expect(result.json('Resolver', OUT.review)).toEqual([
				expect.objectContaining({ name: 'no metadata', error: 'This item on input 1 has no sync metadata' }),
			]);
			expect(result.json('Resolver', OUT.applyToY)).toHaveLength(1);
		});

		it('without Continue On Fail, stops with an error that says how to connect the inputs', async () => {
			const result = await runResolver({ store: freshStore(), crm: [crmChange('c1', ada), { name: 'no metadata' }] });

			expect(result.status).toBe('error');
			expect(result.nodeError('Resolver')?.message).toBe('This item on input 1 has no sync metadata');
			expect(result.nodeError('Resolver')?.description).toContain('Field Mapper');
		});

		it('refuses changes of another system on input 1', async () => {
			const result = await runResolver({ store: freshStore(), crm: [erpChange('E1', ada)] });

			expect(result.nodeError('Resolver')?.message).toBe('This item on input 1 comes from system "erp", but System X is "crm"');
		});
	});
});
