import { describe, expect, it } from 'vitest';
import { OptionsError } from '../errors';
import { callDigest } from '../digest/call-digest';
import { compilePolicy } from './compile-policy';
import { evaluatePolicy, type PolicyInput } from './evaluate-policy';
import { memoryPolicyState, type PolicyStateStore } from './memory-policy-state';
import { parsePolicy } from './parse-policy';
import { evaluatePolicyShared, isSharedPolicyState, type PolicyCounterRead, type SharedPolicyState } from './shared-policy-state';

const T0 = Date.UTC(2025, 0, 6, 12, 0, 0);

/** A SharedPolicyState over a memory state: one transact at a time (a lock), counting its calls. */
function sharedOver(inner: PolicyStateStore): SharedPolicyState & { transacts: number; lastReads: readonly PolicyCounterRead[] } {
  let queue: Promise<unknown> = Promise.resolve();
  const s = {
    transacts: 0,
    lastReads: [] as readonly PolicyCounterRead[],
    transact<T>(reads: readonly PolicyCounterRead[], decide: (values: readonly number[]) => { writes: readonly { key: string; atMs: number; amount: number; windowMs: number }[]; result: T }): Promise<T> {
      s.transacts++;
      s.lastReads = reads;
      const run = queue.then(async () => {
        await new Promise((r) => setTimeout(r, 0)); // another evaluation may be waiting meanwhile
        const values = reads.map((r) => (r.kind === 'count' ? inner.count(r.key, r.sinceMs) : inner.sum(r.key, r.sinceMs)));
        const { writes, result } = decide(values);
        for (const w of writes) inner.add(w.key, w.atMs, w.amount, w.windowMs);
        return result;
      });
      queue = run.catch(() => {});
      return run;
    },
  };
  return s;
}

const policy = compilePolicy(
  parsePolicy({
    version: 1,
    default: 'allow',
    rules: [
      { id: 'huge', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 5000 }], verdict: 'deny' },
      { id: 'daily', tools: ['transfer'], budget: { field: 'args.amount', max: 1000, windowMs: 86_400_000, per: 'agent' }, verdict: 'review' },
      { id: 'rate', tools: ['ping', 'transfer'], limit: { max: 3, windowMs: 60_000, per: 'agent_tool' }, verdict: 'deny' },
      { id: 'global', limit: { max: 12, windowMs: 30_000, per: 'global' }, verdict: 'review' },
      { id: 'loop', repeat: { max: 2, windowMs: 60_000, per: 'agent' }, verdict: 'deny', reason: 'looks like a loop' },
      { id: 'big', tools: ['lookup'], when: [{ field: 'args.big', op: 'eq', value: true }], verdict: 'review' },
      { id: 'no-shell', tools: ['shell'], verdict: 'deny' },
    ],
  }),
);

function call(tool: string, args: unknown, agentId: string, principal?: string): PolicyInput {
  const input: PolicyInput = { tool, args, agent: { id: agentId }, digest: callDigest(tool, args) };
  if (principal !== undefined) input.principal = principal;
  return input;
}

/** A deterministic pseudo-random sequence (no Math.random in tests). */
function lcg(seed: number) {
  let x = seed >>> 0;
  return (n: number) => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x % n;
  };
}

describe('evaluatePolicyShared', () => {
  it('decides every call exactly as evaluatePolicy on one memory state (600 mixed calls: budget, limits, repeat, dry runs, windows)', async () => {
    const rand = lcg(7);
    const sync = memoryPolicyState();
    const shared = sharedOver(memoryPolicyState());
    const tools = ['transfer', 'ping', 'lookup', 'shell', 'search'];
    let t = T0;
    for (let i = 0; i < 600; i++) {
      t += rand(4000);
      const tool = tools[rand(tools.length)]!;
      const args = tool === 'transfer' ? { amount: [1, 50, 300, 999, 6000, -5, '7'][rand(7)] } : tool === 'lookup' ? { q: rand(3), big: rand(4) === 0 } : { q: rand(3) };
      const input = call(tool, args, `a${rand(3)}`, rand(2) ? `key:k${rand(2)}` : undefined);
      const dryRun = rand(10) === 0;
      const expected = evaluatePolicy(policy, input, { state: sync, now: t, dryRun });
      const got = await evaluatePolicyShared(policy, input, { state: shared, now: t, dryRun });
      expect(got).toEqual(expected);
    }
    expect(shared.transacts).toBeGreaterThan(400);
  });

  it('spends like the synchronous path when evaluations overlap (the store serialises them)', async () => {
    const shared = sharedOver(memoryPolicyState());
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => evaluatePolicyShared(policy, call('transfer', { amount: 100, i }, 'a1'), { state: shared, now: T0 })),
    );
    // Budget 1000 in amounts of 100 → 10 fit, but the agent_tool limit of 3 denies the 4th onwards.
    expect(results.filter((r) => r.verdict === 'allow')).toHaveLength(3);
    expect(results.filter((r) => r.verdict === 'deny')).toHaveLength(17);
  });

  it('does not touch the store when no stateful rule applies to the call', async () => {
    const noCounters = compilePolicy(parsePolicy({ version: 1, default: 'allow', rules: [{ id: 'no-shell', tools: ['shell'], verdict: 'deny' }] }));
    const shared = sharedOver(memoryPolicyState());
    expect((await evaluatePolicyShared(noCounters, call('shell', {}, 'a'), { state: shared, now: T0 })).verdict).toBe('deny');
    expect(shared.transacts).toBe(0);
  });

  it('reads each counter once, keyed like the synchronous path (principal, tool, digest) over its window', async () => {
    const shared = sharedOver(memoryPolicyState());
    await evaluatePolicyShared(policy, call('transfer', { amount: 5 }, 'a1', 'key:k1'), { state: shared, now: T0 });
    expect(shared.lastReads.map((r) => [r.kind, r.sinceMs])).toEqual([
      ['sum', T0 - 86_400_000],
      ['count', T0 - 60_000],
      ['count', T0 - 30_000],
      ['count', T0 - 60_000],
    ]);
    expect(shared.lastReads.every((r) => !r.key.includes('agent=a1'))).toBe(true);
    expect(shared.lastReads.filter((r) => r.key.includes('principal=key%3Ak1'))).toHaveLength(3);
  });

  it('fails closed when the store fails, and needs a state like evaluatePolicy', async () => {
    const broken: SharedPolicyState = { transact: () => Promise.reject(new Error('database away')) };
    await expect(evaluatePolicyShared(policy, call('ping', {}, 'a'), { state: broken, now: T0 })).rejects.toThrow('database away');
    expect(isSharedPolicyState(broken)).toBe(true);
    expect(isSharedPolicyState(memoryPolicyState())).toBe(false);
    expect(() => evaluatePolicy(policy, call('ping', {}, 'a'), { now: T0 })).toThrow(OptionsError);
  });
});
