// Two small REST systems for the demo, with deliberately different schemas, so a sync between them
// has to map names, types, dates and enums. Each keeps its records in its own SQLite file
// (node:sqlite), so a restart keeps the data. No root, no database server.
//
// CLI: node scripts/demo-systems.mjs serve crm|erp --port N --data FILE [--api-key KEY]
//      (the key may come from DEMO_API_KEY instead, which keeps it out of the process list;
//       --port 0 picks a free port; the ready line says "listening on http://127.0.0.1:PORT")
// Module: startDemoSystem({ kind, port, dataFile, apiKey }) runs one as a child process.
//
// The two systems:
//   CRM, collection "contacts"                     ERP, collection "customers"
//   id          string, assigned by the server     id          integer, assigned (never reused)
//   fullName    text, required                     full_name   text, required
//   email       text                               email       text
//   phoneNumber text                               phone       text
//   isActive    "yes" | "no"                       active      true | false
//   birthday    "dd/MM/yyyy" text                  birth_date  "yyyy-MM-dd"
//   status      "Active" | "Inactive" | "Lead"     status      "A" | "I" | "L"
//   updatedAt   epoch milliseconds (number)        updated_at  ISO timestamp, e.g. 2025-01-31T12:00:00.000Z
// Every field but the required name may be null. The server sets the updated time on every write;
// within one system it strictly increases (two writes in the same millisecond get consecutive
// values), so a cursor "changed after X" never skips a record.
//
// REST, JSON in and out, header `X-Api-Key: <key>` on everything but GET /health:
//   GET    /<collection>                      all records, oldest change first (a JSON array)
//   GET    /<collection>?updatedSince=CURSOR  records changed after CURSOR (ms for the CRM, ISO for
//                                             the ERP), oldest change first
//   GET    /<collection>/:id                  one record, 404 when absent
//   POST   /<collection>                      create: 201 with the stored record and its new id
//   PUT    /<collection>/:id                  update the fields given (PUT and PATCH both merge,
//   PATCH  /<collection>/:id                  as Parse does): 200 with the stored record
//   DELETE /<collection>/:id                  hard delete: 204, 404 when absent. Deletes leave no
//                                             trace, so only a full read can notice them.
//   GET    /health                            { status: "ok", system } without a key
// Errors: { "error": "<code>", "message": "<what to change>", "details"?: [{ field, message }] } with
// 400 (invalid JSON, unknown or invalid fields, bad cursor), 401 (missing or wrong key), 404, 405,
// 413 (body over 64 KiB), 415 (not JSON). An `id` in a body must match the URL; the updated time in a
// body is ignored (the server sets it).

import { spawnSync } from 'node:child_process';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { NODE24 } from './n8n-host.mjs';
import { spawnServer, waitUntilReady } from './parse-server.mjs';

const SCRIPT = fileURLToPath(import.meta.url);
const MAX_BODY_BYTES = 64 * 1024;
const MAX_TEXT_LENGTH = 500;

// ---------------------------------------------------------------------------------------------
// Schemas

export const DEMO_SCHEMAS = Object.freeze({
	crm: {
		title: 'Demo CRM',
		collection: 'contacts',
		entity: 'contact',
		idType: 'string',
		updatedField: 'updatedAt',
		updatedFormat: 'epoch-ms',
		fields: {
			fullName: { type: 'text', required: true },
			email: { type: 'text' },
			phoneNumber: { type: 'text' },
			isActive: { type: 'enum', values: ['yes', 'no'] },
			birthday: { type: 'date', format: 'dd/MM/yyyy' },
			status: { type: 'enum', values: ['Active', 'Inactive', 'Lead'] },
		},
	},
	erp: {
		title: 'Demo ERP',
		collection: 'customers',
		entity: 'customer',
		idType: 'integer',
		updatedField: 'updated_at',
		updatedFormat: 'iso',
		fields: {
			full_name: { type: 'text', required: true },
			email: { type: 'text' },
			phone: { type: 'text' },
			active: { type: 'boolean' },
			birth_date: { type: 'date', format: 'yyyy-MM-dd' },
			status: { type: 'enum', values: ['A', 'I', 'L'] },
		},
	},
});

function schemaFor(kind) {
	const schema = DEMO_SCHEMAS[kind];
	if (!schema) throw new Error(`Unknown demo system "${kind}": use "crm" or "erp".`);
	return schema;
}

const DATE_FORMATS = {
	'dd/MM/yyyy': { pattern: /^(\d{2})\/(\d{2})\/(\d{4})$/, parts: ([, day, month, year]) => [year, month, day] },
	'yyyy-MM-dd': { pattern: /^(\d{4})-(\d{2})-(\d{2})$/, parts: ([, year, month, day]) => [year, month, day] },
};

function isCalendarDate(value, format) {
	const { pattern, parts } = DATE_FORMATS[format];
	const match = pattern.exec(value);
	if (!match) return false;
	const [year, month, day] = parts(match).map(Number);
	const date = new Date(Date.UTC(year, month - 1, day));
	return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function fieldProblem(field, value) {
	if (value === null) return field.required ? 'is required and cannot be null' : undefined;
	switch (field.type) {
		case 'text':
			if (typeof value !== 'string') return `must be text, not ${JSON.stringify(value)}`;
			if (field.required && value.trim() === '') return 'is required and cannot be empty';
			if (value.length > MAX_TEXT_LENGTH) return `is longer than ${MAX_TEXT_LENGTH} characters`;
			return undefined;
		case 'enum':
			return field.values.includes(value) ? undefined : `must be one of ${field.values.map((v) => JSON.stringify(v)).join(', ')}, not ${JSON.stringify(value)}`;
		case 'boolean':
			return typeof value === 'boolean' ? undefined : `must be true or false, not ${JSON.stringify(value)}`;
		case 'date':
			return typeof value === 'string' && isCalendarDate(value, field.format)
				? undefined
				: `must be a real date written ${field.format}, not ${JSON.stringify(value)}`;
		default:
			throw new Error(`Unknown field type ${field.type}`);
	}
}

/** A request the client must change: answered with `status` and a JSON error body. */
class ClientError extends Error {
	constructor(status, code, message, { details, headers = {} } = {}) {
		super(message);
		this.status = status;
		this.code = code;
		this.details = details;
		this.headers = headers;
	}
}

/** The field values of a create or update body, checked against the schema. */
function validatedFields(schema, body, { creating, id }) {
	if (body === null || typeof body !== 'object' || Array.isArray(body)) {
		throw new ClientError(400, 'invalid_body', `The body must be a JSON object with the fields of a ${schema.entity}.`);
	}
	const details = [];
	const values = {};
	for (const [name, value] of Object.entries(body)) {
		if (name === 'id') {
			if (creating) details.push({ field: 'id', message: 'is assigned by the server: leave it out when creating' });
			else if (String(value) !== String(id)) details.push({ field: 'id', message: `must match the id in the URL (${id}) or be left out` });
			continue;
		}
		if (name === schema.updatedField) continue;
		const field = schema.fields[name];
		if (!field) {
			details.push({ field: name, message: `is not a field of a ${schema.entity}; the fields are ${Object.keys(schema.fields).join(', ')}` });
			continue;
		}
		const problem = fieldProblem(field, value);
		if (problem) details.push({ field: name, message: problem });
		else values[name] = value;
	}
	if (creating) {
		for (const [name, field] of Object.entries(schema.fields)) {
			if (field.required && !(name in body)) details.push({ field: name, message: 'is required' });
		}
	}
	if (details.length > 0) {
		const summary = details.map((detail) => `${detail.field} ${detail.message}`).join('; ');
		throw new ClientError(400, 'validation_failed', `The ${schema.entity} is invalid: ${summary}.`, { details });
	}
	return values;
}

// ---------------------------------------------------------------------------------------------
// Storage: one SQLite file per system

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function newStringId() {
	return [...randomBytes(10)].map((byte) => ID_ALPHABET[byte % ID_ALPHABET.length]).join('');
}

export function openDemoStore(kind, dataFile) {
	const schema = schemaFor(kind);
	const sqlite = process.getBuiltinModule?.('node:sqlite');
	if (!sqlite) throw new Error(`The demo systems need node:sqlite (Node >= 22.5); this is Node ${process.versions.node}.`);
	if (dataFile !== ':memory:') mkdirSync(dirname(resolve(dataFile)), { recursive: true });
	const db = new sqlite.DatabaseSync(dataFile);
	const idColumn = schema.idType === 'integer' ? 'id INTEGER PRIMARY KEY AUTOINCREMENT' : 'id TEXT PRIMARY KEY';
	db.exec(`
		CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
		CREATE TABLE IF NOT EXISTS records (${idColumn}, data TEXT NOT NULL, updated_ms INTEGER NOT NULL);
		CREATE INDEX IF NOT EXISTS records_by_update ON records (updated_ms, id);
	`);
	const metaValue = (key) => db.prepare('SELECT value FROM meta WHERE key = ?').get(key)?.value;
	const setMeta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
	const storedKind = metaValue('kind');
	if (storedKind === undefined) setMeta.run('kind', kind);
	else if (storedKind !== kind) {
		db.close();
		throw new Error(`${dataFile} holds the data of a demo ${storedKind.toUpperCase()}, not a ${kind.toUpperCase()}: give each system its own data file.`);
	}

	// Strictly increasing per system and kept across restarts, even if the wall clock steps back.
	let clock = Number(metaValue('clock') ?? 0);
	const nextStamp = () => {
		clock = Math.max(Date.now(), clock + 1);
		setMeta.run('clock', String(clock));
		return clock;
	};

	const render = (row) => {
		const data = JSON.parse(row.data);
		const record = { id: row.id };
		for (const name of Object.keys(schema.fields)) record[name] = data[name] ?? null;
		record[schema.updatedField] = schema.updatedFormat === 'iso' ? new Date(row.updated_ms).toISOString() : row.updated_ms;
		return record;
	};
	const parseId = (id) => (schema.idType === 'integer' ? (/^[1-9]\d{0,15}$/.test(String(id)) ? Number(id) : undefined) : String(id));

	const selectOne = db.prepare('SELECT id, data, updated_ms FROM records WHERE id = ?');
	const selectAll = db.prepare('SELECT id, data, updated_ms FROM records ORDER BY updated_ms, id');
	const selectSince = db.prepare('SELECT id, data, updated_ms FROM records WHERE updated_ms > ? ORDER BY updated_ms, id');
	const insertWithId = db.prepare('INSERT INTO records (id, data, updated_ms) VALUES (?, ?, ?) RETURNING id, data, updated_ms');
	const insertAutoId = db.prepare('INSERT INTO records (data, updated_ms) VALUES (?, ?) RETURNING id, data, updated_ms');
	const updateOne = db.prepare('UPDATE records SET data = ?, updated_ms = ? WHERE id = ? RETURNING id, data, updated_ms');
	const deleteOne = db.prepare('DELETE FROM records WHERE id = ?');

	const transaction = (work) => {
		db.exec('BEGIN IMMEDIATE');
		try {
			const result = work();
			db.exec('COMMIT');
			return result;
		} catch (error) {
			db.exec('ROLLBACK');
			throw error;
		}
	};

	return {
		schema,
		list(sinceMs) {
			return (sinceMs === undefined ? selectAll.all() : selectSince.all(sinceMs)).map(render);
		},
		get(id) {
			const key = parseId(id);
			const row = key === undefined ? undefined : selectOne.get(key);
			return row ? render(row) : undefined;
		},
		create(values) {
			return transaction(() => {
				const data = JSON.stringify(values);
				if (schema.idType === 'integer') return render(insertAutoId.get(data, nextStamp()));
				let id = newStringId();
				while (selectOne.get(id)) id = newStringId();
				return render(insertWithId.get(id, data, nextStamp()));
			});
		},
		update(id, values) {
			const key = parseId(id);
			if (key === undefined) return undefined;
			return transaction(() => {
				const row = selectOne.get(key);
				if (!row) return undefined;
				const merged = { ...JSON.parse(row.data), ...values };
				return render(updateOne.get(JSON.stringify(merged), nextStamp(), key));
			});
		},
		remove(id) {
			const key = parseId(id);
			return key !== undefined && deleteOne.run(key).changes > 0;
		},
		close() {
			if (db.isOpen) db.close();
		},
	};
}

// ---------------------------------------------------------------------------------------------
// HTTP

function parseCursor(schema, raw) {
	if (schema.updatedFormat === 'epoch-ms') {
		if (!/^\d{1,16}$/.test(raw)) {
			throw new ClientError(400, 'invalid_cursor', `updatedSince must be epoch milliseconds, as in the ${schema.updatedField} field (e.g. 1735689600000), not ${JSON.stringify(raw)}.`);
		}
		return Number(raw);
	}
	const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(raw) ? Date.parse(raw) : Number.NaN;
	if (Number.isNaN(ms)) {
		throw new ClientError(400, 'invalid_cursor', `updatedSince must be an ISO timestamp with a time zone, as in the ${schema.updatedField} field (e.g. 2025-01-01T00:00:00.000Z), not ${JSON.stringify(raw)}.`);
	}
	return ms;
}

function sameSecret(given, expected) {
	// Hashing first gives equal lengths, which timingSafeEqual needs.
	const digest = (value) => createHash('sha256').update(value).digest();
	return typeof given === 'string' && timingSafeEqual(digest(given), digest(expected));
}

async function readJsonBody(req, maxBytes) {
	const type = req.headers['content-type'] ?? '';
	if (!/^application\/([\w.+-]+\+)?json\b/i.test(type)) {
		throw new ClientError(415, 'unsupported_media_type', `Send the body as JSON with Content-Type: application/json (got ${JSON.stringify(type || 'none')}).`);
	}
	if (Number(req.headers['content-length'] ?? 0) > maxBytes) {
		throw new ClientError(413, 'payload_too_large', `The body is larger than ${maxBytes} bytes.`);
	}
	const chunks = [];
	let size = 0;
	for await (const chunk of req) {
		size += chunk.length;
		if (size > maxBytes) throw new ClientError(413, 'payload_too_large', `The body is larger than ${maxBytes} bytes.`);
		chunks.push(chunk);
	}
	const text = Buffer.concat(chunks).toString('utf8');
	try {
		return JSON.parse(text);
	} catch (error) {
		throw new ClientError(400, 'invalid_json', `The body is not valid JSON: ${error.message}.`);
	}
}

function sendJson(res, status, value, headers = {}) {
	const body = value === undefined ? '' : JSON.stringify(value);
	const bodyHeaders = body ? { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) } : {};
	res.writeHead(status, { ...bodyHeaders, ...headers });
	res.end(body);
}

/**
 * A demo system as an http.Server (not yet listening) over its SQLite file. The CLI and
 * startDemoSystem use it; call `close()` to stop it and close the file.
 */
export function createDemoServer({ kind, dataFile, apiKey, maxBodyBytes = MAX_BODY_BYTES }) {
	if (typeof apiKey !== 'string' || apiKey.length < 8) throw new Error('A demo system needs an API key of at least 8 characters.');
	const store = openDemoStore(kind, dataFile);
	const { schema } = store;
	const collectionPath = `/${schema.collection}`;

	const handle = async (req, res) => {
		const url = new URL(req.url ?? '/', 'http://localhost');
		const path = url.pathname.replace(/\/+$/, '') || '/';
		if (path === '/health' && req.method === 'GET') return sendJson(res, 200, { status: 'ok', system: kind });
		if (!sameSecret(req.headers['x-api-key'], apiKey)) {
			throw new ClientError(401, 'unauthorized', 'Send the API key in the X-Api-Key header.');
		}
		const itemMatch = path.startsWith(`${collectionPath}/`) ? path.slice(collectionPath.length + 1) : undefined;
		if (path !== collectionPath && (itemMatch === undefined || itemMatch.includes('/'))) {
			throw new ClientError(404, 'not_found', `No such path: ${path}. This ${schema.title} serves ${collectionPath} and ${collectionPath}/:id.`);
		}

		if (itemMatch === undefined) {
			if (req.method === 'GET') {
				const unknown = [...url.searchParams.keys()].filter((name) => name !== 'updatedSince');
				if (unknown.length > 0) throw new ClientError(400, 'unknown_parameter', `Unknown query parameter ${unknown.join(', ')}; the only one is updatedSince.`);
				const since = url.searchParams.get('updatedSince');
				return sendJson(res, 200, store.list(since === null ? undefined : parseCursor(schema, since)));
			}
			if (req.method === 'POST') {
				const values = validatedFields(schema, await readJsonBody(req, maxBodyBytes), { creating: true });
				return sendJson(res, 201, store.create(values));
			}
			throw new ClientError(405, 'method_not_allowed', `${req.method} is not allowed on ${collectionPath}; use GET or POST.`, { headers: { Allow: 'GET, POST' } });
		}

		const id = decodeURIComponent(itemMatch);
		const missing = () => new ClientError(404, 'not_found', `No ${schema.entity} with id ${JSON.stringify(id)}.`);
		switch (req.method) {
			case 'GET': {
				const record = store.get(id);
				if (!record) throw missing();
				return sendJson(res, 200, record);
			}
			case 'PUT':
			case 'PATCH': {
				const values = validatedFields(schema, await readJsonBody(req, maxBodyBytes), { creating: false, id });
				const record = store.update(id, values);
				if (!record) throw missing();
				return sendJson(res, 200, record);
			}
			case 'DELETE':
				if (!store.remove(id)) throw missing();
				return sendJson(res, 204, undefined);
			default:
				throw new ClientError(405, 'method_not_allowed', `${req.method} is not allowed on ${collectionPath}/:id; use GET, PUT, PATCH or DELETE.`, {
					headers: { Allow: 'GET, PUT, PATCH, DELETE' },
				});
		}
	};

	const server = createServer((req, res) => {
		handle(req, res).catch((error) => {
			if (res.headersSent) return res.destroy();
			if (error instanceof ClientError) {
				const headers = { ...error.headers };
				// The rest of an oversized body is not read: end the connection after the answer.
				if (error.status === 413 || error.status === 415) headers.Connection = 'close';
				return sendJson(res, error.status, { error: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) }, headers);
			}
			sendJson(res, 500, { error: 'internal', message: error instanceof Error ? error.message : String(error) });
		});
	});
	server.headersTimeout = 10_000;
	server.requestTimeout = 30_000;
	const close = async () => {
		await new Promise((resolvePromise) => {
			server.close(() => resolvePromise());
			server.closeAllConnections();
		});
		store.close();
	};
	return { server, store, close };
}

// ---------------------------------------------------------------------------------------------
// Running one as a child process

/**
 * Starts a demo system as a child process on 127.0.0.1 and waits until it answers. `port` 0 (the
 * default) lets it pick a free one. The API key goes in through the environment. `stop()` sends
 * SIGTERM to its pid; it also exits on its own when this process goes away.
 */
export async function startDemoSystem({ kind, port = 0, dataFile, apiKey, readyTimeoutMs = 30_000 }) {
	const schema = schemaFor(kind);
	if (!dataFile) throw new Error('startDemoSystem needs dataFile: the SQLite file that keeps the records.');
	if (typeof apiKey !== 'string' || apiKey.length < 8) throw new Error('startDemoSystem needs an apiKey of at least 8 characters.');
	const node = existsSync(NODE24) ? NODE24 : process.execPath;
	const server = spawnServer(node, [SCRIPT, 'serve', kind, '--port', String(port), '--data', resolve(dataFile), '--exit-with-parent'], {
		env: { ...process.env, DEMO_API_KEY: apiKey },
		graceMs: 5_000,
	});
	let url;
	try {
		await waitUntilReady(
			server,
			async () => {
				url ??= /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(server.output())?.[1];
				if (!url) return false;
				const response = await fetch(`${url}/health`);
				return response.ok && (await response.json()).system === kind;
			},
			{ timeoutMs: readyTimeoutMs, what: `The demo ${kind.toUpperCase()}` },
		);
	} catch (error) {
		await server.stop();
		throw error;
	}
	return {
		kind,
		url,
		port: Number(new URL(url).port),
		pid: server.pid,
		apiKey,
		collection: schema.collection,
		dataFile: resolve(dataFile),
		output: server.output,
		stop: server.stop,
	};
}

/** An answer of a demo system with status 400 or above. */
export class DemoRequestError extends Error {
	constructor(method, url, status, body) {
		super(`${method} ${url} answered HTTP ${status}: ${body?.message ?? JSON.stringify(body)}`);
		this.name = 'DemoRequestError';
		this.status = status;
		this.body = body;
	}
}

/**
 * One call to a demo system (`system` is what startDemoSystem returned, or { url, apiKey }).
 * `path` starts with `/`. Returns the parsed body (null for 204); throws DemoRequestError otherwise.
 */
export async function demoRequest(system, method, path, body, { apiKey = system.apiKey } = {}) {
	const headers = apiKey === null ? {} : { 'X-Api-Key': apiKey };
	if (body !== undefined) headers['Content-Type'] = 'application/json';
	const response = await fetch(`${system.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
	const text = await response.text();
	const parsed = text ? JSON.parse(text) : null;
	if (response.status >= 400) throw new DemoRequestError(method, `${system.url}${path}`, response.status, parsed);
	return parsed;
}

/**
 * The demo's starting data. Grace Hopper is in both systems (her email differs in case, her phone in
 * format): first-time matching links her by normalised email instead of creating a duplicate.
 */
export const DEMO_SEED = Object.freeze({
	contacts: [
		{ fullName: 'Ada Lovelace', email: 'ada.lovelace@example.com', phoneNumber: '+44 20 7946 0001', isActive: 'yes', birthday: '10/12/1815', status: 'Active' },
		{ fullName: 'Grace Hopper', email: 'Grace.Hopper@Example.com', phoneNumber: '+1 202 555 0142', isActive: 'yes', birthday: '09/12/1906', status: 'Active' },
		{ fullName: 'Alan Turing', email: 'alan.turing@example.com', phoneNumber: '+44 161 496 0003', isActive: 'no', birthday: '23/06/1912', status: 'Inactive' },
		{ fullName: 'Katherine Johnson', email: 'katherine.johnson@example.com', phoneNumber: null, isActive: 'yes', birthday: '26/08/1918', status: 'Lead' },
	],
	customers: [
		{ full_name: 'Grace Hopper', email: 'grace.hopper@example.com', phone: '+12025550142', active: true, birth_date: '1906-12-09', status: 'A' },
		{ full_name: 'Edsger Dijkstra', email: 'edsger.dijkstra@example.com', phone: '+31 20 555 0105', active: true, birth_date: '1930-05-11', status: 'A' },
		{ full_name: 'Barbara Liskov', email: 'barbara.liskov@example.com', phone: '+1 617 555 0106', active: false, birth_date: '1939-11-07', status: 'I' },
		{ full_name: 'Margaret Hamilton', email: 'margaret.hamilton@example.com', phone: null, active: true, birth_date: '1936-08-17', status: 'L' },
	],
});

/**
 * Writes DEMO_SEED through the REST APIs into systems that are still empty (a system that already
 * holds records is left alone, so a second run does not duplicate them). Returns both full lists.
 */
export async function seedDemo({ crm, erp }) {
	const seedOne = async (kind, system, records) => {
		const path = `/${schemaFor(kind).collection}`;
		if ((await demoRequest(system, 'GET', path)).length === 0) {
			for (const record of records) await demoRequest(system, 'POST', path, record);
		}
		return await demoRequest(system, 'GET', path);
	};
	return {
		contacts: await seedOne('crm', crm, DEMO_SEED.contacts),
		customers: await seedOne('erp', erp, DEMO_SEED.customers),
	};
}

// ---------------------------------------------------------------------------------------------
// CLI

function flag(args, name) {
	const index = args.indexOf(name);
	return index >= 0 ? args[index + 1] : undefined;
}

function serve(args) {
	const [kind] = args;
	const schema = schemaFor(kind);
	const port = Number(flag(args, '--port') ?? 0);
	const dataFile = flag(args, '--data');
	const apiKey = flag(args, '--api-key') ?? process.env.DEMO_API_KEY;
	if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number (0 picks a free one), not ${flag(args, '--port')}.`);
	if (!dataFile) throw new Error('--data FILE is required: the SQLite file that keeps the records (":memory:" keeps nothing).');
	if (!apiKey) throw new Error('An API key is required: --api-key KEY or the DEMO_API_KEY environment variable.');
	const { server, store, close } = createDemoServer({ kind, dataFile, apiKey });
	let closing = false;
	const shutdown = () => {
		if (closing) return;
		closing = true;
		close().then(() => process.exit(0));
	};
	process.once('SIGTERM', shutdown);
	process.once('SIGINT', shutdown);
	if (args.includes('--exit-with-parent')) {
		// The parent holds our stdin open; when it goes away, so do we.
		process.stdin.on('end', shutdown).on('close', shutdown).resume();
	}
	server.on('error', (error) => {
		console.error(`${schema.title} cannot listen on 127.0.0.1:${port}: ${error.message}`);
		store.close();
		process.exit(1);
	});
	server.listen(port, '127.0.0.1', () => {
		const { port: bound } = server.address();
		console.log(`${schema.title} (/${schema.collection}) listening on http://127.0.0.1:${bound}, data in ${dataFile}, pid ${process.pid}`);
	});
}

function runCli() {
	const [command, ...args] = process.argv.slice(2);
	try {
		if (command !== 'serve') {
			console.error('Usage: node scripts/demo-systems.mjs serve crm|erp --port N --data FILE [--api-key KEY]  (or DEMO_API_KEY)');
			process.exit(2);
		}
		serve(args);
	} catch (error) {
		console.error(error instanceof Error ? error.message : error);
		process.exit(1);
	}
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
	if (!process.getBuiltinModule?.('node:sqlite') && existsSync(NODE24)) {
		// Started with an older system Node: hand over to the Node 24 in node_modules, which has node:sqlite.
		const rerun = spawnSync(NODE24, [SCRIPT, ...process.argv.slice(2)], { stdio: 'inherit' });
		process.exit(rerun.status ?? 1);
	}
	runCli();
}
