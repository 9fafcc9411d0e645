import { describe, expect, it } from 'vitest';
import { callbackReviewer } from '../reviewers/callback-reviewer';
import { createGate } from './create-gate';
import { runGoverned } from './governed';

// Every framework resume asks the gate again about the paused call (the AI SDK's continuation, a
// LangGraph re-run of the node). The review's deadline is the one set when it was first asked.
describe('a paused review asked again keeps its first deadline', () => {
  it('an approval after the first deadline is REVIEW_EXPIRED and the body never runs', async () => {
    let t = 1_000_000;
    const gate = createGate({ reviewer: callbackReviewer(() => ({ verdict: 'review' })), highStakes: ['transfer'], now: () => t, reviewTimeoutMs: 1_000 });
    const call = { tool: 'transfer', args: { amount: 1 }, callId: 'c1' };
    const first = await gate.review(call);
    expect(first.verdict).toBe('review');
    t += 5_000;
    const again = await gate.review(call);
    expect(again.expiresAt).toBe(first.expiresAt);
    const answered = await gate.resolveReview(again, { type: 'approve', approver: 'alice' });
    expect(answered).toMatchObject({ verdict: 'deny', error: { code: 'REVIEW_EXPIRED' } });
    let ran = 0;
    await runGoverned(gate, answered, () => {
      ran++;
    }).catch(() => undefined);
    expect(ran).toBe(0);
  });

  it('asked again within the deadline, an approval still runs once', async () => {
    let t = 1_000_000;
    const gate = createGate({ reviewer: callbackReviewer(() => ({ verdict: 'review' })), highStakes: ['transfer'], now: () => t, reviewTimeoutMs: 10_000 });
    const call = { tool: 'transfer', args: { amount: 1 }, callId: 'c1' };
    const first = await gate.review(call);
    t += 5_000;
    const again = await gate.review(call);
    expect(again.expiresAt).toBe(first.expiresAt);
    const answered = await gate.resolveReview(again, { type: 'approve', approver: 'alice' });
    expect(answered.verdict).toBe('allow');
    let ran = 0;
    await runGoverned(gate, answered, () => {
      ran++;
    });
    expect(ran).toBe(1);
  });

  it('a review asked again in a new process (a fresh deadline) answered with the Decision the human saw: the earlier deadline wins, nothing runs', async () => {
    let t = 1_000_000;
    const make = () => createGate({ reviewer: callbackReviewer(() => ({ verdict: 'review' })), highStakes: ['transfer'], now: () => t, reviewTimeoutMs: 60_000 });
    const call = { tool: 'transfer', args: { amount: 1 }, callId: 'c1', runId: 'thread-1' };
    const shown = JSON.parse(JSON.stringify(await make().review(call))) as Awaited<ReturnType<ReturnType<typeof make>['review']>>;
    t += 3_600_000;
    const restarted = make();
    const fresh = await restarted.review(call);
    expect(Date.parse(fresh.expiresAt!)).toBeGreaterThan(t);
    // The adapter hands in the fresh review with the deadline the human was given.
    const answered = await restarted.resolveReview({ ...fresh, expiresAt: shown.expiresAt! }, { type: 'approve', approver: 'alice' });
    expect(answered).toMatchObject({ verdict: 'deny', error: { code: 'REVIEW_EXPIRED' } });
    let ran = 0;
    await runGoverned(restarted, answered, () => {
      ran++;
    }).catch(() => undefined);
    expect(ran).toBe(0);
  });
});

