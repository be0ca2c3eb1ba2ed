import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/** Connection to the PostgreSQL database that holds the sync state (links, bases, cursors, outbox, locks, audit). */
export class SyncStatePostgresApi implements ICredentialType {
	name = 'syncStatePostgresApi';

	displayName = 'Sync State PostgreSQL API';

	documentationUrl = 'https://github.com/n8n-nodes-two-way-sync/n8n-nodes-two-way-sync#the-postgresql-state-store';

	icon = 'file:syncStatePostgres.svg' as const;

	properties: INodeProperties[] = [
		{
			displayName: 'Host',
			name: 'host',
			type: 'string',
			default: 'localhost',
			required: true,
		},
		{
			displayName: 'Port',
			name: 'port',
			type: 'number',
			default: 5432,
			required: true,
		},
		{
			displayName: 'Database',
			name: 'database',
			type: 'string',
			default: 'postgres',
			required: true,
		},
		{
			displayName: 'User',
			name: 'user',
			type: 'string',
			default: 'postgres',
			required: true,
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
		},
		{
			displayName: 'SSL',
			name: 'ssl',
			type: 'options',
			options: [
				{ name: 'Disable', value: 'disable' },
				{ name: 'Allow', value: 'allow', description: 'Use SSL when the server offers it' },
				{ name: 'Require', value: 'require', description: 'Encrypt, without verifying the certificate' },
				{ name: 'Verify Full', value: 'verify-full', description: 'Encrypt and verify the certificate and host name' },
			],
			default: 'disable',
		},
		{
			displayName: 'CA Certificate',
			name: 'caCertificate',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			placeholder: '-----BEGIN CERTIFICATE-----',
			description: "The certificate authority that signed the server's certificate, in PEM form. Leave empty to use the system's trusted authorities.",
			displayOptions: { show: { ssl: ['verify-full'] } },
		},
		{
			displayName: 'Schema',
			name: 'schema',
			type: 'string',
			default: 'two_way_sync',
			description: 'Created on first use. Letters, digits and underscores only.',
		},
		{
			displayName: 'Table Prefix',
			name: 'tablePrefix',
			type: 'string',
			default: '',
			placeholder: 'sync_',
			description: 'Optional prefix for the state tables, to share one schema between several installations',
		},
	];
}
