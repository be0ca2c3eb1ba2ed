import type {
	ICredentialDataDecryptedObject,
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	INodeCredentialTestResult,
} from 'n8n-workflow';

import { settingsProblems, sign, verifySignature, type SignatureSettings } from '../engine/signature';

export const WEBHOOK_SIGNATURE_CREDENTIAL = 'webhookSignatureApi';
export const WEBHOOK_SIGNATURE_TEST = 'webhookSignatureCheck';

export function signatureSettingsFrom(data: ICredentialDataDecryptedObject): SignatureSettings {
	const algorithm = String(data.algorithm ?? 'sha256');
	return {
		secret: String(data.secret ?? ''),
		headerName: String(data.headerName ?? '').trim(),
		algorithm: algorithm === 'sha1' || algorithm === 'plain' ? algorithm : 'sha256',
		encoding: data.encoding === 'base64' ? 'base64' : 'hex',
		prefix: String(data.prefix ?? ''),
		timestampHeader: String(data.timestampHeader ?? '').trim(),
		toleranceSeconds: Number(data.toleranceSeconds ?? 300),
		payloadFormat: String(data.payloadFormat || '{body}'),
	};
}

/**
 * The Webhook Signature credential has no server to ask. Its test checks that the settings are
 * complete and consistent, then signs a sample request and verifies it with them.
 */
async function checkWebhookSignature(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const settings = signatureSettingsFrom(credential.data ?? {});
	const problems = settingsProblems(settings);
	if (problems.length > 0) return { status: 'Error', message: problems.join(' ') };
	const body = Buffer.from('{"sample":true}', 'utf8');
	const timestamp = String(Math.floor(Date.now() / 1000));
	const headers: Record<string, string> = { [settings.headerName]: sign(settings, body, timestamp) };
	if (settings.timestampHeader !== '') headers[settings.timestampHeader] = timestamp;
	const check = verifySignature(settings, { headers, rawBody: body });
	return check.ok
		? { status: 'OK', message: `A sample request signed with these settings passes the check (header "${settings.headerName}")` }
		: { status: 'Error', message: check.message };
}

export const webhookSignatureTest = { [WEBHOOK_SIGNATURE_TEST]: checkWebhookSignature };
