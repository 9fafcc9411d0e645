import { OptionsError } from '../errors';
import type { Reviewer, ReviewerVerdict } from '../types';
import { compilePolicy, isCompiledPolicy, type CompiledPolicy } from './compile-policy';
import { evaluatePolicy } from './evaluate-policy';
import { loadPolicySync } from './load-policy';
import { memoryPolicyState, type PolicyStateStore } from './memory-policy-state';
import { parsePolicy } from './parse-policy';
import type { Policy, PolicyDefinition } from './schema';

export interface PolicyReviewerOptions {
  /** Counters for limit/budget/repeat rules. Default: a fresh `memoryPolicyState()` per reviewer. */
  state?: PolicyStateStore;
  /** Clock (epoch ms) for schedules and windows. Default `Date.now`. */
  now?: () => number;
  /** Reviewer name (logs, chain names). Default `policy`. */
  name?: string;
}

/**
 * A reviewer that decides locally from a declarative policy: a policy object (written inline,
 * `version` optional, rules identified by `id` or `name`), a compiled policy, or a path to a
 * JSON/YAML file (read synchronously, once, here). Invalid policies throw
 * `PolicyError` at construction. When no rule matches and the policy has no default, the reviewer
 * abstains (`{ verdict: 'deny', abstain: true }`) so `chainReviewers` moves on. A dry run
 * (`gate.canI`) evaluates without committing counters.
 *
 * @example
 * const gate = createGate({
 *   reviewer: chainReviewers([policyReviewer('./policy.yaml'), httpReviewer({ url, apiKey })]),
 *   highStakes: ['transfer', 'shell', 'db.*'],
 * });
 */
export function policyReviewer(policy: Policy | PolicyDefinition | CompiledPolicy | string, options: PolicyReviewerOptions = {}): Reviewer {
  if (typeof options !== 'object' || options === null) throw new OptionsError('policyReviewer options must be an object');
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new OptionsError('policyReviewer: now must be a function returning epoch milliseconds, e.g. () => Date.now()');
  }
  const state = options.state;
  if (state !== undefined && (typeof state.count !== 'function' || typeof state.sum !== 'function' || typeof state.add !== 'function')) {
    throw new OptionsError('policyReviewer: state must implement count(key, sinceMs), sum(key, sinceMs) and add(key, atMs, amount, windowMs)');
  }
  let compiled: CompiledPolicy;
  if (typeof policy === 'string') compiled = compilePolicy(loadPolicySync(policy));
  else if (isCompiledPolicy(policy)) compiled = policy;
  else compiled = compilePolicy(parsePolicy(policy));
  const store = state ?? (compiled.stateful ? memoryPolicyState() : undefined);
  const now = options.now ?? Date.now;

  const review: Reviewer['review'] = async (request) => {
    const result = evaluatePolicy(
      compiled,
      {
        tool: request.call.tool,
        args: request.call.args,
        agent: request.agent,
        context: request.context,
        digest: request.digest,
      },
      { state: store, now: now(), dryRun: request.dryRun === true },
    );
    const answer: ReviewerVerdict = {
      verdict: result.verdict ?? 'deny',
      reason: result.reason,
      conditions: result.conditions,
      evaluated: result.evaluated,
      decidedBy: 'policy',
    };
    if (result.verdict === null) answer.abstain = true;
    if (result.approvals !== undefined) answer.approvals = result.approvals;
    return answer;
  };
  const reviewer = { name: options.name ?? 'policy' } as Reviewer;
  // The gate shares its parsed args with this reviewer and sets no deadline timer for it (it answers
  // within its call). That holds for this object and this review only: a copy (`{ ...reviewer }`),
  // an object inheriting from it, or a proxy is not marked, and `review` cannot be replaced on it
  // (a wrapper that changes the args or awaits something must not inherit either shortcut).
  Object.defineProperty(reviewer, 'review', {
    enumerable: true,
    configurable: false,
    get: () => review,
    set(this: object, value: unknown) {
      if (this === reviewer) {
        throw new OptionsError('policyReviewer: its review cannot be replaced; wrap it instead: { name, review: (request, options) => policy.review(request, options) }');
      }
      // An object inheriting from it overrides review for itself (it is not marked intact).
      Object.defineProperty(this, 'review', { value, writable: true, enumerable: true, configurable: true });
    },
  });
  INTACT.add(reviewer);
  return reviewer;
}

/**
 * The reviewers made by `policyReviewer` (these very objects): each reads the request during
 * `review()` and neither changes it nor keeps it, and answers within its call, so a gate may record
 * the same parsed copy of the arguments it handed the reviewer and skip the deadline timer.
 */
const INTACT = new WeakSet<object>();

/** @internal */
export function leavesRequestIntact(reviewer: Reviewer): boolean {
  return INTACT.has(reviewer);
}
