#!/usr/bin/env node
// The README's demo command (`npm run demo`): a real n8n 2.41.1 with this package installed as a
// community node runs the Sync State example twice on the built-in store, and prints what the sync
// remembered and that the second run read it back. Everything it starts, it stops; it can run again.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
	ROOT,
	ensureN8nInstalled,
	ensurePackageBuilt,
	executeWorkflow,
	importWorkflow,
	installPackageInto,
} from './n8n-host.mjs';

const say = (line) => process.stdout.write(`${line}\n`);
const progress = (line) => say(`  … ${line}`);

function outputJson(run, node) {
	return (run.data.resultData.runData[node]?.[0]?.data?.main?.[0] ?? []).map((item) => item.json);
}

function table(rows, columns) {
	const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => String(row[column] ?? '').length)));
	const line = (cells) => '  ' + cells.map((cell, index) => String(cell ?? '').padEnd(widths[index])).join('  ');
	return [line(columns), line(widths.map((width) => '-'.repeat(width))), ...rows.map((row) => line(columns.map((column) => row[column])))].join('\n');
}

function requireSuccess(run, label) {
	if (run.status === 'success') return;
	const error = run.data.resultData.error;
	throw new Error(`${label} ended with status ${run.status}: ${error?.message ?? 'no error recorded'}${error?.description ? ` (${error.description})` : ''}`);
}

async function main() {
	say('Two-way sync for n8n: demo\n');
	say('1. Preparing a real n8n 2.41.1 with this package installed as a community node');
	await ensurePackageBuilt({ log: progress });
	await ensureN8nInstalled({ log: progress });
	const userFolder = await mkdtemp(join(tmpdir(), 'two-way-sync-demo-'));
	try {
		await installPackageInto(userFolder, { log: progress });
		const workflow = JSON.parse(await readFile(join(ROOT, 'examples', 'sync-state-basics', 'workflow.json'), 'utf8'));
		const id = await importWorkflow(userFolder, workflow);
		say(`   n8n user folder: ${userFolder}`);
		say(`   state store: ${join(userFolder, '.n8n', 'two-way-sync.sqlite')} (built-in)\n`);

		say('2. Run 1: three CRM contacts are written to the ERP, then committed');
		const first = await executeWorkflow(userFolder, id, { log: progress });
		requireSuccess(first, 'Run 1');
		const committed = outputJson(first, 'Commit');
		say(
			table(
				committed.map((item) => ({
					'CRM key': item._sync.key,
					email: item.email,
					'ERP key (assigned)': item._sync.target.key,
					entityId: item._sync.entityId,
					committed: item._sync.committed,
				})),
				['CRM key', 'email', 'ERP key (assigned)', 'entityId', 'committed'],
			),
		);
		const cursorBefore = outputJson(first, 'Get CRM Cursor')[0];
		const cursorSet = outputJson(first, 'Set CRM Cursor')[0];
		say(`   CRM cursor: ${cursorBefore.cursor} (default, nothing stored yet) -> stored ${cursorSet.cursor}\n`);

		say('3. Run 2: a new n8n process runs the same workflow');
		const second = await executeWorkflow(userFolder, id, { log: progress });
		requireSuccess(second, 'Run 2');
		const again = outputJson(second, 'Commit');
		const sameEntities = again.every((item, index) => item._sync.entityId === committed[index]._sync.entityId);
		say(`   Commit of the same items: committed = ${again.map((item) => item._sync.committed).join(', ')} (idempotent: nothing new to remember)`);
		say(`   Same entities as run 1: ${sameEntities ? 'yes' : 'NO'}`);
		say(`   CRM cursor read back: ${outputJson(second, 'Get CRM Cursor')[0].cursor}`);
		const stats = outputJson(second, 'Stats')[0];
		say(`   Stats: ${stats.entities} entities; links per system ${JSON.stringify(stats.systems)}; retry queue ${JSON.stringify(stats.outbox)}\n`);
		if (!sameEntities) throw new Error('Run 2 did not read back the entities run 1 stored.');
		say('Done. The state survived between two separate n8n processes.');
	} finally {
		await rm(userFolder, { recursive: true, force: true });
	}
}

main().catch((error) => {
	process.stderr.write(`\nThe demo failed: ${error.message}\n`);
	process.exit(1);
});
