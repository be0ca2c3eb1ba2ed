#!/usr/bin/env node
// The README's test command (`npm test`): build, type-check, lint, then the jest suites.
// The end-to-end suite (real n8n, PostgreSQL, Parse Server) runs when CI=true or with --e2e.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const withE2e = process.env.CI === 'true' || process.argv.includes('--e2e');
const onlyE2e = process.argv.includes('--only-e2e');
const reportDir = join(root, 'test-artifacts');
mkdirSync(reportDir, { recursive: true });

function step(title, command, args) {
	console.log(`\n=== ${title} ===`);
	const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: process.env });
	if (result.status !== 0) {
		console.error(`\n${title} failed (exit ${result.status ?? result.signal}).`);
		process.exit(result.status || 1);
	}
}

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 5)) {
	console.error(`Node ${process.version} runs this script, but the tests need Node 24 (node:sqlite). Run it through npm ("npm test"), which puts the pinned Node 24 from devDependencies first on PATH.`);
	process.exit(1);
}

step('Build', 'npm', ['run', '--silent', 'build']);
if (!onlyE2e) {
	step('Type check', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']);
	step('Lint (n8n community node rules)', 'npm', ['run', '--silent', 'lint']);
}

const suites = [];
// n8n 2.x evaluates expressions in isolated-vm and loads that engine with a dynamic import(),
// which jest allows only with vm modules; the node tests then cover n8n's real expression engine.
const vmModules = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --experimental-vm-modules`.trim() };
if (!onlyE2e) suites.push({ name: 'unit and node tests', projects: ['unit', 'node'], extra: [], env: vmModules });
if (withE2e || onlyE2e) {
	step('Install the pinned real n8n (first time takes minutes)', 'node', ['scripts/n8n-host.mjs', 'install']);
	suites.push({ name: 'end-to-end tests', projects: ['e2e'], extra: ['--runInBand'] });
} else {
	console.log('\n(End-to-end tests skipped: they run with CI=true or "npm test -- --e2e".)');
}

let passed = 0;
let failed = 0;
let failedSuite = false;
for (const suite of suites) {
	const report = join(reportDir, `jest-${suite.projects.join('-')}.json`);
	console.log(`\n=== ${suite.name} ===`);
	const result = spawnSync(
		'npx',
		['jest', '--selectProjects', ...suite.projects, ...suite.extra, '--json', `--outputFile=${report}`],
		{ cwd: root, stdio: 'inherit', env: { ...process.env, ...suite.env } },
	);
	try {
		const summary = JSON.parse(readFileSync(report, 'utf8'));
		passed += summary.numPassedTests;
		failed += summary.numFailedTests;
		if (summary.numTotalTests === 0) failedSuite = true;
	} catch {
		failedSuite = true;
	}
	if (result.status !== 0) failedSuite = true;
}

console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed > 0 || failedSuite ? 1 : 0);
