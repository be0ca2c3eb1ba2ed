import { isCursorAhead } from '../../nodes/engine/cursor';

describe('cursor comparison', () => {
	it('compares integer cursors exactly, beyond 2^53 too', () => {
		expect(isCursorAhead('10', '9')).toBe(true);
		expect(isCursorAhead('9007199254740993', '9007199254740992')).toBe(true);
		expect(isCursorAhead('9', '10')).toBe(false);
	});

	it('compares decimals as numbers', () => {
		expect(isCursorAhead('10.5', '9.75')).toBe(true);
	});

	it('compares timestamps as instants, whatever their offset', () => {
		expect(isCursorAhead('2026-03-01T11:00:00+02:00', '2026-03-01T08:30:00Z')).toBe(true);
		expect(isCursorAhead('2026-03-01T09:00:00+02:00', '2026-03-01T08:30:00Z')).toBe(false);
	});

	it('falls back to text order for anything else', () => {
		expect(isCursorAhead('page-b', 'page-a')).toBe(true);
	});

	it('does not move for an equal cursor', () => {
		expect(isCursorAhead('2026-03-01T08:30:00Z', '2026-03-01T08:30:00.000Z')).toBe(false);
	});
});
