import fc from 'fast-check';
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import { packageNodeType, runChain, type NodeSpec, type RunResult } from '../harness';
import { assertNoPollution, hostileBatch, prototypeSnapshot, type HostileRecordOptions } from '../support/fuzzRecords';
import { useNodeTestStores } from '../support/nodeStores';

/**
 * Each of the five nodes runs inside n8n's real WorkflowExecute on hostile items. Whatever comes
 * in, a node either answers every item (count in == count out over its outputs) or stops the run
 * with a NodeOperationError that says what to change; and Object.prototype stays untouched.
 */

const SYNC_ID = 'contacts';
const RUNS = 40;
const { freshBuiltinStore, tempDir } = useNodeTestStores('fuzz', { postgres: false });

interface Target {
	label: string;
	node: (continueOnFail: boolean) => NodeSpec;
	records: HostileRecordOptions;
	/** Items of the node's run, summed over the outputs that together answer each input item once. */
	answered: (result: RunResult) => number;
	/** The outputs whose items answer the input items one to one (default: all). */
	pairedOutputs?: number[];
	/** Extra checks on a successful run. */
	check?: (result: RunResult, input: IDataObject[]) => void;
}

function outputsOf(result: RunResult): INodeExecutionData[][] {
	return (result.nodeRuns('Node')[0]?.data?.main ?? []).map((items) => items ?? []);
}

function itemsOn(result: RunResult, outputs: number[]): number {
	const data = outputsOf(result);
	return outputs.reduce((sum, output) => sum + (data[output]?.length ?? 0), 0);
}

function allOutputs(result: RunResult): number {
	return outputsOf(result).reduce((sum, items) => sum + items.length, 0);
}

/** The input items (of input 1) that some output item is paired with. */
function answeredInputs(result: RunResult, outputs?: number[]): Set<number> {
	const answered = new Set<number>();
	outputsOf(result).forEach((items, output) => {
		if (outputs && !outputs.includes(output)) return;
		for (const item of items) {
			const paired = item.pairedItem;
			for (const one of Array.isArray(paired) ? paired : [paired]) {
				if (typeof one === 'number') answered.add(one);
				else if (one && (one.input ?? 0) === 0) answered.add(one.item);
			}
		}
	});
	return answered;
}

function node(type: string, parameters: IDataObject, continueOnFail: boolean): NodeSpec {
	return { name: 'Node', type: packageNodeType(type), parameters: { syncId: SYNC_ID, ...parameters }, continueOnFail };
}

/** A Field Mapper rule editor value (fixedCollection). */
const mapperRules = {
	rule: [
		{ source: 'id', target: 'id' },
		{ source: 'name', target: 'full.name', type: 'string', transforms: { transform: [{ type: 'trim' }, { type: 'lowercase' }] } },
		{ source: 'a.b', target: 'ab', type: 'number' },
		{ source: 'José', target: 'nested.list[0].value', type: 'json' },
		{ source: 'status', target: 'state', transforms: { transform: [{ type: 'valueMap', map: '{"A": "active", "__proto__": "p"}', fallback: 'keep' }] } },
	],
};

const targets: Target[] = [
	{
		label: 'Change Detector (snapshot)',
		node: (cof) => node('changeDetector', { ...freshBuiltinStore(), system: 'crm', keyFields: 'id', includeUnchanged: true }, cof),
		records: {},
		answered: allOutputs,
	},
	{
		label: 'Change Detector (event)',
		node: (cof) =>
			node(
				'changeDetector',
				{ ...freshBuiltinStore(), system: 'crm', keyFields: 'id', mode: 'event', recordField: '', opSource: 'fixed', fixedOp: 'upsert', includeUnchanged: true },
				cof,
			),
		records: {},
		answered: allOutputs,
	},
	{
		label: 'Field Mapper',
		node: (cof) => node('fieldMapper', { systemA: 'crm', systemB: 'erp', rules: mapperRules, metadataPlacement: 'json' }, cof),
		records: { syncId: SYNC_ID, system: 'crm' },
		answered: allOutputs,
	},
	{
		label: 'Conflict Resolver',
		node: (cof) => node('conflictResolver', { ...freshBuiltinStore(), systemX: 'crm', systemY: 'erp' }, cof),
		records: { syncId: SYNC_ID, system: 'crm' },
		// It pairs changes of one entity into one op (two versions of a record become one review
		// item), so it answers each input item through paired items rather than one item each.
		answered: (result) => answeredInputs(result).size,
		check: (result, input) => expect(allOutputs(result)).toBeLessThanOrEqual(input.length),
	},
	{
		label: 'Sync State Commit',
		node: (cof) => node('syncState', { ...freshBuiltinStore(), resource: 'record', operation: 'commit' }, cof),
		records: { syncId: SYNC_ID, system: 'crm' },
		answered: allOutputs,
	},
	{
		label: 'Audit Logger Log',
		node: (cof) =>
			node(
				'auditLogger',
				{ ...freshBuiltinStore(), operation: 'log', sinks: ['output', 'store', 'file'], filePath: `${tempDir('jsonl-')}/audit.jsonl` },
				cof,
			),
		records: { syncId: SYNC_ID, system: 'crm' },
		// Items passes every item on; Events holds one event per item that could be logged.
		answered: (result) => itemsOn(result, [0]),
		pairedOutputs: [0],
		check: (result, input) => expect(itemsOn(result, [1])).toBeLessThanOrEqual(input.length),
	},
];

/**
 * Circular references cannot come from JSON (webhooks, HTTP, databases), but an in-process node
 * could pass one on, so one record in ten has one.
 */
const batchFor = (target: Target) => hostileBatch({ ...target.records, cycleRate: 0.1 });

describe('hostile items, in every node (fuzz)', () => {
	describe.each(targets)('$label', (target) => {
		it('answers every item on some output under Continue On Fail, and pollutes nothing', async () => {
			const before = prototypeSnapshot();
			let runs = 0;
			let items = 0;
			await fc.assert(
				fc.asyncProperty(batchFor(target), async (records) => {
					const result = await runChain([target.node(true)], { input: records as IDataObject[] });
					runs++;
					items += records.length;
					expect(result.error?.message).toBeUndefined();
					expect(result.status).toBe('success');
					expect(target.answered(result)).toBe(records.length);
					// Every input item is answered, by an item paired with it.
					expect(answeredInputs(result, target.pairedOutputs).size).toBe(records.length);
					target.check?.(result, records as IDataObject[]);
					assertNoPollution(before);
				}),
				{ numRuns: RUNS },
			);
			expect(runs).toBe(RUNS);
			expect(items).toBeGreaterThanOrEqual(RUNS);
		});

		it('either answers every item or stops with a NodeOperationError that says what to change', async () => {
			const before = prototypeSnapshot();
			await fc.assert(
				fc.asyncProperty(batchFor(target), async (records) => {
					const result = await runChain([target.node(false)], { input: records as IDataObject[] });
					if (result.status === 'success') {
						expect(target.answered(result)).toBe(records.length);
						expect(answeredInputs(result, target.pairedOutputs).size).toBe(records.length);
					} else {
						const error = result.nodeError('Node') as (Error & { description?: string | null }) | undefined;
						expect(error?.name ?? error?.constructor.name).toBe('NodeOperationError');
						expect(error?.message).toEqual(expect.any(String));
						expect(error?.message).not.toMatch(/TypeError|Cannot read properties|is not a function|undefined \(reading/);
						expect(error?.description).toEqual(expect.stringMatching(/\S/));
					}
					assertNoPollution(before);
				}),
				{ numRuns: RUNS },
			);
		});
	});
});

describe('hostile items found by the fuzzing (regressions)', () => {
	it('logs the good items of a batch in which one item claims the status "__proto__"', async () => {
		const meta = (key: string, status: string) => ({ syncId: SYNC_ID, system: 'crm', key, op: 'update', status, target: { system: 'erp', key: `e${key}`, op: 'update' } });
		const result = await runChain(
			[{ ...node('auditLogger', { ...freshBuiltinStore(), operation: 'log', sinks: ['output', 'store'] }, true) }],
			{ input: [{ name: 'Ada', _sync: meta('1', 'applied') }, { name: 'Eve', _sync: meta('2', '__proto__') }, { name: 'Bob', _sync: meta('3', 'constructor') }] },
		);

		expect(result.status).toBe('success');
		// Before the fix, "__proto__" found Object.prototype as its status and the whole batch failed.
		expect(result.json('Node', 1).map((event) => [(event.source as IDataObject).key, event.status])).toEqual([['1', 'applied']]);
		expect(result.json('Node', 0).map((item) => item.error ?? 'logged')).toEqual([
			'logged',
			"The item's sync metadata does not say whether its update was applied, failed or skipped",
			"The item's sync metadata does not say whether its update was applied, failed or skipped",
		]);
	});

	it('sends a record nested too deeply to Errors with what to change, or stops with that', async () => {
		let deep: unknown = 'leaf';
		for (let level = 0; level < 1500; level++) deep = { next: deep };
		const input = [{ id: 1, deep }, { id: 2, name: 'Ada' }] as IDataObject[];
		const detector = (cof: boolean) => node('changeDetector', { ...freshBuiltinStore(), system: 'crm', keyFields: 'id', includeUnchanged: true }, cof);

		const kept = await runChain([detector(true)], { input });
		expect(kept.status).toBe('success');
		expect(kept.json('Node', 4).map((item) => [item.id, item.error, item.description])).toEqual([
			[1, 'The record is nested more than 1000 levels deep', expect.stringContaining('Flatten the record')],
			[2, 'The record is nested more than 1000 levels deep', expect.stringContaining('Flatten the record')],
		]);

		const stopped = await runChain([detector(false)], { input });
		expect(stopped.status).toBe('error');
		expect(stopped.nodeError('Node')).toMatchObject({ message: 'The record is nested more than 1000 levels deep', description: expect.stringContaining('Flatten') });
	});
});
