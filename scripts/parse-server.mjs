// Runs the pinned real Parse Server (e2e/parse-host) on a PostgreSQL database for the end-to-end
// tests and the examples: install, start, stop, and a few REST helpers.
//
// CLI: node scripts/parse-server.mjs install
//      | start --database-uri URI [--port N] [--app-id ID]   (keys from PARSE_MASTER_KEY,
//        PARSE_REST_API_KEY, PARSE_WEBHOOK_KEY, or random; runs until Ctrl-C)
// Plain ESM so it runs without a build. Parse Server always runs on the Node 24 in node_modules.
//
// What Parse Server 9.10.0 does, as measured here:
// - Every REST call needs `X-Parse-Application-Id` plus `X-Parse-REST-API-Key` or
//   `X-Parse-Master-Key`; without a key it answers 403 `{"error":"unauthorized"}`.
// - Classes must exist before the REST key can write to them (client class creation is off):
//   create them with the master key (`createClassSchema`). Writing to an unknown class with the
//   REST key answers 400 `{"code":119,"error":"Permission denied"}`.
// - POST /classes/<C> answers 201 `{objectId, createdAt}`; PUT /classes/<C>/<id> is a partial update
//   and answers 200 `{updatedAt}`; DELETE answers 200 `{}`; GET of a missing object answers 404
//   `{"code":101,"error":"Object not found."}`.
// - `createdAt`/`updatedAt` are ISO strings with milliseconds. Incremental read:
//   GET /classes/<C>?where={"updatedAt":{"$gt":{"__type":"Date","iso":"<ISO>"}}}&order=updatedAt
//   (`changedSince` below). Deletes leave nothing to query: use the afterDelete hook or a full read.
// - The master key works only from 127.0.0.1/::1 (masterKeyIps), which is where the tests call from.
// - Parse writes log files to `./logs` of its working directory unless told otherwise; here each
//   server logs into its own temporary folder, removed by stop().
//
// Webhooks (POST /hooks/triggers with {className, triggerName, url}, master key; `registerTriggerHook`):
// after each save or delete, Parse POSTs JSON to the url with the headers
// `Content-Type: application/json` and `X-Parse-Webhook-Key: <webhookKey>` (the shared secret itself:
// a plain equality check, no HMAC). The body, as received from 9.10.0:
//   {
//     "triggerName": "afterSave" | "afterDelete",
//     "object":   { ...fields, "objectId", "createdAt", "updatedAt" (ISO), "className" },
//     "original": { ...the object before the update, same shape },   // afterSave of an update only
//     "master": false,            // true when the write used the master key
//     "isReadOnly": false,
//     "ip": "127.0.0.1",          // the writing client's address
//     "headers": { ... },         // the writing client's request headers, INCLUDING its
//                                 // x-parse-rest-api-key or x-parse-master-key: never log or store them
//     "log": { "options": {...}, "appId": "<appId>" },
//     "context": {},
//     "user": { ... },            // only when the write carried a session token
//     "installationId": "..."     // only when the client sent one
//   }
// - afterSave of a create has no `original` (and object.createdAt === object.updatedAt).
// - afterDelete's `object` is the last stored state; there is no `original`.
// - The write is committed before the call, but Parse answers its client only after the webhook has
//   answered: a slow webhook slows every write (measured: a 1.5 s webhook made a PUT take 1.5 s).
// - Parse reads the answer as JSON `{"success": ...}` or `{"error": ...}`; a body that is not JSON
//   counts as an error. Parse does not retry. An afterSave error is only logged: the client still
//   gets 200. An afterDelete error, or an unreachable url, makes the client's DELETE answer 400
//   (code 141) although the object IS deleted (measured).

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { NODE24, ROOT, commandFailure, freePort, pathWithNode24, run as runCommand, tail, withHeartbeat } from './n8n-host.mjs';

export const PARSE_HOST_DIR = join(ROOT, 'e2e', 'parse-host');
const PARSE_MODULES = join(PARSE_HOST_DIR, 'node_modules');
const PARSE_BIN = join(PARSE_MODULES, 'parse-server', 'bin', 'parse-server');
const INSTALL_STAMP = join(PARSE_MODULES, '.two-way-sync-parse-host.json');

const defaultLog = (line) => process.stderr.write(`${line}\n`);
const sleep = (ms) => new Promise((resolvePromise) => setTimeout(resolvePromise, ms));

// ---------------------------------------------------------------------------------------------
// Processes (shared with scripts/demo-systems.mjs)

// Pids of the servers started here and still running; one exit listener kills them all, however
// many there are (a listener per server trips Node's MaxListeners warning).
const liveServerPids = new Set();
const killLiveServers = () => {
	for (const pid of liveServerPids) signalPid(pid, 'SIGKILL');
};

/**
 * Spawns a long-running server and tracks it by pid: its output is kept (bounded), `stop()` sends
 * SIGTERM to that pid and SIGKILL after `graceMs`, and the caller's exit kills it too.
 */
export function spawnServer(command, args, { cwd, env, graceMs = 10_000 }) {
	const child = spawn(command, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
	let output = '';
	const keep = (chunk) => {
		output = (output + chunk).slice(-200_000);
	};
	child.stdout.setEncoding('utf8').on('data', keep);
	child.stderr.setEncoding('utf8').on('data', keep);
	// A write to the stdin of a child that died early must not crash the caller.
	child.stdin.on('error', () => undefined);
	let exitInfo;
	const exited = new Promise((resolvePromise) => {
		child.on('exit', (code, signal) => {
			exitInfo = { code, signal };
			resolvePromise(exitInfo);
		});
		child.on('error', (error) => {
			exitInfo ??= { code: null, signal: null, error };
			resolvePromise(exitInfo);
		});
	});
	if (child.pid !== undefined) {
		if (liveServerPids.size === 0) process.on('exit', killLiveServers);
		liveServerPids.add(child.pid);
		exited.then(() => {
			liveServerPids.delete(child.pid);
			if (liveServerPids.size === 0) process.removeListener('exit', killLiveServers);
		});
	}

	const stop = async () => {
		if (exitInfo) return exitInfo;
		signalPid(child.pid, 'SIGTERM');
		let timer;
		const overdue = new Promise((resolvePromise) => {
			timer = setTimeout(() => {
				signalPid(child.pid, 'SIGKILL');
				resolvePromise();
			}, graceMs);
		});
		try {
			await Promise.race([exited, overdue.then(() => exited)]);
		} finally {
			// A pending timer would keep the caller (jest, the demo) alive after the exit.
			clearTimeout(timer);
		}
		return exitInfo;
	};
	return { child, pid: child.pid, exited, exitInfo: () => exitInfo, output: () => output, stop };
}

function signalPid(pid, signal) {
	if (pid === undefined) return;
	try {
		process.kill(pid, signal);
	} catch (error) {
		// Already gone: nothing to stop.
		if (error.code !== 'ESRCH') throw error;
	}
}

/** Polls `check` until it returns something truthy; fails early when the server process exits. */
export async function waitUntilReady(server, check, { timeoutMs, what }) {
	const started = Date.now();
	for (;;) {
		const exit = server.exitInfo();
		if (exit) {
			const how = exit.error ? exit.error.message : exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
			throw new Error(`${what} exited before it was ready (${how}).\n${tail(server.output())}`);
		}
		const ready = await check().catch(() => false);
		if (ready) return Date.now() - started;
		if (Date.now() - started > timeoutMs) {
			await server.stop();
			throw new Error(`${what} was not ready within ${timeoutMs / 1000} s.\n${tail(server.output())}`);
		}
		await sleep(200);
	}
}

// ---------------------------------------------------------------------------------------------
// Installing Parse Server

function readJson(file) {
	return JSON.parse(readFileSync(file, 'utf8'));
}

function wantedInstallStamp() {
	const lockfile = createHash('sha256')
		.update(readFileSync(join(PARSE_HOST_DIR, 'package.json')))
		.update(readFileSync(join(PARSE_HOST_DIR, 'package-lock.json')))
		.digest('hex');
	return {
		parseServer: readJson(join(PARSE_HOST_DIR, 'package.json')).dependencies['parse-server'],
		lockfile,
		node: readJson(join(ROOT, 'node_modules', 'node', 'package.json')).version,
		platform: `${process.platform}-${process.arch}`,
	};
}

/**
 * Makes e2e/parse-host ready to run Parse Server on Node 24. Quick when nothing changed: a stamp keyed
 * by the lockfile and the Node version. Install scripts are skipped: none of Parse Server's are
 * needed (its only native part, @node-rs/bcrypt, ships prebuilt binaries).
 */
export async function ensureParseInstalled({ log = defaultLog } = {}) {
	const started = Date.now();
	const wanted = wantedInstallStamp();
	const stamp = existsSync(INSTALL_STAMP) ? readJson(INSTALL_STAMP) : null;
	if (stamp && JSON.stringify(stamp) === JSON.stringify(wanted) && existsSync(PARSE_BIN)) {
		return { changed: false, ms: Date.now() - started };
	}
	if (!existsSync(NODE24)) {
		throw new Error(`Node 24 is missing at ${NODE24}. Run \`npm ci\` in ${ROOT} first: the tests run Parse Server on it.`);
	}
	log(`Installing Parse Server ${wanted.parseServer} into ${relative(ROOT, PARSE_HOST_DIR)} (first time takes about a minute)...`);
	const install = await withHeartbeat(
		log,
		'npm ci',
		runCommand('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], {
			cwd: PARSE_HOST_DIR,
			env: { ...process.env, PATH: pathWithNode24() },
		}),
	);
	if (install.code !== 0) throw commandFailure(`npm ci in ${PARSE_HOST_DIR}`, install);
	if (!existsSync(PARSE_BIN)) throw new Error(`npm ci finished but ${PARSE_BIN} is missing.`);
	log(`  npm ci done in ${Math.round(install.ms / 1000)} s`);
	await mkdir(dirname(INSTALL_STAMP), { recursive: true });
	await writeFile(INSTALL_STAMP, `${JSON.stringify(wanted, null, 2)}\n`);
	return { changed: true, ms: Date.now() - started };
}

// ---------------------------------------------------------------------------------------------
// Starting and stopping

// Settings a developer's shell may carry that would change the server under test.
const INHERITED_PARSE_SETTING = /^(PARSE_|PORT$|VERBOSE$|SILENT$|TESTING$|NODE_ENV$|JSON_LOGS$)/;

const randomKey = () => randomBytes(18).toString('base64url');

/**
 * Starts Parse Server (its own CLI, on Node 24) on `databaseURI`, listening on 127.0.0.1 only, and
 * waits until this process reported itself running and /parse/health answers ok. The keys go in
 * through the environment, so they do not show in the process list. Keys left out are random.
 * Returns the keys with the server, so the REST helpers below can use it.
 */
export async function startParse({
	databaseURI,
	port,
	appId = 'two-way-sync',
	masterKey = randomKey(),
	restApiKey = randomKey(),
	webhookKey = randomKey(),
	readyTimeoutMs = 120_000,
	log = defaultLog,
} = {}) {
	if (!/^postgres(ql)?:\/\//.test(databaseURI ?? '')) {
		throw new Error(`startParse needs databaseURI as postgres://user:password@host:port/database (got ${JSON.stringify(databaseURI)}).`);
	}
	if (!existsSync(PARSE_BIN)) throw new Error(`Parse Server is not installed in ${PARSE_HOST_DIR}. Call ensureParseInstalled() first.`);
	const httpPort = port ?? (await freePort());
	const url = `http://127.0.0.1:${httpPort}`;
	const serverUrl = `${url}/parse`;
	const workDir = await mkdtemp(join(tmpdir(), 'tws-parse-'));
	const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !INHERITED_PARSE_SETTING.test(key)));
	const server = spawnServer(NODE24, [PARSE_BIN], {
		cwd: workDir,
		env: {
			...inherited,
			PATH: pathWithNode24(inherited.PATH),
			PARSE_SERVER_APPLICATION_ID: appId,
			PARSE_SERVER_MASTER_KEY: masterKey,
			PARSE_SERVER_REST_API_KEY: restApiKey,
			PARSE_SERVER_WEBHOOK_KEY: webhookKey,
			PARSE_SERVER_DATABASE_URI: databaseURI,
			PARSE_SERVER_HOST: '127.0.0.1',
			PORT: String(httpPort),
			PARSE_SERVER_MOUNT_PATH: '/parse',
			PARSE_SERVER_URL: serverUrl,
			PARSE_SERVER_MASTER_KEY_IPS: '127.0.0.1,::1',
			PARSE_SERVER_ALLOW_CLIENT_CLASS_CREATION: 'false',
			PARSE_SERVER_LOGS_FOLDER: join(workDir, 'logs'),
		},
	});
	const stop = async () => {
		try {
			return await server.stop();
		} finally {
			rmSync(workDir, { recursive: true, force: true });
		}
	};
	// Another server on the same port may also answer /health: only this pid's own line counts.
	const runningLine = `[${server.pid}] parse-server running on`;
	let readyMs;
	try {
		readyMs = await waitUntilReady(
			server,
			async () => {
				if (!server.output().includes(runningLine)) return false;
				const response = await fetch(`${serverUrl}/health`);
				return response.ok && (await response.json()).status === 'ok';
			},
			{ timeoutMs: readyTimeoutMs, what: `Parse Server on port ${httpPort}` },
		);
	} catch (error) {
		await stop();
		throw error;
	}
	log(`Parse Server ready at ${serverUrl} (pid ${server.pid}) after ${(readyMs / 1000).toFixed(1)} s`);
	return { url, serverUrl, port: httpPort, pid: server.pid, appId, masterKey, restApiKey, webhookKey, readyMs, output: server.output, stop };
}

// ---------------------------------------------------------------------------------------------
// REST helpers. `server` is what startParse returned (or any { serverUrl, appId, masterKey, restApiKey }).

/** A Parse REST call that failed: HTTP status and Parse's own `code` and `error`. */
export class ParseRequestError extends Error {
	constructor(method, path, status, body) {
		const error = body && typeof body === 'object' ? (body.error ?? body) : body;
		const detail = `${typeof error === 'string' ? error : JSON.stringify(error)}${body?.code !== undefined ? ` (code ${body.code})` : ''}`;
		super(`Parse ${method} ${path} answered HTTP ${status}: ${detail}`);
		this.name = 'ParseRequestError';
		this.status = status;
		this.code = body?.code;
		this.body = body;
	}
}

/**
 * One REST call to Parse, authenticated with the REST key (or the master key, or no key at all with
 * `withoutKeys`). `path` is relative to /parse, e.g. `/classes/Contact`. Returns the parsed JSON body
 * (null for an empty one); throws ParseRequestError for any status of 400 and above.
 */
export async function parseRequest(server, method, path, body, { useMasterKey = false, withoutKeys = false } = {}) {
	const headers = { 'X-Parse-Application-Id': server.appId };
	if (!withoutKeys) {
		if (useMasterKey) headers['X-Parse-Master-Key'] = server.masterKey;
		else headers['X-Parse-REST-API-Key'] = server.restApiKey;
	}
	if (body !== undefined) headers['Content-Type'] = 'application/json';
	const response = await fetch(`${server.serverUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
	const text = await response.text();
	let parsed = null;
	if (text) {
		try {
			parsed = JSON.parse(text);
		} catch {
			parsed = text;
		}
	}
	if (response.status >= 400) throw new ParseRequestError(method, path, response.status, parsed);
	return parsed;
}

const PARSE_FIELD_TYPES = new Set(['String', 'Number', 'Boolean', 'Date', 'Object', 'Array', 'Pointer', 'Relation', 'File', 'GeoPoint', 'Polygon', 'Bytes']);

/**
 * Creates a class with the master key. `fields` maps names to a Parse type name ('String', 'Number',
 * 'Boolean', 'Date', ...) or to a full field definition ({ type, required, defaultValue, ... }).
 * Returns Parse's schema of the new class.
 */
export async function createClassSchema(server, className, fields) {
	const definitions = Object.fromEntries(
		Object.entries(fields).map(([name, field]) => {
			const definition = typeof field === 'string' ? { type: field } : field;
			if (!PARSE_FIELD_TYPES.has(definition?.type)) {
				throw new Error(`Field "${name}" of ${className} has type ${JSON.stringify(definition?.type)}; Parse knows ${[...PARSE_FIELD_TYPES].join(', ')}.`);
			}
			return [name, definition];
		}),
	);
	return await parseRequest(server, 'POST', `/schemas/${encodeURIComponent(className)}`, { className, fields: definitions }, { useMasterKey: true });
}

const TRIGGER_NAMES = new Set(['beforeSave', 'afterSave', 'beforeDelete', 'afterDelete', 'beforeFind', 'afterFind']);

/**
 * Points a class trigger (afterSave, afterDelete, ...) at a URL, with the master key. Registering the
 * same trigger again moves it to the new URL. Returns { className, triggerName, url }.
 */
export async function registerTriggerHook(server, className, triggerName, url) {
	if (!TRIGGER_NAMES.has(triggerName)) throw new Error(`Unknown Parse trigger "${triggerName}"; use one of ${[...TRIGGER_NAMES].join(', ')}.`);
	try {
		return await parseRequest(server, 'POST', '/hooks/triggers', { className, triggerName, url }, { useMasterKey: true });
	} catch (error) {
		// 143: "class X already has trigger Y"
		if (!(error instanceof ParseRequestError && error.code === 143)) throw error;
		const path = `/hooks/triggers/${encodeURIComponent(className)}/${encodeURIComponent(triggerName)}`;
		return await parseRequest(server, 'PUT', path, { url }, { useMasterKey: true });
	}
}

/**
 * The objects of a class changed after `since` (a Date, an ISO string or epoch milliseconds), oldest
 * first: the same query an incremental read sends. Parse returns at most `limit` objects per call.
 */
export async function changedSince(server, className, since, { limit = 1000 } = {}) {
	const iso = new Date(since).toISOString();
	const where = encodeURIComponent(JSON.stringify({ updatedAt: { $gt: { __type: 'Date', iso } } }));
	const { results } = await parseRequest(server, 'GET', `/classes/${encodeURIComponent(className)}?where=${where}&order=updatedAt&limit=${limit}`);
	return results;
}

// ---------------------------------------------------------------------------------------------
// CLI

function flag(args, name) {
	const index = args.indexOf(name);
	return index >= 0 ? args[index + 1] : undefined;
}

async function main(argv) {
	const [command, ...args] = argv;
	const log = (line) => console.log(line);
	switch (command) {
		case 'install': {
			const { changed, ms } = await ensureParseInstalled({ log });
			log(changed ? `Parse Server is installed (${Math.round(ms / 1000)} s).` : 'Parse Server is already installed.');
			return;
		}
		case 'start': {
			const databaseURI = flag(args, '--database-uri');
			const port = flag(args, '--port');
			await ensureParseInstalled({ log });
			const server = await startParse({
				databaseURI,
				port: port === undefined ? undefined : Number(port),
				appId: flag(args, '--app-id'),
				masterKey: process.env.PARSE_MASTER_KEY || undefined,
				restApiKey: process.env.PARSE_REST_API_KEY || undefined,
				webhookKey: process.env.PARSE_WEBHOOK_KEY || undefined,
				log,
			});
			log(`pid ${server.pid}, app id ${server.appId}. Ctrl-C stops it.`);
			// Keys the user gave stay unprinted; random ones must be shown, or nobody could use them.
			for (const [variable, value] of [
				['PARSE_MASTER_KEY', server.masterKey],
				['PARSE_REST_API_KEY', server.restApiKey],
				['PARSE_WEBHOOK_KEY', server.webhookKey],
			]) {
				if (!process.env[variable]) log(`  ${variable} was unset; this server's random key: ${value}`);
			}
			const shutdown = () => server.stop().then(() => process.exit(0));
			process.once('SIGINT', shutdown);
			process.once('SIGTERM', shutdown);
			return;
		}
		default:
			console.error('Usage: node scripts/parse-server.mjs install | start --database-uri postgres://... [--port N] [--app-id ID]');
			process.exitCode = 2;
	}
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
	main(process.argv.slice(2)).catch((error) => {
		console.error(error instanceof Error ? error.message : error);
		process.exit(1);
	});
}

