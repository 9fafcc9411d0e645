import { randomUUID } from 'node:crypto';
import { redactEntry } from '../audit/redact-entry';
import { canonicalJson } from '../digest/canonical-json';
import { sha256 } from '../digest/call-digest';
import { parseArgs, tooLarge } from '../digest/parse-args';
import { ErrorCodes, GovernanceDeniedError, ReviewerError, ToolgateError } from '../errors';
import { compileHighStakes } from '../matcher/high-stakes';
import { circuitBreaker, type CircuitBreaker } from '../resilience/circuit-breaker';
import { abortError, deadlineScope } from '../resilience/deadline';
import { loadTelemetry, startSpan } from '../telemetry/spans';
import type {
  AgentInfo,
  AuditEntry,
  Decision,
  DecisionSource,
  FailMode,
  HumanAnswer,
  Outcome,
  ReviewerVerdict,
  ReviewRequest,
  ToolCall,
  Verdict,
} from '../types';
import { decisionCache } from './decision-cache';
import type { Gate, GateOptions, ReviewCallOptions } from './gate-types';
import { isAllowed } from './governed';
import { validateGateOptions, type ResolvedGateOptions } from './options';
import { proofCheck } from './proof-check';

const VERDICTS: ReadonlySet<string> = new Set<Verdict>(['allow', 'allow_with_conditions', 'deny', 'review']);

/**
 * Creates the gate: the one object adapters talk to. Options are validated here, once.
 *
 * @example
 * const gate = createGate({
 *   reviewer: policyReviewer('./policy.yaml'),
 *   highStakes: ['transfer', 'shell', 'db.*'],
 *   failMode: 'closed',
 * });
 * const decision = await gate.review({ tool: 'transfer', args: { amount: 500 }, callId: 'call_1' });
 */
export function createGate(options: GateOptions): Gate {
  const o: ResolvedGateOptions = validateGateOptions(options);
  if (o.telemetry) void loadTelemetry();
  const matches = compileHighStakes(o.highStakes);
  const breaker: CircuitBreaker | undefined = o.circuitBreaker
    ? circuitBreaker({ ...o.circuitBreaker, now: o.now })
    : undefined;
  const cache = decisionCache(10_000);
  const proofs = proofCheck(o);
  const instanceId = randomUUID();
  const ordinals = new Map<string, number>();
  const pendingAudits = new Set<Promise<unknown>>();
  let closing: Promise<void> | undefined;

  const failModeFor = (tool: string): FailMode => o.failMode.tools[tool] ?? o.failMode.default;

  function idempotencyKey(call: ToolCall, digest: string, dryRun: boolean): string {
    // Parts are %-encoded so ids containing ':' cannot collide ("a:b"+"c" vs "a"+"b:c").
    const run = encodeURIComponent(call.runId ?? instanceId);
    if (call.callId) return `tg1:${run}:${encodeURIComponent(call.callId)}:${digest.slice(7, 23)}`;
    const k = `${run}:${digest}`;
    const n = dryRun ? (ordinals.get(k) ?? 0) + 1 : bump(ordinals, k);
    return `tg1:${run}:#${n}:${digest.slice(7, 23)}`;
  }

  function base(call: ToolCall, digest: string, started: number): Omit<Decision, 'verdict' | 'reason' | 'source'> {
    const d: Omit<Decision, 'verdict' | 'reason' | 'source'> = {
      conditions: [],
      evaluated: [],
      tool: call.tool,
      digest,
      latencyMs: performance.now() - started,
    };
    if (call.callId !== undefined) d.callId = call.callId;
    if (call.runId !== undefined) d.runId = call.runId;
    return d;
  }

  function failDecision(call: ToolCall, digest: string, started: number, error: ToolgateError, key?: string): Decision {
    const open = failModeFor(call.tool) === 'open';
    const d: Decision = {
      ...base(call, digest, started),
      verdict: open ? 'allow' : 'deny',
      source: open ? 'fail_open' : 'fail_closed',
      reason: open
        ? `reviewer unavailable (${error.code}); allowed because failMode is open for "${call.tool}"`
        : `reviewer unavailable (${error.code}); denied because failMode is closed for "${call.tool}"`,
      error: { code: error.code, message: error.message },
    };
    if (key) d.idempotencyKey = key;
    return d;
  }

  /** A deny that no fail mode can turn into an allow (bad proof, bad input, human timeout…). */
  function hardDeny(call: ToolCall, digest: string, started: number, code: string, message: string, extra: Partial<Decision> = {}): Decision {
    return {
      ...base(call, digest, started),
      ...extra,
      verdict: 'deny',
      source: extra.source ?? 'fail_closed',
      reason: message,
      error: { code, message },
    };
  }

  function fromVerdict(call: ToolCall, digest: string, started: number, key: string, v: ReviewerVerdict): Decision {
    const d: Decision = {
      ...base(call, digest, started),
      verdict: v.abstain ? 'deny' : v.verdict,
      reason: v.abstain ? `no reviewer had an answer for "${call.tool}" (${v.reason ?? 'no rule matched'}); denied` : (v.reason ?? v.verdict),
      source: sourceOf(v.decidedBy),
      conditions: Array.isArray(v.conditions) ? v.conditions.map(String) : [],
      evaluated: Array.isArray(v.evaluated) ? v.evaluated : [],
      idempotencyKey: key,
    };
    if (v.reviewId) d.reviewId = v.reviewId;
    if (v.proof) d.proof = v.proof;
    if (v.decidedBy) d.decidedBy = v.decidedBy;
    return d;
  }

  async function writeAudit(kind: AuditEntry['kind'], call: Pick<ToolCall, 'tool' | 'callId' | 'runId'> & { agentId?: string; args?: unknown }, decision: Decision | undefined, extra: Partial<AuditEntry> = {}): Promise<string | undefined> {
    if (o.audit.length === 0) return undefined;
    const id = randomUUID();
    const entry: AuditEntry = {
      id,
      ts: new Date(o.now()).toISOString(),
      kind,
      call: {
        tool: call.tool,
        digest: decision?.digest ?? '',
        ...(call.callId !== undefined ? { callId: call.callId } : {}),
        ...(call.runId !== undefined ? { runId: call.runId } : {}),
        ...(call.agentId !== undefined ? { agentId: call.agentId } : {}),
        ...(call.args !== undefined ? { args: call.args } : {}),
      },
      ...extra,
    };
    if (decision) {
      const { auditId: _omit, ...rest } = decision;
      entry.decision = rest;
    }
    // Every sink redacts the default secret keys itself; the gate adds its own keys and paths.
    const safe = o.redact ? redactEntry(entry, o.redact) : entry;
    const p = Promise.all(o.audit.map((sink) => sink.append(safe)));
    pendingAudits.add(p);
    try {
      await p;
    } finally {
      pendingAudits.delete(p);
    }
    return id;
  }

  /** Shared path of review() and canI(). */
  async function decide(call: ToolCall, callOptions: ReviewCallOptions | undefined, dryRun: boolean): Promise<Decision> {
    const started = performance.now();
    if (typeof call?.tool !== 'string' || call.tool.length === 0) {
      throw new ToolgateError(ErrorCodes.OPTIONS_INVALID, 'gate.review(call): call.tool must be a non-empty string');
    }
    if (!matches(call.tool, call.args)) {
      return { verdict: 'allow', reason: 'not a high-stakes tool', source: 'not_high_stakes', conditions: [], evaluated: [], tool: call.tool, callId: call.callId, digest: '', latencyMs: performance.now() - started } as Decision;
    }
    if (!call.tool.isWellFormed()) {
      // Not well-formed Unicode (a lone surrogate): no digest, no reviewer — and the audit record
      // names the tool with U+FFFD in place of the broken code units, so the attempt is kept.
      const tool = call.tool.toWellFormed();
      const d = hardDeny({ ...call, tool }, '', started, ErrorCodes.TOOL_NAME_INVALID, `tool name ${JSON.stringify(tool)} is not well-formed Unicode; denied`);
      d.auditId = await safeAudit('review', { tool, callId: call.callId, runId: call.runId }, d);
      return d;
    }
    const agent = normalizeAgent(call.agent ?? o.agent);
    const auditCall = { tool: call.tool, callId: call.callId, runId: call.runId, agentId: agent?.id };

    // 1. Input: arguments must be JSON, within bounds. Bad input is a deny in every fail mode.
    let args: unknown;
    let digest: string;
    try {
      args = parseArgs(call.args, o.maxArgsBytes);
      const canonical = canonicalJson({ tool: call.tool, args: args ?? {} });
      if (canonical.length > o.maxArgsBytes) tooLarge(canonical.length, o.maxArgsBytes);
      digest = sha256(canonical);
    } catch (error) {
      const e = error instanceof ToolgateError ? error : new ToolgateError(ErrorCodes.ARGS_NOT_JSON, String(error));
      const d = hardDeny(call, '', started, e.code, e.message);
      if (!dryRun) d.auditId = await safeAudit('review', { ...auditCall }, d);
      return d;
    }

    const key = idempotencyKey(call, digest, dryRun);
    const span = o.telemetry ? startSpan(call) : undefined;
    try {
      // 2. Already decided (framework re-execution, resume): the same Decision, no second review.
      if (!dryRun) {
        let cached = cache.get(key);
        // The key carries 64 bits of the digest; a cached Decision must match all 256.
        if (cached && cached.decision.digest !== digest) cached = undefined;
        if (cached?.executed) {
          const d = hardDeny(call, digest, started, ErrorCodes.ALREADY_EXECUTED, `this call (${key}) already ran; a review authorises one execution`, { reviewId: cached.decision.reviewId, idempotencyKey: key });
          d.auditId = await safeAudit('review', { ...auditCall, args }, d);
          return span?.end(d) ?? d;
        }
        if (cached) {
          const again = { ...cached.decision };
          return span?.end(again) ?? again;
        }
      }

      // 3. Ask the reviewer, within one deadline, unless the circuit is open.
      const request: ReviewRequest = { idempotencyKey: key, call: { tool: call.tool, args }, digest };
      if (call.callId !== undefined) request.call.callId = call.callId;
      if (call.runId !== undefined) request.call.runId = call.runId;
      if (agent) request.agent = agent;
      if (call.context) request.context = call.context;
      if (dryRun) request.dryRun = true;

      let decision: Decision;
      const verdict = await askReviewer(request, callOptions?.signal);
      if (verdict instanceof ToolgateError && verdict.code === ErrorCodes.REVIEWER_ABORTED) {
        // The caller cancelled: there is no decision, and nothing may run — whatever the fail mode.
        decision = hardDeny(call, digest, started, verdict.code, `review cancelled by the caller (${verdict.message}); denied`, { idempotencyKey: key });
      } else if (verdict instanceof ReviewerError && isRefusal(verdict.status)) {
        // The reviewer answered, and its answer was no (bad key, wrong scope, conflict, too large):
        // not an outage, so no fail mode turns it into an allow.
        decision = hardDeny(call, digest, started, ErrorCodes.REVIEWER_REJECTED, `the reviewer refused the request (${verdict.message}); denied`, { idempotencyKey: key });
      } else if (verdict instanceof ToolgateError) {
        decision = failDecision(call, digest, started, verdict, key);
      } else {
        decision = fromVerdict(call, digest, started, key, verdict);
        decision = await proofs.check(decision, (code, msg) => hardDeny(call, digest, started, code, msg, { reviewId: decision.reviewId, proof: decision.proof, idempotencyKey: key }));
        if (decision.verdict === 'review' && !dryRun) {
          decision = await onReview(call, digest, started, key, decision, callOptions?.signal);
        }
      }
      decision.latencyMs = performance.now() - started;
      if (dryRun) return span?.end(decision) ?? decision;

      decision.auditId = await safeAudit('review', { ...auditCall, args }, decision);
      if (decision.error?.code === ErrorCodes.AUDIT_WRITE_FAILED) return span?.end(decision) ?? decision;
      if (isConclusive(decision)) cache.set(key, decision);
      return span?.end(decision) ?? decision;
    } catch (error) {
      span?.fail(error);
      throw error;
    }
  }

  /** Calls the reviewer. Returns its verdict, or the ToolgateError that stands for its failure. */
  async function askReviewer(request: ReviewRequest, signal?: AbortSignal): Promise<ReviewerVerdict | ToolgateError> {
    if (breaker && !breaker.tryAcquire()) {
      return new ReviewerError(ErrorCodes.CIRCUIT_OPEN, `circuit open after repeated reviewer failures; retrying after ${o.circuitBreaker ? o.circuitBreaker.cooldownMs : 0} ms`);
    }
    const scope = deadlineScope(o.timeoutMs, signal, o.now());
    try {
      const verdict = await raceAbort(o.reviewer.review(request, { signal: scope.signal, deadline: scope.deadline }), scope.signal);
      checkVerdict(verdict, o.reviewer.name);
      breaker?.onSuccess();
      return verdict;
    } catch (error) {
      const e = asReviewerError(error, scope.signal, o.reviewer.name);
      // A caller's cancellation says nothing about the reviewer's health.
      if (e.code === ErrorCodes.REVIEWER_ABORTED) breaker?.onSuccess();
      else breaker?.onFailure();
      return e;
    } finally {
      scope.dispose();
    }
  }

  async function onReview(call: ToolCall, digest: string, started: number, key: string, pending: Decision, signal?: AbortSignal): Promise<Decision> {
    if (o.onReview === 'pause') return pending;
    if (o.onReview === 'deny') {
      return { ...pending, verdict: 'deny', reason: `${pending.reason} — a human review is required and onReview is "deny"` };
    }
    // wait: hold the call until a human decides on the reviewer, bounded by reviewTimeoutMs.
    if (!pending.reviewId || !o.reviewer.waitForDecision) {
      return hardDeny(call, digest, started, ErrorCodes.REVIEW_TIMEOUT, `reviewer "${o.reviewer.name}" cannot wait for a human decision; denied (onReview "wait")`, { idempotencyKey: key });
    }
    const scope = deadlineScope(o.reviewTimeoutMs, signal, o.now());
    try {
      const v = await raceAbort(o.reviewer.waitForDecision(pending.reviewId, { signal: scope.signal, deadline: scope.deadline }), scope.signal);
      checkVerdict(v, o.reviewer.name);
      if (v.verdict === 'review') {
        return hardDeny(call, digest, started, ErrorCodes.REVIEW_TIMEOUT, `no human decision within ${o.reviewTimeoutMs} ms; denied`, { reviewId: pending.reviewId, idempotencyKey: key });
      }
      const decided = fromVerdict(call, digest, started, key, { ...v, reviewId: v.reviewId ?? pending.reviewId });
      return proofs.check(decided, (code, msg) => hardDeny(call, digest, started, code, msg, { reviewId: pending.reviewId, proof: decided.proof, idempotencyKey: key }));
    } catch (error) {
      const e = asReviewerError(error, scope.signal, o.reviewer.name);
      // A call flagged for human review is never failed open: no human said yes.
      const code = e.code === ErrorCodes.REVIEWER_TIMEOUT ? ErrorCodes.REVIEW_TIMEOUT : e.code;
      const msg = code === ErrorCodes.REVIEW_TIMEOUT ? `no human decision within ${o.reviewTimeoutMs} ms; denied` : `waiting for a human decision failed (${e.message}); denied`;
      return hardDeny(call, digest, started, code, msg, { reviewId: pending.reviewId, idempotencyKey: key });
    } finally {
      scope.dispose();
    }
  }

  /** Audit, and turn a failed write into a deny: an unrecorded decision must not authorise anything. */
  async function safeAudit(kind: AuditEntry['kind'], call: Parameters<typeof writeAudit>[1], decision: Decision): Promise<string | undefined> {
    try {
      return await writeAudit(kind, call, decision);
    } catch (error) {
      const message = `audit write failed (${(error as Error)?.message ?? String(error)}); denied because an unrecorded decision cannot authorise a call`;
      if (isAllowed(decision) || decision.verdict === 'review') {
        Object.assign(decision, { verdict: 'deny', source: 'fail_closed', reason: message });
      }
      decision.error = { code: ErrorCodes.AUDIT_WRITE_FAILED, message };
      return undefined;
    }
  }

  const gate: Gate = {
    isHighStakes: (tool, args) => matches(tool, args),

    review: (call, callOptions) => decide(call, callOptions, false),

    canI: (call, callOptions) => decide(call, callOptions, true),

    async enforce(call, callOptions) {
      const decision = await decide(call, callOptions, false);
      if (!isAllowed(decision)) throw new GovernanceDeniedError(decision);
      return decision;
    },

    async resolveReview(decision, answer: HumanAnswer) {
      if (decision.verdict !== 'review') {
        throw new ToolgateError(ErrorCodes.OPTIONS_INVALID, `resolveReview takes a Decision whose verdict is "review"; this one is "${decision.verdict}"`);
      }
      const ran = decision.idempotencyKey ? cache.get(decision.idempotencyKey) : undefined;
      if (ran?.executed && ran.decision.digest === decision.digest) {
        const denied: Decision = { ...decision, verdict: 'deny', source: 'fail_closed', reason: 'this call already ran; a review authorises one execution', error: { code: ErrorCodes.ALREADY_EXECUTED, message: 'this call already ran; a review authorises one execution' } };
        delete denied.proof;
        denied.auditId = await safeAudit('human_decision', { tool: decision.tool, callId: decision.callId, runId: decision.runId }, denied);
        return denied;
      }
      const approver = answer.approver ?? 'human';
      const resolved: Decision = {
        ...decision,
        verdict: answer.approved ? 'allow' : 'deny',
        source: 'human',
        reason: answer.reason ?? (answer.approved ? `approved by ${approver}` : `rejected by ${approver}`),
        decidedBy: `human:${approver}`,
        latencyMs: decision.latencyMs,
      };
      delete resolved.proof;
      delete resolved.error;
      resolved.auditId = await safeAudit('human_decision', { tool: decision.tool, callId: decision.callId, runId: decision.runId }, resolved);
      if (resolved.idempotencyKey && !resolved.error) cache.set(resolved.idempotencyKey, resolved);
      return resolved;
    },

    async reportOutcome(decision, outcome: Outcome) {
      if (decision.source === 'not_high_stakes') return;
      try {
        if (decision.idempotencyKey) cache.markExecuted(decision.idempotencyKey, decision);
        await writeAudit('outcome', { tool: decision.tool, callId: decision.callId, runId: decision.runId }, decision, {
          outcome,
        });
        if (decision.reviewId && o.reviewer.reportOutcome) {
          const scope = deadlineScope(o.timeoutMs, undefined, o.now());
          try {
            await o.reviewer.reportOutcome(decision.reviewId, outcome, { signal: scope.signal, deadline: scope.deadline });
          } finally {
            scope.dispose();
          }
        }
      } catch {
        // Never throws: the tool already ran. The audit trail shows a missing outcome record.
      }
    },

    close() {
      // Idempotent: adapters and apps may both close the gate they share.
      closing ??= (async () => {
        await Promise.allSettled([...pendingAudits]);
        await Promise.allSettled(o.audit.map((sink) => sink.close?.()));
        await o.reviewer.close?.();
      })();
      return closing;
    },
  };
  return gate;
}

/** A 4xx answer other than 408 (timeout) and 429 (rate limit): the reviewer said no. */
function isRefusal(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

function bump(map: Map<string, number>, key: string): number {
  const n = (map.get(key) ?? 0) + 1;
  if (map.size >= 10_000 && !map.has(key)) map.clear();
  map.set(key, n);
  return n;
}

function normalizeAgent(agent: string | AgentInfo | undefined): AgentInfo | undefined {
  if (agent === undefined) return undefined;
  return typeof agent === 'string' ? { id: agent } : agent;
}

function sourceOf(decidedBy: string | undefined): DecisionSource {
  if (decidedBy === 'policy') return 'policy';
  if (decidedBy?.startsWith('human')) return 'human';
  return 'reviewer';
}

function isConclusive(d: Decision): boolean {
  if (d.source === 'fail_open' || d.source === 'fail_closed') return false;
  return d.verdict !== 'review';
}

function checkVerdict(v: unknown, name: string): asserts v is ReviewerVerdict {
  const verdict = (v as ReviewerVerdict | null)?.verdict;
  if (typeof v !== 'object' || v === null || typeof verdict !== 'string' || !VERDICTS.has(verdict)) {
    throw new ReviewerError(ErrorCodes.REVIEWER_BAD_RESPONSE, `reviewer "${name}" returned no valid verdict (allow | allow_with_conditions | deny | review)`);
  }
}

function asReviewerError(error: unknown, signal: AbortSignal, name: string): ReviewerError {
  if (error instanceof ReviewerError && error.code !== ErrorCodes.REVIEWER_ABORTED) return error;
  if (signal.aborted) return abortError(signal, `review by "${name}"`);
  if (error instanceof ReviewerError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ReviewerError(ErrorCodes.REVIEWER_FAILED, `reviewer "${name}" failed: ${message}`, { cause: error });
}

/** Rejects as soon as `signal` aborts, even if the reviewer ignores it. */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => {});
    return Promise.reject(abortError(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
