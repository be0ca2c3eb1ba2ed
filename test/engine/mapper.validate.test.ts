import { validateRuleSet, type ValidationProblem } from '../../nodes/engine/mapper';

function codes(problems: ValidationProblem[]): Array<[string, string, number | null]> {
	return problems.map((problem) => [problem.severity, problem.code, problem.ruleNumber]);
}

describe('Validate', () => {
	it('passes a rule set that maps every sample cleanly, both ways', () => {
		const report = validateRuleSet(
			{ rules: [{ source: 'Customer_ID', target: 'ClientID', type: 'integer', sourceType: 'string', required: true }] },
			[{ Customer_ID: '1' }, { Customer_ID: '2' }],
			{ direction: 'aToB' },
		);
		expect(report).toEqual({ valid: true, direction: 'aToB', rules: 1, samples: 2, invalidSamples: 0, errors: 0, warnings: 0, problems: [] });
	});

	it('reports type mismatches with how many samples show them, which ones, and example values', () => {
		const report = validateRuleSet({ rules: [{ source: 'age', target: 'age', type: 'integer' }] }, [{ age: 'ten' }, { age: 4 }, { age: '4.5' }, { age: 'ten' }], {
			direction: 'aToB',
		});
		expect(report.valid).toBe(false);
		expect(report.invalidSamples).toBe(3);
		// One entry per rule and kind of problem; the message is the first sample's, the examples show the rest.
		expect(report.problems).toEqual([
			{ severity: 'error', code: 'type', ruleNumber: 1, rule: 'age → age', field: 'age', message: '"ten" is not a number', count: 3, items: [0, 2, 3], examples: ['ten', '4.5'] },
		]);
	});

	it('reports source fields missing from the samples, and says when a field is never there', () => {
		const report = validateRuleSet({ rules: [{ source: 'email', target: 'mail' }, { source: 'emial', target: 'x' }] }, [{ email: 'a@b.c' }, {}], { direction: 'aToB' });
		expect(report.valid).toBe(true);
		expect(report.problems.map((problem) => problem.message)).toEqual([
			'"email" is missing in 1 of 2 samples',
			'"emial" is missing in all 2 samples; check the field name',
		]);
	});

	it('reports required fields that are missing as errors', () => {
		const report = validateRuleSet({ rules: [{ source: 'email', target: 'mail', required: true }] }, [{}, { email: 'a@b.c' }], { direction: 'aToB' });
		expect(codes(report.problems)).toEqual([
			['error', 'required', 1],
			['warning', 'missingSource', 1],
		]);
	});

	it('does not require fields of a delete', () => {
		const report = validateRuleSet({ rules: [{ source: 'email', target: 'mail', required: true }] }, [{ id: 1 }], { direction: 'aToB', skipRequired: () => true });
		expect(report.errors).toBe(0);
	});

	it('lists values that are not in a value map', () => {
		const report = validateRuleSet(
			{ rules: [{ source: 'status', target: 'state', transforms: [{ type: 'valueMap', map: { Active: 'A' } }] }] },
			[{ status: 'Active' }, { status: 'Paused' }, { status: 'Gone' }, { status: 'Paused' }],
			{ direction: 'aToB' },
		);
		const problem = report.problems.find((entry) => entry.code === 'notInValueMap');
		expect(problem).toEqual(expect.objectContaining({ severity: 'warning', count: 3, items: [1, 2, 3], examples: ['Paused', 'Gone'] }));
	});

	it('reports rules that cannot be inverted: a warning from A to B, an error from B to A', () => {
		const rules = {
			rules: [
				{ source: 'a', target: 'b', transforms: [{ type: 'expression', expression: '$json.a' }] },
				{ source: 's', target: 't', transforms: [{ type: 'valueMap', map: { x: '1', y: '1' } }] },
				{ target: 'origin', direction: 'aToB', transforms: [{ type: 'default', value: 'crm' }] },
			],
		};
		const forward = validateRuleSet(rules, [], { direction: 'aToB', evaluate: () => 1 });
		expect(codes(forward.problems)).toEqual([
			['warning', 'notInvertible', 1],
			['warning', 'notInvertible', 2],
		]);
		expect(forward.problems[0].message).toBe('It cannot be applied from B to A: its expression has no inverse expression. Give it an inverse, or set its direction to "A to B only".');
		const backward = validateRuleSet(rules, [], { direction: 'bToA' });
		expect(backward.valid).toBe(false);
		expect(codes(backward.problems)).toEqual([
			['error', 'notInvertible', 1],
			['error', 'notInvertible', 2],
		]);
	});

	it('points out what a defaulting value map loses on the way back', () => {
		const report = validateRuleSet({ rules: [{ source: 's', target: 't', transforms: [{ type: 'valueMap', map: { a: 'A' }, fallback: 'default', default: '?' }] }] }, [], {
			direction: 'aToB',
		});
		expect(report.problems).toEqual([
			expect.objectContaining({ severity: 'warning', code: 'lossyInverse', message: 'From B to A, values outside its value map become "?"; from B to A such values are kept as they are' }),
		]);
	});

	it('shows fields that do not survive the way there and back', () => {
		const report = validateRuleSet({ rules: [{ source: 'name', target: 'name', transforms: [{ type: 'trim' }] }, { source: 'n', target: 'n', type: 'number', sourceType: 'string' }] }, [{ name: ' Ada ', n: '1.50' }, { name: 'Bob', n: '2' }], {
			direction: 'aToB',
		});
		expect(report.valid).toBe(true);
		expect(report.problems.map((problem) => [problem.code, problem.field, problem.message, problem.items])).toEqual([
			['roundTrip', 'name', 'Mapping there and back changes " Ada " into "Ada"', [0]],
			['roundTrip', 'n', 'Mapping there and back changes "1.50" into "1.5"', [0]],
		]);
	});

	it('reports a broken rule and still checks the others against the samples', () => {
		const report = validateRuleSet({ rules: [{ source: '__proto__', target: 'x' }, { source: 'age', target: 'age', type: 'number' }] }, [{ age: 'old' }], { direction: 'aToB' });
		expect(codes(report.problems)).toEqual([
			['error', 'ruleSet', 1],
			['error', 'type', 2],
		]);
	});

	it('reports conflicting targets of the chosen direction as errors, and of the other as warnings', () => {
		const report = validateRuleSet({ rules: [{ source: 'name', target: 'first' }, { source: 'name', target: 'display' }] }, [], { direction: 'aToB' });
		expect(report.valid).toBe(true);
		expect(report.problems).toEqual([expect.objectContaining({ severity: 'warning', code: 'ruleSet', ruleNumber: 2, message: expect.stringMatching(/^From B to A: It writes "name"/) })]);
	});

	it('counts a sample it rejects up front (e.g. from the wrong system) as invalid', () => {
		const report = validateRuleSet({ rules: [{ source: 'a', target: 'b' }] }, [{ a: 1 }, { a: 2 }], {
			direction: 'aToB',
			rejectSample: (itemIndex) => (itemIndex === 1 ? { field: '_sync.system', value: 'erp', message: 'Samples come from "erp", but this node maps from "crm"' } : undefined),
		});
		expect(report.invalidSamples).toBe(1);
		expect(report.problems).toEqual([expect.objectContaining({ severity: 'error', code: 'system', items: [1], examples: ['erp'] })]);
	});
});
