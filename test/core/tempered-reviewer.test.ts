import { createGate, memoryAudit, temperedReviewer, type FailMode } from '@toolgate/core';
import { afterEach, describe, expect, it } from 'vitest';
import { startStub, type Behaviour, type StubRequest } from '../support/stub-server';

type Stub = Awaited<ReturnType<typeof startStub>>;
let stub: Stub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

function gateFor(url: string, failMode: FailMode = 'closed', timeoutMs = 1_000) {
  const audit = memoryAudit();
  const gate = createGate({
    reviewer: temperedReviewer({ url, apiKey: 'tk', pollMs: 5, maxPollMs: 20, retry: { baseDelayMs: 5 } }),
    highStakes: ['deploy'],
    failMode,
    timeoutMs,
    audit,
    telemetry: false,
  });
  return { gate, audit };
}

const call = { tool: 'deploy', args: { service: 'api', env: 'prod' }, callId: 'c1', runId: 'r1', context: { changeRequestId: 'CR-7', planId: 'plan-3', reversibility: 'partial' as const } };

/** A service that is `running` for `polls` GETs, then completes with `result`. */
function service(result: Record<string, unknown>, polls = 2): (r: StubRequest) => Behaviour {
  let gets = 0;
  return (r) => {
    if (r.method === 'POST') return { kind: 'json', status: 201, body: { id: 'ev_1', status: 'pending' } };
    gets += 1;
    return gets <= polls ? { kind: 'json', body: { id: 'ev_1', status: 'running' } } : { kind: 'json', body: { id: 'ev_1', status: 'completed', ...result } };
  };
}

describe('temperedReviewer against a loopback evaluations service', () => {
  it('submits description, context, idempotency_key, change_request_id and plan_id, then polls to completion', async () => {
    stub = await startStub(service({ decision: 'PROCEED', rationale: 'low risk' }));
    const { gate } = gateFor(stub.url);
    const d = await gate.review(call);
    expect(d).toMatchObject({ verdict: 'allow', source: 'reviewer', reason: 'low risk', reviewId: 'ev_1' });
    const post = stub.requests[0]!;
    expect(post).toMatchObject({ method: 'POST', path: '/api/v1/evaluations/' });
    expect(post.body).toMatchObject({
      change_request_id: 'CR-7',
      plan_id: 'plan-3',
      idempotency_key: d.idempotencyKey,
      context: { tool: 'deploy', arguments: call.args, reversibility: 'partial' },
    });
    expect((post.body as { description: string }).description).toContain('"deploy"');
    expect(stub.requests.slice(1).every((r) => r.method === 'GET' && r.path === '/api/v1/evaluations/ev_1/')).toBe(true);
    expect(stub.requests).toHaveLength(4);
    await gate.close();
  });

  it('maps PROCEED_WITH_MITIGATIONS to allow_with_conditions and REVIEW_REQUIRED to review', async () => {
    stub = await startStub(service({ result: { decision: 'PROCEED_WITH_MITIGATIONS', mitigations: ['canary first', { description: 'page on-call' }] } }, 0));
    let { gate } = gateFor(stub.url);
    expect(await gate.review(call)).toMatchObject({ verdict: 'allow_with_conditions', conditions: ['canary first', 'page on-call'] });
    await gate.close();
    stub.setResponder(service({ decision: 'REVIEW_REQUIRED' }, 0));
    ({ gate } = gateFor(stub.url));
    expect((await gate.review(call)).verdict).toBe('review');
    await gate.close();
  });

  it("PROCEED_WITH_MITIGATIONS: the evaluation's conditions field becomes the Decision's conditions", async () => {
    stub = await startStub(service({ decision: 'PROCEED_WITH_MITIGATIONS', conditions: ['notify #ops before the deploy', { description: 'canary at 5%' }] }, 1));
    const { gate, audit } = gateFor(stub.url);
    const d = await gate.review(call);
    expect(d).toMatchObject({ verdict: 'allow_with_conditions', conditions: ['notify #ops before the deploy', 'canary at 5%'] });
    expect(audit.records[0]!.decision?.conditions).toEqual(['notify #ops before the deploy', 'canary at 5%']);
    await gate.close();
  });

  for (const [name, result] of [
    ['an unknown decision (REJECT)', { decision: 'REJECT' }],
    ['a completed evaluation without a decision', {}],
  ] as const) {
    for (const mode of ['closed', 'open'] as const) {
      it(`${name} from a reachable service is a deny (VERDICT_INVALID), failMode ${mode}`, async () => {
        stub = await startStub(service(result, 0));
        const { gate, audit } = gateFor(stub.url, mode);
        let executed = 0;
        const d = await gate.review(call);
        if (d.verdict === 'allow') executed += 1;
        expect(d).toMatchObject({ verdict: 'deny', source: 'fail_closed', error: { code: 'VERDICT_INVALID' } });
        expect(executed).toBe(0);
        expect(audit.records).toHaveLength(1);
        await gate.close();
      });
    }
  }

  const failures: Array<[string, (r: StubRequest) => Behaviour, string]> = [
    ['an evaluation that failed', () => ({ kind: 'json', status: 201, body: { id: 'ev_f', status: 'failed', error: 'model crashed' } }), 'REVIEWER_FAILED'],
    ['QUORUM_FAILED', service({ decision: 'QUORUM_FAILED' }, 0), 'REVIEWER_FAILED'],
    ['5xx on submit', () => ({ kind: 'json', status: 502, body: {} }), 'REVIEWER_HTTP_ERROR'],
    ['429 past the deadline', () => ({ kind: 'json', status: 429, body: {}, headers: { 'retry-after': '60' } }), 'REVIEWER_RATE_LIMITED'],
    ['an evaluation still running at the deadline', service({ decision: 'PROCEED' }, 10_000), 'REVIEWER_TIMEOUT'],
    ['a body of the wrong shape', () => ({ kind: 'json', status: 201, body: { evaluation: 'ok' } }), 'REVIEWER_BAD_RESPONSE'],
  ];
  for (const [name, responder, code] of failures) {
    for (const mode of ['closed', 'open'] as const) {
      it(`${name} is a reviewer failure (${code}) → fail ${mode}`, async () => {
        stub = await startStub(responder);
        const { gate, audit } = gateFor(stub.url, mode, 300);
        let executed = 0;
        const d = await gate.review(call);
        if (d.verdict === 'allow') executed += 1;
        expect(d.error?.code).toBe(code);
        expect(executed).toBe(mode === 'open' ? 1 : 0);
        expect(audit.records).toHaveLength(1);
        await gate.close();
      });
    }
  }

  it('honours Retry-After on 429 when it fits in the deadline', async () => {
    let posts = 0;
    const done = service({ decision: 'PROCEED' }, 0);
    stub = await startStub((r) => (r.method === 'POST' && ++posts === 1 ? { kind: 'json', status: 429, body: {}, headers: { 'retry-after': '0.05' } } : done(r)));
    const { gate } = gateFor(stub.url);
    expect((await gate.review(call)).verdict).toBe('allow');
    expect(posts).toBe(2);
    await gate.close();
  });
});
