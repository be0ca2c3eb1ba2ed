import { buildAuditEvent, differingFields, statusFromMeta, type EventContext, type LoggedMeta } from '../../nodes/engine/audit/event';
import { SyncError } from '../../nodes/engine/errors';
import { entityIdFor } from '../../nodes/engine/ids';

const context: EventContext = {
	syncId: 'contacts',
	executionId: 'exec-9',
	workflowId: 'wf-1',
	workflowName: 'Contacts sync',
	node: 'Commit',
	now: new Date('2030-01-01T12:00:00.000Z'),
	id: 'event-1',
};

function meta(extra: Partial<LoggedMeta> = {}): LoggedMeta {
	return { syncId: 'contacts', system: 'crm', key: 'c1', op: 'update', ...extra };
}

describe('audit events', () => {
	describe('status', () => {
		it.each([
			[{ status: 'applied' }, 'applied'],
			[{ status: 'failed' }, 'failed'],
			[{ status: 'dead-lettered' }, 'failed'],
			[{ status: 'conflict' }, 'conflict'],
			[{ status: 'needs-review' }, 'conflict'],
			[{ status: 'skipped' }, 'skipped'],
			[{ op: 'none', reason: 'echo' }, 'echo'],
			[{ op: 'none', reason: 'unchanged' }, 'skipped'],
			[{ op: 'none' }, 'skipped'],
		] as Array<[Partial<LoggedMeta>, string]>)('reads %j as %s', (given, status) => {
			expect(statusFromMeta(meta(given), {})).toBe(status);
		});

		it('takes an item from a write node\'s error output as failed', () => {
			expect(statusFromMeta(meta(), { error: 'HTTP 500' })).toBe('failed');
		});

		it("logs a Conflict Resolver's Needs Review item as a conflict, with the review's reason", () => {
			const review = { reason: 'Both systems changed "phone" to different values', conflictingFields: ['phone'], x: null, y: null, base: null };
			const event = buildAuditEvent({ meta: meta({ review }), record: { phone: '1' }, onlyChangedFields: true }, context);
			expect(event).toMatchObject({ status: 'conflict', reason: review.reason });
		});

		it("logs a Field Mapper's Invalid item as skipped, with its errors as the event's error and without their values", () => {
			const record = {
				email: 'not-an-email',
				errors: [
					{ field: 'email', value: 'not-an-email', rule: 'email', code: 'format', message: 'is not an email address' },
					{ field: 'birthday', value: '31/02/1990', rule: 'birthday', code: 'type', message: 'is not a date' },
				],
			};
			const event = buildAuditEvent({ meta: meta({ op: 'create' }), record, onlyChangedFields: false }, context);
			expect(event).toMatchObject({ status: 'skipped', error: 'email: is not an email address; birthday: is not a date' });
			expect(event.record).toEqual({ email: 'not-an-email' });
			expect(event.error).not.toContain('31/02/1990');
		});

		it('still lets the chosen status override a Needs Review or Invalid item', () => {
			const event = buildAuditEvent(
				{ meta: meta({ review: { reason: 'ambiguous match' } }), record: { errors: [{ field: 'a', message: 'bad' }] }, status: 'failed', onlyChangedFields: true },
				context,
			);
			expect(event.status).toBe('failed');
		});

		it('does not guess when nothing tells', () => {
			expect(statusFromMeta(meta(), {})).toBeUndefined();
			expect(() => buildAuditEvent({ meta: meta(), record: {}, onlyChangedFields: true }, context)).toThrow(SyncError);
		});

		it('lets the user\'s choice win over the metadata', () => {
			const event = buildAuditEvent({ meta: meta({ status: 'applied' }), record: {}, status: 'conflict', onlyChangedFields: true }, context);
			expect(event.status).toBe('conflict');
		});
	});

	it('builds the documented event from a committed change', () => {
		const event = buildAuditEvent(
			{
				meta: meta({
					status: 'applied',
					changedFields: ['name', 'address.city'],
					target: { system: 'erp', key: 'e1', op: 'update' },
					entityId: 'ent-1',
					resolution: { name: { winner: 'crm', strategy: 'merge', reason: 'changed only in crm' } },
				}),
				record: { name: 'Ada L.', address: { city: 'London' }, untouched: true },
				before: { name: 'Ada', address: { city: 'Paris' } },
				onlyChangedFields: true,
			},
			context,
		);
		expect(event).toEqual({
			id: 'event-1',
			time: '2030-01-01T12:00:00.000Z',
			syncId: 'contacts',
			executionId: 'exec-9',
			workflowId: 'wf-1',
			workflowName: 'Contacts sync',
			node: 'Commit',
			source: { system: 'crm', key: 'c1' },
			target: { system: 'erp', key: 'e1' },
			entityId: 'ent-1',
			correlationId: 'ent-1',
			op: 'update',
			reason: null,
			changedFields: ['name', 'address.city'],
			changes: { name: { before: 'Ada', after: 'Ada L.' }, 'address.city': { before: 'Paris', after: 'London' } },
			resolution: { name: { winner: 'crm', strategy: 'merge', reason: 'changed only in crm' } },
			status: 'applied',
			error: null,
			retry: null,
		});
	});

	it('names the other system as the source of a merged write, whose metadata names its own target', () => {
		// Both sides edited the record in different fields: the write to crm carries erp's edits.
		const event = buildAuditEvent(
			{
				meta: meta({
					status: 'applied',
					system: 'crm',
					key: 'c1',
					keys: { crm: 'c1', erp: 'e1' },
					entityId: 'ent-1',
					changedFields: ['phone'],
					target: { system: 'crm', key: 'c1', op: 'update' },
				}),
				record: { phone: '222' },
				onlyChangedFields: true,
			},
			context,
		);
		expect(event.source).toEqual({ system: 'erp', key: 'e1' });
		expect(event.target).toEqual({ system: 'crm', key: 'c1' });
		expect(event.correlationId).toBe('ent-1');
	});

	it("logs a commit by the write's op and the target fields it changed, before and after", () => {
		const event = buildAuditEvent(
			{
				meta: meta({
					op: 'create',
					changedFields: ['phoneNumber'],
					status: 'applied',
					target: { system: 'db', key: 'd1', op: 'update' },
					after: { phone: '111' },
					before: { phone: '100' },
				}),
				// The write node's answer: the whole row, which says nothing of what changed.
				record: { id: 'd1', full_name: 'Ada', phone: '111', updated_at: '2030-01-01' },
				onlyChangedFields: true,
			},
			context,
		);
		expect(event).toMatchObject({ op: 'update', changedFields: ['phone'], changes: { phone: { before: '100', after: '111' } } });
	});

	it('correlates a record not yet linked by the id the store will give its entity', () => {
		const event = buildAuditEvent({ meta: meta({ op: 'create', status: 'applied' }), record: { b: 2, a: 1 }, onlyChangedFields: true }, context);
		expect(event.correlationId).toBe(entityIdFor('contacts', 'crm', 'c1'));
		expect(event.changedFields).toEqual(['a', 'b']);
		expect(event.changes).toEqual({ a: { after: 1 }, b: { after: 2 } });
	});

	it('works out the changed fields from the values before, when the metadata does not list them', () => {
		expect(differingFields({ a: 1, b: { c: 2 }, gone: true }, { a: 1, b: { c: 3 }, added: 'x' })).toEqual(['added', 'b', 'gone']);
		const event = buildAuditEvent(
			{ meta: meta({ status: 'applied' }), record: { a: 1, b: 3 }, before: { a: 1, b: 2 }, onlyChangedFields: true },
			context,
		);
		expect(event.changes).toEqual({ b: { before: 2, after: 3 } });
	});

	it('takes before values from _sync.before when a node before put them there', () => {
		const event = buildAuditEvent(
			{ meta: meta({ status: 'applied', changedFields: ['a'], before: { a: 0 } }), record: { a: 1 }, onlyChangedFields: true },
			context,
		);
		expect(event.changes).toEqual({ a: { before: 0, after: 1 } });
	});

	it('keeps the whole record only when asked', () => {
		const input = { meta: meta({ status: 'applied', changedFields: ['a'] }), record: { a: 1, b: 2 } };
		expect(buildAuditEvent({ ...input, onlyChangedFields: true }, context).record).toBeUndefined();
		expect(buildAuditEvent({ ...input, onlyChangedFields: false }, context).record).toEqual({ a: 1, b: 2 });
	});

	it('records a failure\'s error and retry state, without the error field in the record', () => {
		const event = buildAuditEvent(
			{
				meta: meta({ status: 'dead-lettered', attempts: 5, nextAttemptAt: null, target: { system: 'erp', key: null, op: 'create' } }),
				record: { name: 'Ada', error: { message: 'HTTP 500: boom' } },
				onlyChangedFields: false,
			},
			context,
		);
		expect(event).toMatchObject({
			status: 'failed',
			error: 'HTTP 500: boom',
			retry: { attempts: 5, nextAttemptAt: null, deadLettered: true },
			target: { system: 'erp', key: null },
			record: { name: 'Ada' },
		});
	});

	it('prefers the error Sync State kept over the write node\'s', () => {
		const event = buildAuditEvent(
			{ meta: meta({ status: 'failed', error: 'from the outbox', attempts: 1 }), record: { error: 'from the node' }, onlyChangedFields: true },
			context,
		);
		expect(event.error).toBe('from the outbox');
	});

	it('leaves a field called error alone on an applied change', () => {
		const event = buildAuditEvent(
			{ meta: meta({ status: 'applied', changedFields: ['error'] }), record: { error: 'E42 is a product code' }, onlyChangedFields: true },
			context,
		);
		expect(event.error).toBeNull();
		expect(event.changes).toEqual({ error: { after: 'E42 is a product code' } });
	});
});
