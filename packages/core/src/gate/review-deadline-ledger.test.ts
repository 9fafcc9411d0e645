// A review asked again in another process sharing the ledger (a restart, another server behind the
// load balancer) keeps the deadline of the first ask: the AI SDK's continuation, for one, carries no
// deadline the server can trust, so the gate must find it itself. Bodies are counted.
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

function twoProcesses(clock: { t: number }) {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-deadline-'));
  dirs.push(dir);
  const [l1, l2] = [sqliteLedger(join(dir, 'ledger.db')), sqliteLedger(join(dir, 'ledger.db'))];
  ledgers.push(l1, l2);
  const make = (ledger: GateLedger) =>
    createGate({ ledger, reviewer: callbackReviewer(() => ({ verdict: 'review' })), highStakes: ['transfer'], telemetry: false, now: () => clock.t, reviewTimeoutMs: 60_000 });
  return [make(l1), make(l2)] as const;
}
const call = { tool: 'transfer', args: { amount: 500 }, callId: 'call_1', runId: 'chat-1' };

describe('a review asked again in another process sharing the ledger', () => {
  it('keeps the first deadline: an approval an hour late is REVIEW_EXPIRED there, nothing runs', async () => {
    const clock = { t: 1_000_000 };
    const [one, two] = twoProcesses(clock);
    const first = await one.review(call);
    clock.t += 3_600_000;
    const again = await two.review(call);
    expect(again.expiresAt).toBe(first.expiresAt);
    const answered = await two.resolveReview(again, { type: 'approve', approver: 'alice' });
    expect(answered).toMatchObject({ verdict: 'deny', error: { code: 'REVIEW_EXPIRED' } });
    let ran = 0;
    await runGoverned(two, answered, () => ran++).catch(() => undefined);
    expect(ran).toBe(0);
  });

  it('within the first deadline, the approval in the other process runs once', async () => {
    const clock = { t: 1_000_000 };
    const [one, two] = twoProcesses(clock);
    const first = await one.review(call);
    clock.t += 30_000;
    const again = await two.review(call);
    expect(again.expiresAt).toBe(first.expiresAt);
    const answered = await two.resolveReview(again, { type: 'approve', approver: 'alice' });
    expect(answered.verdict).toBe('allow');
    let ran = 0;
    await runGoverned(two, answered, () => ran++);
    await runGoverned(one, answered, () => ran++).catch(() => undefined);
    expect(ran).toBe(1);
  });

  it('another call (other arguments, so another key) gets its own deadline', async () => {
    const clock = { t: 1_000_000 };
    const [one, two] = twoProcesses(clock);
    await one.review(call);
    clock.t += 3_600_000;
    const other = await two.review({ ...call, args: { amount: 400 } });
    expect(Date.parse(other.expiresAt!)).toBe(clock.t + 60_000);
    expect((await two.resolveReview(other, { type: 'approve' })).verdict).toBe('allow');
  });

  it('a ledger that cannot keep the deadline: the review is denied (LEDGER_UNAVAILABLE), nothing to approve', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'toolgate-deadline-'));
    dirs.push(dir);
    const real = sqliteLedger(join(dir, 'ledger.db'));
    ledgers.push(real);
    const flaky: GateLedger = { name: 'flaky', get: (k) => real.get(k), record: (k, d, j) => real.record(k, d, j), claim: () => Promise.reject(new Error('ledger down')) };
    const gate = createGate({ ledger: flaky, reviewer: callbackReviewer(() => ({ verdict: 'review' })), highStakes: ['transfer'], telemetry: false });
    const d = await gate.review(call);
    expect(d.verdict).toBe('deny');
    expect(d.error?.code).toBe('LEDGER_UNAVAILABLE');
    let ran = 0;
    await runGoverned(gate, await gate.resolveReview(d, { type: 'approve' }), () => ran++).catch(() => undefined);
    expect(ran).toBe(0);
  });
});
