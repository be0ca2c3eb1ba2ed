// Field Mapper engine speed: 100k records through 20 rules, against two floors.
//   1. Without dates: a hand-written copy of the same 20 fields (no conversion at all).
//   2. With two date rules: luxon's own parse and format of those two fields.
// Run after `npm run build`: node_modules/.bin/node bench/fieldMapper.mjs [--records N] [--rounds N]
// Writes bench/results/fieldMapper-<date>.json and prints a table.
// bench/run.mjs imports timingJob and memoryJob (the map of its engine-scaling section).

import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { median, settleHeap } from './rounds.mjs';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { createMapper, parseRuleSet } = require(join(root, 'dist/nodes/engine/mapper/index.js'));
const { DateTime } = require('luxon');

function argument(name, fallback) {
	const index = process.argv.indexOf(`--${name}`);
	return index === -1 ? fallback : Number(process.argv[index + 1]);
}

const STATUSES = ['Active', 'Inactive', 'Pending'];

function pad(number, width = 2) {
	return String(number).padStart(width, '0');
}

/** Realistic CRM-like records: text with stray spaces, numbers as text, yes/no words, nested address, dates in US format. */
export function makeRecords(count) {
	const records = new Array(count);
	for (let index = 0; index < count; index++) {
		const month = (index % 12) + 1;
		const day = (index % 28) + 1;
		records[index] = {
			Customer_ID: String(100000 + index),
			FirstName: ` Name${index} `,
			LastName: `Family${index % 977}`,
			Email: `User${index}@Example.com`,
			Phone: `+1-555-${pad(index % 10000, 4)}`,
			Company: `Company ${index % 311}`,
			Status: STATUSES[index % 3],
			Vip: index % 5 === 0 ? 'TRUE' : 'FALSE',
			Score: String((index % 1000) / 10),
			Visits: String(index % 500),
			Region: `R${index % 7}`,
			Owner: `owner${index % 13}`,
			Source: 'web',
			Notes: 'Called twice, prefers email',
			Language: 'en',
			Currency: 'USD',
			Segment: `S${index % 4}`,
			address: { city: `City${index % 101}`, zip: pad(index % 99999, 5), street: `${index} Main St` },
			Joined: `${pad(month)}/${pad(day)}/2024`,
			LastContact: `${pad(month)}/${pad(day)}/2025 ${pad(index % 24)}:${pad(index % 60)}`,
		};
	}
	return records;
}

export const COMMON_RULES = [
	{ source: 'Customer_ID', target: 'ClientID', type: 'integer', sourceType: 'string', required: true },
	{ source: 'FirstName', target: 'first_name', type: 'string', transforms: [{ type: 'trim' }] },
	{ source: 'LastName', target: 'last_name', type: 'string' },
	{ source: 'Email', target: 'email', type: 'string', transforms: [{ type: 'lowercase' }], required: true },
	{ source: 'Phone', target: 'phone' },
	{ source: 'Company', target: 'company.name' },
	{ source: 'Status', target: 'status', transforms: [{ type: 'valueMap', map: { Active: 'A', Inactive: 'I', Pending: 'P' }, fallback: 'error' }] },
	{ source: 'Vip', target: 'is_vip', type: 'boolean', boolean: { true: ['TRUE'], false: ['FALSE'] } },
	{ source: 'Score', target: 'score', type: 'number', sourceType: 'string' },
	{ source: 'Visits', target: 'visits', type: 'integer', sourceType: 'string' },
	{ source: 'Region', target: 'region' },
	{ source: 'Owner', target: 'owner', transforms: [{ type: 'uppercase' }] },
	{ source: 'Source', target: 'source', transforms: [{ type: 'default', value: 'unknown' }] },
	{ source: 'Notes', target: 'notes', type: 'string' },
	{ source: 'Language', target: 'language' },
	{ source: 'Currency', target: 'currency' },
	{ source: 'Segment', target: 'segment' },
	{ source: 'address.city', target: 'city' },
];

export const RULES_WITHOUT_DATES = [...COMMON_RULES, { source: 'address.zip', target: 'zip' }, { source: 'address.street', target: 'street' }];
export const RULES_WITH_DATES = [
	...COMMON_RULES,
	{ source: 'Joined', target: 'joined_on', type: 'date', date: { from: 'MM/dd/yyyy', to: 'iso' } },
	{ source: 'LastContact', target: 'last_contact_at', type: 'datetime', date: { from: 'MM/dd/yyyy HH:mm', fromZone: 'America/New_York', to: 'iso', toZone: 'UTC' } },
];

/** The floor without dates: the same 20 fields copied by hand, no conversion. */
export function handCopy(record) {
	return {
		ClientID: record.Customer_ID,
		first_name: record.FirstName,
		last_name: record.LastName,
		email: record.Email,
		phone: record.Phone,
		company: { name: record.Company },
		status: record.Status,
		is_vip: record.Vip,
		score: record.Score,
		visits: record.Visits,
		region: record.Region,
		owner: record.Owner,
		source: record.Source,
		notes: record.Notes,
		language: record.Language,
		currency: record.Currency,
		segment: record.Segment,
		city: record.address.city,
		zip: record.address.zip,
		street: record.address.street,
	};
}

const STATUS_CODES = { Active: 'A', Inactive: 'I', Pending: 'P' };

/** A reference, not a floor: the same 20 fields with the same conversions, written by hand for this data. */
function handConvert(record) {
	return {
		ClientID: Number(record.Customer_ID),
		first_name: record.FirstName.trim(),
		last_name: record.LastName,
		email: record.Email.toLowerCase(),
		phone: record.Phone,
		company: { name: record.Company },
		status: STATUS_CODES[record.Status],
		is_vip: record.Vip === 'TRUE',
		score: Number(record.Score),
		visits: Number(record.Visits),
		region: record.Region,
		owner: record.Owner.toUpperCase(),
		source: record.Source || 'unknown',
		notes: record.Notes,
		language: record.Language,
		currency: record.Currency,
		segment: record.Segment,
		city: record.address.city,
		zip: record.address.zip,
		street: record.address.street,
	};
}

const NEW_YORK = { zone: 'America/New_York' };
const UTC = { zone: 'UTC' };

/** The floor with dates, as most code calls luxon: fromFormat and a format, per record. */
function luxonPlain(record) {
	return {
		joined_on: DateTime.fromFormat(record.Joined, 'MM/dd/yyyy', UTC).toISODate(),
		last_contact_at: DateTime.fromFormat(record.LastContact, 'MM/dd/yyyy HH:mm', NEW_YORK).setZone('UTC').toISO(),
	};
}

/** The stricter floor: luxon's token parsers built once, as the engine does. */
const joinedParser = DateTime.buildFormatParser('MM/dd/yyyy');
const contactParser = DateTime.buildFormatParser('MM/dd/yyyy HH:mm');
function luxonPrebuilt(record) {
	return {
		joined_on: DateTime.fromFormatParser(record.Joined, joinedParser, UTC).toISODate(),
		last_contact_at: DateTime.fromFormatParser(record.LastContact, contactParser, NEW_YORK).setZone('UTC').toISO(),
	};
}

export function compile(rules) {
	const { ruleSet, problems } = parseRuleSet({ version: 1, rules });
	if (problems.length > 0) throw new Error(JSON.stringify(problems));
	return createMapper(ruleSet, { direction: 'aToB' });
}

let sink = 0;
// Every pass keeps its outputs, as n8n keeps items, so no allocation can be optimised away.
let outputs = [];

/** Best of `rounds` (after one warm-up round) of one full pass over the records. */
function measure(records, run, rounds) {
	outputs = new Array(records.length);
	run(records);
	let best = Infinity;
	for (let round = 0; round < rounds; round++) {
		const started = process.hrtime.bigint();
		run(records);
		const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
		best = Math.min(best, elapsed);
	}
	return { ms: Number(best.toFixed(2)), recordsPerSecond: Math.round(records.length / (best / 1000)) };
}

function engineRun(mapper) {
	return (records) => {
		let invalid = 0;
		for (let index = 0; index < records.length; index++) {
			const result = mapper.map(records[index], index);
			if (result.errors) invalid++;
			outputs[index] = result.record;
		}
		if (invalid > 0) throw new Error(`${invalid} records were invalid; the benchmark data must all map`);
	};
}

function plainRun(fn) {
	return (records) => {
		for (let index = 0; index < records.length; index++) outputs[index] = fn(records[index]);
	};
}

/**
 * The 20 rules without dates against the hand-written copy of the same fields, in one process,
 * rounds taken in turns (after one warm-up pass each) so a busy machine slows both alike.
 */
export function timingJob(count, rounds) {
	const records = makeRecords(count);
	const engine = engineRun(compile(RULES_WITHOUT_DATES));
	const floor = plainRun(handCopy);
	outputs = new Array(count);
	floor(records);
	engine(records);
	const timed = (run) => {
		settleHeap();
		const started = process.hrtime.bigint();
		run(records);
		return Number(process.hrtime.bigint() - started) / 1e6;
	};
	const floorTimes = [];
	const engineTimes = [];
	for (let round = 0; round < rounds; round++) {
		floorTimes.push(timed(floor));
		engineTimes.push(timed(engine));
	}
	return { floorMs: median(floorTimes), engineMs: median(engineTimes), counts: { input: count, mapped: outputs.length } };
}

/** One job ('floor' or 'engine') alone in a fresh process, for its peak memory. */
export function memoryJob(job, count) {
	const records = makeRecords(count);
	outputs = new Array(count);
	(job === 'engine' ? engineRun(compile(RULES_WITHOUT_DATES)) : plainRun(handCopy))(records);
	return {};
}

function main() {
	const RECORDS = argument('records', 100_000);
	const ROUNDS = argument('rounds', 7);
	const records = makeRecords(RECORDS);
	const withoutDates = compile(RULES_WITHOUT_DATES);
	const withDates = compile(RULES_WITH_DATES);

	// Same output check: the engine and the floors agree on the date fields.
	const sample = withDates.map(records[1], 1).record;
	const floorSample = luxonPlain(records[1]);
	if (sample.joined_on !== floorSample.joined_on || sample.last_contact_at !== floorSample.last_contact_at) {
		throw new Error(`The engine and luxon disagree: ${JSON.stringify(sample)} vs ${JSON.stringify(floorSample)}`);
	}

	const results = {
		noDates: {
			engine: measure(records, engineRun(withoutDates), ROUNDS),
			floorHandCopy: measure(records, plainRun(handCopy), ROUNDS),
			referenceHandConvert: measure(records, plainRun(handConvert), ROUNDS),
		},
		twoDates: {
			engine: measure(records, engineRun(withDates), ROUNDS),
			floorLuxonFromFormat: measure(records, plainRun(luxonPlain), ROUNDS),
			floorLuxonPrebuiltParser: measure(records, plainRun(luxonPrebuilt), ROUNDS),
		},
	};

	const noDatesRatio = results.noDates.engine.ms / results.noDates.floorHandCopy.ms;
	const datesRatioPlain = results.twoDates.engine.ms / results.twoDates.floorLuxonFromFormat.ms;
	const datesRatioPrebuilt = results.twoDates.engine.ms / results.twoDates.floorLuxonPrebuiltParser.ms;
	const report = {
		benchmark: 'fieldMapper',
		level: 'engine',
		date: new Date().toISOString(),
		node: process.version,
		cpu: cpus()[0]?.model ?? 'unknown',
		cores: cpus().length,
		records: RECORDS,
		rules: 20,
		rounds: ROUNDS,
		results,
		targets: {
			noDatesAtLeast200kPerSecond: { value: results.noDates.engine.recordsPerSecond, met: results.noDates.engine.recordsPerSecond >= 200_000 },
			twoDatesWithin2xOfLuxon: {
				ratioToFromFormat: Number(datesRatioPlain.toFixed(2)),
				ratioToPrebuiltParser: Number(datesRatioPrebuilt.toFixed(2)),
				met: datesRatioPrebuilt <= 2,
			},
		},
		noDatesRatioToHandCopy: Number(noDatesRatio.toFixed(2)),
		noDatesRatioToHandConvert: Number((results.noDates.engine.ms / results.noDates.referenceHandConvert.ms).toFixed(2)),
	};

	const resultsDir = join(root, 'bench', 'results');
	mkdirSync(resultsDir, { recursive: true });
	const file = join(resultsDir, `fieldMapper-${report.date.slice(0, 10)}.json`);
	writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);

	const rows = [
		['no dates', 'engine (20 rules)', results.noDates.engine],
		['no dates', 'floor: hand-written copy', results.noDates.floorHandCopy],
		['no dates', 'ref: hand-written conversions', results.noDates.referenceHandConvert],
		['2 dates', 'engine (20 rules)', results.twoDates.engine],
		['2 dates', 'floor: luxon fromFormat', results.twoDates.floorLuxonFromFormat],
		['2 dates', 'floor: luxon prebuilt parser', results.twoDates.floorLuxonPrebuiltParser],
	];
	console.log(`Field Mapper engine, ${RECORDS} records, best of ${ROUNDS} (${process.version})`);
	console.log('case      what                            ms      records/s');
	for (const [name, what, { ms, recordsPerSecond }] of rows) {
		console.log(`${name.padEnd(9)} ${what.padEnd(30)} ${String(ms).padStart(8)} ${String(recordsPerSecond).padStart(12)}`);
	}
	console.log(`no dates: ${report.targets.noDatesAtLeast200kPerSecond.met ? 'meets' : 'MISSES'} >= 200k records/s; ${noDatesRatio.toFixed(2)}x the hand-written copy, ${report.noDatesRatioToHandConvert}x hand-written conversions`);
	console.log(`2 dates: ${datesRatioPrebuilt.toFixed(2)}x luxon with prebuilt parsers, ${datesRatioPlain.toFixed(2)}x luxon fromFormat (target <= 2x): ${report.targets.twoDatesWithin2xOfLuxon.met ? 'meets' : 'MISSES'}`);
	console.log(`written to ${file}`);
	sink += outputs.length;
	if (sink < 0) console.log(sink);
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) main();
