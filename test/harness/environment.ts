import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { Container } from '@n8n/di';
import { BinaryDataConfig, BinaryDataService } from 'n8n-core';
import { Expression, UserError } from 'n8n-workflow';

/**
 * Where n8n keeps binary data during a run:
 * - `default`: in memory, base64 in `binary.<key>.data` (what a bare n8n-core does);
 * - `filesystem`: on disk, `.data` holds only a reference (what `n8n start` and the CLI use).
 */
export type BinaryDataMode = 'default' | 'filesystem';

/**
 * How n8n evaluates `={{ }}` expressions:
 * - `legacy`: in-process, no native module;
 * - `vm`: inside isolated-vm, the default of a real n8n 2.41 instance.
 */
export type ExpressionEngine = 'legacy' | 'vm';

interface HarnessEnvironment {
	userFolder: string;
	binaryDataMode: BinaryDataMode | undefined;
	expressionEngine: ExpressionEngine;
}

let environment: HarnessEnvironment | undefined;

/**
 * n8n-core reads its settings from environment variables the first time each service is built, and
 * it writes an instance config (with an encryption key) into `$N8N_USER_FOLDER/.n8n`. Point that at
 * a throwaway folder before anything asks the DI container for a service, so tests never touch the
 * developer's own `~/.n8n`.
 */
export function ensureHarnessEnvironment(): HarnessEnvironment {
	if (environment) return environment;

	const userFolder = mkdtempSync(path.join(tmpdir(), 'tws-harness-'));
	process.env.N8N_USER_FOLDER = userFolder;
	process.env.N8N_ENCRYPTION_KEY ??= 'two-way-sync-node-tests';
	// Failing nodes are expected in tests; n8n's error reporter would log each of them.
	process.env.N8N_LOG_LEVEL ??= 'silent';

	environment = { userFolder, binaryDataMode: undefined, expressionEngine: 'legacy' };
	return environment;
}

async function tearDownHarnessEnvironment(): Promise<void> {
	await Expression.disposeExpressionEngine();
	if (environment) rmSync(environment.userFolder, { recursive: true, force: true });
	environment = undefined;
}

// Jest gives each test file its own module registry, so this module, the DI container and the
// folder above belong to one file. Hooks can only be added while the file is collected, not inside
// a test, hence here, when the test file imports the harness.
if (typeof afterAll === 'function') afterAll(tearDownHarnessEnvironment);

/** Switches n8n's binary data service to the given mode; re-initialises only when it changes. */
export async function useBinaryDataMode(mode: BinaryDataMode): Promise<void> {
	const env = ensureHarnessEnvironment();
	if (env.binaryDataMode === mode) return;

	Container.get(BinaryDataConfig).mode = mode;
	// In `default` mode no manager matches, so the service keeps data in memory as base64.
	await Container.get(BinaryDataService).init();
	env.binaryDataMode = mode;
}

/** Whether Node runs with --experimental-vm-modules, which Jest needs to honour a dynamic import(). */
export function vmModulesEnabled(): boolean {
	return [process.env.NODE_OPTIONS ?? '', ...process.execArgv].join(' ').includes('--experimental-vm-modules');
}

/** Selects n8n's expression engine. The isolated-vm engine is started once and kept for the file. */
export async function useExpressionEngine(engine: ExpressionEngine): Promise<void> {
	const env = ensureHarnessEnvironment();
	if (env.expressionEngine === engine) return;

	if (engine === 'vm') {
		if (!vmModulesEnabled()) {
			throw new UserError(
				"The 'vm' expression engine needs Jest to run with Node's --experimental-vm-modules: n8n-workflow loads @n8n/expression-runtime with a dynamic import(). Run e.g. `NODE_OPTIONS=--experimental-vm-modules npx jest ...`.",
			);
		}
		try {
			await Expression.initExpressionEngine({
				engine: 'vm',
				bridgeTimeout: 5000,
				bridgeMemoryLimit: 128,
				poolSize: 1,
				maxCodeCacheSize: 1024,
			});
		} catch (error) {
			// initExpressionEngine records the engine before it starts it; undo that, or every
			// later expression fails with "engine has not been initialized".
			Expression.setExpressionEngine('legacy');
			throw error;
		}
	}
	Expression.setExpressionEngine(engine);
	env.expressionEngine = engine;
}
