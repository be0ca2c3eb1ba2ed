export type { TestCredentials } from './credentials-helper';
export type { BinaryDataMode, ExpressionEngine } from './environment';
export { vmModulesEnabled } from './environment';
export { STAMPED_TEXTS_KEY } from './fixtures';
export {
	FIXTURE_PACKAGE_NAME,
	PACKAGE_NAME,
	fixtureNodeType,
	getHarnessNodeTypes,
	packageNodeType,
} from './node-types';
export type { RunResult, RunWorkflowOptions } from './run-workflow';
export { runChain, runWorkflow } from './run-workflow';
export type { Link, NodeSpec } from './workflow';
export { FIXTURE_TYPES, START_NODE_NAME, chain, connect, startNode } from './workflow';
