import { beforeAll, describe, expect, it } from 'vitest';
import { memoryAudit } from '../audit/index';
import { callDigest } from '../digest/call-digest';
import { createProofSigner } from '../proof/create-proof-signer';
import { generateSigningKey } from '../proof/generate-signing-key';
import type { Decision, Reviewer, ReviewerVerdict, ToolCall } from '../types';
import { createGate } from './create-gate';
import type { GateOptions } from './gate-types';
import { runGoverned } from './governed';

// A reviewer whose human answers on the reviewer (onReview 'wait'): review() leaves the call
// pending, waitForDecision() returns whatever the test scripted for the call it was asked about.
function humanReviewer(answer: (asked: { digest: string; key: string; callId?: string }) => ReviewerVerdict | Promise<ReviewerVerdict>, first: 'pending' | 'decided' = 'pending'): Reviewer {
  let asked: { digest: string; key: string; callId?: string } | undefined;
  return {
    name: 'human',
    async review(request) {
      asked = { digest: request.digest, key: request.idempotencyKey, ...(request.call.callId ? { callId: request.call.callId } : {}) };
      return first === 'pending' ? { verdict: 'review', reviewId: 'rv_1' } : answer(asked);
    },
    async waitForDecision() {
      return answer(asked!);
    },
  };
}

function setup(reviewer: Reviewer, extra: Partial<GateOptions> = {}) {
  const audit = memoryAudit();
  const gate = createGate({ reviewer, highStakes: ['transfer'], audit, telemetry: false, onReview: 'wait', ...extra });
  const runs: unknown[] = [];
  const run = async (d: Decision): Promise<'ran' | 'refused'> => {
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
const editedArgs = { amount: 300, to: 'bob' };
const editedDigest = callDigest('transfer', editedArgs);

describe('onReview wait: a human answer given on the reviewer', () => {
  it('expired is REVIEW_EXPIRED, not a rejection, whatever the fail mode', async () => {
    const t = setup(humanReviewer(() => ({ verdict: 'deny', reason: 'expired', decidedBy: 'expiry', expired: true })), { failMode: 'open' });
    const d = await t.gate.review(call);
    expect(d).toMatchObject({ verdict: 'deny', decidedBy: 'expiry', reviewId: 'rv_1', error: { code: 'REVIEW_EXPIRED' } });
    expect(d.source).not.toBe('human');
    expect(d.reason).not.toMatch(/reject/i);
    expect(await t.run(d)).toBe('refused');
    expect(t.runs).toHaveLength(0);
  });

  it('an approval with edited arguments runs once, with exactly those arguments', async () => {
    const t = setup(humanReviewer(({ digest }) => ({
      verdict: 'allow',
      decidedBy: 'human:alice, bob',
      digest: editedDigest,
      edited: { args: editedArgs, digest: editedDigest, originalDigest: digest },
      approvals: { required: 2, approvers: ['alice', 'bob'] },
    })));
    const d = await t.gate.review(call);
    expect(d).toMatchObject({ verdict: 'allow', source: 'human', digest: editedDigest, approvals: { required: 2, approvers: ['alice', 'bob'] } });
    expect(d.edited).toEqual({ originalDigest: callDigest('transfer', call.args), digest: editedDigest, args: editedArgs });
    expect(d.args).toEqual(editedArgs);
    expect(await t.run(d)).toBe('ran');
    expect(await t.run(d)).toBe('refused');
    expect(t.runs).toEqual([editedArgs]);
    // The review record names the edited call (its digest and its arguments) and links the original.
    const rec = t.audit.records.find((r) => r.kind === 'review')!;
    expect(rec.call).toMatchObject({ digest: editedDigest, args: editedArgs });
    expect(rec.decision?.edited).toMatchObject({ originalDigest: callDigest('transfer', call.args) });
  });

  it('an edited answer that does not fit this call is a deny whatever the fail mode', async () => {
    const original = callDigest('transfer', call.args);
    const cases: ReviewerVerdict['edited'][] = [
      { args: editedArgs, digest: editedDigest, originalDigest: callDigest('transfer', { amount: 1 }) }, // for another call
      { args: { amount: 999999, to: 'eve' }, digest: editedDigest, originalDigest: original }, // args not what the digest covers
      { args: editedArgs, digest: callDigest('shell', editedArgs), originalDigest: original }, // another tool
      { args: JSON.stringify(editedArgs), digest: editedDigest, originalDigest: original }, // args as a string
    ];
    for (const edited of cases) {
      const t = setup(humanReviewer(() => ({ verdict: 'allow', decidedBy: 'human:alice', edited })), { failMode: 'open' });
      const d = await t.gate.review(call);
      expect(d).toMatchObject({ verdict: 'deny', error: { code: 'INPUT_INVALID' } });
      expect(await t.run(d)).toBe('refused');
      expect(t.runs).toHaveLength(0);
    }
    // An edited "deny" is nonsense too: only approvals carry edited arguments.
    const t = setup(humanReviewer(({ digest }) => ({ verdict: 'deny', edited: { args: editedArgs, digest: editedDigest, originalDigest: digest } })), { failMode: 'open' });
    expect((await t.gate.review(call)).error?.code).toBe('INPUT_INVALID');
  });

  it('a decided edited review found again on submit (re-execution, pause) is the same edited allow', async () => {
    const t = setup(humanReviewer(({ digest }) => ({ verdict: 'allow', decidedBy: 'human:alice', edited: { args: editedArgs, digest: editedDigest, originalDigest: digest } }), 'decided'), { onReview: 'pause' });
    const d = await t.gate.review(call);
    expect(d).toMatchObject({ verdict: 'allow', digest: editedDigest });
    expect(d.args).toEqual(editedArgs);
    expect(await t.run(d)).toBe('ran');
    expect(t.runs).toEqual([editedArgs]);
  });
});

describe('onReview wait: proofs of edited answers', () => {
  let keys: Awaited<ReturnType<typeof generateSigningKey>>;
  let signer: Awaited<ReturnType<typeof createProofSigner>>;
  beforeAll(async () => {
    keys = await generateSigningKey();
    signer = await createProofSigner({ privateJwk: keys.privateJwk, issuer: 'test', ttlSeconds: 600 });
  });

  const answer = (boundDigest: (original: string) => string) =>
    humanReviewer(async ({ digest, key, callId }) => ({
      verdict: 'allow',
      decidedBy: 'human:alice',
      reviewId: 'rv_1',
      digest: editedDigest,
      edited: { args: editedArgs, digest: editedDigest, originalDigest: digest },
      proof: await signer.sign({ reviewId: 'rv_1', tool: 'transfer', digest: boundDigest(digest), verdict: 'allow', decidedBy: 'human:alice', idempotencyKey: key, ...(callId ? { callId } : {}) }),
    }));

  it('a proof that binds the edited digest is accepted', async () => {
    const t = setup(answer(() => editedDigest), { trustedKeys: [keys.publicJwk] });
    const d = await t.gate.review(call);
    expect(d).toMatchObject({ verdict: 'allow', digest: editedDigest });
    expect(await t.run(d)).toBe('ran');
    expect(t.runs).toEqual([editedArgs]);
  });

  it('a proof for the original call cannot approve the edited arguments (PROOF_INVALID)', async () => {
    const t = setup(answer((original) => original), { trustedKeys: [keys.publicJwk], failMode: 'open' });
    const d = await t.gate.review(call);
    expect(d).toMatchObject({ verdict: 'deny', error: { code: 'PROOF_INVALID' } });
    expect(await t.run(d)).toBe('refused');
    expect(t.runs).toHaveLength(0);
  });

  it('requireProof: an edited approval without a proof is a deny', async () => {
    const t = setup(humanReviewer(({ digest }) => ({ verdict: 'allow', decidedBy: 'human:alice', edited: { args: editedArgs, digest: editedDigest, originalDigest: digest } })), { trustedKeys: [keys.publicJwk], failMode: 'open' });
    expect((await t.gate.review(call)).error?.code).toBe('PROOF_INVALID');
  });
});
