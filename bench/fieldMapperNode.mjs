// Field Mapper node time in real n8n 2.41.1 (the CLI, with this package installed as a community
// node). One workflow: a Code node makes the records, then each branch maps them:
//   - Field Mapper, 20 rules without dates, against a Code node copying the same 20 fields by hand
//     (the node-level floor of a hand-written copy);
//   - Field Mapper, 20 rules of which two are dates, against a Code node doing luxon's parse and
//     format of those two fields (the node-level luxon floor).
// n8n's Edit Fields node is no floor here: with n8n 2.41's isolated-vm expressions it copied 20
// fields of 2,000 records in 43.9 s (one expression per field and item).
// The time of each node is n8n's own executionTime from the run data; the Code nodes' includes
// the hand-over of the items to n8n's task runner and back.
// Run: node_modules/.bin/node bench/fieldMapperNode.mjs [--records N] [--rounds N]
// `n8n execute` prints every node's items, so the default is 20k records; the rates scale.
// Writes bench/results/fieldMapper-node-<date>.json and prints a table.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ensureN8nInstalled, ensurePackageBuilt, executeWorkflow, importWorkflow, installPackageInto } from '../scripts/n8n-host.mjs';
import { RULES_WITH_DATES, RULES_WITHOUT_DATES } from './fieldMapper.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function argument(name, fallback) {
	const index = process.argv.indexOf(`--${name}`);
	return index === -1 ? fallback : Number(process.argv[index + 1]);
}

const RECORDS = argument('records', 20_000);
const ROUNDS = argument('rounds', 3);

// The same records as bench/fieldMapper.mjs, made inside n8n by a Code node.
const GENERATE = `
const pad = (n, w = 2) => String(n).padStart(w, '0');
const statuses = ['Active', 'Inactive', 'Pending'];
const out = [];
for (let i = 0; i < ${RECORDS}; i++) {
	const month = (i % 12) + 1;
	const day = (i % 28) + 1;
	out.push({ json: {
		Customer_ID: String(100000 + i), FirstName: ' Name' + i + ' ', LastName: 'Family' + (i % 977), Email: 'User' + i + '@Example.com',
		Phone: '+1-555-' + pad(i % 10000, 4), Company: 'Company ' + (i % 311), Status: statuses[i % 3], Vip: i % 5 === 0 ? 'TRUE' : 'FALSE',
		Score: String((i % 1000) / 10), Visits: String(i % 500), Region: 'R' + (i % 7), Owner: 'owner' + (i % 13), Source: 'web',
		Notes: 'Called twice, prefers email', Language: 'en', Currency: 'USD', Segment: 'S' + (i % 4),
		address: { city: 'City' + (i % 101), zip: pad(i % 99999, 5), street: i + ' Main St' },
		Joined: pad(month) + '/' + pad(day) + '/2024', LastContact: pad(month) + '/' + pad(day) + '/2025 ' + pad(i % 24) + ':' + pad(i % 60),
	} });
}
return out;
`;

const COPY_CODE = `return $input.all().map(({ json: r }) => ({ json: {
	ClientID: r.Customer_ID, first_name: r.FirstName, last_name: r.LastName, email: r.Email, phone: r.Phone,
	company: { name: r.Company }, status: r.Status, is_vip: r.Vip, score: r.Score, visits: r.Visits, region: r.Region,
	owner: r.Owner, source: r.Source, notes: r.Notes, language: r.Language, currency: r.Currency, segment: r.Segment,
	city: r.address.city, zip: r.address.zip, street: r.address.street,
} }));`;

const LUXON_CODE = `return $input.all().map(({ json: r }) => ({ json: {
	joined_on: DateTime.fromFormat(r.Joined, 'MM/dd/yyyy', { zone: 'UTC' }).toISODate(),
	last_contact_at: DateTime.fromFormat(r.LastContact, 'MM/dd/yyyy HH:mm', { zone: 'America/New_York' }).setZone('UTC').toISO(),
} }));`;

const MAPPER_NO_DATES = 'Field Mapper (20 rules)';
const MAPPER_DATES = 'Field Mapper (20 rules, 2 dates)';
const CODE_COPY = 'Code: copy of 20 fields';
const CODE_DATES = 'Code: luxon on 2 dates';

function workflow() {
	let x = 0;
	const node = (name, type, typeVersion, parameters) => ({ id: `n-${(x += 1)}`, name, type, typeVersion, position: [x * 200, 0], parameters });
	const mapperParameters = (rules) => ({ operation: 'map', systemA: 'crm', systemB: 'erp', rulesSource: 'json', rulesJson: JSON.stringify({ version: 1, rules }) });
	const nodes = [
		node('Start', 'n8n-nodes-base.manualTrigger', 1, {}),
		node('Generate', 'n8n-nodes-base.code', 2, { jsCode: GENERATE }),
		node(MAPPER_NO_DATES, 'n8n-nodes-two-way-sync.fieldMapper', 1, mapperParameters(RULES_WITHOUT_DATES)),
		node(CODE_COPY, 'n8n-nodes-base.code', 2, { jsCode: COPY_CODE }),
		node(MAPPER_DATES, 'n8n-nodes-two-way-sync.fieldMapper', 1, mapperParameters(RULES_WITH_DATES)),
		node(CODE_DATES, 'n8n-nodes-base.code', 2, { jsCode: LUXON_CODE }),
	];
	const to = (...names) => ({ main: [names.map((name) => ({ node: name, type: 'main', index: 0 }))] });
	return {
		name: 'Field Mapper node benchmark',
		nodes,
		connections: { Start: to('Generate'), Generate: to(MAPPER_NO_DATES, CODE_COPY, MAPPER_DATES, CODE_DATES) },
		settings: { executionOrder: 'v1' },
	};
}

function nodeTime(run, name) {
	const task = run.data.resultData.runData[name]?.[0];
	if (!task) throw new Error(`${name} did not run`);
	const items = task.data?.main?.[0]?.length ?? 0;
	if (items !== RECORDS) throw new Error(`${name} emitted ${items} items on its first output, not ${RECORDS}`);
	return task.executionTime;
}

const log = (line) => process.stderr.write(`${line}\n`);
await ensureN8nInstalled({ log });
await ensurePackageBuilt({ log });
const userFolder = mkdtempSync(join(tmpdir(), 'tws-bench-mapper-'));
const times = { [MAPPER_NO_DATES]: [], [CODE_COPY]: [], [MAPPER_DATES]: [], [CODE_DATES]: [] };
try {
	await installPackageInto(userFolder, { log });
	const id = await importWorkflow(userFolder, workflow());
	for (let round = 1; round <= ROUNDS; round++) {
		log(`round ${round}/${ROUNDS}: n8n execute with ${RECORDS} records...`);
		const run = await executeWorkflow(userFolder, id, { log });
		if (run.status !== 'success') throw new Error(`The run failed: ${JSON.stringify(run.data?.resultData?.error ?? run.status)}`);
		for (const name of Object.keys(times)) times[name].push(nodeTime(run, name));
	}
} finally {
	rmSync(userFolder, { recursive: true, force: true });
}

const best = (name) => Math.min(...times[name]);
const rate = (ms) => Math.round(RECORDS / (ms / 1000));
const results = Object.fromEntries(Object.keys(times).map((name) => [name, { bestMs: best(name), runsMs: times[name], recordsPerSecond: rate(best(name)) }]));
const report = {
	benchmark: 'fieldMapper',
	level: 'node in real n8n 2.41.1 (n8n execute, executionTime from the run data)',
	date: new Date().toISOString(),
	node: process.version,
	cpu: cpus()[0]?.model ?? 'unknown',
	cores: cpus().length,
	records: RECORDS,
	rules: 20,
	rounds: ROUNDS,
	results,
	ratios: {
		noDatesToCodeCopy: Number((best(MAPPER_NO_DATES) / best(CODE_COPY)).toFixed(2)),
		twoDatesToCodeLuxon: Number((best(MAPPER_DATES) / best(CODE_DATES)).toFixed(2)),
	},
};
const resultsDir = join(root, 'bench', 'results');
mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, `fieldMapper-node-${report.date.slice(0, 10)}.json`);
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);

console.log(`Field Mapper node in real n8n, ${RECORDS} records, best of ${ROUNDS}`);
console.log('node                                      ms   records/s');
for (const [name, { bestMs, recordsPerSecond }] of Object.entries(results)) {
	console.log(`${name.padEnd(36)} ${String(bestMs).padStart(8)} ${String(recordsPerSecond).padStart(11)}`);
}
console.log(`no dates: ${report.ratios.noDatesToCodeCopy}x the Code node copy; 2 dates: ${report.ratios.twoDatesToCodeLuxon}x the Code node's luxon`);
console.log(`written to ${file}`);
