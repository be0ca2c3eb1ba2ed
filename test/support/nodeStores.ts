import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import { endPostgresPools } from '../../nodes/engine/store/postgres';
import { connectionOf, createScratchDatabase, type ScratchDatabase } from './postgres';

/** The "Store" parameters a node test passes to our nodes. */
export type StoreChoice = { store: 'builtin'; databaseFile: string } | { store: 'postgres' };

export interface NodeTestStores {
	/** A built-in store in a new SQLite file, so tests never share state. */
	freshBuiltinStore(): { store: 'builtin'; databaseFile: string };
	/** A new temporary folder (removed after the file's tests). */
	tempDir(prefix: string): string;
	/** Credentials for the Sync State PostgreSQL credential, on this file's scratch database. */
	postgresCredentials(overrides?: ICredentialDataDecryptedObject): { syncStatePostgresApi: ICredentialDataDecryptedObject };
}

/**
 * Registers the set-up a node test file needs: a temporary folder for built-in stores and,
 * unless `postgres` is false, a scratch PostgreSQL database; both are removed after the file.
 */
export function useNodeTestStores(label: string, { postgres = true } = {}): NodeTestStores {
	const workDir = mkdtempSync(join(tmpdir(), `tws-${label}-`));
	let fileCounter = 0;
	let database: ScratchDatabase | undefined;

	if (postgres) {
		beforeAll(async () => {
			database = await createScratchDatabase(`${label}_node`);
		});
	}
	afterAll(async () => {
		await endPostgresPools();
		await database?.drop();
		rmSync(workDir, { recursive: true, force: true });
	});

	return {
		freshBuiltinStore: () => ({ store: 'builtin', databaseFile: join(workDir, `state-${++fileCounter}.sqlite`) }),
		tempDir: (prefix) => mkdtempSync(join(workDir, prefix)),
		postgresCredentials: (overrides = {}) => {
			if (!database) throw new Error('This test file set up no PostgreSQL database (useNodeTestStores with postgres: false).');
			return {
				syncStatePostgresApi: { ...connectionOf(database), schema: `${label}_node_test`, ...overrides },
			};
		},
	};
}
