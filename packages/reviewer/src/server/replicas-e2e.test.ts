// Three review server replicas on one PostgreSQL are one service behind a round-robin load balancer:
// a core gate whose every request may land on another replica decides each call exactly as one
// server would (policy allow runs once, deny never, human approve once, human deny never), and the
// replicas agree on one audit chain that verifies. And with the replicas as real `toolgate serve`
// processes, SIGKILL of one in the middle of a burst loses nothing it acknowledged.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { createGate, isAllowed, runGoverned, httpReviewer, type Decision } from '@toolgate/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedPostgres, startPostgres } from '../../../../test/support/embedded-postgres';
import { runCli } from '../cli/run-cli';
import { TEST_POLICY, http, removeDir, tempDir } from '../testing/fixture';
import { freshDatabase } from '../testing/postgres-database';
import { spawnSourceCli } from '../testing/source-cli';
import { createReviewServer, type ReviewServer } from './create-review-server';
import { startRoundRobinProxy, type RoundRobinProxy } from './round-robin-proxy';

let postgres: StartedPostgres;
const cleanups: Array<() => unknown> = [];
beforeAll(async () => {
  postgres = await startPostgres();
}, 90_000);
afterAll(async () => {
  while (cleanups.length) await Promise.resolve(cleanups.pop()!()).catch(() => undefined);
  await postgres?.stop();
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
    const database = await freshDatabase(postgres.url);
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

/** `toolgate serve` from the sources as its own process; resolves with its URL once it listens. */
async function spawnReplica(database: string, policyFile: string): Promise<{ child: ChildProcessWithoutNullStreams; url: string }> {
  const child = spawnSourceCli(['serve', '--database', database, '--port', '0', '--policy', policyFile]);
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not listen within 60 s: ${stderr}`)), 60_000);
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
      for (const line of stdout.split('\n')) {
        if (!line.includes('toolgate reviewer listening')) continue;
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited ${code} before listening: ${stderr}`));
    });
  });
  // Keep draining its output so a full pipe never blocks it.
  child.stdout.resume();
  return { child, url };
}

async function createKey(database: string, scope: string): Promise<string> {
  const out: string[] = [];
  expect(await runCli(['keys', 'create', '--scope', scope, '--json', '--database', database], { out: (t) => out.push(t), err: () => {}, env: {} })).toBe(0);
  return (JSON.parse(out.join('')) as { key: string }).key;
}

describe('SIGKILL of one replica process under load', () => {
  it('loses nothing it acknowledged: every acknowledged review exists once, no idempotency key has two reviews, the chain verifies, the survivors keep serving', async () => {
    const database = await freshDatabase(postgres.url);
    const dir = tempDir();
    cleanups.push(() => removeDir(dir));
    const policyFile = join(dir, 'policy.yaml');
    writeFileSync(policyFile, JSON.stringify(TEST_POLICY));
    const evalKey = await createKey(database, 'eval');
    const approveKey = await createKey(database, 'approve');
    const replicas = [];
    // One at a time: the first runs the migrations, the others find them done.
    for (let i = 0; i < 3; i++) replicas.push(await spawnReplica(database, policyFile));
    const proxy = await startRoundRobinProxy(replicas.map((r) => r.url), { attempts: 6 });
    cleanups.push(() => proxy.close());

    const TOTAL = 200;
    const CONCURRENCY = 20;
    const KILL_AFTER = 60;
    const acked = new Map<string, string>(); // idempotency key -> review id
    let done = 0;
    let killed: Promise<unknown> | undefined;
    const victim = replicas[1]!.child;
    const submit = async (n: number): Promise<void> => {
      const idempotencyKey = `burst-${n}`;
      const body = { idempotencyKey, call: { tool: 'transfer', args: { amount: n % 2 === 0 ? 50 : 500, n } } };
      // A client that lost its answer sends the same request again: the idempotency key makes that safe.
      for (let attempt = 1; ; attempt++) {
        const r = await http(proxy.url, 'POST', '/v1/reviews', evalKey, body).catch((error: unknown) => ({ status: 0, body: String(error) }));
        if (r.status === 200 || r.status === 202) {
          expect(r.body.verdict).toBe(n % 2 === 0 ? 'allow' : 'review');
          acked.set(idempotencyKey, r.body.id as string);
          break;
        }
        expect([0, 502, 503], JSON.stringify(r.body)).toContain(r.status);
        if (attempt >= 10) throw new Error(`review ${n} not acknowledged after ${attempt} attempts: ${r.status}`);
        await new Promise((res) => setTimeout(res, 20 * attempt));
      }
      done += 1;
      if (done === KILL_AFTER) {
        killed = once(victim, 'exit');
        victim.kill('SIGKILL');
      }
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < TOTAL) await submit(next++);
      }),
    );
    expect(killed).toBeDefined();
    const [, signal] = (await killed) as [number | null, string | null];
    expect(signal).toBe('SIGKILL');
    // 140 submissions came after the kill while the balancer still sent every third to the dead
    // replica: those connections failed and were sent again to a live one.
    expect(proxy.retried).toBeGreaterThan(0);

    // Every acknowledged review is in the database exactly once, and no key has two reviews.
    expect(acked.size).toBe(TOTAL);
    expect(new Set(acked.values()).size).toBe(TOTAL);
    const client = new pg.Client({ connectionString: database });
    await client.connect();
    try {
      const rows = (await client.query<{ id: string }>('SELECT id FROM reviews')).rows;
      expect(rows.length).toBe(TOTAL);
      const stored = new Set(rows.map((r) => r.id));
      for (const id of acked.values()) expect(stored.has(id)).toBe(true);
      expect((await client.query('SELECT idem_key FROM reviews GROUP BY idem_key HAVING count(*) > 1')).rows).toEqual([]);
    } finally {
      await client.end();
    }

    // The survivors keep serving and read what the dead replica acknowledged; the chain verifies.
    const survivors = [replicas[0]!.url, replicas[2]!.url];
    for (const [i, url] of survivors.entries()) {
      const fresh = await http(url, 'POST', '/v1/reviews', evalKey, { idempotencyKey: `after-${i}`, call: { tool: 'transfer', args: { amount: 10 } } });
      expect(fresh.status).toBe(200);
      expect(fresh.body.verdict).toBe('allow');
      const anyOld = await http(url, 'GET', `/v1/reviews/${acked.get('burst-1')}`, evalKey);
      expect(anyOld.status).toBe(202); // pending (amount 500): read on any replica
      expect(anyOld.body).toMatchObject({ id: acked.get('burst-1'), status: 'pending' });
      const verify = await http(url, 'GET', '/v1/audit/verify', approveKey);
      expect(verify.body).toMatchObject({ ok: true, table: { ok: true } });
    }
  }, 120_000);
});
