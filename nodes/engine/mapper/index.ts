/** The Field Mapper's engine: rule sets, their inversion, compiled mapping and validation. No n8n imports. */
export { compileMapper, createMapper, describeProblems } from './compile';
export type { FieldError, MapOptions, Mapper, MapperOptions, MapResult, MappingNote } from './compile';
export { directRule, inversionNotes, inversionProblems, ruleApplies } from './invert';
export type { DirectedRule } from './invert';
export { compileGetter, compileSetter, parsePath, pathText, PathError } from './paths';
export type { Getter, Setter } from './paths';
export { exportRuleSet, parseRuleSet, ruleLabel, RULE_SET_VERSION } from './ruleSet';
export type { MapDirection, MappingRule, RuleDirection, RuleProblem, RuleSet, Transform, ValueType } from './ruleSet';
export type { ExpressionContext, ExpressionEvaluator, FieldErrorCode } from './steps';
export { validateRules, validateRuleSet } from './validate';
export type { ValidationProblem, ValidationReport } from './validate';
