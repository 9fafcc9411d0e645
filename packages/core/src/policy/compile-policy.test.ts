import { describe, expect, it } from 'vitest';
import { compilePolicy } from './compile-policy';
import { evaluatePolicy } from './evaluate-policy';
import { parsePolicy } from './parse-policy';
import type { PolicyDefinition } from './schema';

const doc: PolicyDefinition = {
  version: 1,
  default: 'deny',
  rules: [
    { id: 'small', tools: ['transfer'], when: [{ field: 'args.amount', op: 'lte', value: 1000 }], verdict: 'allow' },
    { id: 'big', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 1000 }, { field: 'args.currency', op: 'in', value: ['EUR'] }], verdict: 'review', reason: 'large transfer' },
    { id: 'ops-only', tools: ['deploy'], agents: ['ops-*'], verdict: 'allow' },
  ],
};

describe('compilePolicy: the compact form', () => {
  it('compiled.policy is the validated policy, and editing what it returns changes nothing compiled', () => {
    const compiled = compilePolicy(doc);
    expect(compiled.policy).toEqual(parsePolicy(doc));
    const copy = compiled.policy;
    copy.rules[0]!.verdict = 'deny';
    copy.rules.pop();
    expect(compiled.policy).toEqual(parsePolicy(doc));
    expect(compiled.ruleIds).toEqual(['small', 'big', 'ops-only']);
    const digest = `sha256:${'0'.repeat(64)}`;
    expect(evaluatePolicy(compiled, { tool: 'transfer', args: { amount: 5 }, digest }).verdict).toBe('allow');
  });

  it('rules that share tools, agents and conditions give the same reasons as rules that do not', () => {
    const compiled = compilePolicy(doc);
    const digest = `sha256:${'0'.repeat(64)}`;
    const big = evaluatePolicy(compiled, { tool: 'transfer', args: { amount: 5000, currency: 'EUR' }, digest });
    expect(big).toMatchObject({ verdict: 'review', reason: 'rule "big" (review): large transfer', matchedRules: ['big'] });
    const small = evaluatePolicy(compiled, { tool: 'transfer', args: { amount: 5 }, digest });
    expect(small.reason).toBe('rule "small" (allow): args.amount lte 1000 (actual 5)');
    const ops = evaluatePolicy(compiled, { tool: 'deploy', args: {}, agent: { id: 'ops-1' }, digest });
    expect(ops.reason).toBe('rule "ops-only" (allow): tool glob ["deploy"] (actual deploy), agent.id glob ["ops-*"] (actual ops-1)');
    // Asked twice (texts built once, then reused): the same answer.
    expect(evaluatePolicy(compiled, { tool: 'deploy', args: {}, agent: { id: 'ops-1' }, digest }).reason).toBe(ops.reason);
  });

  it('a policy value JSON cannot hold exactly (-0) is kept as the validated object', () => {
    const compiled = compilePolicy({ version: 1, rules: [{ id: 'z', when: [{ field: 'args.n', op: 'eq', value: -0 }], verdict: 'allow' }] });
    expect(Object.is(compiled.policy.rules[0]!.when![0]!.value, -0)).toBe(true);
  });
});
