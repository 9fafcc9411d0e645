// Attacks on 0aac685: (a) a cached entry marked executed answers ALREADY_EXECUTED whatever the
// digest asked; (b) edits are kept in the long tier; (c) a claim or reportOutcome of a Decision whose
// key does not end with its digest's 64 bits is accepted when memory OR the ledger row under the key
// holds that digest. Aimed at: blocking a legitimate call through (a); planting or using a ledger row
// with a chosen digest under a key (c); and the enforce → body → reportOutcome path (no claim), with
// and without a ledger, after eviction and after a restart. Real reviewers (callbackReviewer,
// policyReviewer), SQLite ledgers on temp files; the decisive assertion is the body-run counter.
import { describe, expect, it } from 'vitest';
import { memoryAudit } from '../audit/index';
import { sha256 } from '../digest/call-digest';
import { policyReviewer } from '../policy/policy-reviewer';
import { callbackReviewer } from '../reviewers/callback-reviewer';
import type { Decision, Reviewer, ToolCall } from '../types';
import { createGate } from './create-gate';
import { claimExecution } from './execution-claims';
import { harness, openLedger, tempFile } from './attack-harness.test-support';


const allowAll = () => policyReviewer({ version: 1, default: 'allow', rules: [] });
const pay: ToolCall = { tool: 'transfer', args: { amount: 6_000 }, callId: 'pay', runId: 'r1' };

async function digestOf(call: ToolCall): Promise<string> {
  const probe = createGate({ reviewer: allowAll(), highStakes: ['transfer'], audit: memoryAudit(), telemetry: false });
  return (await probe.canI(call)).digest;
}
/** The review server edits `pay` to amount 50 (a human's edit given on the reviewer); allows the rest. */
function editsPay(dEdit: string): Reviewer {
  return callbackReviewer((r) => {
    if (r.call.callId === 'pay' && (r.call.args as { amount: number }).amount === 6_000) {
      return { verdict: 'allow', reason: 'edited', decidedBy: 'human:carol', edited: { originalDigest: r.digest, digest: dEdit, args: { amount: 50 } } };
    }
    return { verdict: 'allow', reason: 'ok' };
  });
}
async function busy(gate: { review: (c: ToolCall) => Promise<Decision> }, n = 1_100): Promise<void> {
  for (let i = 0; i < n; i++) await gate.review({ tool: 'transfer', args: { amount: 1 }, callId: `busy-${i}`, runId: 'r9' });
}

describe('already ran (0aac685): attacks', () => {
  // (1) A key marked executed blocks only its own call: other calls have other keys.
  for (const withLedger of [false, true]) {
    it(`a run key (plain and reviewer-side edit) blocks no other call: same call id with other args, the edit's arguments as their own call, a second gate on the ledger${withLedger ? ' (ledger)' : ''}`, async () => {
      const h = harness();
      const file = withLedger ? tempFile() : undefined;
      const dEdit = await digestOf({ ...pay, args: { amount: 50 } });
      const a = h.make(editsPay(dEdit), file ? openLedger(file) : undefined);
      // pay is edited to 50 on the reviewer and runs (enforce path); its key now holds the edit, run.
      expect(await a.enforceRun(pay)).toBe('ran');
      expect(await a.enforceRun(pay)).toBe('refused');
      // A call with the same id and the EDITED arguments is another call (its own key): it runs once.
      const asEdit: ToolCall = { ...pay, args: { amount: 50 } };
      expect(await a.enforceRun(asEdit)).toBe('ran');
      expect(await a.enforceRun(asEdit)).toBe('refused');
      // The same call id with other arguments, and another run with the same id: each runs once.
      const other: ToolCall = { ...pay, args: { amount: 6_001 } };
      const otherRun: ToolCall = { ...pay, runId: 'r2' };
      expect(await a.run(await a.gate.review(other))).toBe('ran');
      expect(await a.run(await a.gate.review(other))).toBe('refused');
      // Calls without a call id (ordinal keys): each asking is its own call.
      const anon: ToolCall = { tool: 'transfer', args: { amount: 6_000 }, runId: 'r1' };
      expect(await a.enforceRun(anon)).toBe('ran');
      expect(await a.enforceRun(anon)).toBe('ran');
      if (file) {
        const b = h.make(editsPay(dEdit), openLedger(file));
        expect(await b.enforceRun(pay)).toBe('refused');
        expect(await b.run(await b.gate.review(asEdit))).toBe('refused');
        expect(await b.run(await b.gate.review(otherRun))).toBe('ran');
      } else {
        expect(await a.run(await a.gate.review(otherRun))).toBe('ran');
      }
      expect(h.runs).toEqual([{ amount: 50 }, { amount: 50 }, { amount: 6_001 }, { amount: 6_000 }, { amount: 6_000 }, { amount: 50 }]);
    });
  }

  // HOLE (availability, low severity; pre-existing). keyFitsDigest accepts any string of 23+
  // characters whose characters 7..23 are the key's 16 hex digits. reportOutcome of a Decision under
  // the victim's key with such a made-up digest (not the victim's; not even a SHA-256 form) marks the
  // victim's key run, so the victim's legitimate call never runs: since 0aac685 (a) its review
  // answers ALREADY_EXECUTED (the entry is for another digest); before it (by reading the code) the
  // review allowed but cache.claim ('ran', whatever the digest) refused the run. With a ledger the
  // report's ledger.claim plants an executed row (victim key, made-up digest) and ledgerLookup answers
  // ALREADY_EXECUTED in every gate. Needs only the victim's key (Decisions, audit records, review
  // requests), not its digest; a report of the victim's exact digest blocks it too, by design.
  // Fails on the current code: the victim's review is ALREADY_EXECUTED, runs = [].
  for (const withLedger of [false, true]) {
    it.fails(`HOLE: a report with a made-up digest that fits the victim's key blocks the victim's legitimate call${withLedger ? ' (ledger, second gate)' : ' (no ledger)'}`, async () => {
      const h = harness();
      const file = withLedger ? tempFile() : undefined;
      const victim = h.make(allowAll(), file ? openLedger(file) : undefined);
      const attacker = file ? h.make(allowAll(), openLedger(file)) : victim;
      const dPay = await digestOf(pay);
      const key = `tg1:r1:pay:${dPay.slice(7, 23)}`;
      const madeUp = `sha256:${dPay.slice(7, 23)}${'f'.repeat(48)}`;
      expect(madeUp).not.toBe(dPay);
      const bait = await attacker.gate.review({ tool: 'transfer', args: { amount: 1 }, callId: 'bait', runId: 'r1' });
      await attacker.gate.reportOutcome({ ...bait, callId: 'pay', idempotencyKey: key, digest: madeUp }, { status: 'success' });
      const d = await victim.gate.review(pay);
      expect(d.idempotencyKey).toBe(key);
      expect(await victim.run(d)).toBe('ran');
      expect(h.runs).toEqual([{ amount: 6_000 }]);
    });
  }

  // (2) The ledger rows the gate writes under keys that are not call keys (a review's first deadline
  // `tg1-due:<key>`, a spent human answer `tg1-answer:<id>`) hold digests that are not the key's: (c)
  // makes a Decision carrying such a row's key and digest "bound". Neither its claim nor its report
  // runs anything, blocks the call, or moves its deadline.
  it('forged Decisions under the ledger rows tg1-due:<key> and tg1-answer:<id> (their digests) claim nothing, block nothing, move no deadline (two gates, one ledger)', async () => {
    const h = harness();
    const file = tempFile();
    const waits = callbackReviewer((r) => (r.call.callId === 'pay' ? { verdict: 'review', reason: 'human' } : { verdict: 'allow', reason: 'ok' }));
    const a = h.make(waits, openLedger(file));
    const b = h.make(waits, openLedger(file));
    const pending = await a.gate.review(pay);
    expect(pending.verdict).toBe('review');
    const key = pending.idempotencyKey!;
    const dueKey = `tg1-due:${key}`;
    const dueDigest = `${Date.parse(pending.expiresAt!)}:${pending.digest}`;
    const probe = openLedger(file);
    expect((await probe.get(dueKey))?.digest).toBe(dueDigest);
    // A legitimate allow of another call carries reviewed arguments; re-keyed onto the due row.
    const ok = await b.gate.review({ tool: 'transfer', args: { amount: 2 }, callId: 'ok', runId: 'r1' });
    const onDue: Decision = { ...ok, callId: 'pay', idempotencyKey: dueKey, digest: dueDigest };
    expect(await claimExecution(b.gate, onDue)).toMatchObject({ verdict: 'deny' });
    expect(await b.run(onDue)).toBe('refused');
    await b.gate.reportOutcome(onDue, { status: 'success' });
    expect(await a.run(onDue)).toBe('refused');
    // The deadline seen by gate B is still the first ask's.
    const again = await b.gate.review(pay);
    expect(again.verdict).toBe('review');
    expect(again.expiresAt).toBe(pending.expiresAt);
    // A human approves in gate A with an answer id: its row tg1-answer:<id> holds sha256(key).
    const approved = await a.gate.resolveReview(pending, { type: 'approve', approver: 'alice', answerId: 'ans-1' });
    expect(approved.verdict).toBe('allow');
    const answerKey = 'tg1-answer:ans-1';
    expect((await probe.get(answerKey))?.digest).toBe(sha256(key));
    const onAnswer: Decision = { ...ok, callId: 'pay', idempotencyKey: answerKey, digest: sha256(key) };
    expect(await claimExecution(b.gate, onAnswer)).toMatchObject({ verdict: 'deny' });
    expect(await b.run(onAnswer)).toBe('refused');
    await b.gate.reportOutcome(onAnswer, { status: 'success' });
    // The victim runs once, in either gate; the bait's allow was never run.
    expect(await a.run(approved)).toBe('ran');
    expect(await b.run(approved)).toBe('refused');
    expect(await a.run(approved)).toBe('refused');
    expect(h.runs).toEqual([{ amount: 6_000 }]);
  });

  it("a Decision carrying the victim's key and a reviewer-side edit's digest of ANOTHER call gets no row under the victim's key, claims and reports nothing there (two gates, one ledger)", async () => {
    const h = harness();
    const file = tempFile();
    const dEdit = await digestOf({ ...pay, args: { amount: 50 } });
    // The bait's reviewer edits the bait into amount 50 (under the bait's key, digest dEdit).
    const rev = callbackReviewer((r) =>
      r.call.callId === 'bait' ? { verdict: 'allow', reason: 'edited', decidedBy: 'human:eve', edited: { originalDigest: r.digest, digest: dEdit, args: { amount: 50 } } } : { verdict: 'review', reason: 'human' },
    );
    const a = h.make(rev, openLedger(file));
    const b = h.make(rev, openLedger(file));
    const pending = await a.gate.review(pay);
    const baitEdit = await b.gate.review({ tool: 'transfer', args: { amount: 7_000 }, callId: 'bait', runId: 'r1' });
    expect(baitEdit).toMatchObject({ verdict: 'allow', digest: dEdit });
    const rekeyed: Decision = { ...baitEdit, callId: 'pay', idempotencyKey: pending.idempotencyKey! };
    for (const g of [a, b]) {
      expect(await g.run(rekeyed)).toBe('refused');
      await g.gate.reportOutcome(rekeyed, { status: 'success' });
    }
    expect(await openLedger(file).get(pending.idempotencyKey!)).toBeUndefined();
    const approved = await a.gate.resolveReview(pending, { type: 'approve', approver: 'alice' });
    expect(await b.run(approved)).toBe('ran');
    expect(await a.run(approved)).toBe('refused');
    expect(await a.run(baitEdit)).toBe('ran');
    expect(await b.run(baitEdit)).toBe('refused');
    expect(h.runs).toEqual([{ amount: 6_000 }, { amount: 50 }]);
  });

  // (3) enforce → body → reportOutcome (no claim): one run, after eviction and after a restart.
  for (const withLedger of [false, true]) {
    for (const edit of [false, true]) {
      it(`enforce + body + reportOutcome, 1,100 other reviews between the body and the report, then replays${withLedger ? ' here and in a fresh gate on the ledger' : ''}: one run${edit ? ' (reviewer-side edit)' : ' (policy allow)'}`, async () => {
        const h = harness();
        const file = withLedger ? tempFile() : undefined;
        const dEdit = await digestOf({ ...pay, args: { amount: 50 } });
        const reviewer = () => (edit ? editsPay(dEdit) : allowAll());
        const a = h.make(reviewer(), file ? openLedger(file) : undefined);
        expect(await a.enforceRun(pay, () => busy(a.gate))).toBe('ran');
        await busy(a.gate);
        expect(await a.enforceRun(pay)).toBe('refused');
        expect(await a.run(await a.gate.review(pay))).toBe('refused');
        if (file) {
          const fresh = h.make(reviewer(), openLedger(file));
          expect(await fresh.enforceRun(pay)).toBe('refused');
          expect(await fresh.run(await fresh.gate.review(pay))).toBe('refused');
        }
        expect(h.runs).toEqual([edit ? { amount: 50 } : { amount: 6_000 }]);
      });
    }
  }

  it('a restart between the body and the report: the report reaches a fresh gate on the ledger (a reviewer-side edit, bound by the ledger row); replays in it and in a third gate do not run', async () => {
    const h = harness();
    const file = tempFile();
    const dEdit = await digestOf({ ...pay, args: { amount: 50 } });
    const a = h.make(editsPay(dEdit), openLedger(file));
    const b = h.make(editsPay(dEdit), openLedger(file));
    expect(await a.enforceRun(pay, undefined, b.gate)).toBe('ran');
    expect((await openLedger(file).get(`tg1:r1:pay:${(await digestOf(pay)).slice(7, 23)}`))).toMatchObject({ digest: dEdit, executed: true });
    expect(await b.enforceRun(pay)).toBe('refused');
    const c = h.make(editsPay(dEdit), openLedger(file));
    expect(await c.enforceRun(pay)).toBe('refused');
    expect(await c.run(await c.gate.review(pay))).toBe('refused');
    expect(h.runs).toEqual([{ amount: 50 }]);
  });

  it('a denied call never runs through enforce; a report of its deny (verdict flipped to allow) does not let a replay run', async () => {
    const h = harness();
    const file = tempFile();
    const deny = policyReviewer({ version: 1, default: 'deny', rules: [] });
    const a = h.make(deny, openLedger(file));
    expect(await a.enforceRun(pay)).toBe('refused');
    const d = await a.gate.review(pay);
    expect(d.verdict).toBe('deny');
    await a.gate.reportOutcome({ ...d, verdict: 'allow' }, { status: 'success' });
    expect(await a.run({ ...d, verdict: 'allow' })).toBe('refused');
    const fresh = h.make(deny, openLedger(file));
    expect(await fresh.enforceRun(pay)).toBe('refused');
    expect(await fresh.run({ ...d, verdict: 'allow' })).toBe('refused');
    expect(h.runs).toEqual([]);
  });
});
