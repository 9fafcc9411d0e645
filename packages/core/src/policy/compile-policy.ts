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

/** @internal The parts of a rule read only when it is reported or merged; rules with the same ones share one. */
export interface RuleCold {
  readonly reason: string | undefined;
  readonly agents: ReadonlyArray<string> | undefined;
  readonly conditions: ReadonlyArray<string>;
  readonly tools: ReadonlyArray<string> | undefined;
  readonly matchesTool: (tool: string) => boolean;
  /** `review` rules: distinct approvers required (undefined: the rule did not say; 1). */
  readonly approvals: number | undefined;
  /** `review` rules: the approver groups that count. */
  readonly approverGroups: ReadonlyArray<string> | undefined;
}

/** @internal Constant texts of a rule's part of a reason, built the first time the rule is in one. */
export interface RuleTexts {
  /** `rule "id" (verdict)`: the start of this rule's part of a reason. */
  readonly head: string;
  /** `rule "id" (verdict): <reason>` when the rule has a `reason`. */
  readonly fixedReason: string | undefined;
  readonly alsoFixedReason: string | undefined;
  /**
   * The constant text around the actual values of a matching rule's checks, so a reason only
   * formats the actual values: `rule "x" (deny): args.amount gt 1000 (actual `, then
   * `), args.currency in ["EUR"] (actual ` per further check (empty without checks).
   */
  readonly textParts: ReadonlyArray<string>;
  /** `textParts[0]` after `; also `, for the rules listed after the deciding one. */
  readonly alsoTextFirst: string;
  /** Constant text starts of the tool and agent scope checks (for a rule without other checks). */
  readonly toolTextHead: string;
  readonly agentTextHead: string;
}

/**
 * @internal A compiled rule. Compact, because large policies hold tens of thousands and are
 * evaluated from memory rather than cache: the fields every evaluated rule reads are its own
 * (in the order they are read), the cold parts are shared among rules that have the same ones,
 * and the reason texts are built on first use.
 */
export interface CompiledRule extends RuleCold, RuleTexts {
  readonly id: string;
  /**
   * Record the tool scope in `evaluated`: only for a rule that has `tools` and no conditions, whose
   * scope is the whole reason it matched. Every evaluated rule already passed its tool scope
   * (rules are indexed by tool), so for other rules the entry would add nothing.
   */
  readonly recordsTool: boolean;
  readonly matchesAgent: ((agentId: string) => boolean) | undefined;
  readonly agents: ReadonlyArray<string> | undefined;
  /** The `when` conditions; each carries its field's read-cache slot. */
  readonly when: ReadonlyArray<CompiledCondition>;
  readonly schedule: CompiledSchedule | undefined;
  readonly stateful: boolean;
  readonly rank: number;
  readonly verdict: Verdict;
  readonly repeat: CompiledCounter | undefined;
  readonly limit: CompiledCounter | undefined;
  readonly budget: CompiledCounter | undefined;
  /** How many checks besides its scope a matching rule records (its conditions and counters). */
  readonly checkCount: number;
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
  const parts: SharedParts = { slots, matchers, conditions, fields: new Map(), colds: new Map() };
  const rules: CompiledRule[] = [];
  for (const rule of valid.rules) rules.push(compileRule(rule, parts));
  // Built in a function of its own: a closure here would keep this scope (the sharing maps and
  // their keys) alive as long as the policy.
  const candidates = candidateIndex(rules);
  const compiled: CompiledPolicy = Object.freeze(
    Object.defineProperties(
      { stateful: rules.some((r) => r.stateful), ruleIds: Object.freeze(rules.map((r) => r.id)) },
      { policy: { get: sourceOf(valid), enumerable: true } },
    ) as CompiledPolicy,
  );
  internals.set(compiled, {
    rules,
    candidates,
    defaultVerdict: valid.default,
    defaultConditions: valid.defaultConditions ?? [],
    fieldCount: slots.size,
  });
  return compiled;
}

/** Rules whose `tools` match a tool, in policy order, cached per tool name. */
function candidateIndex(rules: ReadonlyArray<CompiledRule>): (tool: string) => ReadonlyArray<CompiledRule> {
  if (rules.every((r) => r.tools === undefined)) return () => rules;
  const cache = new Map<string, ReadonlyArray<CompiledRule>>();
  return (tool: string) => {
    let hit = cache.get(tool);
    if (hit === undefined) {
      hit = rules.filter((r) => r.matchesTool(tool));
      if (cache.size >= MAX_CACHED_TOOLS) cache.clear();
      cache.set(tool, hit);
    }
    return hit;
  };
}

/** A cache slot for every `when` field path that more than one condition of the policy tests. */
function sharedFieldSlots(policy: Policy): Map<string, number> {
  const uses = new Map<string, number>();
  for (const rule of policy.rules) for (const c of rule.when ?? []) uses.set(c.field, (uses.get(c.field) ?? 0) + 1);
  const slots = new Map<string, number>();
  for (const [path, n] of uses) if (n > 1) slots.set(path, slots.size);
  return slots;
}

/** What the rules of one policy share as they are compiled. */
interface SharedParts {
  readonly slots: ReadonlyMap<string, number>;
  readonly matchers: Map<string, (name: string) => boolean>;
  readonly conditions: Map<string, CompiledCondition>;
  readonly fields: Map<string, CompiledField>;
  readonly colds: Map<string, RuleCold>;
}

type PolicyRuleDef = Policy['rules'][number];

function compileRule(rule: PolicyRuleDef, parts: SharedParts): CompiledRule {
  const sharedCondition = (c: NonNullable<PolicyRuleDef['when']>[number]): CompiledCondition => {
    let key: string | undefined;
    try {
      key = JSON.stringify([c.field, c.op, c.value, (c as { flags?: unknown }).flags], conditionKeyPart);
    } catch {
      key = undefined; // not JSON (the schema should not allow it): compile it on its own
    }
    let compiledCondition = key === undefined ? undefined : parts.conditions.get(key);
    if (compiledCondition === undefined) {
      compiledCondition = compileCondition(c, parts.fields, parts.slots.get(c.field) ?? -1);
      if (key !== undefined) parts.conditions.set(key, compiledCondition);
    }
    return compiledCondition;
  };
  const sharedMatcher = (names: ReadonlyArray<string>): ((name: string) => boolean) => {
    const key = names.join('\u0000');
    let m = parts.matchers.get(key);
    if (m === undefined) {
      m = nameMatcher(names);
      parts.matchers.set(key, m);
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
  const schedule = rule.schedule ? compileSchedule(rule.schedule) : undefined;
  const coldKey = JSON.stringify([rule.reason, rule.conditions, rule.tools, rule.agents, rule.approvals, rule.approverGroups]);
  let cold = parts.colds.get(coldKey);
  if (cold === undefined) {
    cold = {
      reason: rule.reason,
      agents: rule.agents,
      conditions: rule.conditions ?? EMPTY,
      tools: rule.tools,
      matchesTool: rule.tools ? sharedMatcher(rule.tools) : MATCH_ANY,
      approvals: rule.approvals,
      approverGroups: rule.approverGroups,
    };
    parts.colds.set(coldKey, cold);
  }
  return new Rule(rule, cold, rule.agents ? sharedMatcher(rule.agents) : undefined, when, schedule, repeat, limit, budget);
}

/** One shape for every compiled rule; the cold parts and the texts are read through the prototype. */
class Rule implements CompiledRule {
  readonly id: string;
  readonly recordsTool: boolean;
  readonly matchesAgent: ((agentId: string) => boolean) | undefined;
  readonly when: ReadonlyArray<CompiledCondition>;
  readonly schedule: CompiledSchedule | undefined;
  readonly stateful: boolean;
  readonly rank: number;
  readonly repeat: CompiledCounter | undefined;
  readonly limit: CompiledCounter | undefined;
  readonly budget: CompiledCounter | undefined;
  readonly cold: RuleCold;
  /** The reason texts, built the first time the rule is in a reason. */
  private texts: RuleTexts | undefined;

  constructor(
    rule: PolicyRuleDef,
    cold: RuleCold,
    matchesAgent: ((agentId: string) => boolean) | undefined,
    when: ReadonlyArray<CompiledCondition>,
    schedule: CompiledSchedule | undefined,
    repeat: CompiledCounter | undefined,
    limit: CompiledCounter | undefined,
    budget: CompiledCounter | undefined,
  ) {
    // Fields read for every evaluated rule come first, so a rule that fails its first check touches
    // one cache line of its object. What can be derived is derived on the prototype.
    this.id = rule.id;
    this.recordsTool = rule.tools !== undefined && when.length === 0 && schedule === undefined && repeat === undefined && limit === undefined && budget === undefined;
    this.matchesAgent = matchesAgent;
    this.when = when;
    this.schedule = schedule;
    this.stateful = repeat !== undefined || limit !== undefined || budget !== undefined;
    this.rank = VERDICT_RANK[rule.verdict];
    this.repeat = repeat;
    this.limit = limit;
    this.budget = budget;
    this.cold = cold;
    this.texts = undefined;
  }

  get verdict(): Verdict {
    return VERDICTS_BY_RANK[this.rank]!;
  }
  get checkCount(): number {
    return this.when.length + (this.schedule !== undefined ? 1 : 0) + (this.repeat !== undefined ? 1 : 0) + (this.limit !== undefined ? 1 : 0) + (this.budget !== undefined ? 1 : 0);
  }
  get agents(): ReadonlyArray<string> | undefined {
    return this.cold.agents;
  }
  get reason(): string | undefined {
    return this.cold.reason;
  }
  get conditions(): ReadonlyArray<string> {
    return this.cold.conditions;
  }
  get tools(): ReadonlyArray<string> | undefined {
    return this.cold.tools;
  }
  get matchesTool(): (tool: string) => boolean {
    return this.cold.matchesTool;
  }
  get approvals(): number | undefined {
    return this.cold.approvals;
  }
  get approverGroups(): ReadonlyArray<string> | undefined {
    return this.cold.approverGroups;
  }
  get head(): string {
    return (this.texts ??= this.buildTexts()).head;
  }
  get fixedReason(): string | undefined {
    return (this.texts ??= this.buildTexts()).fixedReason;
  }
  get alsoFixedReason(): string | undefined {
    return (this.texts ??= this.buildTexts()).alsoFixedReason;
  }
  get textParts(): ReadonlyArray<string> {
    return (this.texts ??= this.buildTexts()).textParts;
  }
  get alsoTextFirst(): string {
    return (this.texts ??= this.buildTexts()).alsoTextFirst;
  }
  get toolTextHead(): string {
    return (this.texts ??= this.buildTexts()).toolTextHead;
  }
  get agentTextHead(): string {
    return (this.texts ??= this.buildTexts()).agentTextHead;
  }

  private buildTexts(): RuleTexts {
    const heads = this.when.map((c) => c.textHead);
    const schedule = this.schedule;
    if (schedule !== undefined) heads.push(checkTextHead('schedule', schedule.outside ? 'outside' : 'within', schedule.label));
    for (const c of [this.repeat, this.limit, this.budget]) if (c !== undefined) heads.push(c.textHead);
    const head = `rule "${this.id}" (${this.verdict})`;
    const textParts = heads.length > 0 ? heads.map((h, i) => (i === 0 ? `${head}: ${h}` : `), ${h}`)) : EMPTY;
    const reason = this.cold.reason;
    const fixedReason = reason !== undefined ? `${head}: ${reason}` : undefined;
    const tools = this.cold.tools;
    return {
      head,
      fixedReason,
      alsoFixedReason: fixedReason !== undefined ? `; also ${fixedReason}` : undefined,
      textParts,
      alsoTextFirst: `; also ${textParts[0] ?? ''}`,
      // Only a rule without other checks spells out its scope (see describeScope).
      toolTextHead: heads.length === 0 && tools !== undefined ? checkTextHead('tool', 'glob', tools) : '',
      agentTextHead: heads.length === 0 && this.agents !== undefined ? checkTextHead('agent.id', 'glob', this.agents) : '',
    };
  }
}

const VERDICTS_BY_RANK: ReadonlyArray<Verdict> = ['allow', 'allow_with_conditions', 'review', 'deny'];

/**
 * `compiled.policy`: the validated policy, kept as its JSON text (a third of the objects' size)
 * and parsed again on each read, so a caller editing what it got cannot change what the compiled
 * rules say they were compiled from. A policy JSON cannot hold exactly is kept as it is.
 */
function sourceOf(valid: Policy): () => Policy {
  let text: string | undefined;
  try {
    text = JSON.stringify(valid);
    if (!sameJson(JSON.parse(text), valid)) text = undefined;
  } catch {
    text = undefined;
  }
  // Two functions: one closure capturing `valid` would keep the objects alive next to the text.
  return text === undefined ? keepObject(valid) : keepText(text);
}

function keepObject(valid: Policy): () => Policy {
  return () => valid;
}

function keepText(text: string): () => Policy {
  return () => JSON.parse(text) as Policy;
}

/** Structural equality of a JSON value and a validated policy value (own keys, no undefined members). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return !(typeof b === 'number' && Object.is(b, -0));
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ob = b as Record<string, unknown>;
  return ka.every((k) => Object.hasOwn(ob, k) && sameJson((a as Record<string, unknown>)[k], ob[k]));
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
