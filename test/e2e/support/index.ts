import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { n8nHost, type NodeRun, type RunItem, type RunJson } from './n8nHost';

export * from './n8nHost';

/** For beforeAll: a first install of n8n takes about 4 minutes, a first build about a minute. */
export const N8N_SETUP_TIMEOUT_MS = 20 * 60_000;
/** For a test that imports and executes a few workflows through the CLI (5 to 10 s per command). */
export const N8N_RUN_TIMEOUT_MS = 5 * 60_000;

/** Set TWS_KEEP_N8N_FOLDERS=1 to keep each test's n8n user folder (database, logs) for a look. */
const keepFolders = process.env.TWS_KEEP_N8N_FOLDERS === '1';

const progress = (line: string): void => {
	process.stderr.write(`[n8n-host] ${line}\n`);
};

/** Builds the package when its sources changed and installs the pinned n8n when missing. */
export async function prepareN8n(): Promise<void> {
	await n8nHost.ensurePackageBuilt({ log: progress });
	await n8nHost.ensureN8nInstalled({ log: progress });
}

/** A fresh N8N_USER_FOLDER; with `withPackage`, this package is installed in it as a community node. */
export async function createN8nUserFolder({ label = 'test', withPackage = true } = {}): Promise<string> {
	const folder = await mkdtemp(join(tmpdir(), `tws-n8n-${label}-`));
	if (withPackage) await n8nHost.installPackageInto(folder, { log: progress });
	return folder;
}

export async function removeN8nUserFolder(folder: string | undefined): Promise<void> {
	if (!folder) return;
	if (keepFolders) {
		progress(`kept n8n user folder ${folder}`);
		return;
	}
	await rm(folder, { recursive: true, force: true, maxRetries: 3 });
}

/**
 * Registers beforeAll/afterAll for a describe block: builds and installs once, then gives the block
 * its own user folder with this package installed. Call `folder()` inside tests.
 */
export function withN8nUserFolder({ label = 'test', withPackage = true } = {}): { folder(): string } {
	let folder: string | undefined;
	beforeAll(async () => {
		await prepareN8n();
		folder = await createN8nUserFolder({ label, withPackage });
	}, N8N_SETUP_TIMEOUT_MS);
	afterAll(async () => {
		await removeN8nUserFolder(folder);
	});
	return {
		folder: () => {
			if (!folder) throw new Error('The n8n user folder is not ready: beforeAll has not finished.');
			return folder;
		},
	};
}

/** The runs of one node, failing with the names that did run when it did not. */
export function nodeRuns(run: RunJson, nodeName: string): NodeRun[] {
	const runs = run.data.resultData.runData[nodeName];
	if (!runs) {
		const ran = Object.keys(run.data.resultData.runData).join(', ') || 'none';
		throw new Error(`Node "${nodeName}" did not run. Nodes that ran: ${ran}.`);
	}
	return runs;
}

/** The items one node emitted on one output (0 = first), in its first run unless `runIndex` says otherwise. */
export function outputItems(run: RunJson, nodeName: string, { output = 0, runIndex = 0 } = {}): RunItem[] {
	const nodeRun = nodeRuns(run, nodeName)[runIndex];
	if (!nodeRun) throw new Error(`Node "${nodeName}" has no run ${runIndex}.`);
	return nodeRun.data?.main?.[output] ?? [];
}

/** An output item's sync metadata (`_sync`), as our nodes put it in the JSON. */
export function syncOf(item: Record<string, unknown>): Record<string, unknown> {
	return item._sync as Record<string, unknown>;
}

/** The `json` of each item one node emitted on one output. */
export function outputJson(run: RunJson, nodeName: string, options: { output?: number; runIndex?: number } = {}): Array<Record<string, unknown>> {
	return outputItems(run, nodeName, options).map((item) => item.json);
}

/** Throws with the failing node and n8n's message unless the run succeeded, so a failure reads as n8n's error. */
export function expectRunSucceeded(run: RunJson): void {
	if (run.status === 'success') return;
	const error = run.data.resultData.error;
	const where = error?.node?.name ?? run.data.resultData.lastNodeExecuted ?? 'unknown node';
	const details = error ? `${error.message}${error.description ? ` (${error.description})` : ''}` : 'no error recorded';
	throw new Error(`The workflow run ended with status "${run.status}" at "${where}": ${details}`);
}
