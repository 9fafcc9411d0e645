import { randomUUID } from 'node:crypto';
import { callDigest, compilePolicy, evaluatePolicyShared, parsePolicy, type PolicyInput } from '@toolgate/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedPostgres, startPostgres } from '../../../../test/support/embedded-postgres';
import { postgresPolicyState } from './postgres-policy-state';
import { openPostgresStore, type PostgresStore } from './postgres-store';

let server: StartedPostgres;
const opened: PostgresStore[] = [];
beforeAll(async () => {
  server = await startPostgres();
}, 90_000);
afterAll(async () => {
  await Promise.allSettled(opened.map((s) => s.close()));
  await server?.stop();
}, 30_000);

async function twoStores(): Promise<[PostgresStore, PostgresStore]> {
  const name = `t_${randomUUID().replaceAll('-', '')}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  const stores = await Promise.all([openPostgresStore(url.toString()), openPostgresStore(url.toString())]);
  opened.push(...stores);
  return stores as [PostgresStore, PostgresStore];
}

const T0 = Date.UTC(2025, 0, 6, 12, 0, 0);
const policy = compilePolicy(
  parsePolicy({
    version: 1,
    default: 'allow',
    rules: [
      { id: 'budget', tools: ['pay'], budget: { field: 'args.amount', max: 10, windowMs: 86_400_000, per: 'agent' }, verdict: 'deny' },
      { id: 'global', limit: { max: 20, windowMs: 3_600_000, per: 'global' }, verdict: 'deny' },
      { id: 'loop', repeat: { max: 100, windowMs: 60_000, per: 'agent_tool' }, verdict: 'deny' },
    ],
  }),
);
const pay = (agent: string, i: number): PolicyInput => {
  const args = { amount: 1, i };
  return { tool: 'pay', args, agent: { id: agent }, digest: callDigest('pay', args) };
};

describe('postgresPolicyState (two pools on one database = two replicas)', () => {
  it('several counters per call, overlapping between calls, decided at once on two pools: exact totals, no deadlock', async () => {
    const [a, b] = await twoStores();
    const states = [postgresPolicyState(a), postgresPolicyState(Promise.resolve(b))];
    const agents = ['a0', 'a1', 'a2'];
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => evaluatePolicyShared(policy, pay(agents[i % 3]!, i), { state: states[i % 2]!, now: T0 + (i % 5) })),
    );
    const allowed = results.map((r, i) => [agents[i % 3], r.verdict] as const).filter(([, v]) => v === 'allow');
    // Each call reads three keys (budget per agent, global limit, repeat): 20 allowed in all, at most 10 per agent.
    expect(allowed).toHaveLength(20);
    for (const agent of agents) expect(allowed.filter(([who]) => who === agent).length).toBeLessThanOrEqual(10);
    const rows = await a.pool.query<{ kind: string; n: number }>("SELECT split_part(key, ':', 1) AS kind, COUNT(*)::int AS n FROM policy_events GROUP BY 1 ORDER BY 1");
    // budget and limit entries only for the 20 allowed calls; a repeat entry for each of the 60.
    expect(rows.rows).toEqual([
      { kind: 'budget', n: 20 },
      { kind: 'limit', n: 20 },
      { kind: 'repeat', n: 60 },
    ]);
  });

  it('any whole-number window works, as on SQLite (1e300 ms: a since far below BIGINT), and a fractional clock', async () => {
    const [a] = await twoStores();
    const state = postgresPolicyState(a);
    const huge = compilePolicy(parsePolicy({ version: 1, default: 'allow', rules: [{ id: 'once', limit: { max: 1, windowMs: 1e300, per: 'global' }, verdict: 'deny' }] }));
    expect((await evaluatePolicyShared(huge, pay('a0', 1), { state, now: T0 + 0.5 })).verdict).toBe('allow');
    const second = await evaluatePolicyShared(huge, pay('a0', 2), { state, now: T0 + 1 });
    expect(second.verdict).toBe('deny');
    expect(second.reason).toBe('rule "once" (deny): limit(global) gt 1 (actual 2)');
  });

  it('a decision that throws writes nothing and releases its locks', async () => {
    const [a] = await twoStores();
    const state = postgresPolicyState(a);
    const reads = [{ kind: 'count' as const, key: 'limit:r:global', sinceMs: 0 }];
    await expect(state.transact(reads, () => { throw new Error('refused'); })).rejects.toThrow('refused');
    const again = await state.transact(reads, (v) => ({ writes: [{ key: 'limit:r:global', atMs: 5, amount: 1, windowMs: 10 }], result: v[0] }));
    expect(again).toBe(0);
    expect(await state.transact(reads, (v) => ({ writes: [], result: v[0] }))).toBe(1);
  });

  it('prunes entries past their window, in the background every pruneEvery writing transactions', async () => {
    const [a] = await twoStores();
    const state = postgresPolicyState(a, { pruneEvery: 3 });
    const write = (key: string, atMs: number, windowMs: number) =>
      state.transact([{ kind: 'count', key, sinceMs: atMs - windowMs }], () => ({ writes: [{ key, atMs, amount: 1, windowMs }], result: undefined }));
    await write('limit:old', 1_000, 100); // expires at 1,100
    await write('limit:live', 1_000, 1_000_000);
    expect((await a.pool.query('SELECT key FROM policy_events ORDER BY key')).rows.map((r) => r.key)).toEqual(['limit:live', 'limit:old']);
    await write('limit:live', 5_000, 1_000_000); // the third write prunes (expired before 5,000)
    await state.idle();
    expect((await a.pool.query('SELECT key FROM policy_events ORDER BY key')).rows.map((r) => r.key)).toEqual(['limit:live', 'limit:live']);
    expect(await state.prune(10_000_000)).toBe(2);
  });
});
