import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

import { ChainVerifier } from '../../nodes/engine/audit/chain';
import type { AuditEvent } from '../../nodes/engine/audit/types';
import { endPostgresPools, openPostgresStore, type PostgresStoreOptions } from '../../nodes/engine/store/postgres';
import { openBuiltinStore } from '../../nodes/engine/store/sqlite';
import type { SyncStore } from '../../nodes/engine/store/SyncStore';
import { connectionOf, createScratchDatabase, queryDatabase, type ScratchDatabase } from '../support/postgres';

let counter = 0;

function event(syncId: string, worker = 'w'): AuditEvent {
	counter += 1;
	return {
		id: `${worker}-${counter}`,
		time: new Date().toISOString(),
		syncId,
		executionId: worker,
		workflowId: null,
		workflowName: null,
		node: null,
		source: { system: 'crm', key: `c${counter}` },
		target: { system: 'erp', key: null },
		entityId: null,
		correlationId: `corr-${counter}`,
		op: 'create',
		reason: null,
		changedFields: [],
		changes: {},
		resolution: null,
		status: 'applied',
		error: null,
		retry: null,
	};
}

async function verify(store: SyncStore, syncId: string) {
	const verifier = new ChainVerifier(syncId);
	for (;;) {
		const page = await store.readAuditChain(syncId, verifier.lastSeq, 100);
		if (page.length === 0 || !page.every((link) => verifier.add(link))) return verifier.finish();
	}
}

describe('the audit tables of a store made by an earlier version', () => {
	it('are added to a built-in store file of schema 1, keeping its state', async () => {
		const folder = mkdtempSync(join(tmpdir(), 'tws-audit-upgrade-'));
		const file = join(folder, 'state.sqlite');
		try {
			const before = await openBuiltinStore({ filePath: file });
			await before.commit('contacts', [{ sides: [{ system: 'crm', key: 'c1', seenHash: 'h1' }] }]);
			await before.close();
			// What version 1 of the package left behind: no audit tables, user_version 1.
			const db = new DatabaseSync(file);
			db.exec('DROP TABLE audit; DROP TABLE audit_queue; PRAGMA user_version = 1');
			db.close();

			const after = await openBuiltinStore({ filePath: file });
			try {
				expect((await after.lookUp('contacts', 'crm', ['c1'])).get('c1')?.systems.crm.seenHash).toBe('h1');
				await after.appendAudit('contacts', [event('contacts')]);
				expect((await verify(after, 'contacts')).checked).toBe(1);
			} finally {
				await after.close();
			}
			const probe = new DatabaseSync(file, { readOnly: true });
			expect(probe.prepare('PRAGMA user_version').get()).toEqual({ user_version: 2 });
			probe.close();
		} finally {
			rmSync(folder, { recursive: true, force: true });
		}
	});

	describe('on PostgreSQL', () => {
		let database: ScratchDatabase;
		const options = (extra: Partial<PostgresStoreOptions> = {}): PostgresStoreOptions => ({ ...connectionOf(database), schema: 'audit_upgrade', ...extra });

		beforeAll(async () => {
			database = await createScratchDatabase('audit_store');
		}, 60_000);

		afterAll(async () => {
			await endPostgresPools();
			await database?.drop();
		});

		it('are added to a schema at version 1, keeping its state', async () => {
			const before = await openPostgresStore(options());
			await before.commit('contacts', [{ sides: [{ system: 'crm', key: 'c1', seenHash: 'h1' }] }]);
			await before.close();
			await queryDatabase(database, 'DROP TABLE audit_upgrade.audit, audit_upgrade.audit_queue; DELETE FROM audit_upgrade.schema_migrations WHERE version = 2');
			// A new process: its pools have not migrated anything yet.
			await endPostgresPools();

			const after = await openPostgresStore(options());
			expect((await after.lookUp('contacts', 'crm', ['c1'])).get('c1')?.systems.crm.seenHash).toBe('h1');
			await after.appendAudit('contacts', [event('contacts')]);
			expect((await verify(after, 'contacts')).checked).toBe(1);
		});

		it('keep one chain when workers with their own connection pools append at once', async () => {
			const syncId = 'raced-by-workers';
			// A different pool size gives each store its own pool, as separate n8n workers have.
			const workers = await Promise.all([2, 3, 4, 5, 6, 7].map((poolMax) => openPostgresStore(options({ poolMax }))));
			await Promise.all(
				workers.map(async (worker, index) => {
					for (let round = 0; round < 10; round++) {
						await worker.appendAudit(syncId, [event(syncId, `w${index}`), event(syncId, `w${index}`)]);
					}
				}),
			);
			const result = await verify(workers[0], syncId);
			expect(result).toMatchObject({ valid: true, checked: 120, firstBreak: null });
			await Promise.all(workers.map((worker) => worker.close()));
		});
	});
});
