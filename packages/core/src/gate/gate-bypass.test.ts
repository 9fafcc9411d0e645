/**
 * Ways a high-stakes call could run without an allowing decision, each tried against the gate:
 * string arguments that dodge a predicate, input that makes the gate throw, an abort that lands
 * while the proof is checked or the decision is written, a reviewer that speaks nonsense, a human
 * answer handed in for another call, and outcome reports the gate did not issue.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryAudit, verifyAuditRecords } from '../audit/index';
import { callDigest } from '../digest/call-digest';
import { createProofSigner } from '../proof/create-proof-signer';
import { generateSigningKey } from '../proof/generate-signing-key';
import { callbackReviewer } from '../reviewers/callback-reviewer';
import { quorumReviewers } from '../reviewers/quorum-reviewers';
import { chainReviewers } from '../reviewers/chain-reviewers';
import type { AuditEntry, Decision, FailMode, Reviewer, ReviewerVerdict, ReviewRequest, ToolCall } from '../types';
import { createGate } from './create-gate';
import type { GateOptions } from './gate-types';
import { runGoverned } from './governed';

function setup(reviewer: Reviewer | ((r: ReviewRequest) => ReviewerVerdict | Promise<ReviewerVerdict>), extra: Partial<GateOptions> = {}) {
  const asked: ReviewRequest[] = [];
  const inner = typeof reviewer === 'function' ? callbackReviewer(reviewer) : reviewer;
  const counted: Reviewer = { ...inner, name: inner.name, review: (r, o) => (asked.push(r), inner.review(r, o)) };
  if (inner.waitForDecision) counted.waitForDecision = inner.waitForDecision.bind(inner);
  const audit = memoryAudit();
  const gate = createGate({ reviewer: counted, highStakes: ['transfer'], audit, telemetry: false, ...extra });
  let ran = 0;
  const body = () => {
    ran += 1;
  };
  /** Runs the tool body only when the gate allows: the side-effect counter. */
  const attempt = async (call: ToolCall, signal?: AbortSignal) => {
    const d = await gate.review(call, signal ? { signal } : undefined);
    if (d.verdict === 'allow' || d.verdict === 'allow_with_conditions') await runGoverned(gate, d, body, call.args);
    return d;
  };
  return { gate, audit, asked, attempt, ran: () => ran };
}

const modes: FailMode[] = ['closed', 'open'];

describe('conditional high-stakes rules see parsed arguments', () => {
  const spec = { highStakes: [{ tool: 'transfer', when: (a: unknown) => (a as { amount: number }).amount > 100 }] };

  it('a JSON string argument is parsed before the predicate runs: a big transfer is reviewed', async () => {
    const t = setup(() => ({ verdict: 'deny', reason: 'over the limit' }), spec);
    const d = await t.attempt({ tool: 'transfer', args: '{"amount":5000}', callId: 'c1' });
    expect(d).toMatchObject({ verdict: 'deny', source: 'reviewer' });
    expect(t.asked).toHaveLength(1);
    expect(t.asked[0]!.call.args).toEqual({ amount: 5000 });
    expect(t.ran()).toBe(0);
    expect(t.gate.isHighStakes('transfer', '{"amount":5000}')).toBe(true);
    expect(t.gate.isHighStakes('transfer', '{"amount":5}')).toBe(false);
  });

  it('a small transfer as a string passes, with the judged copy as its arguments', async () => {
    const t = setup(() => ({ verdict: 'deny' }), spec);
    const d = await t.attempt({ tool: 'transfer', args: '{"amount":5}' });
    expect(d).toMatchObject({ verdict: 'allow', source: 'not_high_stakes' });
    expect(d.args).toEqual({ amount: 5 });
    expect(t.asked).toHaveLength(0);
    expect(t.ran()).toBe(1);
  });

  it('arguments that do not parse, and a predicate that throws, make the call high-stakes (a deny)', async () => {
    for (const mode of modes) {
      const t = setup(() => ({ verdict: 'allow' }), { ...spec, failMode: mode });
      expect(await t.attempt({ tool: 'transfer', args: '{"amount": 5000' })).toMatchObject({ verdict: 'deny', error: { code: 'ARGS_NOT_JSON' } });
      expect(await t.attempt({ tool: 'transfer', args: { amount: 10n } })).toMatchObject({ verdict: 'deny', error: { code: 'ARGS_NOT_JSON' } });
      expect(t.gate.isHighStakes('transfer', '{"amount": 5000')).toBe(true);
      const throwing = setup(() => ({ verdict: 'deny' }), { highStakes: [{ tool: 'transfer', when: () => { throw new Error('boom'); } }], failMode: mode });
      expect(await throwing.attempt({ tool: 'transfer', args: '{"amount":1}' })).toMatchObject({ verdict: 'deny', source: 'reviewer' });
      expect(t.ran() + throwing.ran()).toBe(0);
    }
  });

  it('a getter cannot show the predicate a small amount and the body a big one', async () => {
    const t = setup(() => ({ verdict: 'deny' }), spec);
    let reads = 0;
    const args = {
      get amount() {
        reads += 1;
        return reads === 1 ? 5 : 5000;
      },
    };
    const d = await t.gate.review({ tool: 'transfer', args });
    expect(d.source).toBe('not_high_stakes');
    let moved = 0;
    await runGoverned(t.gate, d, (a) => void (moved = (a as { amount: number }).amount), args);
    expect(moved).toBe(5);
  });

  it('tools no predicate names never have their arguments read', async () => {
    const t = setup(() => ({ verdict: 'deny' }), { highStakes: ['transfer', { tool: 'pay', when: () => true }] });
    let reads = 0;
    const args = {
      toJSON() {
        reads += 1;
        return {};
      },
    };
    expect((await t.gate.review({ tool: 'search', args })).source).toBe('not_high_stakes');
    expect(t.gate.isHighStakes('search', args)).toBe(false);
    expect(reads).toBe(0);
  });
});

describe('bad input is an audited deny in every fail mode, never a throw', () => {
  const lone = '\uD800';
  const deep = (n: number): unknown => {
    let v: unknown = { id: 'a' };
    for (let i = 0; i < n; i++) v = { id: 'a', next: v };
    return v;
  };
  const cases: Array<[string, Partial<ToolCall>, string]> = [
    ['a lone surrogate in callId', { callId: `c${lone}` }, 'INPUT_INVALID'],
    ['a lone surrogate in runId', { runId: `r${lone}`, callId: 'c' }, 'INPUT_INVALID'],
    ['a lone surrogate in agent.id', { agent: { id: `bot${lone}` } }, 'INPUT_INVALID'],
    ['a lone surrogate in a string agent', { agent: `bot${lone}` }, 'INPUT_INVALID'],
    ['a lone surrogate deep in agent', { agent: { id: 'bot', meta: { note: lone } } }, 'INPUT_INVALID'],
    ['a lone surrogate in context', { context: { task: lone } }, 'INPUT_INVALID'],
    ['a BigInt in context (JSON.stringify would throw in an HTTP reviewer)', { context: { n: 1n } as never }, 'INPUT_INVALID'],
    ['an agent nested 65 levels deep', { agent: deep(65) as never }, 'INPUT_INVALID'],
    ['a context nested 20 000 levels deep', { context: deep(20_000) as never }, 'INPUT_INVALID'],
    ['a non-string callId', { callId: 42 as never }, 'INPUT_INVALID'],
    ['an agent without an id', { agent: { name: 'x' } as never }, 'INPUT_INVALID'],
    ['a lone surrogate in the arguments', { args: { note: lone } }, 'ARGS_NOT_JSON'],
    ['a lone surrogate in the tool name', { tool: `transfer${lone}` }, 'TOOL_NAME_INVALID'],
  ];
  for (const [name, patch, code] of cases) {
    for (const mode of modes) {
      it(`${name} → deny ${code} (${mode}), audited, reviewer never asked`, async () => {
        const t = setup(() => ({ verdict: 'allow' }), { failMode: mode, highStakes: [/^transfer/] });
        const call = { tool: 'transfer', args: { amount: 1 }, ...patch } as ToolCall;
        const d = await t.attempt(call);
        expect(d).toMatchObject({ verdict: 'deny', source: 'fail_closed', error: { code } });
        await expect(t.gate.enforce(call)).rejects.toMatchObject({ code: 'DENIED' });
        expect((await t.gate.canI(call)).verdict).toBe('deny');
        expect(t.ran()).toBe(0);
        expect(t.asked).toHaveLength(0);
        expect(t.audit.records).toHaveLength(2);
        expect(t.audit.records[0]!.decision?.error?.code).toBe(code);
        expect(verifyAuditRecords(t.audit.records).ok).toBe(true);
      });
    }
  }

  it('a call object whose getters throw is an audited deny, not a throw', async () => {
    const t = setup(() => ({ verdict: 'allow' }), { failMode: 'open' });
    const boom = () => {
      throw new Error('getter says no');
    };
    for (const field of ['agent', 'context', 'callId', 'args']) {
      const call = Object.defineProperty({ tool: 'transfer', args: {} }, field, { get: boom, enumerable: true });
      expect(await t.gate.review(call as ToolCall), field).toMatchObject({ verdict: 'deny', error: { code: field === 'args' ? 'ARGS_NOT_JSON' : 'INPUT_INVALID' } });
      await expect(t.gate.enforce(call as ToolCall)).rejects.toMatchObject({ code: 'DENIED' });
    }
    expect(t.asked).toHaveLength(0);
    expect(t.audit.records.every((r) => r.decision?.verdict === 'deny')).toBe(true);
  });

  it('a signal that is not an AbortSignal is a deny, not a throw', async () => {
    const t = setup(() => ({ verdict: 'allow' }), { failMode: 'open' });
    for (const signal of [{}, 'abort', { aborted: false }]) {
      expect(await t.gate.review({ tool: 'transfer', args: {} }, { signal } as never)).toMatchObject({ verdict: 'deny', error: { code: 'INPUT_INVALID' } });
    }
    expect(t.asked).toHaveLength(0);
  });

  it('a lone surrogate in the idempotency parts no longer throws URIError', async () => {
    const t = setup(() => ({ verdict: 'allow' }));
    await expect(t.gate.review({ tool: 'transfer', args: {}, callId: '\uDC00', runId: '\uD800' })).resolves.toMatchObject({ verdict: 'deny' });
  });

  it('the reviewer and the trail get copies of agent and context, read once', async () => {
    const t = setup(() => ({ verdict: 'allow' }));
    let reads = 0;
    const agent = {
      get id() {
        reads += 1;
        return reads === 1 ? 'bank-bot' : 'someone-else';
      },
    };
    await t.gate.review({ tool: 'transfer', args: {}, agent: agent as never, callId: 'c' });
    expect(t.asked[0]!.agent).toEqual({ id: 'bank-bot' });
    expect(t.audit.records[0]!.call.agentId).toBe('bank-bot');
  });
});

describe('an abort after the reviewer answered still cancels', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r) ?? r(undefined));
    server = undefined;
  });

  it('an abort that arrives while the proof is verified is a REVIEWER_ABORTED deny (failMode open), audited as such', async () => {
    const key = await generateSigningKey();
    const signer = await createProofSigner({ privateJwk: key.privateJwk, kid: key.kid, issuer: 'test' });
    // The JWKS is held until the reviewer has answered: proof verification waits on it.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    server = createServer((_req, res) => {
      void held.then(() => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: [key.publicJwk] }));
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
    const ac = new AbortController();
    const t = setup(
      async (r) => {
        const proof = await signer.sign({ reviewId: 'rv_1', tool: r.call.tool, digest: r.digest, callId: r.call.callId, verdict: 'allow', decidedBy: 'policy', idempotencyKey: r.idempotencyKey });
        setTimeout(() => {
          ac.abort(new Error('user cancelled'));
          release();
        }, 20);
        return { verdict: 'allow', reviewId: 'rv_1', decidedBy: 'policy', proof };
      },
      { failMode: 'open', jwksUrl },
    );
    const d = await t.attempt({ tool: 'transfer', args: { amount: 5 }, callId: 'c1' }, ac.signal);
    expect(d).toMatchObject({ verdict: 'deny', source: 'fail_closed', error: { code: 'REVIEWER_ABORTED' } });
    expect(t.ran()).toBe(0);
    expect(t.audit.records.map((r) => r.decision?.error?.code)).toEqual(['REVIEWER_ABORTED']);
  });

  it('an abort that arrives while the allow is being written is a deny, and the trail records it', async () => {
    const ac = new AbortController();
    const records: AuditEntry[] = [];
    const gate = createGate({
      reviewer: callbackReviewer(() => ({ verdict: 'allow', decidedBy: 'policy' })),
      highStakes: ['transfer'],
      failMode: 'open',
      telemetry: false,
      audit: {
        append: async (e) => {
          records.push(e);
          if (records.length === 1) ac.abort(new Error('user cancelled'));
          return { ...e, seq: records.length, prevHash: '', hash: '' };
        },
      },
    });
    const d = await gate.review({ tool: 'transfer', args: {}, callId: 'c' }, { signal: ac.signal });
    expect(d).toMatchObject({ verdict: 'deny', error: { code: 'REVIEWER_ABORTED' } });
    expect(records.map((r) => r.decision?.verdict)).toEqual(['allow', 'deny']);
  });

  it('an already aborted signal is a deny even when the circuit is open under failMode open, or the Decision is cached', async () => {
    const t = setup(() => { throw new Error('down'); }, { failMode: 'open', circuitBreaker: { failureThreshold: 1, cooldownMs: 60_000 } });
    await t.gate.review({ tool: 'transfer', args: { n: 1 }, callId: 'prime' });
    const ac = new AbortController();
    ac.abort();
    expect(await t.attempt({ tool: 'transfer', args: {}, callId: 'x' }, ac.signal)).toMatchObject({ verdict: 'deny', error: { code: 'REVIEWER_ABORTED' } });
    const ok = setup(() => ({ verdict: 'allow' }));
    await ok.gate.review({ tool: 'transfer', args: {}, callId: 'same' });
    expect(await ok.attempt({ tool: 'transfer', args: {}, callId: 'same' }, ac.signal)).toMatchObject({ verdict: 'deny', error: { code: 'REVIEWER_ABORTED' } });
    expect(t.ran() + ok.ran()).toBe(0);
  });
});

describe('a reachable reviewer that speaks nonsense is a deny in every fail mode', () => {
  for (const mode of modes) {
    it(`in a quorum and in a chain (${mode})`, async () => {
      const nonsense = callbackReviewer(() => ({ verdict: 'DENY' }) as never, { name: 'nonsense' });
      const yes = callbackReviewer(() => ({ verdict: 'allow' }), { name: 'yes' });
      const q = setup(quorumReviewers([nonsense, yes, yes], { required: 2 }), { failMode: mode });
      expect(await q.attempt({ tool: 'transfer', args: {} })).toMatchObject({ verdict: 'deny' });
      const c = setup(chainReviewers([callbackReviewer(() => null as never), yes]), { failMode: mode });
      expect(await c.attempt({ tool: 'transfer', args: {} })).toMatchObject({ verdict: 'deny', error: { code: 'VERDICT_INVALID' } });
      expect(q.ran() + c.ran()).toBe(0);
    });
  }

  it('a verdict with fields of the wrong type does not make the gate throw', async () => {
    const t = setup(() => ({ verdict: 'deny', decidedBy: 42, reason: { x: 1 }, reviewId: 7, proof: false, conditions: [{ a: 1 }] }) as never, { failMode: 'open' });
    const d = await t.attempt({ tool: 'transfer', args: {} });
    expect(d).toMatchObject({ verdict: 'deny', source: 'reviewer', reason: 'deny', conditions: ['{"a":1}'] });
    expect(t.ran()).toBe(0);
  });

  it('a decision received while waiting for a human, for another review or another call, is a deny', async () => {
    const digestOfOther = callDigest('transfer', { amount: 99_999 });
    for (const answer of [{ verdict: 'allow', reviewId: 'rv_other' }, { verdict: 'allow', reviewId: 'rv_1', digest: digestOfOther }] as ReviewerVerdict[]) {
      const reviewer: Reviewer = {
        name: 'human',
        review: async () => ({ verdict: 'review', reviewId: 'rv_1' }),
        waitForDecision: async () => answer,
      };
      const t = setup(reviewer, { onReview: 'wait', failMode: 'open' });
      expect(await t.attempt({ tool: 'transfer', args: { amount: 1 } })).toMatchObject({ verdict: 'deny', error: { code: 'VERDICT_INVALID' } });
      expect(t.ran()).toBe(0);
    }
  });
});

describe('one review authorises one execution, also through runGoverned', () => {
  it('running the same allowing Decision twice (at once, or replayed later) runs the body once', async () => {
    const t = setup(() => ({ verdict: 'allow' }));
    const d = await t.gate.review({ tool: 'transfer', args: { amount: 1 }, callId: 'c1' });
    let ran = 0;
    const body = async () => {
      ran += 1;
      await new Promise((r) => setTimeout(r, 5));
    };
    const both = await Promise.allSettled([runGoverned(t.gate, d, body), runGoverned(t.gate, d, body)]);
    expect(both.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    await expect(runGoverned(t.gate, d, body)).rejects.toMatchObject({ code: 'DENIED', decision: { error: { code: 'ALREADY_EXECUTED' } } });
    expect(ran).toBe(1);
  });

  it('two human approvals of one pending review run the body once', async () => {
    const t = setup(() => ({ verdict: 'review', reviewId: 'rv_1' }));
    const pending = await t.gate.review({ tool: 'transfer', args: { amount: 1 }, callId: 'c1' });
    const [a, b] = await Promise.all([t.gate.resolveReview(pending, { approved: true }), t.gate.resolveReview(pending, { approved: true })]);
    let ran = 0;
    for (const d of [a, b]) await runGoverned(t.gate, d, () => void (ran += 1)).catch(() => {});
    expect(ran).toBe(1);
  });
});

describe('a closed gate', () => {
  it('denies high-stakes calls (GATE_CLOSED) instead of failing open on its closed reviewer', async () => {
    const t = setup(() => ({ verdict: 'allow' }), { failMode: 'open' });
    await t.gate.close();
    expect(await t.attempt({ tool: 'transfer', args: {} })).toMatchObject({ verdict: 'deny', error: { code: 'GATE_CLOSED' } });
    expect((await t.gate.review({ tool: 'search', args: {} })).source).toBe('not_high_stakes');
    const judged = setup(() => ({ verdict: 'allow' }), { highStakes: [{ tool: 'transfer', when: (a) => (a as { amount: number }).amount > 100 }] });
    await judged.gate.close();
    expect((await judged.gate.review({ tool: 'transfer', args: '{"amount":5}' })).source).toBe('not_high_stakes');
    expect((await judged.gate.review({ tool: 'transfer', args: '{"amount":500}' })).error?.code).toBe('GATE_CLOSED');
    expect(t.asked).toHaveLength(0);
    expect(t.ran()).toBe(0);
  });
});

describe('resolveReview and reportOutcome take nothing on trust', () => {
  const pendingGate = () => setup(() => ({ verdict: 'review', reviewId: 'rv_9' }));

  it('a human answer for another call (digest edited) is a deny; the approved Decision carries the reviewed args', async () => {
    const t = pendingGate();
    const pending = await t.gate.review({ tool: 'transfer', args: { amount: 9 }, callId: 'c9' });
    const forged: Decision = { ...pending, digest: callDigest('transfer', { amount: 99_999 }) };
    expect(await t.gate.resolveReview(forged, { approved: true })).toMatchObject({ verdict: 'deny', error: { code: 'INPUT_INVALID' } });
    const approved = await t.gate.resolveReview({ ...pending }, { approved: true, approver: 'alice' });
    expect(approved).toMatchObject({ verdict: 'allow', source: 'human' });
    expect(approved.args).toEqual({ amount: 9 });
  });

  it('Decisions that are not pending reviews, and garbage, are audited denies, never throws', async () => {
    const t = setup(() => ({ verdict: 'allow' }));
    const allowed = await t.gate.review({ tool: 'transfer', args: {}, callId: 'c' });
    for (const d of [allowed, { ...allowed, verdict: 'deny' }, null, { verdict: 'review', tool: 'transfer' }, { verdict: 'review', tool: 'x\uD800', digest: allowed.digest }]) {
      expect(await t.gate.resolveReview(d as Decision, { approved: true })).toMatchObject({ verdict: 'deny', source: 'fail_closed', error: { code: 'INPUT_INVALID' } });
    }
    expect(t.audit.records.filter((r) => r.kind === 'human_decision')).toHaveLength(5);
  });

  it('a canI (dry run) review cannot be approved into an allow for the real call', async () => {
    const t = pendingGate();
    const call = { tool: 'transfer', args: { amount: 9 }, callId: 'c9' };
    const dry = await t.gate.canI(call);
    expect(dry).toMatchObject({ verdict: 'review', dryRun: true });
    expect(await t.gate.resolveReview(dry, { approved: true })).toMatchObject({ verdict: 'deny', error: { code: 'INPUT_INVALID' } });
    expect(await t.attempt(call)).toMatchObject({ verdict: 'review' });
    expect(t.asked.map((r) => r.dryRun ?? false)).toEqual([true, false]);
    expect(t.ran()).toBe(0);
  });

  it("a human's no is final: a later approval of the same pending review is a deny", async () => {
    const t = pendingGate();
    const pending = await t.gate.review({ tool: 'transfer', args: { amount: 9 }, callId: 'c9' });
    expect((await t.gate.resolveReview(pending, { approved: false, approver: 'bob' })).verdict).toBe('deny');
    const replayed = await t.gate.resolveReview(pending, { approved: true, approver: 'mallory' });
    expect(replayed).toMatchObject({ verdict: 'deny', error: { code: 'REVIEW_ALREADY_DECIDED' } });
    expect(await t.attempt({ tool: 'transfer', args: { amount: 9 }, callId: 'c9' })).toMatchObject({ verdict: 'deny', source: 'human' });
    expect(t.ran()).toBe(0);
  });

  it('a Decision or answer whose getters throw is an audited deny from resolveReview, not a throw', async () => {
    const t = pendingGate();
    const pending = await t.gate.review({ tool: 'transfer', args: {}, callId: 'c' });
    const boom = { get: () => { throw new Error('no'); }, enumerable: true };
    const badDecision = Object.defineProperty({ ...pending }, 'digest', boom);
    const badAnswer = Object.defineProperty({}, 'approved', boom);
    for (const [d, a] of [[badDecision, { approved: true }], [pending, badAnswer]] as const) {
      expect(await t.gate.resolveReview(d as Decision, a as never)).toMatchObject({ verdict: 'deny', error: { code: 'INPUT_INVALID' } });
    }
    await expect(t.gate.reportOutcome(badDecision as Decision, { status: 'success' })).resolves.toBeUndefined();
  });

  it('only approved === true approves', async () => {
    const t = pendingGate();
    const pending = await t.gate.review({ tool: 'transfer', args: {}, callId: 'c' });
    for (const approved of ['false', 1, 'yes', {}]) {
      expect((await t.gate.resolveReview(pending, { approved } as never)).verdict).toBe('deny');
    }
  });

  it('reportOutcome never throws, and records the Decision this gate issued, not an edited copy', async () => {
    const t = setup(() => ({ verdict: 'deny', reason: 'no' }));
    const d = await t.gate.review({ tool: 'transfer', args: {}, callId: 'c' });
    await expect(t.gate.reportOutcome(null as never, { status: 'success' })).resolves.toBeUndefined();
    await expect(t.gate.reportOutcome(d, null as never)).resolves.toBeUndefined();
    await t.gate.reportOutcome({ ...d, verdict: 'allow', source: 'human', reason: 'approved' }, { status: 'success' });
    const outcome = t.audit.records.filter((r) => r.kind === 'outcome').at(-1)!;
    expect(outcome.decision).toMatchObject({ verdict: 'deny', reason: 'no' });
  });
});
