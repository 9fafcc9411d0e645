/**
 * The fault matrix: every row is a real fault on a real server on loopback, run for fail modes
 * `closed` and `open`, through core and through each adapter. For every cell we assert the tool
 * body's execution count, the Decision's source and error code (from the audit record of the
 * review), exactly one review record for the call, and an intact hash chain.
 */
import { httpReviewer, createGate, generateSigningKey, memoryAudit, verifyAuditLog, verifyAuditRecords, type FailMode, type Gate, type GateOptions } from '@toolgate/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, startStub, type Behaviour } from '../support/stub-server';
import { drivers, type DriveCall } from './support/drivers';
import { restartableServer, signingStub, type SigningKey } from './support/faults';

type Expect = { executed: 0 | 1; source: string; code: string | null };
type Mode = FailMode;
interface Env {
  url: string;
  /** Extra gate options for this row. */
  gate?: Partial<GateOptions>;
  /** Runs before the measured call (e.g. prime the circuit breaker), with the gate. */
  before?(gate: Gate): Promise<void>;
  /** Runs while the measured call is in flight (e.g. restart the server, approve, abort). */
  during?(controller: AbortController): Promise<void>;
  /** Requests the server saw so far (to show a call never left the gate). */
  requests?(): number;
  after?(): Promise<void>;
  close(): Promise<void>;
}
interface Row {
  fault: string;
  setup(call: DriveCall): Promise<Env>;
  /** Per fail mode; a function when adapters differ (see KNOWN GAPS in docs/reliability.md). */
  expect: Record<Mode, Expect> | ((driver: string) => Record<Mode, Expect>);
  /** The call must not reach the server (circuit open). */
  noRequest?: boolean;
}

const failure = (code: string): Record<Mode, Expect> => ({
  closed: { executed: 0, source: 'fail_closed', code },
  open: { executed: 1, source: 'fail_open', code },
});
const allowedBy = (source: string): Record<Mode, Expect> => ({
  closed: { executed: 1, source, code: null },
  open: { executed: 1, source, code: null },
});
const hardDeny = (code: string): Record<Mode, Expect> => ({
  closed: { executed: 0, source: 'fail_closed', code },
  open: { executed: 0, source: 'fail_closed', code },
});

const decided: Behaviour = { kind: 'json', body: { id: 'rv_ok', status: 'decided', verdict: 'allow', reason: 'ok', decidedBy: 'policy' } };

async function stubEnv(respond: Parameters<typeof startStub>[0], extra: Partial<Env> = {}): Promise<Env> {
  const stub = await startStub(respond);
  return { url: stub.url, requests: () => stub.requests.length, close: stub.close, ...extra };
}

let trusted: SigningKey;
let forger: SigningKey;
beforeAll(async () => {
  trusted = await generateSigningKey();
  forger = await generateSigningKey();
});

async function proofEnv(key: () => SigningKey, tweak: Parameters<typeof signingStub>[1], call: DriveCall): Promise<Env> {
  const stub = await signingStub(key(), tweak);
  await stub.prepare({ tool: 'transfer', args: call.args, callId: call.callId });
  return { url: stub.url, gate: { trustedKeys: [trusted.publicJwk] }, close: stub.close };
}

const rows: Row[] = [
  { fault: 'connection refused', setup: async () => ({ url: `http://127.0.0.1:${await closedPort()}`, close: async () => {} }), expect: failure('REVIEWER_UNREACHABLE') },
  { fault: 'server hangs', setup: () => stubEnv(() => ({ kind: 'hang' })), expect: failure('REVIEWER_TIMEOUT') },
  { fault: 'slow past the deadline', setup: () => stubEnv(() => ({ ...decided, delayMs: 1_500 }) as Behaviour), expect: failure('REVIEWER_TIMEOUT') },
  {
    fault: '500 ×2 then success',
    setup: () => {
      let n = 0;
      return stubEnv(() => (++n <= 2 ? { kind: 'json', status: 500, body: { error: { code: 'INTERNAL', message: 'db down' } } } : decided));
    },
    expect: allowedBy('policy'),
  },
  {
    fault: '429 with Retry-After 0.05 s, then success',
    setup: () => {
      let n = 0;
      return stubEnv(() => (++n === 1 ? { kind: 'json', status: 429, body: {}, headers: { 'retry-after': '0.05' } } : decided));
    },
    expect: allowedBy('policy'),
  },
  { fault: '429 with Retry-After past the deadline', setup: () => stubEnv(() => ({ kind: 'json', status: 429, body: {}, headers: { 'retry-after': '30' } })), expect: failure('REVIEWER_RATE_LIMITED') },
  { fault: 'malformed JSON', setup: () => stubEnv(() => ({ kind: 'text', body: '{"id": "rv_1", "status": ' })), expect: failure('REVIEWER_BAD_RESPONSE') },
  // A JSON body that states no verdict did not come from the reviewer's review code: an outage.
  { fault: 'valid JSON that is not a review (no verdict)', setup: () => stubEnv(() => ({ kind: 'json', body: { ok: true } })), expect: failure('REVIEWER_BAD_RESPONSE') },
  // The reviewer was reached and answered, but not with a verdict we know: a deny in every mode.
  { fault: "an unknown verdict from a reachable reviewer (200 { verdict: 'DENY' })", setup: () => stubEnv(() => ({ kind: 'json', body: { id: 'rv_1', status: 'decided', verdict: 'DENY' } })), expect: hardDeny('VERDICT_INVALID') },
  { fault: 'an answer for another call (digest mismatch)', setup: () => stubEnv(() => ({ kind: 'json', body: { id: 'rv_1', status: 'decided', verdict: 'allow', decidedBy: 'policy', digest: `sha256:${'0'.repeat(64)}` } })), expect: hardDeny('VERDICT_INVALID') },
  { fault: 'the reviewer refuses: 401 (a revoked key)', setup: () => stubEnv(() => ({ kind: 'json', status: 401, body: { error: { code: 'UNAUTHORIZED', message: 'key revoked' } } })), expect: hardDeny('REVIEWER_REJECTED') },
  { fault: 'connection reset mid-body', setup: () => stubEnv(() => ({ kind: 'reset-mid-body' })), expect: failure('REVIEWER_CONNECTION_RESET') },
  { fault: 'forged proof (untrusted key)', setup: (call) => proofEnv(() => forger, {}, call), expect: hardDeny('PROOF_INVALID') },
  { fault: 'expired proof', setup: (call) => proofEnv(() => trusted, { ttlSeconds: -120 }, call), expect: hardDeny('PROOF_INVALID') },
  { fault: 'proof bound to other args', setup: (call) => proofEnv(() => trusted, { args: { amount: 99_999 } }, call), expect: hardDeny('PROOF_INVALID') },
  {
    fault: 'circuit open',
    setup: () =>
      stubEnv(() => ({ kind: 'json', status: 500, body: {} }), {
        gate: { circuitBreaker: { failureThreshold: 1, cooldownMs: 60_000 } },
        // One failed review opens the circuit; the measured call is decided without the network.
        before: async (gate) => void (await gate.review({ tool: 'transfer', args: { amount: 1 }, callId: 'prime', runId: 'prime' })),
      }),
    expect: failure('CIRCUIT_OPEN'),
    noRequest: true,
  },
  {
    fault: 'abort from the framework',
    setup: () =>
      stubEnv(() => ({ kind: 'hang' }), {
        gate: { timeoutMs: 1_500 },
        during: async (controller) => {
          await new Promise((r) => setTimeout(r, 60));
          controller.abort(new Error('user cancelled the run'));
        },
      }),
    // A cancelled review is a deny in every fail mode, and no body runs after the framework
    // aborted. KNOWN GAP (docs/reliability.md, "Abort"): the OpenAI Agents and AI SDK adapters do
    // not hand the framework's signal to gate.review, so there the review runs on to its deadline
    // and is recorded as REVIEWER_TIMEOUT under the fail mode (the body still does not run).
    expect: (driver) => {
      const forwarded = driver === 'core' || driver === 'langgraph';
      return forwarded
        ? hardDeny('REVIEWER_ABORTED')
        : { closed: { executed: 0, source: 'fail_closed', code: 'REVIEWER_TIMEOUT' }, open: { executed: 0, source: 'fail_open', code: 'REVIEWER_TIMEOUT' } };
    },
  },
  {
    fault: 'reviewer restart mid-wait (real server; human approves after the restart)',
    setup: async () => {
      const server = await restartableServer();
      return {
        url: server.url,
        gate: {
          reviewer: httpReviewer({ url: server.url, apiKey: server.evalKey, retry: { baseDelayMs: 5, maxDelayMs: 20 }, pollWaitMs: 2_000 }),
          onReview: 'wait',
          reviewTimeoutMs: 15_000,
          timeoutMs: 2_000,
          jwksUrl: `${server.url}/.well-known/jwks.json`,
          requireProof: true,
        },
        during: async () => {
          const id = await server.waitForPending();
          await server.restart();
          await server.approve(id);
        },
        after: async () => {
          await server.close();
          const log = await verifyAuditLog(server.auditPath);
          expect(log.ok).toBe(true);
          expect(log.records).toBeGreaterThanOrEqual(2); // the review and the human decision, at least
        },
        close: async () => {},
      };
    },
    expect: allowedBy('human'),
  },
];

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => {});
  cleanup = [];
});

describe.each(drivers)('fault matrix through $name', (driver) => {
  describe.each(rows)('$fault', (row) => {
    it.each(['closed', 'open'] as const)('failMode %s', async (mode) => {
      const call: DriveCall = { args: { amount: row.fault.startsWith('reviewer restart') ? 5_000 : 10 }, callId: `call_${driver.name}_${mode}` };
      const env = await row.setup(call);
      cleanup.push(env.close);
      const audit = memoryAudit();
      const gate = createGate({
        reviewer: httpReviewer({ url: env.url, apiKey: 'k_eval', retry: { baseDelayMs: 5, maxDelayMs: 20 } }),
        highStakes: ['transfer'],
        failMode: mode,
        timeoutMs: 300,
        audit,
        telemetry: false,
        ...env.gate,
      });
      cleanup.push(() => gate.close());
      await env.before?.(gate);
      const seenBefore = env.requests?.() ?? 0;

      const controller = new AbortController();
      const running = driver.run(gate, call, { signal: controller.signal });
      await env.during?.(controller);
      const result = await running;
      await env.after?.();

      const want = (typeof row.expect === 'function' ? row.expect(driver.name) : row.expect)[mode];
      expect(result.executed, 'tool body executions').toBe(want.executed);
      const reviews = audit.records.filter((r) => r.kind === 'review' && r.call.callId === call.callId);
      expect(reviews, 'one review record for the call').toHaveLength(1);
      expect(reviews[0]!.decision?.source).toBe(want.source);
      expect(reviews[0]!.decision?.error?.code ?? null).toBe(want.code);
      expect(verifyAuditRecords(audit.records).ok).toBe(true);
      if (row.noRequest) expect(env.requests?.()).toBe(seenBefore);
    });
  });
});
