import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { appendJsonLines } from '../../nodes/engine/audit/jsonl';
import { SyncError } from '../../nodes/engine/errors';

let folder: string;

beforeEach(() => {
	folder = mkdtempSync(join(tmpdir(), 'tws-jsonl-'));
});

afterEach(() => {
	rmSync(folder, { recursive: true, force: true });
});

/** A line of exactly `bytes` bytes with its newline. */
function line(n: number, bytes = 100): string {
	const prefix = JSON.stringify({ n, pad: '' });
	return JSON.stringify({ n, pad: 'x'.repeat(bytes - 1 - prefix.length) });
}

function numbersIn(file: string): number[] {
	if (!existsSync(file)) return [];
	return readFileSync(file, 'utf8')
		.trimEnd()
		.split('\n')
		.filter((text) => text !== '')
		.map((text) => (JSON.parse(text) as { n: number }).n);
}

describe('the JSON Lines sink', () => {
	it('appends one line per event and creates missing folders', () => {
		const file = join(folder, 'deep', 'audit.jsonl');
		appendJsonLines(file, [line(1), line(2)], { maxBytes: 10_000, maxFiles: 3 });
		appendJsonLines(file, [line(3)], { maxBytes: 10_000, maxFiles: 3 });
		expect(numbersIn(file)).toEqual([1, 2, 3]);
		expect(statSync(file).mode & 0o777).toBe(0o600);
	});

	it('rotates before the file would grow past the maximum size, keeping the newest files', () => {
		const file = join(folder, 'audit.jsonl');
		const policy = { maxBytes: 300, maxFiles: 3 };
		appendJsonLines(file, [1, 2, 3, 4, 5].map((n) => line(n)), policy);
		expect(readdirSync(folder).sort()).toEqual(['audit.jsonl', 'audit.jsonl.1']);
		expect(numbersIn(`${file}.1`)).toEqual([1, 2, 3]);
		expect(numbersIn(file)).toEqual([4, 5]);

		const result = appendJsonLines(file, [6, 7, 8, 9].map((n) => line(n)), policy);
		expect(result).toEqual({ lines: 4, rotations: 1 });
		expect(numbersIn(`${file}.2`)).toEqual([1, 2, 3]);
		expect(numbersIn(`${file}.1`)).toEqual([4, 5, 6]);
		expect(numbersIn(file)).toEqual([7, 8, 9]);

		// Three files are kept: the next rotation deletes the oldest.
		appendJsonLines(file, [line(10)], policy);
		expect(readdirSync(folder).sort()).toEqual(['audit.jsonl', 'audit.jsonl.1', 'audit.jsonl.2']);
		expect(numbersIn(`${file}.2`)).toEqual([4, 5, 6]);
		expect(numbersIn(`${file}.1`)).toEqual([7, 8, 9]);
		expect(numbersIn(file)).toEqual([10]);
		for (const name of readdirSync(folder)) expect(statSync(join(folder, name)).size).toBeLessThanOrEqual(300);
	});

	it('starts over in one file when only one is kept', () => {
		const file = join(folder, 'audit.jsonl');
		appendJsonLines(file, [1, 2, 3, 4].map((n) => line(n)), { maxBytes: 250, maxFiles: 1 });
		expect(readdirSync(folder)).toEqual(['audit.jsonl']);
		expect(numbersIn(file)).toEqual([3, 4]);
	});

	it('writes a line longer than the maximum into a file of its own rather than drop it', () => {
		const file = join(folder, 'audit.jsonl');
		appendJsonLines(file, [line(1), line(2, 500), line(3)], { maxBytes: 200, maxFiles: 5 });
		expect(numbersIn(`${file}.2`)).toEqual([1]);
		expect(numbersIn(`${file}.1`)).toEqual([2]);
		expect(numbersIn(file)).toEqual([3]);
	});

	it('counts bytes, not characters', () => {
		const file = join(folder, 'audit.jsonl');
		const wide = JSON.stringify({ n: 1, text: 'é'.repeat(60) });
		appendJsonLines(file, [wide, wide], { maxBytes: 200, maxFiles: 2 });
		expect(numbersIn(`${file}.1`)).toEqual([1]);
		expect(numbersIn(file)).toEqual([1]);
	});

	it('refuses a line with a line break, which would split an event', () => {
		expect(() => appendJsonLines(join(folder, 'a.jsonl'), ['{"a":\n1}'], { maxBytes: 100, maxFiles: 1 })).toThrow(SyncError);
	});

	it.each([
		[{ maxBytes: 0, maxFiles: 2 }, 'maximum file size'],
		[{ maxBytes: 100, maxFiles: 0 }, 'number of files'],
		[{ maxBytes: 100, maxFiles: 1.5 }, 'number of files'],
	])('refuses the rotation policy %j', (policy, message) => {
		expect(() => appendJsonLines(join(folder, 'a.jsonl'), [line(1)], policy)).toThrow(message);
	});

	it('names the file and what to check when it cannot be written', () => {
		writeFileSync(join(folder, 'blocker'), 'a file, not a folder');
		const error = (() => {
			try {
				appendJsonLines(join(folder, 'blocker', 'audit.jsonl'), [line(1)], { maxBytes: 100, maxFiles: 1 });
			} catch (caught) {
				return caught;
			}
			return undefined;
		})();
		expect(error).toBeInstanceOf(SyncError);
		expect((error as SyncError).message).toContain(join(folder, 'blocker', 'audit.jsonl'));
		expect((error as SyncError).hint).toMatch(/may write to that folder/);
	});
});
