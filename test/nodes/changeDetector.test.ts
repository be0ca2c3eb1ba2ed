import { createHmac } from 'node:crypto';

import fc from 'fast-check';
import type { ICredentialsDecrypted, ICredentialTestFunctions, IDataObject, INodeExecutionData } from 'n8n-workflow';

import { ChangeDetector } from '../../nodes/ChangeDetector/ChangeDetector.node';
import { configuredOutputs } from '../../nodes/ChangeDetector/helpers/outputs';
import { FIXTURE_TYPES, connect, packageNodeType, runChain, runWorkflow, startNode, vmModulesEnabled, type NodeSpec } from '../harness';
import { useNodeTestStores, type StoreChoice } from '../support/nodeStores';

const SYNC_ID = 'contacts';
const { freshBuiltinStore: freshStore, postgresCredentials } = useNodeTestStores('detector');
type Store = StoreChoice;

function detector(store: Store, parameters: IDataObject = {}, extra: Partial<NodeSpec> = {}): NodeSpec {
	return {
		name: 'Detect',
		type: packageNodeType('changeDetector'),
		parameters: { ...store, syncId: SYNC_ID, system: 'crm', keyFields: 'id', ...parameters },
		...extra,
	};
}

function state(store: Store, name: string, resource: string, operation: string, parameters: IDataObject = {}): NodeSpec {
	return { name, type: packageNodeType('syncState'), parameters: { ...store, syncId: SYNC_ID, resource, operation, ...parameters } };
}

const sync = (item: IDataObject) => item._sync as IDataObject;
const keys = (items: IDataObject[]) => items.map((item) => sync(item).key);

let schemaCounter = 0;

/** A PostgreSQL store in a schema of its own, and the credentials that reach it. */
function postgresStore() {
	return { store: { store: 'postgres' } as Store, credentials: postgresCredentials({ schema: `detector_node_${++schemaCounter}` }) };
}

/** Runs the detector on `records` and commits every change it reports, as a finished sync cycle would. */
async function detectAndCommit(store: Store, records: IDataObject[], parameters: IDataObject = {}, credentials?: IDataObject) {
	const outputs = configuredOutputs({ mode: (parameters.mode as string) ?? 'snapshot', includeUnchanged: parameters.includeUnchanged === true });
	const result = await runWorkflow({
		nodes: [startNode(), detector(store, parameters), state(store, 'Commit', 'record', 'commit')],
		connections: connect(
			['Start', 'Detect'],
			{ from: 'Detect', to: 'Commit', output: 0 },
			{ from: 'Detect', to: 'Commit', output: 1 },
			{ from: 'Detect', to: 'Commit', output: 2 },
		),
		input: records,
		credentials: credentials as Parameters<typeof runWorkflow>[0]['credentials'],
	});
	expect(result.status).toBe('success');
	const byName = (name: string) => result.json('Detect', outputs.findIndex((output) => output.displayName === name));
	return { result, created: byName('Created'), updated: byName('Updated'), deleted: byName('Deleted'), errors: byName('Errors') };
}

const contacts = [
	{ id: 1, name: 'Ada', email: 'ada@example.com' },
	{ id: 2, name: 'Grace', email: 'grace@example.com' },
	{ id: 3, name: 'Edsger', email: 'edsger@example.com' },
	{ id: 4, name: 'Barbara', email: 'barbara@example.com' },
	{ id: 5, name: 'Donald', email: 'donald@example.com' },
];

describe('Change Detector node', () => {
	describe('outputs', () => {
		it('always has Created, Updated and Deleted first and Errors last, with the optional ones between', () => {
			const names = (parameters: Parameters<typeof configuredOutputs>[0]) => configuredOutputs(parameters).map((output) => output.displayName);

			expect(names({ mode: 'snapshot' })).toEqual(['Created', 'Updated', 'Deleted', 'Errors']);
			expect(names({ mode: 'incremental', includeUnchanged: true, holdBack: true })).toEqual([
				'Created',
				'Updated',
				'Deleted',
				'Unchanged',
				'Held Back',
				'Errors',
			]);
			expect(names({ mode: 'event', verifySignature: true, holdBack: true })).toEqual(['Created', 'Updated', 'Deleted', 'Rejected', 'Errors']);
		});

		it('gives n8n the same outputs through its expression as it uses when running', async () => {
			const store = freshStore();
			const result = await runChain([detector(store, { includeUnchanged: true })], { input: [{ id: 1 }, {}] });

			expect(result.status).toBe('success');
			const outputs = result.run.data.resultData.runData.Detect[0].data?.main;
			expect(outputs).toHaveLength(5);
			expect(outputs?.[0]).toHaveLength(1);
			expect(outputs?.[4]).toHaveLength(1);
		});
	});

	describe('snapshot mode', () => {
		it('reports every record of a first run as created, with its fields at the top level and _sync beside them', async () => {
			const store = freshStore();
			const { created, result } = await detectAndCommit(store, contacts.slice(0, 2));

			expect(created).toEqual([
				{ ...contacts[0], _sync: { syncId: SYNC_ID, system: 'crm', key: '1', op: 'create', hash: expect.any(String) } },
				{ ...contacts[1], _sync: { syncId: SYNC_ID, system: 'crm', key: '2', op: 'create', hash: expect.any(String) } },
			]);
			expect(result.output('Detect', 0).map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
		});

		it('after a commit, finds nothing to sync in the same records, and only the edit in edited ones', async () => {
			const store = freshStore();
			await detectAndCommit(store, contacts);
			const unchanged = await detectAndCommit(store, contacts);

			expect([...unchanged.created, ...unchanged.updated, ...unchanged.deleted]).toEqual([]);

			const edited = contacts.map((contact) => (contact.id === 2 ? { ...contact, email: 'grace@navy.mil' } : contact));
			const second = await detectAndCommit(store, edited);
			expect(keys(second.updated)).toEqual(['2']);
			expect(sync(second.updated[0])).toEqual(
				expect.objectContaining({ op: 'update', changedFields: ['email'], entityId: expect.any(String), keys: { crm: '2' } }),
			);
		});

		it('reports deletes only when the input is declared a full snapshot, and then from the last synced version', async () => {
			const store = freshStore();
			await detectAndCommit(store, contacts);
			const partial = contacts.filter((contact) => contact.id !== 3);

			expect((await detectAndCommit(store, partial)).deleted).toEqual([]);
			const full = await detectAndCommit(store, partial, { fullSnapshot: true });
			expect(full.deleted).toEqual([
				{ ...contacts[2], _sync: expect.objectContaining({ key: '3', op: 'delete', entityId: expect.any(String), keys: { crm: '3' } }) },
			]);
			// The commit tombstoned it: a later full snapshot does not delete it again.
			expect((await detectAndCommit(store, partial, { fullSnapshot: true })).deleted).toEqual([]);
		});

		it('creates a deleted record again when it comes back', async () => {
			const store = freshStore();
			await detectAndCommit(store, contacts);
			await detectAndCommit(store, contacts.slice(1), { fullSnapshot: true });
			const back = await detectAndCommit(store, contacts, { fullSnapshot: true });

			expect(keys(back.created)).toEqual(['1']);
			expect(sync(back.created[0]).reason).toBe('reappeared');
		});

		it('stops the run with the counts when a full snapshot would delete too much, and emits nothing', async () => {
			const store = freshStore();
			await detectAndCommit(store, contacts);
			const result = await runChain([detector(store, { fullSnapshot: true })], { input: contacts.slice(0, 2) });

			expect(result.status).toBe('error');
			expect(result.nodeError('Detect')?.message).toBe(
				'The snapshot would delete 3 of 5 known "crm" records (60%), more than the 20% allowed',
			);
			expect(result.nodeError('Detect')?.description).toContain('Allow Mass Delete');
		});

		it('lets a mass delete through when the user raises the limit or allows it', async () => {
			const store = freshStore();
			await detectAndCommit(store, contacts);

			const raised = await runChain([detector(store, { fullSnapshot: true, maxDeletePercent: 60 })], { input: contacts.slice(0, 2) });
			expect(raised.json('Detect', 2)).toHaveLength(3);
			const allowed = await runChain([detector(store, { fullSnapshot: true, allowMassDelete: true })], { input: [contacts[0]] });
			expect(allowed.json('Detect', 2)).toHaveLength(4);
		});

		it('with Continue On Fail, sends every item to Errors with the guard message instead of emitting deletes', async () => {
			const store = freshStore();
			await detectAndCommit(store, contacts);
			const result = await runChain([detector(store, { fullSnapshot: true }, { continueOnFail: true })], { input: contacts.slice(0, 2) });

			expect(result.status).toBe('success');
			expect([0, 1, 2].map((output) => result.json('Detect', output))).toEqual([[], [], []]);
			expect(result.json('Detect', 3).map((item) => item.error)).toEqual([
				expect.stringContaining('would delete 3 of 5'),
				expect.stringContaining('would delete 3 of 5'),
			]);
		});

		it('ignores changes in ignored fields', async () => {
			const store = freshStore();
			const stamped = contacts.map((contact) => ({ ...contact, updated_at: '2026-01-01T00:00:00Z' }));
			await detectAndCommit(store, stamped, { ignoreFields: 'updated_at' });
			const touched = await detectAndCommit(
				store,
				stamped.map((contact) => ({ ...contact, updated_at: '2026-02-01T00:00:00Z' })),
				{ ignoreFields: 'updated_at' },
			);

			expect([...touched.created, ...touched.updated]).toEqual([]);
		});
	});

	describe('echo suppression', () => {
		it("recognises a record this sync wrote to the system as its own write coming back", async () => {
			const store = freshStore();
			// The ERP's change written to the CRM, then committed: the CRM side now remembers what was written.
			const change = {
				email: 'ada@example.com',
				name: 'Ada',
				_sync: { syncId: SYNC_ID, system: 'erp', key: 'E1', op: 'create', hash: 'h', target: { system: 'crm', key: null, op: 'create' } },
			};
			const written = await runChain(
				[{ name: 'Write', type: FIXTURE_TYPES.failWriter, parameters: { assignId: 'C1' } }, state(store, 'Commit', 'record', 'commit')],
				{ input: [change] },
			);
			expect(written.status).toBe('success');

			// The CRM's next read returns it with fields the CRM adds itself.
			const result = await runChain([detector(store, { includeUnchanged: true })], {
				input: [{ id: 'C1', email: 'ada@example.com', name: 'Ada', updated_at: '2026-03-01T10:00:00Z' }],
			});

			expect(result.json('Detect', 0)).toEqual([]);
			expect(result.json('Detect', 3).map((item) => [sync(item).op, sync(item).reason, sync(item).keys])).toEqual([
				['none', 'echo', { crm: 'C1', erp: 'E1' }],
			]);
		});
	});

	describe('invalid records', () => {
		it('sends records with a missing, invalid or duplicate key to Errors with the reason, and passes the rest', async () => {
			const store = freshStore();
			const input = [{ id: 1 }, { name: 'no key' }, { id: { deep: 1 } }, { id: 7, v: 1 }, { id: '7', v: 2 }, { id: 2 }];
			const result = await runChain([detector(store)], { input });

			expect(keys(result.json('Detect', 0))).toEqual(['1', '2']);
			const errors = result.json('Detect', 3);
			expect(errors.map((item) => [sync(item).reason, item.error])).toEqual([
				['missingKey', 'The record has no value in key field "id"'],
				['invalidKey', 'Key field "id" holds an object, not a text or number'],
				['duplicateKey', 'The key "7" appears more than once in this input'],
				['duplicateKey', 'The key "7" appears more than once in this input'],
			]);
			expect(errors[0]).toEqual(expect.objectContaining({ name: 'no key', description: expect.stringContaining('Key Field(s)') }));
			expect(result.output('Detect', 3).map((item) => item.pairedItem)).toEqual([{ item: 1 }, { item: 2 }, { item: 3 }, { item: 4 }]);
		});

		it('stops the run naming the first invalid record when the user chooses to', async () => {
			const store = freshStore();
			const result = await runChain([detector(store, { onInvalid: 'fail' })], { input: [{ id: 1 }, { id: '' }] });

			expect(result.status).toBe('error');
			expect(result.nodeError('Detect')?.message).toBe('1 record cannot be synced. The first, item 1: The record has no value in key field "id"');
		});

		it('joins composite keys deterministically', async () => {
			const store = freshStore();
			const result = await runChain([detector(store, { keyFields: 'tenant, ref' })], { input: [{ tenant: 'acme', ref: 7 }] });

			expect(keys(result.json('Detect', 0))).toEqual(['["acme","7"]']);
		});

		it('with Continue On Fail, sends every item of a misconfigured node to Errors, never on to Created', async () => {
			const result = await runChain([detector(freshStore(), { compare: 'only', compareFields: ' , ' }, { continueOnFail: true })], {
				input: [{ id: 1 }, { id: 2 }],
			});

			expect(result.status).toBe('success');
			expect(result.json('Detect', 0)).toEqual([]);
			expect(result.json('Detect', 3)).toEqual([
				{ id: 1, error: 'Fields to Compare is empty', description: expect.stringContaining('separated by commas') },
				{ id: 2, error: 'Fields to Compare is empty', description: expect.stringContaining('separated by commas') },
			]);
		});

		it('explains a missing Sync ID', async () => {
			const result = await runChain([detector(freshStore(), { syncId: '   ' })], { input: [{ id: 1 }] });

			expect(result.nodeError('Detect')?.message).toBe('The Sync ID is empty');
		});
	});

	describe('incremental mode', () => {
		const incremental = { mode: 'incremental', cursorField: 'updated_at', lookBackSeconds: 60 };
		const rows = [
			{ id: 1, name: 'Ada', updated_at: '2026-03-01T10:00:00Z' },
			{ id: 2, name: 'Grace', updated_at: '2026-03-01T10:05:00Z' },
		];

		async function storedCursor(store: Store) {
			const result = await runChain([state(store, 'Cursor', 'cursor', 'getCursor', { system: 'crm' })], { input: [{}] });
			return result.json('Cursor')[0].cursor;
		}

		it('puts the next read position on every item and leaves storing it to after the commit', async () => {
			const store = freshStore();
			const result = await runChain([detector(store, incremental)], { input: rows });

			expect(result.json('Detect', 0).map((item) => sync(item).cursor)).toEqual(['2026-03-01T10:04:00.000Z', '2026-03-01T10:04:00.000Z']);
			expect(await storedCursor(store)).toBeNull();
		});

		it('stores the cursor itself when told to', async () => {
			const store = freshStore();
			await runChain([detector(store, { ...incremental, advanceCursorAtEnd: true })], { input: rows });

			expect(await storedCursor(store)).toBe('2026-03-01T10:04:00.000Z');
		});

		it('stores the cursor itself when a run finds nothing to commit, so unchanged rows are not read forever', async () => {
			const store = freshStore();
			await detectAndCommit(store, rows, incremental);
			const touched = rows.map((row) => ({ ...row, updated_at: '2026-03-01T11:00:00Z' }));
			const again = await detectAndCommit(store, touched, { ...incremental, ignoreFields: 'updated_at' });

			expect([...again.created, ...again.updated]).toEqual([]);
			expect(await storedCursor(store)).toBe('2026-03-01T10:59:00.000Z');
		});

		it('sends a row without a cursor value to Errors', async () => {
			const result = await runChain([detector(freshStore(), incremental)], { input: [{ id: 1 }] });

			expect(sync(result.json('Detect', 3)[0]).reason).toBe('missingCursor');
		});

		it('holds back rows edited in the last seconds on their own output', async () => {
			const store = freshStore();
			const fresh = new Date().toISOString();
			const result = await runChain([detector(store, { ...incremental, holdBack: true, settleSeconds: 600, settleField: 'updated_at' })], {
				input: [...rows, { id: 3, name: 'Typing…', updated_at: fresh }],
			});

			expect(keys(result.json('Detect', 0))).toEqual(['1', '2']);
			expect(result.json('Detect', 3).map((item) => [sync(item).key, sync(item).reason])).toEqual([['3', 'settling']]);
		});

		it('reports a soft-deleted row of a synced record as deleted', async () => {
			const store = freshStore();
			await detectAndCommit(store, rows, incremental);
			const gone = { ...rows[0], deleted_at: '2026-03-02T00:00:00Z', updated_at: '2026-03-02T00:00:00Z' };
			const result = await detectAndCommit(store, [gone], { ...incremental, deletedField: 'deleted_at' });

			expect(keys(result.deleted)).toEqual(['1']);
		});
	});

	describe('event mode', () => {
		const secret = 'whsec_n8n_test';
		const credentials = {
			webhookSignatureApi: {
				secret,
				algorithm: 'sha256',
				headerName: 'X-Signature',
				encoding: 'hex',
				timestampHeader: 'X-Timestamp',
				toleranceSeconds: 300,
				payloadFormat: '{timestamp}.{body}',
			},
		};

		/** What n8n's Webhook node emits with "Raw Body" on: parsed JSON plus the exact bytes in binary `data`. */
		function webhookItem(body: IDataObject, options: { timestamp?: number; signWith?: string; rawBody?: string } = {}): INodeExecutionData {
			const raw = options.rawBody ?? JSON.stringify(body);
			const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
			const signature = createHmac('sha256', options.signWith ?? secret).update(`${timestamp}.${raw}`).digest('hex');
			return {
				json: { headers: { 'x-signature': signature, 'x-timestamp': timestamp, 'content-type': 'application/json' }, params: {}, query: {}, body },
				binary: { data: { data: Buffer.from(raw).toString('base64'), mimeType: 'application/json' } },
			};
		}

		const eventParameters = {
			mode: 'event',
			keyFields: 'objectId',
			recordField: 'body.object',
			opField: 'body.triggerName',
			verifySignature: true,
			includeUnchanged: true,
		};
		// Outputs: Created, Updated, Deleted, Unchanged, Rejected, Errors.

		it('turns a signed save event of an unknown record into Created, and of a linked one into Updated', async () => {
			const store = freshStore();
			const save = (name: string) => webhookItem({ triggerName: 'afterSave', object: { objectId: 'p1', name } });
			const parameters = eventParameters;
			const first = await runWorkflow({
				nodes: [startNode(), detector(store, parameters), state(store, 'Commit', 'record', 'commit')],
				connections: connect(['Start', 'Detect'], { from: 'Detect', to: 'Commit', output: 0 }),
				inputItems: [save('Ada')],
				credentials,
			});
			expect(first.json('Detect', 0)).toEqual([{ objectId: 'p1', name: 'Ada', _sync: expect.objectContaining({ op: 'create', key: 'p1' }) }]);
			expect(first.output('Detect', 0)[0].binary).toBeUndefined();

			const second = await runChain([detector(store, parameters)], { inputItems: [save('Ada L')], credentials });
			expect(sync(second.json('Detect', 1)[0])).toEqual(expect.objectContaining({ op: 'update', changedFields: ['name'] }));
		});

		it('sends forged, stale and unsigned events to Rejected with the reason, never to Created', async () => {
			const store = freshStore();
			const body = { triggerName: 'afterSave', object: { objectId: 'p1', name: 'Ada' } };
			const unsigned = webhookItem(body);
			delete (unsigned.json.headers as IDataObject)['x-signature'];
			// Signed as sent, then changed on the way.
			const tampered = webhookItem(body);
			tampered.binary = { data: { data: Buffer.from(JSON.stringify(body).replace('Ada', 'Eve')).toString('base64'), mimeType: 'application/json' } };
			const result = await runChain([detector(store, eventParameters)], {
				inputItems: [
					webhookItem(body, { signWith: 'guessed' }),
					webhookItem(body, { timestamp: Math.floor(Date.now() / 1000) - 3600 }),
					unsigned,
					tampered,
				],
				credentials,
			});

			expect(result.json('Detect', 0)).toEqual([]);
			const rejected = result.json('Detect', 4);
			expect(rejected.map((item) => sync(item).reason)).toEqual(['badSignature', 'staleTimestamp', 'missingSignature', 'badSignature']);
			expect(rejected[1].error).toMatch(/^The request was signed \d+ s ago, outside the 300 s tolerance$/);
			expect(result.output('Detect', 4)[0].binary?.data).toBeDefined();
		});

		it('rejects a replay of an accepted event inside the tolerance window', async () => {
			const store = freshStore();
			const event = webhookItem({ triggerName: 'afterSave', object: { objectId: 'p1', name: 'Ada' } });
			const first = await runChain([detector(store, eventParameters)], { inputItems: [event], credentials });
			const replay = await runChain([detector(store, eventParameters)], { inputItems: [event], credentials });

			expect(first.json('Detect', 0)).toHaveLength(1);
			expect(replay.json('Detect', 0)).toEqual([]);
			expect(replay.json('Detect', 4).map((item) => sync(item).reason)).toEqual(['replay']);
		});

		it('sends an event whose name is not mapped to Errors, and obeys the mapping', async () => {
			const store = freshStore();
			const item = (triggerName: string) => ({ body: { triggerName, object: { objectId: 'p1' } } });
			const result = await runChain(
				[
					detector(store, {
						mode: 'event',
						recordField: 'body.object',
						opField: 'body.triggerName',
						keyFields: 'objectId',
						includeUnchanged: true,
						eventMapping: { mappings: [{ eventName: 'beforeFind', op: 'ignore' }] },
					}),
				],
				{ input: [item('afterLogin'), item('beforeFind')] },
			);

			// Without signature checks there is no Rejected output: Created, Updated, Deleted, Unchanged, Errors.
			expect(result.json('Detect', 4).map((error) => error.error)).toEqual(['The event "afterLogin" is not mapped to an operation']);
			expect(result.json('Detect', 3).map((unchanged) => sync(unchanged).reason)).toEqual(['ignored']);
		});

		it('sends events its own writer marked to Unchanged as own writes, even before the record is linked', async () => {
			const store = freshStore();
			const ownWrite = "={{ $json.body.context?.syncWriter === 'contacts' }}";
			const save = (objectId: string, context?: IDataObject) => ({ body: { triggerName: 'afterSave', object: { objectId, name: 'Ada' }, ...(context ? { context } : {}) } });
			const parameters = { mode: 'event', recordField: 'body.object', opField: 'body.triggerName', keyFields: 'objectId', ownWrite };
			const input = [save('p1', { syncWriter: 'contacts' }), save('p2'), save('p3', { syncWriter: 'billing' })];

			const shown = await runChain([detector(store, { ...parameters, includeUnchanged: true })], { input });
			expect(keys(shown.json('Detect', 0))).toEqual(['p2', 'p3']);
			expect(shown.json('Detect', 3).map((item) => [sync(item).key, sync(item).op, sync(item).reason])).toEqual([['p1', 'none', 'ownWrite']]);

			const hidden = await runChain([detector(store, parameters)], { input });
			expect(keys(hidden.json('Detect', 0))).toEqual(['p2', 'p3']);
			expect(hidden.nodeRuns('Detect')[0].hints?.map((hint) => hint.message)).toEqual([
				'1 unchanged record (1 of them echoes of this sync\'s own writes) not emitted, because "Include Unchanged" is off.',
			]);
		});

		it('stops the run on an unmapped event when the user chose to stop on invalid records', async () => {
			const result = await runChain(
				[detector(freshStore(), { mode: 'event', recordField: 'body', opField: 'event', onInvalid: 'fail' })],
				{ input: [{ event: 'created', body: { id: 1 } }, { event: 'archived', body: { id: 2 } }] },
			);

			expect(result.status).toBe('error');
			expect(result.nodeError('Detect')?.message).toBe('1 record cannot be synced. The first, item 1: The event "archived" is not mapped to an operation');
		});

		it('reports a delete event of a synced record as Deleted, with a fixed operation too', async () => {
			const store = freshStore();
			await detectAndCommit(store, [{ id: 9, name: 'Ada' }]);
			const result = await runChain([detector(store, { mode: 'event', recordField: '', opSource: 'fixed', fixedOp: 'delete' })], {
				input: [{ id: 9, name: 'Ada' }],
			});

			expect(sync(result.json('Detect', 2)[0])).toEqual(expect.objectContaining({ op: 'delete', key: '9' }));
		});

		it('checks signatures against the JSON body when no raw body is there, and says why that is fragile', async () => {
			const store = freshStore();
			const event = webhookItem({ triggerName: 'afterSave', object: { objectId: 'p1' } });
			delete event.binary;
			const result = await runChain([detector(store, eventParameters)], { inputItems: [event], credentials });

			expect(result.json('Detect', 0)).toHaveLength(1);
			expect(result.nodeRuns('Detect')[0].hints?.map((hint) => hint.message)).toEqual([
				expect.stringContaining('Turn on "Raw Body"'),
			]);
		});

		it('tests a Webhook Signature credential by signing and verifying a sample', async () => {
			const test = new ChangeDetector().methods.credentialTest.webhookSignatureCheck;
			const run = async (data: IDataObject) =>
				await test.call({} as ICredentialTestFunctions, { id: '1', name: 'sig', type: 'webhookSignatureApi', data } as ICredentialsDecrypted);

			expect(await run(credentials.webhookSignatureApi)).toEqual({ status: 'OK', message: expect.stringContaining('passes the check') });
			expect(await run({ ...credentials.webhookSignatureApi, secret: '', payloadFormat: '{timestamp}' })).toEqual({
				status: 'Error',
				message: 'The secret is empty. The signed payload format must contain {body}.',
			});
		});
	});

	describe('metadata placement', () => {
		it('keeps the records clean for a write node when the metadata is hidden', async () => {
			const store = freshStore();
			const result = await runChain([detector(store, { metadataPlacement: 'hidden' })], { input: [{ id: 1, name: 'Ada' }] });
			const [item] = result.output('Detect', 0);

			expect(item.json).toEqual({ id: 1, name: 'Ada' });
			expect(item.binary?._sync).toBeDefined();
		});
	});

	describe('with the PostgreSQL store', () => {
		it('finds creates, updates and deletes across runs, as with the built-in store', async () => {
			const { store, credentials } = postgresStore();
			expect(keys((await detectAndCommit(store, contacts, {}, credentials)).created)).toEqual(['1', '2', '3', '4', '5']);

			const next = contacts.filter((contact) => contact.id !== 4).map((contact) => (contact.id === 1 ? { ...contact, name: 'Ada L' } : contact));
			const second = await detectAndCommit(store, [...next, { id: 6, name: 'Alan', email: 'alan@example.com' }], { fullSnapshot: true }, credentials);

			expect(keys(second.created)).toEqual(['6']);
			expect(keys(second.updated)).toEqual(['1']);
			expect(keys(second.deleted)).toEqual(['4']);
		});

		it('fails with the store\'s reason when the store cannot be reached, or sends every item to Errors with Continue On Fail', async () => {
			const { store, credentials } = postgresStore();
			const unreachable = { syncStatePostgresApi: { ...credentials.syncStatePostgresApi, port: 1 } };
			const failed = await runChain([detector(store)], { input: [{ id: 1 }], credentials: unreachable });
			const continued = await runChain([detector(store, {}, { continueOnFail: true })], { input: [{ id: 1 }, { id: 2 }], credentials: unreachable });

			expect(failed.status).toBe('error');
			expect(failed.nodeError('Detect')?.message).toContain('127.0.0.1:1');
			expect(continued.json('Detect', 3)).toEqual([
				expect.objectContaining({ id: 1, error: expect.stringContaining('127.0.0.1:1') }),
				expect.objectContaining({ id: 2, error: expect.stringContaining('127.0.0.1:1') }),
			]);
		});
	});

	if (vmModulesEnabled()) {
		it("builds its outputs in n8n 2.41's default isolated-vm expression engine too", async () => {
			const result = await runChain([detector(freshStore(), { includeUnchanged: true, holdBack: true, settleField: 'at' })], {
				input: [{ id: 1, at: '2020-01-01T00:00:00Z' }],
				expressionEngine: 'vm',
			});

			expect(result.run.data.resultData.runData.Detect[0].data?.main).toHaveLength(6);
			expect(keys(result.json('Detect', 0))).toEqual(['1']);
		});
	}

	describe('accounting', () => {
		it('puts every input item in exactly one output, whatever the keys (property)', async () => {
			const store = freshStore();
			const hostile = fc.constantFrom('__proto__', 'constructor', '_sync', 'Jos\u00e9', '\u{1F600}', '', null, 1, '1', 2);
			await fc.assert(
				fc.asyncProperty(fc.array(fc.record({ id: hostile, name: fc.string({ maxLength: 3 }) }, { requiredKeys: ['name'] }), { minLength: 1, maxLength: 12 }), async (records) => {
					const result = await runChain([detector(store, { includeUnchanged: true })], { input: records });
					const paired = [0, 1, 2, 3, 4]
						.flatMap((output) => result.output('Detect', output))
						.map((item) => (item.pairedItem as { item: number }).item)
						.sort((a, b) => a - b);

					expect(paired).toEqual(records.map((_record, index) => index));
				}),
				{ numRuns: 15 },
			);
		});
	});
});
