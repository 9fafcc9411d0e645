import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { callDigest } from '../digest/call-digest';
import { GovernanceDeniedError, OptionsError, PolicyError } from '../errors';
import { createGate } from '../gate/create-gate';
import { callbackReviewer } from '../reviewers/callback-reviewer';
import { chainReviewers } from '../reviewers/chain-reviewers';
import type { ReviewRequest } from '../types';
import { compilePolicy } from './compile-policy';
import { memoryPolicyState } from './memory-policy-state';
import { parsePolicy } from './parse-policy';
import { policyReviewer } from './policy-reviewer';
import type { Policy } from './schema';

const dir = mkdtempSync(join(tmpdir(), 'toolgate-policy-reviewer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const policy: Policy = {
  version: 1,
  rules: [
    { id: 'small', tools: ['transfer'], when: [{ field: 'args.amount', op: 'lte', value: 1000 }], verdict: 'allow' },
    { id: 'large', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 1000 }], verdict: 'deny' },
    { id: 'deploy', tools: ['deploy'], verdict: 'allow_with_conditions', conditions: ['announce it'] },
    { id: 'rate', tools: ['transfer'], limit: { max: 2, windowMs: 60_000 }, verdict: 'deny' },
  ],
};

const callOptions = () => ({ signal: new AbortController().signal, deadline: Date.now() + 5000 });

function request(tool: string, args: unknown, extra: Partial<ReviewRequest> = {}): ReviewRequest {
  return { idempotencyKey: `k-${Math.random()}`, call: { tool, args }, agent: { id: 'a1' }, digest: callDigest(tool, args), ...extra };
}

describe('policyReviewer', () => {
  it('returns the Reviewer shape with decidedBy policy', async () => {
    const reviewer = policyReviewer(policy);
    expect(reviewer.name).toBe('policy');
    expect(await reviewer.review(request('deploy', {}), callOptions())).toEqual({
      verdict: 'allow_with_conditions',
      reason: 'rule "deploy" (allow_with_conditions): tool glob ["deploy"] (actual deploy)',
      conditions: ['announce it'],
      evaluated: [{ rule: 'deploy', field: 'tool', op: 'glob', expected: ['deploy'], actual: 'deploy', passed: true }],
      decidedBy: 'policy',
    });
    const denied = await reviewer.review(request('transfer', { amount: 5000 }), callOptions());
    expect(denied).toMatchObject({ verdict: 'deny', decidedBy: 'policy', reason: 'rule "large" (deny): args.amount gt 1000 (actual 5000)' });
    expect(denied.abstain).toBeUndefined();
  });

  it('abstains when no rule matches and there is no default, so a chain moves on', async () => {
    const reviewer = policyReviewer(policy, { name: 'local' });
    const abstained = await reviewer.review(request('search', { q: 'x' }), callOptions());
    expect(abstained).toMatchObject({ verdict: 'deny', abstain: true, decidedBy: 'policy' });
    const next: ReviewRequest[] = [];
    const chain = chainReviewers([
      reviewer,
      callbackReviewer((r) => {
        next.push(r);
        return { verdict: 'review', reason: 'ask a human' };
      }),
    ]);
    expect(await chain.review(request('search', { q: 'x' }), callOptions())).toMatchObject({ verdict: 'review' });
    expect(await chain.review(request('transfer', { amount: 5 }), callOptions())).toMatchObject({ verdict: 'allow' });
    expect(next.map((r) => r.call.tool)).toEqual(['search']);
  });

  it('keeps counters across calls, honours dryRun, and uses the injected clock and state', async () => {
    let now = Date.UTC(2025, 0, 6);
    const state = memoryPolicyState();
    const reviewer = policyReviewer(compilePolicy(policy), { state, now: () => now });
    const small = (n: number, dryRun = false) => reviewer.review(request('transfer', { amount: n }, { dryRun }), callOptions());
    expect((await small(1, true)).verdict).toBe('allow');
    expect((await small(2, true)).verdict).toBe('allow');
    expect((await small(3, true)).verdict).toBe('allow');
    expect(state.stats().entries).toBe(0);
    expect((await small(1)).verdict).toBe('allow');
    expect((await small(2)).verdict).toBe('allow');
    // The matching allow rule "small" is overridden: listed in matchedRules, not in the reason.
    expect(await small(3)).toMatchObject({ verdict: 'deny', reason: 'rule "rate" (deny): limit(agent) gt 2 (actual 3)' });
    now += 60_001;
    expect((await small(4)).verdict).toBe('allow');
  });

  it('loads a policy file once at construction', async () => {
    const path = join(dir, 'p.yaml');
    writeFileSync(path, 'version: 1\ndefault: deny\nrules:\n  - { id: ok, tools: [search], verdict: allow }\n');
    const reviewer = policyReviewer(path);
    writeFileSync(path, 'garbage: [');
    expect((await reviewer.review(request('search', {}), callOptions())).verdict).toBe('allow');
    expect((await reviewer.review(request('shell', {}), callOptions())).verdict).toBe('deny');
  });

  it('refuses invalid policies and options at construction', () => {
    expect(() => policyReviewer({ version: 1, rules: [{ id: 'x', verdict: 'nope' }] } as unknown as Policy)).toThrow(PolicyError);
    expect(() => policyReviewer(join(dir, 'missing.yaml'))).toThrow(PolicyError);
    expect(() => policyReviewer(policy, { now: 5 as unknown as () => number })).toThrow(OptionsError);
    expect(() => policyReviewer(policy, { state: {} as never })).toThrow(OptionsError);
  });

  it('behind a gate: a denied call never runs, an allowed one runs once', async () => {
    const gate = createGate({ reviewer: policyReviewer(parsePolicy(policy)), highStakes: ['transfer', 'deploy'], telemetry: false });
    let ran = 0;
    const transfer = async (amount: number) => {
      await gate.enforce({ tool: 'transfer', args: { amount }, agent: 'a1', callId: `c${amount}` });
      ran++;
    };
    await expect(transfer(5000)).rejects.toBeInstanceOf(GovernanceDeniedError);
    expect(ran).toBe(0);
    await transfer(10);
    expect(ran).toBe(1);
    const d = await gate.review({ tool: 'transfer', args: { amount: 7000 }, agent: 'a1', callId: 'x' });
    expect(d).toMatchObject({ verdict: 'deny', source: 'policy' });
    expect(d.evaluated).toContainEqual({ rule: 'large', field: 'args.amount', op: 'gt', expected: 1000, actual: 7000, passed: true });
    await gate.close();
  });
});
