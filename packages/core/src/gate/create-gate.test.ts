import { describe, expect, it } from 'vitest';
import { GovernanceDeniedError } from '../errors';
import { memoryAudit } from '../audit/index';
import { callbackReviewer } from '../reviewers/callback-reviewer';
import { parsePolicy } from '../policy/parse-policy';
import { policyReviewer } from '../policy/policy-reviewer';
import type { AuditEntry, Reviewer, ReviewerVerdict, ReviewRequest } from '../types';
import { createGate } from './create-gate';
import type { GateOptions } from './gate-types';

function counting(fn: (r: ReviewRequest) => ReviewerVerdict | Promise<ReviewerVerdict>) {
  const seen: ReviewRequest[] = [];
  const reviewer = callbackReviewer((r) => {
    seen.push(r);
    return fn(r);
  });
  return { reviewer, seen };
}

const hang: Reviewer = { name: 'hang', review: () => new Promise(() => {}) };
const boom: Reviewer = { name: 'boom', review: async () => { throw new Error('connection refused'); } };

function gateWith(reviewer: Reviewer, extra: Partial<GateOptions> = {}) {
  const audit = memoryAudit();
  const gate = createGate({ reviewer, highStakes: ['transfer', 'shell', 'db.*'], audit, telemetry: false, ...extra });
  return { gate, audit };
}

describe('createGate: passthrough', () => {
  it('passes tools that are not high-stakes without asking the reviewer or writing audit', async () => {
    const { reviewer, seen } = counting(() => ({ verdict: 'deny' }));
    const { gate, audit } = gateWith(reviewer);
    const d = await gate.review({ tool: 'search', args: { q: 'x' } });
    expect(d).toMatchObject({ verdict: 'allow', source: 'not_high_stakes' });
    expect(seen).toHaveLength(0);
    expect(audit.records).toHaveLength(0);
  });
});

describe('createGate: verdicts', () => {
  it('maps reviewer verdicts to Decisions with digest, evaluated and an audit record', async () => {
    const evaluated = [{ rule: 'big', field: 'args.amount', op: 'gt', expected: 100, actual: 500, passed: true }];
    const { reviewer, seen } = counting(() => ({ verdict: 'deny', reason: 'too big', evaluated, decidedBy: 'policy' }));
    const { gate, audit } = gateWith(reviewer);
    const d = await gate.review({ tool: 'transfer', args: '{"amount":500}', callId: 'c1', agent: 'bank-bot' });
    expect(d).toMatchObject({ verdict: 'deny', source: 'policy', reason: 'too big', evaluated, tool: 'transfer', callId: 'c1' });
    expect(d.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(seen[0]!.call.args).toEqual({ amount: 500 });
    expect(seen[0]!.agent).toEqual({ id: 'bank-bot' });
    expect(audit.records).toHaveLength(1);
    expect(audit.records[0]).toMatchObject({ id: d.auditId, kind: 'review', call: { tool: 'transfer', digest: d.digest, agentId: 'bank-bot' } });
  });

  it('the reviewer gets the same agent copy from a flat agent object as from its canonical JSON (keys sorted, -0 as 0, undefined left out, each getter read once)', async () => {
    const { reviewer, seen } = counting(() => ({ verdict: 'allow' }));
    const { gate } = gateWith(reviewer);
    let reads = 0;
    const agent = {
      name: 'Bank bot',
      id: 'bot',
      get tier(): number {
        reads++;
        return -0;
      },
      skip: undefined,
      ok: true,
      none: null,
    };
    await gate.review({ tool: 'transfer', args: {}, agent });
    expect(reads).toBe(1);
    expect(JSON.stringify(seen[0]!.agent)).toBe('{"id":"bot","name":"Bank bot","none":null,"ok":true,"tier":0}');
    expect(Object.is((seen[0]!.agent as unknown as { tier: number }).tier, 0)).toBe(true);
    // Not flat: the canonical copy, as before (nested values, a toJSON, a "__proto__" key, a class instance).
    const nested = { id: 'bot', z: { b: 1, a: [2] } };
    await gate.review({ tool: 'transfer', args: {}, agent: nested });
    expect(JSON.stringify(seen[1]!.agent)).toBe('{"id":"bot","z":{"a":[2],"b":1}}');
    const proto = JSON.parse('{"id":"bot","__proto__":{"x":1}}') as { id: string };
    await gate.review({ tool: 'transfer', args: {}, agent: proto });
    expect(Object.keys(seen[2]!.agent!)).toEqual(['__proto__', 'id']);
    expect(Object.getPrototypeOf(seen[2]!.agent)).toBe(Object.prototype);
    const bad = await gate.review({ tool: 'transfer', args: {}, agent: { id: 'bot', n: Number.NaN } });
    expect(bad).toMatchObject({ verdict: 'deny', error: { code: 'INPUT_INVALID' } });
  });

  it("an audit record holds the Decision as it was decided: no auditId, untouched by later changes to the caller's Decision, and a sink that keeps entries gets a copy", async () => {
    const { gate, audit } = gateWith(callbackReviewer(() => ({ verdict: 'allow', reason: 'ok' })));
    const d = await gate.review({ tool: 'transfer', args: { amount: 1 }, callId: 'k1' });
    expect(d.auditId).toBeDefined();
    d.reason = 'changed later';
    expect(audit.records[0]!.decision).not.toHaveProperty('auditId');
    expect(audit.records[0]!.decision!.reason).toBe('ok');
    expect(audit.verify()).toMatchObject({ ok: true });
    const kept: AuditEntry[] = [];
    const keeping = { append: async (e: AuditEntry) => { kept.push(e); return {} as never; } };
    const g2 = createGate({ reviewer: callbackReviewer(() => ({ verdict: 'allow', reason: 'ok' })), highStakes: ['transfer'], audit: keeping, telemetry: false });
    const d2 = await g2.review({ tool: 'transfer', args: { amount: 1 }, callId: 'k2' });
    expect(kept[0]!.decision).not.toBe(d2);
    d2.reason = 'changed later';
    expect(kept[0]!.decision!.reason).toBe('ok');
    expect(kept[0]!.decision).not.toHaveProperty('auditId');
  });

  it('the record holds the canonical arguments whether the reviewer shares its parsed copy (policy) or changes its own (any other)', async () => {
    const policy = policyReviewer(parsePolicy({ version: 1, default: 'deny', rules: [{ id: 'ok', tools: ['transfer'], verdict: 'allow' }] }));
    const a = gateWith(policy);
    await a.gate.review({ tool: 'transfer', args: { b: 1, a: { api_key: 'sk-live-1234567890', n: [1] } } });
    expect(JSON.stringify(a.audit.records[0]!.call.args)).toBe('{"a":{"api_key":"[REDACTED]","n":[1]},"b":1}');
    const mutating = callbackReviewer((r) => {
      (r.call.args as { b: number }).b = 999;
      return { verdict: 'allow' };
    });
    const b = gateWith(mutating);
    await b.gate.review({ tool: 'transfer', args: { b: 1 } });
    expect(b.audit.records[0]!.call.args).toEqual({ b: 1 });
  });

  it('a policy reviewer answers within its call: no deadline timer is needed, and a cancelled call is still denied', async () => {
    const policy = policyReviewer(parsePolicy({ version: 1, default: 'deny', rules: [{ id: 'ok', tools: ['transfer'], verdict: 'allow' }] }));
    const { gate } = gateWith(policy, { timeoutMs: 1 });
    await expect(gate.review({ tool: 'transfer', args: {} })).resolves.toMatchObject({ verdict: 'allow', source: 'policy' });
    const cancelled = new AbortController();
    cancelled.abort('stop');
    await expect(gate.review({ tool: 'transfer', args: {} }, { signal: cancelled.signal })).resolves.toMatchObject({ verdict: 'deny', error: { code: 'REVIEWER_ABORTED' } });
  });

  it('enforce throws GovernanceDeniedError carrying the Decision unless the call may run', async () => {
    const { gate } = gateWith(callbackReviewer(({ call }) => ({ verdict: (call.args as { amount: number }).amount > 100 ? 'deny' : 'allow_with_conditions', conditions: ['notify'] })));
    await expect(gate.enforce({ tool: 'transfer', args: { amount: 5 } })).resolves.toMatchObject({ verdict: 'allow_with_conditions', conditions: ['notify'] });
    const err = await gate.enforce({ tool: 'transfer', args: { amount: 500 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GovernanceDeniedError);
    expect((err as GovernanceDeniedError).code).toBe('DENIED');
    expect((err as GovernanceDeniedError).decision.verdict).toBe('deny');
  });

  it('a reviewer that abstains (no rule matched, no default) is a deny', async () => {
    const { gate } = gateWith(callbackReviewer(() => ({ verdict: 'allow', abstain: true })));
    expect(await gate.review({ tool: 'shell', args: {} })).toMatchObject({ verdict: 'deny' });
  });
});

describe('createGate: fail modes', () => {
  it('fails closed by default, records the error, and never throws', async () => {
    const { gate, audit } = gateWith(boom);
    const d = await gate.review({ tool: 'transfer', args: {} });
    expect(d).toMatchObject({ verdict: 'deny', source: 'fail_closed', error: { code: 'REVIEWER_FAILED' } });
    expect(audit.records[0]?.decision).toMatchObject({ source: 'fail_closed' });
  });

  it('fails open when asked, globally or per tool, and records source fail_open', async () => {
    const open = gateWith(boom, { failMode: 'open' });
    expect(await open.gate.review({ tool: 'transfer', args: {} })).toMatchObject({ verdict: 'allow', source: 'fail_open', error: { code: 'REVIEWER_FAILED' } });
    const perTool = gateWith(boom, { failMode: { default: 'closed', tools: { shell: 'open' } } });
    expect((await perTool.gate.review({ tool: 'shell', args: {} })).source).toBe('fail_open');
    expect((await perTool.gate.review({ tool: 'transfer', args: {} })).source).toBe('fail_closed');
  });

  it('a hanging reviewer is cut off at the deadline with REVIEWER_TIMEOUT', async () => {
    const { gate } = gateWith(hang, { timeoutMs: 50 });
    expect(await gate.review({ tool: 'transfer', args: {} })).toMatchObject({ source: 'fail_closed', error: { code: 'REVIEWER_TIMEOUT' } });
  });

  it("the framework's AbortSignal cancels the review: a deny (REVIEWER_ABORTED) even with failMode open", async () => {
    const { gate } = gateWith(hang, { failMode: 'open' });
    const ac = new AbortController();
    const p = gate.review({ tool: 'transfer', args: {} }, { signal: ac.signal });
    ac.abort();
    expect(await p).toMatchObject({ verdict: 'deny', source: 'fail_closed', error: { code: 'REVIEWER_ABORTED' } });
  });

  it('a reviewer that answers with no valid verdict is a deny, even with failMode open', async () => {
    for (const answer of [{ verdict: 'yes please' }, { verdict: 'DENY' }, { verdict: 'Allow' }, {}, null, undefined, 'allow']) {
      const { gate, audit } = gateWith(callbackReviewer(() => answer as never), { failMode: 'open' });
      const d = await gate.review({ tool: 'transfer', args: {} });
      expect(d, JSON.stringify(answer)).toMatchObject({ verdict: 'deny', source: 'fail_closed', error: { code: 'VERDICT_INVALID' } });
      expect(audit.records[0]?.decision).toMatchObject({ verdict: 'deny', error: { code: 'VERDICT_INVALID' } });
    }
  });

  it('opens the circuit after N failures and then decides at once without calling the reviewer', async () => {
    let calls = 0;
    const reviewer: Reviewer = { name: 'down', review: async () => { calls += 1; throw new Error('down'); } };
    const { gate } = gateWith(reviewer, { circuitBreaker: { failureThreshold: 3, cooldownMs: 60_000 } });
    for (let i = 0; i < 3; i++) await gate.review({ tool: 'transfer', args: { i } });
    const d = await gate.review({ tool: 'transfer', args: { i: 99 } });
    expect(calls).toBe(3);
    expect(d).toMatchObject({ verdict: 'deny', error: { code: 'CIRCUIT_OPEN' } });
  });
});

describe('createGate: bad input is a deny in every fail mode', () => {
  it('non-JSON argument strings, unserialisable values and oversize args', async () => {
    const { reviewer, seen } = counting(() => ({ verdict: 'allow' }));
    const { gate, audit } = gateWith(reviewer, { failMode: 'open', maxArgsBytes: 1000 });
    const cyclic: Record<string, unknown> = {};
    cyclic.me = cyclic;
    expect(await gate.review({ tool: 'transfer', args: '{not json' })).toMatchObject({ verdict: 'deny', error: { code: 'ARGS_NOT_JSON' } });
    expect(await gate.review({ tool: 'transfer', args: cyclic })).toMatchObject({ verdict: 'deny', error: { code: 'ARGS_NOT_JSON' } });
    expect(await gate.review({ tool: 'transfer', args: { big: 'x'.repeat(2000) } })).toMatchObject({ verdict: 'deny', error: { code: 'ARGS_TOO_LARGE' } });
    expect(seen).toHaveLength(0);
    expect(audit.records).toHaveLength(3);
  });

  it('a call without a tool name is a typed, audited deny', async () => {
    const { reviewer, seen } = counting(() => ({ verdict: 'allow' }));
    const { gate, audit } = gateWith(reviewer, { failMode: 'open', highStakes: { all: true } });
    for (const call of [{ tool: '', args: {} }, { tool: 42, args: {} }, null, undefined]) {
      expect(await gate.review(call as never)).toMatchObject({ verdict: 'deny', error: { code: 'TOOL_NAME_INVALID' } });
    }
    await expect(gate.enforce({ tool: '', args: {} })).rejects.toMatchObject({ code: 'DENIED' });
    expect(seen).toHaveLength(0);
    expect(audit.records).toHaveLength(5);
  });
});

describe('createGate: idempotency and exactly-once', () => {
  it('reviews a call id once, whatever the framework re-executes, and refuses a second execution', async () => {
    const { reviewer, seen } = counting(() => ({ verdict: 'allow', reviewId: 'rv_1' }));
    const { gate } = gateWith(reviewer);
    const call = { tool: 'transfer', args: { amount: 1 }, callId: 'call_1', runId: 'run_1' };
    const first = await gate.review(call);
    const second = await gate.review(call);
    expect(seen).toHaveLength(1);
    expect(second.verdict).toBe('allow');
    expect(second.idempotencyKey).toBe(first.idempotencyKey);
    await gate.reportOutcome(first, { status: 'success', durationMs: 3 });
    expect(await gate.review(call)).toMatchObject({ verdict: 'deny', error: { code: 'ALREADY_EXECUTED' } });
  });

  it('keys differ for other args under the same call id, and for calls without ids', async () => {
    const { reviewer, seen } = counting(() => ({ verdict: 'allow' }));
    const { gate } = gateWith(reviewer);
    await gate.review({ tool: 'transfer', args: { amount: 1 }, callId: 'c' });
    await gate.review({ tool: 'transfer', args: { amount: 2 }, callId: 'c' });
    await gate.review({ tool: 'transfer', args: { amount: 1 } });
    await gate.review({ tool: 'transfer', args: { amount: 1 } });
    expect(new Set(seen.map((r) => r.idempotencyKey)).size).toBe(4);
  });

  it('does not cache failures: the next call asks again', async () => {
    let fail = true;
    const { gate } = gateWith(callbackReviewer(() => { if (fail) throw new Error('x'); return { verdict: 'allow' }; }));
    const call = { tool: 'transfer', args: {}, callId: 'c' };
    expect((await gate.review(call)).source).toBe('fail_closed');
    fail = false;
    expect((await gate.review(call)).verdict).toBe('allow');
  });
});

describe('createGate: review verdicts', () => {
  it('pause hands the review back; resolveReview records the human answer', async () => {
    const { gate, audit } = gateWith(callbackReviewer(() => ({ verdict: 'review', reason: 'big', reviewId: 'rv_9' })));
    const pending = await gate.review({ tool: 'transfer', args: { amount: 9 }, callId: 'c9' });
    expect(pending).toMatchObject({ verdict: 'review', reviewId: 'rv_9' });
    const approved = await gate.resolveReview(pending, { approved: true, approver: 'alice' });
    expect(approved).toMatchObject({ verdict: 'allow', source: 'human', decidedBy: 'human:alice' });
    expect(audit.records.map((r) => r.kind)).toEqual(['review', 'human_decision']);
    const rejected = await gate.resolveReview(pending, { approved: false, reason: 'no' });
    expect(rejected).toMatchObject({ verdict: 'deny', source: 'human', reason: 'no' });
    expect(await gate.resolveReview(approved, { approved: true })).toMatchObject({ verdict: 'deny', error: { code: 'INPUT_INVALID' } });
  });

  it('onReview deny turns a review into a deny', async () => {
    const { gate } = gateWith(callbackReviewer(() => ({ verdict: 'review' })), { onReview: 'deny' });
    expect((await gate.review({ tool: 'transfer', args: {} })).verdict).toBe('deny');
  });

  it('onReview wait holds the call until the reviewer has a human decision', async () => {
    let decide: (v: ReviewerVerdict) => void = () => {};
    const reviewer: Reviewer = {
      name: 'human',
      review: async () => ({ verdict: 'review', reviewId: 'rv_w' }),
      waitForDecision: () => new Promise((r) => { decide = r; }),
    };
    const { gate } = gateWith(reviewer, { onReview: 'wait' });
    const p = gate.review({ tool: 'transfer', args: {} });
    await new Promise((r) => setTimeout(r, 10));
    decide({ verdict: 'allow', decidedBy: 'human:bob', reviewId: 'rv_w' });
    expect(await p).toMatchObject({ verdict: 'allow', source: 'human', reviewId: 'rv_w' });
  });

  it('onReview wait: no human decision in time is a deny, even with failMode open', async () => {
    const reviewer: Reviewer = { name: 'slow-human', review: async () => ({ verdict: 'review', reviewId: 'rv_t' }), waitForDecision: () => new Promise(() => {}) };
    const { gate } = gateWith(reviewer, { onReview: 'wait', reviewTimeoutMs: 30, failMode: 'open' });
    expect(await gate.review({ tool: 'transfer', args: {} })).toMatchObject({ verdict: 'deny', error: { code: 'REVIEW_TIMEOUT' } });
  });
});

describe('createGate: canI and audit failures', () => {
  it('canI is a dry run: no audit record, dryRun flag to the reviewer, no wait for humans', async () => {
    const { reviewer, seen } = counting(() => ({ verdict: 'review' }));
    const { gate, audit } = gateWith(reviewer, { onReview: 'wait' });
    expect((await gate.canI({ tool: 'transfer', args: {} })).verdict).toBe('review');
    expect(seen[0]!.dryRun).toBe(true);
    expect(audit.records).toHaveLength(0);
  });

  it('an allow that cannot be audited becomes a deny', async () => {
    const gate = createGate({
      reviewer: callbackReviewer(() => ({ verdict: 'allow' })),
      highStakes: ['transfer'],
      audit: { append: () => { throw new Error('disk full'); } },
      telemetry: false,
    });
    expect(await gate.review({ tool: 'transfer', args: {} })).toMatchObject({ verdict: 'deny', source: 'fail_closed', error: { code: 'AUDIT_WRITE_FAILED' } });
  });

  it('redacts secrets in audited args', async () => {
    const { gate, audit } = gateWith(callbackReviewer(() => ({ verdict: 'allow' })));
    await gate.review({ tool: 'shell', args: { cmd: 'ls', password: 'hunter2', apiKey: 'sk-123' } });
    const text = JSON.stringify(audit.records);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('sk-123');
  });
});

describe('createGate: options', () => {
  it('validates once with messages that say what to do', () => {
    expect(() => createGate({ highStakes: [] } as never)).toThrow(/reviewer: must be a Reviewer/);
    expect(() => createGate({ reviewer: boom, highStakes: ['x'], failMode: 'maybe' as never })).toThrow(/failMode/);
    expect(() => createGate({ reviewer: boom, highStakes: ['x'], requireProof: true })).toThrow(/trustedKeys or jwksUrl/);
  });
});

describe('createGate: redaction options', () => {
  it("applies the gate's redact paths and keys to args, evaluated checks and outcome messages", async () => {
    const evaluated = [{ rule: 'r', field: 'args.card.number', op: 'exists', expected: true, actual: '4111111111111111', passed: true }];
    const { gate, audit } = gateWith(callbackReviewer(() => ({ verdict: 'allow', evaluated })), {
      redact: { paths: ['args.card.number'], keys: ['iban'] },
    });
    const d = await gate.review({ tool: 'transfer', args: { card: { number: '4111111111111111' }, iban: 'DE89370400440532013000', amount: 3 } });
    await gate.reportOutcome(d, { status: 'error', message: 'upstream said: Authorization: Bearer abc.def.ghi' });
    const text = JSON.stringify(audit.records);
    expect(text).not.toContain('4111111111111111');
    expect(text).not.toContain('DE89370400440532013000');
    expect(text).not.toContain('abc.def.ghi');
    expect(audit.records[0]!.call.args).toMatchObject({ amount: 3 });
  });

  it('refuses bad trusted keys at construction', () => {
    expect(() => createGate({ reviewer: boom, highStakes: ['x'], trustedKeys: [{ kty: 'RSA', n: 'x', e: 'AQAB' }] })).toThrow(
      expect.objectContaining({ code: 'OPTIONS_INVALID' }),
    );
  });
});

describe('createGate: close', () => {
  it('is idempotent: closing twice closes the reviewer once', async () => {
    let closes = 0;
    const reviewer: Reviewer = { name: 'r', review: async () => ({ verdict: 'allow' }), close: async () => { closes += 1; } };
    const { gate } = gateWith(reviewer);
    await Promise.all([gate.close(), gate.close()]);
    await gate.close();
    expect(closes).toBe(1);
  });
});

describe('createGate: findings from review', () => {
  it('resolveReview cannot approve a call that already ran', async () => {
    const { gate } = gateWith(callbackReviewer(() => ({ verdict: 'review', reviewId: 'rv_x' })));
    const pending = await gate.review({ tool: 'transfer', args: { amount: 1 }, callId: 'c', runId: 'r' });
    const approved = await gate.resolveReview(pending, { approved: true });
    await gate.reportOutcome(approved, { status: 'success' });
    expect(await gate.resolveReview(pending, { approved: true })).toMatchObject({ verdict: 'deny', error: { code: 'ALREADY_EXECUTED' } });
  });

  it("ids containing ':' cannot make two calls share an idempotency key", async () => {
    const { reviewer, seen } = counting(() => ({ verdict: 'allow' }));
    const { gate } = gateWith(reviewer);
    await gate.review({ tool: 'transfer', args: { amount: 1 }, runId: 'tenantA:x', callId: 'call_1' });
    await gate.review({ tool: 'transfer', args: { amount: 1 }, runId: 'tenantA', callId: 'x:call_1' });
    expect(seen).toHaveLength(2);
    expect(seen[0]!.idempotencyKey).not.toBe(seen[1]!.idempotencyKey);
  });

  it('a JSON syntax error never quotes the arguments (they may hold secrets)', async () => {
    const { gate, audit } = gateWith(callbackReviewer(() => ({ verdict: 'allow' })));
    const d = await gate.review({ tool: 'transfer', args: '{"amount": 5, "password": hunter2SECRET}' });
    expect(d.error?.code).toBe('ARGS_NOT_JSON');
    expect(JSON.stringify(d)).not.toMatch(/hunter2/);
    expect(JSON.stringify(audit.records)).not.toMatch(/hunter2/);
  });
});
