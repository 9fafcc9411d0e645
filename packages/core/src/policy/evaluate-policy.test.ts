import { describe, expect, it } from 'vitest';
import { OptionsError } from '../errors';
import { callDigest } from '../digest/call-digest';
import type { AgentInfo, CallContext } from '../types';
import { compilePolicy } from './compile-policy';
import { evaluatePolicy, type PolicyInput } from './evaluate-policy';
import { parsePolicy } from './parse-policy';

function compile(rules: unknown[], extra: Record<string, unknown> = {}) {
  return compilePolicy(parsePolicy({ version: 1, rules, ...extra }));
}

function call(tool: string, args: unknown, more: { agent?: AgentInfo; context?: CallContext } = {}): PolicyInput {
  let digest = 'sha256:not-json';
  try {
    digest = callDigest(tool, args);
  } catch {
    // NaN or a throwing getter: not JSON, but the policy must still evaluate without throwing.
  }
  return { tool, args, digest, ...more };
}

/** Evaluates one condition against `args` (tool "t"): did the rule match? */
function holds(condition: Record<string, unknown>, args: unknown, more: { agent?: AgentInfo; context?: CallContext } = {}): boolean {
  const compiled = compile([{ id: 'c', when: [condition], verdict: 'deny' }]);
  return evaluatePolicy(compiled, call('t', args, more)).verdict === 'deny';
}

describe('evaluatePolicy: ops', () => {
  it('eq / ne, for scalars and structures', () => {
    expect(holds({ field: 'args.a', op: 'eq', value: 1 }, { a: 1 })).toBe(true);
    expect(holds({ field: 'args.a', op: 'eq', value: 1 }, { a: '1' })).toBe(false);
    expect(holds({ field: 'args.a', op: 'eq', value: { x: [1, 2] } }, { a: { x: [1, 2] } })).toBe(true);
    expect(holds({ field: 'args.a', op: 'eq', value: { x: [1, 2] } }, { a: { x: [2, 1] } })).toBe(false);
    expect(holds({ field: 'args.a', op: 'eq', value: null }, { a: null })).toBe(true);
    expect(holds({ field: 'args.a', op: 'ne', value: 'prod' }, { a: 'dev' })).toBe(true);
    expect(holds({ field: 'args.a', op: 'ne', value: 'prod' }, { a: 'prod' })).toBe(false);
    expect(holds({ field: 'args.a', op: 'ne', value: 'prod' }, {})).toBe(true);
  });

  it('lt / lte / gt / gte on numbers; non-numbers fail without throwing', () => {
    expect(holds({ field: 'args.n', op: 'lt', value: 10 }, { n: 9 })).toBe(true);
    expect(holds({ field: 'args.n', op: 'lt', value: 10 }, { n: 10 })).toBe(false);
    expect(holds({ field: 'args.n', op: 'lte', value: 10 }, { n: 10 })).toBe(true);
    expect(holds({ field: 'args.n', op: 'gt', value: 10 }, { n: 11 })).toBe(true);
    expect(holds({ field: 'args.n', op: 'gt', value: 10 }, { n: 10 })).toBe(false);
    expect(holds({ field: 'args.n', op: 'gte', value: 10 }, { n: 10 })).toBe(true);
    for (const n of ['11', null, undefined, { v: 11 }, [11], true, Number.NaN]) {
      expect(holds({ field: 'args.n', op: 'gt', value: 10 }, { n })).toBe(false);
      expect(holds({ field: 'args.n', op: 'lte', value: 10 }, { n })).toBe(false);
    }
    expect(holds({ field: 'args.n', op: 'gt', value: 10 }, 'not an object')).toBe(false);
  });

  it('in / nin', () => {
    const inList = { field: 'context.reversibility', op: 'in', value: ['full', 'partial'] };
    expect(holds(inList, {}, { context: { reversibility: 'partial' } })).toBe(true);
    expect(holds(inList, {}, { context: { reversibility: 'none' } })).toBe(false);
    expect(holds(inList, {}, {})).toBe(false);
    const nin = { field: 'context.reversibility', op: 'nin', value: ['full', 'partial'] };
    expect(holds(nin, {}, { context: { reversibility: 'none' } })).toBe(true);
    expect(holds(nin, {}, { context: { reversibility: 'full' } })).toBe(false);
    expect(holds({ field: 'args.p', op: 'in', value: [{ a: 1 }, 2] }, { p: { a: 1 } })).toBe(true);
  });

  it('matches (RegExp source, with flags)', () => {
    const rmrf = { field: 'args.command', op: 'matches', value: '\\brm\\s+-rf\\b' };
    expect(holds(rmrf, { command: 'cd /tmp && rm -rf build' })).toBe(true);
    expect(holds(rmrf, { command: 'rm build' })).toBe(false);
    expect(holds(rmrf, { command: ['rm -rf /'] })).toBe(false);
    expect(holds({ ...rmrf, value: 'RM -RF', flags: 'i' }, { command: 'rm -rf /' })).toBe(true);
  });

  it('contains (substring or list element)', () => {
    expect(holds({ field: 'args.sql', op: 'contains', value: 'DROP' }, { sql: 'DROP TABLE x' })).toBe(true);
    expect(holds({ field: 'args.sql', op: 'contains', value: 'DROP' }, { sql: 'select 1' })).toBe(false);
    expect(holds({ field: 'args.tags', op: 'contains', value: 'prod' }, { tags: ['dev', 'prod'] })).toBe(true);
    expect(holds({ field: 'args.tags', op: 'contains', value: 'prod' }, { tags: ['dev'] })).toBe(false);
    expect(holds({ field: 'args.tags', op: 'contains', value: 1 }, { tags: 123 })).toBe(false);
  });

  it('exists true/false (null counts as missing)', () => {
    expect(holds({ field: 'context.changeRequestId', op: 'exists' }, {}, { context: { changeRequestId: 'CR-1' } })).toBe(true);
    expect(holds({ field: 'context.changeRequestId', op: 'exists', value: true }, {}, { context: {} })).toBe(false);
    expect(holds({ field: 'context.changeRequestId', op: 'exists', value: false }, {}, {})).toBe(true);
    expect(holds({ field: 'args.x', op: 'exists', value: false }, { x: null })).toBe(true);
    expect(holds({ field: 'args.x', op: 'exists' }, { x: 0 })).toBe(true);
  });

  it('reads tool, agent, context and array indexes', () => {
    expect(holds({ field: 'tool', op: 'eq', value: 't' }, {})).toBe(true);
    expect(holds({ field: 'agent.id', op: 'eq', value: 'a1' }, {}, { agent: { id: 'a1' } })).toBe(true);
    expect(holds({ field: 'agent.team', op: 'eq', value: 'ops' }, {}, { agent: { id: 'a1', team: 'ops' } })).toBe(true);
    expect(holds({ field: 'args.items.1.sku', op: 'eq', value: 'B' }, { items: [{ sku: 'A' }, { sku: 'B' }] })).toBe(true);
    expect(holds({ field: 'args.items.2.sku', op: 'exists' }, { items: [{ sku: 'A' }] })).toBe(false);
    expect(holds({ field: 'args.items.length', op: 'exists' }, { items: [] })).toBe(false);
    expect(holds({ field: 'args.items.01', op: 'exists' }, { items: ['a', 'b'] })).toBe(false);
  });
});

describe('evaluatePolicy: prototype pollution', () => {
  it('never reads through the prototype chain', () => {
    expect(holds({ field: 'args.constructor', op: 'exists' }, {})).toBe(false);
    expect(holds({ field: 'args.__proto__', op: 'exists' }, {})).toBe(false);
    expect(holds({ field: 'args.toString', op: 'exists' }, {})).toBe(false);
    expect(holds({ field: 'args.constructor.prototype', op: 'exists' }, {})).toBe(false);
    expect(holds({ field: 'args.a.constructor.name', op: 'eq', value: 'Object' }, { a: {} })).toBe(false);
    expect(holds({ field: 'args.items.constructor', op: 'exists' }, { items: [] })).toBe(false);
    const inherited = Object.create({ amount: 5 }) as object;
    expect(holds({ field: 'args.amount', op: 'eq', value: 5 }, inherited)).toBe(false);
  });

  it('reads an own "__proto__" key (as JSON.parse creates it) as data, and leaves Object.prototype alone', () => {
    const args = JSON.parse('{"__proto__": {"admin": true}}') as unknown;
    expect(holds({ field: 'args.__proto__.admin', op: 'eq', value: true }, args)).toBe(true);
    expect(({} as Record<string, unknown>)['admin']).toBeUndefined();
  });

  it('treats a throwing getter as missing', () => {
    const args = {
      get boom(): number {
        throw new Error('no');
      },
    };
    expect(holds({ field: 'args.boom', op: 'exists' }, args)).toBe(false);
  });
});

describe('evaluatePolicy: tools and agents', () => {
  const compiled = compile([
    { id: 'exact', tools: ['transfer'], verdict: 'review' },
    { id: 'db', tools: ['db.*'], verdict: 'deny' },
    { id: 'deletes', tools: ['*_delete', 'rm?'], verdict: 'deny' },
    { id: 'bots', tools: ['deploy'], agents: ['bot-*'], verdict: 'deny' },
    { id: 'deploy', tools: ['deploy'], verdict: 'allow' },
  ]);
  const verdict = (tool: string, agent?: AgentInfo) => evaluatePolicy(compiled, call(tool, {}, agent ? { agent } : {})).verdict;

  it('matches exact names and globs (* and ?), and nothing else', () => {
    expect(verdict('transfer')).toBe('review');
    expect(verdict('transfers')).toBeNull();
    expect(verdict('db.drop')).toBe('deny');
    expect(verdict('dbXdrop')).toBeNull();
    expect(verdict('user_delete')).toBe('deny');
    expect(verdict('rmx')).toBe('deny');
    expect(verdict('rmxx')).toBeNull();
    expect(verdict('search')).toBeNull();
  });

  it('scopes rules to agent globs; a call without an agent is not in scope', () => {
    expect(verdict('deploy', { id: 'bot-7' })).toBe('deny');
    expect(verdict('deploy', { id: 'alice' })).toBe('allow');
    expect(verdict('deploy')).toBe('allow');
    const r = evaluatePolicy(compiled, call('deploy', {}, { agent: { id: 'alice' } }));
    expect(r.evaluated).toContainEqual({ rule: 'bots', field: 'agent.id', op: 'glob', expected: ['bot-*'], actual: 'alice', passed: false });
  });

  it('applies a rule without tools to every tool', () => {
    const all = compile([{ id: 'everything', verdict: 'review' }]);
    expect(evaluatePolicy(all, call('anything', {})).verdict).toBe('review');
  });
});

describe('evaluatePolicy: verdicts', () => {
  const compiled = compile([
    { id: 'small', tools: ['transfer'], when: [{ field: 'args.amount', op: 'lte', value: 1000 }], verdict: 'allow' },
    {
      id: 'notify',
      tools: ['transfer'],
      when: [{ field: 'args.currency', op: 'ne', value: 'EUR' }],
      verdict: 'allow_with_conditions',
      conditions: ['notify #payments', 'log FX rate'],
    },
    { id: 'audit', tools: ['transfer'], verdict: 'allow_with_conditions', conditions: ['notify #payments', 'keep receipt'] },
    { id: 'large', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 1000 }], verdict: 'review' },
    { id: 'huge', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 50000 }], verdict: 'deny' },
  ]);

  it('the most restrictive matching verdict wins, whatever the rule order', () => {
    const huge = evaluatePolicy(compiled, call('transfer', { amount: 60000, currency: 'EUR' }));
    expect(huge.verdict).toBe('deny');
    expect(huge.matchedRules).toEqual(['huge', 'audit', 'large']);
    expect(huge.conditions).toEqual([]);
    expect(huge.reason).toBe(
      'rule "huge" (deny): args.amount gt 50000 (actual 60000); also rule "audit" (allow_with_conditions): tool glob ["transfer"] (actual transfer); also rule "large" (review): args.amount gt 1000 (actual 60000)',
    );
    expect(evaluatePolicy(compiled, call('transfer', { amount: 5000, currency: 'EUR' })).verdict).toBe('review');
  });

  it('merges and de-duplicates conditions of allow_with_conditions rules', () => {
    const r = evaluatePolicy(compiled, call('transfer', { amount: 50, currency: 'USD' }));
    expect(r.verdict).toBe('allow_with_conditions');
    expect(r.matchedRules).toEqual(['notify', 'small', 'audit']);
    expect(r.conditions).toEqual(['notify #payments', 'log FX rate', 'keep receipt']);
  });

  it('spells out the deciding rule and the other matching rules that block or add conditions, not other plain allows', () => {
    const r = evaluatePolicy(compiled, call('transfer', { amount: 50, currency: 'USD' }));
    expect(r.reason).toBe(
      'rule "notify" (allow_with_conditions): args.currency ne EUR (actual USD); also rule "audit" (allow_with_conditions): tool glob ["transfer"] (actual transfer)',
    );
    // The matching allow rule "small" changes nothing here: it is listed, and its checks are recorded.
    expect(r.matchedRules).toContain('small');
    expect(r.evaluated).toContainEqual({ rule: 'small', field: 'args.amount', op: 'lte', expected: 1000, actual: 50, passed: true });
    const allowOnly = compile([
      { id: 'a', when: [{ field: 'args.n', op: 'lt', value: 10 }], verdict: 'allow' },
      { id: 'b', when: [{ field: 'args.n', op: 'lt', value: 20 }], verdict: 'allow' },
    ]);
    const both = evaluatePolicy(allowOnly, call('t', { n: 1 }));
    expect(both).toMatchObject({ verdict: 'allow', reason: 'rule "a" (allow): args.n lt 10 (actual 1)', matchedRules: ['a', 'b'] });
  });

  it('records every condition checked, with expected and actual; the tool scope only for a rule without conditions', () => {
    const r = evaluatePolicy(compiled, call('transfer', { amount: 5000, currency: 'EUR' }));
    expect(r.evaluated).toEqual([
      { rule: 'small', field: 'args.amount', op: 'lte', expected: 1000, actual: 5000, passed: false },
      { rule: 'notify', field: 'args.currency', op: 'ne', expected: 'EUR', actual: 'EUR', passed: false },
      { rule: 'audit', field: 'tool', op: 'glob', expected: ['transfer'], actual: 'transfer', passed: true },
      { rule: 'large', field: 'args.amount', op: 'gt', expected: 1000, actual: 5000, passed: true },
      { rule: 'huge', field: 'args.amount', op: 'gt', expected: 50000, actual: 5000, passed: false },
    ]);
    // Every matching rule still has at least one entry that says why it matched.
    for (const id of r.matchedRules) expect(r.evaluated.some((c) => c.rule === id && c.passed)).toBe(true);
  });

  it('reads each field once per evaluation, so every rule sees the same value', () => {
    const c = compile([
      { id: 'small', when: [{ field: 'args.amount', op: 'lte', value: 1000 }], verdict: 'allow' },
      { id: 'large', when: [{ field: 'args.amount', op: 'gt', value: 1000 }], verdict: 'review' },
      { id: 'huge', when: [{ field: 'args.amount', op: 'gt', value: 50000 }], verdict: 'deny' },
    ]);
    let reads = 0;
    // A getter that answers differently on every read: without one read per field, rules could disagree.
    const args = {
      get amount() {
        reads++;
        return reads === 1 ? 500 : 90000;
      },
    };
    const r = evaluatePolicy(c, { tool: 't', args, digest: 'sha256:x' });
    expect(reads).toBe(1);
    expect(r.verdict).toBe('allow');
    expect(r.evaluated.map((e) => e.actual)).toEqual([500, 500, 500]);
  });

  it('stops a rule at its first failing condition', () => {
    const c = compile([
      {
        id: 'both',
        when: [
          { field: 'args.a', op: 'eq', value: 1 },
          { field: 'args.b', op: 'eq', value: 2 },
        ],
        verdict: 'deny',
      },
    ]);
    const r = evaluatePolicy(c, call('t', { a: 0, b: 2 }));
    expect(r.evaluated).toEqual([{ rule: 'both', field: 'args.a', op: 'eq', expected: 1, actual: 0, passed: false }]);
    expect(evaluatePolicy(c, call('t', { a: 1, b: 2 })).verdict).toBe('deny');
  });

  it('uses a rule reason when given, the generated one otherwise', () => {
    const c = compile([
      { id: 'named', tools: ['shell'], verdict: 'deny', reason: 'no shells here' },
      { id: 'plain', tools: ['db.*'], verdict: 'deny' },
      { id: 'all', verdict: 'review' },
    ]);
    expect(evaluatePolicy(c, call('shell', {})).reason).toBe('rule "named" (deny): no shells here; also rule "all" (review): applies to every call');
    expect(evaluatePolicy(c, call('db.drop', {})).reason).toMatch(/^rule "plain" \(deny\): tool glob \["db\.\*"\] \(actual db\.drop\)/);
  });
});

describe('evaluatePolicy: default and abstain', () => {
  const rules = [{ id: 'deny-shell', tools: ['shell'], verdict: 'deny' }];

  it('applies the default when no rule matches', () => {
    const r = evaluatePolicy(compile(rules, { default: 'review' }), call('deploy', {}));
    expect(r).toEqual({ verdict: 'review', reason: 'no rule matched; policy default review', conditions: [], evaluated: [], matchedRules: [] });
  });

  it('gives the default conditions with default allow_with_conditions', () => {
    const r = evaluatePolicy(compile(rules, { default: 'allow_with_conditions', defaultConditions: ['log it'] }), call('deploy', {}));
    expect(r).toMatchObject({ verdict: 'allow_with_conditions', conditions: ['log it'] });
  });

  it('returns verdict null without a default', () => {
    const r = evaluatePolicy(compile(rules), call('deploy', {}));
    expect(r.verdict).toBeNull();
    expect(r.reason).toBe('no rule matched and the policy has no default');
  });

  it('refuses something that is not a compiled policy', () => {
    expect(() => evaluatePolicy(parsePolicy({ version: 1, rules }) as never, call('shell', {}))).toThrow(OptionsError);
  });
});
