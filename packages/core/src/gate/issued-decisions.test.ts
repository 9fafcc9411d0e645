import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { GateLedger } from '../ledger/ledger-types';
import { sqliteLedger } from '../ledger/sqlite-ledger';
import { callbackReviewer } from '../reviewers/callback-reviewer';
import type { Decision, ReviewRequest, ReviewerVerdict, ToolCall } from '../types';
import { createGate } from './create-gate';
import { issuedDecision } from './issued-decisions';

const dirs: string[] = [];
const ledgers: GateLedger[] = [];
afterEach(async () => {
  await Promise.all(ledgers.splice(0).map((l) => l.close?.()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function gateWith(answer: (request: ReviewRequest) => ReviewerVerdict, ledger?: GateLedger) {
  return createGate({ reviewer: callbackReviewer(answer), highStakes: ['transfer', 'lookup'], telemetry: false, ...(ledger ? { ledger } : {}) });
}
const byAmount = ({ call }: ReviewRequest): ReviewerVerdict => {
  const amount = (call.args as { amount: number }).amount;
  return amount > 1000 ? { verdict: 'deny', reason: 'over the limit' } : amount > 100 ? { verdict: 'review', reviewId: 'rv_1' } : { verdict: 'allow' };
};
const call = (amount: number, callId = 'call_1'): ToolCall => ({ tool: 'transfer', args: { amount }, callId, runId: 'thread_1' });

describe('issuedDecision: a Decision handed back is the gate\'s only when the gate issued it', () => {
  it('returns the gate\'s own Decision for a copy of one it issued (a checkpoint round trip)', async () => {
    const gate = gateWith(byAmount);
    const decision = await gate.review(call(50));
    const copy = JSON.parse(JSON.stringify(decision)) as Decision;
    expect(await issuedDecision(gate, copy)).toBe(decision);
  });

  it('vouches for no forged allow: a call never reviewed, a deny turned into an allow, another digest, another tool', async () => {
    const gate = gateWith(byAmount);
    const denied = await gate.review(call(5000));
    const allowed = await gate.review(call(50, 'call_2'));
    // A deny rewritten as an allow: the gate answers with its own deny.
    const flipped = { ...denied, verdict: 'allow', source: 'policy' } as Decision;
    expect((await issuedDecision(gate, flipped))?.verdict).toBe('deny');
    // An allow for other arguments under a real key, or for another tool: nothing.
    expect(await issuedDecision(gate, { ...allowed, digest: denied.digest })).toBeUndefined();
    expect(await issuedDecision(gate, { ...allowed, tool: 'lookup' })).toBeUndefined();
    // An allow the gate never issued (no review under that key), or with no key at all: nothing.
    expect(await issuedDecision(gate, { ...allowed, idempotencyKey: 'thread_1:call_9:forged' })).toBeUndefined();
    const { idempotencyKey: _k, ...keyless } = allowed;
    expect(await issuedDecision(gate, keyless as Decision)).toBeUndefined();
    // Another gate (another process, no shared ledger) vouches for nothing.
    expect(await issuedDecision(gateWith(byAmount), allowed)).toBeUndefined();
  });

  it('vouches for a pending review, then for the human answer that resolved it', async () => {
    const gate = gateWith(byAmount);
    const pending = await gate.review(call(500));
    expect(pending.verdict).toBe('review');
    expect(await issuedDecision(gate, JSON.parse(JSON.stringify(pending)) as Decision)).toBe(pending);
    const resolved = await gate.resolveReview(pending, { type: 'approve', approver: 'alice' });
    expect(resolved.verdict).toBe('allow');
    expect(await issuedDecision(gate, JSON.parse(JSON.stringify(resolved)) as Decision)).toBe(resolved);
    // The pending copy now names the answered call: the gate hands back the answer, not the copy.
    expect((await issuedDecision(gate, pending))?.verdict).toBe('allow');
  });

  it('vouches across processes through a shared ledger, and for nothing when the ledger cannot be read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'toolgate-issued-'));
    dirs.push(dir);
    const path = join(dir, 'ledger.db');
    const [l1, l2] = [sqliteLedger(path), sqliteLedger(path)];
    ledgers.push(l1, l2);
    const first = gateWith(byAmount, l1);
    const decision = await first.review(call(50));
    const copy = JSON.parse(JSON.stringify(decision)) as Decision;
    const found = await issuedDecision(gateWith(byAmount, l2), copy);
    expect(found?.verdict).toBe('allow');
    expect(found?.digest).toBe(decision.digest);
    const broken: GateLedger = { ...l2, get: () => Promise.reject(new Error('ledger down')) };
    expect(await issuedDecision(gateWith(byAmount, broken), copy)).toBeUndefined();
  });
});

describe('issuedDecision: a fail-open allow', () => {
  it('is the gate\'s own (not cached, yet issued here): handed back, it is vouched and not reviewed again', async () => {
    const gate = createGate({ reviewer: callbackReviewer(() => Promise.reject(new Error('down'))), highStakes: ['transfer'], failMode: 'open', telemetry: false });
    const decision = await gate.review(call(50));
    expect(decision).toMatchObject({ verdict: 'allow', source: 'fail_open' });
    expect(await issuedDecision(gate, JSON.parse(JSON.stringify(decision)) as Decision)).toBe(decision);
    expect(await issuedDecision(gateWith(byAmount), decision)).toBeUndefined();
  });
});

describe('issuedDecision: forCall binds the Decision to the call about to run', () => {
  it("a genuine allow of another call (another thread, same tool and arguments) vouches for nothing here; for its own call it does", async () => {
    const gate = gateWith(byAmount);
    const other = await gate.review(call(50, 'call_7'));
    expect(other.verdict).toBe('allow');
    expect(await issuedDecision(gate, other, { callId: 'call_1', runId: 'thread_1' })).toBeUndefined();
    expect(await issuedDecision(gate, other, { callId: 'call_7', runId: 'thread_2' })).toBeUndefined();
    expect(await issuedDecision(gate, other, { callId: 'call_7', runId: 'thread_1' })).toBe(other);
  });
});
