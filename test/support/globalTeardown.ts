import type { ThrowawayPostgres } from './postgres';

/** Stops the PostgreSQL that globalSetup started, and removes its folder. A server given by TWS_TEST_PG_URL is left alone. */
export default async function globalTeardown(): Promise<void> {
	const holder = globalThis as { twsTestPostgres?: ThrowawayPostgres };
	const server = holder.twsTestPostgres;
	if (!server) return;
	delete holder.twsTestPostgres;
	delete process.env.TWS_TEST_PG_URL;
	await server.stop();
}
