/**
 * Attacks on the issue 13 speed changes of the review server (abd7aeb: a row points at its audit
 * record and there is no idempotency SELECT; 0bb9f9f: group commit on PostgreSQL; 446d6eb: SQLite
 * ON CONFLICT in the batch). Each promise checked over a real server on 127.0.0.1, on SQLite and on
 * the embedded PostgreSQL, by the stored state (rows, audit records, the chain) rather than the
 * answer alone.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { callDigest } from '@toolgate/core';
import pg from 'pg';
import { startPostgres, type StartedPostgres } from '../../../../test/support/embedded-postgres';
import { http, removeDir, startServer, type Started } from '../testing/fixture';
import { freshDatabase } from '../testing/postgres-database';
import type { ReviewServerOptions } from './create-review-server';

let postgres: StartedPostgres | undefined;
beforeAll(async () => {
  postgres = await startPostgres({ startTimeoutMs: 60_000 });
}, 90_000);
afterAll(async () => {
  await postgres?.stop();
}, 30_000);

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

type EngineName = 'sqlite' | 'postgres';
type S = Started & { database?: string };

async function started(engine: EngineName, options: Partial<ReviewServerOptions> = {}, database?: string): Promise<S> {
  const db = engine === 'postgres' ? (database ?? (await freshDatabase(postgres!.url))) : undefined;
  const s = await startServer({ ...(db ? { database: db } : {}), ...options });
  cleanups.push(() => removeDir(s.dataDir));
  cleanups.push(() => s.server.close());
  return { ...s, ...(db ? { database: db } : {}) };
}

/** One SQL statement against the server's database itself (not through the store). */
async function sql(s: S, text: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
  if (s.database) {
    const c = new pg.Client({ connectionString: s.database });
    await c.connect();
    try {
      return (await c.query(text, params)).rows as Array<Record<string, unknown>>;
    } finally {
      await c.end();
    }
  }
  let i = 0;
  const lite = text.replace(/\$\d+/g, () => {
    i++;
    return '?';
  });
  const stmt = s.server.store.db.prepare(lite);
  if (/^\s*select/i.test(lite)) return stmt.all(...(params as never[])) as Array<Record<string, unknown>>;
  stmt.run(...(params as never[]));
  return [];
}

const count = async (s: S, text: string, params: unknown[] = []) => Number((await sql(s, text, params))[0]!.n);
const reviewRecords = (s: S) => count(s, `SELECT COUNT(*) AS n FROM audit WHERE record LIKE '%"kind":"review"%'`);

const submit = (s: S, idempotencyKey: string, tool: string, args: unknown, extra: Record<string, unknown> = {}) =>
  http(s.url, 'POST', '/v1/reviews', s.evalKey, { idempotencyKey, call: { tool, args, callId: `c-${idempotencyKey}` }, agent: { id: 'agent-1' }, ...extra });

/** A review as a human reads it (the list the dashboard and the CLI `reviews` show, with args). */
async function viewOf(s: S, id: string): Promise<{ status: number; view: Record<string, any> | undefined; body: any }> {
  const list = await http(s.url, 'GET', '/v1/reviews?limit=500', s.approveKey);
  const view = list.status === 200 ? (list.body.reviews as Array<Record<string, any>>).find((r) => r.id === id) : undefined;
  return { status: list.status, view, body: list.body };
}

const verifyOk = async (s: S) => {
  if (!s.database) await s.server.audit.flush();
  const v = await http(s.url, 'GET', '/v1/audit/verify', s.approveKey);
  expect(v.body).toMatchObject({ ok: true });
};

describe.each<EngineName>(['sqlite', 'postgres'])('idempotency replays with another call on %s', (engine) => {
  it('a key replayed with other args, another tool or another digest is a 409, never the first call’s decision', async () => {
    const s = await started(engine);
    const first = await submit(s, 'k1', 'transfer', { amount: 5 });
    expect(first.body).toMatchObject({ status: 'decided', verdict: 'allow' });
    for (const [tool, args] of [
      ['transfer', { amount: 6 }],
      ['transfer', { amount: 5, to: 'x' }],
      ['transfer.v2', { amount: 5 }],
      ['db.drop', { amount: 5 }],
    ] as const) {
      const r = await submit(s, 'k1', tool, args);
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('IDEMPOTENCY_CONFLICT');
      expect(r.body.proof).toBeUndefined();
    }
    // A digest given for another call than the body's is refused before the key is looked at.
    const wrongDigest = await submit(s, 'k1', 'transfer', { amount: 5 }, { digest: callDigest('transfer', { amount: 6 }) });
    expect(wrongDigest.status).toBe(400);
    // The same call under another agent id: the digest binds tool and args (as before 0adacd9), so
    // the stored review answers — the proof is bound to the call, whoever claims to be the agent.
    const otherAgent = await http(s.url, 'POST', '/v1/reviews', s.evalKey, { idempotencyKey: 'k1', call: { tool: 'transfer', args: { amount: 5 }, callId: 'c-k1' }, agent: { id: 'agent-2' } });
    expect(otherAgent.body).toMatchObject({ id: first.body.id, proof: first.body.proof });
    // Nothing was stored for the conflicting calls: one row, one creating record, and it still holds the first args.
    expect(await count(s, 'SELECT COUNT(*) AS n FROM reviews')).toBe(1);
    expect(await reviewRecords(s)).toBe(1);
    const got = await http(s.url, 'GET', `/v1/reviews?tool=transfer`, s.approveKey);
    expect(got.body.reviews.map((r: { args: unknown }) => r.args)).toEqual([{ amount: 5 }]);
    await verifyOk(s);
  });

  it('a pending review’s key replayed with a call the policy would allow is a 409, not an allow with a proof', async () => {
    const s = await started(engine);
    const p = await submit(s, 'kp', 'transfer', { amount: 500 });
    expect(p.body.status).toBe('pending');
    const r = await submit(s, 'kp', 'transfer', { amount: 50 });
    expect(r.status).toBe(409);
    expect(r.body.proof).toBeUndefined();
    // A replay of the same call answers with the pending review itself.
    const same = await submit(s, 'kp', 'transfer', { amount: 500 });
    expect(same.status).toBe(202);
    expect(same.body).toMatchObject({ id: p.body.id, status: 'pending' });
    expect(await count(s, 'SELECT COUNT(*) AS n FROM reviews')).toBe(1);
    expect(await reviewRecords(s)).toBe(1);
    const view = await http(s.url, 'GET', `/v1/reviews/${p.body.id}`, s.approveKey);
    expect(view.body.status).toBe('pending');
    await verifyOk(s);
  });

  it('concurrent replays of one fresh key with different calls in one batch: one review, the others 409 or that review', async () => {
    const s = await started(engine);
    const calls = Array.from({ length: 12 }, (_, i) => ({ amount: i % 3 === 0 ? 7 : 10 + i }));
    const answers = await Promise.all(calls.map((args) => submit(s, 'race', 'transfer', args)));
    const ok = answers.filter((a) => a.status === 200);
    expect(ok.length).toBeGreaterThan(0);
    const ids = new Set(ok.map((a) => a.body.id as string));
    expect(ids.size).toBe(1);
    const winner = ok[0]!.body;
    // Every 200 is for the winner's call, every other answer a 409.
    for (let i = 0; i < answers.length; i++) {
      const a = answers[i]!;
      if (a.status === 200) expect(a.body.digest).toBe(callDigest('transfer', calls[i]));
      else expect(a.status).toBe(409);
    }
    expect(await count(s, 'SELECT COUNT(*) AS n FROM reviews')).toBe(1);
    expect(await reviewRecords(s)).toBe(1);
    const { view } = await viewOf(s, winner.id as string);
    expect(callDigest('transfer', view!.args)).toBe(winner.digest);
    await verifyOk(s);
  });

  it('replays after approve, deny, edit-and-approve and expiry: the same call gets the stored decision, another call a 409', async () => {
    const s = await started(engine, { pendingTimeoutMs: 60_000 });
    const approve = await submit(s, 'ka', 'transfer', { amount: 501 });
    const deny = await submit(s, 'kd', 'transfer', { amount: 502 });
    const edit = await submit(s, 'ke', 'transfer', { amount: 503 });
    expect((await http(s.url, 'POST', `/v1/reviews/${approve.body.id as string}/decision`, s.approveKey, { verdict: 'allow' })).status).toBe(200);
    expect((await http(s.url, 'POST', `/v1/reviews/${deny.body.id as string}/decision`, s.approveKey, { verdict: 'deny' })).status).toBe(200);
    expect((await http(s.url, 'POST', `/v1/reviews/${edit.body.id as string}/decision`, s.approveKey, { verdict: 'allow', args: { amount: 60 } })).status).toBe(200);

    expect(await submit(s, 'ka', 'transfer', { amount: 501 })).toMatchObject({ status: 200, body: { id: approve.body.id, verdict: 'allow' } });
    expect(await submit(s, 'kd', 'transfer', { amount: 502 })).toMatchObject({ status: 200, body: { id: deny.body.id, verdict: 'deny' } });
    const editReplay = await submit(s, 'ke', 'transfer', { amount: 503 });
    expect(editReplay.body).toMatchObject({ id: edit.body.id, verdict: 'allow', digest: callDigest('transfer', { amount: 60 }) });
    for (const k of ['ka', 'kd', 'ke']) expect((await submit(s, k, 'transfer', { amount: 1 })).status).toBe(409);
    // The edited args are what it answers with, not a key to run them without the original call.
    expect((await submit(s, 'ke', 'transfer', { amount: 60 })).status).toBe(409);
    // The human view of the edited review: the call as asked and the edit, each its own args.
    const { view } = await viewOf(s, edit.body.id as string);
    expect(view!.args).toEqual({ amount: 503 });
    expect(view!.edited).toMatchObject({ args: { amount: 60 }, digest: callDigest('transfer', { amount: 60 }) });

    // Expired: push its deadline into the past and let the expiry run.
    const expiring = await submit(s, 'kx', 'transfer', { amount: 504 });
    await sql(s, 'UPDATE reviews SET expires_at = $1 WHERE id = $2', [Date.now() - 1, expiring.body.id]);
    await (s.server.service as unknown as { expireDue(): Promise<unknown> }).expireDue?.();
    const replayX = await submit(s, 'kx', 'transfer', { amount: 504 });
    expect(replayX.body.id).toBe(expiring.body.id);
    expect((await submit(s, 'kx', 'transfer', { amount: 5 })).status).toBe(409);
    expect(await count(s, 'SELECT COUNT(*) AS n FROM reviews')).toBe(4);
    expect(await reviewRecords(s)).toBe(4);
    await verifyOk(s);
  });
});

describe.each<EngineName>(['sqlite', 'postgres'])('what a human reads on %s', (engine) => {
  it('a burst of distinct reviews in shared batches: each review reads back its own args (its own audit record)', async () => {
    const s = await started(engine);
    const amounts = Array.from({ length: 40 }, (_, i) => (i % 4 === 0 ? 20_000 + i : i % 2 === 0 ? 1 + i : 200 + i));
    const answers = await Promise.all(amounts.map((amount, i) => submit(s, `b-${i}`, 'transfer', { amount, to: `acct_${i}` })));
    for (let i = 0; i < amounts.length; i++) {
      const a = answers[i]!;
      expect([200, 202]).toContain(a.status);
      expect(a.body.digest).toBe(callDigest('transfer', { amount: amounts[i], to: `acct_${i}` }));
      const { view } = await viewOf(s, a.body.id as string);
      expect(view!.args).toEqual({ amount: amounts[i], to: `acct_${i}` });
      expect(callDigest('transfer', view!.args)).toBe(view!.digest);
    }
    const rows = await sql(s, 'SELECT r.id, r.digest, a.record FROM reviews r JOIN audit a ON a.seq = r.audit_seq');
    expect(rows).toHaveLength(amounts.length);
    for (const row of rows) {
      const record = JSON.parse(row.record as string) as { call: { digest: string }; decision: { reviewId: string } };
      expect(record.call.digest).toBe(row.digest);
      expect(record.decision.reviewId).toBe(row.id);
    }
    await verifyOk(s);
  });

  it('secrets are redacted in what is read and in the record; the digest still binds the real call', async () => {
    const s = await started(engine);
    const args = { amount: 500, apiKey: 'sk-live-supersecretvalue1234567890' };
    const p = await submit(s, 'sec', 'transfer', args);
    const { view } = await viewOf(s, p.body.id as string);
    expect(view!.args).toMatchObject({ amount: 500 });
    expect(JSON.stringify(view)).not.toContain('supersecret');
    expect(view!.digest).toBe(callDigest('transfer', args));
    expect(JSON.stringify(await sql(s, 'SELECT record FROM audit'))).not.toContain('supersecret');
  });

  it('a row pointing at another review’s audit record (audit_seq swapped) does not show that review’s args', async () => {
    const s = await started(engine);
    const a = await submit(s, 'sw-a', 'transfer', { amount: 900, to: 'victim' });
    const b = await submit(s, 'sw-b', 'transfer', { amount: 901, to: 'attacker' });
    const [ra] = await sql(s, 'SELECT audit_seq FROM reviews WHERE id = $1', [a.body.id]);
    await sql(s, 'UPDATE reviews SET audit_seq = $1 WHERE id = $2', [ra!.audit_seq, b.body.id]);
    // Fail closed: never the other call's args under b's digest (which an approval would sign).
    const v = await viewOf(s, b.body.id as string);
    expect(v.view?.args).not.toEqual({ amount: 900, to: 'victim' });
    expect(v.status).not.toBe(200);
    const got = await http(s.url, 'GET', `/v1/reviews/${b.body.id as string}`, s.approveKey);
    expect(got.status).not.toBe(200);
    // And it cannot be approved as the other call.
    const d = await http(s.url, 'POST', `/v1/reviews/${b.body.id as string}/decision`, s.approveKey, { verdict: 'allow' });
    expect(d.status).not.toBe(200);
  });

  it('a row whose audit record is missing is an error, never empty args', async () => {
    const s = await started(engine);
    const a = await submit(s, 'miss', 'transfer', { amount: 902 });
    await sql(s, 'UPDATE reviews SET audit_seq = $1 WHERE id = $2', [999_999, a.body.id]);
    const v = await viewOf(s, a.body.id as string);
    expect(v.status).toBeGreaterThanOrEqual(500);
    expect(v.view).toBeUndefined();
    expect((await http(s.url, 'GET', `/v1/reviews/${a.body.id as string}`, s.approveKey)).status).toBeGreaterThanOrEqual(500);
    const d = await http(s.url, 'POST', `/v1/reviews/${a.body.id as string}/decision`, s.approveKey, { verdict: 'allow' });
    expect(d.status).not.toBe(200);
  });

  it('an audit record whose args were edited in the database fails verify', async () => {
    const s = await started(engine);
    const a = await submit(s, 'tamper', 'transfer', { amount: 903, to: 'good' });
    if (!s.database) await s.server.audit.flush();
    const [r] = await sql(s, 'SELECT audit_seq FROM reviews WHERE id = $1', [a.body.id]);
    const [rec] = await sql(s, 'SELECT record FROM audit WHERE seq = $1', [r!.audit_seq]);
    await sql(s, 'UPDATE audit SET record = $1 WHERE seq = $2', [(rec!.record as string).replace('"good"', '"evil"'), r!.audit_seq]);
    const v = await http(s.url, 'GET', '/v1/audit/verify', s.approveKey);
    expect(v.body.ok).toBe(false);
  });
});

describe('two PostgreSQL replicas on one database', () => {
  it('one key raced across both with different calls: one review, other answers 409 or that review', async () => {
    const a = await started('postgres');
    const b = await started('postgres', {}, a.database);
    const bKey = b.evalKey;
    const calls = Array.from({ length: 10 }, (_, i) => ({ amount: i % 2 === 0 ? 8 : 30 + i }));
    const answers = await Promise.all(
      calls.map((args, i) =>
        http((i % 2 === 0 ? a : b).url, 'POST', '/v1/reviews', i % 2 === 0 ? a.evalKey : bKey, { idempotencyKey: 'x', call: { tool: 'transfer', args, callId: 'c-x' } }),
      ),
    );
    // Keys are per submitting key: each replica's key has its own 'x'. Per key: one review, the rest 409 or it.
    for (const key of [a.evalKey, bKey]) {
      const mine = answers.filter((_, i) => (i % 2 === 0 ? a.evalKey : bKey) === key);
      const ok = mine.filter((m) => m.status === 200);
      expect(new Set(ok.map((m) => m.body.id)).size).toBe(1);
      expect(mine.every((m) => m.status === 200 || m.status === 409)).toBe(true);
    }
    // Now the same key through both replicas: create on a, replay another call on b with a's key.
    const first = await http(a.url, 'POST', '/v1/reviews', a.evalKey, { idempotencyKey: 'y', call: { tool: 'transfer', args: { amount: 3 } } });
    expect(first.status).toBe(200);
    const other = await http(b.url, 'POST', '/v1/reviews', a.evalKey, { idempotencyKey: 'y', call: { tool: 'transfer', args: { amount: 4 } } });
    // a's key is known on b (shared keys) or not (401): never a 200 for the other call.
    expect(other.status === 409 || other.status === 401).toBe(true);
    const rows = await sql(a, 'SELECT COUNT(*) AS n FROM reviews');
    expect(Number(rows[0]!.n)).toBe(3);
    await verifyOk(a);
  });
});

describe('PostgreSQL connections killed in the middle of group commits', () => {
  it('every 200/202 has its row and its own audit record; no row lacks its record; the chain verifies after', async () => {
    const s = await started('postgres');
    const admin = new pg.Client({ connectionString: s.database });
    await admin.connect();
    cleanups.push(() => admin.end());
    const dbName = new URL(s.database!).pathname.slice(1);
    const answers: Array<{ key: string; args: unknown; status: number; id?: string }> = [];
    for (let round = 0; round < 4; round++) {
      const burst = Array.from({ length: 16 }, (_, i) => ({ key: `kill-${round}-${i}`, args: { amount: i % 2 ? 300 + i : 1 + i, round } }));
      const pending = burst.map((b) => submit(s, b.key, 'transfer', b.args).then((r) => answers.push({ ...b, status: r.status, id: r.body?.id })));
      // Kill the server's connections while the burst is being written.
      await new Promise((r) => setImmediate(r));
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [dbName]);
      await Promise.all(pending);
    }
    expect(answers).toHaveLength(64);
    for (const a of answers) expect([200, 202, 503]).toContain(a.status);
    // The store comes back (a new pool connection) for the checks below.
    let rows: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 50; i++) {
      const r = await http(s.url, 'GET', '/v1/reviews?limit=500', s.approveKey);
      if (r.status === 200) {
        rows = r.body.reviews as Array<Record<string, unknown>>;
        break;
      }
      await new Promise((res) => setTimeout(res, 50));
    }
    for (const a of answers.filter((x) => x.status === 200 || x.status === 202)) {
      const view = rows.find((r) => r.id === a.id);
      expect(view?.args).toEqual(a.args);
    }
    // No row without the record that created it, and that record is its own.
    const stored = await sql(s, 'SELECT r.id, r.digest, a.record FROM reviews r LEFT JOIN audit a ON a.seq = r.audit_seq');
    for (const row of stored) {
      expect(row.record).toBeTruthy();
      const record = JSON.parse(row.record as string) as { call: { digest: string }; decision: { reviewId: string } };
      expect(record.decision.reviewId).toBe(row.id);
      expect(record.call.digest).toBe(row.digest);
    }
    // A 503'd key replayed now: stored once at most, answered with its own call.
    for (const a of answers.filter((x) => x.status === 503).slice(0, 5)) {
      const again = await submit(s, a.key, 'transfer', a.args);
      expect([200, 202]).toContain(again.status);
      expect(again.body.digest).toBe(callDigest('transfer', a.args));
    }
    expect(await count(s, `SELECT COUNT(*) AS n FROM audit WHERE record LIKE '%"kind":"review"%'`)).toBe(await count(s, 'SELECT COUNT(*) AS n FROM reviews'));
    await verifyOk(s);
  }, 60_000);
});
