import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { endPostgresPools, openPostgresStore } from '../../nodes/engine/store/postgres';
import { openBuiltinStore } from '../../nodes/engine/store/sqlite';
import type { SyncStore } from '../../nodes/engine/store/SyncStore';
import { connectionOf, createScratchDatabase, type ScratchDatabase } from './postgres';

/**
 * Each store backend as the engine tests see it: one shared place (a file, or a scratch database)
 * that any number of stores can be opened on, and a clean-up.
 */
export interface StoreBackend {
	name: 'builtin' | 'postgres';
	setUp(): Promise<void>;
	/** `worker` gives the caller its own connections on PostgreSQL (a separate pool); the built-in store opens the file again. */
	open(worker?: number): Promise<SyncStore>;
	tearDown(): Promise<void>;
	/** The file of the built-in store. */
	readonly filePath?: string;
	/** The scratch database of the PostgreSQL store. */
	readonly database?: ScratchDatabase;
}

export function builtinBackend(label: string): StoreBackend {
	let folder = '';
	return {
		name: 'builtin',
		setUp: async () => {
			folder = mkdtempSync(join(tmpdir(), `tws-${label}-`));
		},
		open: () => openBuiltinStore({ filePath: join(folder, 'state.sqlite') }),
		tearDown: async () => rmSync(folder, { recursive: true, force: true }),
		get filePath() {
			return join(folder, 'state.sqlite');
		},
	};
}

export function postgresBackend(label: string): StoreBackend {
	let database: ScratchDatabase | undefined;
	return {
		name: 'postgres',
		setUp: async () => {
			database = await createScratchDatabase(label);
		},
		// A different pool size is a different pool: each worker talks over its own connections.
		open: (worker) => openPostgresStore({ ...connectionOf(database!), ...(worker === undefined ? {} : { poolMax: 4 + worker }) }),
		tearDown: async () => {
			await endPostgresPools();
			await database?.drop();
		},
		get database() {
			return database;
		},
	};
}
