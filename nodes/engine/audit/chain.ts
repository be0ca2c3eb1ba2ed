import { createHash } from 'node:crypto';

import { canonicalJson } from '../hash';
import type { AuditColumns, AuditEvent, ChainedAuditEvent, StoredAuditLink } from './types';

/**
 * The audit trail of a sync is one hash chain. Event n stores the hash of event n-1 (`prevHash`)
 * and its own hash over (seq, prevHash, event). Editing an event changes its hash; deleting or
 * moving one breaks the next event's link or the run of sequence numbers. The first event links to
 * a genesis hash derived from the syncId, so events cannot be moved between syncs either.
 */

const GENESIS_LABEL = 'n8n-nodes-two-way-sync/audit/v1';

function sha256Hex(text: string): string {
	return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function genesisHash(syncId: string): string {
	return sha256Hex(`${GENESIS_LABEL}\u0000${syncId}`);
}

export function linkHash(seq: number, prevHash: string, event: unknown): string {
	return sha256Hex(canonicalJson({ seq, prevHash, event }));
}

/** Strips the chain fields, leaving the event that was hashed. */
export function unchained(event: AuditEvent | ChainedAuditEvent): AuditEvent {
	const { seq: _seq, prevHash: _prevHash, hash: _hash, ...plain } = event as ChainedAuditEvent;
	return plain;
}

export interface ChainHead {
	seq: number;
	hash: string;
}

/** Gives each event the next place in the chain after `head` (null: the chain is empty). */
export function chainEvents(syncId: string, head: ChainHead | null, events: AuditEvent[]): ChainedAuditEvent[] {
	let seq = head?.seq ?? 0;
	let prevHash = head?.hash ?? genesisHash(syncId);
	return events.map((event) => {
		const plain = unchained(event);
		seq += 1;
		const hash = linkHash(seq, prevHash, plain);
		const chained: ChainedAuditEvent = { ...plain, seq, prevHash, hash };
		prevHash = hash;
		return chained;
	});
}

/** The fields the store copies into columns, so that a query need not parse every document. */
export function auditColumns(event: AuditEvent): AuditColumns {
	return {
		eventId: event.id,
		time: event.time,
		status: event.status,
		op: event.op,
		sourceSystem: event.source.system,
		sourceKey: event.source.key,
		targetSystem: event.target?.system ?? null,
		targetKey: event.target?.key ?? null,
		entityId: event.entityId,
		correlationId: event.correlationId,
	};
}

export type BreakReason = 'sequence' | 'link' | 'hash' | 'columns' | 'anchor';

export interface ChainBreak {
	/** 1-based place in the stored chain, in sequence order. */
	position: number;
	/** The seq stored at that place (for `anchor` at the end of the chain: the anchor's seq). */
	seq: number;
	eventId: string | null;
	reason: BreakReason;
	message: string;
}

export interface ChainVerification {
	syncId: string;
	valid: boolean;
	/** Events checked before the first break (all of them when valid). */
	checked: number;
	/** The last event of the chain: keep it elsewhere, and pass it as the anchor later, to detect truncation. */
	head: ChainHead | null;
	firstBreak: ChainBreak | null;
}

/** A seq and hash known from an earlier verification or from an external copy of the trail. */
export interface ChainAnchor {
	seq: number;
	hash: string;
}

function eventIdOf(event: unknown): string | null {
	const id = (event as { id?: unknown } | null)?.id;
	return typeof id === 'string' ? id : null;
}

function sameColumns(stored: AuditColumns, derived: AuditColumns): string | undefined {
	for (const name of Object.keys(derived) as Array<keyof AuditColumns>) {
		const a = stored[name];
		const b = derived[name];
		const equal = name === 'time' && a !== null && b !== null ? Date.parse(a) === Date.parse(b) : a === b;
		if (!equal) return name;
	}
	return undefined;
}

function derivedColumns(event: unknown): AuditColumns | undefined {
	try {
		return auditColumns(event as AuditEvent);
	} catch {
		// A document without `source` cannot have been written by this package.
		return undefined;
	}
}

/**
 * Checks a chain fed in sequence order, page by page, and stops at the first broken link.
 * What it detects: an edited event or column (hash, columns), a deleted, inserted or moved event
 * (sequence, link). A removed tail is only detectable against an anchor kept elsewhere.
 */
export class ChainVerifier {
	private position = 0;
	private head: ChainHead | null = null;
	private broken: ChainBreak | null = null;
	private anchorSeen = false;

	constructor(
		readonly syncId: string,
		private readonly anchor?: ChainAnchor,
	) {}

	get done(): boolean {
		return this.broken !== null;
	}

	get lastSeq(): number {
		return this.head?.seq ?? 0;
	}

	/** Returns false once the chain is broken: the caller can stop reading. */
	add(link: StoredAuditLink): boolean {
		if (this.broken) return false;
		const position = this.position + 1;
		const expectedSeq = this.lastSeq + 1;
		const expectedPrev = this.head?.hash ?? genesisHash(this.syncId);
		const fail = (reason: BreakReason, message: string) => {
			this.broken = { position, seq: link.seq, eventId: eventIdOf(link.event), reason, message };
			return false;
		};
		if (link.seq !== expectedSeq) {
			return fail(
				'sequence',
				link.seq > expectedSeq
					? `Event ${expectedSeq}${expectedSeq + 1 < link.seq ? ` to ${link.seq - 1}` : ''} is missing: the chain jumps from ${expectedSeq - 1} to ${link.seq}`
					: `Sequence number ${link.seq} appears again after ${expectedSeq - 1}`,
			);
		}
		if (link.prevHash !== expectedPrev) {
			return fail('link', `Event ${link.seq} does not link to the event before it: an event was removed, inserted or moved here`);
		}
		if (linkHash(link.seq, link.prevHash, link.event) !== link.hash) {
			return fail('hash', `Event ${link.seq} was changed after it was logged: its content no longer matches its hash`);
		}
		const derived = derivedColumns(link.event);
		const differing = derived ? sameColumns(link.columns, derived) : 'event';
		if (differing) {
			return fail('columns', `Event ${link.seq} was changed after it was logged: its stored ${differing} differs from the hashed event`);
		}
		if (this.anchor && link.seq === this.anchor.seq) {
			this.anchorSeen = true;
			if (link.hash !== this.anchor.hash) {
				return fail('anchor', `Event ${link.seq} does not have the anchor's hash: the chain was rewritten up to here`);
			}
		}
		this.position = position;
		this.head = { seq: link.seq, hash: link.hash };
		return true;
	}

	finish(): ChainVerification {
		if (!this.broken && this.anchor && !this.anchorSeen) {
			this.broken = {
				position: this.position + 1,
				seq: this.anchor.seq,
				eventId: null,
				reason: 'anchor',
				message: `The chain ends at event ${this.lastSeq}, before the anchor at event ${this.anchor.seq}: events were removed from its end`,
			};
		}
		return {
			syncId: this.syncId,
			valid: this.broken === null,
			checked: this.position,
			head: this.head,
			firstBreak: this.broken,
		};
	}
}
