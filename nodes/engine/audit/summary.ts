import { SyncError } from '../errors';
import { AUDIT_STATUSES, type AuditCount, type AuditStatus } from './types';

/**
 * The Summary operation's figures for one window: counts per system and op and status, and a
 * success rate that an IF node can alert on ("below 98").
 */

export type StatusCounts = Record<AuditStatus, number>;

export interface SystemSummary extends StatusCounts {
	total: number;
	successRate: number;
	ops: Record<string, StatusCounts>;
}

export interface AuditSummary extends StatusCounts {
	syncId: string;
	from: string;
	to: string;
	total: number;
	/** Percent of the writes attempted in the window that were applied (applied / (applied + failed)); 100 when none was attempted. */
	successRate: number;
	/** Changes in the retry queue that gave up (from Sync State, now, not only this window). */
	deadLettered: number;
	/** Changes in the retry queue still waiting for a retry (now). */
	pendingRetries: number;
	systems: Record<string, SystemSummary>;
}

function noCounts(): StatusCounts {
	return Object.fromEntries(AUDIT_STATUSES.map((status) => [status, 0])) as StatusCounts;
}

/** Two decimals, so that 99.996 does not read as 100 but an IF node still compares a plain number. */
export function successRate(counts: StatusCounts): number {
	const attempted = counts.applied + counts.failed;
	if (attempted === 0) return 100;
	return Math.floor((counts.applied / attempted) * 10_000) / 100;
}

export interface SummaryInput {
	syncId: string;
	from: Date;
	to: Date;
	counts: AuditCount[];
	deadLettered: number;
	pendingRetries: number;
}

export function summarise(input: SummaryInput): AuditSummary {
	const totals = noCounts();
	const systems: Record<string, SystemSummary> = {};
	let total = 0;
	for (const row of input.counts) {
		if (!(AUDIT_STATUSES as readonly string[]).includes(row.status)) continue;
		const count = Number(row.count);
		const system = (systems[row.system] ??= { ...noCounts(), total: 0, successRate: 100, ops: {} });
		const op = (system.ops[row.op] ??= noCounts());
		op[row.status] += count;
		system[row.status] += count;
		system.total += count;
		totals[row.status] += count;
		total += count;
	}
	for (const system of Object.values(systems)) system.successRate = successRate(system);
	return {
		syncId: input.syncId,
		from: input.from.toISOString(),
		to: input.to.toISOString(),
		total,
		...totals,
		successRate: successRate(totals),
		deadLettered: input.deadLettered,
		pendingRetries: input.pendingRetries,
		systems,
	};
}

/** The window of the last `hours` hours up to `now`, or an explicit from/to. */
export function summaryWindow(spec: { hours?: number; from?: string; to?: string }, now: Date): { from: Date; to: Date } {
	if (spec.hours !== undefined) {
		if (!(spec.hours > 0)) {
			throw new SyncError('INVALID_INPUT', 'The summary window must be longer than 0 hours', 'Set "Last Hours" to a positive number, e.g. 24.');
		}
		return { from: new Date(now.getTime() - spec.hours * 3_600_000), to: now };
	}
	const from = parseTime(spec.from, 'From');
	const to = spec.to ? parseTime(spec.to, 'To') : now;
	if (from.getTime() >= to.getTime()) {
		throw new SyncError('INVALID_INPUT', `The summary window starts (${from.toISOString()}) at or after it ends (${to.toISOString()})`, 'Set "From" before "To".');
	}
	return { from, to };
}

export function parseTime(value: string | undefined, label: string): Date {
	const time = value === undefined || value === '' ? new Date(Number.NaN) : new Date(value);
	if (Number.isNaN(time.getTime())) {
		throw new SyncError('INVALID_INPUT', `"${label}" is not a date and time: ${JSON.stringify(value ?? '')}`, `Set "${label}" to an ISO date and time, e.g. 2030-01-31T00:00:00Z.`);
	}
	return time;
}
