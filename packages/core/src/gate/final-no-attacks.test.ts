// Attacks on e754c01 (a final no — a human's deny, an expiry, also one the reviewer answered — is
// kept in the long tier and recorded in the ledger even over a row held by another digest): who can
// write such a final no, and under which key; the onReview 'wait' path with a reviewer-side expiry or
// edit; two gates (two processes) on one SQLite file; and legitimate runs that must still go through
// (a new call id after an expiry, the same call id in a new run, two-person approvals). Each test
// counts body runs: a denied body runs 0 times, an approved one exactly once. Real reviewers;
// SQLite ledgers on temp files.
import { describe, expect, it } from 'vitest';
import { memoryAudit } from '../audit/index';
import { callbackReviewer } from '../reviewers/callback-reviewer';
import type { Decision, Reviewer, ReviewerVerdict, ToolCall } from '../types';
import { createGate } from './create-gate';
import { harness, openLedger, tempFile } from './attack-harness.test-support';


/** Small transfers are allowed by the reviewer, anything from 1,000 goes to a human. */
const byAmount = (required = 1) =>
  callbackReviewer((r) => {
    const amount = (r.call.args as { amount: number }).amount;
    if (amount < 1_000) return { verdict: 'allow', reason: 'small' };
    return { verdict: 'review', reason: 'large', ...(required > 1 ? { approvals: { required } } : {}) };
  });

/** A review server: every ask is pending (reviewId), and waitForDecision answers `answer`. */
function waiting(answer: (reviewId: string) => ReviewerVerdict): Reviewer {
  let n = 0;
  return {
    name: 'review-server',
    review: async (r) => (r.dryRun ? { verdict: 'allow', reason: 'dry' } : { verdict: 'review', reason: 'human', reviewId: `rv-${++n}` }),
    waitForDecision: async (reviewId) => answer(reviewId),
  };
}

const big: ToolCall = { tool: 'transfer', args: { amount: 6_000 }, callId: 'x', runId: 'r1' };
const small: ToolCall = { tool: 'transfer', args: { amount: 50 }, callId: 'y', runId: 'r1' };

describe('final no over another digest (e754c01): attacks', () => {
  // HOLE (client/caller denial of service). resolveReview takes the Decision's idempotencyKey and
  // digest as handed in and never checks that they belong together (the key carries the digest's
  // first 64 bits: `tg1:<run>:<call>:<digest 7..23>`). A caller holding ANY pending review (call X,
  // 6,000) hands it back with the idempotencyKey of another call Y (50, allowed by the reviewer and
  // not run yet) and answers reject / expired: the gate checks the reviewed args against X's digest
  // (they match), finds no pending review under Y's key and nothing executed, and recordHuman writes
  // the final no under Y's key — cache.keep replaces Y's allow (no digest check), and since e754c01
  // the SQL ledger records it over Y's row too (a final no is written over another digest). Y's
  // approved allow is then 'overruled' in every process, forever (nothing but a deny replaces it).
  // Fails on e754c01 with runs = [] (Y never runs): memory, and gate B's reject through the ledger.
  for (const [answerType, twoGates] of [['reject', false], ['reject', true], ['expired', true]] as const) {
    it(`was a hole: resolveReview(${answerType}) of call X's pending review re-keyed to call Y's key does not block Y's approved allow${twoGates ? ' (gate B, shared SQLite ledger)' : ' (one gate, no ledger)'}`, async () => {
      const h = harness();
      const file = twoGates ? tempFile() : undefined;
      const a = h.make(byAmount(), file ? openLedger(file) : undefined);
      const b = twoGates ? h.make(byAmount(), openLedger(file!)) : a;
      const y = await a.gate.review(small);
      expect(y.verdict).toBe('allow');
      const x = await a.gate.review(big);
      expect(x.verdict).toBe('review');
      const forged = { ...x, idempotencyKey: y.idempotencyKey };
      const answered = await b.gate.resolveReview(forged, answerType === 'reject' ? { type: 'reject', approver: 'mallory' } : { type: 'expired' });
      expect(answered.verdict).toBe('deny');
      expect(await a.run(y)).toBe('ran');
      expect(h.runs).toEqual([{ amount: 50 }]);
    });
  }

  // The same forged reject is forever: Y asked again (its reviewer allows it afresh) is still refused —
  // the ledger's final no under Y's key is replaced by nothing but a deny, and its decision (X's
  // digest) never matches Y's, so every later review of Y asks the reviewer, records nothing, and
  // every claim is 'overruled'. Fails on e754c01 at the run of the re-asked Y (refused, runs = []).
  it('was a hole: after the forged reject under Y\'s key, Y reviewed again (allowed) runs once (shared SQLite ledger)', async () => {
    const h = harness();
    const file = tempFile();
    const a = h.make(byAmount(), openLedger(file));
    const b = h.make(byAmount(), openLedger(file));
    const y = await a.gate.review(small);
    const x = await b.gate.review(big);
    await b.gate.resolveReview({ ...x, idempotencyKey: y.idempotencyKey }, { type: 'reject' });
    const c = h.make(byAmount(), openLedger(file)); // a fresh process: nothing in memory
    const again = await c.gate.review(small);
    expect(again.verdict).toBe('allow');
    expect(await c.run(again)).toBe('ran');
    expect(h.runs).toEqual([{ amount: 50 }]);
  });

  // Same hole, plainer: the forged Decision need not even be a real pending review — any Decision
  // shaped as one (verdict review, a digest, a tool) with Y's key. No args are needed either.
  it('was a hole: a made-up review Decision (other digest, no args) rejected under Y\'s key in gate B blocks Y in gate A (shared SQLite ledger)', async () => {
    const h = harness();
    const file = tempFile();
    const a = h.make(byAmount(), openLedger(file));
    const b = h.make(byAmount(), openLedger(file));
    const y = await a.gate.review(small);
    const made = { verdict: 'review', reason: 'r', source: 'reviewer', tool: 'transfer', digest: `sha256:${'ab'.repeat(32)}`, conditions: [], evaluated: [], latencyMs: 0, idempotencyKey: y.idempotencyKey } as Decision;
    expect((await b.gate.resolveReview(made, { type: 'reject' })).verdict).toBe('deny');
    expect(await a.run(y)).toBe('ran');
    expect(h.runs).toEqual([{ amount: 50 }]);
  });

  // HOLE (caller, weaker): reportOutcome marks the key of the Decision handed in as executed
  // (decision-cache markExecuted: no digest check) — since 6f83a97 "one execution per key whatever
  // the digest", a report for another call's digest under Y's key makes Y ALREADY_EXECUTED though Y
  // never ran. Failed on e754c01 with runs = []. Fixed: only a Decision whose key fits its digest (or the one the
  // gate holds under the key) marks the key as run; resolveReview and claims refuse a re-keyed Decision.
  it('was a hole: reportOutcome of a Decision for X re-keyed to Y\'s key does not make Y\'s approved allow ALREADY_EXECUTED', async () => {
    const h = harness();
    const a = h.make(byAmount());
    const y = await a.gate.review(small);
    const x = await a.gate.canI({ ...big, args: { amount: 70 } });
    await a.gate.reportOutcome({ ...x, dryRun: undefined, idempotencyKey: y.idempotencyKey } as Decision, { status: 'success' });
    expect(await a.run(y)).toBe('ran');
    expect(h.runs).toEqual([{ amount: 50 }]);
  });

  it('claimExecution of a Decision for X re-keyed to Y\'s key (Y not yet reviewed) is refused and marks nothing: Y runs once later', async () => {
    const h = harness();
    const a = h.make(byAmount());
    const x = await a.gate.review({ ...big, args: { amount: 70 }, callId: 'x' });
    const yKey = (await a.gate.canI(small)).idempotencyKey!;
    expect(await a.run({ ...x, idempotencyKey: yKey } as Decision)).toBe('refused');
    expect(await a.run(await a.gate.review(small))).toBe('ran');
    expect(h.runs).toEqual([{ amount: 50 }]);
  });

  it('a reviewer\'s own deny (decidedBy "humanoid-bot", not a final no) for another digest is not written over Y\'s row: Y runs once', async () => {
    const h = harness();
    const file = tempFile();
    const a = h.make(byAmount(), openLedger(file));
    const y = await a.gate.review(small);
    // Gate B's reviewer answers Y's key with a deny for other arguments (it cannot: another digest is VERDICT_INVALID).
    const b = h.make(callbackReviewer(() => ({ verdict: 'deny', reason: 'no', decidedBy: 'humanoid-bot', digest: `sha256:${'cd'.repeat(32)}` })), openLedger(file));
    await b.gate.review({ ...small, callId: 'y' });
    expect(await a.run(y)).toBe('ran');
    expect(await a.run(y)).toBe('refused');
    expect(h.runs).toEqual([{ amount: 50 }]);
  });

  it('wait: the review server answers expired: true — nothing runs, a handed-back approval is refused, and gate B (same ledger) answers the final no', async () => {
    const h = harness();
    const file = tempFile();
    const a = h.make(waiting(() => ({ verdict: 'review', expired: true })), openLedger(file), { onReview: 'wait' });
    const b = h.make(byAmount(), openLedger(file));
    const d = await a.gate.review(big);
    expect(d).toMatchObject({ verdict: 'deny', error: { code: 'REVIEW_EXPIRED' } });
    expect(await a.run(d)).toBe('refused');
    const approved = await b.gate.resolveReview({ ...d, verdict: 'review' } as Decision, { type: 'approve', approver: 'bob' });
    expect(approved.verdict).toBe('deny');
    expect(await b.run(approved)).toBe('refused');
    expect(await b.run({ ...d, verdict: 'allow', source: 'human', decidedBy: 'human:bob' } as Decision)).toBe('refused');
    expect((await b.gate.review(big)).verdict).toBe('deny');
    expect(h.runs).toEqual([]);
  });

  it('after a reviewer-side expiry, the model asks again with a NEW call id (and the same call id in a new run): each is reviewed afresh and runs once', async () => {
    const h = harness();
    const file = tempFile();
    let expire = true;
    const a = h.make(waiting(() => (expire ? { verdict: 'review', expired: true } : { verdict: 'allow', reason: 'ok', decidedBy: 'human:bob' })), openLedger(file), { onReview: 'wait' });
    const b = h.make(waiting(() => ({ verdict: 'allow', reason: 'ok', decidedBy: 'human:carol' })), openLedger(file), { onReview: 'wait' });
    const first = await a.gate.review(big);
    expect(first.error?.code).toBe('REVIEW_EXPIRED');
    expire = false;
    const again = await a.gate.review({ ...big, callId: 'x2' });
    expect(again).toMatchObject({ verdict: 'allow', source: 'human' });
    expect(await a.run(again)).toBe('ran');
    expect(await b.run(again)).toBe('refused');
    const nextRun = await b.gate.review({ ...big, runId: 'r2' });
    expect(nextRun).toMatchObject({ verdict: 'allow', source: 'human' });
    expect(await b.run(nextRun)).toBe('ran');
    expect(await a.run(nextRun)).toBe('refused');
    expect(h.runs).toEqual([{ amount: 6_000 }, { amount: 6_000 }]);
  });

  it('after a resolveReview expiry, a new call id is approved and runs once (two gates)', async () => {
    const h = harness();
    const file = tempFile();
    const a = h.make(byAmount(), openLedger(file));
    const b = h.make(byAmount(), openLedger(file));
    const x = await a.gate.review(big);
    expect((await a.gate.resolveReview(x, { type: 'expired' })).error?.code).toBe('REVIEW_EXPIRED');
    const x2 = await b.gate.review({ ...big, callId: 'x2' });
    expect(x2.verdict).toBe('review');
    const ok = await b.gate.resolveReview(x2, { type: 'approve', approver: 'bob' });
    expect(ok).toMatchObject({ verdict: 'allow', source: 'human' });
    expect(await a.run(ok)).toBe('ran');
    expect(await b.run(ok)).toBe('refused');
    expect(await a.run({ ...x, verdict: 'allow', source: 'human', decidedBy: 'human:bob' } as Decision)).toBe('refused');
    expect(h.runs).toEqual([{ amount: 6_000 }]);
  });

  it('wait: a review-server edit (6,000 → 50): the edit runs once; the original never runs, in this gate or in gate B on the same ledger', async () => {
    const h = harness();
    const file = tempFile();
    const probe = createGate({ reviewer: callbackReviewer(() => ({ verdict: 'allow' })), highStakes: ['transfer'], audit: memoryAudit(), telemetry: false });
    const original = (await probe.canI(big)).digest;
    const editedDigest = (await probe.canI({ ...big, args: { amount: 50 } })).digest;
    const edit = { verdict: 'allow', reason: 'edited', decidedBy: 'human:carol', edited: { args: { amount: 50 }, digest: editedDigest, originalDigest: original } } as ReviewerVerdict;
    const a = h.make(waiting(() => edit), openLedger(file), { onReview: 'wait' });
    const b = h.make(callbackReviewer(() => ({ verdict: 'allow', reason: 'policy now allows' })), openLedger(file));
    const d = await a.gate.review(big);
    expect(d).toMatchObject({ verdict: 'allow', source: 'human', digest: editedDigest });
    const fromB = await b.gate.review(big);
    expect(await b.run(fromB)).toBe('refused');
    expect(await a.run(d)).toBe('ran');
    expect(await a.run(d)).toBe('refused');
    expect(await b.run(d)).toBe('refused');
    expect(await a.run({ ...d, digest: original, edited: undefined } as Decision)).toBe('refused');
    expect(h.runs).toEqual([{ amount: 50 }]);
  });

  it('a human reject in gate B, then a late review-server expiry answered to gate A\'s wait: the final no stands, nothing runs, and a replayed approval is refused', async () => {
    const h = harness();
    const file = tempFile();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const a = h.make({ ...waiting(() => ({ verdict: 'review', expired: true })), waitForDecision: async () => (await held, { verdict: 'allow', reason: 'late', decidedBy: 'human:eve' }) }, openLedger(file), { onReview: 'wait' });
    const b = h.make(byAmount(), openLedger(file));
    const pending = await b.gate.review(big);
    const waited = a.gate.review(big);
    expect((await b.gate.resolveReview(pending, { type: 'reject', approver: 'bob' })).verdict).toBe('deny');
    release();
    const late = await waited;
    expect(await a.run(late)).toBe('refused');
    expect(await b.run({ ...pending, verdict: 'allow', source: 'human', decidedBy: 'human:eve' } as Decision)).toBe('refused');
    expect(h.runs).toEqual([]);
  });

  it('two-person approval across two gates on one ledger: alice and bob approve in A, it runs once; B refuses it', async () => {
    const h = harness();
    const file = tempFile();
    const a = h.make(byAmount(2), openLedger(file));
    const b = h.make(byAmount(2), openLedger(file));
    const d = await a.gate.review(big);
    const one = await a.gate.resolveReview(d, { type: 'approve', approver: 'alice' });
    expect(one.verdict).toBe('review');
    expect(await a.run(one)).toBe('refused');
    const two = await a.gate.resolveReview(one, { type: 'approve', approver: 'bob' });
    expect(two).toMatchObject({ verdict: 'allow', source: 'human' });
    expect(await b.run(two)).toBe('ran');
    expect(await a.run(two)).toBe('refused');
    expect(h.runs).toEqual([{ amount: 6_000 }]);
  });
});
