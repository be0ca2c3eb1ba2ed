import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { WorkflowJson } from './n8nHost';
import { parseHost, type ParseObject, type RunningParse } from './systems';
import { CLASS, PACKAGE_TYPE_PREFIX, exampleFor, withPostgresStore, type StoreKind } from './twoWaySystems';

// Shared by the fault tests (test/e2e/faults*.e2e.test.ts): the example workflow tuned for a test
// run, a reader of the retry queue, a full read of Parse, and the figures file RELIABILITY.md quotes.

const RESULTS_DIR = join(__dirname, '..', '..', '..', 'bench', 'results');

/** Writes the figures of one fault test to bench/results/reliability-<name>-<date>.json; returns the path. */
export function writeReliabilityFigures(name: string, figures: Record<string, unknown>): string {
	mkdirSync(RESULTS_DIR, { recursive: true });
	const date = new Date().toISOString().slice(0, 10);
	const file = join(RESULTS_DIR, `reliability-${name}-${date}.json`);
	writeFileSync(file, `${JSON.stringify({ name, finishedAt: new Date().toISOString(), ...figures }, null, '\t')}\n`);
	return file;
}

export interface ExampleTuning {
	/** The HTTP write nodes' timeout, so a held request fails fast. */
	httpTimeoutMs?: number;
	/** Record Failed Writes: first delay and longest delay, in seconds, and the attempts before dead-lettering. */
	retry?: { baseDelaySeconds: number; maxDelaySeconds: number; maxAttempts: number };
}

const HTTP_WRITERS = new Set(['Create Contacts', 'Update Contacts', 'Delete Contacts']);

/** Example workflow 1 as shipped, pointed at `parseUrl`, with the test's timeout and retry delays. */
export function tunedExample(parseUrl: string, store: StoreKind, tuning: ExampleTuning = {}): WorkflowJson {
	const workflow = exampleFor(parseUrl, store);
	for (const node of workflow.nodes) {
		if (tuning.httpTimeoutMs !== undefined && HTTP_WRITERS.has(node.name)) {
			node.parameters = { ...node.parameters, options: { ...(node.parameters.options as object), timeout: tuning.httpTimeoutMs } };
		}
		if (tuning.retry && node.name === 'Record Failed Writes') node.parameters = { ...node.parameters, ...tuning.retry };
	}
	return workflow;
}

/** Lists every entry of the sync's retry queue (pending and dead-lettered). */
export function retryQueueWorkflow(store: StoreKind): WorkflowJson {
	const workflow: WorkflowJson = {
		name: 'Retry queue check',
		nodes: [
			{ id: 'queue-check-start', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
			{
				id: 'queue-check-list',
				name: 'Queued Changes',
				type: `${PACKAGE_TYPE_PREFIX}syncState`,
				typeVersion: 1,
				position: [220, 0],
				parameters: { syncId: 'contacts', resource: 'retryQueue', operation: 'listRetries', status: 'all', limit: 10000 },
			},
		],
		connections: { Start: { main: [[{ node: 'Queued Changes', type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
	};
	if (store === 'postgres') for (const node of workflow.nodes) withPostgresStore(node);
	return workflow;
}

/** Every contact in Parse, read directly (not through the proxy), in one page. */
export async function allContacts(parse: RunningParse): Promise<ParseObject[]> {
	const { results } = await parseHost.parseRequest<{ results: ParseObject[] }>(parse, 'GET', `/classes/${CLASS}?limit=100000&order=objectId`);
	return results;
}

export async function countContacts(parse: RunningParse): Promise<number> {
	const { count } = await parseHost.parseRequest<{ count: number }>(parse, 'GET', `/classes/${CLASS}?count=1&limit=0`);
	return count;
}

/** How many values occur more than once (case-insensitive): each extra copy counts. */
export function duplicateCount(values: string[]): number {
	return values.length - new Set(values.map((value) => value.toLowerCase())).size;
}
