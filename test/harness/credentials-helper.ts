import { Credentials } from 'n8n-core';
import type {
	ICredentialDataDecryptedObject,
	ICredentialType,
	IHttpRequestOptions,
	INodeCredentialsDetails,
	INodeParameters,
	INodeProperties,
} from 'n8n-workflow';
import { ICredentialsHelper, NodeHelpers, UserError } from 'n8n-workflow';

import type { HarnessNodeTypes } from './node-types';

/** Decrypted test credentials, keyed by credential type name (e.g. `{ twoWaySyncPostgres: {...} }`). */
export type TestCredentials = Record<string, ICredentialDataDecryptedObject>;

/**
 * Plays the part of n8n's CredentialsHelper: nodes call `this.getCredentials(type)` and get the
 * test's plain values back, with the credential type's defaults filled in as n8n does.
 */
export class TestCredentialsHelper extends ICredentialsHelper {
	constructor(
		private readonly nodeTypes: HarnessNodeTypes,
		private readonly credentialsByType: TestCredentials,
	) {
		super();
	}

	getParentTypes(typeName: string): string[] {
		const parents = this.nodeTypes.getCredentialType(typeName)?.extends ?? [];
		return parents.flatMap((parent) => [parent, ...this.getParentTypes(parent)]);
	}

	isCredentialUsableByNode(credentialType: string, nodeType: string): boolean {
		const typeDefinition = this.nodeTypes.getCredentialType(credentialType);
		if (!typeDefinition?.restrictToSupportedNodes) return true;
		// The loader records supported nodes by their bare names.
		const bareNodeName = nodeType.slice(nodeType.indexOf('.') + 1);
		return (typeDefinition.supportedNodes ?? []).includes(bareNodeName);
	}

	async authenticate(
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
		requestOptions: IHttpRequestOptions,
	): Promise<IHttpRequestOptions> {
		const typeDefinition = this.nodeTypes.getCredentialType(typeName);
		if (typeDefinition?.authenticate === undefined) return requestOptions;
		if (typeof typeDefinition.authenticate === 'function') {
			return await typeDefinition.authenticate(credentials, requestOptions);
		}
		throw new UserError(
			`Credential type "${typeName}" uses generic authentication, which the node test harness does not apply. Test the request through the node's own code path instead.`,
		);
	}

	async preAuthentication(): Promise<ICredentialDataDecryptedObject | undefined> {
		return undefined;
	}

	async runPreAuthentication(): Promise<ICredentialDataDecryptedObject | undefined> {
		return undefined;
	}

	async getCredentials(nodeCredentials: INodeCredentialsDetails, type: string): Promise<Credentials> {
		const credentials = new Credentials(nodeCredentials, type);
		await credentials.setData(this.lookUp(type));
		return credentials;
	}

	async getDecrypted(
		_additionalData: unknown,
		_nodeCredentials: INodeCredentialsDetails,
		type: string,
	): Promise<ICredentialDataDecryptedObject> {
		const data = this.lookUp(type);
		const properties = this.getCredentialsProperties(type);
		if (properties.length === 0) return { ...data };
		const withDefaults = NodeHelpers.getNodeParameters(
			properties,
			data as INodeParameters,
			true,
			false,
			null,
			null,
		);
		// Keep values the type does not declare, as n8n keeps extra fields of stored credentials.
		return { ...data, ...(withDefaults as ICredentialDataDecryptedObject) };
	}

	async updateCredentials(
		_nodeCredentials: INodeCredentialsDetails,
		type: string,
		data: ICredentialDataDecryptedObject,
	): Promise<void> {
		this.credentialsByType[type] = data;
	}

	async updateCredentialsOauthTokenData(
		_nodeCredentials: INodeCredentialsDetails,
		type: string,
		data: ICredentialDataDecryptedObject,
	): Promise<void> {
		this.credentialsByType[type] = { ...this.credentialsByType[type], ...data };
	}

	getCredentialsProperties(type: string): INodeProperties[] {
		const ownAndInherited: ICredentialType[] = [type, ...this.getParentTypes(type)]
			.map((name) => this.nodeTypes.getCredentialType(name))
			.filter((definition): definition is ICredentialType => definition !== undefined);
		return ownAndInherited.flatMap((definition) => definition.properties);
	}

	private lookUp(type: string): ICredentialDataDecryptedObject {
		const data = this.credentialsByType[type];
		if (data === undefined) {
			const given = Object.keys(this.credentialsByType);
			throw new UserError(
				`A node asked for credentials of type "${type}", but the test passed ${given.length ? `only ${given.join(', ')}` : 'none'}. Add them to runWorkflow's \`credentials\` option.`,
			);
		}
		return data;
	}
}
