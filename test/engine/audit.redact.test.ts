import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

import fc from 'fast-check';

import { deliverEvents } from '../../nodes/engine/audit/delivery';
import { buildAuditEvent, type LoggedMeta } from '../../nodes/engine/audit/event';
import { appendJsonLines } from '../../nodes/engine/audit/jsonl';
import { isSecretFieldName, Redactor, type RedactionSettings } from '../../nodes/engine/audit/redact';
import type { AuditEvent } from '../../nodes/engine/audit/types';
import { SyncError } from '../../nodes/engine/errors';
import { openBuiltinStore } from '../../nodes/engine/store/sqlite';
import type { JsonObject } from '../../nodes/engine/types';

const HASH_KEY = 'planted-hash-key-31337';

function redactor(settings: Partial<RedactionSettings> = {}): Redactor {
	return new Redactor({ rules: [], secretFields: 'mask', hashKey: HASH_KEY, ...settings });
}

function eventOf(record: JsonObject, meta: Partial<LoggedMeta> = {}, onlyChangedFields = false): AuditEvent {
	return buildAuditEvent(
		{
			meta: { syncId: 'contacts', system: 'crm', key: 'c1', op: 'update', status: 'applied', changedFields: Object.keys(record), ...meta },
			record,
			onlyChangedFields,
		},
		{ syncId: 'contacts', executionId: 'exec-1', workflowId: 'wf-1', workflowName: 'Contacts', node: 'Commit', now: new Date('2030-01-01T00:00:00Z') },
	);
}

describe('redaction', () => {
	describe('secret-like fields', () => {
		it.each(['password', 'PASSWORD', 'userPassword', 'db_passwd', 'client_secret', 'accessToken', 'refresh-token', 'apiKey', 'x-api-key', 'API_KEY', 'Authorization', 'privateKey', 'awsAccessKey', 'passphrase'])(
			'treats "%s" as secret',
			(name) => {
				expect(isSecretFieldName(name)).toBe(true);
			},
		);

		it.each(['name', 'email', 'author', 'keyboard', 'monkey', 'passport'])('leaves "%s" alone', (name) => {
			expect(isSecretFieldName(name)).toBe(false);
		});

		it('masks secrets at any depth and in arrays, showing nothing of them', () => {
			const event = redactor().redactEvent(
				eventOf({
					name: 'Ada',
					password: 'hunter2',
					credentials: [{ service: 'mail', apiKey: 'ak-1' }],
					nested: { deeper: { Authorization: 'Bearer xyz', count: 3 } },
				}),
			);
			expect(event.record).toEqual({
				name: 'Ada',
				password: '***',
				credentials: [{ service: 'mail', apiKey: '***' }],
				nested: { deeper: { Authorization: '***', count: 3 } },
			});
			expect(event.changes.password).toEqual({ after: '***' });
		});

		it('hashes or drops secrets when told to', () => {
			const hashed = redactor({ secretFields: 'hash' }).redactEvent(eventOf({ token: 't-1' }));
			expect(hashed.record?.token).toMatch(/^hmac:/);
			const dropped = redactor({ secretFields: 'drop' }).redactEvent(eventOf({ token: 't-1', name: 'Ada' }));
			expect(dropped.record).toEqual({ name: 'Ada' });
			expect(dropped.changes).toEqual({ name: { after: 'Ada' } });
			expect(dropped.changedFields).toEqual(['token', 'name']);
		});
	});

	describe('field rules', () => {
		it('match a plain name at any depth and a dotted path only there, without regard to case', () => {
			const event = redactor({
				rules: [
					{ match: 'field', fields: ['Email'], method: 'mask' },
					{ match: 'field', fields: ['address.street'], method: 'drop' },
				],
			}).redactEvent(
				eventOf({
					email: 'ada@example.com',
					contacts: [{ EMAIL: 'grace@example.com' }],
					address: { street: 'Main St 1', city: 'London' },
					billing: { street: 'Side St 2' },
				}),
			);
			expect(event.record).toEqual({
				email: 'a***@example.com',
				contacts: [{ EMAIL: 'g***@example.com' }],
				address: { city: 'London' },
				billing: { street: 'Side St 2' },
			});
		});

		it('apply the first matching rule, and mask other values to their first character', () => {
			const event = redactor({
				rules: [
					{ match: 'field', fields: ['name'], method: 'mask' },
					{ match: 'field', fields: ['name', 'age'], method: 'drop' },
				],
			}).redactEvent(eventOf({ name: 'Ada Lovelace', age: 36, tag: 'x' }));
			expect(event.record).toEqual({ name: 'A***', tag: 'x' });
		});

		it('redact a changed field given as a path, before and after', () => {
			const event = redactor({ rules: [{ match: 'field', fields: ['street'], method: 'mask' }] }).redactEvent(
				buildAuditEvent(
					{
						meta: { syncId: 'contacts', system: 'crm', key: 'c1', op: 'update', status: 'applied', changedFields: ['address.street'] },
						record: { address: { street: 'New Road 5' } },
						before: { address: { street: 'Old Lane 9' } },
						onlyChangedFields: true,
					},
					{ syncId: 'contacts', executionId: null, workflowId: null, workflowName: null, node: null, now: new Date() },
				),
			);
			expect(event.changes).toEqual({ 'address.street': { before: 'O***', after: 'N***' } });
			expect(event.record).toBeUndefined();
		});

		it("redact the before and after values Commit kept of a write's changed fields", () => {
			const event = redactor({ rules: [{ match: 'email', method: 'mask' }] }).redactEvent(
				eventOf(
					{ id: 'd1', email: 'ada.new@example.com', updated_at: '2030-01-01' },
					{ target: { system: 'db', key: 'd1', op: 'update' }, after: { email: 'ada.new@example.com' }, before: { email: 'ada@example.com' } },
					true,
				),
			);
			expect(event.changes).toEqual({ email: { before: 'a***@example.com', after: 'a***@example.com' } });
			expect(JSON.stringify(event)).not.toContain('ada');
		});

		it('keep a field named __proto__ as a plain field', () => {
			const record = JSON.parse('{"__proto__": {"password": "p"}, "name": "Ada"}') as JsonObject;
			const event = redactor().redactEvent(eventOf(record));
			expect(Object.getPrototypeOf(event.record)).toBe(Object.prototype);
			expect(Object.prototype.hasOwnProperty.call(event.record, '__proto__')).toBe(true);
			expect(JSON.stringify(event.record)).toBe('{"__proto__":{"password":"***"},"name":"Ada"}');
		});
	});

	describe('pattern rules', () => {
		const patterns = redactor({
			rules: [
				{ match: 'email', method: 'mask' },
				{ match: 'phone', method: 'mask' },
				{ match: 'cardNumber', method: 'mask' },
			],
		});

		it.each([
			['write to john@x.com today', 'write to j***@x.com today'],
			['call +49 170 1234567 now', 'call ***67 now'],
			['call (030) 123-4567', 'call ***67'],
			['ring 0170 1234567', 'ring ***67'],
			['card 4111 1111 1111 1111 on file', 'card ****1111 on file'],
			['card 4111-1111-1111-1111', 'card ****1111'],
			['ada@example.com, 4012888888881881', 'a***@example.com, ****1881'],
		])('masks %j', (text, expected) => {
			expect(patterns.redactText(text)).toBe(expected);
		});

		it.each([
			'2030-01-31',
			'2030-01-31T10:00:00Z',
			'31.01.2030',
			'version 1.2.3',
			'192.168.100.200',
			'1234567.89',
			'order 4111111111111112',
			'ref 12345678',
			'no digits here',
		])('leaves %j alone', (text) => {
			expect(patterns.redactText(text)).toBe(text);
		});

		it('hashes matches so equal values give equal tokens, whatever their spelling', () => {
			const hashing = redactor({
				rules: [
					{ match: 'email', method: 'hash' },
					{ match: 'phone', method: 'hash' },
				],
			});
			expect(hashing.redactText('Ada@Example.com')).toBe(hashing.redactText('ada@example.com'));
			expect(hashing.redactText('+49 170 1234567')).toBe(hashing.redactText('+49-170-1234567'));
			expect(hashing.redactText('ada@example.com')).not.toBe(hashing.redactText('grace@example.com'));
			expect(hashing.redactText('ada@example.com')).toMatch(/^hmac:[A-Za-z0-9_-]{43}$/);
		});

		it('uses the key: another key gives other tokens', () => {
			const rules: RedactionSettings['rules'] = [{ match: 'email', method: 'hash' }];
			expect(redactor({ rules }).redactText('ada@example.com')).not.toBe(
				redactor({ rules, hashKey: 'another-key' }).redactText('ada@example.com'),
			);
		});

		it('drops the whole value that holds a match, but keeps a marker in keys and errors', () => {
			const dropping = redactor({ rules: [{ match: 'custom', regex: 'DE\\d{20}', method: 'drop' }] });
			const event = dropping.redactEvent(
				eventOf({ note: 'IBAN DE44500105175407324931', name: 'Ada' }, { key: 'DE44500105175407324931', error: 'bad DE44500105175407324931' }),
			);
			expect(event.record).toEqual({ name: 'Ada' });
			expect(event.changes).toEqual({ name: { after: 'Ada' } });
			expect(event.source.key).toBe('[redacted]');
			expect(event.error).toBe('[redacted]');
		});

		it('redacts keys, error texts and resolution reasons, but not names, ids and statuses', () => {
			const event = patterns.redactEvent(
				eventOf(
					{ name: 'Ada' },
					{
						key: 'ada@example.com',
						target: { system: 'erp', key: 'grace@example.com', op: 'update' },
						error: 'duplicate ada@example.com',
						resolution: { email: { winner: 'crm', strategy: 'merge', reason: 'crm set ada@example.com' } },
					},
				),
			);
			expect(event.source).toEqual({ system: 'crm', key: 'a***@example.com' });
			expect(event.target).toEqual({ system: 'erp', key: 'g***@example.com' });
			expect(event.error).toBe('duplicate a***@example.com');
			expect(event.resolution).toEqual({ email: { winner: 'crm', strategy: 'merge', reason: 'crm set a***@example.com' } });
			expect(event.status).toBe('applied');
			expect(event.syncId).toBe('contacts');
		});

		/** 16 digits whose last one makes the Luhn check pass. */
		const cardNumbers = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 15, maxLength: 15 }).map((digits) => {
			let sum = 0;
			digits.forEach((_, offset) => {
				let digit = digits[digits.length - 1 - offset];
				if (offset % 2 === 0) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
				sum += digit;
			});
			return `${digits.join('')}${(10 - (sum % 10)) % 10}`;
		});

		it('finds a card between other digits', () => {
			expect(patterns.redactText('order 12 4111 1111 1111 1111')).toBe('order 12 ****1111');
		});

		it('never hands out an email address or card number, whatever text is around it', () => {
			fc.assert(
				// An address that itself contains the mask character would be found inside its own mask.
				fc.property(fc.emailAddress().filter((email) => !email.includes('*')), cardNumbers, fc.string(), fc.string(), (email, card, before, after) => {
					const redacted = patterns.redactText(`${before} ${email} ${after} ${card} ${before}`) ?? '';
					expect(redacted).not.toContain(email);
					expect(redacted).not.toContain(card);
				}),
				{ numRuns: 300 },
			);
		});
	});

	describe('settings', () => {
		it('refuses the hash method without a key', () => {
			expect(() => new Redactor({ rules: [{ match: 'email', method: 'hash' }], secretFields: 'mask' })).toThrow(SyncError);
			expect(() => new Redactor({ rules: [], secretFields: 'hash' })).toThrow('A redaction rule hashes values, but no hash key is set');
		});

		it.each([
			['(unclosed', 'is not a valid regular expression'],
			['a*', 'matches empty text'],
			['', 'is empty'],
		])('refuses the custom pattern %j', (regex, message) => {
			expect(() => redactor({ rules: [{ match: 'custom', regex, method: 'mask' }] })).toThrow(message);
		});

		it('refuses a field rule without names', () => {
			expect(() => redactor({ rules: [{ match: 'field', fields: [' ', ''], method: 'drop' }] })).toThrow('A field redaction rule names no field');
		});
	});

	describe('no planted value reaches a sink', () => {
		const planted = {
			password: 'planted-password-1',
			token: 'planted-token-2',
			email: 'planted.person@example.com',
			phone: '+44 20 7946 0958',
			card: '5500 0000 0000 0004',
			iban: 'DE89370400440532013000',
		};
		const PLANTED_TEXTS = [...Object.values(planted), 'planted.person', '7946 0958', '5500000000000004', HASH_KEY];

		let folder: string;
		beforeEach(() => {
			folder = mkdtempSync(join(tmpdir(), 'tws-redact-'));
		});
		afterEach(() => {
			rmSync(folder, { recursive: true, force: true });
		});

		it('neither the event, nor the file, nor the store rows, nor the HTTP bodies hold one', async () => {
			const event = redactor({
				rules: [
					{ match: 'email', method: 'hash' },
					{ match: 'phone', method: 'mask' },
					{ match: 'cardNumber', method: 'drop' },
					{ match: 'custom', regex: 'DE\\d{20}', method: 'mask' },
				],
			}).redactEvent(
				eventOf(
					{
						password: planted.password,
						session: { refreshToken: planted.token },
						contact: `${planted.email} / ${planted.phone}`,
						payment: { card: planted.card, iban: planted.iban },
					},
					{ key: planted.email, error: `card ${planted.card} declined for ${planted.email}` },
				),
			);

			const file = join(folder, 'audit.jsonl');
			appendJsonLines(file, [JSON.stringify(event)], { maxBytes: 1_000_000, maxFiles: 2 });

			const storeFile = join(folder, 'state.sqlite');
			const store = await openBuiltinStore({ filePath: storeFile });
			try {
				await store.appendAudit('contacts', [event]);
				await store.settleAuditDeliveries('contacts', 'http:x', { delivered: [], undelivered: [event], error: 'down' });
			} finally {
				await store.close();
			}
			const db = new DatabaseSync(storeFile, { readOnly: true });
			const rows = JSON.stringify([db.prepare('SELECT * FROM audit').all(), db.prepare('SELECT * FROM audit_queue').all()]);
			db.close();

			const bodies: string[] = [];
			await deliverEvents([event], async (body) => (bodies.push(body), { status: 200 }), {
				batchSize: 10,
				policy: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
				format: 'jsonArray',
				sleep: async () => undefined,
			});

			const sinks = { event: JSON.stringify(event), file: readFileSync(file, 'utf8'), store: rows, http: bodies.join('') };
			for (const [sink, text] of Object.entries(sinks)) {
				for (const value of PLANTED_TEXTS) {
					if (text.includes(value)) throw new Error(`The ${sink} sink holds the planted value "${value}"`);
				}
			}
			expect(event.record).toEqual({
				password: '***',
				session: { refreshToken: '***' },
				contact: expect.stringMatching(/^hmac:\S+ \/ \*\*\*58$/),
				payment: { iban: '***' },
			});
		});
	});
});
