import { appendFileSync, existsSync, mkdirSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';

import { SyncError } from '../errors';

/**
 * The JSON Lines sink: one event per line, appended to a file that is rotated by size, as
 * logrotate would: `audit.jsonl` is the active file, `audit.jsonl.1` the newest full one, and
 * `audit.jsonl.<maxFiles-1>` the oldest kept. Every file operation is synchronous, so executions
 * in one n8n process never interleave lines or rotations.
 */

export interface RotationPolicy {
	maxBytes: number;
	/** Files kept in all, the active one included. */
	maxFiles: number;
}

export interface AppendResult {
	lines: number;
	rotations: number;
}

export function validateRotation(policy: RotationPolicy): RotationPolicy {
	if (!Number.isFinite(policy.maxBytes) || policy.maxBytes < 1) {
		throw new SyncError('INVALID_INPUT', 'The maximum file size must be more than 0', 'Set "Max File Size (MB)" to a positive number, e.g. 10.');
	}
	if (!Number.isInteger(policy.maxFiles) || policy.maxFiles < 1) {
		throw new SyncError('INVALID_INPUT', 'The number of files to keep must be a whole number of at least 1', 'Set "Max Files" to 1 or more.');
	}
	return policy;
}

function sizeOf(path: string): number {
	try {
		return statSync(path).size;
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
		throw error;
	}
}

/** Shifts every kept file one place older and drops the oldest; the active file becomes `.1`. */
export function rotate(path: string, maxFiles: number): void {
	if (maxFiles === 1) {
		if (existsSync(path)) unlinkSync(path);
		return;
	}
	const oldest = `${path}.${maxFiles - 1}`;
	if (existsSync(oldest)) unlinkSync(oldest);
	for (let index = maxFiles - 2; index >= 1; index--) {
		if (existsSync(`${path}.${index}`)) renameSync(`${path}.${index}`, `${path}.${index + 1}`);
	}
	if (existsSync(path)) renameSync(path, `${path}.1`);
}

/**
 * Appends the lines, rotating before a line that would take the active file past `maxBytes`.
 * A single line longer than `maxBytes` still goes into a file of its own: no event is dropped.
 */
export function appendJsonLines(path: string, lines: string[], policy: RotationPolicy): AppendResult {
	validateRotation(policy);
	try {
		mkdirSync(dirname(path), { recursive: true });
		let size = sizeOf(path);
		let pending = '';
		let pendingBytes = 0;
		let rotations = 0;
		const flush = () => {
			if (pending === '') return;
			// Audit data is personal data: only n8n's own user may read the file.
			appendFileSync(path, pending, { encoding: 'utf8', mode: 0o600 });
			pending = '';
			pendingBytes = 0;
		};
		for (const line of lines) {
			if (line.includes('\n')) throw new SyncError('INVALID_INPUT', 'A JSON line contains a line break', 'Serialise each event with JSON.stringify.');
			const text = `${line}\n`;
			const bytes = Buffer.byteLength(text, 'utf8');
			if (size + pendingBytes > 0 && size + pendingBytes + bytes > policy.maxBytes) {
				flush();
				rotate(path, policy.maxFiles);
				rotations += 1;
				size = 0;
			}
			pending += text;
			pendingBytes += bytes;
		}
		flush();
		return { lines: lines.length, rotations };
	} catch (error) {
		if (error instanceof SyncError) throw error;
		throw new SyncError(
			'STORE_UNAVAILABLE',
			`Cannot write the audit file ${path}: ${(error as Error).message}`,
			'Check that n8n may write to that folder (and that the path is not a folder), or choose another file path.',
			{ cause: error },
		);
	}
}
