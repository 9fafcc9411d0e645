// Attacks on 6f83a97 (one execution per key, a final no replaced by nothing but a no, only
// human:<who> is a human): reviewer-side human answers (deny, expiry, edit) against the gate's local
// resolveReview, two-person approvals against an expiry, answer ids, and two gates (two processes)
// on one SQLite file. Each test counts body runs: a denied body runs 0 times, an approved one
// exactly once. Real reviewers (callbackReviewer); SQLite ledgers on temp files.
import { describe, expect, it } from 'vitest';
import { memoryAudit } from '../audit/index';
import { callbackReviewer } from '../reviewers/callback-reviewer';
import { createGate } from './create-gate';
import { harness, openLedger, pay, scripted, tempFile, tick } from './attack-harness.test-support';



async function digests() {
  const probe = createGate({ reviewer: callbackReviewer(() => ({ verdict: 'allow' })), highStakes: ['transfer'], audit: memoryAudit(), telemetry: false });
  return { original: (await probe.canI(pay)).digest, edited: (await probe.canI({ ...pay, args: { amount: 50 } })).digest };
}

describe('claim rules (6f83a97): attacks', () => {
  for (const withLedger of [false, true]) {
    it(`a review server's human deny (decidedBy human:rev) on a re-ask, then the local approval of the pending review: nothing runs${withLedger ? ' (ledger)' : ''}`, async () => {
      const h = harness();
      const s = scripted([{ verdict: 'review', reason: 'human' }, { verdict: 'deny', reason: 'no', decidedBy: 'human:rev' }]);
      const t = h.make(s.reviewer, withLedger ? openLedger(tempFile()) : undefined);
      const pending = await t.gate.review(pay);
      const denied = await t.gate.review(pay);
      expect(denied).toMatchObject({ verdict: 'deny', source: 'human' });
      const approved = await t.gate.resolveReview(pending, { type: 'approve', approver: 'alice' });
      expect(approved.error?.code).toBe('REVIEW_ALREADY_DECIDED');
      await t.run(approved);
      await t.run(await t.gate.review(pay));
      expect(h.runs).toEqual([]);
    });
  }

  it('a review server\'s human deny, then that server\'s human approval on the next ask: refused, and the gate answers deny (not an allow it cannot run)', async () => {
    const h = harness();
    const s = scripted([{ verdict: 'deny', reason: 'no', decidedBy: 'human:alice' }, { verdict: 'allow', reason: 'changed my mind', decidedBy: 'human:bob' }]);
    const t = h.make(s.reviewer);
    expect((await t.gate.review(pay)).verdict).toBe('deny');
    const second = await t.gate.review(pay);
    expect(await t.run(second)).toBe('refused');
    expect(h.runs).toEqual([]);
    expect(second.verdict).toBe('deny');
  });

  // HOLE: an expiry answered BY THE REVIEWER (verdict.expired, fromHumanOnReviewer → hardDeny
  // REVIEW_EXPIRED, source 'fail_closed') is not conclusive (isConclusive), so it is neither cached
  // nor recorded in the ledger: isFinalNo never sees it. resolveReview's approval of the pending
  // review then finds no prior answer (priorAnswer: undefined), the gate's own deadline has not
  // passed, and the call runs — although the review server said nobody answered in time and the
  // same expiry given through resolveReview({ type: 'expired' }) is final ("an expired review
  // cannot be approved"). Failed on 6f83a97 with runs = [{amount:6000}] (memory and ledger). Fixed: the
  // reviewer's expiry is kept and recorded as the final no it is (cache lasting tier, ledger).
  for (const withLedger of [false, true]) {
    it(`was a hole: a review server's expiry (expired: true) on a re-ask, then the local approval of the pending review: nothing runs${withLedger ? ' (ledger)' : ''}`, async () => {
      const h = harness();
      const s = scripted([{ verdict: 'review', reason: 'human' }, { verdict: 'review', expired: true }]);
      const t = h.make(s.reviewer, withLedger ? openLedger(tempFile()) : undefined);
      const pending = await t.gate.review(pay);
      const expired = await t.gate.review(pay);
      expect(expired).toMatchObject({ verdict: 'deny', error: { code: 'REVIEW_EXPIRED' } });
      const approved = await t.gate.resolveReview(pending, { type: 'approve', approver: 'alice' });
      await t.run(approved);
      await t.run(await t.gate.review(pay));
      expect(h.runs).toEqual([]);
    });
  }

  it('two-person approval: alice approves, the review expires, bob approves: nothing runs', async () => {
    for (const withLedger of [false, true]) {
      const h = harness();
      const s = scripted([{ verdict: 'review', reason: 'two', approvals: { required: 2 } }]);
      const t = h.make(s.reviewer, withLedger ? openLedger(tempFile()) : undefined);
      const pending = await t.gate.review(pay);
      const one = await t.gate.resolveReview(pending, { type: 'approve', approver: 'alice' });
      expect(one.verdict).toBe('review');
      expect((await t.gate.resolveReview(pending, { type: 'expired' })).error?.code).toBe('REVIEW_EXPIRED');
      const two = await t.gate.resolveReview(one, { type: 'approve', approver: 'bob' });
      expect(two.error?.code).toBe('REVIEW_EXPIRED');
      await t.run(one);
      await t.run(two);
      await t.run(await t.gate.review(pay));
      expect(h.runs).toEqual([]);
    }
  });

  it('two-person approval: alice approves, a concurrent re-ask gets a reviewer-side partial answer (review, approvers [alice, mallory]): bob still needed, then runs once', async () => {
    const h = harness();
    const s = scripted([
      { verdict: 'review', reason: 'two', approvals: { required: 2 } },
      { verdict: 'review', reason: 'two', approvals: { required: 2, approvers: ['alice', 'mallory'] } },
    ]);
    const t = h.make(s.reviewer);
    const pending = await t.gate.review(pay);
    const one = await t.gate.resolveReview(pending, { type: 'approve', approver: 'alice' });
    const partial = await t.gate.review(pay);
    expect(partial.verdict).toBe('review');
    expect(await t.run(partial)).toBe('refused');
    expect((await t.gate.resolveReview(partial, { type: 'approve', approver: 'alice' })).verdict).toBe('review');
    expect(h.runs).toEqual([]);
    const two = await t.gate.resolveReview(one, { type: 'approve', approver: 'bob' });
    expect(two.verdict).toBe('allow');
    await t.run(two);
    await t.run(two);
    expect(h.runs).toEqual([{ amount: 6_000 }]);
  });

  it('an answer id spent on a review that then expired does not approve the re-asked call (fresh call id)', async () => {
    const h = harness();
    const s = scripted([{ verdict: 'review', reason: 'human' }]);
    const t = h.make(s.reviewer, openLedger(tempFile()));
    const pending = await t.gate.review(pay);
    expect((await t.gate.resolveReview(pending, { type: 'expired' })).error?.code).toBe('REVIEW_EXPIRED');
    const again = await t.gate.resolveReview(pending, { type: 'approve', approver: 'alice', answerId: 'ans-1' });
    expect(again.error?.code).toBe('REVIEW_EXPIRED');
    const retry = await t.gate.review({ ...pay, callId: 'pay-2' });
    const replay = await t.gate.resolveReview(retry, { type: 'approve', approver: 'alice', answerId: 'ans-1' });
    expect(replay.error?.code).toBe('REVIEW_ALREADY_DECIDED');
    await t.run(replay);
    expect(h.runs).toEqual([]);
    // AVAILABILITY: the retry with a fresh call id and a fresh answer runs, once.
    const ok = await t.gate.resolveReview(retry, { type: 'approve', approver: 'alice', answerId: 'ans-2' });
    expect(ok.verdict).toBe('allow');
    await t.run(ok);
    await t.run(ok);
    expect(h.runs).toEqual([{ amount: 6_000 }]);
  });

  it('two gates on one SQLite file: an expiry in gate B refuses the allow gate A holds in its brief tier, and A\'s later allows', async () => {
    const h = harness();
    const file = tempFile();
    const b = h.make(scripted([{ verdict: 'review', reason: 'human' }]).reviewer, openLedger(file));
    const a = h.make(scripted([{ verdict: 'allow', reason: 'ok' }]).reviewer, openLedger(file));
    const pending = await b.gate.review(pay);
    const allowed = await a.gate.review(pay);
    expect(allowed.verdict).toBe('allow');
    expect((await b.gate.resolveReview(pending, { type: 'expired' })).error?.code).toBe('REVIEW_EXPIRED');
    expect(await a.run(allowed)).toBe('refused');
    expect(await a.run(await a.gate.review(pay))).toBe('refused');
    expect(await b.run(await b.gate.review(pay))).toBe('refused');
    expect(h.runs).toEqual([]);
  });

  it('two gates on one SQLite file: a review server\'s human deny seen by gate B refuses the allow gate A holds in memory', async () => {
    const h = harness();
    const file = tempFile();
    const a = h.make(scripted([{ verdict: 'allow', reason: 'ok' }]).reviewer, openLedger(file));
    const allowed = await a.gate.review(pay);
    const b = h.make(scripted([{ verdict: 'deny', reason: 'no', decidedBy: 'human:rev' }]).reviewer, openLedger(file));
    // B finds A's allow in the ledger (no re-ask): the review server's no reaches B only on a fresh key.
    expect((await b.gate.review(pay)).verdict).toBe('allow');
    expect(await a.run(allowed)).toBe('ran');
    expect(await b.run(allowed)).toBe('refused');
    expect(h.runs).toEqual([{ amount: 6_000 }]);
  });

  // HOLE (two processes, SQL ledger): a review server's human edit (verdict.edited, human:carol)
  // reaches gate A and is recorded under the ORIGINAL key with the EDITED digest. A local human in
  // gate B then rejects the pending original. In one gate the reject replaces the un-run edit
  // (cache.keep: the held edit is not a final no) and the edit is refused. But the SQL `record`
  // updates only `WHERE digest = excluded.digest`: the reject (original digest) is dropped silently,
  // ledgerRecord reports success, and A's ledger claim of the edit (row digest = edited, decision an
  // allow) succeeds: 50 runs after a human said no to the call. Failed on 6f83a97 with runs = [{amount:50}].
  // Fixed: a ledger records a final no over a row held by another digest (it denies the whole key).
  it('was a hole: a reject in gate B after a reviewer-side edit reached gate A: the edit does not run in A (nor in one gate)', async () => {
    const h = harness();
    const file = tempFile();
    const d = await digests();
    const b = h.make(scripted([{ verdict: 'review', reason: 'human' }]).reviewer, openLedger(file));
    const a = h.make(
      scripted([{ verdict: 'allow', decidedBy: 'human:carol', reason: 'edited', edited: { originalDigest: d.original, digest: d.edited, args: { amount: 50 } } }]).reviewer,
      openLedger(file),
    );
    const pending = await b.gate.review(pay);
    const edit = await a.gate.review(pay);
    expect(edit).toMatchObject({ verdict: 'allow', source: 'human', digest: d.edited });
    expect(await b.gate.resolveReview(pending, { type: 'reject', approver: 'alice' })).toMatchObject({ verdict: 'deny', source: 'human' });
    await a.run(edit);
    expect(h.runs).toEqual([]);
  });

  it('control: the same order in ONE gate: the reject stands and the edit does not run', async () => {
    const h = harness();
    const d = await digests();
    const s = scripted([
      { verdict: 'review', reason: 'human' },
      { verdict: 'allow', decidedBy: 'human:carol', reason: 'edited', edited: { originalDigest: d.original, digest: d.edited, args: { amount: 50 } } },
    ]);
    const t = h.make(s.reviewer);
    const pending = await t.gate.review(pay);
    const edit = await t.gate.review(pay);
    expect(edit).toMatchObject({ verdict: 'allow', digest: d.edited });
    expect(await t.gate.resolveReview(pending, { type: 'reject', approver: 'alice' })).toMatchObject({ verdict: 'deny', source: 'human' });
    await t.run(edit);
    expect(h.runs).toEqual([]);
  });

  for (const withLedger of [false, true]) {
    it(`a local reject, then a late review-server edit (human:carol) of the re-asked call: neither runs${withLedger ? ' (ledger)' : ''}`, async () => {
      const h = harness();
      const d = await digests();
      const s = scripted(
        [{ verdict: 'review', reason: 'human' }, { verdict: 'allow', decidedBy: 'human:carol', reason: 'edited', edited: { originalDigest: d.original, digest: d.edited, args: { amount: 50 } } }],
        [false, true],
      );
      const t = h.make(s.reviewer, withLedger ? openLedger(tempFile()) : undefined);
      const pending = await t.gate.review(pay);
      const late = t.gate.review(pay);
      await tick();
      expect((await t.gate.resolveReview(pending, { type: 'reject', approver: 'alice' })).verdict).toBe('deny');
      s.gates[0]!();
      await t.run(await late);
      await t.run(await t.gate.review(pay));
      expect(h.runs).toEqual([]);
    });

    it(`resolveReview expired, then a late review-server approval (human:bob): nothing runs${withLedger ? ' (ledger)' : ''}`, async () => {
      const h = harness();
      const s = scripted([{ verdict: 'review', reason: 'human' }, { verdict: 'allow', reason: 'ok', decidedBy: 'human:bob' }], [false, true]);
      const t = h.make(s.reviewer, withLedger ? openLedger(tempFile()) : undefined);
      const pending = await t.gate.review(pay);
      const late = t.gate.review(pay);
      await tick();
      expect((await t.gate.resolveReview(pending, { type: 'expired' })).error?.code).toBe('REVIEW_EXPIRED');
      s.gates[0]!();
      await t.run(await late);
      await t.run(await t.gate.review(pay));
      expect((await t.gate.resolveReview(pending, { type: 'approve', approver: 'carol' })).error?.code).toBe('REVIEW_EXPIRED');
      expect(h.runs).toEqual([]);
    });
  }
});
