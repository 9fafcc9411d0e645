// Attack pass on answerId (7e429d3) and the carried deadline (d217f59), one gate without a ledger:
// the answer ids this gate remembers are bounded; what a full map forgets, and what a Decision
// handed back with another deadline can do. Bodies are counted.
import { describe, expect, it } from 'vitest';
import { callbackReviewer } from '../reviewers/callback-reviewer';
import { createGate } from './create-gate';
import { runGoverned } from './governed';

const callIn = (runId: string, amount = 500) => ({ tool: 'transfer', args: { amount }, callId: 'call_1', runId });

describe('answerId in one gate without a ledger, the remembered ids full', () => {
  it('an approval used just before the map filled up is still refused for another review after one more answer', async () => {
    const gate = createGate({ reviewer: callbackReviewer(() => ({ verdict: 'review', reason: 'a human decides' })), highStakes: ['transfer'], telemetry: false });
    const runs: unknown[] = [];
    const body = (args: unknown) => runs.push(args);
    // Ordinary traffic: 9,999 other answers, each to its own review.
    for (let i = 0; i < 9_999; i++) {
      const d = await gate.resolveReview(await gate.review(callIn(`other-${i}`, 1)), { type: 'approve', answerId: `other-${i}` });
      expect(d.verdict).toBe('allow');
    }
    const first = await gate.resolveReview(await gate.review(callIn('chat-1')), { type: 'approve', answerId: 'approval-1' });
    expect(first.verdict).toBe('allow');
    await runGoverned(gate, first, body);
    // One more human answers something else (the 10,001st answer id) …
    expect((await gate.resolveReview(await gate.review(callIn('chat-next', 1)), { type: 'approve', answerId: 'next' })).verdict).toBe('allow');
    // … and the client replays the approval it holds under a chat id it picks.
    const replayed = await gate.resolveReview(await gate.review(callIn('chat-2')), { type: 'approve', answerId: 'approval-1' });
    expect(replayed).toMatchObject({ verdict: 'deny', error: { code: 'REVIEW_ALREADY_DECIDED' } });
    await runGoverned(gate, replayed, body).catch(() => undefined);
    expect(runs).toEqual([{ amount: 500 }]);
  }, 60_000);
});

describe('a pending review answered with a Decision carrying another deadline', () => {
  for (const carried of ['9999-12-31T23:59:59.999Z', 'not a date', '', '+275760-09-13T00:00:00.000Z', 'Fri, 31 Dec 9999 23:59:59 GMT']) {
    it(`expiresAt ${JSON.stringify(carried)} after the gate's deadline passed: REVIEW_EXPIRED, nothing runs`, async () => {
      let t = 1_000_000;
      const gate = createGate({ reviewer: callbackReviewer(() => ({ verdict: 'review' })), highStakes: ['transfer'], telemetry: false, now: () => t, reviewTimeoutMs: 1_000 });
      const pending = await gate.review(callIn('chat-1'));
      t += 5_000;
      const answered = await gate.resolveReview({ ...pending, expiresAt: carried }, { type: 'approve', answerId: 'a-1' });
      expect(answered).toMatchObject({ verdict: 'deny', error: { code: 'REVIEW_EXPIRED' } });
      let ran = 0;
      await runGoverned(gate, answered, () => ran++).catch(() => undefined);
      expect(ran).toBe(0);
    });
  }

  it('expiresAt removed, or not a string, after the deadline: REVIEW_EXPIRED', async () => {
    let t = 1_000_000;
    const gate = createGate({ reviewer: callbackReviewer(() => ({ verdict: 'review' })), highStakes: ['transfer'], telemetry: false, now: () => t, reviewTimeoutMs: 1_000 });
    const pending = await gate.review(callIn('chat-1'));
    t += 5_000;
    const { expiresAt: _dropped, ...without } = pending;
    expect((await gate.resolveReview(without as typeof pending, { type: 'approve' })).error?.code).toBe('REVIEW_EXPIRED');
    const p2 = await gate.review(callIn('chat-2'));
    t += 5_000;
    expect((await gate.resolveReview({ ...p2, expiresAt: 1e15 as unknown as string }, { type: 'approve' })).error?.code).toBe('REVIEW_EXPIRED');
  });
});
