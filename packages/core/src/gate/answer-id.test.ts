// One human answer answers one review (HumanDecision.answerId): a client-held approval handed back
// for another review — the same history replayed under another run id — runs nothing there, in this
// gate and, with a ledger, in every process sharing it. Bodies are counted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { GateLedger } from '../ledger/ledger-types';
import { sqliteLedger } from '../ledger/sqlite-ledger';
import { callbackReviewer } from '../reviewers/callback-reviewer';
import { createGate } from './create-gate';
import { runGoverned } from './governed';

const dirs: string[] = [];
const ledgers: GateLedger[] = [];
afterEach(async () => {
  await Promise.all(ledgers.splice(0).map((l) => l.close?.()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function gateWith(ledger?: GateLedger) {
  return createGate({ reviewer: callbackReviewer(() => ({ verdict: 'review', reason: 'a human decides' })), highStakes: ['transfer'], telemetry: false, ...(ledger ? { ledger } : {}) });
}
const callIn = (runId: string) => ({ tool: 'transfer', args: { amount: 500 }, callId: 'call_1', runId });

describe('answerId: one human answer answers one review', () => {
  it('the same approval replayed for the same call under another run id: refused there, the body ran once', async () => {
    const gate = gateWith();
    const runs: unknown[] = [];
    const body = (args: unknown) => runs.push(args);
    const first = await gate.resolveReview(await gate.review(callIn('chat-1')), { type: 'approve', answerId: 'approval-1' });
    expect(first.verdict).toBe('allow');
    await runGoverned(gate, first, body);
    const replayed = await gate.resolveReview(await gate.review(callIn('chat-2')), { type: 'approve', answerId: 'approval-1' });
    expect(replayed).toMatchObject({ verdict: 'deny', error: { code: 'REVIEW_ALREADY_DECIDED' } });
    await expect(runGoverned(gate, replayed, body)).rejects.toThrow();
    // An edit under the same id is the same answer: refused for the other review too.
    const edited = await gate.resolveReview(await gate.review(callIn('chat-3')), { type: 'edit', args: { amount: 5 }, answerId: 'approval-1' });
    expect(edited.error?.code).toBe('REVIEW_ALREADY_DECIDED');
    expect(runs).toEqual([{ amount: 500 }]);
  });

  it('the same answer for the same review again is that review\'s (idempotent), and answers without an id are unchanged', async () => {
    const gate = gateWith();
    const pending = await gate.review(callIn('chat-1'));
    expect((await gate.resolveReview(pending, { type: 'approve', answerId: 'a' })).verdict).toBe('allow');
    expect((await gate.resolveReview(pending, { type: 'approve', answerId: 'a' })).verdict).toBe('allow');
    expect((await gate.resolveReview(await gate.review(callIn('chat-2')), { type: 'approve' })).verdict).toBe('allow');
  });

  it('across processes sharing a ledger: the replay in the second process is refused; the body ran once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'toolgate-answer-id-'));
    dirs.push(dir);
    const path = join(dir, 'ledger.db');
    const [l1, l2] = [sqliteLedger(path), sqliteLedger(path)];
    ledgers.push(l1, l2);
    const [one, two] = [gateWith(l1), gateWith(l2)];
    const runs: unknown[] = [];
    const body = (args: unknown) => runs.push(args);
    const allowed = await one.resolveReview(await one.review(callIn('chat-1')), { type: 'approve', answerId: 'approval-9' });
    await runGoverned(one, allowed, body);
    const replayed = await two.resolveReview(await two.review(callIn('chat-2')), { type: 'approve', answerId: 'approval-9' });
    expect(replayed).toMatchObject({ verdict: 'deny', error: { code: 'REVIEW_ALREADY_DECIDED' } });
    await expect(runGoverned(two, replayed, body)).rejects.toThrow();
    expect(runs).toEqual([{ amount: 500 }]);
  });

  it('a ledger that cannot record the answer as used: denied, nothing runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'toolgate-answer-id-'));
    dirs.push(dir);
    const real = sqliteLedger(join(dir, 'ledger.db'));
    ledgers.push(real);
    let down = false;
    const flaky: GateLedger = { name: 'flaky', get: (k) => real.get(k), record: (k, d, j) => real.record(k, d, j), claim: (k, d) => (down ? Promise.reject(new Error('ledger down')) : real.claim(k, d)) };
    const gate = gateWith(flaky);
    const pending = await gate.review(callIn('chat-1'));
    down = true;
    const answered = await gate.resolveReview(pending, { type: 'approve', answerId: 'approval-5' });
    expect(answered.verdict).toBe('deny');
    expect(answered.error?.code).toBe('LEDGER_UNAVAILABLE');
  });
});
