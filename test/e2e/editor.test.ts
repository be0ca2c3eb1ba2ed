import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
	N8N_SETUP_TIMEOUT_MS,
	createN8nUserFolder,
	n8nHost,
	prepareN8n,
	removeN8nUserFolder,
	type Browser,
	type PackageNode,
	type RunningN8n,
} from './support';

// A real `n8n start` with this package installed as a user's community-node install leaves it,
// checked through the REST API and in the editor's node panel in headless Chromium.

const root = join(__dirname, '..', '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
	name: string;
	n8n?: { nodes?: string[]; credentials?: string[] };
};
const nodeFiles = manifest.n8n?.nodes ?? [];
const artifactsDir = join(root, 'test-artifacts', 'editor');

describe('the n8n editor with this package installed as a community node', () => {
	let userFolder: string | undefined;
	let n8n: RunningN8n | undefined;
	let browser: Browser | undefined;
	let cookie: string;
	let workflowId: string;
	let packageNodes: PackageNode[];
	let registered: Array<{ name: string; displayName: string }>;

	beforeAll(async () => {
		await prepareN8n();
		packageNodes = n8nHost.describePackageNodes(root);
		userFolder = await createN8nUserFolder({ label: 'editor' });
		workflowId = await n8nHost.importWorkflow(userFolder, n8nHost.canvasWorkflow());
		n8n = await n8nHost.startN8n(userFolder);
		cookie = await n8nHost.login(n8n.url);
		registered = await n8nHost.fetchNodeTypes(n8n.url, cookie);
		browser = await n8nHost.launchChromium();
	}, N8N_SETUP_TIMEOUT_MS);

	afterAll(async () => {
		await browser?.close();
		await n8n?.stop();
		await removeN8nUserFolder(userFolder);
	}, 60_000);

	const packageNode = (file: string): PackageNode => {
		const node = packageNodes.find((candidate) => candidate.file === file);
		if (!node) throw new Error(`No node was read from ${file}`);
		return node;
	};

	it('has at least one node listed in package.json n8n.nodes', () => {
		expect(nodeFiles.length).toBeGreaterThan(0);
	});

	if (nodeFiles.length > 0) {
		describe.each(nodeFiles)('the node in %s', (file) => {
			it(`is registered as ${manifest.name}.<its name>, with its display name`, () => {
				const node = packageNode(file);
				const registeredType = registered.find((type) => type.name === `${manifest.name}.${node.name}`);

				expect(registeredType?.displayName).toBe(node.displayName);
			});

			it('is found by its display name in the node panel (screenshot in test-artifacts/editor)', async () => {
				if (!browser || !n8n) throw new Error('The editor was not started.');
				const node = packageNode(file);

				const [result] = await n8nHost.searchNodesInEditor(browser.page, {
					url: n8n.url,
					cookie,
					workflowId,
					nodes: [node],
					artifactsDir,
				});

				expect(result.shownNames).toContain(node.displayName);
			}, 120_000);
		});
	}
});
