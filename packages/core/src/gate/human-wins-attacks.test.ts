// Attacks on 905b5aa ("a human's answer stands"): the claim refuses a Decision the gate's answer
// for its key no longer allows, a late reviewer answer does not replace a human's, SQL ledgers keep
// a human answer and refuse a claim of a non-allow. Each test counts body runs: a denied body runs
// 0 times, an approved one exactly once. Real reviewers (callbackReviewer, policyReviewer), with and
// without a SQLite ledger on a temp file (two gates on one file stand for two processes).
import { describe, expect, it } from 'vitest';
import { memoryAudit } from '../audit/index';
import { callbackReviewer } from '../reviewers/callback-reviewer';
import type { Decision } from '../types';
import { createGate } from './create-gate';
import { runGoverned } from './governed';
import { harness, openLedger, pay, scripted, tempFile, tick } from './attack-harness.test-support';



describe('a human answer stands (905b5aa): attacks', () => {
  // HOLE: a human's edit given ON THE REVIEWER (verdict.edited, decidedBy "human:…", the
  // human-on-reviewer path, fromHumanOnReviewer) is cached under the ORIGINAL key with the edited
  // digest, and nothing supersedes the original. A framework re-execution asked concurrently got
  // the reviewer's plain allow A (6,000) first. runGoverned(A): claim(key, A) finds the human's edited
  // allow (another digest), not executed, and allow → 'claimed' → 6,000 runs; the edit (50) is then
  // ALREADY_EXECUTED. The human changed 6,000 into 50 and 6,000 ran. Fixed: a claim is refused when the
  // gate's answer for the key is an allow for other arguments, and once a key ran, for any digest. Failed on 905b5aa with
  // runs = [{amount:6000}]. (resolveReview's edit keeps a superseded deny on the original key; this
  // path does not, and claim() does not compare the held digest with the one handed in.)
  for (const withLedger of [false, true]) {
  it(`was a hole: a human edit made on the reviewer: the original (concurrent allow) does not run, only the edit${withLedger ? ' (ledger)' : ''}`, async () => {
    const h = harness();
    const probe = h.make(callbackReviewer(() => ({ verdict: 'allow' })));
    const editedDigest = (await probe.gate.canI({ ...pay, args: { amount: 50 } })).digest;
    const original = (await probe.gate.canI(pay)).digest;
    const s = scripted(
      [{ verdict: 'allow', decidedBy: 'human:alice', reason: 'edited', edited: { originalDigest: original, digest: editedDigest, args: { amount: 50 } } }, { verdict: 'allow', reason: 'ok' }],
      [true, false],
    );
    const t = h.make(s.reviewer, withLedger ? openLedger(tempFile()) : undefined);
    const b = t.gate.review(pay); // asked first, answered late by a human's edit on the reviewer
    await tick();
    const a = await t.gate.review(pay); // the framework's re-execution: the reviewer allows as asked
    s.gates[0]!();
    const edited = await b;
    expect(a).toMatchObject({ verdict: 'allow', digest: original });
    expect(edited).toMatchObject({ verdict: 'allow', source: 'human', digest: editedDigest });
    await t.run(a);
    await t.run(edited);
    // With a ledger the key's row is bound to the original digest (A was recorded first), so the
    // edit, kept under the same key, cannot be claimed there either: nothing runs (fail closed; a
    // known availability limit of this race — the reviewer-side edit is not moved to its own key).
    expect(h.runs).toEqual(withLedger ? [] : [{ amount: 50 }]);
  });
  }

  // HOLE, same path, other order: the edit runs first (50), then A: claim(key, A) finds the key
  // executed for ANOTHER digest and answers 'claimed' without a write (decision-cache.ts claim:
  // `held.executed → digest === ? 'ran' : 'claimed'`) → 6,000 runs as well, and again on every
  // further runGoverned(A). Failed on 905b5aa with runs = [{amount:50},{amount:6000},{amount:6000}]; fixed as above.
  it('was a hole: a human edit made on the reviewer, edit run first: the original allow does not run after it', async () => {
    const h = harness();
    const probe = h.make(callbackReviewer(() => ({ verdict: 'allow' })));
    const editedDigest = (await probe.gate.canI({ ...pay, args: { amount: 50 } })).digest;
    const original = (await probe.gate.canI(pay)).digest;
    const s = scripted(
      [{ verdict: 'allow', decidedBy: 'human:alice', edited: { originalDigest: original, digest: editedDigest, args: { amount: 50 } } }, { verdict: 'allow', reason: 'ok' }],
      [true, false],
    );
    const t = h.make(s.reviewer);
    const b = t.gate.review(pay);
    await tick();
    const a = await t.gate.review(pay);
    s.gates[0]!();
    const edited = await b;
    await t.run(edited);
    await t.run(a);
    await t.run(a);
    expect(h.runs).toEqual([{ amount: 50 }]);
  });

  // HOLE: a reviewer's answer counts as a human's when its decidedBy starts with "human" (sourceOf:
  // `decidedBy?.startsWith('human')`, so "humanoid-bot" too). The fix keeps a human's reject only
  // against NON-human late answers (cache.set, decide(), the SQL record), so a reviewer answer that
  // lands after resolveReview's reject with decidedBy "human:…" replaces the reject in the cache and
  // the ledger; the next re-execution answers that allow and the body runs after a human said no.
  // Failed on 905b5aa with runs = [{amount:6000}] (both variants). Fixed: only `human:<who>` (or `human`) is a
  // human's answer, and a final no (a human's deny, an expiry) is replaced by nothing but another no.
  for (const [withLedger, by] of [[false, 'humanoid-bot'], [true, 'humanoid-bot'], [false, 'human:bob'], [true, 'human:bob']] as const) {
    it(`was a hole: a late reviewer answer with decidedBy "${by}" does not undo a resolveReview reject${withLedger ? ' (ledger)' : ''}`, async () => {
      const h = harness();
      const s = scripted([{ verdict: 'review', reason: 'human' }, { verdict: 'allow', reason: 'ok', decidedBy: by }], [false, true]);
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
  }

  it('reportOutcome of the old allow before any claim, after a human reject of the re-asked call: no run', async () => {
    const h = harness();
    const s = scripted([{ verdict: 'review', reason: 'human' }, { verdict: 'allow' }], [true, false]);
    const t = h.make(s.reviewer);
    const pending = t.gate.review(pay);
    await tick();
    const first = await t.gate.review(pay); // answered allow while the other ask is still out
    s.gates[0]!();
    const again = await pending;
    expect(first.verdict).toBe('allow');
    expect(again.verdict).toBe('review');
    expect((await t.gate.resolveReview(again, { type: 'reject', approver: 'alice' })).verdict).toBe('deny');
    await t.gate.reportOutcome(first, { status: 'success' }); // an adapter reporting without a claim
    expect(await t.run(first)).toBe('refused');
    expect(await t.run(await t.gate.review(pay))).toBe('refused');
    expect(h.runs).toEqual([]);
  });

  it('two gates on one SQLite file: a reject in gate B refuses the allow gate A issued and still holds', async () => {
    const h = harness();
    const file = tempFile();
    const sa = scripted([{ verdict: 'allow', reason: 'ok' }]);
    const sb = scripted([{ verdict: 'review', reason: 'human' }]);
    // B asks first (its pending review is not recorded as an answer), A's allow is recorded after.
    const b = h.make(sb.reviewer, openLedger(file));
    const pending = await b.gate.review({ ...pay, runId: 'r2' });
    const a = h.make(sa.reviewer, openLedger(file));
    const allowed = await a.gate.review({ ...pay, runId: 'r2' });
    expect(allowed.verdict).toBe('allow');
    const rejected = await b.gate.resolveReview(pending, { type: 'reject', approver: 'alice' });
    expect(rejected).toMatchObject({ verdict: 'deny', source: 'human' });
    expect(await a.run(allowed)).toBe('refused');
    expect(await a.run(allowed)).toBe('refused');
    expect(await b.run(await b.gate.review({ ...pay, runId: 'r2' }))).toBe('refused');
    expect(h.runs).toEqual([]);
  });

  it('two gates on one SQLite file: a late allow in gate A after a reject in gate B does not run', async () => {
    const h = harness();
    const file = tempFile();
    const sa = scripted([{ verdict: 'allow', reason: 'ok' }], [true]);
    const sb = scripted([{ verdict: 'review', reason: 'human' }]);
    const b = h.make(sb.reviewer, openLedger(file));
    const a = h.make(sa.reviewer, openLedger(file));
    const pending = await b.gate.review(pay);
    const late = a.gate.review(pay);
    await tick();
    expect((await b.gate.resolveReview(pending, { type: 'reject', approver: 'alice' })).verdict).toBe('deny');
    sa.gates[0]!();
    const d = await late;
    await a.run(d);
    await a.run(await a.gate.review(pay));
    await b.run(await b.gate.review(pay));
    expect(h.runs).toEqual([]);
  });

  it('a canI allow of a call a human rejected is refused by the claim (memory and ledger)', async () => {
    for (const withLedger of [false, true]) {
      const h = harness();
      const s = scripted([{ verdict: 'review', reason: 'human' }]);
      const t = h.make(s.reviewer, withLedger ? openLedger(tempFile()) : undefined);
      const pending = await t.gate.review(pay);
      await t.gate.resolveReview(pending, { type: 'reject', approver: 'alice' });
      const dry = await t.gate.canI(pay);
      expect(dry.verdict).toBe('allow');
      expect(await t.run(dry)).toBe('refused');
      expect(h.runs).toEqual([]);
    }
  });

  it('a canI allow in a fresh gate whose ledger holds another gate\'s reject: refused', async () => {
    const h = harness();
    const file = tempFile();
    const b = h.make(scripted([{ verdict: 'review', reason: 'human' }]).reviewer, openLedger(file));
    const pending = await b.gate.review(pay);
    await b.gate.resolveReview(pending, { type: 'reject', approver: 'alice' });
    const a = h.make(scripted([{ verdict: 'allow' }]).reviewer, openLedger(file));
    const dry = await a.gate.canI(pay);
    expect(await a.run(dry)).toBe('refused');
    expect(await a.run(await a.gate.review(pay))).toBe('refused');
    expect(h.runs).toEqual([]);
  });

  it('two-person approval: alice approves, bob rejects, carol approves — nothing runs', async () => {
    const h = harness();
    const s = scripted([{ verdict: 'review', reason: 'two', approvals: { required: 2 } }]);
    const t = h.make(s.reviewer);
    const pending = await t.gate.review(pay);
    const one = await t.gate.resolveReview(pending, { type: 'approve', approver: 'alice' });
    expect(one.verdict).toBe('review');
    expect((await t.gate.resolveReview(pending, { type: 'reject', approver: 'bob' })).verdict).toBe('deny');
    const three = await t.gate.resolveReview(pending, { type: 'approve', approver: 'carol' });
    expect(three.error?.code).toBe('REVIEW_ALREADY_DECIDED');
    await t.run(one);
    await t.run(three);
    await t.run(await t.gate.review(pay));
    expect(h.runs).toEqual([]);
  });

  // AVAILABILITY: legitimate runs the new rule must not refuse.
  it('a human approval of a key that still holds a late reviewer deny (concurrent re-ask): runs once', async () => {
    for (const withLedger of [false, true]) {
      const h = harness();
      const s = scripted([{ verdict: 'review', reason: 'human' }, { verdict: 'deny', reason: 'no' }]);
      const t = h.make(s.reviewer, withLedger ? openLedger(tempFile()) : undefined);
      const pending = await t.gate.review(pay);
      expect((await t.gate.review(pay)).verdict).toBe('deny'); // the re-ask: a reviewer deny is now held
      const approved = await t.gate.resolveReview(pending, { type: 'approve', approver: 'alice' });
      expect(approved).toMatchObject({ verdict: 'allow', source: 'human' });
      expect(await t.run(approved)).toBe('ran');
      expect(await t.run(approved)).toBe('refused');
      expect(h.runs).toEqual([{ amount: 6_000 }]);
    }
  });

  it('a human approval followed by a late reviewer deny (asked before the approval): the approval runs once', async () => {
    for (const withLedger of [false, true]) {
      const h = harness();
      const s = scripted([{ verdict: 'review', reason: 'human' }, { verdict: 'deny', reason: 'late no' }], [false, true]);
      const t = h.make(s.reviewer, withLedger ? openLedger(tempFile()) : undefined);
      const pending = await t.gate.review(pay);
      const late = t.gate.review(pay);
      await tick();
      const approved = await t.gate.resolveReview(pending, { type: 'approve', approver: 'alice' });
      s.gates[0]!();
      expect(await late).toMatchObject({ verdict: 'allow', source: 'human' });
      expect(await t.run(approved)).toBe('ran');
      expect(await t.run(await t.gate.review(pay))).toBe('refused');
      expect(h.runs).toEqual([{ amount: 6_000 }]);
    }
  });

  it('fail-open: a reviewer outage allow (not cached, not recorded) still runs once, with and without a ledger', async () => {
    for (const withLedger of [false, true]) {
      const h = harness();
      const reviewer = callbackReviewer(() => {
        throw new Error('down');
      });
      const gate = createGate({ reviewer, highStakes: ['transfer'], failMode: 'open', audit: memoryAudit(), telemetry: false, ...(withLedger ? { ledger: openLedger(tempFile()) } : {}) });
      const d = await gate.review(pay);
      expect(d).toMatchObject({ verdict: 'allow', source: 'fail_open' });
      const go = async () => runGoverned(gate, d, (args) => h.runs.push(args)).then(() => 'ran', () => 'refused');
      expect(await go()).toBe('ran');
      expect(await go()).toBe('refused');
      expect(h.runs).toEqual([{ amount: 6_000 }]);
    }
  });

  // AVAILABILITY (minor, fail-safe; new with 905b5aa's claim reading the brief tier): two asks of one
  // key in flight across a policy change. The ask made under the OLD policy (deny) lands AFTER the
  // one made under the new policy (allow) and replaces it in the brief tier (set: brief.put, last
  // writer wins, ask order not compared). runGoverned(allow) is then 'overruled' (DENIED: "the gate's
  // answer for this call … is now deny (reviewer: old policy)") and the key answers the stale deny
  // until it leaves the cache. Before 905b5aa the allow ran (claim ignored the brief tier). Failed on
  // 905b5aa with runs = [] (outcome 'refused'). Fixed: of two answers for one key, the later ask's
  // stands in the cache (and the stale one is not recorded in the ledger).
  it('a stale reviewer deny landing after the current allow is not recorded over it in the ledger: the allow runs once, in any gate', async () => {
    const h = harness();
    const file = tempFile();
    const s = scripted([{ verdict: 'deny', reason: 'old policy' }, { verdict: 'allow', reason: 'new policy' }], [true, false]);
    const t = h.make(s.reviewer, openLedger(file));
    const old = t.gate.review(pay);
    await tick();
    const now = await t.gate.review(pay);
    s.gates[0]!();
    expect((await old).verdict).toBe('deny');
    const other = h.make(scripted([{ verdict: 'deny', reason: 'would be asked again' }]).reviewer, openLedger(file));
    expect(await other.gate.review(pay)).toMatchObject({ verdict: 'allow', reason: 'new policy' }); // the ledger holds the later ask's answer
    expect(await t.run(now)).toBe('ran');
    expect(await other.run(now)).toBe('refused');
    expect(h.runs).toEqual([{ amount: 6_000 }]);
  });

  it('was refused: a stale reviewer deny (asked under the old policy) landing after the current allow does not refuse it', async () => {
    const h = harness();
    const s = scripted([{ verdict: 'deny', reason: 'old policy' }, { verdict: 'allow', reason: 'new policy' }], [true, false]);
    const t = h.make(s.reviewer);
    const old = t.gate.review(pay); // asked under the old policy, answers late
    await tick();
    const now = await t.gate.review(pay);
    s.gates[0]!();
    expect((await old).verdict).toBe('deny');
    expect(now.verdict).toBe('allow');
    expect(await t.run(now)).toBe('ran');
    expect(await t.run(now)).toBe('refused');
    expect(h.runs).toEqual([{ amount: 6_000 }]);
  });

  // HOLE (weakening, not made by 905b5aa; it protects only source 'human'): REVIEW_EXPIRED is kept
  // as source 'fail_closed' (decidedBy 'expiry'), so cache.set lets ANY reviewer answer that lands
  // after it replace it (decision-cache.ts set: held lasting, not human → toLasting). resolveReview
  // then finds a reviewer answer, not the expiry (priorAnswer → undefined; `reviewed` was deleted by
  // recordHuman, and the Decision's own expiresAt is still ahead when the expiry was answered early),
  // so "an expired review cannot be approved" no longer holds: here the re-ask's reviewer said DENY,
  // the review expired, and a later approval of the expired review is an allow and the body runs.
  // Failed on 905b5aa with approved = allow (source human) and runs = [{amount:6000}]. Fixed: an expiry
  // is a final no (cache and ledger).
  it('was a hole: an expired review stays unapprovable after a late reviewer answer lands (here a deny): no run', async () => {
    const h = harness();
    const s = scripted([{ verdict: 'review', reason: 'human' }, { verdict: 'deny', reason: 'no' }], [false, true]);
    const t = h.make(s.reviewer);
    const pending = await t.gate.review(pay);
    const late = t.gate.review(pay);
    await tick();
    expect(await t.gate.resolveReview(pending, { type: 'expired' })).toMatchObject({ verdict: 'deny', error: { code: 'REVIEW_EXPIRED' } });
    s.gates[0]!();
    expect((await late).verdict).toBe('deny');
    const approved = await t.gate.resolveReview(pending, { type: 'approve', approver: 'bob' });
    await t.run(approved);
    await t.run(await t.gate.review(pay));
    expect(h.runs).toEqual([]);
    expect(approved.error?.code).toBe('REVIEW_EXPIRED');
  });
});
