/**
 * The node's outputs. Created, Updated and Deleted always come first, so switching the mode never
 * rewires them; Errors always comes last. The others appear when the parameters call for them.
 */

export type OutputName = 'Created' | 'Updated' | 'Deleted' | 'Unchanged' | 'Held Back' | 'Rejected' | 'Errors';

export interface OutputParameters {
	mode?: string;
	includeUnchanged?: boolean;
	holdBack?: boolean;
	verifySignature?: boolean;
}

/**
 * n8n evaluates this in the editor and in the engine as the text of an expression, so it must be
 * self-contained: no imports, no helpers from outside its body.
 */
export function configuredOutputs(parameters: OutputParameters): Array<{ type: 'main'; displayName: OutputName }> {
	const names: OutputName[] = ['Created', 'Updated', 'Deleted'];
	if (parameters.includeUnchanged === true) names.push('Unchanged');
	if (parameters.mode !== 'event' && parameters.holdBack === true) names.push('Held Back');
	if (parameters.mode === 'event' && parameters.verifySignature === true) names.push('Rejected');
	names.push('Errors');
	return names.map((displayName) => ({ type: 'main', displayName }));
}

export const OUTPUTS_EXPRESSION = `={{(${configuredOutputs.toString()})($parameter)}}` as const;
