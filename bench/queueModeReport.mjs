// The queue-mode scaling figures (bench/queueMode.mjs) for bench/RESULTS.md: the newest
// bench/results/queue-mode-*.json, rendered as a paragraph and a table by bench/report.mjs.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), 'results');

/** The newest queue-mode results, with their file name relative to bench/, or undefined. */
export function latestQueueModeRun(dir = resultsDir) {
	const [newest] = readdirSync(dir)
		.filter((name) => /^queue-mode-.*\.json$/.test(name))
		.sort()
		.reverse();
	return newest ? { file: `results/${newest}`, results: JSON.parse(readFileSync(join(dir, newest), 'utf8')) } : undefined;
}

/** The phases as a Markdown table. */
export function renderQueueModeTable(phases) {
	return [
		'| Workers | Load | Events | Time | Events/s | Speed-up over 1 worker | Peak executions at once | Load average (start, end) |',
		'| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
		...phases.map(
			(phase) =>
				`| ${phase.workers} | ${phase.scenario} | ${phase.events} | ${phase.seconds} s | ${phase.eventsPerSecond} | ${phase.speedupOverOneWorker} | ${phase.peakConcurrent} | ${phase.loadAverage.join(', ')} |`,
		),
	];
}

/** Markdown lines for one queue-mode run. */
export function renderQueueMode({ file, results }) {
	return [
		`**n8n queue mode, 3, 2 and 1 workers** (a standalone run of bench/queueMode.mjs ended ${results.date.replace('T', ' ').slice(0, 16)} UTC, [${file}](${file}), ${results.environment.cpus} CPUs). ${results.description}`,
		'',
		...renderQueueModeTable(results.phases),
		'',
	];
}
