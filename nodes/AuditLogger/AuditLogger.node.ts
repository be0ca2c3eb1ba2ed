import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { webhookSignatureTest } from '../shared/signatureSettings';
import { credentialTest } from '../shared/credentialTest';
import { storeProperties, syncIdProperty } from '../shared/descriptions';
import { operationDescriptions, router } from './actions/router';

export class AuditLogger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Audit Logger',
		name: 'auditLogger',
		icon: { light: 'file:auditLogger.svg', dark: 'file:auditLogger.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["operation"] }}',
		description: 'Keep a tamper-evident, redacted audit trail of every sync action, and the figures to monitor it',
		defaults: { name: 'Audit Logger' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		// Log passes the items on and emits the events beside them; the other operations answer on one output.
		outputs: `={{ $parameter.operation === "log" ? [{ "type": "${NodeConnectionTypes.Main}", "displayName": "Items" }, { "type": "${NodeConnectionTypes.Main}", "displayName": "Events" }] : ["${NodeConnectionTypes.Main}"] }}`,
		credentials: [
			{
				name: 'syncStatePostgresApi',
				required: true,
				testedBy: 'syncStatePostgresConnectionTest',
				displayOptions: { show: { store: ['postgres'] } },
			},
			{
				name: 'auditHttpSinkApi',
				required: true,
				displayOptions: { show: { operation: ['log'], sinks: ['http'] } },
			},
			{
				name: 'webhookSignatureApi',
				required: true,
				testedBy: 'webhookSignatureCheck',
				displayOptions: { show: { operation: ['log'], sinks: ['http'], signBody: [true] } },
			},
		],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Log', value: 'log', action: 'Log sync events', description: 'Record one audit event per item' },
					{ name: 'Query', value: 'query', action: 'Query audit events', description: 'Find events by system, key, entity, status and time' },
					{ name: 'Summary', value: 'summary', action: 'Summarize sync events', description: 'Counts and success rate for a time window' },
					{ name: 'Verify Chain', value: 'verifyChain', action: 'Verify the audit chain', description: 'Check that no event was changed, removed or reordered' },
				],
				default: 'log',
			},
			...storeProperties,
			syncIdProperty,
			...operationDescriptions,
		],
	};

	methods = { credentialTest: { ...credentialTest, ...webhookSignatureTest } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
