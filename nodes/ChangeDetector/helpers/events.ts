import { createHash } from 'node:crypto';

import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import {
	assertValidSettings,
	fieldPath,
	intentOfEvent,
	isPlainObject,
	readField,
	verifySignature,
	type DetectorInput,
	type RejectReason,
	type SignatureSettings,
} from '../../engine/detector';
import type { SyncStore } from '../../engine/store/SyncStore';
import type { EventSettings } from './parameters';
import { signatureSettingsFrom, WEBHOOK_SIGNATURE_CREDENTIAL } from '../../shared/signatureSettings';

/** Reading webhook events: authenticity, replays, the record and what happened to it. */

export interface Rejection {
	itemIndex: number;
	reason: RejectReason;
	message: string;
}

export interface EventError {
	itemIndex: number;
	reason: 'unknownEvent' | 'invalidRecord';
	message: string;
	hint: string;
}

/** A replay lease this run took; released again if the run fails, so the sender's retry is accepted. */
export interface ReplayLease {
	resource: string;
	owner: string;
}

export interface ReadEvents {
	inputs: DetectorInput[];
	/** The item each input came from. */
	itemIndexes: number[];
	rejected: Rejection[];
	errors: EventError[];
	/** Whether some signature was checked against re-serialised JSON instead of the raw body. */
	usedJsonBody: boolean;
}

async function rawBodyOf(
	ctx: IExecuteFunctions,
	item: INodeExecutionData,
	itemIndex: number,
	property: string,
): Promise<{ body: Buffer; exact: boolean }> {
	if (item.binary?.[property]) return { body: await ctx.helpers.getBinaryDataBuffer(itemIndex, property), exact: true };
	const body = item.json.body;
	if (typeof body === 'string') return { body: Buffer.from(body, 'utf8'), exact: true };
	return { body: Buffer.from(body === undefined ? '' : JSON.stringify(body), 'utf8'), exact: false };
}

function headersOf(item: INodeExecutionData): Record<string, unknown> {
	const headers = item.json.headers;
	return isPlainObject(headers) ? headers : {};
}

/**
 * A replay is a verified request seen before within its window. Without a timestamp header or an
 * event ID there is no window to bound it, so there is no replay check (the UI says so).
 */
function replayWindow(settings: SignatureSettings, eventId: string, signature: string): { id: string; ttlMs: number } | undefined {
	if (settings.timestampHeader !== '') {
		// A timestamp may be up to the tolerance early or late: a copy stays acceptable for twice that.
		const id = eventId || signature;
		return id ? { id, ttlMs: 2 * settings.toleranceSeconds * 1000 } : undefined;
	}
	if (eventId !== '') return { id: eventId, ttlMs: Math.max(1, settings.toleranceSeconds) * 1000 };
	return undefined;
}

/** An expression may give a boolean or its text. */
function isTrue(value: unknown): boolean {
	return value === true || (typeof value === 'string' && value.trim().toLowerCase() === 'true');
}

export async function readEvents(
	ctx: IExecuteFunctions,
	items: INodeExecutionData[],
	event: EventSettings,
	store: SyncStore,
	syncId: string,
	system: string,
	/** Filled as leases are taken, so the caller can release them even if this fails half-way. */
	leases: ReplayLease[],
): Promise<ReadEvents> {
	const read: ReadEvents = { inputs: [], itemIndexes: [], rejected: [], errors: [], usedJsonBody: false };
	let signature: SignatureSettings | undefined;
	if (event.verifySignature) {
		signature = signatureSettingsFrom(await ctx.getCredentials(WEBHOOK_SIGNATURE_CREDENTIAL));
		assertValidSettings(signature);
	}
	const recordPath = event.recordField === '' ? undefined : fieldPath(event.recordField);
	const opPath = event.opSource === 'field' ? fieldPath(event.opField) : undefined;
	const executionId = ctx.getExecutionId() ?? 'run';

	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		const item = items[itemIndex];
		if (signature) {
			const { body, exact } = await rawBodyOf(ctx, item, itemIndex, event.rawBodyProperty);
			if (!exact) read.usedJsonBody = true;
			const check = verifySignature(signature, { headers: headersOf(item), rawBody: body });
			if (!check.ok) {
				read.rejected.push({ itemIndex, reason: check.reason, message: check.message });
				continue;
			}
			const eventId = String(ctx.getNodeParameter('eventId', itemIndex, '') ?? '').trim();
			const window = replayWindow(signature, eventId, check.signature);
			if (window) {
				const resource = `replay:${system}:${createHash('sha256').update(window.id).digest('base64url')}`;
				const owner = `${executionId}:${itemIndex}`;
				const lease = await store.acquireLock(syncId, resource, owner, window.ttlMs);
				if (!lease.acquired) {
					read.rejected.push({
						itemIndex,
						reason: 'replay',
						message: `This event was already received (${eventId ? `event ID ${JSON.stringify(eventId)}` : 'same signature'}); a copy is refused until ${lease.expiresAt}`,
					});
					continue;
				}
				leases.push({ resource, owner });
			}
		}

		const record = recordPath ? readField(item.json, recordPath) : item.json;
		if (!isPlainObject(record)) {
			read.errors.push({
				itemIndex,
				reason: 'invalidRecord',
				message: recordPath ? `The event has no record object in "${recordPath.text}"` : 'The event is not an object',
				hint: 'Set "Record Field" to the path of the record inside the event, e.g. "body" or "body.object" (Parse Server), or leave it empty for the whole item.',
			});
			continue;
		}
		let intent = event.fixedOp;
		if (opPath) {
			const name = readField(item.json, opPath);
			const mapped = intentOfEvent(name, event.mapping);
			if (!mapped) {
				read.errors.push({
					itemIndex,
					reason: 'unknownEvent',
					message:
						name === undefined || name === null || name === ''
							? `The event has no name in "${opPath.text}"`
							: `The event ${JSON.stringify(name)} is not mapped to an operation`,
					hint: `Add the event name under "Event Mapping" (map it to Ignore if it changes nothing), or check "Operation Field".`,
				});
				continue;
			}
			intent = mapped;
		}
		const ownWrite = isTrue(ctx.getNodeParameter('ownWrite', itemIndex, false));
		read.inputs.push({ record: record as IDataObject, intent, ...(ownWrite ? { ownWrite } : {}) });
		read.itemIndexes.push(itemIndex);
	}
	return read;
}

export async function releaseLeases(store: SyncStore, syncId: string, leases: ReplayLease[]): Promise<void> {
	for (const lease of leases) await store.releaseLock(syncId, lease.resource, lease.owner);
}
