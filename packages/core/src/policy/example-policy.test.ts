import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { callDigest } from '../digest/call-digest';
import { compilePolicy } from './compile-policy';
import { evaluatePolicy } from './evaluate-policy';
import { loadPolicy } from './load-policy';
import { memoryPolicyState } from './memory-policy-state';

const EXAMPLE = fileURLToPath(new URL('./examples/example-policy.yaml', import.meta.url));
const MON_10_BERLIN = Date.UTC(2025, 0, 6, 9, 0); // Monday 10:00 CET
const MON_20_BERLIN = Date.UTC(2025, 0, 6, 19, 0);

describe('examples/example-policy.yaml', async () => {
  const compiled = compilePolicy(await loadPolicy(EXAMPLE));
  let n = 0;
  const run = (tool: string, args: Record<string, unknown>, opts: { now?: number; agent?: string; context?: Record<string, unknown>; state?: ReturnType<typeof memoryPolicyState> } = {}) => {
    const a = { ...args, nonce: n++ }; // distinct digests unless a test wants repeats
    return evaluatePolicy(
      compiled,
      { tool, args: a, agent: { id: opts.agent ?? 'agent-1' }, context: opts.context, digest: callDigest(tool, a) },
      { state: opts.state ?? memoryPolicyState(), now: opts.now ?? MON_10_BERLIN },
    );
  };

  it('loads, with the documented default', () => {
    expect(compiled.policy.default).toBe('review');
    expect(compiled.stateful).toBe(true);
    expect(run('send_email', {})).toMatchObject({ verdict: 'review', reason: 'no rule matched; policy default review' });
  });

  it('transfers: small allow, large review, huge deny, no amount deny', () => {
    expect(run('transfer', { amount: 200 })).toMatchObject({ verdict: 'allow', matchedRules: ['transfer-small'] });
    expect(run('transfer', { amount: 5000 })).toMatchObject({ verdict: 'review', matchedRules: ['transfer-large'] });
    const huge = run('transfer', { amount: 90_000 });
    expect(huge.verdict).toBe('deny');
    expect(huge.matchedRules[0]).toBe('transfer-huge');
    expect(run('transfer', { to: 'x' })).toMatchObject({ verdict: 'deny', matchedRules: ['transfer-no-amount'] });
  });

  it('transfers: the daily budget counts allowed transfers only', () => {
    const state = memoryPolicyState();
    for (let i = 0; i < 10; i++) expect(run('transfer', { amount: 1000 }, { state }).verdict).toBe('allow');
    const over = run('transfer', { amount: 1 }, { state });
    expect(over).toMatchObject({ verdict: 'review', matchedRules: ['transfer-daily-budget', 'transfer-small'] });
    expect(run('transfer', { amount: 1 }, { state, agent: 'agent-2' }).verdict).toBe('allow');
  });

  it('shell: rm -rf is denied, anything else reviewed', () => {
    expect(run('shell', { command: 'rm -rf /' }).matchedRules[0]).toBe('shell-rm-rf');
    expect(run('shell', { command: 'cd x && RM -fr build' }).verdict).toBe('deny');
    expect(run('shell', { command: 'rm -r -f build' }).verdict).toBe('deny');
    expect(run('shell', { command: 'ls -la' })).toMatchObject({ verdict: 'review', matchedRules: ['shell-review'] });
    expect(run('shell', { command: 'rm notes.txt' }).verdict).toBe('review');
  });

  it('deploy: allowed with conditions in Berlin business hours, reviewed otherwise', () => {
    const inHours = run('deploy', { service: 'api' });
    expect(inHours.verdict).toBe('allow_with_conditions');
    expect(inHours.conditions).toEqual(['announce the deploy in #deploys', 'watch error rates for 30 minutes and roll back on a spike']);
    expect(run('deploy', { service: 'api' }, { now: MON_20_BERLIN })).toMatchObject({ verdict: 'review', matchedRules: ['deploy-after-hours'] });
    expect(run('deploy', { service: 'api' }, { context: { reversibility: 'none' } }).verdict).toBe('review');
  });

  it('db.drop*: denied', () => {
    expect(run('db.drop_table', { table: 'users' })).toMatchObject({ verdict: 'deny', matchedRules: ['db-drop'] });
    expect(run('db.dropDatabase', {}).verdict).toBe('deny');
  });

  it('rate limit: the 31st allowed call in a minute is denied', () => {
    const state = memoryPolicyState();
    for (let i = 0; i < 30; i++) expect(run('transfer', { amount: 1 }, { state }).verdict).toBe('allow');
    expect(run('transfer', { amount: 1 }, { state })).toMatchObject({ verdict: 'deny', matchedRules: ['rate-limit', 'transfer-small'] });
    expect(run('transfer', { amount: 1 }, { state, now: MON_10_BERLIN + 60_001 }).verdict).toBe('allow');
  });

  it('loop detection: the 4th identical call in a minute is denied', () => {
    const state = memoryPolicyState();
    const args = { amount: 5 };
    const same = () =>
      evaluatePolicy(compiled, { tool: 'transfer', args, agent: { id: 'agent-1' }, digest: callDigest('transfer', args) }, { state, now: MON_10_BERLIN });
    expect([same(), same(), same()].map((r) => r.verdict)).toEqual(['allow', 'allow', 'allow']);
    expect(same()).toMatchObject({ verdict: 'deny', matchedRules: ['loop-detection', 'transfer-small'] });
  });
});
