import { describe, expect, it } from 'vitest';
import { memoryAudit } from '../audit/index';
import { callDigest } from '../digest/call-digest';
import { editNotice } from '../human/edit-notice';
import { policyReviewer } from '../policy/policy-reviewer';
import { callbackReviewer } from '../reviewers/callback-reviewer';
import type { Decision, Reviewer, ToolCall } from '../types';
import { createGate } from './create-gate';
import type { GateOptions } from './gate-types';
import { runGoverned } from './governed';

// transfer: over 1000 is denied, over 100 needs a human, the rest is allowed.
const bank = () =>
  policyReviewer({
    default: 'allow',
    rules: [
      { name: 'huge', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 1000 }], verdict: 'deny', reason: 'over 1000 is never allowed' },
      { name: 'big', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 100 }], verdict: 'review' },
    ],
  });

function setup(reviewer: Reviewer = bank(), extra: Partial<GateOptions> = {}) {
  const audit = memoryAudit();
  const gate = createGate({ reviewer, highStakes: ['transfer', 'shell'], audit, telemetry: false, ...extra });
  const runs: unknown[] = [];
  /** Runs the body through runGoverned when the Decision allows it; the body counts its runs and the args it got. */
  const run = async (d: Decision): Promise<'ran' | 'refused'> => {
    if (d.verdict !== 'allow' && d.verdict !== 'allow_with_conditions') return 'refused';
    try {
      await runGoverned(gate, d, (args) => runs.push(args));
      return 'ran';
    } catch {
      return 'refused';
    }
  };
  return { gate, audit, runs, run };
}

const call: ToolCall = { tool: 'transfer', args: { amount: 500, to: 'bob' }, callId: 'c1', runId: 'r1' };

describe('resolveReview: edit', () => {
  it('an allowed edit runs once, with exactly the edited args; the model is told', async () => {
    const t = setup();
    const pending = await t.gate.review(call);
    expect(pending.verdict).toBe('review');
    const d = await t.gate.resolveReview(pending, { type: 'edit', args: { amount: 300, to: 'bob' }, approver: 'alice' });
    expect(d).toMatchObject({ verdict: 'allow', source: 'human', decidedBy: 'human:alice', tool: 'transfer' });
    expect(d.digest).toBe(callDigest('transfer', { amount: 300, to: 'bob' }));
    expect(d.edited).toEqual({ originalDigest: pending.digest, digest: d.digest, args: { amount: 300, to: 'bob' } });
    expect(d.args).toEqual({ amount: 300, to: 'bob' });
    expect(d.idempotencyKey).toBe(`${pending.idempotencyKey}:edit:${d.digest.slice(7, 23)}`);
    expect(await t.run(d)).toBe('ran');
    expect(await t.run(d)).toBe('refused');
    expect(t.runs).toEqual([{ amount: 300, to: 'bob' }]);
    expect(editNotice(d)).toBe('The call ran with edited arguments: {"amount":300,"to":"bob"}. Do not repeat the original call.');
    expect(editNotice(pending)).toBeUndefined();
  });

  it('the audit links the original digest, the edited digest and the approver', async () => {
    const t = setup();
    const pending = await t.gate.review(call);
    const d = await t.gate.resolveReview(pending, { type: 'edit', args: { amount: 300, to: 'bob' }, approver: 'alice' });
    const human = t.audit.records.filter((r) => r.kind === 'human_decision');
    expect(human).toHaveLength(1);
    expect(human[0]).toMatchObject({
      id: d.auditId,
      call: { tool: 'transfer', digest: d.digest },
      decision: { decidedBy: 'human:alice', edited: { originalDigest: pending.digest, digest: d.digest } },
      meta: { answer: 'edit', approver: 'alice', originalDigest: pending.digest, editedDigest: d.digest },
    });
    // The edited call was reviewed from the start: its own review record, under its own digest.
    expect(t.audit.records.filter((r) => r.kind === 'review').map((r) => r.call.digest)).toEqual([pending.digest, d.digest]);
  });

  it('an edit the policy denies never runs, and a human cannot override it', async () => {
    const t = setup();
    const pending = await t.gate.review(call);
    const d = await t.gate.resolveReview(pending, { type: 'edit', args: { amount: 5000, to: 'bob' }, approver: 'alice' });
    expect(d).toMatchObject({ verdict: 'deny', source: 'policy', reason: expect.stringContaining('over 1000 is never allowed') });
    expect(d.edited?.originalDigest).toBe(pending.digest);
    expect(await t.run(d)).toBe('refused');
    expect(editNotice(d)).toBeUndefined();
    // The same edit again is still a deny; the original review is still pending and can be approved.
    expect((await t.gate.resolveReview(pending, { type: 'edit', args: { amount: 5000, to: 'bob' } })).verdict).toBe('deny');
    const approved = await t.gate.resolveReview(pending, { type: 'approve', approver: 'alice' });
    expect(await t.run(approved)).toBe('ran');
    expect(t.runs).toEqual([{ amount: 500, to: 'bob' }]);
  });

  it('an edit the policy allows outright stands as the policy allow, still with edited args', async () => {
    const t = setup();
    const pending = await t.gate.review(call);
    const d = await t.gate.resolveReview(pending, { type: 'edit', args: { amount: 50, to: 'bob' }, approver: 'alice' });
    expect(d).toMatchObject({ verdict: 'allow', source: 'policy' });
    expect(d.edited?.originalDigest).toBe(pending.digest);
    expect(await t.run(d)).toBe('ran');
    expect(t.runs).toEqual([{ amount: 50, to: 'bob' }]);
  });

  it('an edit naming another tool is refused (EDIT_TOOL_CHANGED) and nothing runs', async () => {
    const t = setup();
    const pending = await t.gate.review(call);
    const d = await t.gate.resolveReview(pending, { type: 'edit', tool: 'shell', args: { cmd: 'ls' } });
    expect(d).toMatchObject({ verdict: 'deny', error: { code: 'EDIT_TOOL_CHANGED' } });
    expect(await t.run(d)).toBe('refused');
    expect(t.runs).toHaveLength(0);
  });

  it('edited args that are not JSON are INPUT_INVALID; a JSON string is read like tool args', async () => {
    const t = setup();
    const pending = await t.gate.review(call);
    expect(await t.gate.resolveReview(pending, { type: 'edit', args: '{not json' })).toMatchObject({ verdict: 'deny', error: { code: 'INPUT_INVALID' } });
    const d = await t.gate.resolveReview(pending, { type: 'edit', args: '{"amount":200,"to":"bob"}' });
    expect(d.args).toEqual({ amount: 200, to: 'bob' });
  });

  it('after an edit, approving the original call (a replayed approval) is refused: only one of them runs', async () => {
    const t = setup();
    const pending = await t.gate.review(call);
    const edited = await t.gate.resolveReview(pending, { type: 'edit', args: { amount: 300, to: 'bob' } });
    const replay = await t.gate.resolveReview(pending, { approved: true });
    expect(replay).toMatchObject({ verdict: 'deny', error: { code: 'REVIEW_ALREADY_DECIDED' } });
    expect(await t.run(replay)).toBe('refused');
    expect(await t.run(edited)).toBe('ran');
    expect(t.runs).toHaveLength(1);
  });

  it('resuming twice with the same edit runs once: the second is ALREADY_EXECUTED', async () => {
    const t = setup();
    const pending = await t.gate.review(call);
    const answer = { type: 'edit', args: { amount: 300, to: 'bob' }, approver: 'alice' } as const;
    expect(await t.run(await t.gate.resolveReview(pending, answer))).toBe('ran');
    const again = await t.gate.resolveReview(pending, answer);
    expect(again).toMatchObject({ verdict: 'deny', error: { code: 'ALREADY_EXECUTED' } });
    expect(await t.run(again)).toBe('refused');
    expect(t.runs).toHaveLength(1);
  });
});

describe('resolveReview: approve, reject, expired, legacy', () => {
  it('resume twice runs once: the second approval of an executed call is ALREADY_EXECUTED', async () => {
    const t = setup();
    const pending = await t.gate.review(call);
    const [a, b] = [await t.gate.resolveReview(pending, { type: 'approve' }), await t.gate.resolveReview(pending, { type: 'approve' })];
    expect(await t.run(a)).toBe('ran');
    expect(await t.run(b)).toBe('refused');
    expect(await t.gate.resolveReview(pending, { type: 'approve' })).toMatchObject({ verdict: 'deny', error: { code: 'ALREADY_EXECUTED' } });
    expect(t.runs).toEqual([{ amount: 500, to: 'bob' }]);
  });

  it("a rejection's message is the reason the model sees", async () => {
    const t = setup();
    const pending = await t.gate.review(call);
    const d = await t.gate.resolveReview(pending, { type: 'reject', message: 'use the savings account', approver: 'alice' });
    expect(d).toMatchObject({ verdict: 'deny', source: 'human', reason: 'use the savings account', decidedBy: 'human:alice' });
    expect(await t.run(d)).toBe('refused');
    expect(t.runs).toHaveLength(0);
  });

  it('expired is REVIEW_EXPIRED, not a rejection, and cannot be approved afterwards', async () => {
    const t = setup();
    const pending = await t.gate.review(call);
    const d = await t.gate.resolveReview(pending, { type: 'expired' });
    expect(d).toMatchObject({ verdict: 'deny', source: 'fail_closed', decidedBy: 'expiry', error: { code: 'REVIEW_EXPIRED' } });
    expect(d.reason).not.toMatch(/reject/i);
    const late = await t.gate.resolveReview(pending, { type: 'approve' });
    expect(late).toMatchObject({ verdict: 'deny', error: { code: 'REVIEW_EXPIRED' } });
    expect(await t.run(late)).toBe('refused');
    expect(t.runs).toHaveLength(0);
  });

  it('the legacy { approved } shape still approves and rejects', async () => {
    const t = setup();
    const pending = await t.gate.review(call);
    const no = await t.gate.resolveReview(pending, { approved: false, reason: 'not today', approver: 'bob' });
    expect(no).toMatchObject({ verdict: 'deny', source: 'human', reason: 'not today', decidedBy: 'human:bob' });
    const other = await t.gate.review({ ...call, callId: 'c2' });
    const yes = await t.gate.resolveReview(other, { approved: true, approver: 'alice' });
    expect(yes).toMatchObject({ verdict: 'allow', source: 'human', decidedBy: 'human:alice' });
    expect(await t.run(yes)).toBe('ran');
    expect(t.runs).toHaveLength(1);
  });

  it('an answer that is no human decision is INPUT_INVALID', async () => {
    const t = setup();
    const pending = await t.gate.review(call);
    for (const a of [{ type: 'maybe' }, { type: 'edit' }, {}, null]) {
      expect(await t.gate.resolveReview(pending, a as never)).toMatchObject({ verdict: 'deny', error: { code: 'INPUT_INVALID' } });
    }
  });
});

describe('resolveReview: approvals that need more than one person', () => {
  it('two distinct approvers are needed; the same one twice counts once', async () => {
    const reviewer = callbackReviewer(() => ({ verdict: 'review', decidedBy: 'policy', approvals: { required: 2 } }));
    const t = setup(reviewer);
    const pending = await t.gate.review(call);
    const first = await t.gate.resolveReview(pending, { type: 'approve', approver: 'alice' });
    expect(first).toMatchObject({ verdict: 'review', approvals: { required: 2, approvers: ['alice'] } });
    expect(await t.run(first)).toBe('refused');
    expect((await t.gate.resolveReview(first, { type: 'approve', approver: 'alice' })).verdict).toBe('review');
    const second = await t.gate.resolveReview(first, { type: 'approve', approver: 'bob' });
    expect(second).toMatchObject({ verdict: 'allow', source: 'human', approvals: { required: 2, approvers: ['alice', 'bob'] } });
    expect(await t.run(second)).toBe('ran');
    expect(t.runs).toHaveLength(1);
  });
});

describe('resolveReview: re-check at resume and expiry', () => {
  it('a policy that denies the call by the time it resumes wins over the approval (POLICY_CHANGED)', async () => {
    let verdict: 'review' | 'deny' = 'review';
    const t = setup(callbackReviewer(() => ({ verdict, decidedBy: 'policy', reason: verdict === 'deny' ? 'account frozen' : 'big' })));
    const pending = await t.gate.review(call);
    verdict = 'deny';
    const d = await t.gate.resolveReview(pending, { type: 'approve', approver: 'alice' });
    expect(d).toMatchObject({ verdict: 'deny', error: { code: 'POLICY_CHANGED' } });
    expect(d.reason).toContain('account frozen');
    expect(await t.run(d)).toBe('refused');
    expect(t.runs).toHaveLength(0);
    // The re-check is a dry run: the reviewer saw it as one, and only the review and the refusal are recorded.
    expect(t.audit.records.map((r) => r.kind)).toEqual(['review', 'human_decision']);
  });

  it('the re-check asks the reviewer as a dry run with the call as it was reviewed', async () => {
    const seen: { dryRun?: boolean; agent?: unknown; context?: unknown }[] = [];
    const t = setup(callbackReviewer((r) => {
      seen.push({ dryRun: r.dryRun, agent: r.agent, context: r.context });
      return { verdict: 'review' };
    }));
    const pending = await t.gate.review({ ...call, agent: 'bank-bot', context: { task: 'rent' } });
    expect(await t.run(await t.gate.resolveReview(pending, { type: 'approve' }))).toBe('ran');
    expect(seen).toEqual([
      { dryRun: undefined, agent: { id: 'bank-bot' }, context: { task: 'rent' } },
      { dryRun: true, agent: { id: 'bank-bot' }, context: { task: 'rent' } },
    ]);
  });

  it('a re-check the reviewer cannot answer fails closed', async () => {
    let down = false;
    const t = setup(callbackReviewer(() => {
      if (down) throw new Error('connection refused');
      return { verdict: 'review' };
    }));
    const pending = await t.gate.review(call);
    down = true;
    const d = await t.gate.resolveReview(pending, { type: 'approve' });
    expect(d).toMatchObject({ verdict: 'deny', error: { code: 'REVIEWER_FAILED' } });
    expect(await t.run(d)).toBe('refused');
  });

  it('a review carries expiresAt (reviewTimeoutMs from now); approving after it is REVIEW_EXPIRED', async () => {
    let clock = 1_000_000;
    const t = setup(bank(), { now: () => clock, reviewTimeoutMs: 60_000 });
    const pending = await t.gate.review(call);
    expect(pending.expiresAt).toBe(new Date(1_060_000).toISOString());
    clock = 1_060_001;
    const late = await t.gate.resolveReview(pending, { type: 'approve', approver: 'alice' });
    expect(late).toMatchObject({ verdict: 'deny', decidedBy: 'expiry', error: { code: 'REVIEW_EXPIRED' } });
    expect(await t.run(late)).toBe('refused');
    expect(t.runs).toHaveLength(0);
  });

  it('a copy of the Decision with a later expiresAt does not extend the deadline this gate set', async () => {
    let clock = 1_000_000;
    const t = setup(bank(), { now: () => clock, reviewTimeoutMs: 60_000 });
    const pending = await t.gate.review(call);
    clock = 1_060_001;
    const forged: Decision = { ...pending, expiresAt: new Date(9_999_999_999_999).toISOString() };
    const d = await t.gate.resolveReview(forged, { type: 'edit', args: { amount: 200, to: 'bob' } });
    expect(d.error?.code).toBe('REVIEW_EXPIRED');
    expect(await t.run(d)).toBe('refused');
    expect(t.runs).toHaveLength(0);
  });

  it("the reviewer's own deadline is the review's expiresAt", async () => {
    const t = setup(callbackReviewer(() => ({ verdict: 'review', expiresAt: '2030-01-01T00:00:00.000Z' })));
    expect((await t.gate.review(call)).expiresAt).toBe('2030-01-01T00:00:00.000Z');
  });
});
