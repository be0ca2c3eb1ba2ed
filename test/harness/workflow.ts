import type { IConnections, INode, INodeCredentials, INodeParameters, OnError } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { fixtureNodeType } from './node-types';

/** The test-only node types of test/harness/fixtures, by role. */
export const FIXTURE_TYPES = {
	/** Emits the run's `input` items; the usual first node. */
	start: fixtureNodeType('fixtureStart'),
	/** Echoes items like a write node, failing the items its `fail` parameter picks. */
	failWriter: fixtureNodeType('failWriter'),
	/** Attaches `text` as a binary file to each item (optionally lists it in the flow context). */
	binaryStamp: fixtureNodeType('binaryStamp'),
	/** Adds `json.probe`: what this position can see of `sourceNode`'s paired item. */
	upstreamProbe: fixtureNodeType('upstreamProbe'),
	/** Outputs the `harnessTestApi` credentials it receives. */
	credentialEcho: fixtureNodeType('credentialEcho'),
	/** Increments `runs` in the workflow's global static data. */
	staticCounter: fixtureNodeType('staticCounter'),
	/** Emits the items of its three inputs one after another, like n8n's Merge node in Append mode. */
	append: fixtureNodeType('append'),
} as const;

export const START_NODE_NAME = 'Start';

/**
 * A node as a test writes it. Everything but name and type is optional: the type version defaults
 * to the newest one, parameters to the type's defaults (n8n's Workflow fills those in).
 */
export interface NodeSpec {
	name: string;
	type: string;
	parameters?: INodeParameters;
	typeVersion?: number;
	/** `{ credentialType: { id, name } }`. Filled in for you when runWorkflow gets that credential type. */
	credentials?: INodeCredentials;
	continueOnFail?: boolean;
	onError?: OnError;
	alwaysOutputData?: boolean;
	executeOnce?: boolean;
	disabled?: boolean;
}

export function isNodeSpec(node: INode | NodeSpec): node is NodeSpec {
	return !('id' in node && 'position' in node);
}

/** The Fixture Start node, named "Start" unless told otherwise. */
export function startNode(name = START_NODE_NAME): NodeSpec {
	return { name, type: FIXTURE_TYPES.start };
}

/** One connection. `output` 1 is the error output of a node set to "On Error: Continue (using error output)". */
export interface Link {
	from: string;
	to: string;
	output?: number;
	input?: number;
}

/** Builds n8n's connections object from links, e.g. `connect(['Start', 'A'], { from: 'A', to: 'B', output: 1 })`. */
export function connect(...links: Array<Link | [from: string, to: string]>): IConnections {
	const connections: IConnections = {};
	for (const entry of links) {
		const { from, to, output = 0, input = 0 } = Array.isArray(entry)
			? { from: entry[0], to: entry[1] }
			: entry;
		connections[from] ??= {};
		const outputs = (connections[from][NodeConnectionTypes.Main] ??= []);
		while (outputs.length <= output) outputs.push([]);
		outputs[output] = [
			...(outputs[output] ?? []),
			{ node: to, type: NodeConnectionTypes.Main, index: input },
		];
	}
	return connections;
}

/** Connects the named nodes one after another through their first output. */
export function chain(...nodeNames: string[]): IConnections {
	const links = nodeNames
		.slice(1)
		.map((to, index): [string, string] => [nodeNames[index], to]);
	return connect(...links);
}
