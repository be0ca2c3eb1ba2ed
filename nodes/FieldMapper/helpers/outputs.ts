/**
 * The node's outputs. By default: Mapped, Invalid. With "Split by Operation" (Map only), Mapped
 * becomes Create, Update and Delete, in that order (nodes/shared/operations.ts, SPLIT_OPS), and
 * Invalid stays last.
 */

export type MapperOutputName = 'Mapped' | 'Create' | 'Update' | 'Delete' | 'Invalid';

export interface MapperOutputParameters {
	operation?: string;
	splitByOperation?: boolean;
}

/**
 * n8n evaluates this in the editor and in the engine as the text of an expression, so it must be
 * self-contained: no imports, no helpers from outside its body.
 */
export function configuredOutputs(parameters: MapperOutputParameters): Array<{ type: 'main'; displayName: MapperOutputName }> {
	const split = (parameters.operation ?? 'map') === 'map' && parameters.splitByOperation === true;
	const names: MapperOutputName[] = split ? ['Create', 'Update', 'Delete', 'Invalid'] : ['Mapped', 'Invalid'];
	return names.map((displayName) => ({ type: 'main', displayName }));
}

export const OUTPUTS_EXPRESSION = `={{(${configuredOutputs.toString()})($parameter)}}` as const;
