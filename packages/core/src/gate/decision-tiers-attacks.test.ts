// Attacks on the decision cache's two tiers (84d1f86): a reviewer's un-run answer is kept for 1,000
// keys (`brief`), executions and human answers for 10,000 (`lasting`). Each test counts body runs:
// a denied body runs 0 times, an approved one exactly once. Real reviewers (policyReviewer with a
// stateful budget, callbackReviewer), with and without a SQLite ledger on a temp file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryAudit } from '../audit/index';
import type { GateLedger } from '../ledger/ledger-types';
import { sqliteLedger } from '../ledger-sqlite';
import { policyReviewer } from '../policy/policy-reviewer';
import { callbackReviewer } from '../reviewers/callback-reviewer';
import type { Decision, Reviewer, ToolCall } from '../types';
import { createGate } from './create-gate';
import { runGoverned } from './governed';
import { issuedDecision } from './issued-decisions';

const dirs: string[] = [];
const ledgers: GateLedger[] = [];
afterEach(async () => {
  await Promise.all(ledgers.splice(0).map((l) => l.close?.()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempLedger(): GateLedger {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-tiers-attack-'));
  dirs.push(dir);
  const ledger = sqliteLedger(join(dir, 'ledger.db'));
  ledgers.push(ledger);
  return ledger;
}

// transfer: allowed, but a tool-wide budget of 10,000 over a day sends the rest to a human (allowed
// transfers count). `noise` is high-stakes and always allowed: it stands for the other calls.
const bank = () =>
  policyReviewer({
    version: 1,
    default: 'allow',
    rules: [
      { id: 'budget', tools: ['transfer'], budget: { field: 'args.amount', max: 10_000, windowMs: 86_400_000, per: 'tool' }, verdict: 'review', reason: 'over budget' },
    ],
  });

function setup(opts: { reviewer?: Reviewer; ledger?: GateLedger } = {}) {
  const gate = createGate({
    reviewer: opts.reviewer ?? bank(),
    highStakes: ['transfer', 'noise'],
    audit: memoryAudit(),
    telemetry: false,
    ...(opts.ledger ? { ledger: opts.ledger } : {}),
  });
  const runs: unknown[] = [];
  const run = async (d: Decision): Promise<'ran' | 'refused'> => {
    if (d.verdict !== 'allow' && d.verdict !== 'allow_with_conditions') return 'refused';
    try {
      await runGoverned(gate, d, (args) => runs.push(args));
      return 'ran';
    } catch {
      return 'refused';
    }
  };
  /** `n` other calls reviewed (allowed) and not run: they fill the brief tier only. */
  const churn = async (n: number, tag = 'x') => {
    for (let i = 0; i < n; i++) await gate.review({ tool: 'noise', args: { i }, callId: `${tag}-${i}`, runId: 'noise' });
  };
  return { gate, runs, run, churn };
}

const pay: ToolCall = { tool: 'transfer', args: { amount: 6_000 }, callId: 'pay', runId: 'r1' };

describe('decision tiers: attacks', () => {
  // HOLE: the brief tier drops the reviewer's allow A after 1,000 other reviews; the framework's
  // re-execution of the same call asks again, the budget counts it again (12,000 > 10,000) and it
  // goes to a human, who rejects: a lasting human deny for the key. The caller still holds A:
  // runGoverned(A) → claim(key, A) finds the lasting deny not executed, marks it executed and returns
  // false → the body runs. The human's no for this very call became a run. (Before 84d1f86 the same
  // needed 10,000 un-run reviews in between; now 1,000.) Failed on 5161401 with runs = [{amount:6000}]; fixed: claim() refuses when the answer held for the key does not allow (DENIED).
  it('was a hole: a human reject of the re-asked call no longer lets the earlier (evicted) allow run', async () => {
    const t = setup();
    const first = await t.gate.review(pay);
    expect(first.verdict).toBe('allow');
    await t.churn(1_100);
    const again = await t.gate.review(pay); // the framework re-executes the call
    expect(again.verdict).toBe('review');
    const rejected = await t.gate.resolveReview(again, { type: 'reject', approver: 'alice', reason: 'no' });
    expect(rejected).toMatchObject({ verdict: 'deny', source: 'human' });
    // issuedDecision does not vouch for the old allow: it answers the human's deny.
    expect((await issuedDecision(t.gate, first))?.verdict).toBe('deny');
    expect(await t.run(first)).toBe('refused');
    expect(t.runs).toEqual([]);
  });

  // HOLE, same mechanism with an edit: the human edits the re-asked call to 50; the original key gets
  // the lasting superseded deny, yet the held allow A runs the original 6,000 AND the edit runs 50.
  // Failed on 5161401 with runs = [{amount:6000},{amount:50}]; fixed by the same claim rule.
  it('was a hole: a human edit of the re-asked call: only the edit runs, not the original (evicted) allow', async () => {
    const t = setup();
    const first = await t.gate.review(pay);
    await t.churn(1_100);
    const again = await t.gate.review(pay);
    expect(again.verdict).toBe('review');
    const edited = await t.gate.resolveReview(again, { type: 'edit', args: { amount: 50 }, approver: 'alice' });
    expect(edited.verdict).toBe('allow');
    await t.run(first);
    await t.run(edited);
    expect(t.runs).toEqual([{ amount: 50 }]);
  });

  it('a human approval of the re-asked call and the earlier allow: one run between them', async () => {
    const t = setup();
    const first = await t.gate.review(pay);
    await t.churn(1_100);
    const again = await t.gate.review(pay);
    const approved = await t.gate.resolveReview(again, { type: 'approve', approver: 'alice' });
    expect(approved.verdict).toBe('allow');
    const outcomes = [await t.run(first), await t.run(approved), await t.run(first)];
    expect(outcomes.filter((o) => o === 'ran')).toHaveLength(1);
    expect(t.runs).toEqual([{ amount: 6_000 }]);
    expect((await t.gate.review(pay)).error?.code).toBe('ALREADY_EXECUTED');
  });

  it('with a ledger the re-execution reads the allow back (no re-ask, no second count): one run, no human needed', async () => {
    const t = setup({ ledger: tempLedger() });
    const first = await t.gate.review(pay);
    await t.churn(1_100);
    const again = await t.gate.review(pay);
    expect(again.verdict).toBe('allow');
    expect(await t.run(again)).toBe('ran');
    expect(await t.run(first)).toBe('refused');
    expect(t.runs).toEqual([{ amount: 6_000 }]);
  });

  it('runGoverned of an old allow after its key left the brief tier: exactly once, then ALREADY_EXECUTED', async () => {
    const t = setup();
    const first = await t.gate.review({ ...pay, args: { amount: 10 } });
    await t.churn(2_500);
    expect(await t.run(first)).toBe('ran');
    await t.churn(2_500, 'y');
    expect(await t.run(first)).toBe('refused');
    const replay = await t.gate.review({ ...pay, args: { amount: 10 } });
    expect(replay.error?.code).toBe('ALREADY_EXECUTED');
    expect(await t.run(replay)).toBe('refused');
    expect(t.runs).toEqual([{ amount: 10 }]);
  });

  it('reportOutcome (markExecuted) of a Decision whose key is in neither tier: later review and run are refused', async () => {
    const t = setup();
    const first = await t.gate.review({ ...pay, args: { amount: 10 } });
    await t.churn(1_100);
    await t.gate.reportOutcome(first, { status: 'success' }); // enforce → body → report, without a claim
    await t.churn(1_100, 'y');
    expect((await t.gate.review({ ...pay, args: { amount: 10 } })).error?.code).toBe('ALREADY_EXECUTED');
    expect(await t.run(first)).toBe('refused');
    expect(t.runs).toEqual([]);
  });

  it('two concurrent reviews of one key (stale mark) while churn rotates generations, each run: once', async () => {
    const gates: Array<() => void> = [];
    const reviewer = callbackReviewer(async (r) => {
      if (r.call.tool === 'transfer') await new Promise<void>((res) => gates.push(res));
      return { verdict: 'allow', reason: 'ok' };
    });
    const t = setup({ reviewer });
    const a = t.gate.review(pay);
    const b = t.gate.review(pay);
    await new Promise((r) => setTimeout(r, 5));
    expect(gates).toHaveLength(2);
    gates[1]!();
    const db = await b;
    expect(await t.run(db)).toBe('ran'); // key now lasting, executed
    await t.churn(1_100); // brief tier rotates while `a` still holds its old mark
    gates[0]!();
    const da = await a;
    expect(await t.run(da)).toBe('refused');
    expect((await t.gate.review(pay)).error?.code).toBe('ALREADY_EXECUTED');
    expect(t.runs).toEqual([{ amount: 6_000 }]);
  });

  // HOLE (not made by the tiers, but what the brief asked: "set must not overwrite a human deny"):
  // a review of the call already at the reviewer when the human rejects the pending one lands after
  // the reject; `set` finds the key lasting and replaces the human's deny with the reviewer's allow
  // (decision-cache.ts set: `held !== undefined` → toLasting(key, { decision })). The next review
  // answers that allow from the cache and the body runs after a human said no. No churn needed.
  // Failed on 5161401 (LATE allow, AFTER allow from the reviewer, runs = [{amount:6000}]); fixed: a human answer held for the key wins over a late reviewer answer, in the cache and in the ledger (record keeps it, claim refuses a non-allow).
  for (const withLedger of [false, true]) {
    it(`was a hole: a reviewer answer landing after a human reject no longer replaces the reject${withLedger ? ' (ledger)' : ''}`, async () => {
      const gates: Array<() => void> = [];
      let mode: 'review' | 'allow' = 'review';
      const reviewer = callbackReviewer(async (r) => {
        if (r.call.tool !== 'transfer' || r.dryRun) return { verdict: 'allow' };
        const v = mode;
        if (v === 'allow') await new Promise<void>((res) => gates.push(res));
        return v === 'allow' ? { verdict: 'allow', reason: 'ok' } : { verdict: 'review', reason: 'human' };
      });
      const t = setup({ reviewer, ...(withLedger ? { ledger: tempLedger() } : {}) });
      const pending = await t.gate.review(pay);
      mode = 'allow';
      const late = t.gate.review(pay); // a framework re-execution, at the reviewer while the human answers
      await new Promise((r) => setTimeout(r, 20));
      expect(gates).toHaveLength(1);
      expect((await t.gate.resolveReview(pending, { type: 'reject', approver: 'alice' })).verdict).toBe('deny');
      gates[0]!();
      expect(await late).toMatchObject({ verdict: 'deny', source: 'human' }); // the late review answers with the human's no
      const after = await t.gate.review(pay); // the next re-execution: the human's no must still answer
      await t.run(after);
      expect(t.runs).toEqual([]);
      expect(after).toMatchObject({ verdict: 'deny', source: 'human' });
    });
  }

  it('two-person approval with 1,100 un-run reviews between the approvals: runs once, after both', async () => {
    const reviewer = callbackReviewer((r) =>
      r.call.tool === 'transfer' && !r.dryRun ? { verdict: 'review', reason: 'two', approvals: { required: 2 } } : { verdict: 'allow' },
    );
    const t = setup({ reviewer });
    const pending = await t.gate.review(pay);
    const one = await t.gate.resolveReview(pending, { type: 'approve', approver: 'alice' });
    expect(one.verdict).toBe('review');
    expect(await t.run(one)).toBe('refused');
    await t.churn(1_100);
    const resumed = await t.gate.review(pay); // framework re-execution between the approvals
    expect(resumed.verdict).toBe('review');
    expect((await t.gate.resolveReview(resumed, { type: 'approve', approver: 'alice' })).verdict).toBe('review');
    await t.churn(1_100, 'y');
    const two = await t.gate.resolveReview(pending, { type: 'approve', approver: 'bob' });
    expect(two.verdict).toBe('allow');
    await t.churn(1_100, 'z');
    const again = await t.gate.review(pay);
    expect(again).toMatchObject({ verdict: 'allow', source: 'human' });
    expect([await t.run(two), await t.run(again)].filter((o) => o === 'ran')).toHaveLength(1);
    expect(t.runs).toEqual([{ amount: 6_000 }]);
  });
});
