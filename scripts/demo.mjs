#!/usr/bin/env node
// The README's demo command (`npm run demo`): a real two-way sync, through a real n8n 2.41.1 with
// this package installed as a community node, between two small REST systems that differ on
// purpose (a CRM's "contacts" and an ERP's "customers", see scripts/demo-systems.mjs). It edits
// both sides between sync cycles (creates, updates of different fields, one true conflict, one
// delete), and prints both systems before and after, the conflict decisions and the audit trail.
// State lives in the built-in store. Everything it starts, it stops, also on failure or Ctrl-C.
//
// Set TWS_DEMO_KEEP=1 to keep the temporary folder (n8n user folder, data, run JSON) for a look.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { demoRequest, seedDemo, startDemoSystem } from './demo-systems.mjs';
import {
	ROOT,
	ensureN8nInstalled,
	ensurePackageBuilt,
	executeWorkflow,
	importCredentials,
	importWorkflow,
	installPackageInto,
} from './n8n-host.mjs';

const WORKFLOW_FILE = join(ROOT, 'examples', 'demo-crm-erp', 'workflow.json');
const SYNC_ID = 'contacts';
const CRM_CREDENTIAL = { id: 'DemoCrmApiKey001', name: 'Demo CRM API key' };
const ERP_CREDENTIAL = { id: 'DemoErpApiKey001', name: 'Demo ERP API key' };
const WRITE_NODES = ['Create Customers', 'Update Customers', 'Delete Customers', 'Create Contacts', 'Update Contacts', 'Delete Contacts'];
const COMMIT_NODES = ['Commit ERP Writes', 'Commit CRM Writes'];
const KEEP = process.env.TWS_DEMO_KEEP === '1';

// ---------------------------------------------------------------------------------------------
// Output

const say = (line = '') => process.stdout.write(`${line}\n`);
const interactive = Boolean(process.stdout.isTTY);
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

/**
 * Runs one long step and shows that it is alive: a spinner with the elapsed time on a terminal,
 * a line every 20 s otherwise (logs, CI). `work` gets a `note` function for lines of its own.
 */
async function step(label, work) {
	if (interrupted) throw new Error(`Interrupted before: ${label}`);
	const started = Date.now();
	let frame = 0;
	const redraw = () => process.stdout.write(`\r\x1b[2K   ${SPINNER[frame++ % SPINNER.length]} ${label} (${Math.round((Date.now() - started) / 1000)} s)`);
	const note = (line) => {
		if (interactive) process.stdout.write('\r\x1b[2K');
		say(`     ${line.trim()}`);
		if (interactive) redraw();
	};
	let timer;
	if (interactive) {
		redraw();
		timer = setInterval(redraw, 100);
	} else {
		say(`   … ${label}`);
		timer = setInterval(() => say(`     still working: ${label} (${Math.round((Date.now() - started) / 1000)} s)`), 20_000);
	}
	try {
		const result = await work(note);
		if (interactive) process.stdout.write('\r\x1b[2K');
		say(`   ✓ ${label} (${seconds(Date.now() - started)})`);
		return result;
	} catch (error) {
		if (interactive) process.stdout.write('\r\x1b[2K');
		say(`   ✗ ${label} (${seconds(Date.now() - started)})`);
		throw error;
	} finally {
		clearInterval(timer);
	}
}

function table(rows, columns) {
	const text = (value) => (value === null || value === undefined ? '–' : String(value));
	const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => text(row[column]).length)));
	const line = (cells) => `     ${cells.map((cell, index) => cell.padEnd(widths[index])).join('  ')}`.trimEnd();
	return [line(columns), line(widths.map((width) => '─'.repeat(width))), ...rows.map((row) => line(columns.map((column) => text(row[column]))))].join('\n');
}

// ---------------------------------------------------------------------------------------------
// The two systems

const CRM_COLUMNS = ['id', 'fullName', 'email', 'phoneNumber', 'isActive', 'birthday', 'status'];
const ERP_COLUMNS = ['id', 'full_name', 'email', 'phone', 'active', 'birth_date', 'status'];

const byEmail = (a, b) => String(a.email).toLowerCase().localeCompare(String(b.email).toLowerCase());

async function readBoth(crm, erp) {
	const [contacts, customers] = await Promise.all([demoRequest(crm, 'GET', '/contacts'), demoRequest(erp, 'GET', '/customers')]);
	return { contacts: contacts.sort(byEmail), customers: customers.sort(byEmail) };
}

function printSystems(title, { contacts, customers }) {
	say(`   ${title}`);
	say(`   CRM /contacts (${contacts.length})`);
	say(table(contacts, CRM_COLUMNS));
	say(`   ERP /customers (${customers.length})`);
	say(table(customers, ERP_COLUMNS));
	say();
}

/** The demo's own reading of the mapping, independent of the Field Mapper: a contact in the ERP's terms. */
function contactAsCustomer(contact) {
	const [day, month, year] = String(contact.birthday ?? '').split('/');
	return {
		full_name: contact.fullName,
		email: contact.email,
		phone: contact.phoneNumber,
		active: contact.isActive === null ? null : contact.isActive === 'yes',
		birth_date: contact.birthday === null ? null : `${year}-${month}-${day}`,
		status: { Active: 'A', Inactive: 'I', Lead: 'L' }[contact.status] ?? null,
	};
}

function trackedFields(customer) {
	const { full_name, email, phone, active, birth_date, status } = customer;
	return { full_name, email, phone, active, birth_date, status };
}

/** Which records differ between the two systems through the mapping; empty when they converged. */
function differences({ contacts, customers }) {
	const problems = [];
	const emails = (records) => records.map((record) => String(record.email).toLowerCase());
	for (const [system, records] of [['CRM', contacts], ['ERP', customers]]) {
		const all = emails(records);
		const duplicates = all.filter((email, index) => all.indexOf(email) !== index);
		if (duplicates.length > 0) problems.push(`${system} holds duplicates: ${[...new Set(duplicates)].join(', ')}`);
	}
	const erpByEmail = new Map(customers.map((customer) => [String(customer.email).toLowerCase(), trackedFields(customer)]));
	for (const contact of contacts) {
		const expected = contactAsCustomer(contact);
		const actual = erpByEmail.get(String(contact.email).toLowerCase());
		if (!actual) problems.push(`${contact.fullName} is in the CRM only`);
		else if (JSON.stringify(actual) !== JSON.stringify(expected)) problems.push(`${contact.fullName} differs: CRM ${JSON.stringify(expected)}, ERP ${JSON.stringify(actual)}`);
		erpByEmail.delete(String(contact.email).toLowerCase());
	}
	for (const customer of erpByEmail.values()) problems.push(`${customer.full_name} is in the ERP only`);
	return problems;
}

async function findOne(system, path, email) {
	const found = (await demoRequest(system, 'GET', path)).filter((record) => String(record.email).toLowerCase() === email.toLowerCase());
	if (found.length !== 1) throw new Error(`Expected one record with email ${email} at ${system.url}${path}, found ${found.length}.`);
	return found[0];
}

/** The edits between the first and the second cycle, each made through a system's REST API. */
const EDITS = [
	{
		what: 'CRM: new contact Radia Perlman',
		apply: ({ crm }) => demoRequest(crm, 'POST', '/contacts', { fullName: 'Radia Perlman', email: 'radia.perlman@example.com', phoneNumber: '+1 978 555 0109', isActive: 'yes', birthday: '18/12/1951', status: 'Lead' }),
	},
	{
		what: 'ERP: new customer Frances Allen',
		apply: ({ erp }) => demoRequest(erp, 'POST', '/customers', { full_name: 'Frances Allen', email: 'frances.allen@example.com', phone: '+1 914 555 0110', active: true, birth_date: '1932-08-04', status: 'A' }),
	},
	{
		what: 'CRM: Ada Lovelace gets a new phoneNumber (+44 20 7946 0999)',
		apply: async ({ crm }) => demoRequest(crm, 'PATCH', `/contacts/${(await findOne(crm, '/contacts', 'ada.lovelace@example.com')).id}`, { phoneNumber: '+44 20 7946 0999' }),
	},
	{
		what: 'ERP: Ada Lovelace gets status I (Inactive), a different field of the same person',
		apply: async ({ erp }) => demoRequest(erp, 'PATCH', `/customers/${(await findOne(erp, '/customers', 'ada.lovelace@example.com')).id}`, { status: 'I' }),
	},
	{
		what: 'CRM: Alan Turing renamed "Alan M. Turing"          ┐ a true conflict:',
		apply: async ({ crm }) => demoRequest(crm, 'PATCH', `/contacts/${(await findOne(crm, '/contacts', 'alan.turing@example.com')).id}`, { fullName: 'Alan M. Turing' }),
	},
	{
		what: 'ERP: Alan Turing renamed "A. M. Turing"            ┘ the same field, both sides',
		apply: async ({ erp }) => demoRequest(erp, 'PATCH', `/customers/${(await findOne(erp, '/customers', 'alan.turing@example.com')).id}`, { full_name: 'A. M. Turing' }),
	},
	{
		what: 'ERP: Barbara Liskov deleted',
		apply: async ({ erp }) => demoRequest(erp, 'DELETE', `/customers/${(await findOne(erp, '/customers', 'barbara.liskov@example.com')).id}`),
	},
];

// ---------------------------------------------------------------------------------------------
// Reading the run JSON

/** Items one node emitted on one output over all its runs; none when it did not run. */
function emitted(run, node, output = 0) {
	return (run.data.resultData.runData[node] ?? []).flatMap((nodeRun) => (nodeRun.data?.main?.[output] ?? []).map((item) => item.json));
}

function requireSuccess(run, label) {
	if (run.status === 'success') return;
	const error = run.data.resultData.error;
	const where = error?.node?.name ?? run.data.resultData.lastNodeExecuted ?? 'unknown node';
	throw new Error(`${label} ended with status ${run.status} at "${where}": ${error?.message ?? 'no error recorded'}${error?.description ? ` (${error.description})` : ''}`);
}

/** What one cycle did: the committed writes per target, the failed writes, and the items that reached a write node. */
function cycleSummary(run) {
	const committed = COMMIT_NODES.flatMap((node) => emitted(run, node)).map((item) => item._sync);
	const failed = WRITE_NODES.flatMap((node) => emitted(run, node, 1));
	const attempted = WRITE_NODES.reduce((sum, node) => sum + emitted(run, node, 0).length + emitted(run, node, 1).length, 0);
	const invalid = emitted(run, 'Map CRM to ERP', 1).length + emitted(run, 'Map ERP to CRM', 3).length;
	const review = emitted(run, 'Resolve Conflicts', 6).length;
	const counts = {};
	for (const meta of committed) {
		const label = `${meta.target.system} ${meta.target.op}`;
		counts[label] = (counts[label] ?? 0) + 1;
	}
	return { committed, failed, attempted, invalid, review, counts };
}

function describeCounts(counts) {
	const parts = Object.entries(counts)
		.sort(([a], [b]) => a.localeCompare(b))
		.map(([label, count]) => `${count} ${label}`);
	return parts.length > 0 ? parts.join(', ') : 'nothing';
}

/**
 * The per-field decisions the Conflict Resolver explained in `_sync.resolution` of the writes it
 * committed, one row per entity and field (an entity merged both ways is written to both sides).
 * Fields that ended the same on both sides without a choice ("winner: both") are left out.
 */
function conflictDecisions(runs, nameOf) {
	const rows = new Map();
	runs.forEach(({ summary }, index) => {
		for (const meta of summary.committed) {
			for (const [field, decision] of Object.entries(meta.resolution ?? {})) {
				if (!decision || typeof decision !== 'object' || decision.winner === 'both') continue;
				const id = `${index}|${meta.entityId}|${field}|${decision.winner}|${decision.reason}`;
				const written = `${meta.target.op} in ${meta.target.system}`;
				const row = rows.get(id);
				if (row) row.written += `, ${written}`;
				else {
					rows.set(id, {
						cycle: index + 1,
						record: nameOf(meta),
						field,
						winner: decision.winner ?? '–',
						strategy: decision.strategy ?? '–',
						why: decision.reason ?? '–',
						written,
					});
				}
			}
		}
	});
	return [...rows.values()];
}

/** Reads the sync's stored audit trail back, oldest first, and verifies its hash chain. */
function auditWorkflow() {
	const node = (name, parameters, position) => ({
		id: randomUUIDLike(),
		name,
		type: 'n8n-nodes-two-way-sync.auditLogger',
		typeVersion: 1,
		position,
		parameters: { syncId: SYNC_ID, ...parameters },
	});
	return {
		name: 'Demo: audit trail',
		nodes: [
			{ id: randomUUIDLike(), name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
			node('All Events', { operation: 'query', order: 'oldest', returnAll: true }, [220, -100]),
			node('Verify Chain', { operation: 'verifyChain' }, [220, 100]),
		],
		connections: {
			Start: {
				main: [
					[
						{ node: 'All Events', type: 'main', index: 0 },
						{ node: 'Verify Chain', type: 'main', index: 0 },
					],
				],
			},
		},
		settings: { executionOrder: 'v1' },
	};
}

function randomUUIDLike() {
	const hex = randomBytes(16).toString('hex');
	return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20)}`;
}

// ---------------------------------------------------------------------------------------------
// The demo

/** Everything started or made, so that `cleanUp` can undo it whatever happened. */
const started = { systems: [], folder: undefined };
let interrupted = false;
let cleaning;

/** Our own child processes (an n8n run under way), by pid: /proc on Linux, none elsewhere. */
async function ownChildPids() {
	if (process.platform !== 'linux') return [];
	const entries = await readdir('/proc').catch(() => []);
	const pids = [];
	for (const entry of entries.filter((name) => /^\d+$/.test(name))) {
		const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
		// The command name may hold spaces and parentheses: the fields after the last ")" are fixed.
		const [, parent] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
		if (Number(parent) === process.pid) pids.push(Number(entry));
	}
	return pids;
}

function alive(pid) {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

/** SIGTERM to each pid (n8n then stops its task runner), SIGKILL to any still there after 10 s. */
async function stopProcesses(pids) {
	for (const pid of pids) {
		try {
			process.kill(pid, 'SIGTERM');
		} catch {
			// Already gone.
		}
	}
	const deadline = Date.now() + 10_000;
	while (pids.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
	for (const pid of pids.filter(alive)) process.kill(pid, 'SIGKILL');
}

/** Stops what the demo started and removes its folder; safe to call more than once. */
function cleanUp() {
	cleaning ??= (async () => {
		await Promise.allSettled(started.systems.map((system) => system.stop()));
		await stopProcesses(await ownChildPids());
		if (started.folder && KEEP) say(`   Kept ${started.folder} (TWS_DEMO_KEEP=1).`);
		else if (started.folder) await rm(started.folder, { recursive: true, force: true, maxRetries: 5 });
	})();
	return cleaning;
}

/**
 * One `n8n execute`, tried again (up to 3 times) only when n8n printed no result at all, as
 * n8n-host does; never after Ctrl-C, which also ends the n8n child.
 */
async function executeOnce(userFolder, id, note) {
	for (let attempt = 1; ; attempt++) {
		try {
			return await executeWorkflow(userFolder, id, { attempts: 1, log: note });
		} catch (error) {
			if (interrupted || attempt === 3 || !/no run JSON/.test(error.message)) throw error;
			note(`n8n execute printed no result; trying again (${attempt + 1}/3)`);
		}
	}
}

async function main() {
	const demoStarted = Date.now();
	say('Two-way sync for n8n: demo');
	say('A CRM and an ERP with different schemas, kept in step both ways by a real n8n running this package.\n');

	say('1. Preparing n8n (the first run installs n8n 2.41.1: a few minutes)');
	await step('Building this package', (note) => ensurePackageBuilt({ log: note }));
	await step('Installing the pinned n8n 2.41.1 (skipped when already installed)', (note) => ensureN8nInstalled({ log: note }));
	const folder = await mkdtemp(join(tmpdir(), 'two-way-sync-demo-'));
	started.folder = folder;
	const userFolder = join(folder, 'n8n');
	await step('Installing this package into n8n as a community node', (note) => installPackageInto(userFolder, { log: note }));
	say();

	say('2. Starting the two demo systems (REST, API key, on 127.0.0.1)');
	const [crm, erp] = await step('Starting the CRM and the ERP', () =>
		Promise.all(
			['crm', 'erp'].map(async (kind) => {
				const system = await startDemoSystem({ kind, dataFile: join(folder, `${kind}.sqlite`), apiKey: randomBytes(18).toString('base64url') });
				started.systems.push(system);
				return system;
			}),
		),
	);
	say(`     CRM /contacts   at ${crm.url} (pid ${crm.pid})`);
	say(`     ERP /customers  at ${erp.url} (pid ${erp.pid})`);
	await seedDemo({ crm, erp });
	say();
	const before = await readBoth(crm, erp);
	printSystems('Before: both systems as they start (Grace Hopper is in both, her email and phone written differently)', before);

	say('3. Importing the demo workflow (examples/demo-crm-erp) and its two API-key credentials');
	const workflowId = await step('n8n import:credentials and import:workflow', async () => {
		await importCredentials(userFolder, [
			{ ...CRM_CREDENTIAL, type: 'httpHeaderAuth', data: { name: 'X-Api-Key', value: crm.apiKey } },
			{ ...ERP_CREDENTIAL, type: 'httpHeaderAuth', data: { name: 'X-Api-Key', value: erp.apiKey } },
		]);
		const workflow = JSON.parse(await readFile(WORKFLOW_FILE, 'utf8'));
		const settings = workflow.nodes.find((node) => node.name === 'Settings').parameters.assignments.assignments;
		settings.find((setting) => setting.name === 'crmUrl').value = crm.url;
		settings.find((setting) => setting.name === 'erpUrl').value = erp.url;
		return await importWorkflow(userFolder, workflow);
	});
	say(`     state store: ${join(userFolder, '.n8n', 'two-way-sync.sqlite')} (built-in, nothing to set up)\n`);

	const runs = [];
	const runCycle = async (label) => {
		const run = await step(`${label}: n8n execute --id=${workflowId}`, (note) => executeOnce(userFolder, workflowId, note));
		if (KEEP) await writeFile(join(folder, `run-${runs.length + 1}.json`), JSON.stringify(run, null, 2));
		requireSuccess(run, label);
		const summary = cycleSummary(run);
		runs.push({ label, run, summary });
		say(`     written: ${describeCounts(summary.counts)}; failed writes: ${summary.failed.length}; invalid: ${summary.invalid}; to review: ${summary.review}`);
		if (summary.failed.length > 0) {
			for (const item of summary.failed) say(`     ✗ ${item.error?.message ?? JSON.stringify(item.error ?? item)}`);
		}
		return summary;
	};

	say('4. Sync cycle 1: the first sync (records new on either side are created on the other; Grace is matched by email)');
	await runCycle('Cycle 1');
	say();
	const afterFirst = await readBoth(crm, erp);

	say('5. Editing both systems through their REST APIs');
	for (const edit of EDITS) {
		await edit.apply({ crm, erp });
		say(`     ${edit.what}`);
	}
	say();

	say('6. Sync cycle 2: the edits');
	const second = await runCycle('Cycle 2');
	say();

	say('7. Sync cycle 3: nothing was edited, so nothing may be written (no echo of its own writes)');
	const quiet = await runCycle('Cycle 3');
	const quietDetected = ['Detect CRM Changes', 'Detect ERP Changes'].reduce((sum, node) => sum + [0, 1, 2].reduce((inner, output) => inner + emitted(runs.at(-1).run, node, output).length, 0), 0);
	say(`     changes detected: ${quietDetected}; items that reached a write node: ${quiet.attempted}`);
	say();

	const after = await readBoth(crm, erp);
	printSystems('After: both systems', after);

	// A person's latest name for an entity, from the newest snapshot that held one of its keys.
	const snapshots = [after, afterFirst, before];
	const nameOf = (meta) => {
		const keys = { ...meta.keys, [meta.system]: meta.key, [meta.target.system]: meta.target.key };
		const contact = snapshots.flatMap((snapshot) => snapshot.contacts).find((record) => record.id === keys.crm);
		const customer = snapshots.flatMap((snapshot) => snapshot.customers).find((record) => String(record.id) === String(keys.erp));
		return contact?.fullName ?? customer?.full_name ?? meta.entityId;
	};
	say("8. Decisions of the Conflict Resolver (_sync.resolution of each committed write)");
	const decisions = conflictDecisions(runs, nameOf);
	say(decisions.length > 0 ? table(decisions, ['cycle', 'record', 'field', 'winner', 'strategy', 'why', 'written']) : '     none');
	const conflicts = decisions.filter((decision) => /changed in both/.test(decision.why));
	say(`     true conflicts (a field changed on both sides to different values): ${conflicts.length}; fields that ended equal on both sides are not listed`);
	say();

	say('9. Audit trail (Audit Logger, store sink: Query, oldest first, then Verify Chain)');
	const audit = await step('n8n import:workflow and execute of an audit query', async (note) => {
		const id = await importWorkflow(userFolder, auditWorkflow());
		return await executeOnce(userFolder, id, note);
	});
	requireSuccess(audit, 'The audit query');
	const cycleOf = new Map(runs.map(({ run }, index) => [String(run.data.resultData.runData['Audit Writes']?.[0]?.data?.main?.[1]?.[0]?.json?.executionId ?? `none-${index}`), index + 1]));
	const events = emitted(audit, 'All Events');
	const endpoint = (point) => (point ? `${point.system}:${point.key ?? '(new)'}` : '–');
	say(
		table(
			events.map((event) => ({
				'#': event.seq,
				time: String(event.time).slice(11, 23),
				cycle: cycleOf.get(String(event.executionId)) ?? '?',
				op: event.op,
				'source → target': `${endpoint(event.source)} → ${endpoint(event.target)}`,
				status: event.status,
				fields: (event.changedFields ?? []).join(', ') || '–',
			})),
			['#', 'time', 'cycle', 'op', 'source → target', 'status', 'fields'],
		),
	);
	const chain = emitted(audit, 'Verify Chain')[0] ?? {};
	say(`     hash chain: ${chain.valid ? `intact (${chain.checked} events checked)` : `BROKEN: ${JSON.stringify(chain)}`}`);
	say();

	const problems = differences(after);
	const failedWrites = runs.reduce((sum, { summary }) => sum + summary.failed.length, 0);
	say('Result');
	say(`   Converged: ${problems.length === 0 ? `yes, both systems hold the same ${after.customers.length} people through the mapping, no duplicates` : 'NO'}`);
	for (const problem of problems) say(`     ✗ ${problem}`);
	say(`   Quiet cycle wrote: ${quiet.attempted} records${quiet.attempted === 0 ? ' (no echo loop)' : ''}`);
	say(`   Failed writes: ${failedWrites}`);
	say(`   Took ${seconds(Date.now() - demoStarted)}.`);
	if (problems.length > 0 || quiet.attempted > 0 || failedWrites > 0 || !chain.valid) {
		throw new Error('The sync did not end as expected: see the result above.');
	}
}

for (const signal of ['SIGINT', 'SIGTERM']) {
	process.on(signal, () => {
		if (interrupted) return;
		interrupted = true;
		say(`\n   Stopping (${signal}): the demo systems, n8n and the temporary folder go too.`);
		cleanUp().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
	});
}

main()
	.then(async () => {
		await cleanUp();
		say('Done. Both demo systems are stopped and the temporary folder is removed.');
	})
	.catch(async (error) => {
		await cleanUp();
		// After Ctrl-C the signal handler reports and exits; the aborted step is no failure to report.
		if (interrupted) return;
		process.stderr.write(`\nThe demo failed: ${error.message}\n`);
		process.exit(1);
	});
