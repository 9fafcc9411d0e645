// The review service on the PostgreSQL store, two services ("replicas") on one database: the
// service is the same class the server runs on SQLite; only the store differs.
import { randomUUID } from 'node:crypto';
import { createProofSigner, memoryPolicyState, type CreateReviewRequest } from '@toolgate/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedPostgres, startPostgres } from '../../../../test/support/embedded-postgres';
import type { KeyInfo } from '../auth/api-keys';
import { ReviewServerError, ServerErrorCodes } from '../errors';
import { activeKey } from '../signing/signing-keys';
import { openPostgresStore, type PostgresStore } from '../store/postgres-store';
import { createMetrics } from './metrics';
import { ReviewService } from './review-service';
import { createWaiters } from './waiters';
import { createWebhookDispatcher } from './webhooks';

let server: StartedPostgres;
const stores: PostgresStore[] = [];
const services: ReviewService[] = [];

beforeAll(async () => {
  server = await startPostgres();
}, 90_000);
afterAll(async () => {
  await Promise.allSettled(services.map((s) => s.close()));
  await Promise.allSettled(stores.map((s) => s.close()));
  await server?.stop();
}, 30_000);

const agent: KeyInfo = { id: 'key_agent', name: 'agent', scope: 'eval' };
const approver = (i: number): KeyInfo => ({ id: `key_approver_${i}`, name: `approver-${i}`, scope: 'approve' });

async function replica(): Promise<{ service: ReviewService; store: PostgresStore }> {
  const store = await openPostgresStore(server.url, { poolSize: 8, connectTimeoutMs: 2000 });
  stores.push(store);
  const k = activeKey(await store.signingKeys());
  const signer = await createProofSigner({ privateJwk: k.privateJwk as never, kid: k.kid, issuer: 'toolgate-test', ttlSeconds: 600 });
  const metrics = createMetrics({ defaultMetrics: false });
  const service = new ReviewService({
    store,
    getPolicy: () => undefined,
    policyState: memoryPolicyState(),
    getSigner: () => signer,
    metrics,
    waiters: createWaiters(),
    webhooks: createWebhookDispatcher([], metrics),
    pendingTimeoutMs: 600_000,
    proofTtlSeconds: 600,
  });
  services.push(service);
  return { service, store };
}

function request(idempotencyKey: string): CreateReviewRequest {
  return { idempotencyKey, call: { tool: 'payments.transfer', args: { amount: 10, to: 'acct_1' } } } as CreateReviewRequest;
}

async function countRows(store: PostgresStore, sql: string, params: unknown[] = []): Promise<number> {
  return (await store.pool.query<{ n: number }>(sql, params)).rows[0]!.n;
}

describe('review service on PostgreSQL, two replicas on one database', () => {
  let a: Awaited<ReturnType<typeof replica>>;
  let b: Awaited<ReturnType<typeof replica>>;
  beforeAll(async () => {
    [a, b] = await Promise.all([replica(), replica()]);
  }, 30_000);

  it('both replicas sign with the same key (one key generated, whoever started first)', async () => {
    expect((await a.store.signingKeys()).activeKid).toBe((await b.store.signingKeys()).activeKid);
  });

  it('the same idempotency key submitted to both replicas at once makes one review', async () => {
    const idem = `same-${randomUUID()}`;
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).service.submit(request(idem), agent)));
    const ids = new Set(answers.map((r) => r.review.id));
    expect(ids.size).toBe(1);
    for (const r of answers) expect(r.status).toBe(202);
    expect(await countRows(a.store, 'SELECT COUNT(*)::int AS n FROM reviews WHERE idem_key LIKE $1', [`%${idem}`])).toBe(1);
    expect(await countRows(a.store, `SELECT COUNT(*)::int AS n FROM audit WHERE record LIKE $1`, [`%${[...ids][0]}%`])).toBe(1);
  });

  it('submit on A, 50 decisions at once over A and B: one decision, the other 49 are ALREADY_DECIDED, outcome once', async () => {
    const { review } = await a.service.submit(request(`decide-${randomUUID()}`), agent);
    const settled = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).service.decide(review.id, { verdict: i % 4 === 0 ? 'deny' : 'allow' }, approver(i))),
    );
    const won = settled.filter((s) => s.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const s of settled) {
      if (s.status === 'rejected') {
        expect(s.reason).toBeInstanceOf(ReviewServerError);
        expect((s.reason as ReviewServerError).code).toBe(ServerErrorCodes.ALREADY_DECIDED);
      }
    }
    const decided = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<ReviewService['decide']>>>).value;
    // Read on the other replica: the same decision.
    const read = await b.service.get(review.id);
    expect(read.review).toMatchObject({ status: 'decided', verdict: decided.verdict, decidedBy: decided.decidedBy, proof: decided.proof });
    expect(
      await countRows(a.store, `SELECT COUNT(*)::int AS n FROM audit WHERE record LIKE '%"kind":"human_decision"%' AND record LIKE $1`, [`%${review.id}%`]),
    ).toBe(1);

    // (An outcome after a deny is recorded too, flagged: either way one outcome wins.)
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).service.outcome(review.id, { status: 'success' }, agent)));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes) {
      if (o.status === 'rejected') expect((o.reason as ReviewServerError).code).toBe(ServerErrorCodes.OUTCOME_EXISTS);
    }
  });

  it('an executed review resubmitted on the other replica answers ALREADY_EXECUTED', async () => {
    const idem = `exec-${randomUUID()}`;
    const { review } = await a.service.submit(request(idem), agent);
    await b.service.decide(review.id, { verdict: 'allow' }, approver(1));
    await a.service.outcome(review.id, { status: 'success' }, agent);
    const again = await b.service.submit(request(idem), agent);
    expect(again.review).toMatchObject({ id: review.id, verdict: 'deny', executed: true, code: ServerErrorCodes.ALREADY_EXECUTED });
  });

  it('a self-approval on B is refused and recorded in the one audit chain', async () => {
    const { review } = await a.service.submit(request(`self-${randomUUID()}`), agent);
    await expect(b.service.decide(review.id, { verdict: 'allow' }, agent)).rejects.toMatchObject({ code: ServerErrorCodes.SELF_APPROVAL, status: 403 });
    expect(await countRows(a.store, `SELECT COUNT(*)::int AS n FROM audit WHERE record LIKE '%self_approval%' AND record LIKE $1`, [`%${review.id}%`])).toBe(1);
    expect((await a.service.get(review.id)).review.status).toBe('pending');
  });

  it('a database that goes away is 503 STORE_UNAVAILABLE from the service (never a 500), and it recovers', async () => {
    const { review } = await a.service.submit(request(`outage-${randomUUID()}`), agent);
    await server.halt();
    try {
      await expect(b.service.get(review.id)).rejects.toMatchObject({ status: 503, code: ServerErrorCodes.STORE_UNAVAILABLE });
      await expect(a.service.submit(request(`during-${randomUUID()}`), agent)).rejects.toMatchObject({ status: 503, code: ServerErrorCodes.STORE_UNAVAILABLE });
      await expect(b.service.decide(review.id, { verdict: 'allow' }, approver(2))).rejects.toMatchObject({ status: 503, code: ServerErrorCodes.STORE_UNAVAILABLE });
    } finally {
      await server.resume();
    }
    const after = await b.service.decide(review.id, { verdict: 'allow' }, approver(2));
    expect(after.status).toBe('decided');
  }, 60_000);
});
