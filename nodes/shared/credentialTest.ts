import type { ICredentialsDecrypted, ICredentialTestFunctions, INodeCredentialTestResult } from 'n8n-workflow';

import { testPostgresConnection } from '../engine/store/postgres';
import { POSTGRES_CREDENTIAL_TEST } from './descriptions';
import { postgresOptionsFromCredential } from './store';

/** The Sync State PostgreSQL credential's test: connect, and check the right to create the schema. */
async function testSyncStatePostgres(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const result = await testPostgresConnection(postgresOptionsFromCredential(credential.data ?? {}));
	return { status: result.ok ? 'OK' : 'Error', message: result.message };
}

export const credentialTest = { [POSTGRES_CREDENTIAL_TEST]: testSyncStatePostgres };
