import { OptionsError } from '../errors';
import type { AgentInfo, CallContext, EvaluatedCheck, Verdict } from '../types';
import { conditionHolds } from './conditions';
import { policyInternals, type CompiledCounter, type CompiledPolicy, type CompiledRule } from './compile-policy';
import { readField } from './field-path';
import type { PolicyStateStore } from './memory-policy-state';
import { formatMinuteOfWeek, localMinuteOfWeek, withinSchedule } from './schedule';
import type { PolicyScope } from './schema';
import { checkTextTail } from './show-value';

/** The call a policy is evaluated against. */
export interface PolicyInput {
  tool: string;
  args: unknown;
  agent?: AgentInfo | undefined;
  context?: CallContext | undefined;
  /** `sha256:<hex>` of the call (see `callDigest`); keys `repeat` loop detection. */
  digest: string;
}

/** What a policy decided. */
export interface PolicyResult {
  /** `null`: no rule matched and the policy has no default (a reviewer then abstains). */
  verdict: Verdict | null;
  reason: string;
  /** Merged, de-duplicated conditions of the matching allow_with_conditions rules (only when that is the verdict). */
  conditions: string[];
  /**
   * The checks made, in order, so an agent can see why and self-correct: each rule's agent scope
   * and conditions up to the first that fails; the tool scope only for rules without conditions.
   */
  evaluated: EvaluatedCheck[];
  /** Ids of the matching rules, the deciding rule first, then the others in policy order. */
  matchedRules: string[];
}

export interface EvaluatePolicyOptions {
  /** Counters for `limit`, `budget`, `repeat`. Required when such a rule applies to the call. */
  state?: PolicyStateStore | undefined;
  /** Epoch ms to evaluate at (schedules and windows). Default `Date.now()`. */
  now?: number | undefined;
  /** Evaluate only: commit nothing to `state`. */
  dryRun?: boolean | undefined;
}

interface Match {
  rule: CompiledRule;
  from: number;
  to: number;
}

interface Commit {
  key: string;
  amount: number;
  windowMs: number;
  /** repeat entries are recorded whatever the verdict; limit/budget only when the call may run. */
  always: boolean;
}

/**
 * Evaluates a compiled policy against one call. Every rule whose `tools`/`agents` match and whose
 * conditions all hold matches; the most restrictive verdict among them wins (deny > review >
 * allow_with_conditions > allow). No match: the policy `default`, else `verdict: null`.
 *
 * Counters: `repeat` entries are recorded on every evaluation that reaches the check; `limit` and
 * `budget` entries only when the final verdict is allow or allow_with_conditions (a denied or
 * reviewed call spends nothing). `dryRun` records nothing. Synchronous and never throws for odd
 * input; throws `OptionsError` when a stateful rule applies and no `state` was given.
 *
 * @example
 * const result = evaluatePolicy(compiled, { tool: 'transfer', args: { amount: 5000 }, digest }, { state });
 * // → { verdict: 'review', reason: 'rule "large-transfer" (review): args.amount gt 1000 (actual 5000)', … }
 */
export function evaluatePolicy(compiled: CompiledPolicy, input: PolicyInput, options: EvaluatePolicyOptions = {}): PolicyResult {
  const p = policyInternals(compiled);
  if (p === undefined) throw new OptionsError('evaluatePolicy needs a policy from compilePolicy(policy)');
  const rules = p.candidates(input.tool);
  const evaluated: EvaluatedCheck[] = [];
  const agentId = input.agent?.id;
  let now = options.now;
  let matches: Match[] | undefined;
  let best: Match | undefined;
  let commits: Commit[] | undefined;

  for (let r = 0; r < rules.length; r++) {
    const rule = rules[r] as CompiledRule;
    const id = rule.id;
    const from = evaluated.length;
    if (rule.recordsTool) {
      evaluated.push({ rule: id, field: 'tool', op: 'glob', expected: rule.tools, actual: input.tool, passed: true });
    }
    if (rule.matchesAgent !== undefined) {
      const passed = typeof agentId === 'string' && rule.matchesAgent(agentId);
      evaluated.push({ rule: id, field: 'agent.id', op: 'glob', expected: rule.agents, actual: agentId, passed });
      if (!passed) continue;
    }
    let ok = true;
    const when = rule.when;
    for (let i = 0; i < when.length; i++) {
      const c = when[i]!;
      const actual = readField(c.field, input);
      const passed = conditionHolds(c, actual);
      evaluated.push({
        rule: id,
        field: c.field.path,
        op: c.op,
        expected: c.expected,
        actual: c.reportsExistence ? actual !== undefined && actual !== null : actual,
        passed,
      });
      if (!passed) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;

    const schedule = rule.schedule;
    if (schedule !== undefined) {
      now ??= Date.now();
      const minute = localMinuteOfWeek(schedule.tz, now);
      const passed = withinSchedule(schedule, minute) !== schedule.outside;
      evaluated.push({
        rule: id,
        field: 'schedule',
        op: schedule.outside ? 'outside' : 'within',
        expected: schedule.label,
        actual: formatMinuteOfWeek(minute),
        passed,
      });
      if (!passed) continue;
    }

    if (rule.stateful) {
      const state = options.state;
      if (state === undefined) {
        throw new OptionsError(
          `policy rule "${id}" uses limit/budget/repeat and needs a state store: pass { state: memoryPolicyState() } (policyReviewer does this for you)`,
        );
      }
      const t = (now ??= Date.now());
      // Every counter of the rule is checked (no short-circuit) so each is recorded consistently.
      if (rule.repeat !== undefined) {
        const c = rule.repeat;
        const key = `${c.prefix}${scopeKey(c.per, agentId, input.tool)}:${input.digest}`;
        const seen = state.count(key, t - c.windowMs) + 1;
        const passed = seen > c.max;
        evaluated.push({ rule: id, field: c.label, op: 'gt', expected: c.max, actual: seen, passed });
        (commits ??= []).push({ key, amount: 1, windowMs: c.windowMs, always: true });
        ok = passed;
      }
      if (rule.limit !== undefined) {
        const c = rule.limit;
        const key = c.prefix + scopeKey(c.per, agentId, input.tool);
        const calls = state.count(key, t - c.windowMs) + 1;
        const passed = calls > c.max;
        evaluated.push({ rule: id, field: c.label, op: 'gt', expected: c.max, actual: calls, passed });
        (commits ??= []).push({ key, amount: 1, windowMs: c.windowMs, always: false });
        ok = ok && passed;
      }
      if (rule.budget !== undefined) {
        ok = budgetCheck(rule, rule.budget, input, agentId, state, t, evaluated, (commits ??= [])) && ok;
      }
      if (!ok) continue;
    }

    const m: Match = { rule, from, to: evaluated.length };
    (matches ??= []).push(m);
    if (best === undefined || rule.rank > best.rule.rank) best = m;
  }

  let verdict: Verdict | null;
  let reason: string;
  let conditions: string[] = [];
  let matchedRules: string[] = [];
  if (best !== undefined && matches !== undefined) {
    verdict = best.rule.verdict;
    matchedRules = [best.rule.id];
    let text = describe(best, evaluated);
    for (const m of matches) {
      if (m === best) continue;
      matchedRules.push(m.rule.id);
      text += `; also ${describe(m, evaluated)}`;
    }
    reason = text;
    if (verdict === 'allow_with_conditions') {
      const seen = new Set<string>();
      for (const m of matches) if (m.rule.verdict === 'allow_with_conditions') for (const c of m.rule.conditions) seen.add(c);
      conditions = [...seen];
    }
  } else if (p.defaultVerdict !== undefined) {
    verdict = p.defaultVerdict;
    reason = `no rule matched; policy default ${verdict}`;
    if (verdict === 'allow_with_conditions') conditions = [...p.defaultConditions];
  } else {
    verdict = null;
    reason = 'no rule matched and the policy has no default';
  }

  if (commits !== undefined && options.dryRun !== true && options.state !== undefined) {
    const spend = verdict === 'allow' || verdict === 'allow_with_conditions';
    const t = now as number;
    for (const c of commits) if (c.always || spend) options.state.add(c.key, t, c.amount, c.windowMs);
  }
  return { verdict, reason, conditions, evaluated, matchedRules };
}

function budgetCheck(
  rule: CompiledRule,
  c: CompiledCounter,
  input: PolicyInput,
  agentId: string | undefined,
  state: PolicyStateStore,
  now: number,
  evaluated: EvaluatedCheck[],
  commits: Commit[],
): boolean {
  const raw = c.field === undefined ? undefined : readField(c.field, input);
  if (typeof raw !== 'number' || !Number.isFinite(raw)) {
    // No amount: the budget cannot be checked, and nothing is spent.
    evaluated.push({ rule: rule.id, field: c.label, op: 'gt', expected: c.max, actual: raw, passed: false });
    return false;
  }
  // Negative amounts never free budget.
  const amount = raw > 0 ? raw : 0;
  const key = c.prefix + scopeKey(c.per, agentId, input.tool);
  const total = state.sum(key, now - c.windowMs) + amount;
  const passed = total > c.max;
  evaluated.push({ rule: rule.id, field: c.label, op: 'gt', expected: c.max, actual: total, passed });
  commits.push({ key, amount, windowMs: c.windowMs, always: false });
  return passed;
}

const UNSAFE_KEY_PART = /[:%\s]/;
const keyPart = (s: string) => (UNSAFE_KEY_PART.test(s) ? encodeURIComponent(s) : s);

/** `agent=a1`, `tool=transfer`, `agent=a1,tool=transfer`, `global`. Calls without an agent share `agent=-`. */
function scopeKey(per: PolicyScope, agentId: string | undefined, tool: string): string {
  switch (per) {
    case 'agent':
      return agentId === undefined ? 'agent=-' : `agent=${keyPart(agentId)}`;
    case 'tool':
      return `tool=${keyPart(tool)}`;
    case 'agent_tool':
      return `${agentId === undefined ? 'agent=-' : `agent=${keyPart(agentId)}`},tool=${keyPart(tool)}`;
    default:
      return 'global';
  }
}

/**
 * `rule "large-transfer" (deny): args.amount gt 1000 (actual 5000)`. A matching rule recorded every
 * check it has, in compile order, so its texts line up with `rule.checkTextHeads`; only the actual
 * values are formatted here.
 */
function describe(m: Match, evaluated: EvaluatedCheck[]): string {
  const rule = m.rule;
  if (rule.fixedReason !== undefined) return rule.fixedReason;
  const heads = rule.checkTextHeads;
  const n = heads.length;
  if (n === 0) {
    // Scope only: the tool and agent scopes are why the rule matched.
    if (m.to === m.from) return `${rule.head}: applies to every call`;
    let text = `${rule.head}: `;
    let k = m.from;
    if (rule.recordsTool) text += rule.toolTextHead + checkTextTail(evaluated[k++]!.actual);
    if (rule.agents !== undefined) text += (k > m.from ? ', ' : '') + rule.agentTextHead + checkTextTail(evaluated[k]!.actual);
    return text;
  }
  const first = m.to - n;
  let text = `${rule.head}: ${heads[0]}${checkTextTail(evaluated[first]!.actual)}`;
  for (let i = 1; i < n; i++) text += `, ${heads[i]}${checkTextTail(evaluated[first + i]!.actual)}`;
  return text;
}
