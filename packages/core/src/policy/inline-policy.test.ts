import { describe, expect, it } from 'vitest';
import { callDigest } from '../digest/call-digest';
import { PolicyError } from '../errors';
import type { ReviewRequest } from '../types';
import { compilePolicy } from './compile-policy';
import { evaluatePolicy } from './evaluate-policy';
import { parsePolicy } from './parse-policy';
import { policyReviewer } from './policy-reviewer';
import type { PolicyDefinition } from './schema';

const callOptions = () => ({ signal: new AbortController().signal, deadline: Date.now() + 5000 });
const request = (tool: string, args: Record<string, unknown>) => ({ call: { tool, args }, digest: callDigest(tool, args) }) as ReviewRequest;

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof PolicyError) return error.issues;
    throw error;
  }
  throw new Error('expected a PolicyError');
}

describe('inline policies as people write them', () => {
  it('policyReviewer({ rules: [{ name, tools, when, verdict }], default }) works without a version', async () => {
    const inline: PolicyDefinition = {
      default: 'allow',
      rules: [{ name: 'large-transfers', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 1000 }], verdict: 'review' }],
    };
    const reviewer = policyReviewer(inline);
    expect(await reviewer.review(request('transfer', { amount: 5000 }), callOptions())).toMatchObject({
      verdict: 'review',
      reason: 'rule "large-transfers" (review): args.amount gt 1000 (actual 5000)',
    });
    expect((await reviewer.review(request('transfer', { amount: 5 }), callOptions())).verdict).toBe('allow');
    // Written straight into the call, as in a README: type-checks and runs.
    const direct = policyReviewer({ rules: [{ name: 'no-drop', tools: ['db.drop*'], verdict: 'deny' }], default: 'allow' });
    expect((await direct.review(request('db.drop_table', {}), callOptions())).verdict).toBe('deny');
  });

  it('a name may read like a sentence; it is the rule id everywhere', () => {
    const compiled = compilePolicy(parsePolicy({ rules: [{ name: 'No shell, ever', tools: ['shell'], verdict: 'deny' }] }));
    expect(compiled.ruleIds).toEqual(['No shell, ever']);
    const r = evaluatePolicy(compiled, { tool: 'shell', args: {}, digest: 'sha256:x' });
    expect(r).toMatchObject({ verdict: 'deny', matchedRules: ['No shell, ever'] });
  });

  it('id keeps working; id and name together must agree; duplicates count across both spellings', () => {
    expect(parsePolicy({ rules: [{ id: 'a', verdict: 'deny' }] }).rules[0]!.id).toBe('a');
    expect(parsePolicy({ rules: [{ id: 'a', name: 'a', verdict: 'deny' }] }).rules[0]!.id).toBe('a');
    expect(issuesOf(() => parsePolicy({ rules: [{ id: 'a', name: 'b', verdict: 'deny' }] }))[0]).toMatch(/^rules\[0\]\.name: id "a" and name "b" differ/);
    expect(issuesOf(() => parsePolicy({ rules: [{ id: 'a', verdict: 'deny' }, { name: 'a', verdict: 'allow' }] }))).toEqual([
      'rules[1].id: duplicate rule id "a" (also rules[0]); ids must be unique',
    ]);
    expect(issuesOf(() => parsePolicy({ rules: [{ name: 'bad\u202ename', verdict: 'deny' }] }))[0]).toMatch(/^rules\[0\]\.name: rule names use/);
  });

  it('never suggests the key that was written, and suggests from the right level', () => {
    // `name` at the policy level must not be offered for a misplaced key in a condition.
    expect(issuesOf(() => parsePolicy({ rules: [{ id: 'a', when: [{ field: 'args.x', op: 'eq', value: 1, name: 'x' }], verdict: 'deny' }] }))).toEqual([
      'rules[0].when[0]: unknown key "name" ("name" belongs at the policy level)',
    ]);
    expect(issuesOf(() => parsePolicy({ rules: [{ id: 'a', action: 'deny', verdict: 'deny' }] }))).toEqual([
      'rules[0]: unknown key "action" (did you mean "verdict"?)',
    ]);
    expect(issuesOf(() => parsePolicy({ rules: [{ id: 'a', tool: ['x'], verdict: 'deny' }] }))).toEqual(['rules[0]: unknown key "tool" (did you mean "tools"?)']);
    expect(issuesOf(() => parsePolicy({ rules: [{ id: 'a', verdict: 'deny', version: 1 }] }))).toEqual([
      'rules[0]: unknown key "version" ("version" belongs at the policy level)',
    ]);
    expect(issuesOf(() => parsePolicy({ rules: [], Rules: [] }))).toEqual(['(policy): unknown key "Rules" (did you mean "rules"?)']);
  });
});
