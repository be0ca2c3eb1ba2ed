import { readFileSync } from 'node:fs';
import path from 'node:path';

import { PackageDirectoryLoader } from 'n8n-core';
import type {
	ICredentialType,
	IDataObject,
	INodeType,
	INodeTypes,
	IVersionedNodeType,
} from 'n8n-workflow';
import { NodeHelpers, UserError } from 'n8n-workflow';

import { ensureHarnessEnvironment } from './environment';
import { fixtureCredentials, fixtureNodes } from './fixtures';

export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');

/**
 * n8n names a community node `<package name>.<description.name>`; PackageDirectoryLoader keys its
 * `nodeTypes` by the bare description name, so the harness adds the prefix the way n8n does.
 */
export const PACKAGE_NAME: string = (
	JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { name: string }
).name;

/** Prefix of the test-only nodes in test/harness/fixtures. They never ship. */
export const FIXTURE_PACKAGE_NAME = 'tws-harness-fixtures';

/** Workflow type name of a node of this package, e.g. `packageNodeType('syncTrigger')`. */
export function packageNodeType(nodeName: string): string {
	return `${PACKAGE_NAME}.${nodeName}`;
}

export function fixtureNodeType(nodeName: string): string {
	return `${FIXTURE_PACKAGE_NAME}.${nodeName}`;
}

type AnyNodeType = INodeType | IVersionedNodeType;

/** The node and credential types a harness run can use: this package's built nodes plus the fixtures. */
export class HarnessNodeTypes implements INodeTypes {
	private readonly nodes = new Map<string, AnyNodeType>();

	private readonly credentials = new Map<string, ICredentialType>();

	/** Why the package's own nodes could not be loaded, reported only when a test asks for one. */
	private packageLoadError: Error | undefined;

	addNode(typeName: string, nodeType: AnyNodeType): void {
		this.nodes.set(typeName, nodeType);
	}

	addCredential(credentialType: ICredentialType): void {
		this.credentials.set(credentialType.name, credentialType);
	}

	setPackageLoadError(error: Error): void {
		this.packageLoadError = error;
	}

	has(typeName: string): boolean {
		return this.nodes.has(typeName);
	}

	getByName(typeName: string): AnyNodeType {
		const nodeType = this.nodes.get(typeName);
		if (nodeType) return nodeType;
		throw this.unknownTypeError(typeName);
	}

	getByNameAndVersion(typeName: string, version?: number): INodeType {
		return NodeHelpers.getVersionedNodeType(this.getByName(typeName), version);
	}

	getKnownTypes(): IDataObject {
		return Object.fromEntries([...this.nodes.keys()].map((typeName) => [typeName, {}]));
	}

	/** Newest version of a node type: what the editor puts on a freshly added node. */
	latestVersion(typeName: string): number {
		const nodeType = this.getByName(typeName);
		if ('nodeVersions' in nodeType) return nodeType.currentVersion;
		const { version } = nodeType.description;
		return Array.isArray(version) ? Math.max(...version) : version;
	}

	getCredentialType(name: string): ICredentialType | undefined {
		return this.credentials.get(name);
	}

	private unknownTypeError(typeName: string): Error {
		const known = [...this.nodes.keys()].join(', ');
		if (typeName.startsWith(`${PACKAGE_NAME}.`) && this.packageLoadError) {
			return new UserError(
				`Node type "${typeName}" is not available: loading the package's built nodes failed (${this.packageLoadError.message}). Run \`npm run build\` and check package.json's "n8n" section.`,
			);
		}
		if (typeName.startsWith(`${PACKAGE_NAME}.`)) {
			return new UserError(
				`Node type "${typeName}" is not in the package's build. List its dist/ file in package.json's "n8n.nodes" and run \`npm run build\`. Known types: ${known}`,
			);
		}
		return new UserError(`Unknown node type "${typeName}". Known types: ${known}`);
	}
}

let loading: Promise<HarnessNodeTypes> | undefined;

/** Loads the node types once per test file (each Jest test file has its own module registry). */
export async function getHarnessNodeTypes(): Promise<HarnessNodeTypes> {
	loading ??= loadNodeTypes();
	return await loading;
}

async function loadNodeTypes(): Promise<HarnessNodeTypes> {
	ensureHarnessEnvironment();
	const nodeTypes = new HarnessNodeTypes();

	for (const [nodeName, nodeType] of Object.entries(fixtureNodes)) {
		nodeTypes.addNode(fixtureNodeType(nodeName), nodeType);
	}
	for (const credentialType of fixtureCredentials) {
		nodeTypes.addCredential(credentialType);
	}

	try {
		// n8n's own loader, so descriptions are validated and prepared as in a real instance.
		const loader = new PackageDirectoryLoader(PACKAGE_ROOT);
		await loader.loadAll();
		for (const [nodeName, { type }] of Object.entries(loader.nodeTypes)) {
			nodeTypes.addNode(`${loader.packageName}.${nodeName}`, type);
		}
		for (const { type } of Object.values(loader.credentialTypes)) {
			nodeTypes.addCredential(type);
		}
	} catch (error) {
		nodeTypes.setPackageLoadError(error instanceof Error ? error : new Error(String(error)));
	}

	return nodeTypes;
}
