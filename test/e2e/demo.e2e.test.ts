import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { N8N_RUN_TIMEOUT_MS, N8N_SETUP_TIMEOUT_MS, n8nHost } from './support';

// `npm run demo` (scripts/demo.mjs) as a user runs it: a child process that installs what it needs,
// starts the two demo systems, syncs them through the real n8n CLI, prints what happened, and
// stops everything it started.

const NODE24 = join(n8nHost.ROOT, 'node_modules', 'node', 'bin', 'node');
const DEMO = join(n8nHost.ROOT, 'scripts', 'demo.mjs');
const DEMO_TIMEOUT_MS = N8N_SETUP_TIMEOUT_MS + N8N_RUN_TIMEOUT_MS;

interface DemoRun {
	code: number | null;
	signal: NodeJS.Signals | null;
	stdout: string;
	stderr: string;
}

function runDemo(): Promise<DemoRun> {
	return new Promise((resolve, reject) => {
		const env = { ...process.env };
		// jest sets NODE_ENV=test; a user's shell does not, and the folders must go at the end.
		delete env.NODE_ENV;
		delete env.TWS_DEMO_KEEP;
		const child = spawn(NODE24, [DEMO], { cwd: n8nHost.ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
		let stdout = '';
		let stderr = '';
		child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
		child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
		// On overrun, SIGTERM lets the demo stop its systems; SIGKILL follows if it hangs.
		const overrun = setTimeout(() => {
			child.kill('SIGTERM');
			setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
		}, DEMO_TIMEOUT_MS - 30_000);
		child.on('error', reject);
		child.on('close', (code, signal) => {
			clearTimeout(overrun);
			resolve({ code, signal, stdout, stderr });
		});
	});
}

/** The lines between a heading and the next numbered section. */
function section(output: string, heading: string): string {
	const start = output.indexOf(heading);
	if (start < 0) throw new Error(`The demo printed no "${heading}".\n${output}`);
	const rest = output.slice(start + heading.length);
	const end = rest.search(/\n\d+\. |\nResult\n/);
	return end < 0 ? rest : rest.slice(0, end);
}

function isRunning(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

describe('npm run demo', () => {
	let demo: DemoRun;

	beforeAll(async () => {
		demo = await runDemo();
		if (demo.code !== 0) process.stderr.write(`[demo] stdout:\n${demo.stdout}\n[demo] stderr:\n${demo.stderr}\n`);
	}, DEMO_TIMEOUT_MS);

	it('finishes with exit code 0', () => {
		expect({ code: demo.code, signal: demo.signal }).toEqual({ code: 0, signal: null });
	});

	it('says what each long step is doing, and when it is done', () => {
		expect(demo.stdout).toMatch(/✓ Installing the pinned n8n 2\.41\.1/);
		expect(demo.stdout).toMatch(/✓ Installing this package into n8n as a community node/);
		expect(demo.stdout).toMatch(/✓ Cycle 1: n8n execute --id=\w+/);
	});

	it('shows both systems before the first sync, each in its own schema', () => {
		const before = section(demo.stdout, 'Before: both systems');
		expect(before).toMatch(/id\s+fullName\s+email\s+phoneNumber\s+isActive\s+birthday\s+status/);
		expect(before).toMatch(/id\s+full_name\s+email\s+phone\s+active\s+birth_date\s+status/);
		expect(before).toMatch(/Barbara Liskov\s+barbara\.liskov@example\.com/);
	});

	it('ends with both systems holding the same people, with the edits of both sides and the delete applied', () => {
		expect(demo.stdout).toMatch(/Converged: yes, both systems hold the same 8 people through the mapping, no duplicates/);
		const after = section(demo.stdout, 'After: both systems');
		expect(after).toMatch(/CRM \/contacts \(8\)/);
		expect(after).toMatch(/ERP \/customers \(8\)/);
		// Ada: the CRM's new phone and the ERP's new status both survive, on both sides.
		expect(after).toMatch(/Ada Lovelace\s+ada\.lovelace@example\.com\s+\+44 20 7946 0999\s+yes\s+10\/12\/1815\s+Inactive/);
		expect(after).toMatch(/Ada Lovelace\s+ada\.lovelace@example\.com\s+\+44 20 7946 0999\s+true\s+1815-12-10\s+I/);
		// Records created on one side reached the other.
		expect(after.match(/Radia Perlman/g)).toHaveLength(2);
		expect(after.match(/Frances Allen/g)).toHaveLength(2);
		expect(after).not.toMatch(/Barbara Liskov/);
	});

	it('shows the true conflict and who won it, and why', () => {
		const decisions = section(demo.stdout, 'Decisions of the Conflict Resolver');
		expect(decisions).toMatch(/2\s+Alan M\. Turing\s+full_name\s+crm\s+priority\s+changed in both to different values; crm has priority\s+update in erp/);
		expect(decisions).toMatch(/true conflicts \(a field changed on both sides to different values\): [1-9]/);
	});

	it('writes nothing in the cycle after the edits were synced', () => {
		expect(demo.stdout).toMatch(/Quiet cycle wrote: 0 records \(no echo loop\)/);
		expect(demo.stdout).toMatch(/Failed writes: 0/);
	});

	it('shows the audit trail from the store, with an intact hash chain', () => {
		const audit = section(demo.stdout, 'Audit trail');
		expect(audit).toMatch(/#\s+time\s+cycle\s+op\s+source → target\s+status\s+fields/);
		expect(audit).toMatch(/delete\s+erp:\d+ → crm:\w+\s+applied/);
		expect(audit).toMatch(/create\s+crm:\w+ → erp:\d+\s+applied/);
		expect(audit).toMatch(/hash chain: intact \(\d+ events checked\)/);
	});

	it('stops the demo systems it started and removes its temporary folder', () => {
		const pids = [...demo.stdout.matchAll(/\(pid (\d+)\)/g)].map((match) => Number(match[1]));
		expect(pids).toHaveLength(2);
		expect(pids.filter(isRunning)).toEqual([]);
		const store = /state store: (\S+)/.exec(demo.stdout)?.[1];
		expect(store).toBeDefined();
		expect(existsSync(join(store!, '..', '..', '..'))).toBe(false);
	});
});
