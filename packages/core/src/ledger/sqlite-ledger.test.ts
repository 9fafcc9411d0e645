import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GovernanceDeniedError } from '../errors';
import { createGate } from '../gate/create-gate';
import { runGoverned } from '../gate/governed';
import { callbackReviewer } from '../reviewers/callback-reviewer';
import type { Reviewer } from '../types';
import { humanAnswerStands, rejectInOneGateStopsTheOther } from './ledger-human-wins.test-support';
import type { GateLedger } from './ledger-types';
import { sqliteLedger } from './sqlite-ledger';

const dirs: string[] = [];
const ledgers: GateLedger[] = [];
afterEach(async () => {
  await Promise.all(ledgers.splice(0).map((l) => l.close?.()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function ledgerFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-ledger-'));
  dirs.push(dir);
  return join(dir, 'ledger.db');
}

/** A fresh ledger handle on the file: what a new process opens. */
function open(path: string): GateLedger {
  const l = sqliteLedger(path);
  ledgers.push(l);
  return l;
}

const allow: Reviewer = callbackReviewer(() => ({ verdict: 'allow' }));
const human: Reviewer = callbackReviewer(() => ({ verdict: 'review', reviewId: 'rev_1' }));
const call = { tool: 'transfer', args: { amount: 500 }, callId: 'call_1' };
const codeOf = (e: unknown) => (e instanceof GovernanceDeniedError ? e.decision.error?.code : String(e));

describe('sqliteLedger: exactly-once across gate instances', () => {
  it('a call that ran under one gate is ALREADY_EXECUTED under a fresh gate on the same file', async () => {
    const path = ledgerFile();
    let ran = 0;
    const first = createGate({ reviewer: allow, highStakes: ['transfer'], ledger: open(path) });
    const d1 = await first.review(call);
    await runGoverned(first, d1, () => ran++);
    // "Another process": a new gate and a new connection to the same file.
    const second = createGate({ reviewer: allow, highStakes: ['transfer'], ledger: open(path) });
    const d2 = await second.review(call);
    expect(d2.verdict).toBe('deny');
    expect(d2.error?.code).toBe('ALREADY_EXECUTED');
    // Replaying the first process's allowing Decision on the fresh gate: refused by the ledger.
    await expect(runGoverned(second, d1, () => ran++)).rejects.toSatisfy((e) => codeOf(e) === 'ALREADY_EXECUTED');
    expect(ran).toBe(1);
  });

  it('a human answer recorded by resolveReview is found by a resume in another gate, which runs the call once', async () => {
    const path = ledgerFile();
    let ran = 0;
    const first = createGate({ reviewer: human, highStakes: ['transfer'], ledger: open(path) });
    const pending = await first.review(call);
    expect(pending.verdict).toBe('review');
    const approved = await first.resolveReview(pending, { approved: true, approver: 'alice' });
    expect(approved.verdict).toBe('allow');
    const second = createGate({ reviewer: human, highStakes: ['transfer'], ledger: open(path) });
    const resumed = await second.review(call);
    expect(resumed).toMatchObject({ verdict: 'allow', source: 'human', decidedBy: 'human:alice' });
    await runGoverned(second, resumed, (args) => {
      expect(args).toEqual({ amount: 500 });
      ran++;
    });
    await expect(runGoverned(first, approved, () => ran++)).rejects.toSatisfy((e) => codeOf(e) === 'ALREADY_EXECUTED');
    expect(ran).toBe(1);
  });

  it("a human's no in one gate is final in another: a replayed approval there is REVIEW_ALREADY_DECIDED", async () => {
    const path = ledgerFile();
    const first = createGate({ reviewer: human, highStakes: ['transfer'], ledger: open(path) });
    const pending = await first.review(call);
    expect((await first.resolveReview(pending, { approved: false })).verdict).toBe('deny');
    const second = createGate({ reviewer: human, highStakes: ['transfer'], ledger: open(path) });
    const again = await second.resolveReview(pending, { approved: true });
    expect(again.verdict).toBe('deny');
    expect(again.error?.code).toBe('REVIEW_ALREADY_DECIDED');
  });

  it('enforce, the body, then reportOutcome (no claim): a fresh gate on the same file answers ALREADY_EXECUTED', async () => {
    const path = ledgerFile();
    const first = createGate({ reviewer: allow, highStakes: ['transfer'], ledger: open(path) });
    const d = await first.enforce(call);
    await first.reportOutcome(d, { status: 'success' });
    const second = createGate({ reviewer: allow, highStakes: ['transfer'], ledger: open(path) });
    expect((await second.review(call)).error?.code).toBe('ALREADY_EXECUTED');
  });

  it('20 concurrent runs of one call over two gates on one file: the body runs once', async () => {
    const path = ledgerFile();
    let ran = 0;
    const gates = [0, 1].map(() => createGate({ reviewer: allow, highStakes: ['transfer'], ledger: open(path) }));
    const decisions = await Promise.all(gates.map((g) => g.review(call)));
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => runGoverned(gates[i % 2]!, decisions[i % 2]!, () => ++ran)),
    );
    expect(ran).toBe(1);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').every((r) => codeOf((r as PromiseRejectedResult).reason) === 'ALREADY_EXECUTED')).toBe(true);
  });

  it('different calls (other arguments, other call ids, other runs) are not confused', async () => {
    const path = ledgerFile();
    let ran = 0;
    const g = createGate({ reviewer: allow, highStakes: ['transfer'], ledger: open(path) });
    for (const c of [call, { ...call, args: { amount: 501 } }, { ...call, callId: 'call_2' }, { ...call, runId: 'r2' }]) {
      await runGoverned(g, await g.review(c), () => ran++);
    }
    expect(ran).toBe(4);
  });
});

describe('a ledger that cannot be reached fails closed', () => {
  const broken = (fail: 'get' | 'record' | 'claim'): GateLedger => {
    const l = sqliteLedger(':memory:');
    ledgers.push(l);
    return { ...l, name: 'broken', [fail]: () => Promise.reject(new Error('disk I/O error')) };
  };

  it.each(['get', 'record'] as const)('%s failing: the review is a LEDGER_UNAVAILABLE deny, even with failMode open', async (fail) => {
    let ran = 0;
    const g = createGate({ reviewer: allow, highStakes: ['transfer'], failMode: 'open', ledger: broken(fail) });
    const d = await g.review(call);
    expect(d.verdict).toBe('deny');
    expect(d.error?.code).toBe('LEDGER_UNAVAILABLE');
    await expect(runGoverned(g, d, () => ran++)).rejects.toBeInstanceOf(GovernanceDeniedError);
    expect(ran).toBe(0);
  });

  it('claim failing: the body does not run', async () => {
    let ran = 0;
    const g = createGate({ reviewer: allow, highStakes: ['transfer'], ledger: broken('claim') });
    const d = await g.review(call);
    expect(d.verdict).toBe('allow');
    await expect(runGoverned(g, d, () => ran++)).rejects.toSatisfy((e) => codeOf(e) === 'LEDGER_UNAVAILABLE');
    expect(ran).toBe(0);
  });

  it('a closed sqlite ledger: deny, body not run', async () => {
    let ran = 0;
    const l = sqliteLedger(ledgerFile());
    await l.close?.();
    const g = createGate({ reviewer: allow, highStakes: ['transfer'], ledger: l });
    const d = await g.review(call);
    expect(d.error?.code).toBe('LEDGER_UNAVAILABLE');
    await expect(runGoverned(g, d, () => ran++)).rejects.toBeInstanceOf(GovernanceDeniedError);
    expect(ran).toBe(0);
  });

  it('resolveReview with an unreachable ledger is a deny', async () => {
    const g = createGate({ reviewer: human, highStakes: ['transfer'], ledger: broken('record') });
    const pending = await g.review(call);
    const d = await g.resolveReview(pending, { approved: true });
    expect(d.verdict).toBe('deny');
    expect(d.error?.code).toBe('LEDGER_UNAVAILABLE');
  });

  it('createGate refuses something that is not a ledger', () => {
    expect(() => createGate({ reviewer: allow, highStakes: ['transfer'], ledger: {} as GateLedger })).toThrow(/ledger/);
  });

  it("a human's answer stands: a late reviewer answer does not replace it, and a reject claims no execution", async () => {
    const path = ledgerFile();
    await humanAnswerStands(open(path), 'tg1:human-wins');
    await rejectInOneGateStopsTheOther(() => open(path), 'call_reject');
  });
});
