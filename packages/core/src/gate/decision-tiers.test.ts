// The decision cache keeps a reviewer's unexecuted answer briefly (the gate can ask again) and what
// it cannot ask for again — an execution, a human's answer — for much longer. Here thousands of
// other calls (run, so they fill the long tier too) pass between the answer and the replay: an answer that ran must still refuse a second
// run, a human's reject and an edit's superseded original must still refuse, an approval must still
// answer the resume, and an evicted reviewer answer is simply asked again. Side effects are counted.
import { describe, expect, it } from 'vitest';
import { memoryAudit } from '../audit/index';
import { callbackReviewer } from '../reviewers/callback-reviewer';
import type { Decision, ReviewRequest, ToolCall } from '../types';
import { createGate } from './create-gate';
import { runGoverned } from './governed';

function setup() {
  const asked: ReviewRequest[] = [];
  const gate = createGate({
    reviewer: callbackReviewer((r) => {
      asked.push(r);
      const amount = (r.call.args as { amount: number }).amount;
      return amount > 100 ? { verdict: 'review', reason: 'big' } : { verdict: 'allow', reason: 'small' };
    }),
    highStakes: ['transfer'],
    audit: memoryAudit(),
    telemetry: false,
  });
  const runs: unknown[] = [];
  const run = async (d: Decision): Promise<'ran' | 'refused'> => {
    if (d.verdict !== 'allow') return 'refused';
    try {
      await runGoverned(gate, d, (args) => runs.push(args));
      return 'ran';
    } catch {
      return 'refused';
    }
  };
  /** `n` other calls through the same gate, each reviewed and allowed, and run when `ran` (their bodies do nothing). */
  const churn = async (n: number, ran: boolean) => {
    for (let i = 0; i < n; i++) {
      const d = await gate.review({ tool: 'transfer', args: { amount: 1 }, callId: `other-${i}`, runId: 'noise' });
      if (ran) await runGoverned(gate, d, () => undefined);
    }
  };
  return { gate, asked, runs, run, churn };
}

const small: ToolCall = { tool: 'transfer', args: { amount: 5 }, callId: 'pay', runId: 'r1' };
const big: ToolCall = { tool: 'transfer', args: { amount: 500 }, callId: 'big', runId: 'r1' };

describe('decision tiers: thousands of other calls between an answer and its replay', () => {
  it('a call that ran: the replay is ALREADY_EXECUTED and the body ran once', async () => {
    const t = setup();
    expect(await t.run(await t.gate.review(small))).toBe('ran');
    await t.churn(6_000, true);
    const replay = await t.gate.review(small);
    expect(replay.error?.code).toBe('ALREADY_EXECUTED');
    expect(await t.run(replay)).toBe('refused');
    expect(t.runs).toEqual([{ amount: 5 }]);
  });

  it('an answer that did not run is asked again: same verdict, the reviewer asked twice, it runs once', async () => {
    const t = setup();
    const first = await t.gate.review(small);
    await t.churn(2_000, false);
    const again = await t.gate.review(small);
    expect(again.verdict).toBe('allow');
    expect(t.asked.filter((r) => r.call.callId === 'pay')).toHaveLength(2);
    expect(await t.run(again)).toBe('ran');
    expect(await t.run(first)).toBe('refused'); // one execution per call, whichever Decision
    expect(t.runs).toEqual([{ amount: 5 }]);
  });

  it('a human approval: the resume after the churn gets it without asking again, and runs once', async () => {
    const t = setup();
    const pending = await t.gate.review(big);
    const approved = await t.gate.resolveReview(pending, { type: 'approve', approver: 'alice' });
    expect(approved.verdict).toBe('allow');
    await t.churn(6_000, true);
    const resumed = await t.gate.review(big);
    expect(resumed).toMatchObject({ verdict: 'allow', source: 'human' });
    expect(t.asked.filter((r) => r.call.callId === 'big' && !r.dryRun)).toHaveLength(1); // the review; resolveReview's re-check is a dry run
    expect(await t.run(resumed)).toBe('ran');
    expect(await t.run(approved)).toBe('refused');
    expect(t.runs).toEqual([{ amount: 500 }]);
  });

  it('a human reject: the resume after the churn is still the reject, and nothing runs', async () => {
    const t = setup();
    const pending = await t.gate.review(big);
    expect((await t.gate.resolveReview(pending, { type: 'reject', approver: 'alice', reason: 'no' })).verdict).toBe('deny');
    await t.churn(6_000, true);
    const resumed = await t.gate.review(big);
    expect(resumed).toMatchObject({ verdict: 'deny', source: 'human' });
    expect(await t.run(resumed)).toBe('refused');
    expect(t.runs).toEqual([]);
  });

  it('an edit: after the churn the original is still superseded — only the edited call runs, once', async () => {
    const t = setup();
    const pending = await t.gate.review(big);
    const edited = await t.gate.resolveReview(pending, { type: 'edit', args: { amount: 50 }, approver: 'alice' });
    expect(edited.verdict).toBe('allow');
    await t.churn(6_000, true);
    const original = await t.gate.review(big);
    expect(original.verdict).toBe('deny');
    expect(await t.run(original)).toBe('refused');
    expect(await t.run(edited)).toBe('ran');
    expect(t.runs).toEqual([{ amount: 50 }]);
  });
});
