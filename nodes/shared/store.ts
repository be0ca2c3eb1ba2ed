import { homedir } from 'node:os';
import { join } from 'node:path';

import type { ICredentialDataDecryptedObject, IExecuteFunctions } from 'n8n-workflow';

import { openBuiltinStore } from '../engine/store/sqlite';
import { openPostgresStore, type PostgresStoreOptions } from '../engine/store/postgres';
import type { SyncStore } from '../engine/store/SyncStore';
import { SYNC_STATE_POSTGRES_CREDENTIAL } from './descriptions';

export const BUILTIN_STORE_FILE = 'two-way-sync.sqlite';

/** n8n keeps its files in <N8N_USER_FOLDER or home>/.n8n; the built-in store sits beside them. */
export function defaultBuiltinStorePath(env: NodeJS.ProcessEnv = process.env): string {
	return join(env.N8N_USER_FOLDER || homedir(), '.n8n', BUILTIN_STORE_FILE);
}

export function postgresOptionsFromCredential(credential: ICredentialDataDecryptedObject): PostgresStoreOptions {
	return {
		host: String(credential.host ?? 'localhost'),
		port: Number(credential.port ?? 5432),
		database: String(credential.database ?? 'postgres'),
		user: String(credential.user ?? 'postgres'),
		password: String(credential.password ?? ''),
		ssl: (credential.ssl as PostgresStoreOptions['ssl']) ?? 'disable',
		schema: String(credential.schema || 'two_way_sync'),
		tablePrefix: String(credential.tablePrefix ?? ''),
		caCertificate: String(credential.caCertificate ?? ''),
	};
}

/** Opens the store the node's "Store" parameter names. The caller closes it. */
export async function openNodeStore(ctx: IExecuteFunctions): Promise<SyncStore> {
	const backend = ctx.getNodeParameter('store', 0, 'builtin') as string;
	if (backend === 'postgres') {
		const credential = await ctx.getCredentials(SYNC_STATE_POSTGRES_CREDENTIAL);
		return await openPostgresStore(postgresOptionsFromCredential(credential));
	}
	const file = (ctx.getNodeParameter('databaseFile', 0, '') as string).trim();
	return await openBuiltinStore({
		filePath: file ? file.replace(/^~(?=$|\/)/, homedir()) : defaultBuiltinStorePath(),
		executionsMode: process.env.EXECUTIONS_MODE,
	});
}

export async function withNodeStore<T>(ctx: IExecuteFunctions, run: (store: SyncStore) => Promise<T>): Promise<T> {
	const store = await openNodeStore(ctx);
	try {
		return await run(store);
	} finally {
		await store.close();
	}
}
