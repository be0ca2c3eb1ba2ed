// Queue-mode scaling: webhook events per second through n8n 2.41.1 in queue mode with 3, 2 and 1
// workers, one phase after the other in the same run, and the speed-up over one worker.
//
// The set-up is the end-to-end test's (test/e2e/queueMode.e2e.test.ts: our own Redis with a password,
// PostgreSQL for n8n, the state store and the two systems, main plus workers, the per-record-lock
// sync workflow), so this runs that test file with TWS_QUEUE_BENCH=1: after its correctness checks it
// fires, per worker count, 600 saves of 150 fresh contacts (4 each, which wait for each other's lock)
// and 600 saves of 600 contacts (1 each), and writes bench/results/queue-mode-<date>.json.
// Nothing here fails on a slow result.
//
// Run: node_modules/.bin/node bench/queueMode.mjs   (about 15 minutes on a busy 2-core machine)

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { renderQueueModeTable } from './queueModeReport.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const started = new Date();

const jest = spawnSync(join(root, 'node_modules', '.bin', 'jest'), ['test/e2e/queueMode.e2e.test.ts', '--selectProjects', 'e2e', '--runInBand'], {
	cwd: root,
	stdio: 'inherit',
	env: {
		...process.env,
		TWS_QUEUE_BENCH: '1',
		NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --experimental-vm-modules`.trim(),
		PATH: `${join(root, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
	},
});

const file = join(root, 'bench', 'results', `queue-mode-${started.toISOString().slice(0, 10)}.json`);
if (!existsSync(file) || Date.parse(JSON.parse(readFileSync(file, 'utf8')).date) < started.getTime()) {
	console.error(`The queue-mode run wrote no results (jest exit ${jest.status ?? jest.signal}).`);
	process.exit(1);
}
const { phases } = JSON.parse(readFileSync(file, 'utf8'));
console.log(renderQueueModeTable(phases).join('\n'));
console.log(`Results: ${file}`);
if (jest.status !== 0) process.exitCode = jest.status ?? 1;
