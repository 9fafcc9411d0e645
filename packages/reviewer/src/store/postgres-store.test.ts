import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCheckpointSigner, verifyAuditLog, verifyAuditRecords, type AuditEntry } from '@toolgate/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedPostgres, startPostgres } from '../../../../test/support/embedded-postgres';
import { ServerErrorCodes } from '../errors';
import { activeKey, jwksOf } from '../signing/signing-keys';
import { exportAuditJsonl } from './export-audit';
import type { ReviewRow } from './open-store';
import { openPostgresStore, type PostgresStore, StoreUnavailableError } from './postgres-store';

let server: StartedPostgres;
const opened: PostgresStore[] = [];

beforeAll(async () => {
  server = await startPostgres();
}, 90_000);
afterAll(async () => {
  await Promise.allSettled(opened.map((s) => s.close()));
  await server?.stop();
}, 30_000);

/** A fresh database on the shared server (each test starts from an empty schema). */
async function freshDatabase(): Promise<string> {
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
  return url.toString();
}

async function open(url: string): Promise<PostgresStore> {
  const s = await openPostgresStore(url, { poolSize: 8, connectTimeoutMs: 2000 });
  opened.push(s);
  return s;
}

function pendingRow(idem: string, id = `rev_${randomUUID()}`): ReviewRow {
  return {
    id,
    idem_key: idem,
    submitter_key_id: 'key_agent',
    tool: 'db.drop',
    digest: 'sha256:abc',
    call_id: null,
    run_id: null,
    agent_id: null,
    agent_json: null,
    context_json: null,
    args_json: '{}',
    status: 'pending',
    verdict: 'review',
    source: null,
    reason: 'a human decides',
    conditions_json: null,
    evaluated_json: null,
    policy_json: null,
    decided_by: null,
    decider_key_id: null,
    proof: null,
    proof_expires_at: null,
    created_at: Date.now(),
    decided_at: null,
    expires_at: Date.now() + 60_000,
    executed: 0,
    outcome_json: null,
  };
}

function entry(kind: AuditEntry['kind'], reviewId: string): AuditEntry {
  return { id: `aud_${randomUUID()}`, ts: new Date().toISOString(), kind, call: { tool: 'db.drop', digest: 'sha256:abc' }, meta: { reviewId } };
}

describe('PostgreSQL store', () => {
  it('migrates once when several servers open an empty database at the same time', async () => {
    const url = await freshDatabase();
    const stores = await Promise.all([open(url), open(url), open(url), open(url)]);
    const versions = await stores[0]!.pool.query<{ version: number }>('SELECT version FROM toolgate_schema ORDER BY version');
    expect(versions.rows.map((r) => r.version)).toEqual([1, 2, 3]);
    // Opening again (a restart) applies nothing and fails nothing.
    await open(url);
    expect(await stores[3]!.countPending()).toBe(0);
  });

  it('the same idempotency key submitted at once through two pools makes one review and one audit record', async () => {
    const url = await freshDatabase();
    const [a, b] = await Promise.all([open(url), open(url)]);
    const idem = 'key_agent\u001fsame';
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).createReview(pendingRow(idem), entry('review', `attempt-${i}`))),
    );
    const created = results.filter((r) => r.created);
    expect(created).toHaveLength(1);
    const winner = created[0]!.row.id;
    for (const r of results) expect(r.row.id).toBe(winner);
    const reviews = await a.pool.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM reviews');
    expect(reviews.rows[0]!.n).toBe(1);
    expect(await a.auditAfter(0, 100)).toHaveLength(1);
  });

  it('reviews created in one burst share a transaction; a taken key in the burst falls back to one by one, each row pointing at its own record', async () => {
    const url = await freshDatabase();
    const a = await open(url);
    const taken = await a.createReview(pendingRow('key_agent\u001ftaken'), entry('review', 'first'));
    expect(taken.created).toBe(true);
    const withArgs = (idem: string, i: number): [ReviewRow, AuditEntry] => {
      const row = { ...pendingRow(idem), args_json: JSON.stringify({ i }) };
      return [row, { ...entry('review', row.id), call: { tool: 'db.drop', digest: 'sha256:abc', args: { i } } }];
    };
    // Twelve at once (one batch), one of them with the taken key; then twelve new ones (a clean batch).
    const burst = (prefix: string, withTaken: boolean) =>
      Promise.all(Array.from({ length: 12 }, (_, i) => a.createReview(...withArgs(withTaken && i === 5 ? 'key_agent\u001ftaken' : `key_agent\u001f${prefix}-${i}`, i))));
    const first = await burst('one', true);
    expect(first.filter((r) => r.created)).toHaveLength(11);
    expect(first[5]).toMatchObject({ created: false, row: { id: taken.row.id } });
    const second = await burst('two', false);
    expect(second.every((r) => r.created)).toBe(true);
    const records = await a.auditAfter(0, 100);
    expect(records).toHaveLength(1 + 11 + 12);
    expect(verifyAuditRecords(records).ok).toBe(true);
    for (const [i, r] of [...first, ...second].entries()) {
      if (!r.created) continue;
      const stored = (await a.pool.query<{ audit_seq: string; args_json: string }>('SELECT audit_seq, args_json FROM reviews WHERE id = $1', [r.row.id])).rows[0]!;
      expect(stored.args_json).toBe('');
      const record = records.find((x) => x.seq === Number(stored.audit_seq))!;
      expect(record.meta).toEqual({ reviewId: r.row.id });
      expect(JSON.parse((await a.getReview(r.row.id))!.args_json)).toEqual({ i: i % 12 });
    }
    // Its connections back (the server's max_connections is shared by every test in this file).
    opened.splice(opened.indexOf(a), 1);
    await a.close();
  });

  it('50 concurrent decisions over two pools leave exactly one decision and one audit record of it', async () => {
    const url = await freshDatabase();
    const [a, b] = await Promise.all([open(url), open(url)]);
    const row = pendingRow('key_agent\u001fdecide');
    await a.createReview(row, entry('review', row.id));
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        (i % 2 === 0 ? a : b).decideReview(
          {
            id: row.id,
            verdict: i % 3 === 0 ? 'deny' : 'allow',
            source: 'human',
            reason: `decision ${i}`,
            decidedBy: `human:approver-${i}`,
            deciderKeyId: `key_${i}`,
            proof: `proof-${i}`,
            proofExpiresAt: Date.now() + 600_000,
            decidedAt: Date.now(),
          },
          entry('human_decision', row.id),
        ),
      ),
    );
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    const winner = outcomes.indexOf(true);
    const stored = await b.getReview(row.id);
    expect(stored?.status).toBe('decided');
    expect(stored?.reason).toBe(`decision ${winner}`);
    const audit = await a.auditAfter(0, 100);
    expect(audit.filter((r) => r.kind === 'human_decision')).toHaveLength(1);
  });

  it('one outcome wins; the others change nothing', async () => {
    const url = await freshDatabase();
    const [a, b] = await Promise.all([open(url), open(url)]);
    const row = pendingRow('key_agent\u001foutcome');
    await a.createReview(row, entry('review', row.id));
    // Still pending: no outcome may be recorded.
    expect(await a.setOutcome(row.id, '{"status":"success"}', entry('outcome', row.id))).toBe(false);
    await a.decideReview(
      { id: row.id, verdict: 'allow', source: 'human', reason: 'ok', decidedBy: 'human:x', deciderKeyId: 'k', proof: 'p', proofExpiresAt: 1, decidedAt: 1 },
      entry('human_decision', row.id),
    );
    const wins = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).setOutcome(row.id, JSON.stringify({ status: 'success', message: `run ${i}` }), entry('outcome', row.id))),
    );
    expect(wins.filter(Boolean)).toHaveLength(1);
    expect((await a.getReview(row.id))?.executed).toBe(1);
    expect((await a.auditAfter(0, 100)).filter((r) => r.kind === 'outcome')).toHaveLength(1);
  });

  it('appends from several pools at once stay one hash chain that verifies', async () => {
    const url = await freshDatabase();
    const stores = await Promise.all([open(url), open(url), open(url)]);
    await Promise.all(
      Array.from({ length: 90 }, (_, i) => {
        const row = pendingRow(`key_agent\u001fchain-${i}`);
        return stores[i % 3]!.createReview(row, entry('review', row.id));
      }),
    );
    await Promise.all(Array.from({ length: 30 }, (_, i) => stores[i % 3]!.appendAudit(entry('admin', `x-${i}`))));
    const records = await stores[0]!.auditAfter(0, 1000);
    expect(records).toHaveLength(120);
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    const result = verifyAuditRecords(records);
    expect(result.ok).toBe(true);
    expect(result.records).toBe(120);
    expect(await stores[1]!.auditHead()).toEqual({ seq: 120, hash: records[119]!.hash });
  });

  it('a signed checkpoint closes the chain, and the exported JSONL verifies offline with the JWKS', async () => {
    const url = await freshDatabase();
    const s = await open(url);
    const signer = createCheckpointSigner({ privateJwk: activeKey(await s.signingKeys()).privateJwk as never, kid: activeKey(await s.signingKeys()).kid });
    expect(await s.checkpoint(signer)).toBeUndefined(); // empty chain: nothing to vouch for
    for (let i = 0; i < 5; i++) {
      const row = pendingRow(`key_agent\u001fexport-${i}`);
      await s.createReview(row, entry('review', row.id));
    }
    const cp = await s.checkpoint(signer);
    expect(cp?.seq).toBe(6);
    expect(await s.checkpoint(signer)).toBeUndefined(); // the head already is a checkpoint
    const dir = await mkdtemp(join(tmpdir(), 'tg-export-'));
    try {
      const path = join(dir, 'audit.jsonl');
      expect(await exportAuditJsonl(s, path)).toEqual({ records: 6, head: { seq: 6, hash: cp!.hash } });
      const result = await verifyAuditLog(path, { jwks: jwksOf(await s.signingKeys(), { includeDropped: true }) as never });
      expect(result.ok).toBe(true);
      expect(result.records).toBe(6);
      expect(result.checkpoints).toMatchObject({ count: 1, signed: true, uncovered: 0 });
      // Never overwrites an existing file.
      await expect(exportAuditJsonl(s, path)).rejects.toThrow(/EEXIST/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a budget is shared: 10 across every pool, however many reserve at once', async () => {
    const url = await freshDatabase();
    const [a, b] = await Promise.all([open(url), open(url)]);
    const now = Date.now();
    const granted = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).policyReserve('key:k1|budget', now, 1, 86_400_000, 10)));
    expect(granted.filter(Boolean)).toHaveLength(10);
    expect(await a.policySum('key:k1|budget', now - 86_400_000)).toBe(10);
    // Another key has its own budget.
    expect(await b.policyReserve('key:k2|budget', now, 1, 86_400_000, 10)).toBe(true);
  });

  it('every server reads the same signing key, and a rotation on one is seen by the other', async () => {
    const url = await freshDatabase();
    const [a, b] = await Promise.all([open(url), open(url)]);
    const [ka, kb] = await Promise.all([a.signingKeys(), b.signingKeys()]);
    expect(ka.activeKid).toBe(kb.activeKid);
    expect(ka.keys).toHaveLength(1);
    const rotated = await a.rotateSigningKeys();
    expect(rotated.activeKid).not.toBe(ka.activeKid);
    const seen = await b.signingKeys();
    expect(seen.activeKid).toBe(rotated.activeKid);
    // The retired key keeps only its public half.
    expect(seen.keys.find((k) => k.kid === ka.activeKid)?.privateJwk).toBeUndefined();
    // Rotations racing on two servers both land, one after the other (no lost key).
    const [r1, r2] = await Promise.all([a.rotateSigningKeys(), b.rotateSigningKeys()]);
    const final = await a.signingKeys();
    expect(final.keys).toHaveLength(4);
    expect([r1.activeKid, r2.activeKid]).toContain(final.activeKid);
    expect(final.keys.filter((k) => k.privateJwk !== undefined)).toHaveLength(1);
  });

  it('a database that goes away is STORE_UNAVAILABLE (503), and the store works again when it returns', async () => {
    const url = await freshDatabase();
    const s = await open(url);
    const row = pendingRow('key_agent\u001foutage');
    await s.createReview(row, entry('review', row.id));
    await server.halt();
    try {
      const failures = await Promise.allSettled([
        s.getReview(row.id),
        s.createReview(pendingRow('key_agent\u001fduring'), entry('review', 'during')),
        s.ping(),
      ]);
      for (const f of failures) {
        expect(f.status).toBe('rejected');
        const error = (f as PromiseRejectedResult).reason as StoreUnavailableError;
        expect(error).toBeInstanceOf(StoreUnavailableError);
        expect(error.code).toBe(ServerErrorCodes.STORE_UNAVAILABLE);
        expect(error.status).toBe(503);
      }
    } finally {
      await server.resume();
    }
    await s.ping();
    expect((await s.getReview(row.id))?.id).toBe(row.id);
    // Nothing of the failed write was stored.
    expect(await s.getReviewByIdem('key_agent\u001fduring')).toBeUndefined();
  }, 60_000);

  it('an unreachable database at open is STORE_UNAVAILABLE, not a crash', async () => {
    await expect(openPostgresStore('postgres://postgres:x@127.0.0.1:1/none', { connectTimeoutMs: 1000 })).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
