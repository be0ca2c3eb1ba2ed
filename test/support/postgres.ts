import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Client } from 'pg';

/**
 * A throwaway PostgreSQL for tests: the server named by TWS_TEST_PG_URL, or a fresh cluster from
 * Debian's binaries in a temporary folder, on 127.0.0.1 and a free port, removed again by stop().
 */

export interface ThrowawayPostgres {
	/** Superuser URL of the cluster's `postgres`-owned test database. */
	url: string;
	host: string;
	port: number;
	/** The superuser's password, when the cluster was started with password auth. */
	password?: string;
	dataDir: string;
	stop(): Promise<void>;
}

export interface ThrowawayOptions {
	/** Require scram-sha-256 passwords on TCP, with this password for the superuser `postgres`. */
	superuserPassword?: string;
}

const SUPERUSER = 'postgres';
const TEST_DATABASE = 'tws_test';

function isRoot(): boolean {
	return typeof process.getuid === 'function' && process.getuid() === 0;
}

function findBinDir(): string {
	const root = '/usr/lib/postgresql';
	const newest = () =>
		existsSync(root)
			? readdirSync(root)
					.filter((version) => existsSync(join(root, version, 'bin', 'initdb')))
					.sort((a, b) => Number(b) - Number(a))[0]
			: undefined;
	let version = newest();
	if (!version && isRoot() && existsSync('/etc/debian_version')) {
		process.stderr.write('No PostgreSQL binaries found: installing Debian\'s "postgresql" package for the tests (apt-get install -y postgresql).\n');
		execFileSync('apt-get', ['install', '-y', 'postgresql'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
		version = newest();
	}
	if (!version) {
		throw new Error(
			'The tests need PostgreSQL: set TWS_TEST_PG_URL to a server the tests may create databases on, or install Debian\'s "postgresql" package.',
		);
	}
	return join(root, version, 'bin');
}

/** Runs a PostgreSQL binary, as the postgres user when we are root (initdb and postgres refuse root). */
function runPg(binDir: string, tool: string, args: string[]): string {
	const binary = join(binDir, tool);
	const [command, commandArgs] = isRoot() ? ['runuser', ['-u', SUPERUSER, '--', binary, ...args]] : [binary, args];
	return execFileSync(command, commandArgs, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], cwd: tmpdir() });
}

async function freePort(): Promise<number> {
	return await new Promise((resolve, reject) => {
		const server = createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
		});
	});
}

export function postgresUrl(host: string, port: number, database: string, user = SUPERUSER, password?: string): string {
	const auth = password === undefined ? encodeURIComponent(user) : `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;
	return `postgres://${auth}@${host}:${port}/${encodeURIComponent(database)}`;
}

/** Starts a new cluster. The caller must call stop(); a process exit stops it too. */
export async function startThrowawayPostgres(options: ThrowawayOptions = {}): Promise<ThrowawayPostgres> {
	const binDir = findBinDir();
	const dataDir = mkdtempSync(join(tmpdir(), 'tws-pg-'));
	if (isRoot()) {
		const { uid, gid } = postgresIds();
		chownSync(dataDir, uid, gid);
	}
	chmodSync(dataDir, 0o700);
	const clusterDir = join(dataDir, 'data');
	const port = await freePort();
	let stopped = false;
	const stopNow = () => {
		if (stopped) return;
		stopped = true;
		process.removeListener('exit', stopNow);
		try {
			if (existsSync(join(clusterDir, 'postmaster.pid'))) runPg(binDir, 'pg_ctl', ['stop', '-D', clusterDir, '-m', 'fast', '-w']);
		} finally {
			rmSync(dataDir, { recursive: true, force: true });
		}
	};
	process.once('exit', stopNow);
	try {
		const initArgs = ['-D', clusterDir, '-U', SUPERUSER, '--encoding=UTF8', '--locale=C.UTF-8', '--no-sync'];
		if (options.superuserPassword !== undefined) {
			const passwordFile = join(dataDir, 'pwfile');
			writeFileSync(passwordFile, `${options.superuserPassword}\n`, { mode: 0o600 });
			if (isRoot()) chownSync(passwordFile, postgresIds().uid, postgresIds().gid);
			initArgs.push('--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${passwordFile}`);
		} else {
			initArgs.push('--auth=trust');
		}
		runPg(binDir, 'initdb', initArgs);
		// Durability is pointless for a cluster that is deleted afterwards; without it the tests run faster.
		const settings = [
			`listen_addresses='127.0.0.1'`,
			`port=${port}`,
			`unix_socket_directories='${dataDir}'`,
			'fsync=off',
			'synchronous_commit=off',
			'full_page_writes=off',
			'max_connections=100',
		];
		runPg(binDir, 'pg_ctl', [
			'start',
			'-w',
			'-D',
			clusterDir,
			'-l',
			join(dataDir, 'server.log'),
			'-o',
			settings.map((setting) => `-c ${setting}`).join(' '),
		]);
		const host = '127.0.0.1';
		const admin = new Client({ host, port, user: SUPERUSER, database: 'postgres', password: options.superuserPassword });
		await admin.connect();
		try {
			await admin.query(`CREATE DATABASE ${TEST_DATABASE}`);
		} finally {
			await admin.end();
		}
		return {
			url: postgresUrl(host, port, TEST_DATABASE, SUPERUSER, options.superuserPassword),
			host,
			port,
			password: options.superuserPassword,
			dataDir,
			stop: async () => stopNow(),
		};
	} catch (error) {
		stopNow();
		throw error;
	}
}

function postgresIds(): { uid: number; gid: number } {
	const uid = Number(execFileSync('id', ['-u', SUPERUSER], { encoding: 'utf8' }).trim());
	const gid = Number(execFileSync('id', ['-g', SUPERUSER], { encoding: 'utf8' }).trim());
	return { uid, gid };
}

export interface ScratchDatabase {
	url: string;
	host: string;
	port: number;
	database: string;
	user: string;
	password: string;
	drop(): Promise<void>;
}

/** How the PostgreSQL store, and the Sync State PostgreSQL credential, reach a scratch database. */
export function connectionOf(database: ScratchDatabase): { host: string; port: number; database: string; user: string; password: string; ssl: 'disable' } {
	return { host: database.host, port: database.port, database: database.database, user: database.user, password: database.password, ssl: 'disable' };
}

/** One query on its own connection, to read or change tables past the store. */
export async function queryDatabase<R extends Record<string, unknown>>(database: Pick<ScratchDatabase, 'url'>, sql: string, params: unknown[] = []): Promise<R[]> {
	const client = new Client({ connectionString: database.url });
	await client.connect();
	try {
		return (await client.query<R>(sql, params)).rows;
	} finally {
		await client.end();
	}
}

/** The server the whole test run shares (set up by globalSetup). */
export function sharedPostgresUrl(): string {
	const url = process.env.TWS_TEST_PG_URL;
	if (!url) {
		throw new Error('TWS_TEST_PG_URL is not set: run the tests through jest (its globalSetup starts PostgreSQL), or set it to a server URL.');
	}
	return url;
}

/** A new database with a unique name on the given (or the shared) server, so that test files can run in parallel. */
export async function createScratchDatabase(label: string, serverUrl = sharedPostgresUrl()): Promise<ScratchDatabase> {
	const server = new URL(serverUrl);
	const database = `tws_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
	const admin = new Client({ connectionString: serverUrl });
	await admin.connect();
	try {
		await admin.query(`CREATE DATABASE ${database}`);
	} finally {
		await admin.end();
	}
	const host = server.hostname;
	const port = Number(server.port || 5432);
	const user = decodeURIComponent(server.username) || SUPERUSER;
	const password = decodeURIComponent(server.password);
	const url = postgresUrl(host, port, database, user, password || undefined);
	return {
		url,
		host,
		port,
		database,
		user,
		password,
		drop: async () => {
			const dropper = new Client({ connectionString: serverUrl });
			await dropper.connect();
			try {
				await dropper.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
			} finally {
				await dropper.end();
			}
		},
	};
}
