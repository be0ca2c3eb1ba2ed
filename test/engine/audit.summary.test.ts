import { successRate, summarise, summaryWindow } from '../../nodes/engine/audit/summary';
import type { AuditCount } from '../../nodes/engine/audit/types';
import { SyncError } from '../../nodes/engine/errors';

const from = new Date('2030-01-01T00:00:00Z');
const to = new Date('2030-01-02T00:00:00Z');

function counts(...rows: Array<[string, string, AuditCount['status'], number]>): AuditCount[] {
	return rows.map(([system, op, status, count]) => ({ system, op, status, count }));
}

describe('the audit summary', () => {
	it('counts per system and op, with totals and success rates', () => {
		const summary = summarise({
			syncId: 'contacts',
			from,
			to,
			counts: counts(
				['erp', 'create', 'applied', 40],
				['erp', 'update', 'applied', 58],
				['erp', 'update', 'failed', 2],
				['erp', 'update', 'conflict', 3],
				['crm', 'update', 'applied', 10],
				['crm', 'none', 'echo', 7],
				['crm', 'none', 'skipped', 1],
			),
			deadLettered: 4,
			pendingRetries: 2,
		});
		expect(summary).toEqual({
			syncId: 'contacts',
			from: '2030-01-01T00:00:00.000Z',
			to: '2030-01-02T00:00:00.000Z',
			total: 121,
			applied: 108,
			failed: 2,
			conflict: 3,
			echo: 7,
			skipped: 1,
			successRate: 98.18,
			deadLettered: 4,
			pendingRetries: 2,
			systems: {
				erp: {
					total: 103,
					applied: 98,
					failed: 2,
					conflict: 3,
					echo: 0,
					skipped: 0,
					successRate: 98,
					ops: {
						create: { applied: 40, failed: 0, conflict: 0, echo: 0, skipped: 0 },
						update: { applied: 58, failed: 2, conflict: 3, echo: 0, skipped: 0 },
					},
				},
				crm: {
					total: 18,
					applied: 10,
					failed: 0,
					conflict: 0,
					echo: 7,
					skipped: 1,
					successRate: 100,
					ops: {
						update: { applied: 10, failed: 0, conflict: 0, echo: 0, skipped: 0 },
						none: { applied: 0, failed: 0, conflict: 0, echo: 7, skipped: 1 },
					},
				},
			},
		});
	});

	it('reports 100% when nothing was attempted, so an alert on a low rate stays quiet', () => {
		const summary = summarise({ syncId: 'contacts', from, to, counts: counts(['crm', 'none', 'echo', 3]), deadLettered: 0, pendingRetries: 0 });
		expect(summary.successRate).toBe(100);
		expect(summarise({ syncId: 'contacts', from, to, counts: [], deadLettered: 0, pendingRetries: 0 })).toMatchObject({ total: 0, successRate: 100, systems: {} });
	});

	it('never rounds a rate with failures up to 100', () => {
		expect(successRate({ applied: 99_999, failed: 1, conflict: 0, echo: 0, skipped: 0 })).toBe(99.99);
		expect(successRate({ applied: 0, failed: 3, conflict: 0, echo: 0, skipped: 0 })).toBe(0);
		expect(successRate({ applied: 2, failed: 1, conflict: 0, echo: 0, skipped: 0 })).toBe(66.66);
	});

	it('ignores counts of statuses it does not know', () => {
		const summary = summarise({
			syncId: 'contacts',
			from,
			to,
			counts: [{ system: 'erp', op: 'update', status: 'mystery' as AuditCount['status'], count: 9 }],
			deadLettered: 0,
			pendingRetries: 0,
		});
		expect(summary.total).toBe(0);
	});

	describe('window', () => {
		const now = new Date('2030-01-02T12:00:00Z');

		it('reaches back the given hours from now', () => {
			expect(summaryWindow({ hours: 24 }, now)).toEqual({ from: new Date('2030-01-01T12:00:00Z'), to: now });
			expect(summaryWindow({ hours: 0.5 }, now).from).toEqual(new Date('2030-01-02T11:30:00Z'));
		});

		it('takes two times, the end defaulting to now', () => {
			expect(summaryWindow({ from: '2030-01-01T00:00:00Z', to: '2030-01-01T06:00:00+02:00' }, now)).toEqual({
				from: new Date('2030-01-01T00:00:00Z'),
				to: new Date('2030-01-01T04:00:00Z'),
			});
			expect(summaryWindow({ from: '2030-01-01T00:00:00Z' }, now).to).toBe(now);
		});

		it.each([
			[{ hours: 0 }, 'longer than 0 hours'],
			[{ from: 'last week' }, '"From" is not a date and time'],
			[{ from: '2030-01-03T00:00:00Z' }, 'at or after it ends'],
		])('refuses %j', (spec, message) => {
			expect(() => summaryWindow(spec, now)).toThrow(SyncError);
			expect(() => summaryWindow(spec, now)).toThrow(message);
		});
	});
});
