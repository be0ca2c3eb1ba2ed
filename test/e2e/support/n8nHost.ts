import { join } from 'node:path';

/** One item as the run JSON of `n8n execute` holds it. */
export interface RunItem {
	json: Record<string, unknown>;
	binary?: Record<string, { mimeType?: string; fileName?: string; id?: string; data?: string }>;
	pairedItem?: { item: number; input?: number } | Array<{ item: number; input?: number }>;
	error?: unknown;
}

/** One run of one node inside the run JSON. */
export interface NodeRun {
	executionStatus?: string;
	executionTime?: number;
	error?: { message: string; description?: string | null; name?: string };
	hints?: Array<{ message: string; type?: string }>;
	data?: { main?: Array<RunItem[] | null> };
}

/** The run JSON that `n8n execute --rawOutput` prints (an IRun). */
export interface RunJson {
	status: 'success' | 'error' | 'canceled' | 'crashed' | 'running' | 'waiting' | 'new' | 'unknown';
	finished?: boolean;
	mode: string;
	data: {
		resultData: {
			runData: Record<string, NodeRun[]>;
			error?: { message: string; description?: string | null; node?: { name: string } };
			lastNodeExecuted?: string;
		};
	};
}

/** A workflow as n8n's import:workflow takes it; `id` is assigned when missing. */
export interface WorkflowJson {
	id?: string;
	name: string;
	nodes: Array<{
		id?: string;
		name: string;
		type: string;
		typeVersion: number;
		position: [number, number];
		parameters: Record<string, unknown>;
		credentials?: Record<string, { id: string; name: string }>;
		[key: string]: unknown;
	}>;
	connections: Record<string, { main: Array<Array<{ node: string; type: 'main'; index: number }>> }>;
	settings?: Record<string, unknown>;
	staticData?: Record<string, unknown> | null;
	[key: string]: unknown;
}

/** A credential for import:credentials; n8n encrypts `data`. */
export interface CredentialJson {
	id: string;
	name: string;
	type: string;
	data: Record<string, unknown>;
}

/** A node type that package.json `n8n.nodes` declares, read from its built class. */
export interface PackageNode {
	file: string;
	className: string;
	name: string;
	displayName: string;
	/** `<package name>.<node name>`, the type n8n registers a community node under. */
	type: string;
}

export interface RunningN8n {
	url: string;
	port: number;
	pid: number;
	readyMs: number;
	stop(): Promise<{ code: number | null; signal: string | null }>;
	output(): string;
}

export interface RunningWorker {
	pid: number;
	readyMs: number;
	stop(): Promise<{ code: number | null; signal: string | null }>;
	output(): string;
}

export interface EditorPage {
	evaluate(expression: string): Promise<unknown>;
	screenshot(file: string): Promise<string>;
}

export interface Browser {
	page: EditorPage;
	close(): Promise<void>;
}

export interface EditorSearchResult extends PackageNode {
	listed: boolean;
	screenshot: string;
	shownNames: string[];
}

type Log = (line: string) => void;

/** The exports of scripts/n8n-host.mjs. */
export interface N8nHost {
	ROOT: string;
	OWNER: { email: string; password: string };
	ensureN8nInstalled(options?: { log?: Log }): Promise<{ changed: boolean; ms: number }>;
	ensurePackageBuilt(options?: { log?: Log }): Promise<{ changed: boolean; ms: number }>;
	describePackageNodes(packageDir?: string): PackageNode[];
	installPackageInto(
		userFolder: string,
		options?: { packageDir?: string; log?: Log },
	): Promise<{ name: string; version: string; shasum: string; directory: string; reused: boolean; ms: number }>;
	n8nEnv(userFolder: string, extra?: Record<string, string>): NodeJS.ProcessEnv;
	importWorkflow(userFolder: string, workflowJson: WorkflowJson, options?: { env?: Record<string, string> }): Promise<string>;
	importCredentials(userFolder: string, credentialsJson: CredentialJson | CredentialJson[], options?: { env?: Record<string, string> }): Promise<void>;
	n8nCommand(userFolder: string, args: string[], options?: { env?: Record<string, string>; timeoutMs?: number }): Promise<string>;
	executeWorkflow(
		userFolder: string,
		id: string,
		options?: { attempts?: number; env?: Record<string, string>; log?: Log },
	): Promise<RunJson>;
	startN8n(userFolder: string, options?: { port?: number; env?: Record<string, string>; readyTimeoutMs?: number }): Promise<RunningN8n>;
	startWorker(
		userFolder: string,
		options?: { concurrency?: number; env?: Record<string, string>; readyTimeoutMs?: number; onOutput?: (chunk: string) => void },
	): Promise<RunningWorker>;
	login(url: string, email?: string, password?: string): Promise<string>;
	getJson(url: string, path: string, cookie: string): Promise<unknown>;
	fetchNodeTypes(url: string, cookie: string): Promise<Array<{ name: string; displayName: string; version: number | number[] }>>;
	launchChromium(options?: { log?: Log; width?: number; height?: number }): Promise<Browser>;
	canvasWorkflow(name?: string): WorkflowJson;
	searchNodesInEditor(
		page: EditorPage,
		options: { url: string; cookie: string; workflowId: string; nodes: PackageNode[]; artifactsDir: string },
	): Promise<EditorSearchResult[]>;
	freePort(): Promise<number>;
}

// jest's own module system loads ESM only under --experimental-vm-modules. Node 24's real require
// loads an ES module directly, and process.getBuiltinModule reaches it past jest's wrapper. The
// module then lives once per worker process, outside each test file's registry.
const nodeRequire = process.getBuiltinModule('node:module').createRequire(__filename);

export const n8nHost = nodeRequire(join(__dirname, '..', '..', '..', 'scripts', 'n8n-host.mjs')) as N8nHost;
