import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/** The shared secret a system signs its webhook requests with, and how it signs them. */
export class WebhookSignatureApi implements ICredentialType {
	name = 'webhookSignatureApi';

	displayName = 'Webhook Signature API';

	documentationUrl = 'https://github.com/n8n-nodes-two-way-sync/n8n-nodes-two-way-sync#webhook-signatures';

	icon = 'file:webhookSignature.svg' as const;

	properties: INodeProperties[] = [
		{
			displayName: 'Secret',
			name: 'secret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'The signing secret the sending system shows in its webhook settings',
		},
		{
			displayName: 'Algorithm',
			name: 'algorithm',
			type: 'options',
			options: [
				{ name: 'HMAC-SHA256', value: 'sha256' },
				{ name: 'HMAC-SHA1', value: 'sha1', description: 'Older senders only' },
				{
					name: 'Shared Secret in Header (No HMAC)',
					value: 'plain',
					description: "The header holds the secret itself, e.g. Parse Server's X-Parse-Webhook-Key. Weaker: it does not cover the body.",
				},
			],
			default: 'sha256',
		},
		{
			displayName: 'Signature Header',
			name: 'headerName',
			type: 'string',
			default: 'X-Signature',
			required: true,
			placeholder: 'X-Hub-Signature-256',
			description: 'The request header that carries the signature (or the secret)',
		},
		{
			displayName: 'Encoding',
			name: 'encoding',
			type: 'options',
			options: [
				{ name: 'Hex', value: 'hex' },
				{ name: 'Base64', value: 'base64' },
			],
			default: 'hex',
			displayOptions: { show: { algorithm: ['sha256', 'sha1'] } },
		},
		{
			displayName: 'Signature Prefix',
			name: 'prefix',
			type: 'string',
			default: '',
			placeholder: 'sha256=',
			displayOptions: { show: { algorithm: ['sha256', 'sha1'] } },
			description: 'Text in front of the signature in the header, if the sender adds one',
		},
		{
			displayName: 'Signed Payload',
			name: 'payloadFormat',
			type: 'string',
			default: '{body}',
			placeholder: '{timestamp}.{body}',
			displayOptions: { show: { algorithm: ['sha256', 'sha1'] } },
			description: 'What the sender signs: {body} is the raw request body, {timestamp} the timestamp header',
		},
		{
			displayName: 'Timestamp Header',
			name: 'timestampHeader',
			type: 'string',
			default: '',
			placeholder: 'X-Timestamp',
			description:
				'Optional. A header with the time the request was sent (Unix seconds or milliseconds, or ISO 8601). Requests outside the tolerance are rejected, and a copy of a request inside it is rejected as a replay.',
		},
		{
			displayName: 'Tolerance (Seconds)',
			name: 'toleranceSeconds',
			type: 'number',
			default: 300,
			typeOptions: { minValue: 1 },
			description: 'How far the timestamp may be from now, and how long an event ID is remembered to refuse replays',
		},
	];
}
