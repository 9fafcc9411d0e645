// Policy counters (limit, budget, repeat) on PostgreSQL are one set of counters for every replica:
// a budget of 10 is 10 across two replicas taking calls at once, not 10 per replica; the same for
// a rate limit and for loop detection; and the counters outlive the replicas that spent them.
import type { Policy } from '@toolgate/core';
import { createGate, isAllowed, runGoverned } from '@toolgate/core';
import { httpReviewer } from '@toolgate/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type StartedPostgres, startPostgres } from '../../../../test/support/embedded-postgres';
import { http } from '../testing/fixture';
import { freshDatabase } from '../testing/postgres-database';
import pg from 'pg';
import { createReviewServer, type ReviewServer } from './create-review-server';
import { startRoundRobinProxy } from './round-robin-proxy';

const DAY = 86_400_000;
const POLICY: Policy = {
  version: 1,
  default: 'allow',
  rules: [
    { id: 'daily-budget', tools: ['transfer'], budget: { field: 'args.amount', max: 10, windowMs: DAY, per: 'agent' }, verdict: 'deny' },
    { id: 'new-payee', tools: ['transfer'], when: [{ field: 'args.to', op: 'eq', value: 'new-payee' }], verdict: 'review' },
    { id: 'rate', tools: ['ping'], limit: { max: 5, windowMs: 3_600_000, per: 'tool' }, verdict: 'deny' },
    { id: 'loop', tools: ['lookup'], repeat: { max: 3, windowMs: 60_000, per: 'agent' }, verdict: 'deny', reason: 'looks like a loop' },
  ],
};

let postgres: StartedPostgres;
beforeAll(async () => {
  postgres = await startPostgres();
}, 90_000);
afterAll(async () => {
  await postgres?.stop();
}, 30_000);
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await Promise.resolve(cleanups.pop()!()).catch(() => undefined);
});

interface Replicas {
  a: ReviewServer;
  b: ReviewServer;
  urls: [string, string];
  evalKey: string;
  database: string;
}

async function replica(database: string, apiKeyCacheMs?: number): Promise<{ server: ReviewServer; url: string }> {
  const server = createReviewServer({ policy: POLICY, port: 0, defaultMetrics: false, database, ...(apiKeyCacheMs === undefined ? {} : { apiKeyCacheMs }) });
  cleanups.push(() => server.close());
  return { server, url: await server.listen() };
}

async function replicas(apiKeyCacheMs?: number): Promise<Replicas> {
  const database = await freshDatabase(postgres.url);
  const a = await replica(database, apiKeyCacheMs);
  const b = await replica(database, apiKeyCacheMs);
  const evalKey = (await a.server.keys.createStored('eval', 'agent')).key;
  return { a: a.server, b: b.server, urls: [a.url, b.url], evalKey, database };
}

/** `n` calls at once, alternating replicas, each with its own idempotency key. */
async function burst(urls: readonly string[], key: string, n: number, tag: string, call: (i: number) => { tool: string; args: unknown }) {
  return Promise.all(
    Array.from({ length: n }, (_, i) => http(urls[i % urls.length]!, 'POST', '/v1/reviews', key, { idempotencyKey: `${tag}-${i}`, call: call(i), agent: { id: `agent-${i}` } })),
  );
}

async function sql<R extends pg.QueryResultRow>(database: string, text: string, params: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: database });
  await c.connect();
  try {
    return (await c.query<R>(text, params)).rows;
  } finally {
    await c.end();
  }
}

describe('policy counters shared by replicas on PostgreSQL', () => {
  it('a budget of 10 is 10 across two replicas: 40 concurrent calls of 1 → exactly 10 allowed, 30 denied by the budget', async () => {
    const { urls, evalKey, database } = await replicas();
    const answers = await burst(urls, evalKey, 40, 'b', () => ({ tool: 'transfer', args: { amount: 1 } }));
    expect(answers.every((r) => r.status === 200)).toBe(true);
    const allowed = answers.filter((r) => r.body.verdict === 'allow');
    const denied = answers.filter((r) => r.body.verdict === 'deny');
    expect(allowed).toHaveLength(10);
    expect(denied).toHaveLength(30);
    for (const d of denied) expect(d.body.reason).toMatch(/^rule "daily-budget" \(deny\): budget\(args\.amount\) gt 10 \(actual 1[1-9]\)$/);
    // Each replica took some of both.
    for (const url of urls) expect(answers.some((r, i) => urls[i % 2] === url && r.body.verdict === 'allow')).toBe(true);
    // Spent: exactly what was allowed, stored once.
    const [spent] = await sql<{ n: number; total: number }>(database, "SELECT COUNT(*)::int AS n, SUM(amount)::float8 AS total FROM policy_events WHERE key LIKE 'budget:%'");
    expect(spent).toEqual({ n: 10, total: 10 });
  }, 60_000);

  it('a gate round-robining over both replicas runs the tool exactly 10 times for a budget of 10 (40 calls)', async () => {
    const { urls, evalKey } = await replicas();
    const proxy = await startRoundRobinProxy(urls);
    cleanups.push(() => proxy.close());
    const gate = createGate({
      reviewer: httpReviewer({ url: proxy.url, apiKey: evalKey }),
      jwksUrl: `${proxy.url}/.well-known/jwks.json`,
      highStakes: ['transfer'],
      // The whole suite runs in parallel on 2 cores: a gate deadline must not turn a slow answer into a deny.
      timeoutMs: 30_000,
    });
    cleanups.push(() => gate.close());
    let ran = 0;
    const decisions = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        // 'to' is set: a condition on an absent field reports actual undefined, which the gate's protocol check refuses (see report).
        const decision = await gate.review({ tool: 'transfer', args: { amount: 1, to: 'shop', n: i }, callId: `c-${i}` });
        if (isAllowed(decision)) await runGoverned(gate, decision, () => void ran++);
        return decision;
      }),
    );
    expect(ran).toBe(10);
    expect(decisions.filter((d) => d.verdict === 'deny' && d.source === 'policy')).toHaveLength(30);
    expect(new Set(proxy.served.filter((s) => s.method === 'POST' && s.path === '/v1/reviews').map((s) => s.index)).size).toBe(2);
  }, 60_000);

  it('a rate limit of 5 per tool is 5 across replicas; reviewed calls and dry runs spend no budget on either replica', async () => {
    const { urls, evalKey, database } = await replicas();
    const pings = await burst(urls, evalKey, 40, 'p', (i) => ({ tool: 'ping', args: { i } }));
    expect(pings.filter((r) => r.body.verdict === 'allow')).toHaveLength(5);
    const limited = pings.filter((r) => r.body.verdict === 'deny');
    expect(limited).toHaveLength(35);
    for (const d of limited) expect(d.body.reason).toMatch(/^rule "rate" \(deny\): limit\(tool\) gt 5 \(actual \d+\)$/);

    // Calls sent to a human spend nothing, on either replica: the whole budget is still there.
    const reviewed = await burst(urls, evalKey, 4, 'h', () => ({ tool: 'transfer', args: { amount: 5, to: 'new-payee' } }));
    expect(reviewed.map((r) => [r.status, r.body.status])).toEqual(Array.from({ length: 4 }, () => [202, 'pending']));
    const fit = await http(urls[0], 'POST', '/v1/reviews', evalKey, { idempotencyKey: 'fit', call: { tool: 'transfer', args: { amount: 10 } } });
    expect(fit.body.verdict).toBe('allow');
    // A dry run on the other replica sees what A spent, and spends nothing itself.
    const dry = await http(urls[1], 'POST', '/v1/reviews', evalKey, { idempotencyKey: 'dry', dryRun: true, call: { tool: 'transfer', args: { amount: 1 } } });
    expect(dry.body.verdict).toBe('deny');
    const [budget] = await sql<{ n: number }>(database, "SELECT COUNT(*)::int AS n FROM policy_events WHERE key LIKE 'budget:%'");
    expect(budget!.n).toBe(1);
  }, 60_000);

  it('loop detection sees repeats on every replica: 12 identical calls at once → 3 allowed, and every evaluation counted', async () => {
    const { urls, evalKey, database } = await replicas();
    const answers = await burst(urls, evalKey, 12, 'r', () => ({ tool: 'lookup', args: { q: 'same' } }));
    expect(answers.filter((r) => r.body.verdict === 'allow')).toHaveLength(3);
    const loops = answers.filter((r) => r.body.verdict === 'deny');
    expect(loops).toHaveLength(9);
    for (const d of loops) expect(d.body.reason).toBe('rule "loop" (deny): looks like a loop');
    // repeat entries are recorded whatever the verdict: 12 evaluations, 12 entries.
    const [seen] = await sql<{ n: number }>(database, "SELECT COUNT(*)::int AS n FROM policy_events WHERE key LIKE 'repeat:%'");
    expect(seen!.n).toBe(12);
    // Other arguments are another call.
    expect((await http(urls[1], 'POST', '/v1/reviews', evalKey, { idempotencyKey: 'other', call: { tool: 'lookup', args: { q: 'other' } } })).body.verdict).toBe('allow');
  }, 60_000);

  it('while the database is away a counted call is 503 STORE_UNAVAILABLE on either replica (never a 500, never an allow) and spends nothing', async () => {
    // Keys stay cached, so requests are not refused before the policy step.
    const { urls, evalKey, database } = await replicas(60_000);
    expect((await burst(urls, evalKey, 9, 'o', () => ({ tool: 'transfer', args: { amount: 1 } }))).every((r) => r.body.verdict === 'allow')).toBe(true);
    await postgres.halt();
    try {
      const down = await burst(urls, evalKey, 4, 'o-down', () => ({ tool: 'transfer', args: { amount: 1 } }));
      for (const r of down) expect([r.status, r.body.error?.code]).toEqual([503, 'STORE_UNAVAILABLE']);
      // A dry run reads the counters before anything else touches the database: the counter step itself fails closed.
      for (const url of urls) {
        const dry = await http(url, 'POST', '/v1/reviews', evalKey, { idempotencyKey: 'o-dry', dryRun: true, call: { tool: 'transfer', args: { amount: 1 } } });
        expect([dry.status, dry.body.error?.code]).toEqual([503, 'STORE_UNAVAILABLE']);
      }
    } finally {
      await postgres.resume();
    }
    // Nothing was spent while it was away: exactly one unit is left.
    const after = await burst(urls, evalKey, 3, 'o-up', () => ({ tool: 'transfer', args: { amount: 1 } }));
    expect(after.filter((r) => r.body.verdict === 'allow')).toHaveLength(1);
    expect(after.filter((r) => r.body.verdict === 'deny')).toHaveLength(2);
    const [spent] = await sql<{ total: number }>(database, "SELECT SUM(amount)::float8 AS total FROM policy_events WHERE key LIKE 'budget:%'");
    expect(spent!.total).toBe(10);
  }, 90_000);

  it('counters survive the replicas: after both restart, the spent budget and limit are still spent', async () => {
    const { a, b, urls, evalKey, database } = await replicas();
    expect((await burst(urls, evalKey, 14, 's', () => ({ tool: 'transfer', args: { amount: 1 } }))).filter((r) => r.body.verdict === 'allow')).toHaveLength(10);
    expect((await burst(urls, evalKey, 6, 'sp', (i) => ({ tool: 'ping', args: { i } }))).filter((r) => r.body.verdict === 'allow')).toHaveLength(5);
    await a.close();
    await b.close();
    const c = await replica(database);
    const after = await http(c.url, 'POST', '/v1/reviews', evalKey, { idempotencyKey: 'after-1', call: { tool: 'transfer', args: { amount: 1 } } });
    expect(after.body).toMatchObject({ verdict: 'deny' });
    expect(after.body.reason).toContain('budget(args.amount) gt 10 (actual 11)');
    const ping = await http(c.url, 'POST', '/v1/reviews', evalKey, { idempotencyKey: 'after-2', call: { tool: 'ping', args: {} } });
    expect(ping.body.reason).toContain('limit(tool) gt 5 (actual 6)');
  }, 60_000);
});
