import { startThrowawayPostgres, type ThrowawayPostgres } from './postgres';

/**
 * Starts one throwaway PostgreSQL for the whole jest run, unless TWS_TEST_PG_URL already names a
 * server. Test workers inherit TWS_TEST_PG_URL; each test file creates its own database there.
 */
export default async function globalSetup(): Promise<void> {
	if (process.env.TWS_TEST_PG_URL) return;
	const server = await startThrowawayPostgres();
	process.env.TWS_TEST_PG_URL = server.url;
	// Teardown runs in this same process and finds the handle here.
	(globalThis as { twsTestPostgres?: ThrowawayPostgres }).twsTestPostgres = server;
}
