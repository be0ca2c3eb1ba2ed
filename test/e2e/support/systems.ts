import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

import { createScratchDatabase, startThrowawayPostgres, type ThrowawayPostgres } from '../../support/postgres';

type Log = (line: string) => void;

// ---------------------------------------------------------------------------------------------
// scripts/parse-server.mjs

export interface ParseServerKeys {
	serverUrl: string;
	appId: string;
	masterKey: string;
	restApiKey: string;
}

export interface RunningParse extends ParseServerKeys {
	/** http://127.0.0.1:<port> */
	url: string;
	port: number;
	pid: number;
	webhookKey: string;
	readyMs: number;
	output(): string;
	stop(): Promise<{ code: number | null; signal: string | null }>;
}

export interface StartParseOptions {
	/** postgres://user:password@host:port/database; Parse creates its tables there. */
	databaseURI: string;
	port?: number;
	appId?: string;
	masterKey?: string;
	restApiKey?: string;
	webhookKey?: string;
	readyTimeoutMs?: number;
	log?: Log;
}

/** A Parse object as REST returns it. */
export interface ParseObject {
	objectId: string;
	createdAt: string;
	updatedAt: string;
	[field: string]: unknown;
}

/** The JSON body of an afterSave/afterDelete webhook call (see the comment in scripts/parse-server.mjs). */
export interface ParseTriggerBody {
	triggerName: 'afterSave' | 'afterDelete' | string;
	object: ParseObject & { className: string };
	original?: ParseObject & { className: string };
	master: boolean;
	isReadOnly: boolean;
	ip: string;
	/** The writing client's request headers, including its Parse keys. */
	headers: Record<string, string>;
	context: Record<string, unknown>;
	log?: unknown;
	user?: unknown;
	installationId?: string;
}

export interface ParseRequestError extends Error {
	status: number;
	code?: number;
	body: unknown;
}

/** The exports of scripts/parse-server.mjs. */
export interface ParseHost {
	PARSE_HOST_DIR: string;
	ensureParseInstalled(options?: { log?: Log }): Promise<{ changed: boolean; ms: number }>;
	startParse(options: StartParseOptions): Promise<RunningParse>;
	parseRequest<T = any>(
		server: ParseServerKeys,
		method: string,
		path: string,
		body?: unknown,
		options?: { useMasterKey?: boolean; withoutKeys?: boolean },
	): Promise<T>;
	createClassSchema(server: ParseServerKeys, className: string, fields: Record<string, string | { type: string; [option: string]: unknown }>): Promise<unknown>;
	registerTriggerHook(
		server: ParseServerKeys,
		className: string,
		triggerName: 'beforeSave' | 'afterSave' | 'beforeDelete' | 'afterDelete' | 'beforeFind' | 'afterFind',
		url: string,
	): Promise<{ className: string; triggerName: string; url: string }>;
	changedSince(server: ParseServerKeys, className: string, since: Date | string | number, options?: { limit?: number }): Promise<ParseObject[]>;
	ParseRequestError: new (...args: never[]) => ParseRequestError;
}

// ---------------------------------------------------------------------------------------------
// scripts/demo-systems.mjs

export type DemoKind = 'crm' | 'erp';

/** A CRM contact as the demo CRM returns it. */
export interface CrmContact {
	id: string;
	fullName: string;
	email: string | null;
	phoneNumber: string | null;
	isActive: 'yes' | 'no' | null;
	/** dd/MM/yyyy */
	birthday: string | null;
	status: 'Active' | 'Inactive' | 'Lead' | null;
	/** Epoch milliseconds. */
	updatedAt: number;
}

/** An ERP customer as the demo ERP returns it. */
export interface ErpCustomer {
	id: number;
	full_name: string;
	email: string | null;
	phone: string | null;
	active: boolean | null;
	/** yyyy-MM-dd */
	birth_date: string | null;
	status: 'A' | 'I' | 'L' | null;
	/** ISO timestamp. */
	updated_at: string;
}

export interface DemoSystemAddress {
	url: string;
	apiKey: string;
}

export interface RunningDemoSystem extends DemoSystemAddress {
	kind: DemoKind;
	port: number;
	pid: number;
	collection: 'contacts' | 'customers';
	dataFile: string;
	output(): string;
	stop(): Promise<{ code: number | null; signal: string | null }>;
}

export interface DemoRequestError extends Error {
	status: number;
	body: { error: string; message: string; details?: Array<{ field: string; message: string }> } | null;
}

/** The exports of scripts/demo-systems.mjs. */
export interface DemoSystems {
	DEMO_SCHEMAS: Record<DemoKind, { title: string; collection: string; entity: string; idType: string; updatedField: string; updatedFormat: string; fields: Record<string, unknown> }>;
	DEMO_SEED: { contacts: Array<Omit<CrmContact, 'id' | 'updatedAt'>>; customers: Array<Omit<ErpCustomer, 'id' | 'updated_at'>> };
	startDemoSystem(options: { kind: DemoKind; port?: number; dataFile: string; apiKey: string; readyTimeoutMs?: number }): Promise<RunningDemoSystem>;
	/** `apiKey: null` sends no key at all. */
	demoRequest<T = any>(system: DemoSystemAddress, method: string, path: string, body?: unknown, options?: { apiKey?: string | null }): Promise<T>;
	seedDemo(systems: { crm: DemoSystemAddress; erp: DemoSystemAddress }): Promise<{ contacts: CrmContact[]; customers: ErpCustomer[] }>;
	DemoRequestError: new (...args: never[]) => DemoRequestError;
}

// jest's own module system loads ESM only under --experimental-vm-modules. Node 24's real require
// loads an ES module directly (as test/e2e/support/n8nHost.ts does for scripts/n8n-host.mjs).
const nodeRequire = process.getBuiltinModule('node:module').createRequire(__filename);
const scripts = join(__dirname, '..', '..', '..', 'scripts');

export const parseHost = nodeRequire(join(scripts, 'parse-server.mjs')) as ParseHost;
export const demoSystems = nodeRequire(join(scripts, 'demo-systems.mjs')) as DemoSystems;

// ---------------------------------------------------------------------------------------------
// Parse Server on its own password-protected PostgreSQL, for a describe block

/** For beforeAll: a first install of Parse Server takes about a minute; its start a few seconds. */
export const PARSE_SETUP_TIMEOUT_MS = 10 * 60_000;

const progress: Log = (line) => {
	process.stderr.write(`[parse] ${line}\n`);
};

export interface ParseStack {
	/** The throwaway cluster (password auth on TCP) that holds Parse's database. */
	postgres: ThrowawayPostgres;
	parse: RunningParse;
	/** Stops Parse, then the cluster, each by its own pid. */
	stop(): Promise<void>;
}

/**
 * Installs Parse Server when missing, starts a throwaway PostgreSQL with a password, and runs Parse on
 * a fresh database there. The caller must call stop().
 */
export async function startParseStack(options: Omit<StartParseOptions, 'databaseURI'> & { postgresPassword?: string } = {}): Promise<ParseStack> {
	const { postgresPassword = randomBytes(12).toString('base64url'), ...parseOptions } = options;
	await parseHost.ensureParseInstalled({ log: progress });
	const postgres = await startThrowawayPostgres({ superuserPassword: postgresPassword });
	let parse: RunningParse | undefined;
	try {
		const database = await createScratchDatabase('parse', postgres.url);
		parse = await parseHost.startParse({ log: progress, ...parseOptions, databaseURI: database.url });
	} catch (error) {
		await postgres.stop();
		throw error;
	}
	const running = parse;
	return {
		postgres,
		parse: running,
		stop: async () => {
			try {
				await running.stop();
			} finally {
				await postgres.stop();
			}
		},
	};
}
