import { describe, expect, it } from 'vitest';
import { callDigest } from '../digest/call-digest';
import { PolicyError } from '../errors';
import { compilePolicy } from './compile-policy';
import { evaluatePolicy } from './evaluate-policy';
import { parsePolicy } from './parse-policy';
import { policyReviewer } from './policy-reviewer';

const twoPerson = {
  default: 'allow' as const,
  rules: [
    { id: 'big', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt' as const, value: 1000 }], verdict: 'review' as const, approvals: 2, approverGroups: ['finance'] },
    { id: 'huge', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt' as const, value: 5000 }], verdict: 'review' as const, approvals: 3 },
    { id: 'any', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt' as const, value: 500 }], verdict: 'review' as const },
  ],
};

const run = (amount: number) => evaluatePolicy(compilePolicy(twoPerson), { tool: 'transfer', args: { amount }, digest: callDigest('transfer', { amount }) });

describe('policy: approvals and approverGroups on review rules', () => {
  it('a review carries the approvals of the matching review rule; the strictest rule decides', () => {
    expect(run(600)).toMatchObject({ verdict: 'review' });
    expect(run(600).approvals).toBeUndefined();
    expect(run(2000).approvals).toEqual({ required: 2, groups: ['finance'] });
    expect(run(6000).approvals).toEqual({ required: 3 });
    expect(run(10).approvals).toBeUndefined();
  });

  it('policyReviewer puts approvals on the review verdict', async () => {
    const r = await policyReviewer(twoPerson).review(
      { idempotencyKey: 'k', call: { tool: 'transfer', args: { amount: 2000 } }, digest: callDigest('transfer', { amount: 2000 }) },
      { signal: new AbortController().signal, deadline: Date.now() + 1000 },
    );
    expect(r).toMatchObject({ verdict: 'review', approvals: { required: 2, groups: ['finance'] } });
  });

  it('refuses approvals below 1, fractions, on other verdicts, and empty or odd group lists, each named', () => {
    const bad = (rule: Record<string, unknown>) => {
      try {
        parsePolicy({ rules: [{ id: 'r', tools: ['t'], ...rule }] });
      } catch (error) {
        expect(error).toBeInstanceOf(PolicyError);
        return (error as PolicyError).issues.join('\n');
      }
      throw new Error('accepted');
    };
    expect(bad({ verdict: 'review', approvals: 0 })).toContain('rules[0].approvals: approvals must be at least 1');
    expect(bad({ verdict: 'review', approvals: 1.5 })).toContain('rules[0].approvals: expected approvals as a whole number');
    expect(bad({ verdict: 'allow', approvals: 2 })).toContain('rules[0].approvals: approvals only applies to verdict review (this rule says allow)');
    expect(bad({ verdict: 'deny', approverGroups: ['ops'] })).toContain('rules[0].approverGroups: approverGroups only applies to verdict review');
    expect(bad({ verdict: 'review', approverGroups: [] })).toContain('rules[0].approverGroups: empty list');
    expect(bad({ verdict: 'review', approverGroups: ['a b'] })).toContain('rules[0].approverGroups[0]: group names use');
    expect(bad({ verdict: 'review', approval: 2 })).toContain('unknown key "approval" (did you mean "approvals"?)');
  });
});
