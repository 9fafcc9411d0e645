/**
 * A review row points at the audit record that created it (`audit_seq`) and no longer repeats its
 * args and a policy decision's proof; every read restores them. Rows stored before (args and proof
 * in the row, no audit_seq) still read the same. Idempotency needs no SELECT per request: a replay
 * finds the stored review through the unique key, and a policy with counters still reads first so a
 * replay never spends them twice. On SQLite and PostgreSQL.
 */
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { callDigest, verifyProof, type JWK, type Policy } from '@toolgate/core';
import pg from 'pg';
import { startPostgres, type StartedPostgres } from '../../../../test/support/embedded-postgres';
import { openStore } from '../store/open-store';
import { ARGS_IN_AUDIT } from '../store/review-row';
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

async function started(engine: EngineName, options: Partial<ReviewServerOptions> = {}): Promise<Started & { database?: string }> {
  const database = engine === 'postgres' ? await freshDatabase(postgres!.url) : undefined;
  const s = await startServer({ ...(database ? { database } : {}), ...options });
  cleanups.push(() => removeDir(s.dataDir));
  cleanups.push(() => s.server.close());
  return { ...s, ...(database ? { database } : {}) };
}

/** The stored columns of one review, read from the database itself (not through the store). */
async function storedRow(s: Started & { database?: string }, id: string): Promise<{ args_json: string; proof: string | null; audit_seq: number | null }> {
  if (s.database) {
    const c = new pg.Client({ connectionString: s.database });
    await c.connect();
    try {
      const r = await c.query('SELECT args_json, proof, audit_seq FROM reviews WHERE id = $1', [id]);
      const row = r.rows[0] as { args_json: string; proof: string | null; audit_seq: string | number | null };
      return { ...row, audit_seq: row.audit_seq === null ? null : Number(row.audit_seq) };
    } finally {
      await c.end();
    }
  }
  return s.server.store.db.prepare('SELECT args_json, proof, audit_seq FROM reviews WHERE id = ?').get(id) as never;
}

/** Puts a row back the way it was stored before audit_seq (args and proof in the row). */
async function makeOldStyle(s: Started & { database?: string }, id: string, argsJson: string, proof: string | null): Promise<void> {
  if (s.database) {
    const c = new pg.Client({ connectionString: s.database });
    await c.connect();
    try {
      await c.query('UPDATE reviews SET args_json = $1, proof = $2, audit_seq = NULL WHERE id = $3', [argsJson, proof, id]);
    } finally {
      await c.end();
    }
    return;
  }
  s.server.store.db.prepare('UPDATE reviews SET args_json = ?, proof = ?, audit_seq = NULL WHERE id = ?').run(argsJson, proof, id);
}

const submit = (s: Started, idempotencyKey: string, tool: string, args: unknown) =>
  http(s.url, 'POST', '/v1/reviews', s.evalKey, { idempotencyKey, call: { tool, args, callId: `c-${idempotencyKey}` }, agent: { id: 'agent-1' } });

describe.each<EngineName>(['sqlite', 'postgres'])('review rows on %s', (engine) => {
  it('a policy decision stores its args and proof once (in the audit record) and every read returns them', async () => {
    const s = await started(engine);
    const args = { amount: 42, to: 'acct_1', note: 'x'.repeat(2_000) };
    const a = await submit(s, 'slim-1', 'transfer', args);
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ status: 'decided', verdict: 'allow' });
    const proof = a.body.proof as string;
    expect(typeof proof).toBe('string');

    const stored = await storedRow(s, a.body.id);
    expect(stored.args_json).toBe(ARGS_IN_AUDIT);
    expect(stored.proof).toBeNull();
    const record = (await s.server.reviewStore.auditAfter(stored.audit_seq! - 1, 1))[0]!;
    expect(record).toMatchObject({ seq: stored.audit_seq, kind: 'review', call: { args }, decision: { reviewId: a.body.id, proof } });

    // Read back: by id, by idempotency key (a replay), in the list, and through the store.
    const got = await http(s.url, 'GET', `/v1/reviews/${a.body.id}`, s.evalKey);
    expect(got.body).toMatchObject({ id: a.body.id, status: 'decided', proof });
    const replay = await submit(s, 'slim-1', 'transfer', args);
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ id: a.body.id, proof });
    const listed = (await http(s.url, 'GET', '/v1/reviews?tool=transfer', s.approveKey)).body.reviews as Array<{ id: string; args: unknown }>;
    expect(listed.find((r) => r.id === a.body.id)?.args).toEqual(args);
    const row = (await s.server.reviewStore.getReview(a.body.id))!;
    expect(JSON.parse(row.args_json)).toEqual(args);
    expect(row.proof).toBe(proof);
    const keys = (await http(s.url, 'GET', '/.well-known/jwks.json')).body.keys as JWK[];
    await expect(verifyProof(proof, { keys, expected: { tool: 'transfer', digest: callDigest('transfer', args), callId: 'c-slim-1' } })).resolves.toBeTruthy();

    // The outcome's audit record carries the args read back from the creating record.
    const o = await http(s.url, 'POST', `/v1/reviews/${a.body.id}/outcome`, s.evalKey, { status: 'success' });
    expect(o.status).toBe(200);
    const outcome = (await s.server.reviewStore.auditAfter(0, 100)).find((r) => r.kind === 'outcome');
    expect(outcome?.call.args).toEqual(args);
    expect((await http(s.url, 'GET', '/v1/audit/verify', s.approveKey)).body.ok).toBe(true);
  });

  it('a pending review keeps its args in the audit record; a human decision stores its own proof', async () => {
    const s = await started(engine);
    const args = { amount: 500, to: 'acct_2' };
    const p = await submit(s, 'slim-2', 'transfer', args);
    expect(p.body.status).toBe('pending');
    expect((await storedRow(s, p.body.id)).args_json).toBe(ARGS_IN_AUDIT);
    const pending = (await http(s.url, 'GET', '/v1/reviews?status=pending', s.approveKey)).body.reviews as Array<{ id: string; args: unknown }>;
    expect(pending.find((r) => r.id === p.body.id)?.args).toEqual(args);
    const d = await http(s.url, 'POST', `/v1/reviews/${p.body.id}/decision`, s.approveKey, { verdict: 'allow' });
    expect(d.status).toBe(200);
    expect(typeof d.body.proof).toBe('string');
    expect((await storedRow(s, p.body.id)).proof).toBe(d.body.proof);
    const got = await http(s.url, 'GET', `/v1/reviews/${p.body.id}`, s.evalKey);
    expect(got.body).toMatchObject({ status: 'decided', decidedBy: 'human:alice', proof: d.body.proof });
    const human = (await s.server.reviewStore.auditAfter(0, 100)).find((r) => r.kind === 'human_decision');
    expect(human?.call.args).toEqual(args);
  });

  it('rows stored before audit_seq (args and proof in the row) still read the same', async () => {
    const s = await started(engine);
    const args = { amount: 7, to: 'acct_3' };
    const a = await submit(s, 'old-1', 'transfer', args);
    await makeOldStyle(s, a.body.id, JSON.stringify(args), a.body.proof as string);
    const got = await http(s.url, 'GET', `/v1/reviews/${a.body.id}`, s.evalKey);
    expect(got.body).toMatchObject({ id: a.body.id, status: 'decided', proof: a.body.proof });
    const replay = await submit(s, 'old-1', 'transfer', args);
    expect(replay.body).toMatchObject({ id: a.body.id, proof: a.body.proof });
    const row = (await s.server.reviewStore.getReview(a.body.id))!;
    expect(JSON.parse(row.args_json)).toEqual(args);
  });

  it('a replay under a policy with counters does not spend them again (the server reads the key first)', async () => {
    const policy: Policy = {
      version: 1,
      default: 'review',
      rules: [{ id: 'rate', tools: ['ping'], limit: { max: 2, windowMs: 3_600_000, per: 'agent_tool' }, verdict: 'deny' }, { id: 'ok', tools: ['ping'], verdict: 'allow' }],
    };
    const s = await started(engine, { policy });
    const first = await submit(s, 'r-1', 'ping', {});
    expect(first.body.verdict).toBe('allow');
    for (let i = 0; i < 3; i++) expect((await submit(s, 'r-1', 'ping', {})).body).toMatchObject({ id: first.body.id, verdict: 'allow' });
    // The replays spent nothing: one more new call is allowed, the one after is over the limit.
    expect((await submit(s, 'r-2', 'ping', {})).body.verdict).toBe('allow');
    expect((await submit(s, 'r-3', 'ping', {})).body.verdict).toBe('deny');
  });
});

describe('SQLite group commit with replays in the burst', () => {
  it('replayed keys in a burst answer with their stored reviews without failing the others; the JSONL mirror equals the table', async () => {
    const s = await started('sqlite');
    const first = await Promise.all(Array.from({ length: 5 }, (_, i) => submit(s, `pre-${i}`, 'transfer', { amount: i + 1 })));
    // 20 new keys and the 5 stored ones, all at once, in shared transactions: a replay's insert writes
    // nothing (ON CONFLICT DO NOTHING) and reads the stored review; the new ones are stored.
    const burst = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => submit(s, `new-${i}`, 'transfer', { amount: i + 1 })),
      ...Array.from({ length: 5 }, (_, i) => submit(s, `pre-${i}`, 'transfer', { amount: i + 1 })),
    ]);
    expect(burst.every((r) => r.status === 200 && r.body.status === 'decided')).toBe(true);
    for (let i = 0; i < 5; i++) expect(burst[20 + i]!.body).toMatchObject({ id: first[i]!.body.id, proof: first[i]!.body.proof });
    const reviews = s.server.store.db.prepare('SELECT COUNT(*) AS n FROM reviews').get() as { n: number };
    expect(reviews.n).toBe(25);
    const records = s.server.store.auditAfter(0, 10_000).filter((r) => (JSON.parse(r.record) as { kind: string }).kind === 'review');
    expect(records).toHaveLength(25);
    await s.server.audit.flush();
    const verify = await http(s.url, 'GET', '/v1/audit/verify', s.approveKey);
    expect(verify.body).toMatchObject({ ok: true });
    const lines = readFileSync(s.server.audit.mirror.path, 'utf8').trim().split('\n');
    const table = s.server.store.auditAfter(0, 10_000).map((r) => r.record);
    expect(lines).toEqual(table);
  });
});

describe('SQLite data dir from before audit_seq', () => {
  it('gains the column on open; its old rows read back unchanged', async () => {
    const s = await startServer({});
    cleanups.push(() => removeDir(s.dataDir));
    const args = { amount: 3 };
    const a = await submit(s, 'pre-1', 'transfer', args);
    await s.server.close();
    // Make the file look like one written before: no audit_seq column, args and proof in the row.
    const raw = openStore(s.dataDir);
    raw.db.exec(`UPDATE reviews SET args_json = '${JSON.stringify(args)}', proof = '${a.body.proof as string}'`);
    raw.db.exec('ALTER TABLE reviews DROP COLUMN audit_seq');
    raw.close();
    const again = await startServer({ dataDir: s.dataDir });
    cleanups.push(() => again.server.close());
    const columns = (again.server.store.db.prepare('PRAGMA table_info(reviews)').all() as Array<{ name: string }>).map((c) => c.name);
    expect(columns).toContain('audit_seq');
    const row = (await again.server.reviewStore.getReview(a.body.id))!;
    expect(row).toMatchObject({ audit_seq: null, proof: a.body.proof });
    expect(JSON.parse(row.args_json)).toEqual(args);
  });
});
