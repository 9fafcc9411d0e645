// Three review server replicas on one PostgreSQL are one service behind a round-robin load balancer:
// a core gate whose every request may land on another replica decides each call exactly as one
// server would (policy allow runs once, deny never, human approve once, human deny never), and the
// replicas agree on one audit chain that verifies.
import { createGate, isAllowed, runGoverned, httpReviewer, type Decision } from '@toolgate/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedPostgres, startPostgres } from '../../../../test/support/embedded-postgres';
import { TEST_POLICY, http } from '../testing/fixture';
import { freshDatabase } from '../testing/postgres-database';
import { createReviewServer, type ReviewServer } from './create-review-server';
import { startRoundRobinProxy, type RoundRobinProxy } from './round-robin-proxy';

let pg: StartedPostgres;
const cleanups: Array<() => unknown> = [];
beforeAll(async () => {
  pg = await startPostgres();
}, 90_000);
afterAll(async () => {
  while (cleanups.length) await Promise.resolve(cleanups.pop()!()).catch(() => undefined);
  await pg?.stop();
}, 60_000);

/** Answers pending reviews through `url` (the proxy) as a person at the dashboard would. */
function startHuman(url: string, approveKey: string, approve: (args: Record<string, unknown>) => boolean) {
  let running = true;
  const decided = new Map<string, number>();
  const loop = (async () => {
    while (running) {
      const list = await http(url, 'GET', '/v1/reviews?status=pending', approveKey);
      for (const r of (list.body.reviews ?? []) as Array<{ id: string; args: Record<string, unknown> }>) {
        if (decided.has(r.id)) continue;
        const d = await http(url, 'POST', `/v1/reviews/${r.id}/decision`, approveKey, { verdict: approve(r.args) ? 'allow' : 'deny', reason: 'e2e human' });
        decided.set(r.id, d.status);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    decided,
    async stop() {
      running = false;
      await loop;
    },
  };
}

describe('three replicas behind a round-robin load balancer, one gate', () => {
  let servers: ReviewServer[];
  let urls: string[];
  let proxy: RoundRobinProxy;
  let evalKey: string;
  let approveKey: string;

  beforeAll(async () => {
    const database = await freshDatabase(pg.url);
    const first = createReviewServer({ policy: TEST_POLICY, port: 0, defaultMetrics: false, database });
    cleanups.push(() => first.close());
    evalKey = first.keys.create('eval', 'agent');
    approveKey = first.keys.create('approve', 'alice');
    const firstUrl = await first.listen();
    const others = [0, 1].map(() => createReviewServer({ policy: TEST_POLICY, port: 0, defaultMetrics: false, database }));
    for (const s of others) cleanups.push(() => s.close());
    servers = [first, ...others];
    urls = [firstUrl, ...(await Promise.all(others.map((s) => s.listen())))];
    proxy = await startRoundRobinProxy(urls);
    cleanups.push(() => proxy.close());
  }, 60_000);

  it('policy allow runs once, policy deny never, human approve once, human deny never; the chain verifies on every replica with one head', async () => {
    const human = startHuman(proxy.url, approveKey, (args) => args.to === 'approve-me');
    cleanups.push(() => human.stop());
    const gate = createGate({
      reviewer: httpReviewer({ url: proxy.url, apiKey: evalKey, pollWaitMs: 60_000 }),
      jwksUrl: `${proxy.url}/.well-known/jwks.json`,
      highStakes: ['transfer'],
      onReview: 'wait',
      // A long-poll that is not woken by a decision made on another replica outlives this deadline:
      // the gate then denies on timeout, and the "approved runs once" counter below fails.
      reviewTimeoutMs: 25_000,
    });
    cleanups.push(() => gate.close());

    const calls = [
      ...Array.from({ length: 4 }, (_, i) => ({ kind: 'policy-allow', args: { amount: 50 + i, to: 'shop' } })),
      ...Array.from({ length: 3 }, (_, i) => ({ kind: 'policy-deny', args: { amount: 20_000 + i, to: 'offshore' } })),
      ...Array.from({ length: 3 }, (_, i) => ({ kind: 'human-approve', args: { amount: 500 + i, to: 'approve-me' } })),
      ...Array.from({ length: 3 }, (_, i) => ({ kind: 'human-deny', args: { amount: 600 + i, to: 'deny-me' } })),
    ];
    const ran = new Map<string, number>();
    const decisions: Array<{ kind: string; decision: Decision }> = await Promise.all(
      calls.map(async (c, i) => {
        const decision = await gate.review({ tool: 'transfer', args: c.args, callId: `call-${i}`, runId: 'replicas-e2e' });
        if (isAllowed(decision)) await runGoverned(gate, decision, () => void ran.set(c.kind, (ran.get(c.kind) ?? 0) + 1));
        return { kind: c.kind, decision };
      }),
    );
    await human.stop();

    // The side effects: allowed bodies ran exactly once each, denied ones never.
    expect(Object.fromEntries(ran)).toEqual({ 'policy-allow': 4, 'human-approve': 3 });
    for (const { kind, decision } of decisions) {
      const expected = kind === 'policy-allow' ? { verdict: 'allow', source: 'policy' }
        : kind === 'policy-deny' ? { verdict: 'deny', source: 'policy' }
        : kind === 'human-approve' ? { verdict: 'allow', source: 'human' }
        : { verdict: 'deny', source: 'human' };
      expect(decision, kind).toMatchObject(expected);
    }
    expect([...human.decided.values()]).toEqual([200, 200, 200, 200, 200, 200]);

    // Submissions, waits and decisions were spread over the replicas.
    const replicasOf = (method: string, prefix: RegExp) => new Set(proxy.served.filter((s) => s.method === method && prefix.test(s.path)).map((s) => s.index));
    expect(replicasOf('POST', /^\/v1\/reviews$/).size).toBe(3);
    expect(replicasOf('POST', /^\/v1\/reviews\/[^/]+\/decision$/).size).toBeGreaterThan(1);
    expect(replicasOf('GET', /^\/v1\/reviews\/[^/?]+\?waitMs=/).size).toBeGreaterThan(1);

    // Each allowed call's outcome reaches the service (reported fire-and-forget: wait for it).
    const approvedIds = decisions.filter((d) => d.kind === 'human-approve' || d.kind === 'policy-allow').map((d) => d.decision.reviewId!);
    expect(new Set(approvedIds).size).toBe(7);
    for (const id of approvedIds) {
      for (;;) {
        const r = await http(urls[0]!, 'GET', `/v1/reviews/${id}`, evalKey);
        expect(r.status).toBe(200);
        if (r.body.executed === true) break;
        await new Promise((res) => setTimeout(res, 10));
      }
    }
    // 13 calls, 13 reviews: nothing was created twice by a retry on another replica.
    expect((await servers[1]!.reviewStore.listReviews({ limit: 100 })).length).toBe(13);

    // Every replica verifies the one chain; once a checkpoint closes it, all name the same head.
    const verifyAll = () => Promise.all(urls.map((u) => http(u, 'GET', '/v1/audit/verify', approveKey)));
    for (const v of await verifyAll()) expect(v.body).toMatchObject({ ok: true, table: { ok: true } });
    const again = await verifyAll();
    for (const v of again) expect(v.body.ok).toBe(true);
    const heads = again.map((v) => JSON.stringify(v.body.heads.database));
    expect(again[0]!.body.heads.database).toBeTruthy();
    expect(new Set(heads).size).toBe(1);
  }, 60_000);
});
