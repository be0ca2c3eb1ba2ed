import type { IDataObject } from 'n8n-workflow';

import {
	FIXTURE_TYPES,
	connect,
	packageNodeType,
	runChain,
	runWorkflow,
	startNode,
	vmModulesEnabled,
} from '../harness';

const people: IDataObject[] = [
	{ id: 1, name: 'Ada' },
	{ id: 2, name: 'Grace' },
	{ id: 3, name: 'Linus' },
];

describe('node test harness', () => {
	describe('items and paired items', () => {
		it('passes items through a chain, each paired with the input item it came from', async () => {
			const result = await runChain(
				[
					{ name: 'Write A', type: FIXTURE_TYPES.failWriter },
					{ name: 'Write B', type: FIXTURE_TYPES.failWriter },
				],
				{ input: people },
			);

			expect(result.status).toBe('success');
			expect(result.executedNodes).toEqual(['Start', 'Write A', 'Write B']);
			expect(result.json('Write B')).toEqual(people);
			expect(result.output('Write B').map(({ pairedItem }) => pairedItem)).toEqual([
				{ item: 0 },
				{ item: 1 },
				{ item: 2 },
			]);
			expect(result.nodeRuns('Write B')[0].source).toEqual([
				{ previousNode: 'Write A', previousNodeOutput: 0, previousNodeRun: 0 },
			]);
		});

		it('runs the start node and nothing after it when the fixture has no items', async () => {
			const result = await runChain([{ name: 'Write', type: FIXTURE_TYPES.failWriter }], {
				input: [],
			});

			expect(result.status).toBe('success');
			expect(result.output('Start')).toEqual([]);
			expect(result.nodeRuns('Write')).toEqual([]);
		});
	});

	describe('expressions', () => {
		it('evaluates an expression parameter once per item, with $json and $("Node").item', async () => {
			const result = await runChain(
				[
					{ name: 'Write', type: FIXTURE_TYPES.failWriter },
					{
						name: 'Stamp',
						type: FIXTURE_TYPES.binaryStamp,
						parameters: { text: "={{ $('Start').item.json.name }} #{{ $json.id * 10 }}" },
					},
					{
						name: 'Probe',
						type: FIXTURE_TYPES.upstreamProbe,
						parameters: { sourceNode: 'Stamp' },
					},
				],
				{ input: people },
			);

			expect(result.json('Probe').map(({ probe }) => (probe as IDataObject).binaryText)).toEqual([
				'Ada #10',
				'Grace #20',
				'Linus #30',
			]);
		});

		const vmRun = () =>
			runChain(
				[
					{
						name: 'Write',
						type: FIXTURE_TYPES.failWriter,
						parameters: { fail: '={{ $json.name.startsWith("G") }}' },
						continueOnFail: true,
					},
				],
				{ input: people, expressionEngine: 'vm' },
			);

		if (vmModulesEnabled()) {
			it("evaluates expressions the same way in n8n 2.41's default isolated-vm engine", async () => {
				const result = await vmRun();

				expect(result.json('Write')).toEqual([
					people[0],
					{ error: 'Simulated write failure' },
					people[2],
				]);
			});
		} else {
			it('refuses the isolated-vm engine with a hint when Jest runs without --experimental-vm-modules', async () => {
				await expect(vmRun()).rejects.toThrow('NODE_OPTIONS=--experimental-vm-modules');
			});
		}
	});

	describe('failures', () => {
		it('with Continue On Fail, turns a failed item into an error item paired with its input', async () => {
			const result = await runChain(
				[
					{
						name: 'Write',
						type: FIXTURE_TYPES.failWriter,
						parameters: { fail: '={{ $json.id === 2 }}', errorMessage: 'duplicate key' },
						continueOnFail: true,
					},
				],
				{ input: people },
			);

			expect(result.status).toBe('success');
			expect(result.output('Write')).toEqual([
				{ json: people[0], pairedItem: { item: 0 } },
				{ json: { error: 'duplicate key' }, pairedItem: { item: 1 } },
				{ json: people[2], pairedItem: { item: 2 } },
			]);
		});

		it('without Continue On Fail, stops the run with the node\'s error', async () => {
			const result = await runChain(
				[
					{
						name: 'Write',
						type: FIXTURE_TYPES.failWriter,
						parameters: { fail: '={{ $json.id === 2 }}', errorMessage: 'duplicate key' },
					},
					{ name: 'After', type: FIXTURE_TYPES.failWriter },
				],
				{ input: people },
			);

			expect(result.status).toBe('error');
			expect(result.error?.message).toBe('duplicate key');
			expect(result.nodeError('Write')?.message).toBe('duplicate key');
			expect(result.nodeRuns('After')).toEqual([]);
			expect(() => result.output('Write')).toThrow('Node "Write" failed: duplicate key');
		});

		it('with "On Error: Continue (using error output)", routes failed items to output 1 merged with their input', async () => {
			const result = await runWorkflow({
				nodes: [
					startNode(),
					{
						name: 'Write',
						type: FIXTURE_TYPES.failWriter,
						parameters: { fail: '={{ $json.id !== 1 }}', errorMessage: 'rejected' },
						onError: 'continueErrorOutput',
					},
					{ name: 'Written', type: FIXTURE_TYPES.failWriter },
					{ name: 'Rejected', type: FIXTURE_TYPES.failWriter },
				],
				connections: connect(
					['Start', 'Write'],
					{ from: 'Write', to: 'Written', output: 0 },
					{ from: 'Write', to: 'Rejected', output: 1 },
				),
				input: people,
			});

			expect(result.json('Written')).toEqual([people[0]]);
			expect(result.output('Write', 1)).toEqual([
				{ json: { ...people[1], error: 'rejected' }, pairedItem: { item: 1 } },
				{ json: { ...people[2], error: 'rejected' }, pairedItem: { item: 2 } },
			]);
			expect(result.json('Rejected')).toHaveLength(2);
		});

		it('with failure scope "batch", leaves the lone error item unpaired on the error output, as Postgres does in single-batch mode', async () => {
			const batchWriter = {
				name: 'Write',
				type: FIXTURE_TYPES.failWriter,
				parameters: { fail: '={{ $json.id === 3 }}', failureScope: 'batch' },
			};

			const withErrorOutput = await runChain([{ ...batchWriter, onError: 'continueErrorOutput' }], {
				input: people,
			});
			// On the regular output n8n pairs a node's only output item with the first input item,
			// so the batch error looks as if it belonged to item 0.
			const withRegularOutput = await runChain([{ ...batchWriter, continueOnFail: true }], {
				input: people,
			});

			expect(withErrorOutput.output('Write', 0)).toEqual([]);
			expect(withErrorOutput.output('Write', 1)).toEqual([
				{ json: { error: 'Simulated write failure' } },
			]);
			expect(withRegularOutput.output('Write')).toEqual([
				{ json: { error: 'Simulated write failure' }, pairedItem: { item: 0 } },
			]);
		});
	});

	describe('binary data and what later nodes can see', () => {
		const stampThenWriteThenProbe = [
			{
				name: 'Stamp',
				type: FIXTURE_TYPES.binaryStamp,
				parameters: { text: '=meta-{{ $json.id }}', rememberInFlowContext: true },
			},
			{ name: 'Write', type: FIXTURE_TYPES.failWriter },
			{ name: 'Probe', type: FIXTURE_TYPES.upstreamProbe, parameters: { sourceNode: 'Stamp' } },
		];

		it('reads binary written two hops earlier through $(name, true), after a node dropped it', async () => {
			const result = await runChain(stampThenWriteThenProbe, { input: people });

			expect(result.output('Stamp')[0].binary?.data.data).toBe(
				Buffer.from('meta-1').toString('base64'),
			);
			expect(result.output('Write').every(({ binary }) => binary === undefined)).toBe(true);
			const probes = result.json('Probe').map(({ probe }) => probe as IDataObject);
			expect(probes.map(({ binaryText }) => binaryText)).toEqual(['meta-1', 'meta-2', 'meta-3']);
			expect(probes[1].sourceJson).toEqual(people[1]);
			expect(probes[0].parentNodes).toEqual(expect.arrayContaining(['Start', 'Stamp', 'Write']));
			expect(probes[0].flowStamps).toEqual(['meta-1', 'meta-2', 'meta-3']);
		});

		it('in filesystem mode keeps only a reference in binary.data, yet the content stays readable', async () => {
			const result = await runChain(stampThenWriteThenProbe, {
				input: people,
				binaryDataMode: 'filesystem',
			});

			const stamped = result.output('Stamp')[0].binary?.data;
			expect(stamped?.id).toMatch(/^filesystem-v2:/);
			expect(stamped?.data).toBe('filesystem-v2');
			expect(result.json('Probe').map(({ probe }) => (probe as IDataObject).binaryText)).toEqual([
				'meta-1',
				'meta-2',
				'meta-3',
			]);
		});

		it('in the "combined" binary mode moves binary into json._files, leaving the flow context as the carrier', async () => {
			const result = await runChain(stampThenWriteThenProbe, {
				input: people,
				binaryDataMode: 'filesystem',
				settings: { binaryMode: 'combined' },
			});

			const stamped = result.output('Stamp')[0];
			expect(stamped.binary).toBeUndefined();
			expect(stamped.json._files).toEqual({ data: expect.objectContaining({ fileName: 'stamp.txt' }) });
			const probe = result.json('Probe')[0].probe as IDataObject;
			expect(probe.binaryMode).toBe('combined');
			expect(probe.binaryText).toBeNull();
			expect(probe.flowStamps).toEqual(['meta-1', 'meta-2', 'meta-3']);
		});
	});

	describe('credentials and static data', () => {
		it('hands a node the test credentials of the type it asks for, with the type\'s defaults filled in', async () => {
			const result = await runChain([{ name: 'Echo', type: FIXTURE_TYPES.credentialEcho }], {
				input: [{}],
				credentials: { harnessTestApi: { host: 'db.test', password: 'secret' } },
			});

			expect(result.json('Echo')[0].credentials).toEqual({
				host: 'db.test',
				port: 5432,
				password: 'secret',
			});
		});

		it('fails the node clearly when the test passed no credentials of that type', async () => {
			const result = await runChain([{ name: 'Echo', type: FIXTURE_TYPES.credentialEcho }], {
				input: [{}],
			});

			expect(result.status).toBe('error');
			expect(result.nodeError('Echo')?.message).toMatch(/credentials/i);
		});

		it('carries static data between runs the way n8n saves it: not for manual runs', async () => {
			const counter = [{ name: 'Count', type: FIXTURE_TYPES.staticCounter }];
			const first = await runChain(counter, { input: [{}], executionMode: 'trigger' });
			const second = await runChain(counter, {
				input: [{}],
				executionMode: 'trigger',
				staticData: first.staticData,
			});
			const manual = await runChain(counter, { input: [{}], staticData: second.staticData });

			expect(first.staticData).toEqual({ global: { runs: 1 } });
			expect(first.staticDataSaved).toBe(true);
			expect(second.json('Count')).toEqual([{ runs: 2 }]);
			expect(manual.json('Count')).toEqual([{ runs: 3 }]);
			expect(manual.staticDataSaved).toBe(false);
		});
	});

	describe("this package's nodes", () => {
		it('names a package node type "<package name>.<node name>" and explains a missing one', async () => {
			expect(packageNodeType('syncState')).toBe('n8n-nodes-two-way-sync.syncState');
			await expect(
				runChain([{ name: 'Missing', type: packageNodeType('noSuchNode') }], { input: [{}] }),
			).rejects.toThrow(/noSuchNode/);
		});
	});
});
