// Runs the pinned real n8n (e2e/n8n-host) for the demo and the end-to-end tests, with this package
// installed the way n8n's own community-node installer leaves it.
//
// CLI: node scripts/n8n-host.mjs install | build | link [--user-folder DIR] [--package-dir DIR]
//      | smoke | editor-check [--package-dir DIR] [--artifacts DIR]
// Plain ESM so it runs without a build. n8n itself always runs on the Node 24 in node_modules.

import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const HOST_DIR = join(ROOT, 'e2e', 'n8n-host');
const HOST_MODULES = join(HOST_DIR, 'node_modules');
const N8N_BIN = join(HOST_MODULES, 'n8n', 'bin', 'n8n');
const ROOT_BIN = join(ROOT, 'node_modules', '.bin');
export const NODE24 = join(ROOT, 'node_modules', 'node', 'bin', 'node');
// The machine's npmrc points nodedir at Node 20's headers; native builds must use Node 24's own.
const NODE24_HEADERS = join(ROOT, 'node_modules', 'node', 'node_modules', `node-${process.platform}-${process.arch}`);
const INSTALL_STAMP = join(HOST_MODULES, '.two-way-sync-host.json');
// Scratch space the root .gitignore already ignores.
const SCRATCH = join(ROOT, '.tmp');
const BUILD_STAMP = join(SCRATCH, 'build-stamp.json');
// Installed package copies hold a package.json each: kept inside node_modules, where jest's module
// map does not look (it reports a naming collision with the root package.json anywhere else).
const PACKAGE_CACHE = join(HOST_MODULES, '.cache', 'two-way-sync-packages');

/** The owner that `startN8n` creates through env, so no set-up screen appears. */
export const OWNER = Object.freeze({ email: 'owner@two-way-sync.test', password: 'Sync-Check-2-way!' });

const defaultLog = (line) => process.stderr.write(`${line}\n`);

// ---------------------------------------------------------------------------------------------
// Processes

export function pathWithNode24(basePath = process.env.PATH ?? '') {
	return [ROOT_BIN, basePath].filter(Boolean).join(':');
}

/**
 * Runs a command to completion and keeps its output; never throws on a non-zero exit.
 * Standard output goes through a file, not a pipe: n8n exits before a pipe is drained, and the
 * end of a large run JSON would be lost.
 */
export function run(command, args, { cwd = ROOT, env = process.env, timeoutMs = 30 * 60_000 } = {}) {
	return new Promise((resolvePromise, reject) => {
		const started = Date.now();
		const outputDir = mkdtempSync(join(tmpdir(), 'tws-run-'));
		const outputFile = join(outputDir, 'stdout');
		const outputFd = openSync(outputFile, 'w');
		const child = spawn(command, args, { cwd, env, stdio: ['ignore', outputFd, 'pipe'] });
		closeSync(outputFd);
		let stderr = '';
		child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
		const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
		const finish = () => {
			clearTimeout(timer);
			const stdout = readFileSync(outputFile, 'utf8');
			rmSync(outputDir, { recursive: true, force: true });
			return stdout;
		};
		child.on('error', (error) => {
			finish();
			reject(error);
		});
		child.on('close', (code, signal) => {
			resolvePromise({ code, signal, stdout: finish(), stderr, ms: Date.now() - started });
		});
	});
}

export function tail(text, lines = 40) {
	return text.split('\n').slice(-lines).join('\n');
}

export function commandFailure(what, result) {
	const exit = result.signal ? `signal ${result.signal}` : `exit code ${result.code}`;
	return new Error(`${what} failed (${exit}).\n--- stdout (tail) ---\n${tail(result.stdout)}\n--- stderr (tail) ---\n${tail(result.stderr)}`);
}

/** Prints "still running" every 30 s, so a user waiting on a long step sees it is alive. */
export async function withHeartbeat(log, label, promise) {
	const started = Date.now();
	const timer = setInterval(() => log(`  ... ${label} still running (${Math.round((Date.now() - started) / 1000)} s)`), 30_000);
	try {
		return await promise;
	} finally {
		clearInterval(timer);
	}
}

export async function freePort() {
	return await new Promise((resolvePromise, reject) => {
		const server = createServer();
		server.unref();
		server.on('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address();
			server.close(() => resolvePromise(port));
		});
	});
}

const sleep = (ms) => new Promise((resolvePromise) => setTimeout(resolvePromise, ms));

/** Waits for a child's exit; after `graceMs`, calls `onOverdue` (a harder kill) and keeps waiting. */
async function awaitExit(exited, graceMs, onOverdue) {
	let timer;
	const overdue = new Promise((resolvePromise) => {
		timer = setTimeout(() => {
			onOverdue();
			resolvePromise();
		}, graceMs);
	});
	try {
		return await Promise.race([exited, overdue.then(() => exited)]);
	} finally {
		// A pending timer would keep the caller's process (jest, the demo) alive after the exit.
		clearTimeout(timer);
	}
}

function sha256(...parts) {
	const hash = createHash('sha256');
	for (const part of parts) hash.update(part);
	return hash.digest('hex');
}

function readJson(file) {
	return JSON.parse(readFileSync(file, 'utf8'));
}

async function writeJson(file, value) {
	await mkdir(dirname(file), { recursive: true });
	await writeFile(file, `${JSON.stringify(value, null, 2)}\n`);
}

// ---------------------------------------------------------------------------------------------
// Installing n8n

function node24Version() {
	return readJson(join(ROOT, 'node_modules', 'node', 'package.json')).version;
}

function pinnedN8nVersion() {
	return readJson(join(HOST_DIR, 'package.json')).dependencies.n8n;
}

function wantedInstallStamp() {
	return {
		n8n: pinnedN8nVersion(),
		lockfile: sha256(readFileSync(join(HOST_DIR, 'package.json')), readFileSync(join(HOST_DIR, 'package-lock.json'))),
		node: node24Version(),
		platform: `${process.platform}-${process.arch}`,
	};
}

// npm writes node_modules/.package-lock.json after every install; if it lists exactly the lockfile's
// packages, the tree came from this lockfile and `npm ci` can be skipped.
function treeMatchesLockfile() {
	const hiddenLockfile = join(HOST_MODULES, '.package-lock.json');
	if (!existsSync(hiddenLockfile) || !existsSync(N8N_BIN)) return false;
	const locked = readJson(join(HOST_DIR, 'package-lock.json')).packages;
	const installed = readJson(hiddenLockfile).packages;
	for (const [path, entry] of Object.entries(installed)) {
		if (locked[path]?.version !== entry.version) return false;
	}
	for (const [path, entry] of Object.entries(locked)) {
		if (path === '' || path in installed) continue;
		// Platform-specific optional packages for other systems are legitimately absent.
		if (!(entry.optional || entry.os || entry.cpu)) return false;
	}
	return true;
}

function nativeBuildEnv() {
	return { ...process.env, PATH: pathWithNode24(), npm_config_nodedir: NODE24_HEADERS };
}

async function sqliteLoadsOnNode24() {
	const check = await run(NODE24, ['-e', "require('sqlite3')"], { cwd: HOST_DIR, env: nativeBuildEnv() });
	return check.code === 0;
}

/**
 * Makes e2e/n8n-host ready to run `n8n execute` and `n8n start` on Node 24. Quick when nothing changed:
 * a stamp keyed by the lockfile and the Node version. Only sqlite3 needs a native build; isolated-vm,
 * @parcel/watcher, msgpackr-extract and the Sentry profilers ship prebuilt binaries for Node 24.
 */
export async function ensureN8nInstalled({ log = defaultLog } = {}) {
	const started = Date.now();
	const wanted = wantedInstallStamp();
	const stamp = existsSync(INSTALL_STAMP) ? readJson(INSTALL_STAMP) : null;
	if (stamp && JSON.stringify(stamp) === JSON.stringify(wanted) && existsSync(N8N_BIN)) {
		return { changed: false, ms: Date.now() - started };
	}
	if (!existsSync(NODE24)) {
		throw new Error(`Node 24 is missing at ${NODE24}. Run \`npm ci\` in ${ROOT} first: n8n ${wanted.n8n} needs Node >= 24.`);
	}

	let reinstalled = false;
	if (!treeMatchesLockfile()) {
		log(`Installing n8n ${wanted.n8n} into ${relative(ROOT, HOST_DIR)} (first time takes ~4 minutes)...`);
		// Plain install scripts would fail: @confluentinc/kafka-javascript downloads zlib and openssl.
		const install = await withHeartbeat(
			log,
			'npm ci',
			run('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: HOST_DIR, env: nativeBuildEnv() }),
		);
		if (install.code !== 0) throw commandFailure(`npm ci in ${HOST_DIR}`, install);
		log(`  npm ci done in ${Math.round(install.ms / 1000)} s`);
		reinstalled = true;
	}

	if (reinstalled || !(await sqliteLoadsOnNode24())) {
		log(`Building sqlite3 for Node ${wanted.node} (about a minute)...`);
		const rebuild = await withHeartbeat(
			log,
			'npm rebuild sqlite3',
			run('npm', ['rebuild', 'sqlite3'], { cwd: HOST_DIR, env: nativeBuildEnv() }),
		);
		if (rebuild.code !== 0) throw commandFailure('npm rebuild sqlite3', rebuild);
		if (!(await sqliteLoadsOnNode24())) {
			throw new Error(
				`sqlite3 still does not load on Node ${wanted.node} after the rebuild. It needs python3, make and a C++ compiler, and the headers in ${NODE24_HEADERS}.`,
			);
		}
		log(`  sqlite3 built in ${Math.round(rebuild.ms / 1000)} s`);
	}

	await writeJson(INSTALL_STAMP, wanted);
	return { changed: true, ms: Date.now() - started };
}

// ---------------------------------------------------------------------------------------------
// Building and installing this package

async function hashTree(paths) {
	const hash = createHash('sha256');
	const visit = async (path) => {
		if (!existsSync(path)) return;
		const entries = await readdir(path, { withFileTypes: true }).catch(() => null);
		if (entries === null) {
			hash.update(relative(ROOT, path));
			hash.update(await readFile(path));
			return;
		}
		for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
			if (entry.name === 'node_modules') continue;
			await visit(join(path, entry.name));
		}
	};
	for (const path of paths) await visit(path);
	return hash.digest('hex');
}

const BUILD_INPUTS = ['nodes', 'credentials', 'package.json', 'tsconfig.json', 'tsconfig.build.json', 'gulpfile.js'];

/** Runs `npm run build` unless the sources are unchanged since the last build through here. */
export async function ensurePackageBuilt({ log = defaultLog } = {}) {
	const started = Date.now();
	const sources = await hashTree(BUILD_INPUTS.map((path) => join(ROOT, path)));
	const stamp = existsSync(BUILD_STAMP) ? readJson(BUILD_STAMP) : null;
	if (stamp?.sources === sources && existsSync(join(ROOT, 'dist'))) return { changed: false, ms: Date.now() - started };
	log('Building the package (npm run build)...');
	const build = await run('npm', ['run', 'build'], { cwd: ROOT, env: { ...process.env, PATH: pathWithNode24() } });
	if (build.code !== 0) throw commandFailure('npm run build', build);
	await writeJson(BUILD_STAMP, { sources });
	return { changed: true, ms: Date.now() - started };
}

/**
 * The node types a package declares in package.json `n8n.nodes`, read the way n8n's package loader
 * reads them: the class named like the file, instantiated for its description.
 */
export function describePackageNodes(packageDir = ROOT) {
	const manifest = readJson(join(packageDir, 'package.json'));
	const requireFromPackage = createRequire(join(packageDir, 'package.json'));
	// A build since the last call replaced these files; read them afresh.
	for (const cached of Object.keys(requireFromPackage.cache)) {
		if (cached.startsWith(join(packageDir, 'dist'))) delete requireFromPackage.cache[cached];
	}
	return (manifest.n8n?.nodes ?? []).map((file) => {
		const className = file.split('/').pop().replace(/\.node\.js$/, '');
		const absolute = join(packageDir, file);
		if (!existsSync(absolute)) {
			throw new Error(`${file} is listed in package.json n8n.nodes but does not exist. Run \`npm run build\` first.`);
		}
		const NodeClass = requireFromPackage(absolute)[className];
		if (typeof NodeClass !== 'function') throw new Error(`${file} does not export a class named ${className}.`);
		const instance = new NodeClass();
		const description = instance.description ?? instance.baseDescription ?? {};
		return {
			file,
			className,
			name: description.name,
			displayName: description.displayName,
			type: `${manifest.name}.${description.name}`,
		};
	});
}

// What `npm pack` reads: package.json, the `files` entries, and the files npm always includes.
async function packInputsHash(packageDir) {
	const { files } = readJson(join(packageDir, 'package.json'));
	if (!Array.isArray(files) || files.some((entry) => /[*?[{!]/.test(entry))) return undefined;
	const alwaysIncluded = (await readdir(packageDir)).filter((entry) => /^(readme|license|licence|changelog)/i.test(entry));
	return await hashTree(['package.json', ...files, ...alwaysIncluded].map((entry) => join(packageDir, entry)));
}

// In this process, a package whose pack inputs are unchanged maps straight to its cached install.
const cachedInstallByInputs = new Map();

/** Packs the package and returns its installed copy in the cache, installing it there when new. */
async function cachedPackageInstall(packageDir, log) {
	const inputs = await packInputsHash(packageDir);
	const known = inputs && cachedInstallByInputs.get(`${packageDir}:${inputs}`);
	if (known && existsSync(known.directory)) return { ...known, reused: true };

	const packDir = await mkdtemp(join(tmpdir(), 'tws-pack-'));
	try {
		const pack = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', packDir], {
			cwd: packageDir,
			env: { ...process.env, PATH: pathWithNode24() },
		});
		if (pack.code !== 0) throw commandFailure(`npm pack in ${packageDir}`, pack);
		const [{ name, version, filename, shasum }] = JSON.parse(pack.stdout);
		const directory = join(PACKAGE_CACHE, `${name.replace(/\//g, '+')}-${shasum}`, 'package');
		const reused = existsSync(directory);
		if (!reused) {
			log(`Installing ${name}@${version} and its runtime dependencies (cached for next time)...`);
			await installTarball(join(packDir, filename.replace(/^@/, '').replace(/\//g, '-')), directory, name);
			await pruneCache(PACKAGE_CACHE, 6);
		}
		const entry = { name, version, shasum, directory };
		if (inputs) cachedInstallByInputs.set(`${packageDir}:${inputs}`, entry);
		return { ...entry, reused };
	} finally {
		await rm(packDir, { recursive: true, force: true });
	}
}

// As n8n 2.41's installer does it: unpack, drop dev/peer/optional dependencies (n8n-workflow comes
// from n8n itself), then install the runtime dependencies inside the package folder.
async function installTarball(tarball, directory, name) {
	await mkdir(PACKAGE_CACHE, { recursive: true });
	// Staged beside the cache so the final rename stays on one file system.
	const staging = await mkdtemp(join(PACKAGE_CACHE, '.staging-'));
	try {
		const unpacked = join(staging, 'package');
		await mkdir(unpacked, { recursive: true });
		const untar = await run('tar', ['-xzf', tarball, '-C', unpacked, '--strip-components=1']);
		if (untar.code !== 0) throw commandFailure('tar -xzf', untar);
		const manifestPath = join(unpacked, 'package.json');
		const { devDependencies, peerDependencies, optionalDependencies, ...manifest } = readJson(manifestPath);
		await writeJson(manifestPath, manifest);
		const install = await run(
			'npm',
			[
				'install',
				'--ignore-scripts',
				'--no-audit',
				'--no-fund',
				'--prefer-offline',
				'--install-strategy=shallow',
				'--package-lock=false',
				'--bin-links=false',
			],
			{ cwd: unpacked, env: { ...process.env, PATH: pathWithNode24() } },
		);
		if (install.code !== 0) throw commandFailure(`npm install in the unpacked ${name}`, install);
		await mkdir(dirname(directory), { recursive: true });
		// Another process may have finished the same cache entry first; either copy is identical.
		await rename(unpacked, directory).catch(() => undefined);
	} finally {
		await rm(staging, { recursive: true, force: true });
	}
}

/** Keeps the newest `keep` entries of a cache folder. */
async function pruneCache(cacheDir, keep) {
	const entries = (await readdir(cacheDir, { withFileTypes: true })).filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'));
	const dated = await Promise.all(entries.map(async (entry) => ({ path: join(cacheDir, entry.name), mtime: (await stat(join(cacheDir, entry.name))).mtimeMs })));
	for (const { path } of dated.sort((a, b) => b.mtime - a.mtime).slice(keep)) await rm(path, { recursive: true, force: true });
}

/** Copies a folder; hard links where the system's cp can make them (70 ms instead of 1 s here). */
async function copyTree(source, destination) {
	if (process.platform === 'linux') {
		const linked = await run('cp', ['-al', source, destination]);
		if (linked.code === 0) return;
		await rm(destination, { recursive: true, force: true });
	}
	await cp(source, destination, { recursive: true, verbatimSymlinks: true });
}

/**
 * Installs the package into `<userFolder>/.n8n/nodes` as n8n 2.41's community-node installer leaves
 * it: `nodes/node_modules/<name>` with its runtime dependencies inside, and the ledger
 * `nodes/package.json`. The installed copy is cached by tarball hash, so a repeat is a quick copy.
 * The caller builds first.
 */
export async function installPackageInto(userFolder, { packageDir = ROOT, log = defaultLog } = {}) {
	const started = Date.now();
	const { name, version, shasum, directory, reused } = await cachedPackageInstall(resolve(packageDir), log);
	const nodesDir = join(userFolder, '.n8n', 'nodes');
	const destination = join(nodesDir, 'node_modules', name);
	await rm(destination, { recursive: true, force: true });
	await mkdir(dirname(destination), { recursive: true });
	await copyTree(directory, destination);
	const ledgerPath = join(nodesDir, 'package.json');
	const ledger = existsSync(ledgerPath) ? readJson(ledgerPath) : { name: 'installed-nodes', private: true, dependencies: {} };
	ledger.dependencies = { ...ledger.dependencies, [name]: version };
	await writeJson(ledgerPath, ledger);
	return { name, version, shasum, directory: destination, reused, ms: Date.now() - started };
}

// ---------------------------------------------------------------------------------------------
// Running the n8n CLI

// Settings a developer's shell may carry that would point the test n8n at another database or mode.
// NODE_ENV goes too: jest sets it to `test`, and n8n then silences its logs and refuses to load nodes.
const INHERITED_N8N_SETTING = /^(N8N_|DB_|EXECUTIONS_|QUEUE_|WEBHOOK_URL$|GENERIC_TIMEZONE$|NODE_ENV$)/;

/** Environment for an n8n process that owns `userFolder`, isolated from any n8n settings of the caller. */
export function n8nEnv(userFolder, extra = {}) {
	const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !INHERITED_N8N_SETTING.test(key)));
	return {
		...inherited,
		PATH: pathWithNode24(inherited.PATH),
		N8N_USER_FOLDER: resolve(userFolder),
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_HIRING_BANNER_ENABLED: 'false',
		N8N_DYNAMIC_BANNERS_ENABLED: 'false',
		N8N_AI_ENABLED: 'false',
		// `execute --rawOutput` prints the run JSON only at info.
		N8N_LOG_LEVEL: 'info',
		N8N_LOG_OUTPUT: 'console',
		// Code nodes run in an internal task runner; its broker port defaults to 5679 for every n8n,
		// so each process gets its own (`runN8n`, `startN8n`).
		N8N_RUNNERS_MODE: 'internal',
		N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'true',
		...extra,
	};
}

async function runN8n(userFolder, args, { env = {}, timeoutMs = 10 * 60_000 } = {}) {
	const brokerPort = await freePort();
	return await run(NODE24, [N8N_BIN, ...args], {
		cwd: userFolder,
		env: n8nEnv(userFolder, { N8N_RUNNERS_BROKER_PORT: String(brokerPort), ...env }),
		timeoutMs,
	});
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A workflow id in n8n's own shape (16 alphanumerics); import:workflow needs one. */
export function newWorkflowId() {
	return [...randomBytes(16)].map((byte) => ID_ALPHABET[byte % ID_ALPHABET.length]).join('');
}

async function importFile(userFolder, kind, content, fileLabel, env = {}) {
	const inputDir = join(userFolder, 'imports');
	await mkdir(inputDir, { recursive: true });
	const input = join(inputDir, `${kind}-${fileLabel}-${Date.now()}.json`);
	await writeJson(input, content);
	const result = await runN8n(userFolder, [`import:${kind}`, `--input=${input}`], { env });
	if (result.code !== 0 || !/Successfully imported/.test(result.stdout + result.stderr)) {
		throw commandFailure(`n8n import:${kind} of ${input}`, result);
	}
	return result;
}

/**
 * Imports one workflow (assigning an id when it has none) and returns its id. `env` reaches n8n, e.g.
 * DB_* and N8N_ENCRYPTION_KEY when n8n's database is PostgreSQL (queue mode).
 */
export async function importWorkflow(userFolder, workflowJson, { env = {} } = {}) {
	const workflow = { active: false, settings: {}, ...structuredClone(workflowJson) };
	workflow.id ??= newWorkflowId();
	await importFile(userFolder, 'workflow', workflow, workflow.id, env);
	return workflow.id;
}

/** Imports credentials: one object or an array of `{ id, name, type, data }` with `data` in plain text (n8n encrypts it). */
export async function importCredentials(userFolder, credentialsJson, { env = {} } = {}) {
	const credentials = Array.isArray(credentialsJson) ? credentialsJson : [credentialsJson];
	await importFile(userFolder, 'credentials', credentials, 'set', env);
}

/** Runs another n8n CLI command (e.g. `publish:workflow --id=...`) on the user folder; fails on a non-zero exit. */
export async function n8nCommand(userFolder, args, { env = {}, timeoutMs = 5 * 60_000 } = {}) {
	const result = await runN8n(userFolder, args, { env, timeoutMs });
	if (result.code !== 0) throw commandFailure(`n8n ${args.join(' ')}`, result);
	return result.stdout + result.stderr;
}

/** Finds the last pretty-printed run JSON (`{ data, status, ... }`) among log lines. */
export function parseRunJson(text) {
	const lines = text.split('\n');
	for (let start = lines.length - 1; start >= 0; start--) {
		if (lines[start] !== '{') continue;
		for (let end = lines.length - 1; end > start; end--) {
			if (lines[end] !== '}') continue;
			try {
				const parsed = JSON.parse(lines.slice(start, end + 1).join('\n'));
				if (parsed && typeof parsed === 'object' && 'status' in parsed && 'data' in parsed) return parsed;
			} catch {
				// Not a complete object between these two lines; keep looking.
			}
		}
	}
	return undefined;
}

/**
 * Runs `n8n execute --id --rawOutput` and returns the run JSON, successful or not: judge it by its
 * `status`. The exit code is not used, because n8n sometimes crashes at shutdown (exit 139) after
 * printing a good result. A run is retried only when it printed no result at all.
 */
export async function executeWorkflow(userFolder, id, { attempts = 3, env = {}, log = defaultLog, onTiming } = {}) {
	let last;
	for (let attempt = 1; attempt <= attempts; attempt++) {
		last = await runN8n(userFolder, ['execute', `--id=${id}`, '--rawOutput'], { env });
		const runJson = parseRunJson(last.stdout) ?? parseRunJson(last.stderr);
		onTiming?.({ attempt, ms: last.ms, code: last.code, signal: last.signal });
		if (runJson) return runJson;
		if (/The workflow with the id ".*" does not exist/.test(last.stdout + last.stderr)) {
			throw new Error(`n8n has no workflow with id ${id} in ${userFolder}. Import it first (importWorkflow).`);
		}
		if (attempt < attempts) log(`n8n execute printed no result (exit ${last.code ?? last.signal}); retrying (${attempt + 1}/${attempts})`);
	}
	throw commandFailure(`n8n execute --id=${id} (no run JSON after ${attempts} attempts)`, last);
}

// ---------------------------------------------------------------------------------------------
// n8n start, login and the REST API

function hostRequire() {
	return createRequire(join(HOST_MODULES, 'n8n', 'package.json'));
}

/** A bcrypt hash made with the bcryptjs that n8n itself uses. */
export function bcryptHash(password) {
	return hostRequire()('bcryptjs').hashSync(password, 10);
}

/**
 * Watches a long-running child: keeps the end of its output, notes its exit, and stops it by its own
 * pid (SIGTERM, then SIGKILL after `stopTimeoutMs`).
 */
function supervise(child, { stopTimeoutMs, onOutput }) {
	let output = '';
	let exitInfo;
	const keep = (chunk) => {
		output = (output + chunk).slice(-200_000);
		onOutput?.(chunk);
	};
	child.stdout.setEncoding('utf8').on('data', keep);
	child.stderr.setEncoding('utf8').on('data', keep);
	const exited = new Promise((resolvePromise) => child.on('exit', (code, signal) => resolvePromise({ code, signal })));
	exited.then((info) => (exitInfo = info));
	const stop = async () => {
		if (exitInfo) return exitInfo;
		child.kill('SIGTERM');
		return await awaitExit(exited, stopTimeoutMs, () => child.kill('SIGKILL'));
	};
	return { output: () => output, exitInfo: () => exitInfo, stop };
}

/** Polls `isReady` until it says yes; stops the child and throws when it exits first or is not ready in time. */
async function waitUntilReady(supervised, { what, started, readyTimeoutMs, pollMs, isReady }) {
	while (!supervised.exitInfo()) {
		if (await isReady()) return;
		if (Date.now() - started > readyTimeoutMs) {
			await supervised.stop();
			throw new Error(`${what} did not become ready within ${readyTimeoutMs / 1000} s.\n${tail(supervised.output())}`);
		}
		await sleep(pollMs);
	}
	const info = supervised.exitInfo();
	throw new Error(`${what} exited before it was ready (${info.signal ?? `exit ${info.code}`}).\n${tail(supervised.output())}`);
}

/**
 * Starts `n8n start` on `userFolder`, with the owner from `OWNER` created through env, and waits
 * until /healthz/readiness answers. `stop()` sends SIGTERM to this n8n's own pid.
 */
export async function startN8n(userFolder, { port, env = {}, readyTimeoutMs = 180_000 } = {}) {
	const started = Date.now();
	const httpPort = port ?? (await freePort());
	const brokerPort = await freePort();
	const url = `http://127.0.0.1:${httpPort}`;
	const child = spawn(NODE24, [N8N_BIN, 'start'], {
		cwd: userFolder,
		stdio: ['ignore', 'pipe', 'pipe'],
		env: n8nEnv(userFolder, {
			N8N_PORT: String(httpPort),
			N8N_LISTEN_ADDRESS: '127.0.0.1',
			N8N_HOST: '127.0.0.1',
			N8N_PROTOCOL: 'http',
			N8N_EDITOR_BASE_URL: `${url}/`,
			N8N_SECURE_COOKIE: 'false',
			N8N_RUNNERS_BROKER_PORT: String(brokerPort),
			N8N_INSTANCE_OWNER_MANAGED_BY_ENV: 'true',
			N8N_INSTANCE_OWNER_EMAIL: OWNER.email,
			N8N_INSTANCE_OWNER_PASSWORD_HASH: bcryptHash(OWNER.password),
			N8N_INSTANCE_OWNER_FIRST_NAME: 'Sync',
			N8N_INSTANCE_OWNER_LAST_NAME: 'Owner',
			...env,
		}),
	});
	const supervised = supervise(child, { stopTimeoutMs: 20_000 });
	await waitUntilReady(supervised, {
		what: 'n8n',
		started,
		readyTimeoutMs,
		pollMs: 250,
		isReady: () =>
			fetch(`${url}/healthz/readiness`).then(
				(response) => response.ok,
				() => false,
			),
	});
	return { url, port: httpPort, pid: child.pid, readyMs: Date.now() - started, stop: supervised.stop, output: supervised.output };
}

/**
 * Starts `n8n worker --concurrency=N` on `userFolder` (queue mode: pass EXECUTIONS_MODE, QUEUE_BULL_REDIS_*,
 * DB_* and N8N_ENCRYPTION_KEY in `env`, the same as the main process's) and waits until it says it is ready.
 * `stop()` sends SIGTERM to this worker's own pid. `onOutput` sees all of its output (`output()` keeps the end).
 */
export async function startWorker(userFolder, { concurrency = 10, env = {}, readyTimeoutMs = 180_000, onOutput } = {}) {
	const started = Date.now();
	const brokerPort = await freePort();
	const child = spawn(NODE24, [N8N_BIN, 'worker', `--concurrency=${concurrency}`], {
		cwd: userFolder,
		stdio: ['ignore', 'pipe', 'pipe'],
		env: n8nEnv(userFolder, { N8N_RUNNERS_BROKER_PORT: String(brokerPort), ...env }),
	});
	// A worker waits for its running jobs before it exits (up to N8N_GRACEFUL_SHUTDOWN_TIMEOUT).
	const supervised = supervise(child, { stopTimeoutMs: 30_000, onOutput });
	await waitUntilReady(supervised, {
		what: 'n8n worker',
		started,
		readyTimeoutMs,
		pollMs: 200,
		isReady: async () => supervised.output().includes('n8n worker is now ready'),
	});
	return { pid: child.pid, readyMs: Date.now() - started, stop: supervised.stop, output: supervised.output };
}

/** Logs in through POST /rest/login and returns the auth cookie as a `Cookie` header value. */
export async function login(url, email = OWNER.email, password = OWNER.password) {
	const response = await fetch(`${url}/rest/login`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ emailOrLdapLoginId: email, password }),
	});
	if (!response.ok) throw new Error(`Login as ${email} failed: HTTP ${response.status} ${await response.text()}`);
	const authCookie = response.headers
		.getSetCookie()
		.map((header) => header.split(';')[0])
		.find((pair) => pair.startsWith('n8n-auth='));
	if (!authCookie) throw new Error(`Login as ${email} set no n8n-auth cookie.`);
	return authCookie;
}

/** GET a path of a running n8n with the auth cookie, as JSON. */
export async function getJson(url, path, cookie) {
	const response = await fetch(`${url}${path}`, { headers: { cookie, accept: 'application/json' } });
	if (!response.ok) throw new Error(`GET ${path} answered HTTP ${response.status}: ${await response.text()}`);
	return await response.json();
}

/** Every node type the editor receives (n8n serves them at /types/nodes.json, behind login). */
export async function fetchNodeTypes(url, cookie) {
	return await getJson(url, '/types/nodes.json', cookie);
}

// ---------------------------------------------------------------------------------------------
// Headless Chromium over the DevTools protocol (Node's global WebSocket, no extra dependency)

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Makes sure Debian's Chromium is there, installing it with apt-get when we are root. */
export async function ensureChromium({ log = defaultLog } = {}) {
	if (existsSync(CHROMIUM)) return CHROMIUM;
	if (process.getuid?.() !== 0) {
		throw new Error(`Chromium is missing at ${CHROMIUM}. Install it (Debian: sudo apt-get install -y chromium) or set CHROMIUM_PATH.`);
	}
	log('Installing Chromium (apt-get install -y chromium)...');
	let install = await run('apt-get', ['install', '-y', 'chromium'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
	if (install.code !== 0) {
		await run('apt-get', ['update']);
		install = await run('apt-get', ['install', '-y', 'chromium'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
	}
	if (install.code !== 0 || !existsSync(CHROMIUM)) throw commandFailure('apt-get install -y chromium', install);
	return CHROMIUM;
}

class DevToolsConnection {
	constructor(socket) {
		this.socket = socket;
		this.nextId = 1;
		this.pending = new Map();
		this.listeners = new Set();
		socket.addEventListener('message', (event) => {
			const message = JSON.parse(String(event.data));
			if (message.id !== undefined) {
				const waiter = this.pending.get(message.id);
				this.pending.delete(message.id);
				if (message.error) waiter?.reject(new Error(`${waiter.method}: ${message.error.message}`));
				else waiter?.resolve(message.result);
			} else {
				for (const listener of this.listeners) listener(message);
			}
		});
		socket.addEventListener('close', () => {
			for (const waiter of this.pending.values()) waiter.reject(new Error(`${waiter.method}: DevTools connection closed`));
			this.pending.clear();
		});
	}

	send(method, params = {}, sessionId) {
		const id = this.nextId++;
		return new Promise((resolvePromise, reject) => {
			this.pending.set(id, { resolve: resolvePromise, reject, method });
			this.socket.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
		});
	}
}

async function waitForFile(path, timeoutMs) {
	const started = Date.now();
	while (Date.now() - started < timeoutMs) {
		if (existsSync(path)) {
			const content = readFileSync(path, 'utf8');
			if (content.includes('\n')) return content;
		}
		await sleep(100);
	}
	throw new Error(`${path} did not appear within ${timeoutMs / 1000} s`);
}

/** Launches headless Chromium with a fresh profile and returns a page driver plus `close()`. */
export async function launchChromium({ log = defaultLog, width = 1440, height = 900 } = {}) {
	const binary = await ensureChromium({ log });
	const profile = await mkdtemp(join(tmpdir(), 'tws-chromium-'));
	const child = spawn(
		binary,
		[
			'--headless',
			'--no-sandbox',
			'--disable-gpu',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
			'--disable-quic',
			'--no-first-run',
			'--no-default-browser-check',
			'--disable-dev-shm-usage',
			`--window-size=${width},${height}`,
			`--user-data-dir=${profile}`,
			'--remote-debugging-address=127.0.0.1',
			'--remote-debugging-port=0',
			'about:blank',
		],
		{ stdio: ['ignore', 'ignore', 'pipe'] },
	);
	let stderr = '';
	child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr = (stderr + chunk).slice(-20_000)));
	const exited = new Promise((resolvePromise) => child.on('exit', resolvePromise));

	const close = async () => {
		if (child.exitCode === null && child.signalCode === null) {
			child.kill('SIGTERM');
			await awaitExit(exited, 5_000, () => child.kill('SIGKILL'));
		}
		await rm(profile, { recursive: true, force: true, maxRetries: 3 });
	};

	try {
		const [port, browserPath] = (await waitForFile(join(profile, 'DevToolsActivePort'), 30_000)).trim().split('\n');
		const socket = new WebSocket(`ws://127.0.0.1:${port}${browserPath}`);
		await new Promise((resolvePromise, reject) => {
			socket.addEventListener('open', resolvePromise, { once: true });
			socket.addEventListener('error', () => reject(new Error('Could not connect to Chromium DevTools')), { once: true });
		});
		const connection = new DevToolsConnection(socket);
		const { targetId } = await connection.send('Target.createTarget', { url: 'about:blank' });
		const { sessionId } = await connection.send('Target.attachToTarget', { targetId, flatten: true });
		const page = new EditorPage(connection, sessionId);
		await page.send('Page.enable');
		await page.send('Runtime.enable');
		await page.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
		return {
			page,
			close: async () => {
				socket.close();
				await close();
			},
		};
	} catch (error) {
		await close();
		throw new Error(`${error.message}\nChromium stderr:\n${tail(stderr)}`);
	}
}

class EditorPage {
	constructor(connection, sessionId) {
		this.connection = connection;
		this.sessionId = sessionId;
	}

	send(method, params) {
		return this.connection.send(method, params, this.sessionId);
	}

	async evaluate(expression) {
		const { result, exceptionDetails } = await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
		if (exceptionDetails) throw new Error(`In the page: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
		return result.value;
	}

	/** Polls a page expression until it returns something truthy. */
	async waitFor(expression, { timeoutMs = 60_000, what = expression } = {}) {
		const started = Date.now();
		while (Date.now() - started < timeoutMs) {
			const value = await this.evaluate(expression).catch(() => undefined);
			if (value) return value;
			await sleep(200);
		}
		throw new Error(`Timed out after ${timeoutMs / 1000} s waiting for ${what}`);
	}

	async goto(url) {
		await this.send('Page.navigate', { url });
		await this.waitFor("document.readyState === 'complete'", { what: `${url} to load` });
	}

	async setCookie(url, cookieHeader) {
		const [name, ...value] = cookieHeader.split('=');
		await this.send('Network.setCookie', { name, value: value.join('='), url });
	}

	async typeText(text) {
		await this.send('Input.insertText', { text });
	}

	async pressKey(key, code = key, keyCode = 0) {
		await this.send('Input.dispatchKeyEvent', { type: 'keyDown', key, code, windowsVirtualKeyCode: keyCode });
		await this.send('Input.dispatchKeyEvent', { type: 'keyUp', key, code, windowsVirtualKeyCode: keyCode });
	}

	async screenshot(file) {
		const { data } = await this.send('Page.captureScreenshot', { format: 'png' });
		await mkdir(dirname(file), { recursive: true });
		await writeFile(file, Buffer.from(data, 'base64'));
		return file;
	}
}

const byTestId = (id) => `document.querySelector('[data-test-id="${id}"]')`;

/** A workflow with only a Manual Trigger, so the node panel offers action nodes ("What happens next?"). */
export function canvasWorkflow(name = 'Editor check') {
	return {
		name,
		nodes: [
			{
				id: '5c1a3a3e-0000-4000-8000-000000000001',
				name: 'When clicking Execute workflow',
				type: 'n8n-nodes-base.manualTrigger',
				typeVersion: 1,
				position: [0, 0],
				parameters: {},
			},
		],
		connections: {},
	};
}

/**
 * In the editor of a running n8n: opens the workflow, opens the node panel, searches for each
 * display name and saves a screenshot per node. Returns, per node, whether the panel listed it.
 */
export async function searchNodesInEditor(page, { url, cookie, workflowId, nodes, artifactsDir }) {
	await page.send('Network.enable');
	await page.setCookie(url, cookie);
	const results = [];
	for (const node of nodes) {
		await page.goto(`${url}/workflow/${workflowId}`);
		await page.waitFor(`!!${byTestId('canvas-node')}`, { what: 'the canvas to show the trigger node' });
		await page.waitFor(`(() => { const b = ${byTestId('node-creator-plus-button')}; if (!b) return false; b.click(); return true; })()`, {
			what: 'the node panel button',
		});
		await page.waitFor(
			`(() => { const i = document.querySelector('[data-test-id="node-creator-search-bar"] input, input[data-test-id="node-creator-search-bar"]'); if (!i) return false; i.focus(); return document.activeElement === i; })()`,
			{ what: 'the node panel search field' },
		);
		await page.typeText(node.displayName);
		const listed = await page
			.waitFor(
				`[...document.querySelectorAll('[data-test-id="node-creator-item-name"]')].some((e) => e.textContent.trim() === ${JSON.stringify(node.displayName)})`,
				{ timeoutMs: 20_000, what: `"${node.displayName}" in the node panel` },
			)
			.then(
				() => true,
				() => false,
			);
		// Let the icon and the hover state settle before the picture.
		await sleep(500);
		const screenshot = await page.screenshot(join(artifactsDir, `${node.name}.png`));
		const shownNames = await page.evaluate(
			`[...document.querySelectorAll('[data-test-id="node-creator-item-name"]')].map((e) => e.textContent.trim())`,
		);
		results.push({ ...node, listed, screenshot, shownNames });
	}
	return results;
}

// ---------------------------------------------------------------------------------------------
// Whole checks, for the CLI

async function newUserFolder(label) {
	return await mkdtemp(join(tmpdir(), `tws-n8n-${label}-`));
}

/** Imports a Manual Trigger -> Code workflow and executes it twice; returns the timings. */
export async function smoke({ log = defaultLog } = {}) {
	const timings = {};
	let started = Date.now();
	timings.ensureInstalled = (await ensureN8nInstalled({ log })).ms;
	const userFolder = await newUserFolder('smoke');
	try {
		started = Date.now();
		const id = await importWorkflow(userFolder, {
			name: 'Smoke',
			nodes: [
				{ id: 'a0000000-0000-4000-8000-000000000001', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
				{
					id: 'a0000000-0000-4000-8000-000000000002',
					name: 'Code',
					type: 'n8n-nodes-base.code',
					typeVersion: 2,
					position: [220, 0],
					parameters: { jsCode: "return [{ json: { greeting: 'hello', sum: 1 + 2 } }];" },
				},
			],
			connections: { Start: { main: [[{ node: 'Code', type: 'main', index: 0 }]] } },
		});
		timings.import = Date.now() - started;
		for (const round of [1, 2]) {
			started = Date.now();
			const result = await executeWorkflow(userFolder, id, { log });
			timings[`execute${round}`] = Date.now() - started;
			const output = result.data.resultData.runData.Code?.[0]?.data?.main?.[0]?.[0]?.json;
			log(`run ${round}: status ${result.status}, Code output ${JSON.stringify(output)}`);
			if (result.status !== 'success') throw new Error(`Smoke run ${round} ended with status ${result.status}`);
		}
		return timings;
	} finally {
		await rm(userFolder, { recursive: true, force: true });
	}
}

/**
 * Starts n8n with the package installed as a community node, checks that every node of
 * package.json `n8n.nodes` is registered, and screenshots each in the editor's node panel.
 */
export async function editorCheck({ packageDir = ROOT, artifactsDir = join(ROOT, 'test-artifacts', 'editor'), log = defaultLog } = {}) {
	await ensureN8nInstalled({ log });
	if (packageDir === ROOT) await ensurePackageBuilt({ log });
	const nodes = describePackageNodes(packageDir);
	if (nodes.length === 0) throw new Error('package.json n8n.nodes lists no nodes: nothing to check.');
	const userFolder = await newUserFolder('editor');
	let n8n;
	let browser;
	try {
		await installPackageInto(userFolder, { packageDir, log });
		const workflowId = await importWorkflow(userFolder, canvasWorkflow());
		n8n = await startN8n(userFolder);
		log(`n8n ready at ${n8n.url} after ${Math.round(n8n.readyMs / 1000)} s`);
		const cookie = await login(n8n.url);
		const registered = new Set((await fetchNodeTypes(n8n.url, cookie)).map((type) => type.name));
		browser = await launchChromium({ log });
		const results = await searchNodesInEditor(browser.page, { url: n8n.url, cookie, workflowId, nodes, artifactsDir });
		return results.map((result) => ({ ...result, registered: registered.has(result.type) }));
	} finally {
		await browser?.close();
		await n8n?.stop();
		await rm(userFolder, { recursive: true, force: true });
	}
}

function flag(args, name) {
	const index = args.indexOf(name);
	return index >= 0 ? args[index + 1] : undefined;
}

async function main(argv) {
	const [command, ...args] = argv;
	const log = (line) => console.log(line);
	switch (command) {
		case 'install': {
			const { changed, ms } = await ensureN8nInstalled({ log });
			log(changed ? `n8n is installed (${Math.round(ms / 1000)} s).` : 'n8n is already installed.');
			return;
		}
		case 'build': {
			const { changed } = await ensurePackageBuilt({ log });
			log(changed ? 'Package built.' : 'Package build is up to date.');
			return;
		}
		case 'link': {
			const userFolder = resolve(flag(args, '--user-folder') ?? join(SCRATCH, 'n8n-user'));
			const packageDir = resolve(flag(args, '--package-dir') ?? ROOT);
			await ensureN8nInstalled({ log });
			if (packageDir === ROOT) await ensurePackageBuilt({ log });
			const installed = await installPackageInto(userFolder, { packageDir, log });
			log(`Installed ${installed.name}@${installed.version} into ${installed.directory}`);
			log('Start n8n with it:');
			log(`  N8N_USER_FOLDER=${userFolder} ${relative(process.cwd(), NODE24)} ${relative(process.cwd(), N8N_BIN)} start`);
			return;
		}
		case 'smoke': {
			const timings = await smoke({ log });
			log(`timings (ms): ${JSON.stringify(timings)}`);
			return;
		}
		case 'editor-check': {
			const packageDir = resolve(flag(args, '--package-dir') ?? ROOT);
			const artifactsDir = resolve(flag(args, '--artifacts') ?? join(ROOT, 'test-artifacts', 'editor'));
			const results = await editorCheck({ packageDir, artifactsDir, log });
			let ok = true;
			for (const result of results) {
				ok &&= result.registered && result.listed;
				log(`${result.type}: registered ${result.registered ? 'yes' : 'NO'}, in node panel ${result.listed ? 'yes' : 'NO'} -> ${relative(process.cwd(), result.screenshot)}`);
			}
			if (!ok) process.exitCode = 1;
			return;
		}
		default:
			console.error('Usage: node scripts/n8n-host.mjs install | build | link [--user-folder DIR] [--package-dir DIR] | smoke | editor-check [--package-dir DIR] [--artifacts DIR]');
			process.exitCode = 2;
	}
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
	const major = Number(process.versions.node.split('.')[0]);
	if (major < 22 && existsSync(NODE24)) {
		// Run outside npm scripts on the system Node: hand over to Node 24 (global WebSocket, node:sqlite).
		const rerun = spawnSync(NODE24, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
		process.exit(rerun.status ?? 1);
	}
	main(process.argv.slice(2)).catch((error) => {
		console.error(error instanceof Error ? error.message : error);
		process.exit(1);
	});
}
