// Attack pass on answerId (7e429d3): one answer id given as an approval and as an edit of the same
// review, in one process and across two sharing a ledger. Held: the review's record of the first
// answer refuses the second, whatever its answer id says. Bodies are counted.
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
const gateWith = (ledger?: GateLedger) =>
  createGate({ reviewer: callbackReviewer(({ call }) => ((call.args as { amount: number }).amount > 100 ? { verdict: 'review' } : { verdict: 'allow' })), highStakes: ['transfer'], telemetry: false, ...(ledger ? { ledger } : {}) });
const call = { tool: 'transfer', args: { amount: 500 }, callId: 'call_1', runId: 'chat-1' };

function shared(): [GateLedger, GateLedger] {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-answer-attacks-'));
  dirs.push(dir);
  const pair: [GateLedger, GateLedger] = [sqliteLedger(join(dir, 'ledger.db')), sqliteLedger(join(dir, 'ledger.db'))];
  ledgers.push(...pair);
  return pair;
}

describe('one answer id as an approval and as an edit of the same review', () => {
  for (const where of ['one process', 'two processes sharing a ledger'] as const) {
    it(`${where}: approved as asked, then the same id as an edit (50): only 500 runs, once`, async () => {
      const [l1, l2] = where === 'one process' ? [undefined, undefined] : shared();
      const one = gateWith(l1);
      const two = l2 ? gateWith(l2) : one;
      const runs: unknown[] = [];
      const body = (args: unknown) => runs.push(args);
      const approved = await one.resolveReview(await one.review(call), { type: 'approve', answerId: 'a-1' });
      const edited = await two.resolveReview(await two.review(call), { type: 'edit', args: { amount: 50 }, answerId: 'a-1' });
      expect(edited.verdict).toBe('deny');
      await runGoverned(two, edited, body).catch(() => undefined);
      await runGoverned(one, approved, body);
      expect(runs).toEqual([{ amount: 500 }]);
    });

    it(`${where}: edited to 50, then the same id as an approval of 500: only 50 runs, once`, async () => {
      const [l1, l2] = where === 'one process' ? [undefined, undefined] : shared();
      const one = gateWith(l1);
      const two = l2 ? gateWith(l2) : one;
      const runs: unknown[] = [];
      const body = (args: unknown) => runs.push(args);
      const edited = await one.resolveReview(await one.review(call), { type: 'edit', args: { amount: 50 }, answerId: 'a-1' });
      expect(edited.verdict).toBe('allow');
      const approved = await two.resolveReview(await two.review(call), { type: 'approve', answerId: 'a-1' });
      expect(approved.verdict).toBe('deny');
      await runGoverned(two, approved, body).catch(() => undefined);
      await runGoverned(one, edited, body);
      await runGoverned(two, edited, body).catch(() => undefined);
      expect(runs).toEqual([{ amount: 50 }]);
    });
  }

  it('an answer id that spells another one differently (case, whitespace, NFC/NFD) is another answer: each answers its own review only', async () => {
    // Answer ids are opaque (the AI SDK's are signed and never chosen by the client): no normalisation.
    const gate = gateWith();
    const ids = ['approval-é', 'approval-e\u0301', 'APPROVAL-é', ' approval-é'];
    for (const [i, id] of ids.entries()) {
      expect((await gate.resolveReview(await gate.review({ ...call, runId: `chat-${i}` }), { type: 'approve', answerId: id })).verdict).toBe('allow');
    }
    for (const [i, id] of ids.entries()) {
      expect((await gate.resolveReview(await gate.review({ ...call, runId: `again-${i}` }), { type: 'approve', answerId: id })).error?.code).toBe('REVIEW_ALREADY_DECIDED');
    }
  });
});
