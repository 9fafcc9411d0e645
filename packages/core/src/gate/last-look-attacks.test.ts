// Last look at 48bdf99 (a Decision re-keyed to another call authorises, answers and marks nothing:
// resolveReview, claims and reportOutcome require the key to end with `:${digest.slice(7,23)}`, or
// the gate to hold that digest under the key — a reviewer-side human edit). Aimed at: making the
// gate hold a chosen digest under another call's key; keys of calls with ':' '%' '#' in their ids
// and ordinal keys; the enforce + reportOutcome path; and legitimate reviewer-side edits that the
// key-fit check now refuses or fails to mark as run. Real reviewers, SQLite ledgers on temp files;
// the decisive assertion is always the body-run counter.
import { describe, expect, it } from 'vitest';
import { memoryAudit } from '../audit/index';
import { callbackReviewer } from '../reviewers/callback-reviewer';
import type { Decision, Reviewer, ReviewerVerdict, ToolCall } from '../types';
import { createGate } from './create-gate';
import { runGoverned } from './governed';
import { reviewedArgs } from './reviewed-args';
import { harness, openLedger, tempFile } from './attack-harness.test-support';


const pay: ToolCall = { tool: 'transfer', args: { amount: 6_000 }, callId: 'pay', runId: 'r1' };
const bait: ToolCall = { tool: 'transfer', args: { amount: 7_000 }, callId: 'bait', runId: 'r1' };

async function digestOf(call: ToolCall): Promise<string> {
  const probe = createGate({ reviewer: callbackReviewer(() => ({ verdict: 'allow' })), highStakes: ['transfer'], audit: memoryAudit(), telemetry: false });
  return (await probe.canI(call)).digest;
}

/** A review server: answers per call id from `answers` (a function of the request), else 'review'. */
function server(answers: Record<string, (digest: string) => ReviewerVerdict>): Reviewer {
  return callbackReviewer((r) => {
    const a = answers[String(r.call.callId)];
    return a ? a(r.digest) : { verdict: 'review', reason: 'human' };
  });
}

describe('last look at the key-fit rule (48bdf99): attacks', () => {
  for (const withLedger of [false, true]) {
    it(`a reviewer edit answered for ANOTHER call's originalDigest is a deny; the bait's legit edit re-keyed to the victim's key claims, reports and resolves nothing${withLedger ? ' (ledger)' : ''}`, async () => {
      const h = harness();
      const dPay = await digestOf(pay);
      const dEdit = await digestOf({ ...pay, args: { amount: 1 } });
      // 1. The bait's reviewer answers an edit whose originalDigest is the victim's digest: refused.
      const forged = h.make(server({ bait: () => ({ verdict: 'allow', decidedBy: 'human:eve', edited: { originalDigest: dPay, digest: dEdit, args: { amount: 1 } } }) }), withLedger ? openLedger(tempFile()) : undefined);
      const bad = await forged.gate.review(bait);
      expect(bad.verdict).toBe('deny');
      expect(await forged.run({ ...bad, verdict: 'allow', idempotencyKey: 'x' })).toBe('refused');

      // 2. A legitimate edit of the bait (the gate now holds dEdit under the bait's key), re-keyed to pay's.
      const t = h.make(
        server({ bait: (d) => ({ verdict: 'allow', decidedBy: 'human:eve', edited: { originalDigest: d, digest: dEdit, args: { amount: 1 } } }) }),
        withLedger ? openLedger(tempFile()) : undefined,
      );
      const pending = await t.gate.review(pay);
      expect(pending.verdict).toBe('review');
      const baitEdit = await t.gate.review(bait);
      expect(baitEdit).toMatchObject({ verdict: 'allow', digest: dEdit });
      const rekeyed: Decision = { ...baitEdit, idempotencyKey: pending.idempotencyKey!, callId: 'pay' };
      expect(await t.run(rekeyed)).toBe('refused');
      await t.gate.reportOutcome(rekeyed, { status: 'success' });
      expect((await t.gate.resolveReview({ ...pending, digest: dEdit }, { type: 'reject', approver: 'eve' })).error?.code).toBe('INPUT_INVALID');
      // The victim's key also does not take the victim's digest under the bait's key.
      expect(await t.run({ ...baitEdit, digest: dPay })).toBe('refused');
      // pay is untouched: a human approves it, it runs once; the bait's edit runs once.
      const approved = await t.gate.resolveReview(pending, { type: 'approve', approver: 'alice' });
      expect(approved.verdict).toBe('allow');
      expect(await t.run(approved)).toBe('ran');
      expect(await t.run(approved)).toBe('refused');
      expect(await t.run(baitEdit)).toBe('ran');
      expect(await t.run(baitEdit)).toBe('refused');
      expect(h.runs).toEqual([{ amount: 6_000 }, { amount: 1 }]);
    });
  }

  it("ids with ':' '%' '#' and ordinal keys: no call's key ends with another call's digest part, and none blocks another", async () => {
    const h = harness();
    const calls: ToolCall[] = [
      { tool: 'transfer', args: { amount: 1 }, callId: 'a:b', runId: 'c' },
      { tool: 'transfer', args: { amount: 1 }, callId: 'b', runId: 'c:a' },
      { tool: 'transfer', args: { amount: 1 }, callId: 'a%3Ab', runId: 'c' },
      { tool: 'transfer', args: { amount: 1 }, callId: '#1', runId: 'c' },
      { tool: 'transfer', args: { amount: 1 }, runId: 'c' },
      { tool: 'transfer', args: { amount: 1 }, runId: 'c' },
      // A call id that spells another call's digest part and a trailing ':'.
      { tool: 'transfer', args: { amount: 2 }, callId: `x:${(await digestOf({ tool: 'transfer', args: { amount: 1 } })).slice(7, 23)}`, runId: 'c' },
    ];
    const t = h.make(callbackReviewer(() => ({ verdict: 'allow', reason: 'ok' })), openLedger(tempFile()));
    const ds = [];
    for (const c of calls) ds.push(await t.gate.review(c));
    const keys = ds.map((d) => d.idempotencyKey);
    expect(new Set(keys).size).toBe(calls.length);
    for (const d of ds) expect(d.idempotencyKey!.endsWith(`:${d.digest.slice(7, 23)}`)).toBe(true);
    // The crafted call's Decision carried under the amount-1 digest fits no key it was not issued for.
    const crafted = ds[6]!;
    expect(await t.run({ ...crafted, digest: ds[0]!.digest })).toBe('refused');
    for (const d of ds) expect(await t.run(d)).toBe('ran');
    for (const d of ds) expect(await t.run(d)).toBe('refused');
    expect(h.runs.length).toBe(calls.length);
  });

  // HOLES (the enforce path runs a reviewer-side edit twice). enforce, run the body, reportOutcome,
  // then the framework replays the call (same call id). A reviewer-side edit is held under the
  // ORIGINAL key with the EDITED digest.
  // (a) No ledger, nothing evicted: reportOutcome marks the key run, but review step 3 drops a cached
  //     entry for another digest even when it is marked executed (`cached.decision.digest !== digest`),
  //     so the replay asks the review server again, gets the same edit, and the allow is handed back
  //     (cache.set keeps the executed mark, but review never looks at it). "One execution per key
  //     whatever the digest" holds for claims (runGoverned), not for review/enforce. Pre-existing.
  // (b) SQLite ledger, the edit evicted from the brief tier (1,000 keys) while the body runs: since
  //     48bdf99 reportOutcome marks a key run only when the Decision is `bound` (key fits digest, or
  //     the cache still holds that digest) — an evicted edit is neither, so neither the cache nor the
  //     ledger records the run; the replay finds a ledger row (edited digest, not executed) that
  //     proves nothing for the original digest, and runs the edit again. Regression of 48bdf99 (before
  //     it, reportOutcome's ledger.claim made the replay ALREADY_EXECUTED; nothing evicted it holds).
  // Both failed on 48bdf99 with runs = [{amount:50},{amount:50}]. Fixed: a key that ran answers
  // ALREADY_EXECUTED whatever the digest asked, edits are kept in the long tier, and a report or claim
  // accepts the edit when the ledger row under the key holds its digest.
  for (const { withLedger, busy } of [{ withLedger: false, busy: 0 }, { withLedger: true, busy: 1_100 }]) {
    it(`was a hole: enforce + reportOutcome of a reviewer-side edit, then a replay of the call: the edit does not run again${withLedger ? ' (ledger, edit evicted from the brief tier)' : ' (no ledger)'}`, async () => {
      const h = harness();
      const dEdit = await digestOf({ ...pay, args: { amount: 50 } });
      const t = h.make(
        callbackReviewer((r) => {
          if (r.call.callId === 'pay') return { verdict: 'allow', reason: 'edited', edited: { originalDigest: r.digest, digest: dEdit, args: { amount: 50 } } };
          return { verdict: 'allow', reason: 'ok' };
        }),
        withLedger ? openLedger(tempFile()) : undefined,
      );
      const first = await t.gate.enforce(pay);
      expect(first).toMatchObject({ verdict: 'allow', digest: dEdit });
      h.runs.push(reviewedArgs(first, undefined)); // the body, run by the app after enforce
      for (let i = 0; i < busy; i++) await t.gate.review({ tool: 'transfer', args: { amount: 1 }, callId: `busy-${i}`, runId: 'r2' });
      await t.gate.reportOutcome(first, { status: 'success' });
      // The framework replays the call (same call id): enforce, and the body when it allows.
      const again = await t.gate.enforce(pay).catch(() => undefined);
      if (again) h.runs.push(reviewedArgs(again, undefined));
      expect(h.runs).toEqual([{ amount: 50 }]);
    });
  }

  it('control: the same replay through runGoverned (a claim) is refused (one execution per key holds for claims)', async () => {
    const h = harness();
    const dEdit = await digestOf({ ...pay, args: { amount: 50 } });
    const t = h.make(callbackReviewer((r) => ({ verdict: 'allow', reason: 'edited', edited: { originalDigest: r.digest, digest: dEdit, args: { amount: 50 } } })));
    expect(await t.run(await t.gate.review(pay))).toBe('ran');
    expect(await t.run(await t.gate.review(pay))).toBe('refused');
    expect(h.runs).toEqual([{ amount: 50 }]);
  });

  // AVAILABILITY (reported on 48bdf99 with a JSON copy of the edit run in gate B: refused — but a
  // copy read back from JSON carries no reviewed arguments, so it is ARGS_NOT_REVIEWED in any gate;
  // an adapter asks gate B again). Gate A reviews, the review server answers a human's edit
  // (human:carol), recorded under the original key with the edited digest; gate B on the same ledger
  // (a restart, another worker) reviews the call again and runs that edit once; A's copy is then
  // ALREADY_EXECUTED, and so is B's second run. The claim in B accepts the edit: B holds it, and
  // the ledger row under the key holds its digest.
  it('a reviewer-side human edit reviewed in gate A runs once in gate B on the same ledger (asked again there)', async () => {
    const h = harness();
    const file = tempFile();
    const dEdit = await digestOf({ ...pay, args: { amount: 50 } });
    const editing = (): Reviewer => callbackReviewer((r) => ({ verdict: 'allow', decidedBy: 'human:carol', reason: 'edited', edited: { originalDigest: r.digest, digest: dEdit, args: { amount: 50 } } }));
    const a = h.make(editing(), openLedger(file));
    const edit = await a.gate.review(pay);
    expect(edit).toMatchObject({ verdict: 'allow', source: 'human', digest: dEdit });
    const b = h.make(editing(), openLedger(file));
    const again = await b.gate.review(pay);
    expect(again).toMatchObject({ verdict: 'allow', digest: dEdit });
    expect(await b.run(again)).toBe('ran');
    expect(await b.run(again)).toBe('refused');
    expect(await a.run(edit)).toBe('refused');
    expect(h.runs).toEqual([{ amount: 50 }]);
  });
});
