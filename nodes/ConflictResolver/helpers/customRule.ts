import { ExpressionParser, NodeOperationError, type IExecuteFunctions } from 'n8n-workflow';

import type { CustomRuleEvaluator, CustomRuleRequest } from '../../engine/resolver';
import type { JsonValue } from '../../engine/types';

/**
 * A value as JavaScript source that survives n8n's template splitter: the JSON text goes in a
 * string literal with braces escaped, so a value such as "a}}b" cannot end the expression early.
 */
function literal(value: JsonValue | undefined): string {
	if (value === undefined) return 'undefined';
	const quoted = JSON.stringify(JSON.stringify(value)).replace(/[{}]/g, (brace) => (brace === '{' ? '\\u007b' : '\\u007d'));
	return `JSON.parse(${quoted})`;
}

/**
 * Rewrites each `{{ code }}` of the rule into a function of $local, $remote and $base called with
 * the pair's values, so n8n evaluates it with its own engine and sandbox (and the usual $json of
 * the X item). The text around the braces is kept.
 */
export function bindRuleValues(expression: string, request: Pick<CustomRuleRequest, 'local' | 'remote' | 'base'>): string {
	const source = expression.startsWith('=') ? expression.slice(1) : expression;
	const args = `${literal(request.local)}, ${literal(request.remote)}, ${literal(request.base)}`;
	const chunks = ExpressionParser.splitExpression(source).map((chunk) =>
		chunk.type === 'code' ? { ...chunk, text: ` (($local, $remote, $base) => (${chunk.text}\n))(${args}) ` } : chunk,
	);
	return ExpressionParser.joinExpression(chunks);
}

/** Turns what an expression returned into a JSON value for the record. */
function toJsonValue(result: unknown): JsonValue | undefined {
	if (result === undefined) return undefined;
	if (result === null || typeof result === 'string' || typeof result === 'boolean') return result;
	if (typeof result === 'number') return Number.isFinite(result) ? result : null;
	return JSON.parse(JSON.stringify(result)) as JsonValue;
}

export function customRuleEvaluator(ctx: IExecuteFunctions): CustomRuleEvaluator {
	return (request) => {
		const raw = request.expression;
		// A fixed text (not an expression) is the winning value itself.
		if (!raw.startsWith('=')) return raw;
		try {
			return toJsonValue(ctx.evaluateExpression(bindRuleValues(raw, request), request.xIndex));
		} catch (error) {
			throw new NodeOperationError(
				ctx.getNode(),
				`The custom rule for field "${request.field}" failed: ${error instanceof Error ? error.message : String(error)}`,
				{
					itemIndex: request.xIndex,
					description:
						'Check the expression under Field Rules. It sees $local (the value in System Y), $remote (the incoming value from System X), $base (the last synced value) and $json of the incoming item.',
				},
			);
		}
	};
}
