import { ExecutionLifecycleHooks, ExternalSecretsProxy, WorkflowExecute } from 'n8n-core';
import type {
	ExecutionError,
	ExecutionStatus,
	IConnections,
	IDataObject,
	INode,
	INodeExecutionData,
	IPinData,
	IRun,
	ITaskData,
	IWorkflowBase,
	IWorkflowExecuteAdditionalData,
	IWorkflowSettings,
	WorkflowExecuteMode,
} from 'n8n-workflow';
import { UserError, Workflow, createRunExecutionData } from 'n8n-workflow';

import type { TestCredentials } from './credentials-helper';
import { TestCredentialsHelper } from './credentials-helper';
import type { BinaryDataMode, ExpressionEngine } from './environment';
import { ensureHarnessEnvironment, useBinaryDataMode, useExpressionEngine } from './environment';
import { provideFixtureInput, releaseFixtureInput } from './fixtures/fixture-input';
import type { HarnessNodeTypes } from './node-types';
import { getHarnessNodeTypes } from './node-types';
import type { NodeSpec } from './workflow';
import { FIXTURE_TYPES, START_NODE_NAME, chain, isNodeSpec, startNode } from './workflow';

export interface RunWorkflowOptions {
	/** The workflow's nodes, as NodeSpecs or full INodes. */
	nodes: Array<NodeSpec | INode>;
	/** Defaults to a chain through the nodes in array order. */
	connections?: IConnections;
	/** JSON of the items the Fixture Start node emits. */
	input?: IDataObject[];
	/** Full items (with binary) for the Fixture Start node; use instead of `input`. */
	inputItems?: INodeExecutionData[];
	/** Node the run starts at. Defaults to the Fixture Start node, else the first node. */
	startNodeName?: string;
	/** Decrypted credentials by credential type; nodes get them from `this.getCredentials(type)`. */
	credentials?: TestCredentials;
	/** Merged over `{ executionOrder: 'v1' }`, what a workflow created in n8n 2.x has. */
	settings?: IWorkflowSettings;
	/** The workflow's static data when the run starts (e.g. a previous run's `staticData`). */
	staticData?: IDataObject;
	workflowId?: string;
	workflowName?: string;
	/** `manual` (the editor's "Execute workflow", the default), `trigger`, `webhook`, `cli`, ... */
	executionMode?: WorkflowExecuteMode;
	/** Defaults to `default` (in memory). `filesystem` is what a real instance uses. */
	binaryDataMode?: BinaryDataMode;
	/** Defaults to `legacy`. `vm` evaluates expressions in isolated-vm, as n8n 2.41 does by default. */
	expressionEngine?: ExpressionEngine;
	pinData?: IPinData;
}

export interface RunResult {
	/** `success` or `error` for a finished run. */
	status: ExecutionStatus;
	/** The error that stopped the run, if any. */
	error: ExecutionError | undefined;
	/** Names of the nodes that ran, in the order they finished. */
	executedNodes: string[];
	/** Items a node emitted on one output. Throws if the node did not run or failed. */
	output(nodeName: string, outputIndex?: number, runIndex?: number): INodeExecutionData[];
	/** Only the JSON of `output(...)`. */
	json(nodeName: string, outputIndex?: number, runIndex?: number): IDataObject[];
	/** Every run of a node (its ITaskData: data, source, error, timings); empty if it never ran. */
	nodeRuns(nodeName: string): ITaskData[];
	/** The error a node stopped with, if it did. */
	nodeError(nodeName: string, runIndex?: number): ExecutionError | undefined;
	/** The workflow's static data after the run. */
	staticData: IDataObject;
	/** Whether a real n8n would save that static data: only if the run changed it, never for `manual` runs. */
	staticDataSaved: boolean;
	/** The raw run, as n8n stores it. */
	run: IRun;
}

let executionCounter = 0;

/**
 * Runs a workflow inside n8n-core's real WorkflowExecute, with this package's built nodes and the
 * harness fixtures available. Expressions, paired items, binary data, contexts and credentials
 * behave as in an n8n instance.
 */
export async function runWorkflow(options: RunWorkflowOptions): Promise<RunResult> {
	ensureHarnessEnvironment();
	const nodeTypes = await getHarnessNodeTypes();
	await useBinaryDataMode(options.binaryDataMode ?? 'default');
	await useExpressionEngine(options.expressionEngine ?? 'legacy');

	const credentials = { ...options.credentials };
	// Workflow mutates node parameters (it fills in defaults), so each run gets its own copies.
	const nodes = options.nodes.map((node, index) =>
		withTestCredentials(toNode(node, index, nodeTypes), nodeTypes, credentials),
	);
	const connections = options.connections ?? chain(...nodes.map(({ name }) => name));
	const start = pickStartNode(nodes, options.startNodeName);
	if ((options.input ?? options.inputItems) && start.type !== FIXTURE_TYPES.start) {
		throw new UserError(
			`The run starts at "${start.name}", which is not a Fixture Start node, so \`input\` would be ignored. Add startNode() first or use runChain.`,
		);
	}

	const mode = options.executionMode ?? 'manual';
	const executionId = `harness-${process.pid}-${++executionCounter}`;
	const workflowData: IWorkflowBase = {
		id: options.workflowId ?? 'harness-workflow',
		name: options.workflowName ?? 'Node test',
		active: false,
		isArchived: false,
		activeVersionId: null,
		createdAt: new Date(),
		updatedAt: new Date(),
		nodes,
		connections,
		settings: { executionOrder: 'v1', ...options.settings },
		staticData: structuredClone(options.staticData ?? {}),
		pinData: options.pinData,
	};
	const workflow = new Workflow({
		id: workflowData.id,
		name: workflowData.name,
		nodes,
		connections,
		active: false,
		nodeTypes,
		settings: workflowData.settings,
		staticData: workflowData.staticData,
		pinData: workflowData.pinData,
	});

	const executedNodes: string[] = [];
	const hooks = new ExecutionLifecycleHooks(mode, executionId, workflowData);
	hooks.addHandler('nodeExecuteAfter', (nodeName) => {
		executedNodes.push(nodeName);
	});
	// n8n passes the static data to this hook only when the run changed it.
	let staticDataChanged = false;
	hooks.addHandler('workflowExecuteAfter', (_run, newStaticData) => {
		staticDataChanged = newStaticData !== undefined;
	});

	const additionalData = createAdditionalData({
		hooks,
		executionId,
		workflowId: workflowData.id,
		credentialsHelper: new TestCredentialsHelper(nodeTypes, credentials),
	});

	const runExecutionData = createRunExecutionData({
		resultData: { runData: {}, pinData: options.pinData },
		executionData: {
			// A trigger starts a run with one empty item; Fixture Start replaces it with the fixture.
			nodeExecutionStack: [{ node: start, data: { main: [[{ json: {} }]] }, source: null }],
		},
	});

	provideFixtureInput(executionId, fixtureItems(options));
	let run: IRun;
	try {
		run = await new WorkflowExecute(additionalData, mode, runExecutionData).processRunExecutionData(
			workflow,
		);
	} finally {
		releaseFixtureInput(executionId);
	}

	return buildResult(run, executedNodes, toPlainObject(workflow.staticData), {
		// The rule n8n's own workflowExecuteAfter hook applies before saving static data.
		saved: staticDataChanged && mode !== 'manual' && Boolean(workflowData.id),
	});
}

/** Runs `Start -> nodes[0] -> nodes[1] -> ...`, Start emitting `options.input`. */
export async function runChain(
	nodes: NodeSpec[],
	options: Omit<RunWorkflowOptions, 'nodes' | 'connections' | 'startNodeName'> = {},
): Promise<RunResult> {
	return await runWorkflow({ ...options, nodes: [startNode(), ...nodes] });
}

function toNode(node: NodeSpec | INode, index: number, nodeTypes: HarnessNodeTypes): INode {
	if (!isNodeSpec(node)) return structuredClone(node);
	const { name, type, parameters, typeVersion, ...flags } = node;
	return {
		id: `node-${index}-${name}`,
		name,
		type,
		typeVersion: typeVersion ?? nodeTypes.latestVersion(type),
		position: [index * 220, 0],
		parameters: structuredClone(parameters ?? {}),
		...structuredClone(flags),
	};
}

/**
 * n8n only hands a node the credentials its node settings point at. For every credential type the
 * test passed and the node declares, point the node at it unless the test already did.
 */
function withTestCredentials(
	node: INode,
	nodeTypes: HarnessNodeTypes,
	credentials: TestCredentials,
): INode {
	const declared = nodeTypes.getByNameAndVersion(node.type, node.typeVersion).description.credentials;
	for (const { name: credentialType } of declared ?? []) {
		if (credentials[credentialType] === undefined || node.credentials?.[credentialType]) continue;
		node.credentials = {
			...node.credentials,
			[credentialType]: { id: `test-${credentialType}`, name: `Test ${credentialType}` },
		};
	}
	return node;
}

function pickStartNode(nodes: INode[], startNodeName: string | undefined): INode {
	const wanted =
		startNodeName ??
		nodes.find(({ type }) => type === FIXTURE_TYPES.start)?.name ??
		nodes[0]?.name ??
		START_NODE_NAME;
	const node = nodes.find(({ name }) => name === wanted);
	if (!node) throw new UserError(`Start node "${wanted}" is not among the workflow's nodes`);
	return node;
}

function fixtureItems(options: RunWorkflowOptions): INodeExecutionData[] {
	if (options.input && options.inputItems) {
		throw new UserError('Pass either `input` (JSON only) or `inputItems` (full items), not both');
	}
	if (options.inputItems) return structuredClone(options.inputItems);
	return (options.input ?? []).map((json) => ({ json: structuredClone(json) }));
}

/**
 * The fields n8n-core reads during a run, and nothing else: a catch-all (a mock that returns a
 * function for any key) sends n8n-core down paths that need a real instance, such as decryption.
 */
function createAdditionalData(parts: {
	hooks: ExecutionLifecycleHooks;
	executionId: string;
	workflowId: string;
	credentialsHelper: TestCredentialsHelper;
}): IWorkflowExecuteAdditionalData {
	const baseUrl = 'http://localhost:5678/';
	const notInHarness = (what: string) => async (): Promise<never> => {
		throw new UserError(`${what} is not available in the node test harness`);
	};
	return {
		...parts,
		restApiUrl: `${baseUrl}rest`,
		instanceBaseUrl: baseUrl,
		formBaseUrl: `${baseUrl}form`,
		formWaitingBaseUrl: `${baseUrl}form-waiting`,
		formTestBaseUrl: `${baseUrl}form-test`,
		webhookBaseUrl: `${baseUrl}webhook`,
		webhookWaitingBaseUrl: `${baseUrl}webhook-waiting`,
		webhookTestBaseUrl: `${baseUrl}webhook-test`,
		mcpBaseUrl: `${baseUrl}mcp`,
		mcpTestBaseUrl: `${baseUrl}mcp-test`,
		variables: {},
		userId: 'harness-user',
		currentNodeExecutionIndex: 0,
		externalSecretsProxy: new ExternalSecretsProxy(),
		executeWorkflow: notInHarness('Executing a sub-workflow'),
		getRunExecutionData: async () => undefined,
		getRuntimeCredential: async () => undefined,
		startRunnerTask: notInHarness('The task runner (Code node)'),
		logAiEvent: () => {},
	};
}

function buildResult(
	run: IRun,
	executedNodes: string[],
	staticData: IDataObject,
	{ saved }: { saved: boolean },
): RunResult {
	const { runData } = run.data.resultData;
	const nodeRuns = (nodeName: string): ITaskData[] => runData[nodeName] ?? [];

	const output = (nodeName: string, outputIndex = 0, runIndex = 0): INodeExecutionData[] => {
		const task = nodeRuns(nodeName)[runIndex];
		if (task === undefined) {
			const stopped = run.data.resultData.error
				? ` The run stopped with: ${run.data.resultData.error.message}`
				: '';
			throw new Error(
				`Node "${nodeName}" has no run ${runIndex}. Nodes that ran: ${executedNodes.join(', ') || 'none'}.${stopped}`,
			);
		}
		if (task.error) {
			throw new Error(`Node "${nodeName}" failed: ${task.error.message}`);
		}
		return task.data?.main?.[outputIndex] ?? [];
	};

	return {
		status: run.status,
		error: run.data.resultData.error,
		executedNodes,
		output,
		json: (nodeName, outputIndex, runIndex) =>
			output(nodeName, outputIndex, runIndex).map(({ json }) => json),
		nodeRuns,
		nodeError: (nodeName, runIndex = 0) => nodeRuns(nodeName)[runIndex]?.error,
		staticData,
		staticDataSaved: saved,
		run,
	};
}

/** Static data is an observable proxy with change-tracking flags; tests want the plain values. */
function toPlainObject(data: IDataObject): IDataObject {
	const plain = JSON.parse(JSON.stringify(data)) as IDataObject;
	delete plain.__dataChanged;
	return plain;
}
