import { describe, expect, it } from 'vitest';
import { OptionsError } from '../errors';
import { callDigest } from '../digest/call-digest';
import { compilePolicy } from './compile-policy';
import { evaluatePolicy, type PolicyInput } from './evaluate-policy';
import { memoryPolicyState } from './memory-policy-state';
import { parsePolicy } from './parse-policy';

const T0 = Date.UTC(2025, 0, 6, 12, 0, 0);

function compile(rules: unknown[], extra: Record<string, unknown> = {}) {
  return compilePolicy(parsePolicy({ version: 1, rules, ...extra }));
}

function call(tool: string, args: unknown, agentId = 'a1'): PolicyInput {
  return { tool, args, agent: { id: agentId }, digest: callDigest(tool, args) };
}

describe('limit', () => {
  const compiled = compile([{ id: 'rate', tools: ['transfer'], limit: { max: 2, windowMs: 60_000, per: 'agent' }, verdict: 'deny' }], {
    default: 'allow',
  });

  it('matches once this call would exceed max in the window, per agent', () => {
    const state = memoryPolicyState();
    const at = (n: number, agent = 'a1') => evaluatePolicy(compiled, call('transfer', { n }, agent), { state, now: T0 + n }).verdict;
    expect(at(1)).toBe('allow');
    expect(at(2)).toBe('allow');
    const third = evaluatePolicy(compiled, call('transfer', { n: 3 }), { state, now: T0 + 3 });
    expect(third.verdict).toBe('deny');
    expect(third.evaluated).toContainEqual({ rule: 'rate', field: 'limit(agent)', op: 'gt', expected: 2, actual: 3, passed: true });
    expect(third.reason).toBe('rule "rate" (deny): limit(agent) gt 2 (actual 3)');
    // Denied calls are not counted, other agents have their own counter.
    expect(at(4)).toBe('deny');
    expect(at(5, 'a2')).toBe('allow');
  });

  it('forgets calls once the window has passed', () => {
    const state = memoryPolicyState();
    for (let i = 0; i < 2; i++) evaluatePolicy(compiled, call('transfer', { i }), { state, now: T0 + i });
    expect(evaluatePolicy(compiled, call('transfer', {}), { state, now: T0 + 59_999 }).verdict).toBe('deny');
    expect(evaluatePolicy(compiled, call('transfer', {}), { state, now: T0 + 60_001 }).verdict).toBe('allow');
  });

  it('keeps separate counters per tool, per agent_tool and globally', () => {
    const c = compile(
      [
        { id: 'per-tool', limit: { max: 1, windowMs: 1000, per: 'tool' }, verdict: 'deny' },
        { id: 'per-agent-tool', limit: { max: 1, windowMs: 1000, per: 'agent_tool' }, verdict: 'review' },
      ],
      { default: 'allow' },
    );
    const state = memoryPolicyState();
    expect(evaluatePolicy(c, call('x', {}, 'a1'), { state, now: T0 }).verdict).toBe('allow');
    // Same tool, other agent: per-tool exceeded (deny), per-agent-tool not.
    const r = evaluatePolicy(c, call('x', {}, 'a2'), { state, now: T0 });
    expect(r.verdict).toBe('deny');
    expect(r.matchedRules).toEqual(['per-tool']);
    expect(evaluatePolicy(c, call('y', {}, 'a1'), { state, now: T0 }).verdict).toBe('allow');

    const g = compile([{ id: 'global', limit: { max: 1, windowMs: 1000, per: 'global' }, verdict: 'deny' }], { default: 'allow' });
    const gs = memoryPolicyState();
    expect(evaluatePolicy(g, call('x', {}, 'a1'), { state: gs, now: T0 }).verdict).toBe('allow');
    expect(evaluatePolicy(g, call('y', {}, 'a2'), { state: gs, now: T0 }).verdict).toBe('deny');
  });

  it('does not count reviewed calls', () => {
    const c = compile(
      [
        { id: 'rate', limit: { max: 1, windowMs: 1000 }, verdict: 'deny' },
        { id: 'big', when: [{ field: 'args.big', op: 'eq', value: true }], verdict: 'review' },
      ],
      { default: 'allow' },
    );
    const state = memoryPolicyState();
    expect(evaluatePolicy(c, call('t', { big: true }), { state, now: T0 }).verdict).toBe('review');
    expect(evaluatePolicy(c, call('t', { big: false }), { state, now: T0 }).verdict).toBe('allow');
    expect(evaluatePolicy(c, call('t', { big: false, again: 1 }), { state, now: T0 }).verdict).toBe('deny');
  });

  it('needs a state store', () => {
    expect(() => evaluatePolicy(compiled, call('transfer', {}))).toThrow(OptionsError);
    expect(compiled.stateful).toBe(true);
    // ...but only when a stateful rule applies to the call.
    expect(evaluatePolicy(compiled, call('search', {})).verdict).toBe('allow');
  });
});

describe('budget', () => {
  const compiled = compile(
    [
      { id: 'huge', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 5000 }], verdict: 'deny' },
      { id: 'daily', tools: ['transfer'], budget: { field: 'args.amount', max: 1000, windowMs: 86_400_000, per: 'agent' }, verdict: 'review' },
    ],
    { default: 'allow' },
  );
  const pay = (state: ReturnType<typeof memoryPolicyState>, amount: unknown, now = T0, options: { dryRun?: boolean } = {}) =>
    evaluatePolicy(compiled, call('transfer', { amount, to: 'x', now }), { state, now, ...options });

  it('matches when the sum including this call would exceed max; only allowed calls spend', () => {
    const state = memoryPolicyState();
    expect(pay(state, 400).verdict).toBe('allow');
    expect(pay(state, 600).verdict).toBe('allow');
    const over = pay(state, 1);
    expect(over.verdict).toBe('review');
    expect(over.evaluated).toContainEqual({ rule: 'daily', field: 'budget(args.amount)', op: 'gt', expected: 1000, actual: 1001, passed: true });
    // The reviewed call did not spend: 0 still fits.
    expect(pay(state, 0).verdict).toBe('allow');
    // A day later the budget is free again.
    expect(pay(state, 1000, T0 + 86_400_001).verdict).toBe('allow');
  });

  it('does not spend budget on a denied call', () => {
    const state = memoryPolicyState();
    expect(pay(state, 9000).verdict).toBe('deny');
    expect(state.stats().entries).toBe(0);
    expect(pay(state, 1000).verdict).toBe('allow');
  });

  it('commits nothing on a dry run', () => {
    const state = memoryPolicyState();
    expect(pay(state, 1000, T0, { dryRun: true }).verdict).toBe('allow');
    expect(pay(state, 1000, T0, { dryRun: true }).verdict).toBe('allow');
    expect(state.stats()).toEqual({ keys: 0, entries: 0 });
    expect(pay(state, 1000).verdict).toBe('allow');
    expect(pay(state, 1, T0, { dryRun: true }).verdict).toBe('review');
  });

  it('cannot be checked (and spends nothing) without a numeric amount; negative amounts free nothing', () => {
    const state = memoryPolicyState();
    const r = pay(state, '500');
    expect(r.evaluated).toContainEqual({ rule: 'daily', field: 'budget(args.amount)', op: 'gt', expected: 1000, actual: '500', passed: false });
    expect(state.stats().entries).toBe(0);
    expect(pay(state, 1000).verdict).toBe('allow');
    expect(pay(state, -5000).verdict).toBe('allow');
    expect(pay(state, 1).verdict).toBe('review');
  });
});

describe('repeat (loop detection)', () => {
  const compiled = compile(
    [
      { id: 'loop', repeat: { max: 2, windowMs: 60_000 }, verdict: 'deny', reason: 'looks like a loop' },
      { id: 'no-shell', tools: ['shell'], verdict: 'deny' },
    ],
    { default: 'allow' },
  );

  it('matches when the same digest is seen more than max times; different args are another call', () => {
    const state = memoryPolicyState();
    const same = () => evaluatePolicy(compiled, call('search', { q: 'x' }), { state, now: T0 });
    expect(same().verdict).toBe('allow');
    expect(same().verdict).toBe('allow');
    const third = same();
    expect(third).toMatchObject({ verdict: 'deny', reason: 'rule "loop" (deny): looks like a loop', matchedRules: ['loop'] });
    expect(third.evaluated).toContainEqual({ rule: 'loop', field: 'repeat(digest)', op: 'gt', expected: 2, actual: 3, passed: true });
    expect(evaluatePolicy(compiled, call('search', { q: 'y' }), { state, now: T0 }).verdict).toBe('allow');
    expect(evaluatePolicy(compiled, call('search', { q: 'x' }), { state, now: T0 + 60_001 }).verdict).toBe('allow');
  });

  it('counts every evaluation whatever the verdict, except dry runs', () => {
    const state = memoryPolicyState();
    const shell = (dryRun = false) => evaluatePolicy(compiled, call('shell', { cmd: 'ls' }), { state, now: T0, dryRun });
    expect(shell(true).matchedRules).toEqual(['no-shell']);
    expect(shell(true).matchedRules).toEqual(['no-shell']);
    expect(shell(true).matchedRules).toEqual(['no-shell']);
    expect(shell().matchedRules).toEqual(['no-shell']);
    expect(shell().matchedRules).toEqual(['no-shell']);
    // Equal severity: the first in policy order decides.
    expect(shell().matchedRules).toEqual(['loop', 'no-shell']);
  });
});
