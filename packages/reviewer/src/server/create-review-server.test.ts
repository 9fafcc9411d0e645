import { createServer, type IncomingMessage, type Server } from 'node:http';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { callDigest, createGate, httpReviewer, verifyAuditLog, verifyProof, type Gate, type JWK } from '@toolgate/core';
import { http, removeDir, startServer, tempDir, type Started } from '../testing/fixture';
import { Webhook } from 'standardwebhooks';
import { startPostgres, type StartedPostgres } from '../../../../test/support/embedded-postgres';
import { openStore } from '../store/open-store';
import { freshDatabase, runSql } from '../testing/postgres-database';
import { createReviewServer, type ReviewServerOptions } from './create-review-server';
import { createWebhookSecret } from './webhooks';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

// One protocol suite, two stores: every test in `protocolSuite` runs on the SQLite file and on
// PostgreSQL (one embedded server per file, a fresh database per review server).
interface Engine {
  name: 'sqlite' | 'postgres';
  /** The options selecting a new, empty store of this engine (the fixture adds a temp dataDir). */
  store(): Promise<Partial<ReviewServerOptions>>;
}
let pgServer: StartedPostgres | undefined;
const ENGINES: Engine[] = [
  { name: 'sqlite', store: async () => ({}) },
  { name: 'postgres', store: async () => ({ database: await freshDatabase(pgServer!.url) }) },
];
afterAll(async () => {
  await pgServer?.stop();
}, 30_000);

/** Idempotency keys are stored as `<submitter key id>\u001f<key>`: the stored reviews under `idem`. */
async function reviewsUnder(s: Started, idem: (k: string) => boolean) {
  const rows = await s.server.reviewStore.listReviews({ limit: 10_000 });
  return rows.filter((row) => idem(row.idem_key.slice(row.idem_key.indexOf('\u001f') + 1)));
}

/** Moves a pending review's deadline into the past, in the store itself (no waiting on a clock). */
async function expireInStore(opts: Partial<ReviewServerOptions>, dataDir: string, id: string): Promise<void> {
  if (opts.database) return runSql(opts.database, 'UPDATE reviews SET expires_at = 1 WHERE id = $1', [id]);
  const store = openStore(dataDir);
  try {
    store.db.prepare('UPDATE reviews SET expires_at = 1 WHERE id = ?').run(id);
  } finally {
    store.close();
  }
}

let engine: Engine = ENGINES[0]!;
async function started(options: Parameters<typeof startServer>[0] = {}): Promise<Started> {
  const s = await startServer({ ...(await engine.store()), ...options });
  cleanups.push(() => removeDir(s.dataDir));
  cleanups.push(() => s.server.close());
  return s;
}

function gateFor(s: Started, extra: Partial<Parameters<typeof createGate>[0]> = {}): Gate {
  const gate = createGate({
    reviewer: httpReviewer({ url: s.url, apiKey: s.evalKey, pollWaitMs: 10_000 }),
    highStakes: ['transfer', 'db.drop'],
    jwksUrl: `${s.url}/.well-known/jwks.json`,
    requireProof: true,
    timeoutMs: 10_000,
    ...extra,
  });
  cleanups.push(() => gate.close());
  return gate;
}

async function jwks(url: string): Promise<JWK[]> {
  return (await http(url, 'GET', '/.well-known/jwks.json')).body.keys as JWK[];
}

const submit = (s: Started, idempotencyKey: string, tool: string, args: unknown, extra: Record<string, unknown> = {}) =>
  http(s.url, 'POST', '/v1/reviews', s.evalKey, { idempotencyKey, call: { tool, args, callId: `c-${idempotencyKey}` }, agent: { id: 'agent-1' }, ...extra });

describe.each(ENGINES)('protocol on $name', (e) => {
  beforeAll(async () => {
    engine = e;
    if (e.name === 'postgres') pgServer ??= await startPostgres();
  }, 90_000);

  describe('review server: policy decisions through the gate', () => {
    it('allows by policy with a proof the gate verified against the JWKS', async () => {
      const s = await started();
      const gate = gateFor(s);
      let ran = 0;
      const d = await gate.review({ tool: 'transfer', args: { amount: 50 }, callId: 'call-1', runId: 'run-1', agent: 'agent-1' });
      if (d.verdict === 'allow') ran++;
      expect(d).toMatchObject({ verdict: 'allow', source: 'policy' });
      expect(ran).toBe(1);
      const claims = await verifyProof(d.proof!, {
        keys: await jwks(s.url),
        expected: { tool: 'transfer', digest: callDigest('transfer', { amount: 50 }), callId: 'call-1', verdict: 'allow' },
      });
      expect(claims.tg.decidedBy).toBe('policy');
      expect(claims.jti).toBe(d.reviewId);
    });

    it('denies by policy and says why in evaluated[]', async () => {
      const s = await started();
      const gate = gateFor(s);
      let ran = 0;
      const d = await gate.review({ tool: 'transfer', args: { amount: 20_000 }, callId: 'call-2', runId: 'run-1' });
      if (d.verdict === 'allow') ran++;
      expect(ran).toBe(0);
      expect(d.verdict).toBe('deny');
      expect(d.reason).toContain('10000');
      expect(d.evaluated).toContainEqual(expect.objectContaining({ rule: 'huge-transfer', field: 'args.amount', actual: 20_000, passed: true }));
      const metrics = (await http(s.url, 'GET', '/metrics')).body as string;
      expect(metrics).toMatch(/toolgate_reviews_total\{verdict="deny",source="policy"\} 1/);
      expect(metrics).toMatch(/toolgate_policy_violations_total\{rule="huge-transfer"\} 1/);
    });

    it('dry runs decide without persisting anything', async () => {
      const s = await started();
      const r = await submit(s, 'dry-1', 'transfer', { amount: 5 }, { dryRun: true });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ verdict: 'allow', status: 'decided' });
      expect(r.body.proof).toBeUndefined();
      expect(await reviewsUnder(s, (k) => k === 'dry-1')).toHaveLength(0);
      const again = await submit(s, 'dry-1', 'transfer', { amount: 500 });
      expect(again.status).toBe(202); // the key was not taken by the dry run
    });
  });

  describe('review server: human review', () => {
    it('review → approve via the API → the waiting gate wakes with allow and a valid proof', async () => {
      const s = await started();
      const gate = gateFor(s, { onReview: 'wait', reviewTimeoutMs: 20_000, timeoutMs: 20_000 });
      const created = new Promise<string>((resolve) => s.server.service.events.once('review.created', (v) => resolve(v.id)));
      const pending = gate.review({ tool: 'transfer', args: { amount: 500 }, callId: 'call-h', runId: 'run-h', agent: 'agent-1' });
      const id = await created;

      const list = await http(s.url, 'GET', '/v1/reviews?status=pending', s.approveKey);
      expect(list.body.reviews.map((r: { id: string }) => r.id)).toEqual([id]);
      expect(list.body.reviews[0]).toMatchObject({ tool: 'transfer', args: { amount: 500 }, agent: { id: 'agent-1' }, status: 'pending' });

      const decided = await http(s.url, 'POST', `/v1/reviews/${id}/decision`, s.approveKey, { verdict: 'allow', reason: 'looks fine' });
      expect(decided.status).toBe(200);
      const d = await pending;
      expect(d).toMatchObject({ verdict: 'allow', source: 'human', reviewId: id });
      const claims = await verifyProof(d.proof!, {
        keys: await jwks(s.url),
        expected: { tool: 'transfer', digest: callDigest('transfer', { amount: 500 }), callId: 'call-h', verdict: 'allow' },
      });
      expect(claims.tg.decidedBy).toBe('human:alice');
    });

    it('GET ?waitMs resolves when the decision lands (long-poll), and a second decision is 409', async () => {
      const s = await started();
      const r = await submit(s, 'lp-1', 'transfer', { amount: 700 });
      expect(r.status).toBe(202);
      const poll = http(s.url, 'GET', `/v1/reviews/${r.body.id}?waitMs=30000`, s.evalKey);
      // The poll is registered once a waiter exists for the review.
      while ((s.server.service as unknown as { d: { waiters: { size: number } } }).d.waiters.size === 0) await new Promise((x) => setImmediate(x));
      await http(s.url, 'POST', `/v1/reviews/${r.body.id}/decision`, s.approveKey, { verdict: 'deny', reason: 'no' });
      const got = await poll;
      expect(got.status).toBe(200);
      expect(got.body).toMatchObject({ status: 'decided', verdict: 'deny', decidedBy: 'human:alice', reason: 'no' });
      const again = await http(s.url, 'POST', `/v1/reviews/${r.body.id}/decision`, s.adminKey, { verdict: 'allow' });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('ALREADY_DECIDED');
    });

    it("a human's no stands against a re-ask: the same call submitted again after the reject is answered with the reject, never a new review", async () => {
      // The server side of the gate's "a human's answer stands": a framework re-running the call (same
      // idempotency key, same arguments) must not get a fresh pending review a second human could approve.
      const s = await started();
      const r = await submit(s, 'no-1', 'transfer', { amount: 700 });
      expect(r.status).toBe(202);
      await http(s.url, 'POST', `/v1/reviews/${r.body.id}/decision`, s.approveKey, { verdict: 'deny', reason: 'no' });
      const again = await submit(s, 'no-1', 'transfer', { amount: 700 });
      expect(again.body).toMatchObject({ verdict: 'deny', decidedBy: 'human:alice' });
      const pendingNow = await http(s.url, 'GET', '/v1/reviews?status=pending', s.approveKey);
      expect((pendingNow.body.reviews as Array<{ id: string }>).filter((x) => x.id === r.body.id)).toEqual([]);
    });

    it('refuses self-approval and flags the attempt in the audit trail', async () => {
      const s = await started();
      // An admin key may submit and approve, but never its own review.
      const r = await http(s.url, 'POST', '/v1/reviews', s.adminKey, { idempotencyKey: 'self-1', call: { tool: 'transfer', args: { amount: 900 } } });
      expect(r.status).toBe(202);
      const self = await http(s.url, 'POST', `/v1/reviews/${r.body.id}/decision`, s.adminKey, { verdict: 'allow' });
      expect(self.status).toBe(403);
      expect(self.body.error.code).toBe('SELF_APPROVAL');
      expect((await s.server.reviewStore.getReview(r.body.id))!.status).toBe('pending');
      const audit = await http(s.url, 'GET', '/v1/audit?limit=1000', s.approveKey);
      const flagged = audit.body.records.filter((x: { meta?: { flagged?: string } }) => x.meta?.flagged === 'self_approval');
      expect(flagged).toHaveLength(1);
      expect(flagged[0].meta).toMatchObject({ reviewId: r.body.id, refused: true, keyName: 'root' });
      // Another approver can still decide it.
      expect((await http(s.url, 'POST', `/v1/reviews/${r.body.id}/decision`, s.approveKey, { verdict: 'allow' })).status).toBe(200);
    });

    it('expires a pending review as a deny, recorded, and wakes the waiter', async () => {
      const s = await started({ pendingTimeoutMs: 150 });
      const r = await submit(s, 'exp-1', 'transfer', { amount: 800 });
      expect(r.status).toBe(202);
      const got = await http(s.url, 'GET', `/v1/reviews/${r.body.id}?waitMs=30000`, s.evalKey);
      expect(got.body).toMatchObject({ status: 'decided', verdict: 'deny', decidedBy: 'expiry' });
      expect(got.body.proof).toBeTypeOf('string');
      const audit = await http(s.url, 'GET', '/v1/audit?limit=1000', s.approveKey);
      expect(audit.body.records.at(-1)).toMatchObject({ kind: 'human_decision', decision: { verdict: 'deny', decidedBy: 'expiry', error: { code: 'REVIEW_TIMEOUT' } } });
      const late = await http(s.url, 'POST', `/v1/reviews/${r.body.id}/decision`, s.approveKey, { verdict: 'allow' });
      expect(late.status).toBe(409);
    });

    it('keeps a pending review across a restart mid-wait; it can then be approved', async () => {
      const dataDir = tempDir();
      cleanups.push(() => removeDir(dataDir));
      const store = await engine.store();
      const first = await startServer({ dataDir, ...store });
      const port = new URL(first.url).port;
      const gate = gateFor(first, { onReview: 'wait', reviewTimeoutMs: 25_000, timeoutMs: 25_000 });
      const created = new Promise<string>((resolve) => first.server.service.events.once('review.created', (v) => resolve(v.id)));
      const pending = gate.review({ tool: 'transfer', args: { amount: 600 }, callId: 'call-r', runId: 'run-r' });
      const id = await created;
      await first.server.close();

      const second = createReviewServer({ dataDir, ...store, port: Number(port), defaultMetrics: false });
      cleanups.push(() => second.close());
      await second.listen();
      const list = await http(second.url, 'GET', '/v1/reviews?status=pending', first.approveKey);
      expect(list.body.reviews.map((r: { id: string }) => r.id)).toEqual([id]);
      const ok = await http(second.url, 'POST', `/v1/reviews/${id}/decision`, first.approveKey, { verdict: 'allow' });
      expect(ok.status).toBe(200);
      const d = await pending;
      expect(d).toMatchObject({ verdict: 'allow', source: 'human', reviewId: id });
    });

    it('expires reviews that became overdue while the server was down', async () => {
      const dataDir = tempDir();
      cleanups.push(() => removeDir(dataDir));
      const store = await engine.store();
      const first = await startServer({ dataDir, ...store, pendingTimeoutMs: 60_000 });
      const r = await submit(first, 'down-1', 'transfer', { amount: 650 });
      await first.server.close();
      // Reopen after the deadline (no waiting on a clock: move the deadline into the past).
      await expireInStore(store, dataDir, r.body.id);
      const second = createReviewServer({ dataDir, ...store, port: 0, defaultMetrics: false, pendingTimeoutMs: 60_000 });
      cleanups.push(() => second.close());
      await second.listen();
      expect(await second.reviewStore.getReview(r.body.id)).toMatchObject({ status: 'decided', verdict: 'deny', decided_by: 'expiry' });
    });
  });

  describe('review server: idempotency and exactly-once', () => {
    it('returns the same review for the same key, and 409 for the same key with other args', async () => {
      const s = await started();
      const a = await submit(s, 'idem-1', 'transfer', { amount: 300 });
      const b = await submit(s, 'idem-1', 'transfer', { amount: 300 });
      expect(b.body.id).toBe(a.body.id);
      expect(await reviewsUnder(s, (k) => k === 'idem-1')).toHaveLength(1);
      const c = await submit(s, 'idem-1', 'transfer', { amount: 301 });
      expect(c.status).toBe(409);
      expect(c.body.error.code).toBe('IDEMPOTENCY_CONFLICT');
    });

    it('concurrent submissions with one key make one review', async () => {
      const s = await started();
      const all = await Promise.all(Array.from({ length: 8 }, () => submit(s, 'race-1', 'transfer', { amount: 10 })));
      expect(new Set(all.map((r) => r.body.id)).size).toBe(1);
      expect(await reviewsUnder(s, (k) => k === 'race-1')).toHaveLength(1);
    });

    it('a burst written in shared transactions keeps one review and one audit record per key, chained in order', async () => {
      const s = await started();
      // 30 keys, each sent twice, all at once: the server writes them in group commits.
      const sent = Array.from({ length: 60 }, (_, i) => submit(s, `burst-${i % 30}`, 'transfer', { amount: 1 + (i % 30) }));
      const all = await Promise.all(sent);
      expect(all.every((r) => r.status === 200 && r.body.status === 'decided' && typeof r.body.proof === 'string')).toBe(true);
      for (let k = 0; k < 30; k++) expect(all[k]!.body.id).toBe(all[k + 30]!.body.id);
      expect(await reviewsUnder(s, (k) => k.startsWith('burst-'))).toHaveLength(30);
      const records = (await s.server.reviewStore.auditAfter(0, 10_000)).filter((r) => r.kind === 'review' && r.decision?.idempotencyKey?.startsWith('burst-'));
      expect(records).toHaveLength(30);
      expect((await http(s.url, 'GET', '/v1/audit/verify', s.approveKey)).body.ok).toBe(true);
    });

    it('an executed review authorises nothing more: resubmission is ALREADY_EXECUTED, a second outcome 409', async () => {
      const s = await started();
      const a = await submit(s, 'once-1', 'transfer', { amount: 20 });
      expect(a.body.verdict).toBe('allow');
      const o1 = await http(s.url, 'POST', `/v1/reviews/${a.body.id}/outcome`, s.evalKey, { status: 'success', durationMs: 12 });
      expect(o1.status).toBe(200);
      expect(o1.body.executed).toBe(true);
      const again = await submit(s, 'once-1', 'transfer', { amount: 20 });
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ id: a.body.id, verdict: 'deny', executed: true, code: 'ALREADY_EXECUTED' });
      expect(again.body.proof).toBeUndefined();
      const o2 = await http(s.url, 'POST', `/v1/reviews/${a.body.id}/outcome`, s.evalKey, { status: 'success' });
      expect(o2.status).toBe(409);
      expect(o2.body.error.code).toBe('OUTCOME_EXISTS');
    });

    it('refuses an outcome for a pending review and a digest that does not match the call', async () => {
      const s = await started();
      const p = await submit(s, 'pend-1', 'transfer', { amount: 400 });
      const o = await http(s.url, 'POST', `/v1/reviews/${p.body.id}/outcome`, s.evalKey, { status: 'success' });
      expect(o.status).toBe(409);
      expect(o.body.error.code).toBe('REVIEW_PENDING');
      const bad = await submit(s, 'dig-1', 'transfer', { amount: 1 }, { digest: callDigest('transfer', { amount: 2 }) });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('DIGEST_MISMATCH');
    });
  });

  describe('review server: idempotency keys belong to the key that submits', () => {
    it("another eval key's identical idempotency key is a new review: no replayed proof, no squatting, no reading others' reviews", async () => {
      const s = await started();
      const other = s.server.keys.create('eval', 'other-agent');
      // A's call, approved by policy.
      const a = await submit(s, 'tg1:run-1:call-1:abc', 'transfer', { amount: 50 });
      expect(a.body).toMatchObject({ status: 'decided', verdict: 'allow' });
      // B sends the same body under the same idempotency key: B gets its own review, not A's.
      const b = await http(s.url, 'POST', '/v1/reviews', other, { idempotencyKey: 'tg1:run-1:call-1:abc', call: { tool: 'transfer', args: { amount: 50 }, callId: 'c-tg1:run-1:call-1:abc' } });
      expect(b.status).toBe(200);
      expect(b.body.id).not.toBe(a.body.id);
      expect(b.body.proof).not.toBe(a.body.proof);
      // B squatting a key first does not block A's different call under the same key.
      await http(s.url, 'POST', '/v1/reviews', other, { idempotencyKey: 'squat', call: { tool: 'transfer', args: { amount: 1 } } });
      const mine = await submit(s, 'squat', 'transfer', { amount: 60 });
      expect(mine.status).toBe(200);
      // B cannot read A's review (404, as for a review that does not exist); approvers can.
      expect((await http(s.url, 'GET', `/v1/reviews/${a.body.id}`, other)).status).toBe(404);
      expect((await http(s.url, 'GET', `/v1/reviews/${a.body.id}`, s.evalKey)).status).toBe(200);
      expect((await http(s.url, 'GET', `/v1/reviews/${a.body.id}`, s.approveKey)).status).toBe(200);
    });
  });

  describe('review server: auth, limits, keys', () => {
    it('401 without or with an unknown key, 403 for the wrong scope', async () => {
      const s = await started();
      const body = { idempotencyKey: 'x', call: { tool: 'transfer', args: {} } };
      const none = await http(s.url, 'POST', '/v1/reviews', undefined, body);
      expect(none.status).toBe(401);
      expect(none.body.error.code).toBe('UNAUTHORIZED');
      expect((await http(s.url, 'POST', '/v1/reviews', 'tgk_nope', body)).status).toBe(401);
      const approverSubmits = await http(s.url, 'POST', '/v1/reviews', s.approveKey, body);
      expect(approverSubmits.status).toBe(403);
      expect(approverSubmits.body.error.code).toBe('FORBIDDEN');
      const p = await submit(s, 'scope-1', 'transfer', { amount: 500 });
      const evalDecides = await http(s.url, 'POST', `/v1/reviews/${p.body.id}/decision`, s.evalKey, { verdict: 'allow' });
      expect(evalDecides.status).toBe(403);
      expect((await http(s.url, 'GET', '/v1/reviews', s.evalKey)).status).toBe(403);
      const revoked = s.server.keys.createKey('eval', 'temp');
      expect(await s.server.keys.revokeKey(revoked.id)).toBe(true);
      expect((await http(s.url, 'POST', '/v1/reviews', revoked.key, body)).status).toBe(401);
    });

    it('413 with a JSON error for a body over the limit; 400 for bad JSON and invalid requests', async () => {
      const s = await started({ bodyLimitBytes: 64 * 1024 });
      const huge = await http(s.url, 'POST', '/v1/reviews', s.evalKey, { idempotencyKey: 'big', call: { tool: 'transfer', args: { blob: 'x'.repeat(100_000) } } });
      expect(huge.status).toBe(413);
      expect(huge.body.error.code).toBe('BODY_TOO_LARGE');
      const bad = await http(s.url, 'POST', '/v1/reviews', s.evalKey, '{"idempotencyKey": ');
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('INVALID_JSON');
      const invalid = await http(s.url, 'POST', '/v1/reviews', s.evalKey, { call: { tool: 'transfer' } });
      expect(invalid.status).toBe(400);
      expect(invalid.body.error.code).toBe('INVALID_REQUEST');
      expect((await http(s.url, 'GET', '/v1/nothing', s.evalKey)).body.error.code).toBe('NOT_FOUND');
    });

    it('binds 127.0.0.1 by default and serves health, OpenAPI from the protocol schemas, and metrics', async () => {
      const s = await started();
      expect(new URL(s.url).hostname).toBe('127.0.0.1');
      expect((await http(s.url, 'GET', '/healthz')).body).toMatchObject({ ok: true });
      const doc = (await http(s.url, 'GET', '/openapi.json')).body;
      expect(doc.openapi).toBe('3.1.0');
      expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/reviews', '/v1/reviews/{id}', '/v1/reviews/{id}/decision', '/v1/reviews/{id}/outcome']));
      expect(doc.components.schemas.CreateReviewRequest.required).toEqual(expect.arrayContaining(['idempotencyKey', 'call']));
      await submit(s, 'm-1', 'transfer', { amount: 700 });
      const metrics = (await http(s.url, 'GET', '/metrics')).body as string;
      expect(metrics).toMatch(/toolgate_approval_requests_total\{status="requested"\} 1/);
      expect(metrics).toMatch(/toolgate_pending_reviews 1/);
      expect(metrics).toContain('toolgate_http_request_duration_seconds_bucket');
    });

    it('rotating the signing key keeps old proofs verifiable', async () => {
      const s = await started();
      const a = await submit(s, 'rot-1', 'transfer', { amount: 5 });
      const rotated = await http(s.url, 'POST', '/v1/admin/signing-keys/rotate', s.adminKey);
      expect(rotated.status).toBe(200);
      const b = await submit(s, 'rot-2', 'transfer', { amount: 6 });
      const keys = await jwks(s.url);
      expect(keys).toHaveLength(2);
      expect(keys[0]!.kid).toBe(rotated.body.kid);
      expect(keys.every((k) => k.d === undefined)).toBe(true);
      await verifyProof(a.body.proof, { keys, expected: { tool: 'transfer', digest: callDigest('transfer', { amount: 5 }) } });
      const claims = await verifyProof(b.body.proof, { keys, expected: { tool: 'transfer', digest: callDigest('transfer', { amount: 6 }) } });
      expect(claims.jti).toBe(b.body.id);
      expect((await http(s.url, 'POST', '/v1/admin/signing-keys/rotate', s.approveKey)).status).toBe(403);
      // Only the active key keeps its private half (signing-keys.json on SQLite, the signing_keys row on PostgreSQL).
      expect((await s.server.reviewStore.signingKeys()).keys.filter((k) => k.privateJwk)).toHaveLength(1);
    });
  });

  describe('review server: webhooks', () => {
    it('POSTs review.decided signed with Standard Webhooks (verified by the standardwebhooks package) and retries a failed delivery', async () => {
      const secret = createWebhookSecret();
      const received: Array<{ body: string; headers: Record<string, string> }> = [];
      let attempts = 0;
      let delivered!: () => void;
      const done = new Promise<void>((resolve) => (delivered = resolve));
      const receiver: Server = createServer((req: IncomingMessage, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          attempts++;
          if (attempts === 1) {
            res.statusCode = 500;
            res.end();
            return;
          }
          const headers = Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, String(req.headers[h])]));
          received.push({ body, headers });
          res.end('ok');
          delivered();
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
      const port = (receiver.address() as { port: number }).port;
      const s = await started({ webhooks: [{ url: `http://127.0.0.1:${port}/hook`, secret }], webhookOptions: { baseDelayMs: 5 } });
      const r = await submit(s, 'wh-1', 'transfer', { amount: 10 });
      await done;
      expect(attempts).toBe(2);
      const [got] = received;
      const payload = new Webhook(secret).verify(got!.body, got!.headers);
      expect(payload).toMatchObject({ id: got!.headers['webhook-id'], type: 'review.decided', data: { id: r.body.id, verdict: 'allow' } });
    });
  });

  describe('review server: signing key rotation', () => {
    it('two rotations at once keep every new public key in the JWKS', async () => {
      const s = await started();
      const [a, b] = await Promise.all([s.server.rotateSigningKey(), s.server.rotateSigningKey()]);
      const kids = (await jwks(s.url)).map((k) => k.kid);
      expect(a.kid).not.toBe(b.kid);
      expect(kids).toEqual(expect.arrayContaining([a.kid, b.kid]));
    });
  });

});

// SQLite only: the JSONL mirror on disk (PostgreSQL has none; `audit export` writes one).
describe('review server: audit trail', () => {
  it('the JSONL mirror proves the chain after the SQLite file is deleted, and the chain continues', async () => {
    const dataDir = tempDir();
    cleanups.push(() => removeDir(dataDir));
    const s = await startServer({ dataDir });
    await submit(s, 'a-1', 'transfer', { amount: 1, password: 'hunter2' });
    await submit(s, 'a-2', 'transfer', { amount: 50_000 });
    const p = await submit(s, 'a-3', 'transfer', { amount: 500 });
    await http(s.url, 'POST', `/v1/reviews/${p.body.id}/decision`, s.approveKey, { verdict: 'deny' });
    const verify = await http(s.url, 'GET', '/v1/audit/verify', s.approveKey);
    expect(verify.body).toMatchObject({ ok: true, table: { ok: true }, mirror: { ok: true } });
    const tableCount = verify.body.table.records as number;
    await s.server.close();

    for (const f of ['toolgate.db', 'toolgate.db-wal', 'toolgate.db-shm']) rmSync(join(dataDir, f), { force: true });
    const mirror = join(dataDir, 'audit.jsonl');
    const r = await verifyAuditLog(mirror);
    expect(r).toMatchObject({ ok: true, records: tableCount });
    expect(readFileSync(mirror, 'utf8')).not.toContain('hunter2');

    // A new database picks the chain up from the mirror.
    const again = await startServer({ dataDir });
    await submit(again, 'a-4', 'transfer', { amount: 2 });
    await again.server.close();
    const r2 = await verifyAuditLog(mirror);
    expect(r2.ok).toBe(true);
    expect(r2.records).toBeGreaterThan(tableCount + 1);
  });
});

describe('createReviewServer options', () => {
  it('validates options at construction with a message that says what to do', () => {
    expect(() => createReviewServer({ dataDir: '' })).toThrow(/dataDir is required/);
    const dir = tempDir();
    try {
      expect(() => createReviewServer({ dataDir: dir, webhooks: [{ url: 'http://127.0.0.1:1/x', secret: 'short' }] })).toThrow(/whsec_/);
      expect(() => createReviewServer({ dataDir: dir, policy: join(dir, 'missing.yaml') })).toThrow();
    } finally {
      removeDir(dir);
    }
    expect(existsSync(dir)).toBe(false);
  });
});
