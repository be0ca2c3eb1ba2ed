import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

import { SyncError } from '../../nodes/engine/errors';
import { openBuiltinStore } from '../../nodes/engine/store/sqlite';

describe('the built-in store', () => {
	let folder: string;

	beforeEach(() => {
		folder = mkdtempSync(join(tmpdir(), 'tws-sqlite-'));
	});

	afterEach(() => {
		rmSync(folder, { recursive: true, force: true });
	});

	it('refuses n8n queue mode and points to the PostgreSQL store', async () => {
		const filePath = join(folder, 'state.sqlite');
		const error = await openBuiltinStore({ filePath, executionsMode: 'queue' }).catch((caught: unknown) => caught);
		expect(error).toBeInstanceOf(SyncError);
		expect(error).toMatchObject({ code: 'STORE_REFUSED', message: expect.stringContaining('queue mode') });
		expect((error as SyncError).hint).toMatch(/PostgreSQL store/);
		expect(existsSync(filePath)).toBe(false);
	});

	it('works in regular mode', async () => {
		const store = await openBuiltinStore({ filePath: join(folder, 'state.sqlite'), executionsMode: 'regular' });
		expect(store.backend).toBe('builtin');
		await store.close();
	});

	it('creates the file and its missing folders', async () => {
		const filePath = join(folder, 'user', '.n8n', 'state.sqlite');
		const store = await openBuiltinStore({ filePath });
		await store.close();
		expect(existsSync(filePath)).toBe(true);
	});

	it('uses write-ahead logging, so readers do not block the writer', async () => {
		const filePath = join(folder, 'state.sqlite');
		const store = await openBuiltinStore({ filePath });
		const probe = new DatabaseSync(filePath);
		try {
			expect(probe.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
		} finally {
			probe.close();
			await store.close();
		}
	});

	it('keeps the state when the store is closed and opened again', async () => {
		const filePath = join(folder, 'state.sqlite');
		const first = await openBuiltinStore({ filePath });
		const [committed] = await first.commit('contacts', [
			{ sides: [{ system: 'crm', key: 'c1', seenHash: 'h1', base: { name: 'Ada' } }, { system: 'erp', key: 'e1' }] },
		]);
		await first.setCursor('contacts', 'crm', '2030-01-01T00:00:00Z');
		await first.close();

		const second = await openBuiltinStore({ filePath });
		try {
			const found = (await second.lookUp('contacts', 'erp', ['e1'])).get('e1');
			expect(found?.entityId).toBe(committed.entityId);
			expect(found?.systems.crm).toMatchObject({ seenHash: 'h1', base: { name: 'Ada' }, version: 1 });
			expect(await second.getCursor('contacts', 'crm')).toBe('2030-01-01T00:00:00Z');
		} finally {
			await second.close();
		}
	});

	it('lets two stores on one file see each other\'s commits', async () => {
		const filePath = join(folder, 'state.sqlite');
		const [writer, reader] = [await openBuiltinStore({ filePath }), await openBuiltinStore({ filePath })];
		try {
			await writer.commit('contacts', [{ sides: [{ system: 'crm', key: 'c1' }] }]);
			expect((await reader.lookUp('contacts', 'crm', ['c1'])).size).toBe(1);
		} finally {
			await writer.close();
			await reader.close();
		}
	});

	it('refuses a file written by a newer version of the package', async () => {
		const filePath = join(folder, 'state.sqlite');
		const future = new DatabaseSync(filePath);
		future.exec('PRAGMA user_version = 99');
		future.close();
		const error = await openBuiltinStore({ filePath }).catch((caught: unknown) => caught);
		expect(error).toMatchObject({ code: 'STORE_REFUSED', hint: expect.stringContaining('Update n8n-nodes-two-way-sync') });
	});

	it('refuses to be used after it was closed', async () => {
		const store = await openBuiltinStore({ filePath: join(folder, 'state.sqlite') });
		await store.close();
		await expect(store.getCursor('contacts', 'crm')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
	});

	it('tells users of a Node without node:sqlite to choose PostgreSQL', async () => {
		await jest.isolateModulesAsync(async () => {
			jest.doMock('node:sqlite', () => {
				throw new Error('No such built-in module: node:sqlite');
			});
			const { openBuiltinStore: openWithoutSqlite } = await import('../../nodes/engine/store/sqlite');
			const { SyncError: IsolatedSyncError } = await import('../../nodes/engine/errors');
			const error = await openWithoutSqlite({ filePath: join(folder, 'state.sqlite') }).catch((caught: unknown) => caught);
			expect(error).toBeInstanceOf(IsolatedSyncError);
			expect(error).toMatchObject({ code: 'STORE_REFUSED', hint: expect.stringContaining('PostgreSQL store') });
			expect((error as SyncError).hint).toContain('Node 20');
		});
		jest.dontMock('node:sqlite');
	});
});
