// Two review servers on one PostgreSQL database are one service: a long-poll waiting on replica A
// wakes when replica B records the decision (LISTEN/NOTIFY), A's dashboard stream hears of it, and
// a notification lost while A's listening connection was down is made up for by a re-read.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type StartedPostgres, startPostgres } from '../../../../test/support/embedded-postgres';
import { decodeProtectedHeader } from 'jose';
import { http, removeDir, startServer, type Started } from '../testing/fixture';
import { freshDatabase, runSql } from '../testing/postgres-database';
import type { ReviewView } from './review-service';

let pg: StartedPostgres;
beforeAll(async () => {
  pg = await startPostgres();
}, 90_000);
afterAll(async () => {
  await pg?.stop();
}, 30_000);
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** Replicas A and B on one fresh database; B uses A's keys (they live in the database). */
async function replicas(options: Parameters<typeof startServer>[0] = {}): Promise<{ a: Started; b: Started; database: string }> {
  const database = await freshDatabase(pg.url);
  const a = await startServer({ ...options, database });
  const b = await startServer({ ...options, database }, false);
  for (const s of [a, b]) {
    cleanups.push(() => removeDir(s.dataDir));
    cleanups.push(() => s.server.close());
  }
  return { a, b: { ...b, evalKey: a.evalKey, approveKey: a.approveKey, adminKey: a.adminKey }, database };
}

const waiting = (s: Started) => (s.server.service as unknown as { d: { waiters: { size: number } } }).d.waiters.size;
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 5));
}

// Each long-poll asks for 60 s: without the cross-replica wake-up these tests time out (20 s).
describe('cross-replica wake-up (PostgreSQL LISTEN/NOTIFY)', () => {
  it('a long-poll on A wakes when B decides; A’s dashboard stream gets review.decided', async () => {
    const { a, b } = await replicas();
    const r = await http(a.url, 'POST', '/v1/reviews', a.evalKey, { idempotencyKey: 'x-1', call: { tool: 'transfer', args: { amount: 500 } } });
    expect(r.status).toBe(202);
    const heard = new Promise<ReviewView>((resolve) => a.server.service.events.once('review.decided', resolve));
    const poll = http(a.url, 'GET', `/v1/reviews/${r.body.id}?waitMs=60000`, a.evalKey);
    await until(() => waiting(a) === 1);
    const decided = await http(b.url, 'POST', `/v1/reviews/${r.body.id}/decision`, b.approveKey, { verdict: 'deny', reason: 'not today' });
    expect(decided.status).toBe(200);
    const got = await poll;
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: r.body.id, status: 'decided', verdict: 'deny', reason: 'not today' });
    expect(await heard).toMatchObject({ id: r.body.id, verdict: 'deny' });
  }, 20_000);

  it('a decision announced while A’s listening connection was down still wakes A’s long-poll (re-read after reconnect)', async () => {
    const { a, b, database } = await replicas();
    const r = await http(a.url, 'POST', '/v1/reviews', a.evalKey, { idempotencyKey: 'x-2', call: { tool: 'transfer', args: { amount: 700 } } });
    const poll = http(a.url, 'GET', `/v1/reviews/${r.body.id}?waitMs=60000`, a.evalKey);
    await until(() => waiting(a) === 1);
    // Cut every LISTEN connection on this database (A's and B's); decide on B before they reconnect.
    await runSql(database, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'");
    expect((await http(b.url, 'POST', `/v1/reviews/${r.body.id}/decision`, b.approveKey, { verdict: 'allow' })).status).toBe(200);
    const got = await poll;
    expect(got.body).toMatchObject({ status: 'decided', verdict: 'allow' });
  }, 20_000);

  it('a signing-key rotation on A is used by B at once: B signs with the new key and serves it in its JWKS', async () => {
    const { a, b } = await replicas();
    const rotated = await http(a.url, 'POST', '/v1/admin/signing-keys/rotate', a.adminKey);
    expect(rotated.status).toBe(200);
    const kid = rotated.body.kid as string;
    const jwks = async () => (await http(b.url, 'GET', '/.well-known/jwks.json')).body.keys as Array<{ kid: string }>;
    for (let keys = await jwks(); keys[0]?.kid !== kid; keys = await jwks()) await new Promise((r) => setTimeout(r, 5));
    const allowed = await http(b.url, 'POST', '/v1/reviews', b.evalKey, { idempotencyKey: 'k-1', call: { tool: 'transfer', args: { amount: 5 } } });
    expect(allowed.body.verdict).toBe('allow');
    expect(decodeProtectedHeader(allowed.body.proof).kid).toBe(kid);
  }, 20_000);

  it('a review created on a server that then stops is expired by the other one, without anyone reading it', async () => {
    const { a, b } = await replicas({ pendingTimeoutMs: 300 });
    const expired = new Promise<ReviewView>((resolve) => b.server.service.events.on('review.decided', (v) => v.decidedBy === 'expiry' && resolve(v)));
    const r = await http(a.url, 'POST', '/v1/reviews', a.evalKey, { idempotencyKey: 'e-1', call: { tool: 'transfer', args: { amount: 900 } } });
    expect(r.status).toBe(202);
    await a.server.close();
    expect(await expired).toMatchObject({ id: r.body.id, verdict: 'deny', decidedBy: 'expiry' });
  }, 20_000);
});

describe('exactly-once across replicas, over HTTP', () => {
  it('one idempotency key sent to both replicas at once is one review; 50 decisions spread over both leave one; one outcome wins', async () => {
    const { a, b } = await replicas();
    const both = [a, b];
    const body = { idempotencyKey: 'race-1', call: { tool: 'transfer', args: { amount: 800 } } };
    const submits = await Promise.all(Array.from({ length: 10 }, (_, i) => http(both[i % 2]!.url, 'POST', '/v1/reviews', a.evalKey, body)));
    const ids = new Set(submits.map((r) => r.body.id as string));
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    expect((await a.server.reviewStore.listReviews({ limit: 100 })).length).toBe(1);

    const decisions = await Promise.all(
      Array.from({ length: 50 }, (_, i) => http(both[i % 2]!.url, 'POST', `/v1/reviews/${id}/decision`, a.approveKey, { verdict: 'allow', reason: `replica ${i % 2}` })),
    );
    expect(decisions.filter((d) => d.status === 200)).toHaveLength(1);
    expect(decisions.filter((d) => d.status === 409 && d.body.error.code === 'ALREADY_DECIDED')).toHaveLength(49);
    const audit = await b.server.reviewStore.auditAfter(0, 10_000);
    expect(audit.filter((r) => r.kind === 'human_decision')).toHaveLength(1);

    const outcomes = await Promise.all(both.map((s) => http(s.url, 'POST', `/v1/reviews/${id}/outcome`, a.evalKey, { status: 'success' })));
    expect(outcomes.map((o) => o.status).sort()).toEqual([200, 409]);
    const again = await http(b.url, 'POST', '/v1/reviews', a.evalKey, body);
    expect(again.body).toMatchObject({ id, code: 'ALREADY_EXECUTED', verdict: 'deny' });
    expect((await http(a.url, 'GET', '/v1/audit/verify', a.approveKey)).body.ok).toBe(true);
  }, 30_000);
});

describe('the database goes away under a running server', () => {
  it('requests fail with 503 STORE_UNAVAILABLE (never a 500), /readyz says why, and the server recovers when it returns', async () => {
    const { a } = await replicas({ apiKeyCacheMs: 0 });
    const body = { idempotencyKey: 'o-1', call: { tool: 'transfer', args: { amount: 5 } } };
    await pg.halt();
    try {
      const down = await http(a.url, 'POST', '/v1/reviews', a.evalKey, body);
      expect(down.status).toBe(503);
      expect(down.body.error.code).toBe('STORE_UNAVAILABLE');
      const ready = await http(a.url, 'GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.checks.database).toMatchObject({ ok: false, engine: 'postgres' });
      expect((await http(a.url, 'GET', '/healthz')).status).toBe(503);
    } finally {
      await pg.resume();
    }
    const up = await http(a.url, 'POST', '/v1/reviews', a.evalKey, body);
    expect(up.status).toBe(200);
    expect(up.body.verdict).toBe('allow');
    expect((await http(a.url, 'GET', '/readyz')).status).toBe(200);
  }, 60_000);
});
