import { NodeOperationError, type INode } from 'n8n-workflow';

import { isSyncError } from '../engine/errors';

/** Turns any error into a NodeOperationError; an engine SyncError's hint becomes the description. */
export function toNodeError(node: INode, error: unknown, itemIndex?: number): NodeOperationError {
	if (error instanceof NodeOperationError) return error;
	if (isSyncError(error)) {
		const nodeError = new NodeOperationError(node, error.message, { description: error.hint, itemIndex });
		// n8n swaps messages that mention e.g. ECONNREFUSED for a generic one; ours already say which server and what to check.
		nodeError.message = error.message;
		return nodeError;
	}
	if (error instanceof RangeError && /call stack/i.test(error.message)) {
		// A record nested thousands of levels deep; the bare RangeError would not say what to change.
		return new NodeOperationError(node, 'The data is nested too deeply to process', {
			description: 'Flatten the records before this node, or keep only the fields the sync needs (e.g. with an Edit Fields (Set) node).',
			itemIndex,
		});
	}
	const message = error instanceof Error ? error.message : String(error);
	return new NodeOperationError(node, message, { itemIndex });
}

/** The JSON an item carries when Continue On Fail keeps a failed item in the output. */
export function errorJson(error: NodeOperationError): { error: string; description?: string } {
	return error.description ? { error: error.message, description: error.description } : { error: error.message };
}
