import { isSecretField } from '../audit/redact';
import { PolicyError } from '../errors';
import type { Verdict } from '../types';
import { compileCondition, type CompiledCondition } from './conditions';
import { compileField, type CompiledField } from './field-path';
import { globMatch } from './glob-match';
import { parsePolicy } from './parse-policy';
import { compileSchedule, type CompiledSchedule } from './schedule';
import type { Policy, PolicyDefinition, PolicyScope } from './schema';
import { checkTextHead } from './show-value';

/**
 * A policy compiled for evaluation: globs, RegExps and field paths are built once. Pure and
 * stateless (counters live in a `PolicyStateStore` passed to `evaluatePolicy`), so one compiled
 * policy can serve any number of gates or server requests.
 */
export interface CompiledPolicy {
  /** The validated policy this was compiled from. */
  readonly policy: Policy;
  /** True when a rule keeps counters (`limit`, `budget` or `repeat`): evaluation then needs a state store. */
  readonly stateful: boolean;
  /** Rule ids in policy order. */
  readonly ruleIds: ReadonlyArray<string>;
}

/** Severity: the most restrictive verdict wins (deny > review > allow_with_conditions > allow). */
export const VERDICT_RANK: Readonly<Record<Verdict, number>> = { allow: 0, allow_with_conditions: 1, review: 2, deny: 3 };

/** @internal A stateful check compiled once; `prefix` is the state key up to the scope. */
export interface CompiledCounter {
  readonly max: number;
  readonly windowMs: number;
  readonly per: PolicyScope;
  readonly prefix: string;
  /** Pseudo-field reported in `evaluated`, e.g. `limit(agent)`, `budget(args.amount)`, `repeat(digest)`. */
  readonly label: string;
  /** The budget's amount field. */
  readonly field?: CompiledField;
  /** The budget's field names a secret: a non-numeric value there is reported as `[REDACTED]`. */
  readonly secret?: boolean;
  /** Constant start of this check's text in a reason: `limit(agent) gt 5 (actual `. */
  readonly textHead: string;
}

/** @internal */
export interface CompiledRule {
  readonly id: string;
  readonly verdict: Verdict;
  readonly rank: number;
  readonly reason: string | undefined;
  readonly conditions: ReadonlyArray<string>;
  readonly tools: ReadonlyArray<string> | undefined;
  readonly matchesTool: (tool: string) => boolean;
  readonly agents: ReadonlyArray<string> | undefined;
  readonly matchesAgent: ((agentId: string) => boolean) | undefined;
  readonly when: ReadonlyArray<CompiledCondition>;
  /**
   * Per `when` condition, the slot of its field in the per-evaluation read cache, or -1 for a field
   * no other condition tests (read directly: no cache for a policy without shared fields).
   */
  readonly whenSlots: ReadonlyArray<number>;
  readonly schedule: CompiledSchedule | undefined;
  readonly repeat: CompiledCounter | undefined;
  readonly limit: CompiledCounter | undefined;
  readonly budget: CompiledCounter | undefined;
  readonly stateful: boolean;
  /** `rule "id" (verdict)`: the start of this rule's part of a reason. */
  readonly head: string;
  /** `rule "id" (verdict): <reason>` when the rule has a `reason`. */
  readonly fixedReason: string | undefined;
  /** Constant text starts of the tool and agent scope checks (for a rule without other checks). */
  readonly toolTextHead: string;
  readonly agentTextHead: string;
  /** How many checks besides its scope a matching rule records (its conditions and counters). */
  readonly checkCount: number;
  /**
   * The constant text around the actual values of a matching rule's checks, so a reason only
   * formats the actual values: `rule "x" (deny): args.amount gt 1000 (actual `, then
   * `), args.currency in ["EUR"] (actual ` per further check (empty without checks).
   */
  readonly textParts: ReadonlyArray<string>;
  /** `textParts[0]` and `fixedReason` after `; also `, for the rules listed after the deciding one. */
  readonly alsoTextFirst: string;
  readonly alsoFixedReason: string | undefined;
  /**
   * Record the tool scope in `evaluated`: only for a rule that has `tools` and no conditions, whose
   * scope is the whole reason it matched. Every evaluated rule already passed its tool scope
   * (rules are indexed by tool), so for other rules the entry would add nothing.
   */
  readonly recordsTool: boolean;
  /** `review` rules: distinct approvers required (undefined: the rule did not say; 1). */
  readonly approvals: number | undefined;
  /** `review` rules: the approver groups that count. */
  readonly approverGroups: ReadonlyArray<string> | undefined;
}

/** @internal */
export interface PolicyInternals {
  readonly rules: ReadonlyArray<CompiledRule>;
  /** Rules whose `tools` match this tool, in policy order (cached per tool name). */
  candidates(tool: string): ReadonlyArray<CompiledRule>;
  readonly defaultVerdict: Verdict | undefined;
  readonly defaultConditions: ReadonlyArray<string>;
  /** `when` field paths tested by more than one condition: each is read once per evaluation. */
  readonly fieldCount: number;
}

const internals = new WeakMap<CompiledPolicy, PolicyInternals>();
const MAX_CACHED_TOOLS = 4096;

/** @internal The compiled form behind a `CompiledPolicy`, or undefined for anything else. */
export function policyInternals(compiled: unknown): PolicyInternals | undefined {
  return typeof compiled === 'object' && compiled !== null ? internals.get(compiled as CompiledPolicy) : undefined;
}

/** True when `value` came from `compilePolicy`. */
export function isCompiledPolicy(value: unknown): value is CompiledPolicy {
  return policyInternals(value) !== undefined;
}

/**
 * Compiles a policy once for cheap evaluation. The policy is validated again (a hand-built object
 * typed as `Policy` may still be wrong), so this throws `PolicyError` on an invalid policy.
 *
 * @example
 * const compiled = compilePolicy(await loadPolicy('./policy.yaml'));
 * const result = evaluatePolicy(compiled, { tool: 'transfer', args: { amount: 50 }, digest }, { state });
 */
export function compilePolicy(policy: Policy | PolicyDefinition): CompiledPolicy {
  const valid = parsePolicy(policy);
  const slots = sharedFieldSlots(valid);
  // Rules naming the same tools (or agents) share one matcher: a Set and a closure per rule cost
  // ~300 B, and large policies repeat the same few names.
  const matchers = new Map<string, (name: string) => boolean>();
  // Identical conditions (same field, op, value, flags) share one compiled condition: stateless,
  // and ~900 B each (field path, tester, shown expected value, text head).
  const conditions = new Map<string, CompiledCondition>();
  const rules = valid.rules.map((rule) => compileRule(rule, slots, matchers, conditions));
  const wildcard = rules.every((r) => r.tools === undefined);
  const cache = new Map<string, ReadonlyArray<CompiledRule>>();
  const candidates = wildcard
    ? () => rules
    : (tool: string) => {
        let hit = cache.get(tool);
        if (hit === undefined) {
          hit = rules.filter((r) => r.matchesTool(tool));
          if (cache.size >= MAX_CACHED_TOOLS) cache.clear();
          cache.set(tool, hit);
        }
        return hit;
      };
  const compiled: CompiledPolicy = Object.freeze({
    policy: valid,
    stateful: rules.some((r) => r.stateful),
    ruleIds: Object.freeze(rules.map((r) => r.id)),
  });
  internals.set(compiled, {
    rules,
    candidates,
    defaultVerdict: valid.default,
    defaultConditions: valid.defaultConditions ?? [],
    fieldCount: slots.size,
  });
  return compiled;
}

/** A cache slot for every `when` field path that more than one condition of the policy tests. */
function sharedFieldSlots(policy: Policy): Map<string, number> {
  const uses = new Map<string, number>();
  for (const rule of policy.rules) for (const c of rule.when ?? []) uses.set(c.field, (uses.get(c.field) ?? 0) + 1);
  const slots = new Map<string, number>();
  for (const [path, n] of uses) if (n > 1) slots.set(path, slots.size);
  return slots;
}

function compileRule(
  rule: Policy['rules'][number],
  slots: ReadonlyMap<string, number>,
  matchers: Map<string, (name: string) => boolean>,
  conditions: Map<string, CompiledCondition>,
): CompiledRule {
  const sharedCondition = (c: NonNullable<Policy['rules'][number]['when']>[number]): CompiledCondition => {
    let key: string | undefined;
    try {
      key = JSON.stringify([c.field, c.op, c.value, (c as { flags?: unknown }).flags], conditionKeyPart);
    } catch {
      key = undefined; // not JSON (the schema should not allow it): compile it on its own
    }
    let compiledCondition = key === undefined ? undefined : conditions.get(key);
    if (compiledCondition === undefined) {
      compiledCondition = compileCondition(c);
      if (key !== undefined) conditions.set(key, compiledCondition);
    }
    return compiledCondition;
  };
  const sharedMatcher = (names: ReadonlyArray<string>): ((name: string) => boolean) => {
    const key = names.join('\u0000');
    let m = matchers.get(key);
    if (m === undefined) {
      m = nameMatcher(names);
      matchers.set(key, m);
    }
    return m;
  };
  const counter = (kind: string, spec: { max: number; windowMs: number; per?: PolicyScope | undefined }, label: string, field?: string): CompiledCounter => {
    const per = spec.per ?? 'agent';
    const c: CompiledCounter = {
      max: spec.max,
      windowMs: spec.windowMs,
      per,
      prefix: `${kind}:${rule.id}:`,
      label,
      ...(field !== undefined ? { field: compileField(field), secret: isSecretField(field) } : {}),
      textHead: checkTextHead(label, 'gt', spec.max),
    };
    return c;
  };
  const repeat = rule.repeat ? counter('repeat', rule.repeat, 'repeat(digest)') : undefined;
  const limit = rule.limit ? counter('limit', rule.limit, `limit(${rule.limit.per ?? 'agent'})`) : undefined;
  const budget = rule.budget ? counter('budget', rule.budget, `budget(${rule.budget.field})`, rule.budget.field) : undefined;
  let when: CompiledCondition[];
  try {
    when = rule.when !== undefined && rule.when.length > 0 ? rule.when.map(sharedCondition) : EMPTY;
  } catch (error) {
    // The schema already checks RegExps; this is a last line of defence.
    const issue = `rules.${rule.id}.when: ${(error as Error).message}`;
    throw new PolicyError(`invalid toolgate policy: ${issue}`, [issue], { cause: error });
  }
  const whenSlots = when.length > 0 ? when.map((c) => slots.get(c.field.path) ?? -1) : EMPTY;
  const schedule = rule.schedule ? compileSchedule(rule.schedule) : undefined;
  const checkTextHeads = when.map((c) => c.textHead);
  if (schedule !== undefined) checkTextHeads.push(checkTextHead('schedule', schedule.outside ? 'outside' : 'within', schedule.label));
  for (const c of [repeat, limit, budget]) if (c !== undefined) checkTextHeads.push(c.textHead);
  const head = `rule "${rule.id}" (${rule.verdict})`;
  const textParts = checkTextHeads.length > 0 ? checkTextHeads.map((h, i) => (i === 0 ? `${head}: ${h}` : `), ${h}`)) : EMPTY;
  const fixedReason = rule.reason !== undefined ? `${head}: ${rule.reason}` : undefined;
  // Fields read for every evaluated rule come first, so a rule that fails its first check touches
  // one or two cache lines of its object (large policies are evaluated from memory, not cache).
  return {
    id: rule.id,
    recordsTool: rule.tools !== undefined && checkTextHeads.length === 0,
    matchesAgent: rule.agents ? sharedMatcher(rule.agents) : undefined,
    when,
    whenSlots,
    schedule,
    stateful: repeat !== undefined || limit !== undefined || budget !== undefined,
    rank: VERDICT_RANK[rule.verdict],
    verdict: rule.verdict,
    reason: rule.reason,
    conditions: rule.conditions ?? EMPTY,
    tools: rule.tools,
    matchesTool: rule.tools ? sharedMatcher(rule.tools) : MATCH_ANY,
    agents: rule.agents,
    repeat,
    limit,
    budget,
    head,
    fixedReason,
    // Only a rule without other checks spells out its scope (see describeScope).
    toolTextHead: checkTextHeads.length === 0 && rule.tools !== undefined ? checkTextHead('tool', 'glob', rule.tools) : '',
    agentTextHead: checkTextHeads.length === 0 && rule.agents !== undefined ? checkTextHead('agent.id', 'glob', rule.agents) : '',
    checkCount: checkTextHeads.length,
    textParts,
    alsoTextFirst: `; also ${textParts[0] ?? ''}`,
    alsoFixedReason: fixedReason !== undefined ? `; also ${fixedReason}` : undefined,
    approvals: rule.approvals,
    approverGroups: rule.approverGroups,
  };
}

const MATCH_ANY = (): boolean => true;
/** The one empty list compiled rules share (never mutated: the fields are readonly). */
const EMPTY = Object.freeze([]) as unknown as never[];

/** JSON for a condition's sharing key, keeping apart what JSON would merge (-0 and 0, undefined and null). */
function conditionKeyPart(_key: string, v: unknown): unknown {
  if (v === undefined) return '\u0000undefined';
  if (typeof v === 'number' && Object.is(v, -0)) return '\u0000-0';
  return v;
}

/** Exact names go in a Set; globs (`*`, `?`) are matched by `globMatch` (never a backtracking RegExp). */
function nameMatcher(names: ReadonlyArray<string>): (name: string) => boolean {
  const exact = new Set<string>();
  const globs: string[] = [];
  for (const n of names) {
    if (n.includes('*') || n.includes('?')) globs.push(n);
    else exact.add(n);
  }
  if (globs.length === 0) return (name) => exact.has(name);
  return (name) => {
    if (exact.has(name)) return true;
    for (let i = 0; i < globs.length; i++) if (globMatch(globs[i]!, name)) return true;
    return false;
  };
}
