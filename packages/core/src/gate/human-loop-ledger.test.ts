import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { GateLedger } from '../ledger/ledger-types';
import { sqliteLedger } from '../ledger/sqlite-ledger';
import { callbackReviewer } from '../reviewers/callback-reviewer';
import type { Decision } from '../types';
import { createGate } from './create-gate';
import { runGoverned } from './governed';

// Two gates on one SQLite ledger file stand for two processes (a paused run resumed elsewhere).
const dirs: string[] = [];
const ledgers: GateLedger[] = [];
afterEach(async () => {
  await Promise.all(ledgers.splice(0).map((l) => l.close?.()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function ledgerFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-hl-ledger-'));
  dirs.push(dir);
  return join(dir, 'ledger.db');
}

function gateOn(path: string) {
  const ledger = sqliteLedger(path);
  ledgers.push(ledger);
  return createGate({ reviewer: callbackReviewer(() => ({ verdict: 'review', reviewId: 'rv_1' })), highStakes: ['transfer'], ledger, telemetry: false });
}

const call = { tool: 'transfer', args: { amount: 500 }, callId: 'call_1', runId: 'run_1' };
const edit = { type: 'edit', args: { amount: 50 }, approver: 'alice' } as const;

describe('human loop across processes (ledger)', () => {
  it('an edit resumed in another process runs once, with the edited args; the original can no longer be approved there', async () => {
    const path = ledgerFile();
    const runs: unknown[] = [];
    const body = (args: unknown) => runs.push(args);
    const first = gateOn(path);
    const pending = await first.review(call);
    const edited = await first.resolveReview(pending, edit);
    expect(edited).toMatchObject({ verdict: 'allow', source: 'human' });

    // The other process has only the serialised pending Decision (no args) and the same answer.
    const second = gateOn(path);
    const saved = JSON.parse(JSON.stringify(pending)) as Decision;
    const resumed = await second.resolveReview(saved, edit);
    expect(resumed).toMatchObject({ verdict: 'allow', source: 'human', digest: edited.digest, edited: { originalDigest: pending.digest } });
    expect(resumed.args).toEqual({ amount: 50 });
    await runGoverned(second, resumed, body);
    await expect(runGoverned(first, edited, body)).rejects.toThrow();
    expect(runs).toEqual([{ amount: 50 }]);

    expect((await second.resolveReview(saved, { type: 'approve' })).error?.code).toBe('REVIEW_ALREADY_DECIDED');
    expect((await second.resolveReview(saved, edit)).error?.code).toBe('ALREADY_EXECUTED');
    // A third process replaying the original call is not allowed to run it either.
    const third = gateOn(path);
    expect((await third.review(call)).verdict).toBe('deny');
    expect(runs).toHaveLength(1);
  });

  it('an expired review stays expired in another process', async () => {
    const path = ledgerFile();
    const first = gateOn(path);
    const pending = await first.review(call);
    await first.resolveReview(pending, { type: 'expired' });
    const second = gateOn(path);
    const late = await second.resolveReview(JSON.parse(JSON.stringify(pending)) as Decision, { type: 'approve', approver: 'bob' });
    expect(late).toMatchObject({ verdict: 'deny', error: { code: 'REVIEW_EXPIRED' } });
  });
});
