import { OptionsError } from '../errors';
import type { AgentInfo, CallContext, EvaluatedCheck, Verdict } from '../types';
import { conditionHolds } from './conditions';
import { policyInternals, VERDICT_RANK, type CompiledCounter, type CompiledPolicy, type CompiledRule } from './compile-policy';
import { readField } from './field-path';
import type { PolicyStateStore } from './memory-policy-state';
import { formatMinuteOfWeek, localMinuteOfWeek, withinSchedule } from './schedule';
import type { PolicyScope } from './schema';
import { showActual, shownActual } from './show-value';

/** The call a policy is evaluated against. */
export interface PolicyInput {
  tool: string;
  args: unknown;
  agent?: AgentInfo | undefined;
  context?: CallContext | undefined;
  /** `sha256:<hex>` of the call (see `callDigest`); keys `repeat` loop detection. */
  digest: string;
  /**
   * Who the call is made for, as established by the caller, not claimed by the agent: e.g. the
   * id of the API key a review server authenticated. When set, counters kept `per: agent` or
   * `per: agent_tool` (limits, budgets, repeats) are kept per principal instead of per
   * `agent.id`, so renaming the agent per call cannot reset them. `agents` globs still match the
   * claimed `agent.id`.
   */
  principal?: string | undefined;
}

/** What a policy decided. */
export interface PolicyResult {
  /** `null`: no rule matched and the policy has no default (a reviewer then abstains). */
  verdict: Verdict | null;
  /**
   * The deciding rule's check texts (or its `reason`), then `; also …` for each other matching rule
   * that is not a plain allow (those are only in `matchedRules`).
   */
  reason: string;
  /** Merged, de-duplicated conditions of the matching allow_with_conditions rules (only when that is the verdict). */
  conditions: string[];
  /**
   * The checks made, in order, so an agent can see why and self-correct: each rule's agent scope
   * and conditions up to the first that fails; the tool scope only for rules without conditions.
   * Bounded (see `maxEvaluated`): the checks that decided the outcome are always kept (the deciding
   * rule's, and those of every other matching rule named in the reason: the ones that are not a
   * plain allow); the checks of rules that did not match, and of other matching plain allows, are
   * kept while they fit, in policy order, and the rest only counted in `evaluatedOmitted`.
   */
  evaluated: EvaluatedCheck[];
  /** Checks of non-matching rules left out of `evaluated` by the bound (absent when none were). */
  evaluatedOmitted?: number;
  /** Ids of the matching rules, the deciding rule first, then the others in policy order. */
  matchedRules: string[];
  /**
   * On a `review` verdict whose matching review rules set `approvals` or `approverGroups`: how many
   * distinct approvers must approve, and (optionally) the groups they must belong to. Of several
   * matching review rules, the one requiring the most approvals decides (the first on a tie).
   */
  approvals?: { required: number; groups?: string[] };
}

export interface EvaluatePolicyOptions {
  /** Counters for `limit`, `budget`, `repeat`. Required when such a rule applies to the call. */
  state?: PolicyStateStore | undefined;
  /** Epoch ms to evaluate at (schedules and windows). Default `Date.now()`. */
  now?: number | undefined;
  /** Evaluate only: commit nothing to `state`. */
  dryRun?: boolean | undefined;
  /**
   * Past this many entries, `evaluated` keeps only the checks that decided the outcome (see
   * `PolicyResult.evaluated`; a rule's checks are kept or left out together). Default
   * `DEFAULT_MAX_EVALUATED` (64); `Infinity` keeps every check.
   */
  maxEvaluated?: number | undefined;
}

/** Default bound of `evaluated[]` for the checks of rules that did not match. */
export const DEFAULT_MAX_EVALUATED = 64;

interface Commit {
  key: string;
  amount: number;
  windowMs: number;
  /** repeat entries are recorded whatever the verdict; limit/budget only when the call may run. */
  always: boolean;
}

const ALLOW_RANK = VERDICT_RANK.allow;

/** Marks a field not read yet in an evaluation's read cache. */
const UNREAD: unique symbol = Symbol('unread');

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
  // Counters key on the trusted principal when there is one, else on the claimed agent id (built
  // only when a stateful rule needs it).
  let who: string | undefined;
  // Arguments that arrive as a JSON text (as frameworks send them) are read as what they encode:
  // a rule on args.amount must see the amount, not skip a string.
  if (typeof input.args === 'string') input = { ...input, args: parseJsonArgs(input.args) };
  let now = options.now;
  let reads: unknown[] | undefined;
  let shownReads: unknown[] | undefined;
  // Matching rules as two integer arrays (no object per match): index in `rules`, and the end of
  // the rule's entries in `evaluated`. `best` indexes them.
  let matchAt: number[] | undefined;
  let matchEnd: number[] | undefined;
  let best = -1;
  let bestRank = -1;
  let commits: Commit[] | undefined;
  // The bound: past it, the checks of a rule that does not match (or of a plain allow that cannot
  // decide) are cut off the end of `evaluated` right after the rule (so `matchEnd` offsets of the
  // rules before stay valid), and counted.
  const maxEvaluated = options.maxEvaluated ?? DEFAULT_MAX_EVALUATED;
  let omitted = 0;
  // Where the previous rule's checks start when it did not match (-1 after a match).
  let failedStart = -1;

  for (let r = 0; r < rules.length; r++) {
    if (failedStart >= 0 && evaluated.length > maxEvaluated) {
      omitted += evaluated.length - failedStart;
      while (evaluated.length > failedStart) evaluated.pop();
    }
    failedStart = evaluated.length;
    const rule = rules[r] as CompiledRule;
    const id = rule.id;
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
      // Each field is read once per evaluation: cheaper when rules test the same fields, and every
      // rule sees the same value even if reading has side effects (a getter, a Proxy).
      const slot = c.slot;
      let actual: unknown;
      // What `evaluated` reports, redacted (a secret field's value, credentials inside text) and
      // bounded: it and the reason built from it reach the audit, the server's database, its API
      // and webhooks. Computed once per field, like the read.
      let shown: unknown;
      if (slot < 0) {
        actual = readField(c.field, input);
        shown = c.reportsExistence ? actual !== undefined && actual !== null : shownActual(c.secret, actual, c.path);
      } else {
        actual = (reads ??= new Array<unknown>(p.fieldCount).fill(UNREAD))[slot];
        if (actual === UNREAD) {
          reads[slot] = actual = readField(c.field, input);
          (shownReads ??= new Array<unknown>(p.fieldCount))[slot] = shownActual(c.secret, actual, c.path);
        }
        shown = c.reportsExistence ? actual !== undefined && actual !== null : shownReads![slot];
      }
      const passed = conditionHolds(c, actual);
      if (!passed && evaluated.length >= maxEvaluated) {
        // Past the bound a rule that does not match keeps no checks: count them, and skip
        // allocating this one.
        omitted += evaluated.length - failedStart + 1;
        while (evaluated.length > failedStart) evaluated.pop();
        ok = false;
        break;
      }
      evaluated.push({
        rule: id,
        field: c.path,
        op: c.op,
        expected: c.expected,
        actual: shown,
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
      who ??= typeof input.principal === 'string' ? principalPart(input.principal) : agentPart(agentId);
      // Every counter of the rule is checked (no short-circuit) so each is recorded consistently.
      if (rule.repeat !== undefined) {
        const c = rule.repeat;
        const key = `${c.prefix}${scopeKey(c.per, who, input.tool)}:${input.digest}`;
        const seen = state.count(key, t - c.windowMs) + 1;
        const passed = seen > c.max;
        evaluated.push({ rule: id, field: c.label, op: 'gt', expected: c.max, actual: seen, passed });
        (commits ??= []).push({ key, amount: 1, windowMs: c.windowMs, always: true });
        ok = passed;
      }
      if (rule.limit !== undefined) {
        const c = rule.limit;
        const key = c.prefix + scopeKey(c.per, who, input.tool);
        const calls = state.count(key, t - c.windowMs) + 1;
        const passed = calls > c.max;
        evaluated.push({ rule: id, field: c.label, op: 'gt', expected: c.max, actual: calls, passed });
        (commits ??= []).push({ key, amount: 1, windowMs: c.windowMs, always: false });
        ok = ok && passed;
      }
      if (rule.budget !== undefined) {
        ok = budgetCheck(rule, rule.budget, input, who, state, t, evaluated, (commits ??= [])) && ok;
      }
      if (!ok) continue;
    }

    if (matchAt === undefined || matchEnd === undefined) {
      matchAt = [];
      matchEnd = [];
    }
    if (rule.rank > bestRank) {
      best = matchAt.length;
      bestRank = rule.rank;
    } else if (rule.rank === ALLOW_RANK && evaluated.length > maxEvaluated) {
      // Over the bound, a plain allow after an earlier match can neither decide (a later rule only
      // decides with a strictly higher rank) nor appear in the reason: its checks are counted.
      omitted += evaluated.length - failedStart;
      while (evaluated.length > failedStart) evaluated.pop();
    }
    matchAt.push(r);
    matchEnd.push(evaluated.length);
    failedStart = -1;
  }
  if (failedStart >= 0 && evaluated.length > maxEvaluated) {
    omitted += evaluated.length - failedStart;
    while (evaluated.length > failedStart) evaluated.pop();
  }

  let verdict: Verdict | null;
  let reason: string;
  let conditions: string[] = [];
  let matchedRules: string[] = [];
  if (matchAt !== undefined && matchEnd !== undefined) {
    const decider = rules[matchAt[best]!]!;
    verdict = decider.verdict;
    matchedRules = [decider.id];
    let text = describe(decider, evaluated, matchEnd[best]!, false);
    for (let k = 0; k < matchAt.length; k++) {
      if (k === best) continue;
      const rule = rules[matchAt[k]!]!;
      matchedRules.push(rule.id);
      // Another matching plain allow changes nothing (overridden, or the decider already allows):
      // it is in matchedRules and evaluated[], not in the reason. Rules that would still block the
      // call, or add conditions, are spelled out so an agent can fix everything at once.
      if (rule.rank > ALLOW_RANK) text += describe(rule, evaluated, matchEnd[k]!, true);
    }
    reason = text;
    if (verdict === 'allow_with_conditions') {
      const seen = new Set<string>();
      for (let k = 0; k < matchAt.length; k++) {
        const rule = rules[matchAt[k]!]!;
        if (rule.verdict === 'allow_with_conditions') for (const c of rule.conditions) seen.add(c);
      }
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
  const result: PolicyResult = { verdict, reason, conditions, evaluated, matchedRules };
  if (omitted > 0) result.evaluatedOmitted = omitted;
  if (verdict === 'review' && matchAt !== undefined) {
    let strictest: CompiledRule | undefined;
    for (let k = 0; k < matchAt.length; k++) {
      const rule = rules[matchAt[k]!]!;
      if (rule.verdict !== 'review' || (rule.approvals === undefined && rule.approverGroups === undefined)) continue;
      if (strictest === undefined || (rule.approvals ?? 1) > (strictest.approvals ?? 1)) strictest = rule;
    }
    if (strictest !== undefined) {
      result.approvals = { required: strictest.approvals ?? 1 };
      if (strictest.approverGroups !== undefined) result.approvals.groups = [...strictest.approverGroups];
    }
  }
  return result;
}

function budgetCheck(
  rule: CompiledRule,
  c: CompiledCounter,
  input: PolicyInput,
  who: string,
  state: PolicyStateStore,
  now: number,
  evaluated: EvaluatedCheck[],
  commits: Commit[],
): boolean {
  const raw = c.field === undefined ? undefined : readField(c.field, input);
  if (typeof raw !== 'number' || !Number.isFinite(raw)) {
    // No amount: the budget cannot be checked, and nothing is spent.
    evaluated.push({ rule: rule.id, field: c.label, op: 'gt', expected: c.max, actual: shownActual(c.secret === true, raw, c.field?.path ?? ''), passed: false });
    return false;
  }
  // Negative amounts never free budget.
  const amount = raw > 0 ? raw : 0;
  const key = c.prefix + scopeKey(c.per, who, input.tool);
  const total = state.sum(key, now - c.windowMs) + amount;
  const passed = total > c.max;
  evaluated.push({ rule: rule.id, field: c.label, op: 'gt', expected: c.max, actual: total, passed });
  commits.push({ key, amount, windowMs: c.windowMs, always: false });
  return passed;
}

const UNSAFE_KEY_PART = /[:%\s]/;
const keyPart = (s: string) => (UNSAFE_KEY_PART.test(s) ? encodeURIComponent(s) : s);

const agentPart = (agentId: string | undefined) => (agentId === undefined ? 'agent=-' : `agent=${keyPart(agentId)}`);
const principalPart = (principal: string) => `principal=${keyPart(principal)}`;

/**
 * `agent=a1` (or `principal=k1` when a trusted principal is given), `tool=transfer`,
 * `agent=a1,tool=transfer`, `global`. Calls without an agent share `agent=-`.
 */
function scopeKey(per: PolicyScope, who: string, tool: string): string {
  switch (per) {
    case 'agent':
      return who;
    case 'tool':
      return `tool=${keyPart(tool)}`;
    case 'agent_tool':
      return `${who},tool=${keyPart(tool)}`;
    default:
      return 'global';
  }
}

/** JSON text that encodes an object or array, parsed; anything else as it is. Never throws. */
function parseJsonArgs(text: string): unknown {
  const first = text.trimStart()[0];
  if (first !== '{' && first !== '[') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * `rule "large-transfer" (deny): args.amount gt 1000 (actual 5000)`, after `; also ` when `also`.
 * A matching rule recorded all its checks, in compile order, ending at `end`: they line up with
 * `rule.textParts`, so only the actual values are formatted here.
 */
function describe(rule: CompiledRule, evaluated: EvaluatedCheck[], end: number, also: boolean): string {
  if (rule.fixedReason !== undefined) return also ? rule.alsoFixedReason! : rule.fixedReason;
  const n = rule.checkCount;
  if (n === 0) return describeScope(rule, evaluated, end, also);
  const parts = rule.textParts;
  const first = end - n;
  let text = (also ? rule.alsoTextFirst : parts[0]!) + showActual(evaluated[first]!.actual);
  for (let i = 1; i < n; i++) text += parts[i]! + showActual(evaluated[first + i]!.actual);
  return `${text})`;
}

/** A rule without conditions matched on its tool and agent scope alone (or applies to every call). */
function describeScope(rule: CompiledRule, evaluated: EvaluatedCheck[], end: number, also: boolean): string {
  let text = also ? `; also ${rule.head}: ` : `${rule.head}: `;
  let k = end - (rule.recordsTool ? 1 : 0) - (rule.agents !== undefined ? 1 : 0);
  if (k === end) return `${text}applies to every call`;
  if (rule.recordsTool) text += `${rule.toolTextHead}${showActual(evaluated[k++]!.actual)})`;
  if (rule.agents !== undefined) text += `${rule.recordsTool ? ', ' : ''}${rule.agentTextHead}${showActual(evaluated[k]!.actual)})`;
  return text;
}
