import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import { configuredOutputs } from '../../nodes/FieldMapper/helpers/outputs';
import { FIXTURE_TYPES, packageNodeType, runChain, vmModulesEnabled, type NodeSpec } from '../harness';

const MAPPER = packageNodeType('fieldMapper');

/** The rule editor's value for a list of rules, as n8n stores a fixedCollection. */
function uiRules(...rules: IDataObject[]): IDataObject {
	return {
		rule: rules.map(({ transforms, ...rule }) => (transforms ? { ...rule, transforms: { transform: transforms } } : rule)),
	};
}

function mapper(name: string, parameters: IDataObject, extra: Partial<NodeSpec> = {}): NodeSpec {
	return { name, type: MAPPER, parameters: { systemA: 'crm', systemB: 'erp', ...parameters }, ...extra };
}

const contactRules = uiRules(
	{ source: 'Customer_ID', target: 'ClientID', type: 'integer', sourceType: 'string', required: true },
	{ source: 'email', target: 'mail', type: 'string', transforms: [{ type: 'trim' }, { type: 'lowercase' }] },
	{ source: 'status', target: 'state', transforms: [{ type: 'valueMap', map: '{"Active": "A", "Inactive": "I"}', fallback: 'error' }] },
	{ source: 'vip', target: 'flags.vip', type: 'boolean', trueWords: 'TRUE', falseWords: 'FALSE', writeTrue: 'Y', writeFalse: 'N' },
	{ source: 'joined', target: 'joined_on', type: 'date', dateFrom: 'MM/dd/yyyy', dateTo: 'iso' },
);

function syncMeta(key: string, op: string, extra: IDataObject = {}): IDataObject {
	return { syncId: 'contacts', system: 'crm', key, op, hash: `h-${key}`, ...extra };
}

function decodedMeta(item: INodeExecutionData): IDataObject {
	const binary = item.binary?._sync;
	expect(binary).toBeDefined();
	return JSON.parse(Buffer.from(binary!.data, 'base64').toString('utf8')) as IDataObject;
}

describe('Field Mapper node', () => {
	describe('Map', () => {
		it('translates each record into the target schema and sends records that fail to Invalid with the reasons', async () => {
			const result = await runChain([mapper('Map', { rules: contactRules })], {
				input: [
					{ Customer_ID: '17', email: ' Ada@Example.com ', status: 'Active', vip: 'TRUE', joined: '03/11/2026', notes: 'not mapped' },
					{ Customer_ID: 'x17', email: 'grace@example.com', status: 'Paused', vip: 'maybe' },
					{ email: 'linus@example.com', status: 'Inactive', vip: 'FALSE' },
				],
			});

			expect(result.status).toBe('success');
			expect(result.output('Map', 0)).toEqual([
				{ json: { ClientID: 17, mail: 'ada@example.com', state: 'A', flags: { vip: 'Y' }, joined_on: '2026-03-11' }, pairedItem: { item: 0 } },
			]);
			const invalid = result.output('Map', 1);
			expect(invalid.map((item) => item.pairedItem)).toEqual([{ item: 1 }, { item: 2 }]);
			expect(invalid[0].json).toEqual({
				Customer_ID: 'x17',
				email: 'grace@example.com',
				status: 'Paused',
				vip: 'maybe',
				errors: [
					{ field: 'Customer_ID', value: 'x17', rule: 'Customer_ID → ClientID', code: 'type', message: '"x17" is not a number' },
					{ field: 'status', value: 'Paused', rule: 'status → state', code: 'valueMap', message: '"Paused" is not in the value map ("Active", "Inactive")' },
					{ field: 'vip', value: 'maybe', rule: 'vip → flags.vip', code: 'type', message: '"maybe" is not a yes/no value; expected "TRUE" or "FALSE"' },
				],
			});
			expect(invalid[1].json.errors).toEqual([
				{ field: 'Customer_ID', value: null, rule: 'Customer_ID → ClientID', code: 'required', message: '"Customer_ID" is required but missing' },
			]);
		});

		it('inverts the same rules when the direction is B to A', async () => {
			const result = await runChain([mapper('Map Back', { rules: contactRules, direction: 'bToA' })], {
				input: [{ ClientID: 17, mail: 'ada@example.com', state: 'I', flags: { vip: 'N' }, joined_on: '2026-03-11' }],
			});

			expect(result.json('Map Back', 0)).toEqual([{ Customer_ID: '17', email: 'ada@example.com', status: 'Inactive', vip: 'FALSE', joined: '03/11/2026' }]);
		});

		it('keeps unmapped fields when asked to, but never the sync metadata as a field', async () => {
			const result = await runChain(
				[mapper('Map', { rules: uiRules({ source: 'email', target: 'mail' }), options: { passThroughUnmapped: true }, metadataPlacement: 'json' })],
				{ input: [{ email: 'a@b.c', phone: '555', _sync: syncMeta('c1', 'update') }] },
			);

			const [item] = result.json('Map', 0);
			expect(item).toEqual({ mail: 'a@b.c', phone: '555', _sync: expect.objectContaining({ sourceFields: ['email', 'phone'] }) });
		});

		it('evaluates an n8n expression for each item', async () => {
			const result = await runChain(
				[
					mapper('Map', {
						rules: uiRules(
							{ source: 'first', target: 'name', transforms: [{ type: 'expression', expression: "={{ $json.first + ' ' + $json.last }}" }, { type: 'uppercase' }], direction: 'aToB' },
							{ source: 'cents', target: 'amount', transforms: [{ type: 'expression', expression: '={{ $json.cents / 100 }}', inverse: '={{ Math.round($json.amount * 100) }}' }] },
						),
					}),
				],
				{ input: [{ first: 'Ada', last: 'Lovelace', cents: 1250 }, { first: 'Grace', last: 'Hopper', cents: 5 }] },
			);

			expect(result.json('Map', 0)).toEqual([
				{ name: 'ADA LOVELACE', amount: 12.5 },
				{ name: 'GRACE HOPPER', amount: 0.05 },
			]);
		});

		const vmRun = () =>
			runChain([mapper('Map', { rules: uiRules({ target: 'name', direction: 'aToB', transforms: [{ type: 'expression', expression: '={{ $json.first.toUpperCase() }}' }] }) })], {
				input: [{ first: 'Ada' }, { first: 'Grace' }],
				expressionEngine: 'vm',
			});
		if (vmModulesEnabled()) {
			it("evaluates the expressions in n8n 2.41's default isolated-vm engine too", async () => {
				expect((await vmRun()).json('Map', 0)).toEqual([{ name: 'ADA' }, { name: 'GRACE' }]);
			});
		} else {
			it('needs NODE_OPTIONS=--experimental-vm-modules to try the isolated-vm engine', async () => {
				await expect(vmRun()).rejects.toThrow('NODE_OPTIONS=--experimental-vm-modules');
			});
		}

		it('sends an item whose expression fails to Invalid, with the error', async () => {
			const result = await runChain(
				[mapper('Map', { rules: uiRules({ source: 'a', target: 'b', direction: 'aToB', transforms: [{ type: 'expression', expression: "={{ $('No Such Node').item.json.a }}" }] }) })],
				{ input: [{ a: 1 }] },
			);

			expect(result.output('Map', 0)).toEqual([]);
			expect(result.json('Map', 1)[0].errors).toEqual([expect.objectContaining({ field: 'a', code: 'expression', message: expect.stringContaining("The expression $('No Such Node').item.json.a failed: ") })]);
		});
	});

	describe('rules as JSON', () => {
		const document = {
			version: 1,
			rules: [
				{ source: 'Customer_ID', target: 'ClientID', type: 'integer', sourceType: 'string' },
				{ source: 'status', target: 'state', transforms: [{ type: 'valueMap', map: { Active: 'A', Inactive: 'I' } }] },
				{ target: 'label', direction: 'aToB', transforms: [{ type: 'expression', expression: "$json.status + ' customer'" }] },
			],
		};

		it('serves both directions from one definition: the B to A node reads the A to B node\'s rules through an expression', async () => {
			const result = await runChain(
				[
					mapper('CRM to ERP', { rulesSource: 'json', rulesJson: JSON.stringify(document) }),
					mapper('ERP to CRM', { rulesSource: 'json', rulesJson: "={{ $('CRM to ERP').params.rulesJson }}", direction: 'bToA' }),
				],
				{ input: [{ Customer_ID: '7', status: 'Active' }, { Customer_ID: '8', status: 'Inactive' }] },
			);

			expect(result.json('CRM to ERP', 0)).toEqual([
				{ ClientID: 7, state: 'A', label: 'Active customer' },
				{ ClientID: 8, state: 'I', label: 'Inactive customer' },
			]);
			expect(result.json('ERP to CRM', 0)).toEqual([
				{ Customer_ID: '7', status: 'Active' },
				{ Customer_ID: '8', status: 'Inactive' },
			]);
		});

		it('takes a rule set that an expression returns as an object', async () => {
			const result = await runChain(
				[mapper('Map', { rulesSource: 'json', rulesJson: "={{ { version: 1, rules: [{ source: 'a', target: 'b', type: 'number' }] } }}" })],
				{ input: [{ a: '1.5' }] },
			);

			expect(result.json('Map', 0)).toEqual([{ b: 1.5 }]);
		});

		it('refuses rules written for other systems, and says how to fix swapped names', async () => {
			const result = await runChain([mapper('Map', { rulesSource: 'json', rulesJson: JSON.stringify({ ...document, systemA: 'erp', systemB: 'crm' }) })], {
				input: [{ Customer_ID: '7' }],
			});

			expect(result.status).toBe('error');
			expect(result.nodeError('Map')?.message).toContain('The rules are written from "erp" to "crm", but this node has System A "crm" and System B "erp". Swap the system names');
		});
	});

	describe('sync metadata', () => {
		const rules = uiRules({ source: 'email', target: 'mail' }, { source: 'address.city', target: 'city' });

		it('keeps the mapped records clean and carries the metadata hidden, with the target and its key', async () => {
			const result = await runChain([mapper('Map', { rules })], {
				input: [
					{ email: 'a@b.c', address: { city: 'Berlin' }, _sync: syncMeta('c1', 'update', { keys: { crm: 'c1', erp: 'e9' }, entityId: 'e_1' }) },
					{ email: 'new@b.c', _sync: syncMeta('c2', 'create') },
				],
			});

			const mapped = result.output('Map', 0);
			expect(mapped.map((item) => item.json)).toEqual([{ mail: 'a@b.c', city: 'Berlin' }, { mail: 'new@b.c' }]);
			expect(decodedMeta(mapped[0])).toEqual({
				syncId: 'contacts',
				system: 'crm',
				key: 'c1',
				op: 'update',
				hash: 'h-c1',
				keys: { crm: 'c1', erp: 'e9' },
				entityId: 'e_1',
				sourceFields: ['email', 'address.city'],
				target: { system: 'erp', key: 'e9', op: 'update' },
			});
			expect(decodedMeta(mapped[1]).target).toEqual({ system: 'erp', key: null, op: 'create' });
		});

		it('shows the metadata in JSON when asked, and passes unchanged records on with op none and no target', async () => {
			const result = await runChain([mapper('Map', { rules, metadataPlacement: 'json' })], {
				input: [{ email: 'same@b.c', _sync: syncMeta('c3', 'none', { reason: 'unchanged', keys: { crm: 'c3', erp: 'e3' } }) }],
			});

			const [item] = result.output('Map', 0);
			expect(item.binary).toBeUndefined();
			expect(item.json).toEqual({
				mail: 'same@b.c',
				_sync: { syncId: 'contacts', system: 'crm', key: 'c3', op: 'none', reason: 'unchanged', hash: 'h-c3', keys: { crm: 'c3', erp: 'e3' }, sourceFields: ['email', 'address.city'] },
			});
		});

		it('finds hidden metadata from an upstream node, even after a node that dropped the binary', async () => {
			const result = await runChain(
				[
					mapper('CRM to ERP', { rules: uiRules({ source: 'email', target: 'mail' }) }),
					{ name: 'Edit', type: FIXTURE_TYPES.failWriter },
					mapper('Check', { rules: uiRules({ source: 'mail', target: 'mail' }), systemA: 'crm', systemB: 'erp', metadataPlacement: 'json' }),
				],
				{ input: [{ email: 'a@b.c', _sync: syncMeta('c1', 'update', { keys: { erp: 'e1' } }) }] },
			);

			expect(result.output('Edit', 0)[0].binary).toBeUndefined();
			expect(result.json('Check', 0)).toEqual([
				{ mail: 'a@b.c', _sync: expect.objectContaining({ key: 'c1', target: { system: 'erp', key: 'e1', op: 'update' }, sourceFields: ['mail'] }) },
			]);
		});

		it('puts the target key into the record for updates and deletes, and marks an update without one invalid', async () => {
			const result = await runChain([mapper('Map', { rules, options: { targetKeyField: 'id' } })], {
				input: [
					{ email: 'a@b.c', _sync: syncMeta('c1', 'update', { keys: { crm: 'c1', erp: '41' } }) },
					{ _sync: syncMeta('c2', 'delete', { keys: { erp: '42' } }) },
					{ email: 'new@b.c', _sync: syncMeta('c3', 'create') },
					{ email: 'lost@b.c', _sync: syncMeta('c4', 'update') },
				],
			});

			expect(result.json('Map', 0)).toEqual([{ mail: 'a@b.c', id: '41' }, { id: '42' }, { mail: 'new@b.c' }]);
			const [invalid] = result.json('Map', 1);
			expect(invalid._sync).toEqual(syncMeta('c4', 'update'));
			expect(invalid.errors).toEqual([
				{
					field: 'id',
					value: null,
					rule: 'Put Target Key In Field',
					code: 'targetKey',
					message: 'This update has no key in "erp", so the write cannot address the record. Link the records first (Sync State > Link), or let a Conflict Resolver pair them.',
				},
			]);
		});

		it('does not require fields of a delete, which needs only its key', async () => {
			const result = await runChain([mapper('Map', { rules: uiRules({ source: 'email', target: 'mail', required: true }), options: { targetKeyField: 'id' } })], {
				input: [{ _sync: syncMeta('c2', 'delete', { keys: { erp: '42' } }) }, { _sync: syncMeta('c3', 'update', { keys: { erp: '43' } }) }],
			});

			expect(result.json('Map', 0)).toEqual([{ id: '42' }]);
			expect((result.json('Map', 1)[0].errors as IDataObject[])[0].code).toBe('required');
		});

		it('marks a record from the other system invalid and suggests the other direction', async () => {
			const result = await runChain([mapper('Map', { rules })], { input: [{ mail: 'a@b.c', _sync: { ...syncMeta('e1', 'update'), system: 'erp' } }] });

			expect(result.json('Map', 1)[0].errors).toEqual([
				{
					field: '_sync.system',
					value: 'erp',
					rule: 'crm → erp',
					code: 'system',
					message: 'The record comes from "erp", but this node maps from "crm". Set "Direction" to the other way round.',
				},
			]);
		});
	});

	describe('writes decided by the Conflict Resolver', () => {
		const rules = uiRules({ source: 'email', target: 'mail' }, { source: 'name', target: 'full_name', required: true });
		/** Maps ERP records back into the CRM, as after the Resolver's Apply to X output. */
		const backToCrm = (parameters: IDataObject = {}) => mapper('Map Back', { rules, direction: 'bToA', ...parameters });

		it("keeps the Resolver's target, op and key, even when the metadata names the change's origin in the CRM", async () => {
			const result = await runChain([backToCrm({ options: { targetKeyField: 'objectId' } })], {
				input: [
					// Both sides changed: the update of the CRM names the CRM's own change.
					{ mail: 'a@b.c', full_name: 'Ada', _sync: syncMeta('c1', 'update', { keys: { crm: 'c1', erp: 'E1' }, target: { system: 'crm', key: 'c1', op: 'update' } }) },
					// Deleted in the CRM, changed in the ERP: the record is created again, though the ERP's change was an update.
					{
						mail: 'g@b.c',
						full_name: 'Grace',
						_sync: { ...syncMeta('E2', 'update', { keys: { erp: 'E2' }, replacesKey: 'c2', cursor: '2030-01-01T00:00:00.000Z' }), system: 'erp', target: { system: 'crm', key: null, op: 'create' } },
					},
				],
			});

			expect(result.output('Map Back', 1)).toEqual([]);
			const [update, create] = result.output('Map Back', 0);
			expect(update.json).toEqual({ email: 'a@b.c', name: 'Ada', objectId: 'c1' });
			expect(decodedMeta(update)).toMatchObject({ system: 'crm', key: 'c1', target: { system: 'crm', key: 'c1', op: 'update' } });
			// The source fields describe the record the metadata names, which is not this one.
			expect(decodedMeta(update).sourceFields).toBeUndefined();
			expect(create.json).toEqual({ email: 'g@b.c', name: 'Grace' });
			expect(decodedMeta(create)).toMatchObject({
				system: 'erp',
				key: 'E2',
				op: 'update',
				target: { system: 'crm', key: null, op: 'create' },
				replacesKey: 'c2',
				cursor: '2030-01-01T00:00:00.000Z',
				sourceFields: ['mail', 'full_name'],
			});
		});

		it('still refuses a record prepared for a write the other way round', async () => {
			const result = await runChain([mapper('Map', { rules })], {
				input: [{ mail: 'a@b.c', _sync: syncMeta('c1', 'update', { target: { system: 'crm', key: 'c1', op: 'update' } }) }],
			});

			expect(result.output('Map', 0)).toEqual([]);
			expect((result.json('Map', 1)[0].errors as IDataObject[])[0]).toMatchObject({
				code: 'system',
				message: 'The record is to be written to "crm", but this node maps from "crm" to "erp". Set "Direction" to the other way round.',
			});
		});

		it('maps a partial update without requiring or defaulting the fields it leaves alone', async () => {
			const withDefault = uiRules({ source: 'email', target: 'mail' }, { source: 'name', target: 'full_name', required: true }, { source: 'status', target: 'state', transforms: [{ type: 'default', value: 'new' }] });
			const result = await runChain([mapper('Map Back', { rules: withDefault, direction: 'bToA' })], {
				input: [{ mail: 'new@b.c', _sync: { ...syncMeta('E1', 'update', { keys: { crm: 'c1' }, partial: true }), system: 'erp' } }],
			});

			expect(result.json('Map Back', 0)).toEqual([{ email: 'new@b.c' }]);
			expect(decodedMeta(result.output('Map Back', 0)[0])).toMatchObject({ partial: true, target: { system: 'crm', key: 'c1', op: 'update' } });
		});
	});

	describe('Split by Operation', () => {
		it('names its outputs Create, Update, Delete and Invalid, in that order, only for Map', () => {
			const names = (parameters: Parameters<typeof configuredOutputs>[0]) => configuredOutputs(parameters).map((output) => output.displayName);
			expect(names({ operation: 'map', splitByOperation: true })).toEqual(['Create', 'Update', 'Delete', 'Invalid']);
			expect(names({ operation: 'map' })).toEqual(['Mapped', 'Invalid']);
			expect(names({ operation: 'validate', splitByOperation: true })).toEqual(['Mapped', 'Invalid']);
		});

		it('sends each write to the output of its op, and a record with nothing to write to Invalid', async () => {
			const rules = uiRules({ source: 'email', target: 'mail' });
			const result = await runChain([mapper('Map', { rules, splitByOperation: true, options: { targetKeyField: 'id' } })], {
				input: [
					{ email: 'd@b.c', _sync: syncMeta('c4', 'delete', { keys: { erp: 'e4' } }) },
					{ email: 'a@b.c', _sync: syncMeta('c1', 'create') },
					{ email: 'u@b.c', _sync: syncMeta('c2', 'update', { keys: { erp: 'e2' } }) },
					{ email: 'same@b.c', _sync: syncMeta('c3', 'none', { reason: 'unchanged' }) },
					{ email: 'plain@b.c' },
				],
			});

			expect(result.status).toBe('success');
			expect(result.output('Map', 0).map((item) => [item.json, item.pairedItem])).toEqual([[{ mail: 'a@b.c' }, { item: 1 }]]);
			expect(result.output('Map', 1).map((item) => [item.json, item.pairedItem])).toEqual([[{ mail: 'u@b.c', id: 'e2' }, { item: 2 }]]);
			expect(result.output('Map', 2).map((item) => [item.json, item.pairedItem])).toEqual([[{ mail: 'd@b.c', id: 'e4' }, { item: 0 }]]);
			// The write nodes never see metadata; it rides along hidden.
			expect(decodedMeta(result.output('Map', 2)[0]).target).toEqual({ system: 'erp', key: 'e4', op: 'delete' });
			const invalid = result.json('Map', 3);
			expect(invalid.map((item) => (item.errors as IDataObject[])[0].code)).toEqual(['operation', 'operation']);
			expect(invalid.map((item) => item.email)).toEqual(['same@b.c', 'plain@b.c']);
		});
	});

	describe('Validate', () => {
		it('outputs one report about the samples and writes nothing', async () => {
			const result = await runChain([mapper('Validate', { operation: 'validate', rules: contactRules })], {
				input: [
					{ Customer_ID: '1', email: 'a@b.c', status: 'Active', vip: 'TRUE', joined: '03/11/2026' },
					{ Customer_ID: 'one', email: 'b@b.c', status: 'Gone', vip: 'TRUE', joined: '2026-03-11' },
				],
			});

			expect(result.output('Validate', 1)).toEqual([]);
			const report = result.output('Validate', 0);
			expect(report).toHaveLength(1);
			expect(report[0].pairedItem).toEqual([{ item: 0 }, { item: 1 }]);
			expect(report[0].json).toEqual(
				expect.objectContaining({ valid: false, direction: 'aToB', from: 'crm', to: 'erp', rules: 5, samples: 2, invalidSamples: 1, errors: 3 }),
			);
			expect((report[0].json.problems as IDataObject[]).map((problem) => [problem.code, problem.field, problem.items])).toEqual([
				['type', 'Customer_ID', [1]],
				['valueMap', 'status', [1]],
				['type', 'joined', [1]],
			]);
		});

		it('reports rules that cannot run from B to A', async () => {
			const result = await runChain(
				[mapper('Validate', { operation: 'validate', direction: 'bToA', rules: uiRules({ source: 'a', target: 'b', transforms: [{ type: 'expression', expression: '={{ $json.a }}' }] }) })],
				{ input: [{ b: 1 }] },
			);

			expect(result.json('Validate', 0)[0]).toEqual(
				expect.objectContaining({ valid: false, problems: [expect.objectContaining({ severity: 'error', code: 'notInvertible', ruleNumber: 1 })] }),
			);
		});
	});

	describe('Export Rules', () => {
		it('outputs the rules from the editor as a JSON document that another Field Mapper reads', async () => {
			const result = await runChain([mapper('Export', { operation: 'exportRules', rules: contactRules })], { input: [{ any: 'item' }] });

			expect(result.json('Export', 0)).toEqual([
				{
					version: 1,
					systemA: 'crm',
					systemB: 'erp',
					rules: [
						{ source: 'Customer_ID', target: 'ClientID', type: 'integer', sourceType: 'string', required: true },
						{ source: 'email', target: 'mail', type: 'string', transforms: [{ type: 'trim' }, { type: 'lowercase' }] },
						{ source: 'status', target: 'state', type: 'keep', transforms: [{ type: 'valueMap', map: { Active: 'A', Inactive: 'I' }, fallback: 'error' }] },
						{ source: 'vip', target: 'flags.vip', type: 'boolean', boolean: { true: ['TRUE'], false: ['FALSE'], writeTrue: 'Y', writeFalse: 'N' } },
						{ source: 'joined', target: 'joined_on', type: 'date', date: { from: 'MM/dd/yyyy' } },
					],
				},
			]);
		});

		it('exports an expression transform as bare code, so the document also works inside an expression', async () => {
			const result = await runChain(
				[mapper('Export', { operation: 'exportRules', rules: uiRules({ target: 'name', direction: 'aToB', transforms: [{ type: 'expression', expression: "={{ $json.first + ' ' + $json.last }}" }] }) })],
				{ input: [{}] },
			);

			expect((result.json('Export', 0)[0].rules as IDataObject[])[0].transforms).toEqual([{ type: 'expression', expression: "$json.first + ' ' + $json.last" }]);
		});
	});

	describe('errors', () => {
		const hostile = uiRules({ source: 'name', target: 'constructor.prototype.isAdmin' });

		it('stops with a message that names the rule and what to change', async () => {
			const result = await runChain([mapper('Map', { rules: hostile })], { input: [{ name: 'x' }] });

			expect(result.status).toBe('error');
			const error = result.nodeError('Map') as (Error & { description?: string }) | undefined;
			expect(error?.message).toBe(
				'The mapping rules have a problem: Rule 1 (name → constructor.prototype.isAdmin): The target path "constructor.prototype.isAdmin" uses the reserved name "constructor", which could change every object in n8n',
			);
			expect(error?.description).toBe('Fix the rules named above. Run the Validate operation on sample items to see every problem at once.');
			expect(({} as IDataObject).isAdmin).toBeUndefined();
		});

		it('with Continue On Fail, sends every item to Invalid with the error instead', async () => {
			const result = await runChain([mapper('Map', { rules: hostile }, { continueOnFail: true })], { input: [{ name: 'x' }, { name: 'y' }] });

			expect(result.status).toBe('success');
			expect(result.output('Map', 0)).toEqual([]);
			expect(result.json('Map', 1)).toEqual([
				expect.objectContaining({ name: 'x', error: expect.stringContaining('The mapping rules have a problem'), description: expect.any(String) }),
				expect.objectContaining({ name: 'y', error: expect.stringContaining('The mapping rules have a problem') }),
			]);
		});

		it('with Continue On Fail and Split by Operation, still sends the items to Invalid, the last output', async () => {
			const result = await runChain([mapper('Map', { rules: hostile, splitByOperation: true }, { continueOnFail: true })], { input: [{ name: 'x' }] });

			expect([0, 1, 2].map((output) => result.output('Map', output))).toEqual([[], [], []]);
			expect(result.json('Map', 3)).toEqual([expect.objectContaining({ name: 'x', error: expect.stringContaining('The mapping rules have a problem') })]);
		});

		it('asks for both system names', async () => {
			const result = await runChain([mapper('Map', { rules: contactRules, systemB: '  ' })], { input: [{}] });

			expect(result.nodeError('Map')?.message).toBe('System B is empty');
		});
	});
});
