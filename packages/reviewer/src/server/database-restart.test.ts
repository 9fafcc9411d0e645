// The PostgreSQL server restarts while two review server replicas are under load from plain HTTP
// clients and from gates (fail mode closed and open, on each replica). While it is away every
// request that needs it is a 503 STORE_UNAVAILABLE (never a 500, never an allow), /readyz says so,
// no gate runs a body on a server allow that was not stored, calls waiting for a human are never
// failed open, and once it is back the replicas serve again and every review acknowledged before
// the halt is still there, in one audit chain that verifies.
import { createGate, isAllowed, runGoverned, httpReviewer, type Decision, type Gate } from '@toolgate/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedPostgres, startPostgres } from '../../../../test/support/embedded-postgres';
import { TEST_POLICY, http, removeDir, tempDir } from '../testing/fixture';
import { freshDatabase } from '../testing/postgres-database';
import { createReviewServer, type ReviewServer } from './create-review-server';

let postgres: StartedPostgres;
const cleanups: Array<() => unknown> = [];
beforeAll(async () => {
  postgres = await startPostgres();
}, 90_000);
afterAll(async () => {
  while (cleanups.length) await Promise.resolve(cleanups.pop()!()).catch(() => undefined);
  await postgres?.stop();
}, 60_000);

type Phase = 'up' | 'down' | 'back';
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Waits for `check` (the label says what for); bounded by the test's own timeout. */
async function until(label: string, check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await pause(10);
  return void label;
}

interface RawResult { phase: Phase; end: Phase; status: number; code?: string; id?: string; idem: string; verdict?: string }
interface GateResult { phase: Phase; end: Phase; decision: Decision; ran: boolean }

describe('PostgreSQL restarts under load on two replicas', () => {
  let a: ReviewServer;
  let b: ReviewServer;
  let urls: [string, string];
  let evalKey: string;
  let approveKey: string;

  beforeAll(async () => {
    const database = await freshDatabase(postgres.url);
    // A looks keys up on every request (no cache), B from its 1 s cache: both paths meet the outage.
    const dirs = [tempDir(), tempDir()];
    a = createReviewServer({ policy: TEST_POLICY, port: 0, defaultMetrics: false, database, apiKeyCacheMs: 0, dataDir: dirs[0] });
    b = createReviewServer({ policy: TEST_POLICY, port: 0, defaultMetrics: false, database, dataDir: dirs[1] });
    cleanups.push(() => dirs.forEach(removeDir), () => a.close(), () => b.close());
    evalKey = (await a.keys.createStored('eval', 'agent')).key;
    approveKey = (await a.keys.createStored('approve', 'alice')).key;
    urls = [await a.listen(), await b.listen()];
  }, 60_000);

  it('503 STORE_UNAVAILABLE while it is away (never 500, never an allow), nothing acknowledged is lost, and the service recovers', async () => {
    let phase: Phase = 'up';
    let running = true;

    // Plain clients: two per replica, each submitting small transfers (a policy allow) in a loop.
    const raw: RawResult[][] = [[], [], [], []];
    const rawLoops = raw.map(async (results, w) => {
      for (let n = 0; running; n++) {
        const idem = `raw-${w}-${n}`;
        const started = phase;
        const r = await http(urls[w % 2]!, 'POST', '/v1/reviews', evalKey, { idempotencyKey: idem, call: { tool: 'transfer', args: { amount: 1 + (n % 90), to: `w${w}` } } });
        results.push({ phase: started, end: phase, status: r.status, idem, code: r.body?.error?.code, id: r.body?.id, verdict: r.body?.verdict });
        await pause(5);
      }
    });

    // Gates: closed and open fail mode, on each replica. Every high-stakes body is counted.
    const gates = (['closed', 'open'] as const).flatMap((failMode) => [0, 1].map((replica) => {
      const gate: Gate = createGate({
        reviewer: httpReviewer({ url: urls[replica]!, apiKey: evalKey, pollWaitMs: 60_000 }),
        jwksUrl: `${urls[replica]}/.well-known/jwks.json`,
        highStakes: ['transfer'],
        failMode,
        onReview: 'wait',
        timeoutMs: 1_500,
        reviewTimeoutMs: 60_000,
        circuitBreaker: { failureThreshold: 3, cooldownMs: 200 },
      });
      cleanups.push(() => gate.close());
      return { name: `${failMode}@${replica === 0 ? 'A' : 'B'}`, failMode, gate, results: [] as GateResult[], ran: new Map<string, number>() };
    }));
    const governed = async (g: (typeof gates)[number], kind: string, args: Record<string, unknown>, callId: string): Promise<GateResult> => {
      const started = phase;
      const decision = await g.gate.review({ tool: 'transfer', args, callId, runId: `restart-${g.name}` });
      let ran = false;
      if (isAllowed(decision)) {
        await runGoverned(g.gate, decision, () => {
          ran = true;
          g.ran.set(kind, (g.ran.get(kind) ?? 0) + 1);
        });
      }
      return { phase: started, end: phase, decision, ran };
    };
    const gateLoops = gates.map(async (g) => {
      for (let n = 0; running; n++) {
        g.results.push(await governed(g, 'small', { amount: 2 + (n % 90), to: g.name }, `small-${n}`));
        await pause(5);
      }
    });

    const rawAcks = (w: number, p: Phase) => raw[w]!.filter((r) => r.phase === p && r.end === p && r.status === 200).length;
    const gateAllows = (g: (typeof gates)[number], p: Phase) => g.results.filter((r) => r.phase === p && r.end === p && r.decision.source === 'policy').length;
    await until('load before the halt', () => raw.every((_, w) => rawAcks(w, 'up') >= 3) && gates.every((g) => gateAllows(g, 'up') >= 2));

    // Calls that need a human: each gate waits on one to approve and one to deny (after the restart).
    const waiting = gates.flatMap((g) => [
      governed(g, 'approve-me', { amount: 500, to: 'approve-me' }, 'human-approve').then((r) => ({ g, kind: 'approve-me', r })),
      governed(g, 'deny-me', { amount: 600, to: 'deny-me' }, 'human-deny').then((r) => ({ g, kind: 'deny-me', r })),
    ]);
    await until('eight pending reviews', async () => (await a.reviewStore.countPending()) === 8);
    const pending = await a.reviewStore.listReviews({ status: 'pending', limit: 100 });

    // The database goes away under load.
    await postgres.halt();
    phase = 'down';
    try {
      const rawFailures = (w: number) => raw[w]!.filter((r) => r.phase === 'down' && r.end === 'down' && r.status !== 200).length;
      const gateFailures = (g: (typeof gates)[number]) => g.results.filter((r) => r.phase === 'down' && r.end === 'down').length;
      await until('failures while down', () => raw.every((_, w) => rawFailures(w) >= 3) && gates.every((g) => gateFailures(g) >= 2));
      for (const url of urls) {
        const ready = await http(url, 'GET', '/readyz');
        expect(ready.status).toBe(503);
        expect(ready.body.checks.database).toMatchObject({ ok: false, engine: 'postgres' });
      }
      // A human cannot decide while the database is away: 503, not a decision that is not stored.
      const early = await http(urls[1], 'POST', `/v1/reviews/${pending[0]!.id}/decision`, approveKey, { verdict: 'allow' });
      expect(early.status).toBe(503);
      expect(early.body.error.code).toBe('STORE_UNAVAILABLE');
    } finally {
      await postgres.resume();
      phase = 'back';
    }

    // Back: both replicas serve again, and the humans decide the waiting calls (on B).
    await until('ready again', async () => (await Promise.all(urls.map((u) => http(u, 'GET', '/readyz')))).every((r) => r.status === 200));
    for (const row of pending) {
      const verdict = JSON.parse(row.args_json).to === 'approve-me' ? 'allow' : 'deny';
      const d = await http(urls[1], 'POST', `/v1/reviews/${row.id}/decision`, approveKey, { verdict, reason: 'after the restart' });
      expect(d.status).toBe(200);
    }
    const humans = await Promise.all(waiting);
    await until('load after the restart', () => raw.every((_, w) => rawAcks(w, 'back') >= 3) && gates.every((g) => gateAllows(g, 'back') >= 2));
    running = false;
    await Promise.all([...rawLoops, ...gateLoops]);

    // Plain clients: only 200 or 503 STORE_UNAVAILABLE, never a 500, never an allow while down.
    const all = raw.flat();
    for (const r of all) {
      expect([200, 503], `${r.idem}: ${r.status} ${r.code}`).toContain(r.status);
      if (r.status === 503) expect(r.code).toBe('STORE_UNAVAILABLE');
      if (r.phase === 'down' && r.end === 'down') expect(r.status).toBe(503);
    }
    expect(all.filter((r) => r.status === 503).length).toBeGreaterThanOrEqual(12);

    // Nothing acknowledged is lost: every 200 is stored, under its idempotency key, as allowed.
    const acked = all.filter((r) => r.status === 200);
    for (const r of acked) {
      const row = await b.reviewStore.getReview(r.id!);
      // (stored per submitting key: `<key id><idempotency key>`)
      expect(row, r.idem).toMatchObject({ id: r.id, idem_key: expect.stringMatching(new RegExp(`${r.idem}$`)), status: 'decided', verdict: 'allow' });
    }

    // Gates: every body that ran is accounted for by one allowing decision.
    for (const g of gates) {
      const allowed = g.results.filter((r) => isAllowed(r.decision));
      expect(g.results.filter((r) => r.ran).length, g.name).toBe(allowed.length);
      expect(g.ran.get('small') ?? 0, g.name).toBe(allowed.length);
      for (const r of allowed) {
        if (r.decision.source === 'fail_open') {
          // The user's choice for outages (failMode open): no proof, no review, recorded as such.
          expect(g.failMode).toBe('open');
          expect(r.decision).toMatchObject({ error: { code: expect.any(String) } });
          expect(r.decision.proof).toBeUndefined();
          expect(r.decision.reviewId).toBeUndefined();
          continue;
        }
        // A server allow: signed, and stored (it survived the restart).
        expect(r.decision.source, g.name).toBe('policy');
        expect(r.decision.proof).toEqual(expect.any(String));
        expect(await a.reviewStore.getReview(r.decision.reviewId!), g.name).toMatchObject({ verdict: 'allow', status: 'decided' });
      }
      // While the database was away no server allow reached any gate.
      const down = g.results.filter((r) => r.phase === 'down' && r.end === 'down');
      expect(down.length).toBeGreaterThanOrEqual(2);
      for (const r of down) {
        expect(r.decision.source, g.name).toBe(g.failMode === 'open' ? 'fail_open' : 'fail_closed');
        if (g.failMode === 'closed') expect(r.ran).toBe(false);
      }
      if (g.failMode === 'closed') expect(g.results.some((r) => r.decision.source === 'fail_open')).toBe(false);
    }

    // Calls that waited for a human across the restart: approved ones ran exactly once (with the
    // proof of the stored decision), denied ones never, in either fail mode.
    for (const { g, kind, r } of humans) {
      if (kind === 'approve-me') {
        expect(r.decision, `${g.name} ${kind}`).toMatchObject({ verdict: 'allow', source: 'human', proof: expect.any(String) });
        expect(g.ran.get(kind), `${g.name} ${kind}`).toBe(1);
      } else {
        expect(r.decision, `${g.name} ${kind}`).toMatchObject({ verdict: 'deny', source: 'human' });
        expect(g.ran.get(kind), `${g.name} ${kind}`).toBeUndefined();
      }
    }

    // One chain across both replicas and the restart, and it verifies on each.
    for (const url of urls) {
      const verify = await http(url, 'GET', '/v1/audit/verify', approveKey);
      expect(verify.status).toBe(200);
      expect(verify.body.ok).toBe(true);
    }
  }, 120_000);
});
