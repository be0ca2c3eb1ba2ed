import type {
	ICredentialDataDecryptedObject,
	ICredentialTestRequest,
	ICredentialType,
	IHttpRequestOptions,
	INodeProperties,
} from 'n8n-workflow';

/** The HTTP endpoint (a SIEM or a log collector) that the Audit Logger sends its events to. */
export class AuditHttpSinkApi implements ICredentialType {
	name = 'auditHttpSinkApi';

	displayName = 'Audit HTTP Sink API';

	documentationUrl = 'https://github.com/n8n-nodes-two-way-sync/n8n-nodes-two-way-sync#audit-http-sink';

	icon = 'file:auditHttpSink.svg' as const;

	properties: INodeProperties[] = [
		{
			displayName: 'URL',
			name: 'url',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'https://logs.example.com/ingest/audit',
			description: 'Where the events are POSTed, as a JSON array or as JSON Lines',
		},
		{
			displayName: 'Header Name',
			name: 'headerName',
			type: 'string',
			default: 'Authorization',
			placeholder: 'Authorization',
			description: 'The header that authenticates the requests. Leave empty if the endpoint needs none.',
		},
		{
			displayName: 'Header Value',
			name: 'headerSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			placeholder: 'Bearer 0123456789abcdef',
		},
	];

	/** Adds the header to every request, so the node never handles the value itself. */
	async authenticate(credentials: ICredentialDataDecryptedObject, requestOptions: IHttpRequestOptions): Promise<IHttpRequestOptions> {
		const name = String(credentials.headerName ?? '').trim();
		if (name === '') return requestOptions;
		return { ...requestOptions, headers: { ...requestOptions.headers, [name]: String(credentials.headerSecret ?? '') } };
	}

	/** An empty batch: a collector that takes JSON arrays accepts it and records nothing. */
	test: ICredentialTestRequest = {
		request: {
			method: 'POST',
			url: '={{$credentials.url}}',
			headers: { 'content-type': 'application/json' },
			body: [],
		},
	};
}
