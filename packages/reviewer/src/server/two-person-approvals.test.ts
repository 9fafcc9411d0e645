// Two-person (N-person) approvals and edit-and-approve on the review server (issue 11), over real
// HTTP on 127.0.0.1, on both stores: every test in the suite runs on the SQLite file and on
// embedded PostgreSQL (one server per file, a fresh database per review server).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { callDigest, createGate, httpReviewer, verifyProof, type Gate, type JWK, type Policy } from '@toolgate/core';
import { startPostgres, type StartedPostgres } from '../../../../test/support/embedded-postgres';
import { http, removeDir, startServer, TEST_POLICY, type Started } from '../testing/fixture';
import { freshDatabase, runSql } from '../testing/postgres-database';
import { openStore } from '../store/open-store';
import type { ReviewServerOptions } from './create-review-server';

/** TEST_POLICY plus: transfers over 1000 need two approvers; payouts two of group finance. */
const POLICY: Policy = {
  ...TEST_POLICY,
  rules: [
    ...TEST_POLICY.rules,
    { id: 'two-person', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 1000 }], verdict: 'review', approvals: 2 },
    { id: 'finance-payout', tools: ['payout'], verdict: 'review', approvals: 2, approverGroups: ['finance'] },
  ],
};

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

interface Engine {
  name: 'sqlite' | 'postgres';
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

/** A server with the submitter (`evalKey`, agent-key), alice (fixture), bob, and two finance approvers. */
interface People extends Started {
  options: Partial<ReviewServerOptions>;
  bob: string;
  fin1: string;
  fin2: string;
}
let engine: Engine = ENGINES[0]!;
async function started(options: Partial<ReviewServerOptions> = {}): Promise<People> {
  const opts = { policy: POLICY, ...(await engine.store()), ...options };
  const s = await startServer(opts);
  cleanups.push(() => removeDir(s.dataDir));
  cleanups.push(() => s.server.close());
  const bob = (await s.server.keys.createStored('approve', 'bob')).key;
  const fin1 = (await s.server.keys.createStored('approve', 'fin1', { groups: ['finance'] })).key;
  const fin2 = (await s.server.keys.createStored('approve', 'fin2', { groups: ['ops', 'finance'] })).key;
  return { ...s, options: opts, bob, fin1, fin2 };
}

const submit = (s: Started, key: string, idempotencyKey: string, tool: string, args: unknown) =>
  http(s.url, 'POST', '/v1/reviews', key, { idempotencyKey, call: { tool, args, callId: `c-${idempotencyKey}` }, agent: { id: 'agent-1' } });
const decide = (s: Started, key: string, id: string, body: Record<string, unknown>) => http(s.url, 'POST', `/v1/reviews/${id}/decision`, key, body);
const jwks = async (url: string) => (await http(url, 'GET', '/.well-known/jwks.json')).body.keys as JWK[];

/** Moves a pending review's deadline into the past, in the store itself (no waiting on a clock). */
async function expireInStore(s: People, id: string): Promise<void> {
  if (s.options.database) return runSql(s.options.database, 'UPDATE reviews SET expires_at = 1 WHERE id = $1', [id]);
  const store = openStore(s.dataDir);
  try {
    store.db.prepare('UPDATE reviews SET expires_at = 1 WHERE id = ?').run(id);
  } finally {
    store.close();
  }
}

function gateFor(s: Started): Gate {
  const gate = createGate({
    reviewer: httpReviewer({ url: s.url, apiKey: s.evalKey, pollWaitMs: 10_000 }),
    highStakes: ['transfer'],
    jwksUrl: `${s.url}/.well-known/jwks.json`,
    requireProof: true,
    onReview: 'wait',
    reviewTimeoutMs: 20_000,
    timeoutMs: 20_000,
  });
  cleanups.push(() => gate.close());
  return gate;
}

describe.each(ENGINES)('two-person approvals on $name', (e) => {
  beforeAll(async () => {
    engine = e;
    if (e.name === 'postgres') pgServer ??= await startPostgres();
  }, 90_000);

  it('needs two distinct approvers: the first is 202 and still pending, the submitter never counts, the same approver counts once, the second decides with both in the proof', async () => {
    const s = await started();
    // The admin key submits (it may approve too): it still can never approve its own call.
    const r = await submit(s, s.adminKey, 'tp-1', 'transfer', { amount: 2000 });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ status: 'pending', verdict: 'review', approvals: { required: 2, approvers: [] } });
    const id = r.body.id as string;

    const self = await decide(s, s.adminKey, id, { verdict: 'allow' });
    expect(self.status).toBe(403);
    expect(self.body.error.code).toBe('SELF_APPROVAL');

    const first = await decide(s, s.approveKey, id, { verdict: 'allow' });
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ id, status: 'pending', verdict: 'review', approvals: { required: 2, approvers: ['alice'] } });
    expect(first.body.proof).toBeUndefined();

    const twice = await decide(s, s.approveKey, id, { verdict: 'allow' });
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe('ALREADY_APPROVED');
    expect((await http(s.url, 'GET', `/v1/reviews/${id}`, s.approveKey)).body).toMatchObject({ status: 'pending', approvals: { required: 2, approvers: ['alice'] } });

    const second = await decide(s, s.bob, id, { verdict: 'allow' });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ status: 'decided', verdict: 'allow', decidedBy: 'human:alice, bob', approvals: { required: 2, approvers: ['alice', 'bob'] } });
    const claims = await verifyProof(second.body.proof as string, {
      keys: await jwks(s.url),
      expected: { tool: 'transfer', digest: callDigest('transfer', { amount: 2000 }), callId: 'c-tp-1', verdict: 'allow' },
    });
    expect(claims.tg.approvers).toEqual(['alice', 'bob']);
    expect(claims.tg.originalDigest).toBeUndefined();

    const late = await decide(s, s.fin1, id, { verdict: 'allow' });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('ALREADY_DECIDED');
    const verify = await http(s.url, 'GET', '/v1/audit/verify', s.approveKey);
    expect(verify.body.ok).toBe(true);
  });

  it('any rejection ends it, even after an approval', async () => {
    const s = await started();
    const r = await submit(s, s.evalKey, 'tp-2', 'transfer', { amount: 3000 });
    const id = r.body.id as string;
    expect((await decide(s, s.approveKey, id, { verdict: 'allow' })).status).toBe(202);
    const no = await decide(s, s.bob, id, { verdict: 'deny', reason: 'not this week' });
    expect(no.status).toBe(200);
    expect(no.body).toMatchObject({ status: 'decided', verdict: 'deny', decidedBy: 'human:bob', reason: 'not this week' });
    const after = await decide(s, s.fin1, id, { verdict: 'allow' });
    expect(after.status).toBe(409);
    expect(after.body.error.code).toBe('ALREADY_DECIDED');
  });

  it('approver groups: only keys of the rule’s groups count', async () => {
    const s = await started();
    const r = await submit(s, s.evalKey, 'tp-3', 'payout', { to: 'acme', amount: 10 });
    expect(r.body).toMatchObject({ status: 'pending', approvals: { required: 2, approvers: [], groups: ['finance'] } });
    const id = r.body.id as string;
    const outsider = await decide(s, s.approveKey, id, { verdict: 'allow' });
    expect(outsider.status).toBe(403);
    expect(outsider.body.error.code).toBe('NOT_IN_APPROVER_GROUP');
    expect(outsider.body.error.message).toContain('finance');
    expect((await decide(s, s.fin1, id, { verdict: 'allow' })).status).toBe(202);
    const done = await decide(s, s.fin2, id, { verdict: 'allow' });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ verdict: 'allow', approvals: { required: 2, approvers: ['fin1', 'fin2'], groups: ['finance'] } });
    const records = (await http(s.url, 'GET', '/v1/audit?limit=1000', s.approveKey)).body.records as Array<{ meta?: Record<string, unknown> }>;
    expect(records.filter((x) => x.meta?.flagged === 'approver_not_in_group')).toHaveLength(1);
  });

  it('a gate waiting on a two-person review runs the body 0 times until the second approval, then exactly once', async () => {
    const s = await started();
    const gate = gateFor(s);
    let ran = 0;
    const created = new Promise<string>((resolve) => s.server.service.events.once('review.created', (v) => resolve(v.id)));
    const approvedOnce = new Promise<void>((resolve) => s.server.service.events.once('review.approved', () => resolve()));
    let settled = false;
    const pending = gate.review({ tool: 'transfer', args: { amount: 5000 }, callId: 'call-2p', runId: 'run-2p', agent: 'agent-1' }).then((d) => {
      settled = true;
      if (d.verdict === 'allow') ran++;
      return d;
    });
    const id = await created;
    expect((await decide(s, s.approveKey, id, { verdict: 'allow' })).status).toBe(202);
    await approvedOnce;
    // The first approval wakes no waiter: the gate's long-poll is still open on a pending review.
    expect((await http(s.url, 'GET', `/v1/reviews/${id}`, s.evalKey)).body.status).toBe('pending');
    expect(settled).toBe(false);
    expect(ran).toBe(0);
    expect((await decide(s, s.bob, id, { verdict: 'allow' })).status).toBe(200);
    const d = await pending;
    expect(d).toMatchObject({ verdict: 'allow', source: 'human', reviewId: id });
    expect(ran).toBe(1);
    const claims = await verifyProof(d.proof!, {
      keys: await jwks(s.url),
      expected: { tool: 'transfer', digest: callDigest('transfer', { amount: 5000 }), callId: 'call-2p', verdict: 'allow' },
    });
    expect(claims.tg.approvers).toEqual(['alice', 'bob']);
  });

  it('a waiting gate: an edit the policy denies leaves it waiting (body 0 runs); an accepted edit runs the body once with exactly the edited args', async () => {
    const s = await started();
    const gate = gateFor(s);
    const runs: unknown[] = [];
    const original = { amount: 750, to: 'acme' };
    const created = new Promise<string>((resolve) => s.server.service.events.once('review.created', (v) => resolve(v.id)));
    const pending = gate.review({ tool: 'transfer', args: original, callId: 'call-gate-edit', runId: 'run-e', agent: 'agent-1' }).then((d) => {
      if (d.verdict === 'allow') runs.push(d.args);
      return d;
    });
    const id = await created;
    const refused = await decide(s, s.approveKey, id, { verdict: 'allow', args: { amount: 50_000, to: 'acme' } });
    expect(refused.status).toBe(422);
    expect(runs).toEqual([]);
    const edited = { amount: 700, to: 'acme' };
    expect((await decide(s, s.approveKey, id, { verdict: 'allow', args: edited })).status).toBe(200);
    const d = await pending;
    const digest = callDigest('transfer', edited);
    expect(d).toMatchObject({ verdict: 'allow', source: 'human', reviewId: id, digest, edited: { originalDigest: callDigest('transfer', original), digest } });
    expect(runs).toEqual([edited]);
  });

  it('a waiting gate sees an expired review as REVIEW_EXPIRED, not as a human rejection, and the body never runs', async () => {
    const s = await started();
    const gate = gateFor(s);
    let ran = 0;
    const created = new Promise<string>((resolve) => s.server.service.events.once('review.created', (v) => resolve(v.id)));
    const pending = gate.review({ tool: 'transfer', args: { amount: 4000 }, callId: 'call-exp', runId: 'run-x', agent: 'agent-1' }).then((d) => {
      if (d.verdict === 'allow') ran++;
      return d;
    });
    const id = await created;
    expect((await decide(s, s.approveKey, id, { verdict: 'allow' })).status).toBe(202);
    // Past the deadline, without waiting on a clock.
    await s.server.service.expireDue(Date.now() + 24 * 60 * 60_000);
    const d = await pending;
    expect(d).toMatchObject({ verdict: 'deny', error: { code: 'REVIEW_EXPIRED' } });
    expect(d.source).not.toBe('human');
    expect(ran).toBe(0);
  });

  it('edit-and-approve: the edited call is reviewed again; the answer carries edited and its digest, the proof binds it', async () => {
    const s = await started();
    const r = await submit(s, s.evalKey, 'ed-1', 'transfer', { amount: 500, to: 'acme' });
    expect(r.body).toMatchObject({ status: 'pending' });
    const id = r.body.id as string;
    const original = callDigest('transfer', { amount: 500, to: 'acme' });
    const editedArgs = { amount: 400, to: 'acme' };
    const edited = await decide(s, s.approveKey, id, { verdict: 'allow', args: editedArgs, reason: 'less' });
    expect(edited.status).toBe(200);
    const digest = callDigest('transfer', editedArgs);
    expect(edited.body).toMatchObject({
      status: 'decided',
      verdict: 'allow',
      decidedBy: 'human:alice',
      digest,
      edited: { args: editedArgs, digest, originalDigest: original },
      approvals: { required: 1, approvers: ['alice'] },
    });
    const claims = await verifyProof(edited.body.proof as string, {
      keys: await jwks(s.url),
      expected: { tool: 'transfer', digest, callId: 'c-ed-1', verdict: 'allow' },
    });
    expect(claims.tg).toMatchObject({ digest, originalDigest: original, approvers: ['alice'] });
    // The gate reading the review later sees the same thing.
    expect((await http(s.url, 'GET', `/v1/reviews/${id}`, s.evalKey)).body).toMatchObject({ digest, edited: { digest, originalDigest: original } });
  });

  it('an edit the policy denies is 422 EDIT_DENIED and the review stays pending; args only go with allow', async () => {
    const s = await started();
    const r = await submit(s, s.evalKey, 'ed-2', 'transfer', { amount: 600 });
    const id = r.body.id as string;
    const denied = await decide(s, s.approveKey, id, { verdict: 'allow', args: { amount: 50_000 } });
    expect(denied.status).toBe(422);
    expect(denied.body.error.code).toBe('EDIT_DENIED');
    expect(denied.body.error.message).toContain('stays pending');
    expect((await http(s.url, 'GET', `/v1/reviews/${id}`, s.approveKey)).body).toMatchObject({ status: 'pending', verdict: 'review' });
    for (const args of [null, '{"amount":1}']) {
      const odd = await decide(s, s.approveKey, id, { verdict: 'allow', args });
      expect(odd.status).toBe(400);
      expect(odd.body.error.message).toContain('not null or a string');
    }
    const withDeny = await decide(s, s.approveKey, id, { verdict: 'deny', args: { amount: 1 } });
    expect(withDeny.status).toBe(400);
    expect(withDeny.body.error.code).toBe('INVALID_REQUEST');
    // The gate runs exactly the edited args it reads back: an edit the server would store redacted,
    // or one still carrying the redaction marker of the shown args, is refused (nothing recorded).
    const secret = await decide(s, s.approveKey, id, { verdict: 'allow', args: { amount: 600, apiKey: 'sk-live-0123456789abcdef0123' } });
    expect(secret.status).toBe(400);
    expect(secret.body.error.message).toContain('redacts');
    const marker = await decide(s, s.approveKey, id, { verdict: 'allow', args: { amount: 600, apiKey: '[REDACTED]' } });
    expect(marker.status).toBe(400);
    expect(marker.body.error.message).toContain('[REDACTED]');
    const still = (await http(s.url, 'GET', `/v1/reviews/${id}`, s.approveKey)).body;
    expect(still.status).toBe('pending');
    expect(still.approvals).toBeUndefined();
    // The same approver can still approve the call as asked.
    expect((await decide(s, s.approveKey, id, { verdict: 'allow' })).status).toBe(200);
  });

  it('an edit on a two-person review needs two approvals of the edited call, and its own rule decides how many', async () => {
    const s = await started();
    const r = await submit(s, s.evalKey, 'ed-3', 'transfer', { amount: 2500 });
    const id = r.body.id as string;
    const editedArgs = { amount: 2000 };
    const digest = callDigest('transfer', editedArgs);
    // alice proposes the edit: it is still over 1000, so the edited call needs two approvers too.
    const proposed = await decide(s, s.approveKey, id, { verdict: 'allow', args: editedArgs });
    expect(proposed.status).toBe(202);
    const view = (await http(s.url, 'GET', '/v1/reviews?status=pending', s.approveKey)).body.reviews[0];
    expect(view).toMatchObject({ id, edits: [{ digest, args: editedArgs, required: 2, approvers: ['alice'], verdict: 'review' }] });
    // bob approving the call as asked counts for that call, not for alice's edit.
    expect((await decide(s, s.bob, id, { verdict: 'allow' })).status).toBe(202);
    // bob approving the same edit decides it: the edited call has two approvers.
    const done = await decide(s, s.bob, id, { verdict: 'allow', args: editedArgs });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ verdict: 'allow', digest, edited: { digest, originalDigest: callDigest('transfer', { amount: 2500 }) }, approvals: { required: 2, approvers: ['alice', 'bob'] } });
    const claims = await verifyProof(done.body.proof as string, { keys: await jwks(s.url), expected: { tool: 'transfer', digest, verdict: 'allow' } });
    expect(claims.tg.approvers).toEqual(['alice', 'bob']);

    // An edit down to what the policy allows by itself is decided by its editor alone.
    const small = await submit(s, s.evalKey, 'ed-4', 'transfer', { amount: 2500 });
    const one = await decide(s, s.approveKey, small.body.id as string, { verdict: 'allow', args: { amount: 90 } });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ verdict: 'allow', digest: callDigest('transfer', { amount: 90 }), approvals: { required: 1, approvers: ['alice'] } });
  });

  it('a review nobody decided in time answers expired: true (deny, decidedBy expiry), not a human rejection', async () => {
    const s = await started();
    const r = await submit(s, s.evalKey, 'ex-1', 'transfer', { amount: 2000 });
    const id = r.body.id as string;
    expect((await decide(s, s.approveKey, id, { verdict: 'allow' })).status).toBe(202);
    await expireInStore(s, id);
    const got = await http(s.url, 'GET', `/v1/reviews/${id}`, s.evalKey);
    expect(got.body).toMatchObject({ status: 'decided', verdict: 'deny', decidedBy: 'expiry', expired: true });
    const late = await decide(s, s.bob, id, { verdict: 'allow' });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('ALREADY_DECIDED');
    // A human rejection is never marked expired.
    const other = await submit(s, s.evalKey, 'ex-2', 'transfer', { amount: 700 });
    const no = await decide(s, s.approveKey, other.body.id as string, { verdict: 'deny' });
    expect(no.body.expired).toBeUndefined();
  });

  it('two approvers racing on one server: exactly one decides', async () => {
    const s = await started();
    for (let i = 0; i < 5; i++) {
      const r = await submit(s, s.evalKey, `race-${i}`, 'transfer', { amount: 2000 + i });
      const id = r.body.id as string;
      expect((await decide(s, s.approveKey, id, { verdict: 'allow' })).status).toBe(202);
      const [x, y] = await Promise.all([decide(s, s.bob, id, { verdict: 'allow' }), decide(s, s.fin1, id, { verdict: 'allow' })]);
      expect([x.status, y.status].sort()).toEqual([200, 409]);
      const winner = x.status === 200 ? x : y;
      expect(winner.body.approvals.approvers).toHaveLength(2);
      expect(winner.body.approvals.approvers[0]).toBe('alice');
    }
    expect((await http(s.url, 'GET', '/v1/audit/verify', s.approveKey)).body.ok).toBe(true);
  });
});

describe('two-person approvals across PostgreSQL replicas', () => {
  beforeAll(async () => {
    pgServer ??= await startPostgres();
  }, 90_000);

  it('two approvers racing on two replicas decide once: one 200, one 409, one decision record, both approvers in the proof', async () => {
    const database = await freshDatabase(pgServer!.url);
    const a = await startServer({ policy: POLICY, database });
    const b = await startServer({ policy: POLICY, database }, false);
    for (const s of [a, b]) {
      cleanups.push(() => removeDir(s.dataDir));
      cleanups.push(() => s.server.close());
    }
    const bob = (await a.server.keys.createStored('approve', 'bob')).key;
    const carol = (await a.server.keys.createStored('approve', 'carol')).key;

    // An approval recorded on B reaches A's dashboards ("1 of 2 approvals"), over NOTIFY.
    const first = await submit(a, a.evalKey, 'xr-notify', 'transfer', { amount: 2999 });
    const heard = new Promise<{ id: string; approvals?: { approvers: string[] } }>((resolve) => a.server.service.events.once('review.approved', resolve));
    expect((await decide(b, bob, first.body.id as string, { verdict: 'allow' })).status).toBe(202);
    expect(await heard).toMatchObject({ id: first.body.id, approvals: { required: 2, approvers: ['bob'] } });

    for (let i = 0; i < 8; i++) {
      const r = await submit(a, a.evalKey, `xr-${i}`, 'transfer', { amount: 3000 + i });
      const id = r.body.id as string;
      // The first two approvals race too: one records, the other re-reads and decides.
      const racing = i % 2 === 0;
      if (!racing) expect((await decide(a, a.approveKey, id, { verdict: 'allow' })).status).toBe(202);
      const [x, y] = await Promise.all([decide(a, racing ? a.approveKey : bob, id, { verdict: 'allow' }), decide(b, racing ? bob : carol, id, { verdict: 'allow' })]);
      const statuses = [x.status, y.status].sort();
      expect(statuses).toEqual(racing ? [200, 202] : [200, 409]);
      const winner = x.status === 200 ? x : y;
      expect(winner.body).toMatchObject({ status: 'decided', verdict: 'allow' });
      expect(winner.body.approvals.approvers).toHaveLength(2);
      const claims = await verifyProof(winner.body.proof as string, {
        keys: await jwks(a.url),
        expected: { tool: 'transfer', digest: callDigest('transfer', { amount: 3000 + i }), verdict: 'allow' },
      });
      expect(claims.tg.approvers).toEqual(winner.body.approvals.approvers);
    }
    const records = (await http(b.url, 'GET', '/v1/audit?limit=1000', a.approveKey)).body.records as Array<{
      kind: string;
      meta?: Record<string, unknown>;
      decision?: { verdict: string };
    }>;
    const final = records.filter((x) => x.kind === 'human_decision' && x.decision?.verdict === 'allow');
    expect(final).toHaveLength(8);
    expect((await http(b.url, 'GET', '/v1/audit/verify', a.approveKey)).body.ok).toBe(true);
  });
});
