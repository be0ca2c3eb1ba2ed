import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { ChainVerifier, type ChainAnchor, type ChainVerification } from '../../engine/audit/chain';
import type { SyncStore } from '../../engine/store/SyncStore';
import { mapItems } from '../../shared/items';
import { forOperations } from '../helpers/utils';

/** Events read per round trip; the verifier holds only the last hash, so memory stays flat. */
const PAGE_SIZE = 1000;

export const description: INodeProperties[] = forOperations(
	['verifyChain'],
	[
		{
			displayName:
				'Checks every event of this sync in the store: an edited, deleted, inserted or reordered event breaks the chain, and the first break is reported with its position. Use an IF node on {{ $json.valid }} to alert.',
			name: 'verifyNotice',
			type: 'notice',
			default: '',
		},
		{
			displayName: 'Anchor',
			name: 'anchor',
			type: 'collection',
			placeholder: 'Add Anchor',
			default: {},
			description:
				"A seq and hash kept outside the store (from an earlier run's head, or from the file or HTTP copy of the events). It also detects events removed from the end of the chain.",
			options: [
				{
					displayName: 'Seq',
					name: 'seq',
					type: 'number',
					typeOptions: { minValue: 1 },
					default: 1,
				},
				{
					displayName: 'Hash',
					name: 'hash',
					type: 'string',
					default: '',
				},
			],
		},
	],
);

function anchorFor(ctx: IExecuteFunctions, itemIndex: number): ChainAnchor | undefined {
	const anchor = ctx.getNodeParameter('anchor', itemIndex, {}) as IDataObject;
	const hash = String(anchor.hash ?? '').trim();
	if (hash === '') return undefined;
	return { seq: Number(anchor.seq ?? 1), hash };
}

export async function verifyChain(store: SyncStore, syncId: string, anchor?: ChainAnchor): Promise<ChainVerification> {
	const verifier = new ChainVerifier(syncId, anchor);
	for (;;) {
		const page = await store.readAuditChain(syncId, verifier.lastSeq, PAGE_SIZE);
		for (const link of page) if (!verifier.add(link)) return verifier.finish();
		if (page.length < PAGE_SIZE) return verifier.finish();
	}
}

function summaryLine(result: ChainVerification): string {
	if (result.firstBreak) return `The chain is broken at position ${result.firstBreak.position}: ${result.firstBreak.message}`;
	return result.checked === 0 ? 'The chain is empty' : `All ${result.checked} events are intact`;
}

export async function execute(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
	store: SyncStore,
	syncId: string,
): Promise<INodeExecutionData[]> {
	return await mapItems(this, items, async (_item, itemIndex) => {
		const result = await verifyChain(store, syncId, anchorFor(this, itemIndex));
		return { ...result, message: summaryLine(result) } as unknown as IDataObject;
	});
}
