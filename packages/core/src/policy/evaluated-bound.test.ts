import { describe, expect, it } from 'vitest';
import { callDigest } from '../digest/call-digest';
import { compilePolicy } from './compile-policy';
import { DEFAULT_MAX_EVALUATED, evaluatePolicy } from './evaluate-policy';
import { parsePolicy } from './parse-policy';

const args = { amount: 500, currency: 'EUR' };
const input = { tool: 'transfer', args, digest: callDigest('transfer', args) };

/** `n` rules on one tool; every `matchEvery`-th rule matches (amount lte …), the others fail on their first check. */
function policy(n: number, matchEvery: number, verdictOf: (i: number) => string = (i) => (i % 2 ? 'review' : 'allow')) {
  return compilePolicy(
    parsePolicy({
      version: 1,
      default: 'deny',
      rules: Array.from({ length: n }, (_, i) => ({
        id: `r${i}`,
        tools: ['transfer'],
        when: [
          { field: 'args.amount', op: i % matchEvery === 0 ? 'lte' : 'gt', value: 1000 },
          { field: 'args.currency', op: 'eq', value: 'EUR' },
        ],
        verdict: verdictOf(i),
      })),
    }),
  );
}

describe('evaluatePolicy: evaluated[] is bounded by default', () => {
  it('keeps every check of every matching rule and counts the checks of other rules beyond the bound', () => {
    // Rules r0, r1000, … r9000 match; odd thousands are review rules, so r1000 decides (review) and
    // r3000, r5000, … are in the reason; the even ones are plain allows.
    const r = evaluatePolicy(policy(10_000, 1_000, (i) => (i % 2000 === 1000 ? 'review' : 'allow')), input);
    expect(r.verdict).toBe('review');
    expect(r.matchedRules).toHaveLength(10);
    const reviewRules = ['r1000', 'r3000', 'r5000', 'r7000', 'r9000'];
    for (const id of reviewRules) {
      expect(r.evaluated.filter((c) => c.rule === id)).toEqual([
        { rule: id, field: 'args.amount', op: 'lte', expected: 1000, actual: 500, passed: true },
        { rule: id, field: 'args.currency', op: 'eq', expected: 'EUR', actual: 'EUR', passed: true },
      ]);
    }
    expect(r.evaluated.length).toBeLessThanOrEqual(DEFAULT_MAX_EVALUATED + 10);
    // Every rule's checks are accounted for: 10 × 2 matched + 9,990 × 1 failed.
    expect(r.evaluated.length + r.evaluatedOmitted!).toBe(20 + 9_990);
    // The reason still names every blocking rule's checks.
    expect(r.reason).toContain('rule "r1000" (review): args.amount lte 1000 (actual 500), args.currency eq EUR (actual EUR); also rule "r3000" (review)');
    expect(r.reason).toContain('; also rule "r9000" (review)');
  });

  it('keeps the deciding rule when it comes after thousands of failed rules', () => {
    const r = evaluatePolicy(policy(5_000, 5_000, (i) => (i === 4_999 ? 'deny' : 'allow')), { ...input });
    // Only r0 matches (0 % 5000 === 0); r0 is allow. Make the last rule the deny that decides:
    expect(r.matchedRules).toEqual(['r0']);
    const deny = compilePolicy(
      parsePolicy({
        version: 1,
        rules: [
          ...Array.from({ length: 5_000 }, (_, i) => ({ id: `f${i}`, tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 1000 }], verdict: 'deny' })),
          { id: 'late-deny', tools: ['transfer'], when: [{ field: 'args.currency', op: 'eq', value: 'EUR' }], verdict: 'deny' },
        ],
      }),
    );
    const d = evaluatePolicy(deny, input);
    expect(d.verdict).toBe('deny');
    expect(d.matchedRules).toEqual(['late-deny']);
    expect(d.evaluated.at(-1)).toEqual({ rule: 'late-deny', field: 'args.currency', op: 'eq', expected: 'EUR', actual: 'EUR', passed: true });
    expect(d.evaluated.length).toBeLessThanOrEqual(DEFAULT_MAX_EVALUATED + 1);
    expect(d.evaluatedOmitted).toBe(5_001 - d.evaluated.length);
  });

  it('no match: the first failed checks in policy order, the rest counted', () => {
    const none = compilePolicy(
      parsePolicy({ version: 1, default: 'deny', rules: Array.from({ length: 200 }, (_, i) => ({ id: `f${i}`, tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 1000 }], verdict: 'review' })) }),
    );
    const r = evaluatePolicy(none, input);
    expect(r.verdict).toBe('deny');
    expect(r.evaluated.map((c) => c.rule)).toEqual(Array.from({ length: DEFAULT_MAX_EVALUATED }, (_, i) => `f${i}`));
    expect(r.evaluatedOmitted).toBe(200 - DEFAULT_MAX_EVALUATED);
  });

  it('small policies are unchanged (no evaluatedOmitted), and maxEvaluated: Infinity keeps everything', () => {
    const small = evaluatePolicy(policy(20, 3), input);
    expect(small.evaluatedOmitted).toBeUndefined();
    expect(small.evaluated.length).toBe(7 * 2 + 13);
    const all = evaluatePolicy(policy(1_000, 10), input, { maxEvaluated: Infinity });
    expect(all.evaluatedOmitted).toBeUndefined();
    expect(all.evaluated.length).toBe(100 * 2 + 900);
  });
});

describe('compilePolicy: identical conditions are compiled once and shared', () => {
  it('rules sharing a condition still decide independently, and near-identical values stay apart', () => {
    const compiled = compilePolicy(
      parsePolicy({
        version: 1,
        rules: [
          { id: 'a', tools: ['transfer'], when: [{ field: 'args.currency', op: 'in', value: ['EUR', 'USD'] }, { field: 'args.amount', op: 'gt', value: 1000 }], verdict: 'deny' },
          { id: 'b', tools: ['transfer'], when: [{ field: 'args.currency', op: 'in', value: ['EUR', 'USD'] }, { field: 'args.amount', op: 'lte', value: 1000 }], verdict: 'allow' },
          { id: 'c', tools: ['transfer'], when: [{ field: 'args.zero', op: 'eq', value: -0 }], verdict: 'review' },
          { id: 'd', tools: ['transfer'], when: [{ field: 'args.zero', op: 'eq', value: 0 }], verdict: 'allow' },
        ],
      }),
    );
    const small = evaluatePolicy(compiled, { ...input, args: { amount: 10, currency: 'USD', zero: 0 } });
    expect(small.matchedRules).toContain('b');
    expect(small.matchedRules).not.toContain('a');
    const large = evaluatePolicy(compiled, { ...input, args: { amount: 5000, currency: 'EUR', zero: 1 } });
    expect(large.verdict).toBe('deny');
    expect(large.matchedRules).toEqual(['a']);
    // Each rule's checks carry its own id, even where the condition is shared.
    expect(large.evaluated.filter((c) => c.field === 'args.currency').map((c) => c.rule)).toEqual(['a', 'b']);
  });
});
