import { z } from 'zod';
import { compileLinearPattern } from './linear-pattern';

/** Verdicts a rule (or the policy default) may give, from least to most restrictive. */
export const POLICY_VERDICTS = ['allow', 'allow_with_conditions', 'review', 'deny'] as const;

/** Condition operators. */
export const POLICY_OPS = ['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'in', 'nin', 'matches', 'contains', 'exists'] as const;

/** Scopes a `limit`, `budget` or `repeat` counter is kept per. */
export const POLICY_SCOPES = ['agent', 'tool', 'agent_tool', 'global'] as const;

/** Day names for `schedule.days`. */
export const POLICY_DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

export type PolicyOp = (typeof POLICY_OPS)[number];
export type PolicyScope = (typeof POLICY_SCOPES)[number];
export type PolicyDay = (typeof POLICY_DAYS)[number];

const NUMERIC_OPS: ReadonlySet<string> = new Set(['lt', 'lte', 'gt', 'gte']);
const OPS: ReadonlySet<string> = new Set(POLICY_OPS);

/** `tool`, `digest`, or `args|agent|context` optionally followed by `.segment`s (`args.items.0.sku`). */
export const FIELD_PATTERN = /^(?:tool|digest|(?:args|agent|context)(?:\.[^.\s]+)*)$/;

/** `HH:MM-HH:MM` (end may be `24:00`; a window may wrap midnight, e.g. `22:00-06:00`). */
export const HOURS_PATTERN = /^([01]?\d|2[0-3]):([0-5]\d)-(?:([01]?\d|2[0-3]):([0-5]\d)|(24):(00))$/;

/** An error message that says `required` when the key is missing, else `text`. */
const msg = (text: string) => ({ error: (issue: { input?: unknown }) => (issue.input === undefined ? 'required' : text) });
const oneOf = (list: ReadonlyArray<string>) => msg(`expected one of ${list.join(', ')}`);
const isObject = (payload: { value: unknown }) => typeof payload.value === 'object' && payload.value !== null;
const always = { when: isObject };

const fieldSchema = z
  .string(msg('expected a field path such as args.amount, agent.id, context.reversibility or tool'))
  .regex(FIELD_PATTERN, {
    error: 'expected a field path: tool, digest, or args./agent./context. followed by names or array indexes (e.g. args.items.0.sku)',
  });

const wholeNumber = (what: string) =>
  // A refine, not .int(): .int() aborts the whole parse, hiding the other problems.
  z.number(msg(`expected ${what} as a whole number`)).refine((n) => Number.isInteger(n), { error: `expected ${what} as a whole number` });

const windowMs = wholeNumber('a window in milliseconds').min(1, { error: 'windowMs must be at least 1' });

const scope = z.enum(POLICY_SCOPES, oneOf(POLICY_SCOPES)).optional();

const nameList = (what: string) =>
  z
    .array(z.string(msg(`expected a ${what} name or glob`)).min(1, { error: `empty ${what} name` }), msg(`expected a list of ${what} names or globs`))
    .min(1, { error: `empty list matches nothing; omit the key to match every ${what}` });

const ConditionSchema = z
  .strictObject({
    field: fieldSchema,
    op: z.enum(POLICY_OPS, oneOf(POLICY_OPS)),
    value: z.unknown().optional(),
    /** RegExp flags for `matches` (any of `imsu`). */
    flags: z.string().regex(/^[imsu]*$/, { error: 'regex flags may only be i, m, s and u' }).optional(),
  })
  .superRefine((c, ctx) => {
    // Runs even when other keys are invalid, so every problem is reported at once.
    if (!OPS.has(c.op)) return;
    const issue = (message: string, path: PropertyKey[] = ['value']) => ctx.addIssue({ code: 'custom', message, path });
    const v = c.value;
    if (c.flags !== undefined && c.op !== 'matches') issue('flags only apply to op matches', ['flags']);
    if (NUMERIC_OPS.has(c.op)) {
      if (typeof v !== 'number' || !Number.isFinite(v)) issue(`op ${c.op} needs a number value`);
    } else if (c.op === 'in' || c.op === 'nin') {
      if (!Array.isArray(v)) issue(`op ${c.op} needs a list value, e.g. [full, partial]`);
    } else if (c.op === 'matches') {
      // The pattern itself is compiled (for RE2) by the rule, so the message can name the rule.
      if (typeof v !== 'string') issue('op matches needs a RegExp source string, e.g. "rm\\\\s+-rf"');
    } else if (c.op === 'exists') {
      if (v !== undefined && typeof v !== 'boolean') issue('op exists takes true or false (default true)');
    } else if (v === undefined) {
      issue(`op ${c.op} needs a value`);
    }
  }, always);

function emptyWindow(hours: string): boolean {
  const m = HOURS_PATTERN.exec(hours);
  if (!m) return false;
  const start = Number(m[1]) * 60 + Number(m[2]);
  const end = m[5] !== undefined ? 24 * 60 : Number(m[3]) * 60 + Number(m[4]);
  return start === end;
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const ScheduleSchema = z
  .strictObject({
    days: z
      .array(z.enum(POLICY_DAYS, oneOf(POLICY_DAYS)), msg('expected a list of days such as [mon, tue]'))
      .min(1, { error: 'empty list matches no day; omit days to match every day' })
      .optional(),
    hours: z
      .string(msg('expected hours as "HH:MM-HH:MM"'))
      .regex(HOURS_PATTERN, { error: 'expected hours as "HH:MM-HH:MM" (24h clock, end may be 24:00), e.g. "09:00-17:00"' })
      .refine((h) => !emptyWindow(h), { error: 'start and end are equal: the window is empty; omit hours for all day' })
      .optional(),
    /** IANA time zone; default UTC. */
    tz: z
      .string(msg('expected an IANA time zone such as Europe/Berlin'))
      .refine(isTimeZone, { error: (i) => `unknown time zone "${String(i.input)}"; use an IANA name such as Europe/Berlin or UTC` })
      .optional(),
    /** true: the condition holds OUTSIDE the window. */
    outside: z.boolean(msg('expected true or false')).optional(),
  })
  .superRefine((s, ctx) => {
    if (s.days === undefined && s.hours === undefined) {
      ctx.addIssue({ code: 'custom', message: 'a schedule needs days, hours, or both', path: [] });
    }
  }, always);

const LimitSchema = z.strictObject({
  max: wholeNumber('max').min(0, { error: 'max must be 0 or more' }),
  windowMs,
  per: scope,
});

const BudgetSchema = z.strictObject({
  field: fieldSchema,
  max: z.number(msg('expected max as a number')).min(0, { error: 'max must be 0 or more' }),
  windowMs,
  per: scope,
});

const RepeatSchema = z.strictObject({
  max: wholeNumber('max').min(0, { error: 'max must be 0 or more' }),
  windowMs,
  per: scope,
});

const verdictSchema = z.enum(POLICY_VERDICTS, oneOf(POLICY_VERDICTS));
const VERDICTS: ReadonlySet<string> = new Set(POLICY_VERDICTS);

const conditionList = z
  .array(z.string(msg('expected a condition text')).min(1, { error: 'empty condition text' }), msg('expected a list of condition texts'))
  .min(1, { error: 'allow_with_conditions needs at least one condition' });

/**
 * Compiles every `matches` pattern of a rule for RE2 (linear time), so a pattern that needs
 * backtracking (lookaround, backreferences) is a load-time error that names the rule.
 */
function checkPatterns(r: { id?: unknown; name?: unknown; when?: unknown }, ctx: z.RefinementCtx): void {
  if (!Array.isArray(r.when)) return;
  const id = typeof r.id === 'string' ? r.id : typeof r.name === 'string' ? r.name : undefined;
  r.when.forEach((c: unknown, i) => {
    if (typeof c !== 'object' || c === null) return;
    const { op, value, flags } = c as { op?: unknown; value?: unknown; flags?: unknown };
    if (op !== 'matches' || typeof value !== 'string') return;
    if (flags !== undefined && (typeof flags !== 'string' || !/^[imsu]*$/.test(flags))) return;
    try {
      compileLinearPattern(value, flags);
    } catch (error) {
      const who = id !== undefined ? `rule "${id}": ` : '';
      ctx.addIssue({ code: 'custom', message: `${who}pattern ${JSON.stringify(value)}: ${(error as Error).message}`, path: ['when', i, 'value'] });
    }
  });
}

const RULE_ID_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;

/** A rule `name` used as its identifier: words people write, no control, bidi or quote characters. */
const RULE_NAME_PATTERN = /^[\p{L}\p{N}][\p{L}\p{N} _.,'()/-]{0,127}$/u;

const RuleSchema = z
  .strictObject({
    /** The rule's identifier (in reasons, `matchedRules`, counters). `name` is accepted instead. */
    // Checked in superRefine: an id equal to the rule's name (a validated policy, parsed again)
    // follows the name's looser pattern.
    id: z.string(msg('expected the rule id as text')).optional(),
    /** The rule's identifier, as other policy engines spell it; same as `id` (give one, or both equal). */
    name: z
      .string(msg('expected the rule name as text'))
      .regex(RULE_NAME_PATTERN, { error: 'rule names use letters, digits, spaces and _ . , \' ( ) / - (1-128 characters, starting with a letter or digit)' })
      .optional(),
    description: z.string(msg('expected a text')).optional(),
    tools: nameList('tool').optional(),
    agents: nameList('agent').optional(),
    when: z.array(ConditionSchema, msg('expected a list of conditions { field, op, value }')).optional(),
    schedule: ScheduleSchema.optional(),
    limit: LimitSchema.optional(),
    budget: BudgetSchema.optional(),
    repeat: RepeatSchema.optional(),
    verdict: verdictSchema,
    reason: z.string(msg('expected a text')).min(1, { error: 'empty reason; omit it to get a generated one' }).optional(),
    conditions: conditionList.optional(),
    /** `review` rules: how many distinct approvers (never the key that asked) must approve. Default 1. */
    approvals: wholeNumber('approvals').min(1, { error: 'approvals must be at least 1 (the number of distinct approvers)' }).optional(),
    /** `review` rules: only approver keys in one of these groups count toward `approvals`. */
    approverGroups: z
      .array(
        z.string(msg('expected a group name')).regex(/^[A-Za-z0-9_.:-]{1,64}$/, { error: 'group names use letters, digits, "_", "-", "." and ":" (1-64 characters)' }),
        msg('expected a list of approver group names'),
      )
      .min(1, { error: 'empty list: no approver could count; omit approverGroups to let any approver count' })
      .optional(),
  })
  .superRefine((r, ctx) => {
    checkPatterns(r, ctx);
    if (typeof r.id === 'string' && r.id !== r.name && !RULE_ID_PATTERN.test(r.id)) {
      ctx.addIssue({ code: 'custom', message: 'rule ids use letters, digits, "_", "-" and "." (1-128 characters)', path: ['id'] });
    }
    if (r.id === undefined && r.name === undefined) {
      ctx.addIssue({ code: 'custom', message: 'required (give the rule an id, or a name)', path: ['id'] });
    } else if (typeof r.id === 'string' && typeof r.name === 'string' && r.id !== r.name) {
      ctx.addIssue({
        code: 'custom',
        message: `id "${r.id}" and name "${r.name}" differ: both name the rule, give one (put a longer text in description)`,
        path: ['name'],
      });
    }
    if (!VERDICTS.has(r.verdict)) return;
    for (const key of ['approvals', 'approverGroups'] as const) {
      if (r[key] !== undefined && r.verdict !== 'review') {
        ctx.addIssue({
          code: 'custom',
          message: `${key} only applies to verdict review (this rule says ${r.verdict}): it says who must approve what a human reviews`,
          path: [key],
        });
      }
    }
    if (r.verdict === 'allow_with_conditions' && r.conditions === undefined) {
      ctx.addIssue({ code: 'custom', message: 'allow_with_conditions needs conditions: ["..."]', path: ['conditions'] });
    }
    if (r.verdict !== 'allow_with_conditions' && r.conditions !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `conditions only apply to verdict allow_with_conditions (this rule says ${r.verdict}); remove them or change the verdict`,
        path: ['conditions'],
      });
    }
  }, always)
  .transform(({ id, name, ...rest }) => ({ id: (id ?? name) as string, ...(name !== undefined ? { name } : {}), ...rest }));

/** The policy file format (version 1). See packages/core/docs/policy.md. */
export const PolicySchema = z
  .strictObject({
    /** The format version; optional (1, the only version, when omitted). */
    version: z.literal(1, { error: 'set version: 1 (the only policy format version), or leave it out' }).optional(),
    name: z.string(msg('expected a text')).optional(),
    description: z.string(msg('expected a text')).optional(),
    /** The verdict when no rule matches. Without it the policy abstains (a chain moves on). */
    default: verdictSchema.optional(),
    /** Conditions for `default: allow_with_conditions`. */
    defaultConditions: conditionList.optional(),
    rules: z.array(RuleSchema, msg('expected a list of rules')),
  })
  .superRefine((p, ctx) => {
    const seen = new Map<string, number>();
    const rules: unknown[] = Array.isArray(p.rules) ? p.rules : [];
    rules.forEach((rule, i) => {
      const r = rule as { id?: unknown; name?: unknown } | null;
      const id = r?.id ?? r?.name;
      if (typeof id !== 'string') return;
      const first = seen.get(id);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', message: `duplicate rule id "${id}" (also rules[${first}]); ids must be unique`, path: ['rules', i, 'id'] });
      } else seen.set(id, i);
    });
    if (p.default === 'allow_with_conditions' && p.defaultConditions === undefined) {
      ctx.addIssue({ code: 'custom', message: 'default allow_with_conditions needs defaultConditions: ["..."]', path: ['defaultConditions'] });
    }
    if (p.default !== 'allow_with_conditions' && p.defaultConditions !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'defaultConditions only apply to default: allow_with_conditions', path: ['defaultConditions'] });
    }
  }, always);

/** A validated policy: every rule has its `id` (taken from `name` when only that was given). */
export type Policy = z.infer<typeof PolicySchema>;
/**
 * A policy as written in code, before validation: `version` may be left out, and a rule may be
 * identified by `name` instead of `id`.
 *
 * @example
 * const inline: PolicyDefinition = {
 *   default: 'allow',
 *   rules: [{ name: 'large-transfers', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 1000 }], verdict: 'review' }],
 * };
 */
export type PolicyDefinition = z.input<typeof PolicySchema>;
/** One rule of a policy. */
export type PolicyRule = Policy['rules'][number];
/** One `when` condition of a rule. */
export type PolicyCondition = NonNullable<PolicyRule['when']>[number];
/** A rule's time window. */
export type PolicySchedule = NonNullable<PolicyRule['schedule']>;

/** The keys each level of the format knows, for "did you mean" hints. */
export const KEYS_BY_LEVEL: Readonly<Record<'policy' | 'rule' | 'condition' | 'schedule' | 'limit' | 'budget' | 'repeat', ReadonlyArray<string>>> = {
  policy: ['version', 'name', 'description', 'default', 'defaultConditions', 'rules'],
  rule: ['id', 'name', 'description', 'tools', 'agents', 'when', 'schedule', 'limit', 'budget', 'repeat', 'verdict', 'reason', 'conditions', 'approvals', 'approverGroups'],
  condition: ['field', 'op', 'value', 'flags'],
  schedule: ['days', 'hours', 'tz', 'outside'],
  limit: ['max', 'windowMs', 'per'],
  budget: ['field', 'max', 'windowMs', 'per'],
  repeat: ['max', 'windowMs', 'per'],
};

/** Every key the format knows. */
export const KNOWN_KEYS: ReadonlyArray<string> = [...new Set(Object.values(KEYS_BY_LEVEL).flat())];
