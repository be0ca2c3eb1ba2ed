import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

import { NodeOperationError, sleep, type IDataObject, type IExecuteFunctions } from 'n8n-workflow';

import { deliverEvents, type BodyFormat, type SendBody } from '../../engine/audit/delivery';
import { appendJsonLines } from '../../engine/audit/jsonl';
import type { AuditEvent, ChainedAuditEvent } from '../../engine/audit/types';
import { assertValidSettings, sign, type SignatureSettings } from '../../engine/signature';
import type { SyncStore } from '../../engine/store/SyncStore';
import { signatureSettingsFrom, WEBHOOK_SIGNATURE_CREDENTIAL } from '../../shared/signatureSettings';
import { defaultBuiltinStorePath } from '../../shared/store';

export const AUDIT_HTTP_SINK_CREDENTIAL = 'auditHttpSinkApi';
export const DEFAULT_AUDIT_FILE = 'two-way-sync-audit.jsonl';
const MEGABYTE = 1024 * 1024;

/** A relative path is taken from the n8n user folder (beside the built-in store), `~` from the home folder. */
export function auditFilePath(configured: string): string {
	const userFolder = dirname(defaultBuiltinStorePath());
	const path = configured.trim();
	if (path === '') return join(userFolder, DEFAULT_AUDIT_FILE);
	const expanded = path.replace(/^~(?=$|\/)/, homedir());
	return isAbsolute(expanded) ? expanded : join(userFolder, expanded);
}

export function writeAuditFile(ctx: IExecuteFunctions, events: AuditEvent[]): void {
	const path = auditFilePath(String(ctx.getNodeParameter('filePath', 0, '')));
	const maxBytes = Number(ctx.getNodeParameter('maxFileSizeMb', 0, 10)) * MEGABYTE;
	const maxFiles = Number(ctx.getNodeParameter('maxFiles', 0, 5));
	appendJsonLines(
		path,
		events.map((event) => JSON.stringify(event)),
		{ maxBytes, maxFiles },
	);
}

export interface HttpDeliveryReport {
	delivered: number;
	/** Events now waiting in the store for the next run. */
	waiting: number;
	error: string | null;
}

interface HttpOptions {
	batchSize: number;
	maxAttempts: number;
	retryDelayMs: number;
	bodyFormat: BodyFormat;
	timeoutMs: number;
	maxQueuedPerRun: number;
}

function httpOptions(ctx: IExecuteFunctions): HttpOptions {
	const options = ctx.getNodeParameter('httpOptions', 0, {}) as IDataObject;
	return {
		batchSize: Number(options.batchSize ?? 100),
		maxAttempts: Number(options.maxAttempts ?? 3),
		retryDelayMs: Number(options.retryDelayMs ?? 1000),
		bodyFormat: options.bodyFormat === 'jsonLines' ? 'jsonLines' : 'jsonArray',
		timeoutMs: Number(options.timeoutMs ?? 10_000),
		maxQueuedPerRun: Number(options.maxQueuedPerRun ?? 1000),
	};
}

function endpointUrl(ctx: IExecuteFunctions, value: unknown): string {
	const text = String(value ?? '').trim();
	let url: URL | undefined;
	try {
		url = new URL(text);
	} catch {
		url = undefined;
	}
	if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
		throw new NodeOperationError(ctx.getNode(), `The Audit HTTP Sink URL "${text}" is not an http(s) URL`, {
			description: 'Set URL in the Audit HTTP Sink credential to the full address of the endpoint, e.g. https://logs.example.com/ingest.',
		});
	}
	return url.toString();
}

/** The queue key of an endpoint: a hash, so a token in the URL's query never lands in the store. */
export function httpSinkName(url: string): string {
	return `http:${createHash('sha256').update(url).digest('base64url').slice(0, 22)}`;
}

function signer(settings: SignatureSettings): (body: string) => Record<string, string> {
	return (body) => {
		const timestamp = String(Math.floor(Date.now() / 1000));
		const headers: Record<string, string> = { [settings.headerName]: sign(settings, Buffer.from(body, 'utf8'), timestamp) };
		if (settings.timestampHeader !== '') headers[settings.timestampHeader] = timestamp;
		return headers;
	};
}

/**
 * Sends the events that earlier runs could not deliver, then this run's, in order. What cannot be
 * delivered after the retries stays in the store's audit queue for the next run.
 */
export async function deliverToHttp(
	ctx: IExecuteFunctions,
	store: SyncStore,
	syncId: string,
	events: Array<AuditEvent | ChainedAuditEvent>,
): Promise<HttpDeliveryReport> {
	const options = httpOptions(ctx);
	const credentials = await ctx.getCredentials(AUDIT_HTTP_SINK_CREDENTIAL);
	const url = endpointUrl(ctx, credentials.url);
	const secrets = [String(credentials.headerSecret ?? '')];
	let signing: SignatureSettings | undefined;
	if (ctx.getNodeParameter('signBody', 0, false) as boolean) {
		signing = signatureSettingsFrom(await ctx.getCredentials(WEBHOOK_SIGNATURE_CREDENTIAL));
		assertValidSettings(signing);
		secrets.push(signing.secret);
	}
	const scrub = (text: string) => secrets.filter((secret) => secret.length >= 4).reduce((out, secret) => out.split(secret).join('***'), text);

	const sink = httpSinkName(url);
	const queued = (await store.listAuditDeliveries(syncId, sink, Math.max(1, options.maxQueuedPerRun))).map((entry) => entry.event);
	const queuedIds = new Set(queued.map((event) => event.id));
	const fresh = events.filter((event) => !queuedIds.has(event.id));
	// A queue longer than one run's share: this run's events wait behind it, so the order holds.
	const backlog = queued.length >= options.maxQueuedPerRun;
	const toSend = backlog ? queued : [...queued, ...fresh];

	const send: SendBody = async (body, headers) => {
		const response = (await ctx.helpers.httpRequestWithAuthentication.call(ctx, AUDIT_HTTP_SINK_CREDENTIAL, {
			method: 'POST',
			url,
			body: Buffer.from(body, 'utf8'),
			headers,
			returnFullResponse: true,
			ignoreHttpStatusErrors: true,
			timeout: options.timeoutMs,
		})) as { statusCode?: number };
		return { status: Number(response.statusCode ?? 0) };
	};
	const outcome = await deliverEvents(toSend, send, {
		batchSize: options.batchSize,
		policy: { maxAttempts: options.maxAttempts, baseDelayMs: options.retryDelayMs, maxDelayMs: Math.max(options.retryDelayMs, 60_000) },
		format: options.bodyFormat,
		sign: signing ? signer(signing) : undefined,
		sleep: async (ms) => await sleep(ms),
		scrub,
	});
	const undelivered = backlog ? [...outcome.undelivered, ...fresh] : outcome.undelivered;
	const error = outcome.error ?? (undelivered.length > 0 ? 'Waiting behind earlier undelivered audit events' : null);
	await store.settleAuditDeliveries(syncId, sink, {
		delivered: outcome.delivered.filter((event) => queuedIds.has(event.id)).map((event) => event.id),
		undelivered,
		error,
	});
	return { delivered: outcome.delivered.length, waiting: undelivered.length, error };
}
