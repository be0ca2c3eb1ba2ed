import fc from 'fast-check';

import { auditColumns, chainEvents, ChainVerifier, genesisHash, linkHash, unchained, type ChainAnchor } from '../../nodes/engine/audit/chain';
import type { AuditEvent, ChainedAuditEvent, StoredAuditLink } from '../../nodes/engine/audit/types';

const SYNC_ID = 'contacts';

function event(n: number, extra: Partial<AuditEvent> = {}): AuditEvent {
	return {
		id: `event-${n}`,
		time: new Date(Date.UTC(2030, 0, 1, 0, 0, n)).toISOString(),
		syncId: SYNC_ID,
		executionId: 'exec-1',
		workflowId: 'wf-1',
		workflowName: 'Contacts',
		node: 'Commit',
		source: { system: 'crm', key: `c${n}` },
		target: { system: 'erp', key: `e${n}` },
		entityId: `ent-${n}`,
		correlationId: `ent-${n}`,
		op: 'update',
		reason: null,
		changedFields: ['name'],
		changes: { name: { before: `Name ${n}`, after: `Name ${n}!` } },
		resolution: null,
		status: 'applied',
		error: null,
		retry: null,
		...extra,
	};
}

/** How the store hands a chained event back: the document, and its columns beside it. */
function stored(chained: ChainedAuditEvent): StoredAuditLink {
	const plain = unchained(chained);
	return { seq: chained.seq, prevHash: chained.prevHash, hash: chained.hash, event: plain, columns: auditColumns(plain) };
}

function chainOf(count: number): StoredAuditLink[] {
	return chainEvents(
		SYNC_ID,
		null,
		Array.from({ length: count }, (_, n) => event(n + 1)),
	).map(stored);
}

function verify(links: StoredAuditLink[], anchor?: ChainAnchor) {
	const verifier = new ChainVerifier(SYNC_ID, anchor);
	for (const link of links) if (!verifier.add(link)) break;
	return verifier.finish();
}

describe('the audit hash chain', () => {
	it('links each event to the one before, the first to the sync\'s genesis hash', () => {
		const chain = chainEvents(SYNC_ID, null, [event(1), event(2), event(3)]);
		expect(chain.map((link) => link.seq)).toEqual([1, 2, 3]);
		expect(chain[0].prevHash).toBe(genesisHash(SYNC_ID));
		expect(chain[1].prevHash).toBe(chain[0].hash);
		expect(chain[2].hash).toBe(linkHash(3, chain[1].hash, event(3)));
	});

	it('continues from the head of a stored chain', () => {
		const first = chainEvents(SYNC_ID, null, [event(1), event(2)]);
		const next = chainEvents(SYNC_ID, { seq: 2, hash: first[1].hash }, [event(3)]);
		expect(next[0]).toMatchObject({ seq: 3, prevHash: first[1].hash });
		expect(chainEvents(SYNC_ID, null, [event(1), event(2), event(3)])[2].hash).toBe(next[0].hash);
	});

	it('gives another sync another genesis, so events cannot move between syncs', () => {
		expect(genesisHash('orders')).not.toBe(genesisHash(SYNC_ID));
		const moved = chainEvents('orders', null, [event(1)]).map(stored);
		expect(verify(moved).firstBreak).toMatchObject({ position: 1, reason: 'link' });
	});

	it('hashes the meaning of an event, not the order of its keys', () => {
		const reordered = Object.fromEntries(Object.entries(event(1)).reverse()) as unknown as AuditEvent;
		expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(event(1)));
		expect(linkHash(1, 'prev', reordered)).toBe(linkHash(1, 'prev', event(1)));
	});

	it('confirms an intact chain and reports its head', () => {
		const chain = chainOf(4);
		expect(verify(chain)).toEqual({ syncId: SYNC_ID, valid: true, checked: 4, head: { seq: 4, hash: chain[3].hash }, firstBreak: null });
		expect(verify([])).toEqual({ syncId: SYNC_ID, valid: true, checked: 0, head: null, firstBreak: null });
	});

	describe('finds the first broken link', () => {
		it('when an event was edited', () => {
			const chain = chainOf(5);
			chain[2] = { ...chain[2], event: { ...(chain[2].event as AuditEvent), status: 'failed' } };
			expect(verify(chain)).toMatchObject({
				valid: false,
				checked: 2,
				head: { seq: 2 },
				firstBreak: { position: 3, seq: 3, eventId: 'event-3', reason: 'hash' },
			});
		});

		it('when an edit was covered by recomputing that event\'s hash', () => {
			const chain = chainOf(5);
			const forged = { ...(chain[1].event as AuditEvent), status: 'failed' as const };
			chain[1] = { ...chain[1], event: forged, hash: linkHash(2, chain[1].prevHash, forged), columns: auditColumns(forged) };
			expect(verify(chain).firstBreak).toMatchObject({ position: 3, seq: 3, reason: 'link' });
		});

		it('when only an indexed column was edited', () => {
			const chain = chainOf(3);
			chain[1] = { ...chain[1], columns: { ...chain[1].columns, status: 'failed' } };
			expect(verify(chain).firstBreak).toMatchObject({ position: 2, reason: 'columns', message: expect.stringContaining('status') });
		});

		it('when an event was deleted', () => {
			const chain = chainOf(5);
			chain.splice(1, 1);
			expect(verify(chain).firstBreak).toMatchObject({ position: 2, seq: 3, reason: 'sequence', message: expect.stringContaining('Event 2 is missing') });
		});

		it('when the first event was deleted', () => {
			const chain = chainOf(3).slice(1);
			expect(verify(chain).firstBreak).toMatchObject({ position: 1, seq: 2, reason: 'sequence' });
		});

		it('when a deletion was covered by renumbering the events after it', () => {
			const chain = chainOf(5);
			chain.splice(1, 1);
			const renumbered = chain.map((link, index) => ({ ...link, seq: index + 1 }));
			expect(verify(renumbered).firstBreak).toMatchObject({ position: 2, reason: 'link' });
		});

		it('when two events were swapped', () => {
			const chain = chainOf(5);
			const swapped = [chain[0], { ...chain[2], seq: 2 }, { ...chain[1], seq: 3 }, chain[3], chain[4]];
			expect(verify(swapped).firstBreak).toMatchObject({ position: 2, reason: 'link' });
		});

		it('when an event appears twice', () => {
			const chain = chainOf(3);
			expect(verify([chain[0], chain[1], chain[1], chain[2]]).firstBreak).toMatchObject({ position: 3, reason: 'sequence' });
		});

		it('when events were cut from the end, against an anchor', () => {
			const chain = chainOf(5);
			const anchor = { seq: 5, hash: chain[4].hash };
			expect(verify(chain, anchor).valid).toBe(true);
			expect(verify(chain.slice(0, 3), anchor)).toMatchObject({ valid: false, checked: 3, firstBreak: { position: 4, seq: 5, reason: 'anchor' } });
		});

		it('when the chain was rebuilt from scratch, against an anchor', () => {
			const anchor = { seq: 3, hash: chainOf(5)[2].hash };
			const rebuilt = chainEvents(SYNC_ID, null, [event(1), event(2, { status: 'failed' }), event(3), event(4)]).map(stored);
			expect(verify(rebuilt).valid).toBe(true);
			expect(verify(rebuilt, anchor).firstBreak).toMatchObject({ position: 3, reason: 'anchor' });
		});

		it('when a document is not an event at all', () => {
			const chain = chainOf(2);
			const junk = 'not an event';
			chain[1] = { ...chain[1], event: junk, hash: linkHash(2, chain[1].prevHash, junk) };
			expect(verify(chain).firstBreak).toMatchObject({ position: 2, reason: 'columns', eventId: null });
		});
	});

	describe('for any tampering with any chain (property)', () => {
		const chains = fc.integer({ min: 2, max: 12 }).map(chainOf);

		it('detects a changed field of any event', () => {
			fc.assert(
				fc.property(chains, fc.nat(), fc.string(), (chain, pick, value) => {
					const index = pick % chain.length;
					const original = chain[index].event as AuditEvent;
					fc.pre(original.workflowName !== value);
					const tampered = [...chain];
					tampered[index] = { ...chain[index], event: { ...original, workflowName: value } };
					expect(verify(tampered).firstBreak).toMatchObject({ position: index + 1 });
				}),
			);
		});

		it('detects a deleted event anywhere but at the end', () => {
			fc.assert(
				fc.property(chains, fc.nat(), (chain, pick) => {
					const index = pick % (chain.length - 1);
					const tampered = chain.filter((_, position) => position !== index);
					expect(verify(tampered).firstBreak).toMatchObject({ position: index + 1 });
				}),
			);
		});

		it('detects any reordering, even with the sequence numbers rewritten', () => {
			fc.assert(
				fc.property(
					chains.chain((chain) => fc.tuple(fc.constant(chain), fc.shuffledSubarray(chain, { minLength: chain.length, maxLength: chain.length }))),
					([chain, shuffled]) => {
						fc.pre(shuffled.some((link, index) => link !== chain[index]));
						const firstMoved = shuffled.findIndex((link, index) => link !== chain[index]);
						const renumbered = shuffled.map((link, index) => ({ ...link, seq: index + 1 }));
						expect(verify(renumbered)).toMatchObject({ valid: false, firstBreak: { position: firstMoved + 1 } });
					},
				),
			);
		});
	});
});
