import {
  callDigest,
  createGate,
  createProofSigner,
  generateSigningKey,
  httpReviewer,
  memoryAudit,
  verifyAuditRecords,
  type Decision,
  type FailMode,
  type GateOptions,
} from '@toolgate/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, startStub, type Behaviour, type StubRequest } from '../support/stub-server';

type Stub = Awaited<ReturnType<typeof startStub>>;
let stub: Stub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

const decided = (req: StubRequest, extra: Record<string, unknown> = {}): Behaviour => ({
  kind: 'json',
  body: { id: `rv_${(req.body as { idempotencyKey?: string })?.idempotencyKey?.slice(-6) ?? 'x'}`, status: 'decided', verdict: 'allow', reason: 'ok', decidedBy: 'policy', ...extra },
});

function gateFor(url: string, failMode: FailMode, extra: Partial<GateOptions> = {}) {
  const audit = memoryAudit();
  const gate = createGate({
    reviewer: httpReviewer({ url, apiKey: 'k_eval', retry: { baseDelayMs: 5, maxDelayMs: 20 } }),
    highStakes: ['transfer'],
    failMode,
    timeoutMs: 400,
    audit,
    telemetry: false,
    ...extra,
  });
  return { gate, audit };
}

/** Runs a "tool" only when the gate allows it: the side-effect counter every fault test asserts on. */
async function gatedTransfer(gate: ReturnType<typeof createGate>, args: Record<string, unknown> = { amount: 10 }, callId = 'call_1') {
  let executed = 0;
  const decision: Decision = await gate.review({ tool: 'transfer', args, callId, runId: 'run_1' });
  if (decision.verdict === 'allow' || decision.verdict === 'allow_with_conditions') executed += 1;
  return { decision, executed };
}

describe('httpReviewer against a loopback server: every failure maps to the fail mode', () => {
  const cases: Array<{ name: string; code: string; setup: () => Promise<string> }> = [
    { name: 'connection refused', code: 'REVIEWER_UNREACHABLE', setup: async () => `http://127.0.0.1:${await closedPort()}` },
    { name: 'server hangs', code: 'REVIEWER_TIMEOUT', setup: async () => (stub = await startStub(() => ({ kind: 'hang' }))).url },
    { name: 'slow past the deadline', code: 'REVIEWER_TIMEOUT', setup: async () => (stub = await startStub((r) => ({ ...(decided(r) as object), delayMs: 2_000 }) as Behaviour)).url },
    { name: '500 every time', code: 'REVIEWER_HTTP_ERROR', setup: async () => (stub = await startStub(() => ({ kind: 'json', status: 500, body: { error: { code: 'INTERNAL', message: 'db down' } } }))).url },
    { name: '429 with a Retry-After past the deadline', code: 'REVIEWER_RATE_LIMITED', setup: async () => (stub = await startStub(() => ({ kind: 'json', status: 429, body: {}, headers: { 'retry-after': '30' } }))).url },
    { name: 'malformed JSON', code: 'REVIEWER_BAD_RESPONSE', setup: async () => (stub = await startStub(() => ({ kind: 'text', body: '{"id": "rv_1", "status": ' }))).url },
    { name: 'valid JSON that states no verdict', code: 'REVIEWER_BAD_RESPONSE', setup: async () => (stub = await startStub(() => ({ kind: 'json', body: { ok: true, id: 'rv_1' } }))).url },
    { name: 'connection reset mid-body', code: 'REVIEWER_CONNECTION_RESET', setup: async () => (stub = await startStub(() => ({ kind: 'reset-mid-body' }))).url },
  ];
  for (const c of cases) {
    for (const mode of ['closed', 'open'] as const) {
      it(`${c.name} → ${mode === 'closed' ? 'deny' : 'allow'} (${mode}), error ${c.code}, one audit record`, async () => {
        const url = await c.setup();
        const { gate, audit } = gateFor(url, mode);
        const { decision, executed } = await gatedTransfer(gate);
        expect(decision.error?.code).toBe(c.code);
        expect(decision.source).toBe(mode === 'closed' ? 'fail_closed' : 'fail_open');
        expect(executed).toBe(mode === 'closed' ? 0 : 1);
        expect(audit.records).toHaveLength(1);
        expect(audit.records[0]!.decision?.error?.code).toBe(c.code);
        expect(verifyAuditRecords(audit.records).ok).toBe(true);
        await gate.close();
      });
    }
  }
});

describe('httpReviewer: a definite refusal is not an outage', () => {
  for (const status of [400, 401, 403, 409, 413]) {
    it(`${status} is a REVIEWER_REJECTED deny even with failMode open`, async () => {
      stub = await startStub(() => ({ kind: 'json', status, body: { error: { code: 'NOPE', message: 'refused' } } }));
      const { gate, audit } = gateFor(stub.url, 'open');
      const { decision, executed } = await gatedTransfer(gate);
      expect(decision).toMatchObject({ verdict: 'deny', source: 'fail_closed', error: { code: 'REVIEWER_REJECTED' } });
      expect(executed).toBe(0);
      expect(audit.records).toHaveLength(1);
      await gate.close();
    });
  }
});

describe('httpReviewer: retries, idempotency, Retry-After, circuit breaker, abort', () => {
  it('retries 500 ×2 then succeeds, always under the same idempotency key (one review server-side)', async () => {
    let n = 0;
    stub = await startStub((r) => (++n <= 2 ? { kind: 'json', status: 503, body: {} } : decided(r)));
    const { gate } = gateFor(stub.url, 'closed');
    const { decision, executed } = await gatedTransfer(gate);
    expect(decision).toMatchObject({ verdict: 'allow', source: 'policy' });
    expect(executed).toBe(1);
    const keys = stub.requests.map((r) => (r.body as { idempotencyKey: string }).idempotencyKey);
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(1);
    expect(stub.requests[0]!.headers.authorization).toBe('Bearer k_eval');
    await gate.close();
  });

  it('honours a short Retry-After on 429 and then succeeds', async () => {
    let n = 0;
    stub = await startStub((r) => (++n === 1 ? { kind: 'json', status: 429, body: {}, headers: { 'retry-after': '0.05' } } : decided(r)));
    const { gate } = gateFor(stub.url, 'closed');
    expect((await gatedTransfer(gate)).decision.verdict).toBe('allow');
    expect(stub.requests).toHaveLength(2);
    await gate.close();
  });

  it('sends the call, digest, agent and context of protocol v1', async () => {
    stub = await startStub((r) => decided(r));
    const { gate } = gateFor(stub.url, 'closed');
    await gate.review({ tool: 'transfer', args: { amount: 3 }, callId: 'c', runId: 'r', agent: { id: 'bot' }, context: { planId: 'p1' } });
    expect(stub.requests[0]!.body).toMatchObject({
      call: { tool: 'transfer', args: { amount: 3 }, callId: 'c', runId: 'r' },
      digest: callDigest('transfer', { amount: 3 }),
      agent: { id: 'bot' },
      context: { planId: 'p1' },
    });
    await gate.close();
  });

  it('opens the circuit: once open, calls decide at once and never reach the server', async () => {
    stub = await startStub(() => ({ kind: 'json', status: 500, body: {} }));
    const { gate } = gateFor(stub.url, 'closed', {
      circuitBreaker: { failureThreshold: 2, cooldownMs: 60_000 },
      reviewer: httpReviewer({ url: stub.url, apiKey: 'k', retry: { maxAttempts: 1 } }),
    });
    await gatedTransfer(gate, { amount: 1 }, 'a');
    await gatedTransfer(gate, { amount: 2 }, 'b');
    const before = stub.requests.length;
    const results = await Promise.all([3, 4, 5].map((i) => gatedTransfer(gate, { amount: i }, `c${i}`)));
    expect(stub.requests.length).toBe(before);
    for (const r of results) {
      expect(r.decision.error?.code).toBe('CIRCUIT_OPEN');
      expect(r.executed).toBe(0);
    }
    await gate.close();
  });

  it('an AbortSignal from the framework cancels a hanging review', async () => {
    stub = await startStub(() => ({ kind: 'hang' }));
    const { gate } = gateFor(stub.url, 'open', { timeoutMs: 10_000 });
    const ac = new AbortController();
    const p = gate.review({ tool: 'transfer', args: {}, callId: 'x' }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    const d = await p;
    expect(d).toMatchObject({ verdict: 'deny', source: 'fail_closed', error: { code: 'REVIEWER_ABORTED' } });
    await gate.close();
  });

  it('onReview wait: long-polls the pending review until a human decides', async () => {
    let polls = 0;
    stub = await startStub((r) => {
      if (r.method === 'POST') return { kind: 'json', status: 202, body: { id: 'rv_p', status: 'pending', verdict: 'review', reason: 'large' } };
      polls += 1;
      return polls < 2
        ? { kind: 'json', status: 202, body: { id: 'rv_p', status: 'pending', verdict: 'review' }, delayMs: 20 }
        : { kind: 'json', body: { id: 'rv_p', status: 'decided', verdict: 'allow', decidedBy: 'human:alice', reason: 'fine' } };
    });
    const { gate } = gateFor(stub.url, 'closed', { onReview: 'wait', reviewTimeoutMs: 5_000 });
    const { decision, executed } = await gatedTransfer(gate);
    expect(decision).toMatchObject({ verdict: 'allow', source: 'human', reviewId: 'rv_p' });
    expect(executed).toBe(1);
    expect(stub.requests.filter((r) => r.method === 'GET')[0]!.path).toMatch(/^\/v1\/reviews\/rv_p\?waitMs=\d+$/);
    await gate.close();
  });

  it('reports outcomes to POST /v1/reviews/{id}/outcome', async () => {
    stub = await startStub((r) => (r.path.endsWith('/outcome') ? { kind: 'json', body: { ok: true } } : decided(r, { id: 'rv_o' })));
    const { gate } = gateFor(stub.url, 'closed');
    const { decision } = await gatedTransfer(gate);
    await gate.reportOutcome(decision, { status: 'success', durationMs: 4 });
    expect(stub.requests.at(-1)).toMatchObject({ method: 'POST', path: '/v1/reviews/rv_o/outcome', body: { status: 'success', durationMs: 4 } });
    await gate.close();
  });
});

describe('httpReviewer: proofs', () => {
  let trusted: Awaited<ReturnType<typeof generateSigningKey>>;
  let forger: Awaited<ReturnType<typeof generateSigningKey>>;
  beforeAll(async () => {
    trusted = await generateSigningKey();
    forger = await generateSigningKey();
  });

  /** A reviewer that signs what it decides, with a chosen key and (optionally) wrong bindings. */
  async function signingStub(key: typeof trusted, tweak: { tool?: string; args?: unknown; callId?: string; ttlSeconds?: number } = {}) {
    const signer = await createProofSigner({ privateJwk: key.privateJwk, kid: key.kid, issuer: 'stub', ttlSeconds: 60 });
    const proof = await signer.sign({
      reviewId: 'rv_s',
      tool: tweak.tool ?? 'transfer',
      digest: callDigest(tweak.tool ?? 'transfer', tweak.args ?? { amount: 10 }),
      callId: tweak.callId ?? 'call_1',
      verdict: 'allow',
      decidedBy: 'policy',
      ...(tweak.ttlSeconds !== undefined ? { ttlSeconds: tweak.ttlSeconds } : {}),
    });
    return startStub(() => ({ kind: 'json', body: { id: 'rv_s', status: 'decided', verdict: 'allow', decidedBy: 'policy', proof } }));
  }

  it('a valid proof is verified and the call runs', async () => {
    stub = await signingStub(trusted);
    const { gate } = gateFor(stub.url, 'closed', { trustedKeys: [trusted.publicJwk], requireProof: true });
    const { decision, executed } = await gatedTransfer(gate);
    expect(decision.verdict).toBe('allow');
    expect(decision.proof).toMatch(/^ey/);
    expect(executed).toBe(1);
    await gate.close();
  });

  const bad: Array<[string, () => Promise<Stub>]> = [
    ['forged (signed by an untrusted key)', () => signingStub(forger)],
    ['expired', () => signingStub(trusted, { ttlSeconds: -120 })],
    ['bound to other args', () => signingStub(trusted, { args: { amount: 99_999 } })],
    ['bound to another callId', () => signingStub(trusted, { callId: 'call_other' })],
    ['bound to another tool', () => signingStub(trusted, { tool: 'refund' })],
  ];
  for (const [name, make] of bad) {
    it(`a proof ${name} is a PROOF_INVALID deny even with failMode open`, async () => {
      stub = await make();
      const { gate, audit } = gateFor(stub.url, 'open', { trustedKeys: [trusted.publicJwk] });
      const { decision, executed } = await gatedTransfer(gate);
      expect(decision).toMatchObject({ verdict: 'deny', error: { code: 'PROOF_INVALID' } });
      expect(executed).toBe(0);
      expect(audit.records[0]!.decision?.error?.code).toBe('PROOF_INVALID');
      await gate.close();
    });
  }

  it('conditions come from the signed proof, not the response body; a proof for another review id is refused', async () => {
    const signer = await createProofSigner({ privateJwk: trusted.privateJwk, kid: trusted.kid, issuer: 'stub' });
    const signed = (reviewId: string) =>
      signer.sign({ reviewId, tool: 'transfer', digest: callDigest('transfer', { amount: 10 }), callId: 'call_1', verdict: 'allow_with_conditions', conditions: ['canary first'], decidedBy: 'policy' });
    const proof = await signed('rv_c');
    stub = await startStub(() => ({ kind: 'json', body: { id: 'rv_c', status: 'decided', verdict: 'allow_with_conditions', conditions: [], decidedBy: 'policy', proof } }));
    let { gate } = gateFor(stub.url, 'closed', { trustedKeys: [trusted.publicJwk] });
    expect((await gatedTransfer(gate)).decision).toMatchObject({ verdict: 'allow_with_conditions', conditions: ['canary first'] });
    await gate.close();
    const other = await signed('rv_other');
    stub.setResponder(() => ({ kind: 'json', body: { id: 'rv_c', status: 'decided', verdict: 'allow_with_conditions', conditions: ['canary first'], decidedBy: 'policy', proof: other } }));
    ({ gate } = gateFor(stub.url, 'open', { trustedKeys: [trusted.publicJwk] }));
    const { decision, executed } = await gatedTransfer(gate);
    expect(decision.error?.code).toBe('PROOF_INVALID');
    expect(executed).toBe(0);
    await gate.close();
  });

  it('keys configured means proofs required: a relay that strips the proof and rewrites deny to allow gets nothing through', async () => {
    // The relay answers what the reviewer would have denied as an allow, with the proof removed.
    // It serves the real reviewer's JWKS, so the jwksUrl gate has the right keys and still refuses.
    const relay = await startStub((r) =>
      r.path.startsWith('/.well-known/jwks.json')
        ? { kind: 'json', body: { keys: [trusted.publicJwk] } }
        : { kind: 'json', body: { id: 'rv_r', status: 'decided', verdict: 'allow', reason: 'ok', decidedBy: 'policy', digest: (r.body as { digest: string }).digest } },
    );
    stub = relay;
    for (const keys of [{ trustedKeys: [trusted.publicJwk] }, { jwksUrl: `${relay.url}/.well-known/jwks.json` }]) {
      const { gate, audit } = gateFor(relay.url, 'open', keys);
      const { decision, executed } = await gatedTransfer(gate, { amount: 5_000 });
      expect(decision).toMatchObject({ verdict: 'deny', source: 'fail_closed', error: { code: 'PROOF_INVALID' } });
      expect(executed).toBe(0);
      expect(audit.records[0]!.decision?.error?.code).toBe('PROOF_INVALID');
      await gate.close();
    }
    // The explicit opt-out (a chain whose local policy allows without signing) still lets it through.
    const { gate } = gateFor(relay.url, 'closed', { trustedKeys: [trusted.publicJwk], requireProof: false });
    expect((await gatedTransfer(gate)).executed).toBe(1);
    await gate.close();
  });

  it('requireProof: an allow without a proof is denied', async () => {
    stub = await startStub((r) => decided(r));
    const { gate } = gateFor(stub.url, 'open', { trustedKeys: [trusted.publicJwk], requireProof: true });
    const { decision, executed } = await gatedTransfer(gate);
    expect(decision.error?.code).toBe('PROOF_INVALID');
    expect(executed).toBe(0);
    await gate.close();
  });

  it('jwksUrl: keys are fetched once and pinned', async () => {
    const signer = await createProofSigner({ privateJwk: trusted.privateJwk, kid: trusted.kid, issuer: 'stub' });
    let jwksFetches = 0;
    stub = await startStub(() => ({ kind: 'hang' }));
    const s = stub;
    const proofFor = (callId: string) => signer.sign({ reviewId: 'rv', tool: 'transfer', digest: callDigest('transfer', { amount: 10 }), callId, verdict: 'allow', decidedBy: 'policy' });
    const proofs = new Map([['call_1', await proofFor('call_1')], ['call_2', await proofFor('call_2')]]);
    s.setResponder((req) => {
      if (req.path === '/.well-known/jwks.json') {
        jwksFetches += 1;
        return { kind: 'json', body: { keys: [trusted.publicJwk] } };
      }
      const callId = (req.body as { call: { callId: string } }).call.callId;
      return { kind: 'json', body: { id: 'rv', status: 'decided', verdict: 'allow', decidedBy: 'policy', proof: proofs.get(callId) } };
    });
    const { gate } = gateFor(s.url, 'closed', { jwksUrl: `${s.url}/.well-known/jwks.json`, requireProof: true });
    expect((await gatedTransfer(gate, { amount: 10 }, 'call_1')).executed).toBe(1);
    expect((await gatedTransfer(gate, { amount: 10 }, 'call_2')).executed).toBe(1);
    expect(jwksFetches).toBe(1);
    await gate.close();
  });
});
