export { PolicySchema, POLICY_OPS, POLICY_VERDICTS, POLICY_SCOPES, POLICY_DAYS } from './schema';
export type { Policy, PolicyDefinition, PolicyRule, PolicyCondition, PolicySchedule, PolicyOp, PolicyScope, PolicyDay } from './schema';
export { parsePolicy, parsePolicyText } from './parse-policy';
export { loadPolicy, loadPolicySync } from './load-policy';
export { compilePolicy, isCompiledPolicy, type CompiledPolicy } from './compile-policy';
export { evaluatePolicy, type PolicyInput, type PolicyResult, type EvaluatePolicyOptions } from './evaluate-policy';
export { memoryPolicyState, type PolicyStateStore, type MemoryPolicyState } from './memory-policy-state';
export {
  evaluatePolicyShared,
  isSharedPolicyState,
  type SharedPolicyState,
  type PolicyCounterRead,
  type PolicyCounterWrite,
  type EvaluatePolicySharedOptions,
} from './shared-policy-state';
export { policyReviewer, type PolicyReviewerOptions } from './policy-reviewer';
