// Shared by the SQLite and PostgreSQL ledger tests: a human's answer recorded under a key is not
// replaced by a reviewer's answer, and no execution is claimed while the answer recorded for the key
// does not allow the call — in the raw ledger, and through two gates sharing it (body-run counter).
import { expect } from 'vitest';
import { createGate } from '../gate/create-gate';
import { runGoverned } from '../gate/governed';
import { callbackReviewer } from '../reviewers/callback-reviewer';
import type { GateLedger } from './ledger-types';

const answer = (verdict: string, source: string) => JSON.stringify({ verdict, source, reason: 'r', tool: 'transfer', digest: 'sha256:h', conditions: [], evaluated: [], latencyMs: 0 });

const expired = JSON.stringify({ verdict: 'deny', source: 'fail_closed', reason: 'expired', tool: 'transfer', digest: 'sha256:h', conditions: [], evaluated: [], latencyMs: 0, error: { code: 'REVIEW_EXPIRED', message: 'expired' } });
const recorded = async (ledger: GateLedger, key: string) => JSON.parse((await ledger.get(key))!.decision!) as { verdict: string; source: string };

/** The raw ledger: record/claim under a few keys. */
export async function humanAnswerStands(ledger: GateLedger, key: string): Promise<void> {
  // A human's no: a late reviewer allow does not replace it, nor does any other allow; no claim.
  await ledger.record(key, 'sha256:h', answer('deny', 'human'));
  await ledger.record(key, 'sha256:h', answer('allow', 'policy'));
  await ledger.record(key, 'sha256:h', answer('allow', 'human'));
  expect(await recorded(ledger, key)).toMatchObject({ verdict: 'deny', source: 'human' });
  expect(await ledger.claim(key, 'sha256:h')).toBe(false); // the recorded answer does not allow
  expect((await ledger.get(key))!.executed).toBe(false);
  // An expiry is a final no too.
  await ledger.record(`${key}:expired`, 'sha256:h', expired);
  await ledger.record(`${key}:expired`, 'sha256:h', answer('allow', 'human'));
  expect(await recorded(ledger, `${key}:expired`)).toMatchObject({ verdict: 'deny', source: 'fail_closed' });
  expect(await ledger.claim(`${key}:expired`, 'sha256:h')).toBe(false);
  // A human's allow: a late reviewer deny does not replace it; it is claimed once.
  await ledger.record(`${key}:ok`, 'sha256:h', answer('allow', 'human'));
  await ledger.record(`${key}:ok`, 'sha256:h', answer('deny', 'policy'));
  expect(await recorded(ledger, `${key}:ok`)).toMatchObject({ verdict: 'allow', source: 'human' });
  expect(await ledger.claim(`${key}:ok`, 'sha256:h')).toBe(true);
  expect(await ledger.claim(`${key}:ok`, 'sha256:h')).toBe(false);
  // A final no is recorded over a row held by another digest (a human's edit on the reviewer is kept
  // under the original key with the edited digest): the edit is not claimed after a reject.
  await ledger.record(`${key}:edit`, 'sha256:edited', JSON.stringify({ ...JSON.parse(answer('allow', 'human')), digest: 'sha256:edited' }));
  await ledger.record(`${key}:edit`, 'sha256:h', answer('deny', 'human'));
  expect(await recorded(ledger, `${key}:edit`)).toMatchObject({ verdict: 'deny', source: 'human' });
  expect(await ledger.claim(`${key}:edit`, 'sha256:edited')).toBe(false);
  // A reviewer's answer for another digest is still left alone.
  await ledger.record(`${key}:other`, 'sha256:x', answer('allow', 'policy'));
  await ledger.record(`${key}:other`, 'sha256:h', answer('deny', 'policy'));
  expect(await recorded(ledger, `${key}:other`)).toMatchObject({ verdict: 'allow' });
  // A reviewer's answers replace each other while nothing ran (a policy change, asked again).
  await ledger.record(`${key}:rev`, 'sha256:h', answer('deny', 'policy'));
  await ledger.record(`${key}:rev`, 'sha256:h', answer('allow', 'policy'));
  expect(await ledger.claim(`${key}:rev`, 'sha256:h')).toBe(true);
}

/**
 * Two gates on one ledger ("two processes"): gate A's reviewer allows the call; before A runs it, a
 * human on gate B rejects the same call (B's reviewer asked for a human). A's allow must not run, in
 * A or anywhere: the body runs 0 times, and B's later review is the human's no.
 */
export async function rejectInOneGateStopsTheOther(open: () => GateLedger, callId: string): Promise<void> {
  const call = { tool: 'transfer', args: { amount: 6000 }, callId, runId: 'thread_reject' };
  let ran = 0;
  const a = createGate({ reviewer: callbackReviewer(() => ({ verdict: 'allow' })), highStakes: ['transfer'], ledger: open() });
  const b = createGate({ reviewer: callbackReviewer(() => ({ verdict: 'review', reviewId: 'rev_b' })), highStakes: ['transfer'], ledger: open() });
  const pending = await b.review(call); // B asks before A's allow is recorded: a pending review there
  expect(pending.verdict).toBe('review');
  const allowed = await a.review(call);
  expect(allowed.verdict).toBe('allow');
  expect((await b.resolveReview(pending, { type: 'reject', approver: 'alice' })).verdict).toBe('deny');
  await expect(runGoverned(a, allowed, () => ran++)).rejects.toThrow(/now deny/);
  await expect(runGoverned(b, allowed, () => ran++)).rejects.toThrow();
  expect(ran).toBe(0);
  expect(await b.review(call)).toMatchObject({ verdict: 'deny', source: 'human' });
}
