import { randomUUID } from '../platform/random-uuid';
import { redact } from '../audit/redact';
import { auditIdSource, isoClock, isPromiseLike } from '../audit/audit-entry-parts';
import { redactEntry } from '../audit/redact-entry';
import { APPEND_KEPT, isKeepingSink } from '../audit/memory-audit';
import { sealsOnAppend } from '../audit/sink-marks';
import { leavesRequestIntact } from '../policy/policy-reviewer';
import { canonicalJson } from '../digest/canonical-json';
import { sha256 } from '../digest/call-digest';
import { parseArgs, tooLarge } from '../digest/parse-args';
import { ErrorCodes, GovernanceDeniedError, ReviewerError, ToolgateError } from '../errors';
import { compileHighStakesParts, highStakesMatcher } from '../matcher/high-stakes';
import { circuitBreaker, type CircuitBreaker } from '../resilience/circuit-breaker';
import { abortError, deadlineScope, LazyDeadlineScope } from '../resilience/deadline';
import { loadTelemetry, startSpan } from '../telemetry/spans';
import type {
  AgentInfo,
  AuditEntry,
  AuditSink,
  CallContext,
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
import { decisionCache, isFinalNo } from './decision-cache';
import { registerClaim } from './execution-claims';
import { registerIssuedLookup } from './issued-decisions';
import type { Gate, GateOptions, ReviewCallOptions } from './gate-types';
import { isAllowed } from './governed';
import { validateGateOptions, type ResolvedGateOptions } from './options';
import { proofCheck } from './proof-check';
import { attachReviewedArgs } from './reviewed-args';
import { humanDecisionOf } from '../human/human-decision';

/** What the gate keeps about a call it sent for a human review (onReview pause), by idempotency key. */
interface PendingReview {
  digest: string;
  canonicalArgs: string;
  agent?: AgentInfo;
  context?: CallContext;
  /** Epoch ms after which a human answer is too late (REVIEW_EXPIRED). */
  expiresAt?: number;
  approvals?: { required: number; groups?: string[] };
  /** The pending Decision as this gate issued it (what `issuedDecision` vouches for). */
  decision?: Decision;
}

/** What an audit record names about the call. */
type AuditCall = Pick<ToolCall, 'tool' | 'callId' | 'runId'> & { agentId?: string; args?: unknown };

/** Internal switches of decide(): the key an edited call is reviewed under, and not handing its `review` to onReview. */
interface DecideInternal {
  key?: string;
  holdReview?: boolean;
}

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
  const hs = compileHighStakesParts(o.highStakes);
  const matches = highStakesMatcher(hs);
  const breaker: CircuitBreaker | undefined = o.circuitBreaker
    ? circuitBreaker({ ...o.circuitBreaker, now: o.now })
    : undefined;
  const cache = decisionCache({ brief: 1_000, lasting: 10_000 });
  const proofs = proofCheck(o);
  const instanceId = randomUUID();
  const nextAuditId = auditIdSource();
  const auditNow = isoClock(() => o.now());
  const ordinals = new Map<string, number>();
  /** Counts the reviewer asks of this gate: of two answers for one key, the later ask's stands. */
  let asks = 0;
  /** What was sent for a human review, by idempotency key, so resolveReview can check, re-check and attach it. */
  const reviewed = new Map<string, PendingReview>();
  /** Distinct approvers so far of a pending review that needs more than one (`approvals.required`), by idempotency key. */
  const approverSets = new Map<string, Set<string>>();
  /**
   * Fail-open allows this gate issued, by idempotency key: not cached (a retry asks the reviewer
   * again), but the gate's own all the same when an adapter hands one back (`issuedDecision`).
   */
  const failedOpen = new Map<string, Decision>();
  /** The review each human answer id answered (`HumanDecision.answerId`), so one answer answers one review. */
  const answerUses = new Map<string, string>();
  /** Canonical JSON of arguments a human edited on the reviewer, by the edited call's digest (what decision.args reads). */
  const editedArgs = new Map<string, string>();
  const pendingAudits = new Set<Promise<unknown>>();
  /** Every sink seals (copies) an entry before append returns: the gate need not copy the Decision first. */
  const sinksSeal = o.audit.length > 0 && o.audit.every(sealsOnAppend);
  /**
   * One parse of the arguments for the reviewer and the record: only when the reviewer leaves its
   * request intact (the policy reviewer) and the sinks copy the entry before append returns, so
   * the copy the record holds is exactly the canonical arguments and nobody else holds it after.
   */
  const shareArgs = sinksSeal && leavesRequestIntact(o.reviewer);
  /** The reviewer settles its answer before review() returns (see askReviewer). */
  const settlesSynchronously = leavesRequestIntact(o.reviewer);
  let closing: Promise<void> | undefined;

  const failModeFor = (tool: string): FailMode => o.failMode.tools[tool] ?? o.failMode.default;

  function idempotencyKey(call: ToolCall, digest: string, dryRun: boolean): string {
    // Parts are %-encoded so ids containing ':' cannot collide ("a:b"+"c" vs "a"+"b:c").
    // With a ledger, a call id without a run id is keyed the same in every process (a replay in a
    // fresh gate must meet the key the first run claimed); without one, the gate instance scopes it.
    // The instance id is a UUID (hex digits and '-'), which %-encoding leaves as it is.
    const run = call.runId !== undefined && call.runId !== null ? encodeURIComponent(call.runId) : o.ledger && call.callId ? '' : instanceId;
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
    // In-process reviewers are typed only at compile time: take strings as strings, nothing else.
    const text = (x: unknown): string | undefined => (typeof x === 'string' && x.length > 0 ? x : undefined);
    const abstain = v.abstain === true;
    const reason = text(v.reason);
    const decidedBy = text(v.decidedBy);
    // base()'s fields in its order, then the verdict's (one object, no spread of a temporary).
    const d = {
      conditions: Array.isArray(v.conditions) ? v.conditions.map((c) => (typeof c === 'string' ? c : String(JSON.stringify(c) ?? c))) : [],
      evaluated: Array.isArray(v.evaluated) ? v.evaluated : [],
      tool: call.tool,
      digest,
      latencyMs: performance.now() - started,
    } as Decision;
    if (call.callId !== undefined) d.callId = call.callId;
    if (call.runId !== undefined) d.runId = call.runId;
    d.verdict = abstain ? 'deny' : v.verdict;
    d.reason = abstain ? `no reviewer had an answer for "${call.tool}" (${reason ?? 'no rule matched'}); denied` : (reason ?? v.verdict);
    d.source = sourceOf(decidedBy);
    d.idempotencyKey = key;
    const reviewId = text(v.reviewId);
    const proof = text(v.proof);
    if (reviewId) d.reviewId = reviewId;
    if (proof) d.proof = proof;
    if (decidedBy) d.decidedBy = decidedBy;
    const approvals = approvalsOf(v.approvals);
    if (approvals && (d.verdict === 'review' || approvals.approvers)) d.approvals = approvals;
    const expiresAt = text(v.expiresAt);
    if (expiresAt && d.verdict === 'review' && Number.isFinite(Date.parse(expiresAt))) d.expiresAt = new Date(Date.parse(expiresAt)).toISOString();
    return d;
  }

  async function writeAudit(kind: AuditEntry['kind'], call: AuditCall, decision: Decision | undefined, extra?: Partial<AuditEntry>): Promise<string | undefined> {
    return await writeAuditNow(kind, call, decision, extra);
  }

  /**
   * writeAudit, done synchronously when every sink is (memory, JSONL): the record id, or a promise
   * of it only when a sink is asynchronous. Throws (or rejects) when a sink fails.
   */
  function writeAuditNow(kind: AuditEntry['kind'], call: AuditCall, decision: Decision | undefined, extra?: Partial<AuditEntry>): string | undefined | Promise<string | undefined> {
    const sinks = o.audit;
    if (sinks.length === 0) return undefined;
    const id = nextAuditId();
    // Built field by field, in one shape (no spreads of optional parts): the sinks copy it as they
    // redact it, so nothing here is copied twice.
    const entryCall: AuditEntry['call'] = { tool: call.tool, digest: decision?.digest ?? '' };
    if (call.callId !== undefined) entryCall.callId = call.callId;
    if (call.runId !== undefined) entryCall.runId = call.runId;
    if (call.agentId !== undefined) entryCall.agentId = call.agentId;
    if (call.args !== undefined) entryCall.args = call.args;
    const entry: AuditEntry = { id, ts: auditNow(), kind, call: entryCall };
    if (extra !== undefined) Object.assign(entry, extra);
    if (decision) {
      // A copy (the caller keeps the Decision), without the id of an earlier record — unless the
      // Decision is copied as it is redacted right here (gate redaction, or sinks that seal on
      // append) and carries no such id.
      if (decision.auditId === undefined && (o.redact !== undefined || sinksSeal)) entry.decision = decision;
      else {
        // A rest copy rather than a spread and `delete`: a delete leaves the copy in dictionary
        // mode, which made its redaction copy and JSON.stringify of the record about 2x slower.
        const { auditId: _earlier, ...copy } = decision;
        entry.decision = copy;
      }
    }
    // Every sink redacts the default secret keys itself; the gate adds its own keys and paths.
    const safe = o.redact ? redactEntry(entry, o.redact) : entry;
    // One sink that writes synchronously (memory, JSONL) is done here: no promise to wait for.
    const written = sinks.length === 1 ? appendTo(sinks[0]!, safe) : Promise.all(sinks.map((sink) => appendTo(sink, safe)));
    if (!isPromiseLike(written)) return id;
    const p = Promise.resolve(written);
    pendingAudits.add(p);
    return p.then(() => id).finally(() => pendingAudits.delete(p));
  }

  /**
   * decide(), with a last line: anything that still throws (a getter on the call object that
   * throws, a bug) is an audited deny, so review/canI/enforce keep their promise never to throw
   * for the call they were handed.
   */
  async function decideSafely(call: ToolCall, callOptions: ReviewCallOptions | undefined, dryRun: boolean, internal?: DecideInternal): Promise<Decision> {
    const started = performance.now();
    try {
      return await decide(call, callOptions, dryRun, internal, started);
    } catch (error) {
      let tool = '(none)';
      try {
        const t: unknown = call?.tool;
        if (typeof t === 'string' && t.length > 0) tool = t.toWellFormed();
      } catch {
        // keep "(none)"
      }
      const message = `the gate could not read this call (${error instanceof Error ? error.name : typeof error}); denied`;
      const d = hardDeny({ tool, args: undefined }, '', started, ErrorCodes.INPUT_INVALID, message);
      if (!dryRun) d.auditId = await safeAudit('review', { tool }, d);
      return d;
    }
  }

  /** Shared path of review() and canI(). Never throws for bad input: that is a deny in every fail mode. */
  async function decide(call: ToolCall, callOptions: ReviewCallOptions | undefined, dryRun: boolean, internal: DecideInternal | undefined, started: number): Promise<Decision> {
    const tool: unknown = (call as Partial<ToolCall> | null | undefined)?.tool;
    if (typeof tool !== 'string' || tool.length === 0) {
      // Not a call the gate can name: nothing may run, and the attempt is kept under "(none)".
      const none: ToolCall = { tool: '(none)', args: undefined };
      const d = hardDeny(none, '', started, ErrorCodes.TOOL_NAME_INVALID, 'call.tool must be a non-empty string; denied');
      if (!dryRun) d.auditId = await safeAudit('review', { tool: none.tool }, d);
      return d;
    }
    const byName = hs.byName(tool);
    // The passthrough of a plain name reads nothing else: a Set or cached pattern lookup.
    if (!byName && !hs.judged(tool)) return passthrough(call, started);
    if (!tool.isWellFormed()) {
      // Not well-formed Unicode (a lone surrogate): no digest, no reviewer — and the audit record
      // names the tool with U+FFFD in place of the broken code units, so the attempt is kept.
      const shown = tool.toWellFormed();
      const d = hardDeny({ ...call, tool: shown, callId: undefined, runId: undefined }, '', started, ErrorCodes.TOOL_NAME_INVALID, `tool name ${JSON.stringify(shown)} is not well-formed Unicode; denied`);
      if (!dryRun) d.auditId = await safeAudit('review', safeAuditCall({ ...call, tool: shown }), d);
      return d;
    }

    // 1. Input: arguments must be JSON, within bounds. Bad input is a deny in every fail mode.
    // The canonical text of the arguments is what is digested, reviewed, proven, audited and run.
    let canonicalArgs: string;
    let digest: string;
    try {
      const parsed = parseArgs(call.args, o.maxArgsBytes);
      canonicalArgs = canonicalJson(parsed ?? {});
      const canonical = `{"args":${canonicalArgs},"tool":${canonicalJson(tool)}}`;
      if (canonical.length > o.maxArgsBytes) tooLarge(canonical.length, o.maxArgsBytes);
      digest = sha256(canonical);
    } catch (error) {
      const e = error instanceof ToolgateError ? error : new ToolgateError(ErrorCodes.ARGS_NOT_JSON, String(error));
      const d = hardDeny(wellFormedIds(call), '', started, e.code, e.message);
      if (!dryRun) d.auditId = await safeAudit('review', safeAuditCall(call), d);
      return d;
    }
    // A `{ tool, when }` predicate judges the parsed copy, never the caller's object or string.
    if (!byName && !hs.when(tool, JSON.parse(canonicalArgs))) {
      return attachReviewedArgs({ ...passthrough(call, started), digest }, canonicalArgs);
    }

    if (closing) {
      // A closed gate is not an outage: its reviewer and sinks are gone, so nothing may run
      // (failing open here would allow every straggler call of a shutting-down app, unrecorded).
      return hardDeny(wellFormedIds(call), digest, started, ErrorCodes.GATE_CLOSED, 'the gate is closed; denied');
    }

    // 2. The other fields: sent to the reviewer and recorded, so they must be well-formed JSON.
    const fields = readCallFields(call, o.agent);
    if (fields instanceof ToolgateError) {
      const d = hardDeny(wellFormedIds(call), digest, started, fields.code, fields.message);
      if (!dryRun) d.auditId = await safeAudit('review', safeAuditCall(call), d);
      return attachReviewedArgs(d, canonicalArgs);
    }
    const given: unknown = (callOptions as { signal?: unknown } | undefined)?.signal;
    if (given !== undefined && !isSignal(given)) {
      const d = hardDeny(call, digest, started, ErrorCodes.INPUT_INVALID, 'options.signal is not an AbortSignal; denied');
      if (!dryRun) d.auditId = await safeAudit('review', { tool, callId: call.callId, runId: call.runId, agentId: fields.agent?.id }, d);
      return attachReviewedArgs(d, canonicalArgs);
    }
    const { agent, context } = fields;
    const auditCall = { tool, callId: call.callId, runId: call.runId, agentId: agent?.id };
    /** The reviewer's parsed arguments, when the record may hold the same copy (see `shareArgs`). */
    let reviewedCopy: unknown;
    const auditArgs = (): unknown => (o.audit.length > 0 ? (reviewedCopy ?? JSON.parse(canonicalArgs)) : undefined);
    const signal = callOptions?.signal;

    const key = internal?.key ?? idempotencyKey(call, digest, dryRun);
    const span = o.telemetry ? startSpan(call) : undefined;
    const done = (d: Decision): Decision => {
      if (dryRun) d.dryRun = true;
      const ended = span?.end(d) ?? d;
      // A human's edit on the reviewer answers for another digest: its arguments are the edited ones.
      const args = ended.digest === digest ? canonicalArgs : editedArgs.get(ended.digest);
      return args === undefined ? ended : attachReviewedArgs(ended, args);
    };
    const aborted = (d: Decision): Decision =>
      hardDeny(call, digest, started, ErrorCodes.REVIEWER_ABORTED, `review cancelled by the caller (${abortReason(signal)}); denied`, { idempotencyKey: key, ...(d.reviewId ? { reviewId: d.reviewId } : {}) });
    /** The decision cache's write count when it missed this key (its `set` then skips the lookups). */
    let missedAt: number | undefined;
    try {
      if (signal?.aborted) {
        const d = aborted({} as Decision);
        if (!dryRun) d.auditId = await safeAudit('review', { ...auditCall, args: auditArgs() }, d);
        return done(d);
      }
      // 3. Already decided (framework re-execution, resume): the same Decision, no second review.
      if (!dryRun) {
        let cached = cache.get(key);
        if (cached === undefined) missedAt = cache.mark();
        // One run per key, whatever the digest (a human's edit given on the reviewer is kept under
        // the original key with the edited digest: once it ran, the original call is not asked again).
        // Otherwise the key carries 64 bits of the digest, and a cached Decision must match all 256.
        if (cached && !cached.executed && cached.decision.digest !== digest) cached = undefined;
        if (cached?.executed) {
          const d = hardDeny(call, digest, started, ErrorCodes.ALREADY_EXECUTED, `this call (${key}) already ran; a review authorises one execution`, { reviewId: cached.decision.reviewId, idempotencyKey: key });
          d.auditId = await safeAudit('review', { ...auditCall, args: auditArgs() }, d);
          return done(d);
        }
        if (o.ledger) {
          // The durable record answers for every process: it ran elsewhere, or was decided elsewhere.
          const found = await ledgerLookup(key, digest);
          if (found instanceof ToolgateError) {
            const d = hardDeny(call, digest, started, found.code, `${found.message}; denied`, { idempotencyKey: key });
            d.auditId = await safeAudit('review', { ...auditCall, args: auditArgs() }, d);
            return done(d);
          }
          if (found?.executed) {
            const d = hardDeny(call, digest, started, ErrorCodes.ALREADY_EXECUTED, `this call (${key}) already ran; a review authorises one execution`, { ...(found.decision?.reviewId ? { reviewId: found.decision.reviewId } : {}), idempotencyKey: key });
            if (found.decision) cache.markExecuted(key, found.decision);
            d.auditId = await safeAudit('review', { ...auditCall, args: auditArgs() }, d);
            return done(d);
          }
          if (found?.decision) {
            cache.set(key, found.decision);
            return done({ ...found.decision });
          }
        }
        if (cached) return done({ ...cached.decision });
      }

      // 4. Ask the reviewer, within one deadline, unless the circuit is open.
      const request: ReviewRequest = { idempotencyKey: key, call: { tool, args: JSON.parse(canonicalArgs) }, digest };
      if (shareArgs) reviewedCopy = request.call.args;
      if (call.callId !== undefined) request.call.callId = call.callId;
      if (call.runId !== undefined) request.call.runId = call.runId;
      if (agent) request.agent = agent;
      if (context) request.context = context;
      if (dryRun) request.dryRun = true;

      let decision: Decision;
      const asked = ++asks;
      const verdict = await askReviewer(request, signal);
      if (verdict instanceof ToolgateError && verdict.code === ErrorCodes.REVIEWER_ABORTED) {
        // The caller cancelled: there is no decision, and nothing may run — whatever the fail mode.
        decision = hardDeny(call, digest, started, verdict.code, `review cancelled by the caller (${verdict.message}); denied`, { idempotencyKey: key });
      } else if (verdict instanceof ReviewerError && isRefusal(verdict.status)) {
        // The reviewer answered, and its answer was no (bad key, wrong scope, conflict, too large):
        // not an outage, so no fail mode turns it into an allow.
        decision = hardDeny(call, digest, started, ErrorCodes.REVIEWER_REJECTED, `the reviewer refused the request (${verdict.message}); denied`, { idempotencyKey: key });
      } else if (verdict instanceof ToolgateError && verdict.code === ErrorCodes.VERDICT_INVALID) {
        // The reviewer was reachable and answered, but not with a verdict: nonsense is not an outage.
        decision = hardDeny(call, digest, started, verdict.code, `${verdict.message}; denied whatever the fail mode`, { idempotencyKey: key });
      } else if (verdict instanceof ToolgateError) {
        decision = failDecision(call, digest, started, verdict, key);
      } else if (verdict.expired === true || verdict.edited !== undefined) {
        // A human answered on the reviewer already (an expired review, or an approval with edits).
        decision = await fromHumanOnReviewer(call, digest, started, key, verdict, undefined);
      } else if (verdict.digest !== undefined && verdict.digest !== digest) {
        decision = hardDeny(call, digest, started, ErrorCodes.VERDICT_INVALID, `reviewer "${o.reviewer.name}" answered for another call (digest ${String(verdict.digest).slice(0, 80)}); denied whatever the fail mode`, { idempotencyKey: key });
      } else {
        decision = fromVerdict(call, digest, started, key, verdict);
        decision = await proofs.check(decision, (code, msg) => hardDeny(call, digest, started, code, msg, { reviewId: decision.reviewId, proof: decision.proof, idempotencyKey: key }));
        if (decision.verdict === 'review' && !dryRun && !signal?.aborted && !internal?.holdReview) {
          decision = await onReview(call, digest, started, key, decision, signal);
        }
      }
      // An abort that arrived while the proof was checked (or a human was awaited) still cancels.
      if (signal?.aborted && decision.verdict !== 'deny') decision = aborted(decision);
      decision.latencyMs = performance.now() - started;
      if (dryRun) return done(decision);

      const recordedArgs = decision.digest !== digest && editedArgs.has(decision.digest) ? (o.audit.length > 0 ? JSON.parse(editedArgs.get(decision.digest)!) : undefined) : auditArgs();
      const audited = safeAuditNow('review', { ...auditCall, args: recordedArgs }, decision);
      decision.auditId = typeof audited === 'object' ? await audited : audited;
      if (decision.error?.code === ErrorCodes.AUDIT_WRITE_FAILED) return done(decision);
      if (signal?.aborted && decision.verdict !== 'deny') {
        // Cancelled while the allow was being written: record the deny the caller gets, too.
        const d = aborted(decision);
        d.auditId = await safeAudit('review', { ...auditCall, args: auditArgs() }, d);
        return done(d);
      }
      if (isConclusive(decision) && decision.source !== 'human' && missedAt !== cache.mark()) {
        // A human answered this call while the reviewer was being asked (a framework re-ran it):
        // the human's answer stands, as if this review had found it in the cache. (Nothing was
        // written to the cache since it missed, on the common path: no answer can have arrived.)
        const held = cache.get(key)?.decision;
        if (held && (isFinalNo(held) || (held.source === 'human' && held.digest === digest))) return done({ ...held });
      }
      // An expiry the reviewer answered is a final no, kept like a human's (resolveReview refuses to
      // approve the review after it, here and in every process sharing the ledger).
      const kept = isConclusive(decision) || isFinalNo(decision);
      // A later ask of this call was answered first: that answer stands (not recorded over it).
      const stale = missedAt !== cache.mark() && cache.askedLater(key, asked);
      if (kept && o.ledger && !stale) {
        const failed = await ledgerRecord(key, decision);
        if (failed) {
          const d = hardDeny(call, digest, started, failed.code, `${failed.message}; denied because an unrecorded decision cannot authorise a call`, { idempotencyKey: key });
          d.auditId = await safeAudit('review', { ...auditCall, args: auditArgs() }, d);
          return done(d);
        }
      }
      if (kept) {
        cache.set(key, decision, missedAt, asked);
        if (!isConclusive(decision)) reviewed.delete(key);
      } else if (decision.source === 'fail_open') remember(failedOpen, key, decision);
      else if (decision.verdict === 'review') {
        // A paused review is due by the reviewer's deadline, else the gate's reviewTimeoutMs from when
        // it was first asked: a framework resume asks again for the same call, and that must not
        // move the deadline (a review that is asked again would otherwise never expire).
        const earlier = reviewed.get(key);
        if (decision.expiresAt === undefined && earlier?.digest === digest && earlier.expiresAt !== undefined) {
          decision.expiresAt = new Date(earlier.expiresAt).toISOString();
        }
        decision.expiresAt ??= new Date(o.now() + o.reviewTimeoutMs).toISOString();
        if (o.ledger && !(earlier?.digest === digest && earlier.expiresAt !== undefined)) {
          // Not asked here before: the deadline of the first ask in any process sharing the ledger (a
          // restart, another server) — an adapter's resume may carry none it can trust (the AI SDK's).
          const due = await firstDeadline(key, digest, Date.parse(decision.expiresAt));
          if (due instanceof ToolgateError) {
            const d = hardDeny(call, digest, started, due.code, `${due.message}; denied because the review's deadline could not be recorded`, { idempotencyKey: key });
            d.auditId = await safeAudit('review', { ...auditCall, args: auditArgs() }, d);
            return done(d);
          }
          decision.expiresAt = new Date(due).toISOString();
        }
        const entry: PendingReview = { digest, canonicalArgs, expiresAt: Date.parse(decision.expiresAt), decision };
        if (agent) entry.agent = agent;
        if (context) entry.context = context;
        if (decision.approvals) entry.approvals = decision.approvals;
        remember(reviewed, key, entry);
      }
      return done(decision);
    } catch (error) {
      span?.fail(error);
      throw error;
    }
  }

  /** The ledger's record for `key` when it is for this digest; a LEDGER_UNAVAILABLE error when it cannot be read. */
  async function ledgerLookup(key: string, digest: string): Promise<{ executed: boolean; decision?: Decision } | undefined | ToolgateError> {
    try {
      const entry = await o.ledger!.get(key);
      if (!entry) return undefined;
      // The key carries 64 bits of the digest; a record for another call under it proves nothing.
      if (entry.digest !== digest) return entry.executed ? { executed: true } : undefined;
      const decision = entry.decision === undefined ? undefined : (JSON.parse(entry.decision) as Decision);
      return decision && decision.digest === digest ? { executed: entry.executed, decision } : { executed: entry.executed };
    } catch (error) {
      return ledgerError(error);
    }
  }

  /**
   * Binds `answerId` to the review it answers (`reviewKey`), here and in the ledger: undefined when it
   * is that review's (first use, or the same review again), else why it is refused.
   */
  async function spendAnswer(answerId: string, reviewKey: string): Promise<ToolgateError | undefined> {
    const already = (other: string) =>
      new ToolgateError(
        ErrorCodes.REVIEW_ALREADY_DECIDED,
        `this human answer (${JSON.stringify(answerId.slice(0, 80))}) already answered another review (${other.slice(0, 120)}); one answer answers one review — ask the human again; denied`,
      );
    const held = answerUses.get(answerId);
    if (held !== undefined) return held === reviewKey ? undefined : already(held);
    if (o.ledger) {
      const ledgerKey = `tg1-answer:${answerId}`;
      const tag = sha256(reviewKey);
      try {
        if (!(await o.ledger.claim(ledgerKey, tag))) {
          const entry = await o.ledger.get(ledgerKey);
          if (entry?.digest !== tag) return already('a review in this or another process');
        }
      } catch (error) {
        const e = ledgerError(error);
        return new ToolgateError(e.code, `${e.message}; the human answer could not be recorded as used; denied`);
      }
    }
    // Oldest answer out, one at a time (not a clear: forgetting every answer at once would let the
    // approval used just before it back in for another review, after a single further answer).
    if (answerUses.size >= 10_000) answerUses.delete(answerUses.keys().next().value!);
    answerUses.set(answerId, reviewKey);
    return undefined;
  }

  /**
   * The deadline of the first ask of the review under `key` in any process sharing the ledger (kept
   * under `tg1-due:<key>`, first writer wins): the earlier of that and `due`; the error when the
   * ledger cannot be reached.
   */
  async function firstDeadline(key: string, digest: string, due: number): Promise<number | ToolgateError> {
    const ledgerKey = `tg1-due:${key}`;
    try {
      if (await o.ledger!.claim(ledgerKey, `${due}:${digest}`)) return due;
      const entry = await o.ledger!.get(ledgerKey);
      const m = /^(\d+):(.*)$/s.exec(entry?.digest ?? '');
      const first = m && m[2] === digest ? Number(m[1]) : Number.NaN;
      return Number.isFinite(first) ? Math.min(first, due) : due;
    } catch (error) {
      return ledgerError(error);
    }
  }

  /** Records a conclusive Decision in the ledger; the error when it could not. */
  async function ledgerRecord(key: string, decision: Decision): Promise<ToolgateError | undefined> {
    try {
      const { auditId: _a, latencyMs: _l, ...kept } = decision;
      await o.ledger!.record(key, decision.digest, JSON.stringify({ ...kept, latencyMs: 0 }));
      return undefined;
    } catch (error) {
      return ledgerError(error);
    }
  }

  function ledgerError(error: unknown): ToolgateError {
    const message = error instanceof Error ? error.message : String(error);
    return new ToolgateError(ErrorCodes.LEDGER_UNAVAILABLE, `the ledger (${o.ledger?.name ?? 'ledger'}) cannot be reached: ${message.slice(0, 200)}`, { cause: error });
  }

  function passthrough(call: ToolCall, started: number): Decision {
    const d: Decision = { verdict: 'allow', reason: 'not a high-stakes tool', source: 'not_high_stakes', conditions: [], evaluated: [], tool: call.tool, digest: '', latencyMs: performance.now() - started };
    if (call.callId !== undefined) d.callId = call.callId;
    return d;
  }

  /** Calls the reviewer. Returns its verdict, or the ToolgateError that stands for its failure. */
  async function askReviewer(request: ReviewRequest, signal?: AbortSignal): Promise<ReviewerVerdict | ToolgateError> {
    if (breaker && !breaker.tryAcquire()) {
      return new ReviewerError(ErrorCodes.CIRCUIT_OPEN, `circuit open after repeated reviewer failures; retrying after ${o.circuitBreaker ? o.circuitBreaker.cooldownMs : 0} ms`);
    }
    const now = o.now();
    // A reviewer that answers within its synchronous call (the policy reviewer) cannot be overtaken
    // by the deadline timer or by an abort (neither can fire while it runs, and its promise settles
    // first): no timer and no race for it, unless the caller has cancelled already. Its signal is
    // still there if it reads one.
    let scope: LazyDeadlineScope | undefined = settlesSynchronously && !signal?.aborted ? undefined : new LazyDeadlineScope(o.timeoutMs, signal, now);
    const reviewOptions = {
      get signal(): AbortSignal {
        scope ??= new LazyDeadlineScope(o.timeoutMs, signal, now);
        return scope.signal;
      },
      deadline: now + o.timeoutMs,
    };
    try {
      const answer = o.reviewer.review(request, reviewOptions);
      const verdict = await (scope ? scope.race(answer) : answer);
      breaker?.onSuccess();
      // The reviewer answered: an answer that is not a verdict is a deny, never an outage.
      return isVerdict(verdict) ? verdict : invalidVerdict(verdict, o.reviewer.name);
    } catch (error) {
      const e = asReviewerError(error, reviewOptions.signal, o.reviewer.name);
      // A caller's cancellation, or a reachable reviewer's nonsense, says nothing bad about its health.
      if (e.code === ErrorCodes.REVIEWER_ABORTED || e.code === ErrorCodes.VERDICT_INVALID) breaker?.onSuccess();
      else breaker?.onFailure();
      return e;
    } finally {
      scope?.dispose();
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
      if (!isVerdict(v)) throw invalidVerdict(v, o.reviewer.name);
      if ((v.reviewId === undefined || v.reviewId === pending.reviewId) && (v.expired === true || v.edited !== undefined)) {
        return await fromHumanOnReviewer(call, digest, started, key, v, pending.reviewId);
      }
      if ((v.digest !== undefined && v.digest !== digest) || (v.reviewId !== undefined && v.reviewId !== pending.reviewId)) {
        // A human decision for another review or another call is no decision for this one.
        return hardDeny(call, digest, started, ErrorCodes.VERDICT_INVALID, `the decision received while waiting is for another ${v.reviewId !== undefined && v.reviewId !== pending.reviewId ? 'review' : 'call'}; denied`, { reviewId: pending.reviewId, idempotencyKey: key });
      }
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

  /**
   * A human's answer given on the reviewer: `expired` is REVIEW_EXPIRED (never a rejection);
   * `edited` is an approval of the same tool with other arguments, accepted only when it is
   * consistent — `originalDigest` is this call's digest, `digest` is the digest of `{ tool, args }`,
   * the verdict allows, and the proof (when keys are configured) binds the edited digest. Anything
   * else is a deny whatever the fail mode. The Decision then carries `edited`, and `decision.args`
   * reads the edited arguments.
   */
  async function fromHumanOnReviewer(call: ToolCall, digest: string, started: number, key: string, v: ReviewerVerdict, reviewId: string | undefined): Promise<Decision> {
    const rid = typeof v.reviewId === 'string' && v.reviewId.length > 0 ? v.reviewId : reviewId;
    const ids: Partial<Decision> = { idempotencyKey: key, ...(rid ? { reviewId: rid } : {}) };
    if (v.expired === true) {
      const message = 'no one answered before the deadline: the review expired and the call was not run';
      return hardDeny(call, digest, started, ErrorCodes.REVIEW_EXPIRED, message, { ...ids, decidedBy: 'expiry' });
    }
    const bad = (what: string): Decision => hardDeny(call, digest, started, ErrorCodes.INPUT_INVALID, `the reviewer's edited answer ${what}; denied whatever the fail mode`, ids);
    const e: unknown = v.edited;
    if (typeof e !== 'object' || e === null) return bad('is not an object');
    const { args, digest: editedDigest, originalDigest } = e as { args?: unknown; digest?: unknown; originalDigest?: unknown };
    if (originalDigest !== digest) return bad('is for another call (its originalDigest is not this call\'s digest)');
    if (v.verdict !== 'allow' && v.verdict !== 'allow_with_conditions') return bad(`has verdict ${JSON.stringify(String(v.verdict)).slice(0, 40)}: only an approval carries edited arguments`);
    if (typeof args === 'string') return bad('carries its arguments as a string, not as JSON');
    let ca: string;
    try {
      ca = canonicalJson(args ?? {});
    } catch {
      return bad('carries arguments that are not JSON');
    }
    if (ca.length > o.maxArgsBytes) return bad(`carries arguments over maxArgsBytes (${o.maxArgsBytes})`);
    const computed = sha256(`{"args":${ca},"tool":${canonicalJson(call.tool)}}`);
    if (computed !== editedDigest) return bad('does not match its digest (the arguments are not the ones the digest covers; were they redacted by the reviewer?)');
    if (v.digest !== undefined && v.digest !== computed) return bad('names another digest than the edited call\'s');
    const edited = fromVerdict({ ...call, args: undefined }, computed, started, key, { ...v, ...(rid ? { reviewId: rid } : {}) });
    edited.edited = { originalDigest: digest, digest: computed, args: redact(JSON.parse(ca) as unknown, o.redact, 'args') };
    const checked = await proofs.check(edited, (code, msg) => hardDeny(call, digest, started, code, msg, { ...ids, ...(edited.proof ? { proof: edited.proof } : {}) }), { originalDigest: digest });
    if (checked.digest === computed) remember(editedArgs, computed, ca);
    return checked;
  }

  /** Audit, and turn a failed write into a deny: an unrecorded decision must not authorise anything. */
  async function safeAudit(kind: AuditEntry['kind'], call: AuditCall, decision: Decision): Promise<string | undefined> {
    return await safeAuditNow(kind, call, decision);
  }

  /** safeAudit without a promise when the sinks are synchronous (the audited path's common case). */
  function safeAuditNow(kind: AuditEntry['kind'], call: AuditCall, decision: Decision): string | undefined | Promise<string | undefined> {
    const failed = (error: unknown): undefined => {
      const message = `audit write failed (${(error as Error)?.message ?? String(error)}); denied because an unrecorded decision cannot authorise a call`;
      if (isAllowed(decision) || decision.verdict === 'review') {
        Object.assign(decision, { verdict: 'deny', source: 'fail_closed', reason: message });
      }
      decision.error = { code: ErrorCodes.AUDIT_WRITE_FAILED, message };
      return undefined;
    };
    try {
      const written = writeAuditNow(kind, call, decision);
      return typeof written === 'object' ? written.then((id) => id, failed) : written;
    } catch (error) {
      return failed(error);
    }
  }


  const gate: Gate = {
    isHighStakes: (tool, args) => matches(tool, args),

    review: (call, callOptions) => decideSafely(call, callOptions, false),

    canI: (call, callOptions) => decideSafely(call, callOptions, true),

    async enforce(call, callOptions) {
      const decision = await decideSafely(call, callOptions, false);
      if (!isAllowed(decision)) throw new GovernanceDeniedError(decision);
      return decision;
    },

    async resolveReview(decision, answer: HumanAnswer) {
      try {
        return await resolve(decision, answer);
      } catch (error) {
        // Something in what was handed in threw (a getter): no human yes can come out of that.
        const message = `resolveReview could not read the Decision or the answer (${error instanceof Error ? error.name : typeof error}); denied`;
        const d = hardDeny({ tool: '(none)', args: undefined }, '', performance.now(), ErrorCodes.INPUT_INVALID, message);
        d.auditId = await safeAudit('human_decision', { tool: d.tool }, d);
        return d;
      }
    },

    async reportOutcome(decision, outcome: Outcome) {
      try {
        await report(decision, outcome);
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

  async function resolve(decision: Decision, rawAnswer: HumanAnswer): Promise<Decision> {
    const started = performance.now();
    // Never throws: whatever is handed in, the answer is a Decision, and only a well-formed human
    // yes to a pending review of this very call is an allow.
    const shape = checkPendingDecision(decision);
    const ids = shape.ok ? decision : wellFormedIds({ tool: (decision as Partial<Decision> | null)?.tool ?? '(none)', args: undefined, callId: (decision as Partial<Decision> | null)?.callId, runId: (decision as Partial<Decision> | null)?.runId } as ToolCall);
    const refuse = async (code: string, message: string): Promise<Decision> => {
      const base: Partial<Decision> = shape.ok ? { ...decision } : {};
      const denied = hardDeny({ tool: ids.tool, args: undefined, callId: ids.callId, runId: ids.runId } as ToolCall, shape.ok ? decision.digest : '', started, code, message, { ...base, source: 'fail_closed' });
      delete denied.proof;
      delete denied.auditId;
      denied.auditId = await safeAudit('human_decision', { tool: denied.tool, callId: denied.callId, runId: denied.runId }, denied);
      return denied;
    };
    if (!shape.ok) return refuse(ErrorCodes.INPUT_INVALID, `resolveReview: ${shape.problem}; denied`);
    if (decision.dryRun) {
      // canI recorded nothing and asked no one: approving it would skip the real review (its
      // limits, budgets and record) and pre-authorise the call under the same key.
      return refuse(ErrorCodes.INPUT_INVALID, 'resolveReview: a canI (dry run) Decision cannot be approved; review the call first; denied');
    }
    let answer = humanDecisionOf(rawAnswer);
    if (!answer) {
      return refuse(ErrorCodes.INPUT_INVALID, 'resolveReview: the answer is not a human decision; pass { type: "approve" | "edit" | "reject" | "expired", … } or { approved: true | false }; denied');
    }
    const key = decision.idempotencyKey;
    if (key !== undefined && !keyFitsDigest(key, decision.digest)) {
      // The key ends with the digest of the call it was issued for: a Decision re-keyed to another
      // call would write this answer (a reject, an expiry: a final no) under that call's key.
      return refuse(ErrorCodes.INPUT_INVALID, "resolveReview: this Decision's idempotencyKey was not issued for its digest (a Decision re-keyed to another call); denied");
    }
    let ran = key ? cache.get(key) : undefined;
    if (ran?.executed && ran.decision.digest === decision.digest) {
      return refuse(ErrorCodes.ALREADY_EXECUTED, 'this call already ran; a review authorises one execution');
    }
    if (key && o.ledger) {
      // Another process may have run the call, or a human there may have said no.
      const found = await ledgerLookup(key, decision.digest);
      if (found instanceof ToolgateError) return refuse(found.code, `${found.message}; denied`);
      if (found?.executed) return refuse(ErrorCodes.ALREADY_EXECUTED, 'this call already ran; a review authorises one execution');
      if (found?.decision && !(ran?.decision.source === 'human' && ran.decision.verdict === 'deny')) ran = { decision: found.decision, executed: false };
    }
    // The reviewed arguments: the Decision's own (checked against its digest), else what this gate
    // sent for review under this key. A pending review this gate knows for another call is refused.
    let canonicalArgs: string | undefined;
    const pending = key ? reviewed.get(key) : undefined;
    if (pending && pending.digest !== decision.digest) {
      return refuse(ErrorCodes.INPUT_INVALID, `resolveReview: this Decision's digest is not the one reviewed under ${key} (a human answer for another call); denied`);
    }
    if (Object.hasOwn(decision, 'args')) {
      const ca = argsJson(decision.args);
      if (ca === undefined || sha256(`{"args":${ca},"tool":${canonicalJson(decision.tool)}}`) !== decision.digest) {
        return refuse(ErrorCodes.INPUT_INVALID, "resolveReview: the Decision's args are not the arguments its digest covers; denied");
      }
      canonicalArgs = ca;
    } else if (pending) {
      canonicalArgs = pending.canonicalArgs;
    }

    // One answer id answers one review: the same approval handed back for another review (a
    // client-held history replayed under another run id) authorises nothing there.
    const answerId = (answer.type === 'approve' || answer.type === 'edit') && answer.answerId ? answer.answerId : undefined;
    if (answerId !== undefined) {
      const spent = await spendAnswer(answerId, key ?? `digest:${decision.digest}`);
      if (spent) return refuse(spent.code, spent.message);
    }

    // An edit: the same tool with other arguments, as canonical JSON and its digest.
    let edit: { canonicalArgs: string; digest: string } | undefined;
    if (answer.type === 'edit') {
      if (answer.tool !== undefined && answer.tool !== decision.tool) {
        return refuse(ErrorCodes.EDIT_TOOL_CHANGED, `an edit changes the arguments only: it names "${answer.tool.slice(0, 200)}", the review is for "${decision.tool}"; ask the model for a new call instead; denied`);
      }
      try {
        const ca = canonicalJson(parseArgs(answer.args, o.maxArgsBytes) ?? {});
        edit = { canonicalArgs: ca, digest: sha256(`{"args":${ca},"tool":${canonicalJson(decision.tool)}}`) };
      } catch {
        return refuse(ErrorCodes.INPUT_INVALID, 'resolveReview: the edited arguments are not JSON (pass an object, or a JSON string that parses to one); denied');
      }
      if (edit.digest === decision.digest) {
        // Edited back to what was asked: that is an approval of the call as it stands.
        answer = { type: 'approve', ...(answer.approver ? { approver: answer.approver } : {}), ...(answer.reason ? { reason: answer.reason } : {}) };
        edit = undefined;
      }
    }
    const approver = answer.type !== 'expired' && answer.approver ? answer.approver : 'human';

    // What a human already answered for this call (here, or in another process through the ledger).
    const prior = ran && ran.decision.digest === decision.digest ? priorAnswer(ran.decision) : undefined;
    if (answer.type === 'approve' || answer.type === 'edit') {
      if (prior === 'expired') return refuse(ErrorCodes.REVIEW_EXPIRED, 'this review expired before anyone answered; an expired review cannot be approved: let the model ask again; denied');
      if (prior === 'rejected') {
        // A human's no is final: a later yes for the same call (a replayed approval) does not undo it.
        return refuse(ErrorCodes.REVIEW_ALREADY_DECIDED, `a human already rejected this call (${ran?.decision.decidedBy ?? 'human'}); denied`);
      }
      if (prior === 'edited' && !(edit && ran?.decision.edited?.digest === edit.digest)) {
        return refuse(ErrorCodes.REVIEW_ALREADY_DECIDED, `a human already answered this review with an edit (${ran?.decision.decidedBy ?? 'human'}): the edited call runs instead of this one; denied`);
      }
      if (prior === 'approved' && edit) {
        return refuse(ErrorCodes.REVIEW_ALREADY_DECIDED, `a human already approved this call as asked (${ran?.decision.decidedBy ?? 'human'}); an edit now would authorise a second call; denied`);
      }
      // The earlier of the gate's deadline and the one the Decision carries: a Decision handed back can
      // only bring it forward (a review asked again in a new process gets a fresh deadline of its own,
      // and must not outlive the one the human was given).
      const carried = typeof decision.expiresAt === 'string' ? Date.parse(decision.expiresAt) : Number.NaN;
      const due = Math.min(pending?.expiresAt ?? Number.POSITIVE_INFINITY, Number.isFinite(carried) ? carried : Number.POSITIVE_INFINITY);
      if (Number.isFinite(due) && o.now() > due) {
        // Too late: the review is expired, and recorded so (a later approval is refused the same way).
        return recordHuman(expiredDecision(decision), key, { answer: answer.type, approver, expiredAt: new Date(due).toISOString() }, canonicalArgs);
      }
    }

    if (answer.type === 'expired') return recordHuman(expiredDecision(decision), key, { answer: 'expired' }, canonicalArgs);
    if (answer.type === 'reject') {
      const resolved: Decision = { ...decision, verdict: 'deny', source: 'human', reason: answer.message ?? `rejected by ${approver}`, decidedBy: `human:${approver}`, latencyMs: decision.latencyMs };
      return recordHuman(resolved, key, { answer: 'reject', approver }, canonicalArgs);
    }
    if (edit) return resolveEdit(decision, edit, approver, answer.type === 'edit' ? answer.reason : undefined, key, pending);

    // approve
    const required = Math.max(1, pending?.approvals?.required ?? 0, decision.approvals?.required ?? 0);
    if (required > 1 && key) {
      // More than one person must say yes: count distinct approvers; the review stays pending until enough did.
      const set = approverSets.get(key) ?? new Set<string>();
      set.add(approver);
      remember(approverSets, key, set);
      if (set.size < required) {
        const waiting: Decision = { ...decision, approvals: { ...(decision.approvals ?? pending?.approvals ?? { required }), required, approvers: [...set] }, reason: `${set.size} of ${required} approvals (${[...set].join(', ')}); another approver must approve` };
        delete waiting.auditId;
        waiting.auditId = await auditHuman(waiting, { answer: 'approve', approver, approvals: `${set.size} of ${required}` });
        return canonicalArgs === undefined ? waiting : attachReviewedArgs(waiting, canonicalArgs);
      }
    }
    if (canonicalArgs !== undefined) {
      // Re-check at resume: decide the call again as a dry run (no human asked, nothing recorded or
      // spent). A policy that now denies it wins over an approval given while it was paused.
      const call: ToolCall = { tool: decision.tool, args: JSON.parse(canonicalArgs) };
      if (decision.callId !== undefined) call.callId = decision.callId;
      if (decision.runId !== undefined) call.runId = decision.runId;
      if (pending?.agent) call.agent = pending.agent;
      if (pending?.context) call.context = pending.context;
      const now = await decideSafely(call, undefined, true);
      if (now.verdict === 'deny') {
        if (now.source === 'fail_closed') {
          return refuse(now.error?.code ?? ErrorCodes.REVIEWER_FAILED, `the call could not be re-checked before it runs (${now.reason}); denied`);
        }
        return refuse(ErrorCodes.POLICY_CHANGED, `the policy now denies this call (${now.reason}); an approval given while it was paused does not override it; denied`);
      }
    }
    const reason = answer.type === 'approve' ? answer.reason : undefined;
    const resolved: Decision = {
      ...decision,
      verdict: 'allow',
      source: 'human',
      reason: reason ?? `approved by ${approver}`,
      decidedBy: `human:${approver}`,
      latencyMs: decision.latencyMs,
    };
    if (required > 1 && key) resolved.approvals = { ...(resolved.approvals ?? { required }), required, approvers: [...(approverSets.get(key) ?? [])] };
    delete resolved.expiresAt;
    const done = await recordHuman(resolved, key, { answer: 'approve', approver }, canonicalArgs);
    if (key && !done.error) approverSets.delete(key);
    return done;

    async function recordHuman(resolved: Decision, k: string | undefined, meta: Record<string, unknown>, args: string | undefined): Promise<Decision> {
      delete resolved.proof;
      if (resolved.error?.code !== ErrorCodes.REVIEW_EXPIRED) delete resolved.error;
      delete resolved.auditId;
      resolved.auditId = await auditHuman(resolved, meta);
      const kept = !auditWriteFailed(resolved);
      if (k && kept && o.ledger) {
        // The human's answer, where a resume in another process finds it.
        const failed = await ledgerRecord(k, resolved);
        if (failed) return refuse(failed.code, `${failed.message}; the human answer could not be recorded; denied`);
      }
      if (k && kept) {
        cache.keep(k, resolved);
        reviewed.delete(k);
      }
      return args === undefined ? resolved : attachReviewedArgs(resolved, args);
    }
  }

  /**
   * A human's edit: a new call (same tool, edited arguments, its own digest and idempotency key
   * `<key>:edit:<digest prefix>`) reviewed from the start — policy, reviewer, fail mode, audit. A
   * deny of the edited call stands (the original review stays pending); an allow stands as it is;
   * a `review` is approved by the human's edit unless it needs more approvers than one.
   */
  async function resolveEdit(original: Decision, edit: { canonicalArgs: string; digest: string }, approver: string, reason: string | undefined, key: string | undefined, pending: PendingReview | undefined): Promise<Decision> {
    const editKey = key ? `${key}:edit:${edit.digest.slice(7, 23)}` : undefined;
    const call: ToolCall = { tool: original.tool, args: JSON.parse(edit.canonicalArgs) };
    if (original.callId !== undefined) call.callId = original.callId;
    if (original.runId !== undefined) call.runId = original.runId;
    if (pending?.agent) call.agent = pending.agent;
    if (pending?.context) call.context = pending.context;
    const r = await decideSafely(call, undefined, false, { ...(editKey ? { key: editKey } : {}), holdReview: true });
    const edited = { originalDigest: original.digest, digest: edit.digest, args: redact(JSON.parse(edit.canonicalArgs), o.redact, 'args') };
    const meta = { answer: 'edit', approver, originalDigest: original.digest, editedDigest: edit.digest };
    if (r.verdict === 'deny') {
      // The edited call's own review said no (a policy deny, a bad input, a fail-closed outage, or it
      // already ran): a human edit cannot override that. The original review stays pending.
      r.edited = edited;
      r.auditId = await auditHuman(r, { ...meta, refused: r.error?.code ?? r.source }) ?? r.auditId;
      return r;
    }
    if (key) {
      // The original call is superseded: a later approval of it (a replay) must not run it as well.
      const superseded: Decision = { ...original, verdict: 'deny', source: 'human', reason: `answered with an edit by ${approver}: the edited call (${edit.digest}) runs instead of this one`, decidedBy: `human:${approver}`, edited };
      delete superseded.proof;
      delete superseded.error;
      delete superseded.auditId;
      delete superseded.expiresAt;
      if (o.ledger) {
        const failed = await ledgerRecord(key, superseded);
        if (failed) return hardDeny(call, edit.digest, performance.now(), failed.code, `${failed.message}; the edit could not be recorded; denied`, { idempotencyKey: r.idempotencyKey ?? key });
      }
      cache.keep(key, superseded);
    }
    if (r.verdict !== 'review') {
      // The edited call is allowed without a human (or this is a replay of an approved edit).
      r.edited = edited;
      r.auditId = await auditHuman(r, meta) ?? r.auditId;
      return r;
    }
    const required = Math.max(1, r.approvals?.required ?? 1);
    if (required > 1 && r.idempotencyKey) {
      // The edit counts as its editor's approval of the edited call; more approvers must follow.
      const set = new Set<string>([approver]);
      remember(approverSets, r.idempotencyKey, set);
      r.edited = edited;
      r.approvals = { ...(r.approvals ?? { required }), required, approvers: [...set] };
      r.reason = `1 of ${required} approvals (${approver}, who edited the call); another approver must approve the edited call`;
      r.auditId = await auditHuman(r, { ...meta, approvals: `1 of ${required}` }) ?? r.auditId;
      return r;
    }
    const resolved: Decision = { ...r, verdict: 'allow', source: 'human', reason: reason ?? `approved with edited arguments by ${approver}`, decidedBy: `human:${approver}`, edited };
    delete resolved.proof;
    delete resolved.error;
    delete resolved.auditId;
    delete resolved.expiresAt;
    resolved.auditId = await auditHuman(resolved, meta);
    const editedKey = resolved.idempotencyKey;
    if (editedKey && !auditWriteFailed(resolved)) {
      if (o.ledger) {
        const failed = await ledgerRecord(editedKey, resolved);
        if (failed) return hardDeny(call, edit.digest, performance.now(), failed.code, `${failed.message}; the human answer could not be recorded; denied`, { idempotencyKey: editedKey });
      }
      cache.keep(editedKey, resolved);
      reviewed.delete(editedKey);
    }
    return attachReviewedArgs(resolved, edit.canonicalArgs);
  }

  /** The `human_decision` audit record, with `meta` (who answered what; for an edit, both digests). A failed write turns an allow into a deny. */
  async function auditHuman(decision: Decision, meta: Record<string, unknown>): Promise<string | undefined> {
    try {
      return await writeAudit('human_decision', { tool: decision.tool, callId: decision.callId, runId: decision.runId }, decision, { meta });
    } catch (error) {
      const message = `audit write failed (${(error as Error)?.message ?? String(error)}); denied because an unrecorded decision cannot authorise a call`;
      if (isAllowed(decision) || decision.verdict === 'review') Object.assign(decision, { verdict: 'deny', source: 'fail_closed', reason: message });
      decision.error = { code: ErrorCodes.AUDIT_WRITE_FAILED, message };
      return undefined;
    }
  }
  async function report(decision: Decision, outcome: Outcome): Promise<void> {
    if (decision.source === 'not_high_stakes') return;
    // The Decision this gate issued under that key, when it has it: a caller's copy (edited or
    // forged) does not get to rewrite what the outcome record says was decided.
    // Only a Decision that belongs to its key marks the key as run (its digest is the key's, or the
    // one this gate holds under it — a human's edit given on the reviewer): a Decision re-keyed to
    // another call must not make that call ALREADY_EXECUTED.
    const key = decision.idempotencyKey;
    const bound = key !== undefined && (await belongsToKey(key, decision.digest));
    const known = bound && key !== undefined ? cache.markExecuted(key, decision) : undefined;
    const issued = known && known.decision.digest === decision.digest ? known.decision : undefined;
    if (o.ledger && bound && key !== undefined && typeof decision.digest === 'string' && decision.digest !== '') {
      // A body run without a claim (enforce, then the body, then reportOutcome): record that it ran,
      // so other processes answer ALREADY_EXECUTED from now on. Best effort: the tool already ran.
      await o.ledger.claim(key, decision.digest).catch(() => false);
    }
    const recorded = issued ?? decision;
    const safeOutcome: Outcome = { status: outcome?.status === 'success' || outcome?.status === 'failure' ? outcome.status : 'error' };
    if (typeof outcome?.message === 'string') safeOutcome.message = outcome.message.toWellFormed();
    if (typeof outcome?.durationMs === 'number' && Number.isFinite(outcome.durationMs)) safeOutcome.durationMs = outcome.durationMs;
    const written = writeAuditNow('outcome', { tool: recorded.tool, callId: recorded.callId, runId: recorded.runId }, recorded, {
      outcome: safeOutcome,
      ...(issued ? {} : { meta: { decision: 'as reported by the adapter; this gate has no record of issuing it' } }),
    });
    if (typeof written === 'object') await written;
    if (recorded.reviewId && o.reviewer.reportOutcome) {
      const scope = deadlineScope(o.timeoutMs, undefined, o.now());
      try {
        await o.reviewer.reportOutcome(recorded.reviewId, safeOutcome, { signal: scope.signal, deadline: scope.deadline });
      } finally {
        scope.dispose();
      }
    }
  }

  // Synchronous unless the ledger is asked: without a ledger the claim is a Map write, and
  // runGoverned starts the body without waiting for a promise of it.
  registerClaim(gate, (decision) => {
    const key = typeof decision?.idempotencyKey === 'string' ? decision.idempotencyKey : undefined;
    if (!key) return undefined;
    const refuse = (code: string, message: string): Decision => {
      const denied: Decision = { ...decision, verdict: 'deny', source: 'fail_closed', reason: message, error: { code, message } };
      delete denied.proof;
      delete denied.auditId;
      void safeAudit('review', { tool: denied.tool, callId: denied.callId, runId: denied.runId }, denied);
      return denied;
    };
    const already = `this call (${key}) already ran; a review authorises one execution`;
    const rekeyed = () => refuse(ErrorCodes.DENIED, `this Decision's idempotencyKey (${key}) was not issued for its digest; it authorises nothing — review the call again`);
    // A Decision re-keyed to another call: claiming it would mark that call as run.
    const bound = belongsToKey(key, decision.digest);
    if (bound === true) return claimBound(key, decision, refuse, already);
    if (bound === false) return rekeyed();
    return bound.then((ok) => (ok ? claimBound(key, decision, refuse, already) : rekeyed()));
  });

  /**
   * True when a Decision with `digest` belongs to `key`: the key ends with that digest's 64 bits, or
   * the gate holds that digest under the key — the one key it issues for another digest, a human's
   * edit given on the reviewer, kept in memory or (after a restart, in another process) in the
   * ledger's row. A promise only when the ledger must be asked.
   */
  function belongsToKey(key: string, digest: unknown): boolean | Promise<boolean> {
    if (keyFitsDigest(key, digest) || cache.get(key)?.decision.digest === digest) return true;
    if (!o.ledger) return false;
    return o.ledger.get(key).then(
      (row) => row?.digest === digest,
      () => false,
    );
  }

  /** The claim of a Decision that belongs to its key: memory first, then the ledger. */
  function claimBound(key: string, decision: Decision, refuse: (code: string, message: string) => Decision, already: string): Decision | undefined | Promise<Decision | undefined> {
    /** The gate's answer for this key no longer allows the call: the Decision handed in is not its answer any more. */
    const overruled = (now: Decision | undefined) =>
      refuse(
        ErrorCodes.DENIED,
        `the gate's answer for this call (${key}) is now ${now ? `${now.verdict} (${now.source}: ${now.reason.slice(0, 200)})` : 'not an allow'}; the Decision handed in no longer authorises it — review the call again`,
      );
    // Claimed in memory first (synchronously), so concurrent claims in this process never both reach the ledger.
    const local = cache.claim(key, decision);
    if (local === 'ran') return refuse(ErrorCodes.ALREADY_EXECUTED, already);
    if (local === 'overruled') return overruled(cache.get(key)?.decision);
    if (!o.ledger) return undefined;
    const ledger = o.ledger;
    return (async () => {
      let claimed: boolean;
      try {
        // One atomic insert: of all processes claiming this key, exactly one gets it — and none
        // while the answer recorded for it does not allow the call.
        claimed = await ledger.claim(key, decision.digest);
      } catch (error) {
        const e = ledgerError(error);
        return refuse(e.code, `${e.message}; denied because the execution could not be recorded`);
      }
      if (claimed) return undefined;
      const found = await ledgerLookup(key, decision.digest);
      const recorded = found instanceof ToolgateError ? undefined : found;
      if (recorded && !recorded.executed) return overruled(recorded.decision);
      return refuse(ErrorCodes.ALREADY_EXECUTED, already);
    })();
  }
  // A Decision handed back (read from framework state, a checkpoint, a client) is this gate's only
  // when the gate holds one for the same key, tool and digest: memory first, then the ledger.
  registerIssuedLookup(gate, (decision) => {
    const key = typeof decision?.idempotencyKey === 'string' ? decision.idempotencyKey : undefined;
    const digest = typeof decision?.digest === 'string' && decision.digest !== '' ? decision.digest : undefined;
    const tool = decision?.tool;
    if (!key || !digest) return undefined;
    const held = cache.get(key)?.decision;
    if (held) return held.digest === digest && held.tool === tool ? held : undefined;
    const pending = reviewed.get(key);
    if (pending) return pending.digest === digest && pending.decision?.tool === tool ? pending.decision : undefined;
    const open = failedOpen.get(key);
    if (open) return open.digest === digest && open.tool === tool ? open : undefined;
    if (!o.ledger) return undefined;
    return ledgerLookup(key, digest).then((found) => {
      const d = found instanceof ToolgateError ? undefined : found?.decision;
      return d && d.tool === tool && d.digest === digest ? d : undefined;
    });
  });
  return gate;
}

/**
 * One sink's append. The memory sink takes the gate's records without handing one back (it keeps
 * the sealed line and reads it back when asked); sealing, and so redaction and any failure, happens
 * here all the same.
 */
function appendTo(sink: AuditSink, entry: AuditEntry): unknown {
  if (isKeepingSink(sink)) {
    sink[APPEND_KEPT](entry);
    return undefined;
  }
  return sink.append(entry);
}

/** A 4xx answer other than 408 (timeout) and 429 (rate limit): the reviewer said no. */
function isRefusal(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= 10_000 && !map.has(key)) map.clear();
  map.set(key, value);
}

/** What resolveReview accepts: a Decision object with verdict review for a named, digested call. */
function checkPendingDecision(d: unknown): { ok: true } | { ok: false; problem: string } {
  if (typeof d !== 'object' || d === null) return { ok: false, problem: 'the Decision is not an object' };
  const x = d as Partial<Decision>;
  if (x.verdict !== 'review') return { ok: false, problem: `it takes a Decision whose verdict is "review", this one is ${JSON.stringify(String(x.verdict)).slice(0, 40)}` };
  if (typeof x.tool !== 'string' || x.tool.length === 0 || !x.tool.isWellFormed()) return { ok: false, problem: 'the Decision names no well-formed tool' };
  if (typeof x.digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(x.digest)) return { ok: false, problem: 'the Decision carries no digest' };
  for (const f of ['callId', 'runId', 'idempotencyKey', 'reviewId'] as const) {
    const v: unknown = x[f];
    if (v !== undefined && (typeof v !== 'string' || !v.isWellFormed())) return { ok: false, problem: `the Decision's ${f} is not a well-formed string` };
  }
  return { ok: true };
}

/** A reviewer's `approvals` as a Decision carries them (copies; anything malformed is dropped). */
/**
 * True when `key` ends with the 64 bits of `digest` every key the gate issues ends with (an edit's
 * key, `<key>:edit:<prefix>`, with the edited digest's). The one exception, a human's edit given on
 * the reviewer (the original key, the edited digest), is known to the gate by the Decision it holds.
 */
function keyFitsDigest(key: string, digest: unknown): boolean {
  return typeof digest === 'string' && digest.length >= 23 && key.endsWith(`:${digest.slice(7, 23)}`);
}

function approvalsOf(v: unknown): Decision['approvals'] | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const a = v as { required?: unknown; groups?: unknown; approvers?: unknown };
  if (typeof a.required !== 'number' || !Number.isInteger(a.required) || a.required < 1) return undefined;
  const strings = (x: unknown): string[] | undefined => (Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string').map((s) => s.toWellFormed()) : undefined);
  const out: NonNullable<Decision['approvals']> = { required: a.required };
  const groups = strings(a.groups);
  const approvers = strings(a.approvers);
  if (groups) out.groups = groups;
  if (approvers) out.approvers = approvers;
  return out;
}

function auditWriteFailed(d: Decision): boolean {
  return d.error?.code === ErrorCodes.AUDIT_WRITE_FAILED;
}

/** What a human already answered, judging by the Decision recorded under the call's key. */
function priorAnswer(d: Decision): 'approved' | 'rejected' | 'edited' | 'expired' | undefined {
  if (d.error?.code === ErrorCodes.REVIEW_EXPIRED) return 'expired';
  if (d.source !== 'human') return undefined;
  if (d.verdict === 'deny') return d.edited ? 'edited' : 'rejected';
  return isAllowed(d) ? 'approved' : undefined;
}

/** The Decision for a review nobody answered in time: REVIEW_EXPIRED, never a human rejection. */
function expiredDecision(pending: Decision): Decision {
  const message = 'no one answered before the deadline: the review expired and the call was not run';
  const d: Decision = { ...pending, verdict: 'deny', source: 'fail_closed', reason: message, decidedBy: 'expiry', error: { code: ErrorCodes.REVIEW_EXPIRED, message } };
  return d;
}

/** Canonical JSON of arguments, or undefined when they are not plain JSON. */
function argsJson(args: unknown): string | undefined {
  try {
    return canonicalJson(args ?? {});
  } catch {
    return undefined;
  }
}

function bump(map: Map<string, number>, key: string): number {
  const n = (map.get(key) ?? 0) + 1;
  if (map.size >= 10_000 && !map.has(key)) map.clear();
  map.set(key, n);
  return n;
}

/**
 * Checks and copies callId, runId, agent and context: they reach the reviewer, the idempotency key
 * and the audit trail, so each must be well-formed Unicode and plain JSON (no lone surrogates,
 * cycles, BigInts, functions). The copies are what the reviewer sees and what is recorded, so a
 * getter cannot show the reviewer one agent and the trail another. Messages name the field, never
 * its content (it may hold a secret).
 */
function readCallFields(call: ToolCall, fallbackAgent: string | AgentInfo | undefined): { agent?: AgentInfo; context?: CallContext } | ToolgateError {
  const bad = (what: string) => new ToolgateError(ErrorCodes.INPUT_INVALID, `call.${what}; denied`);
  for (const field of ['callId', 'runId'] as const) {
    const v: unknown = call[field];
    if (v === undefined) continue;
    if (typeof v !== 'string') return bad(`${field} must be a string`);
    if (!v.isWellFormed()) return bad(`${field} is not well-formed Unicode (a lone surrogate)`);
  }
  const out: { agent?: AgentInfo; context?: CallContext } = {};
  const rawAgent: unknown = call.agent ?? fallbackAgent;
  if (rawAgent !== undefined) {
    const a: unknown = typeof rawAgent === 'string' ? { id: rawAgent } : rawAgent;
    const copy = flatCopy(a) ?? jsonCopy(a);
    if (copy === undefined || typeof copy !== 'object' || copy === null || Array.isArray(copy)) return bad('agent must be a string or a JSON object with an id, in well-formed Unicode');
    const id: unknown = (copy as { id?: unknown }).id;
    if (typeof id !== 'string' || id.length === 0) return bad('agent.id must be a non-empty string');
    out.agent = copy as AgentInfo;
  }
  if (call.context !== undefined) {
    const copy = jsonCopy(call.context);
    if (copy === undefined || typeof copy !== 'object' || copy === null || Array.isArray(copy)) return bad('context must be a JSON object in well-formed Unicode');
    out.context = copy as CallContext;
  }
  return out;
}

/**
 * The copy `jsonCopy` makes of a flat plain object (strings, finite numbers, booleans and null,
 * keys sorted as in canonical JSON, `undefined` members left out), reading each property once; or
 * undefined for anything else, which then goes to `jsonCopy` (it starts over). An agent is most
 * often `{ id }` or a few such fields: this skips the descriptor walk, the canonical text and its
 * parse for them.
 */
function flatCopy(value: unknown): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const proto: unknown = Object.getPrototypeOf(value);
  if ((proto !== Object.prototype && proto !== null) || typeof (value as { toJSON?: unknown }).toJSON === 'function') return undefined;
  const keys = Object.keys(value);
  if (keys.length > 1) keys.sort();
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    if (!k.isWellFormed() || k === '__proto__') return undefined;
    const v: unknown = (value as Record<string, unknown>)[k];
    if (v === undefined) continue;
    if (typeof v === 'string' ? !v.isWellFormed() : typeof v === 'number' ? !Number.isFinite(v) : typeof v !== 'boolean' && v !== null) return undefined;
    out[k] = v === 0 ? 0 : v; // -0 is 0 in JSON
  }
  return out;
}

/** Deepest nesting accepted in agent and context (a reviewer server refuses deeper bodies). */
const MAX_FIELD_DEPTH = 64;

/** A fresh copy read from the canonical JSON of `value`, or undefined when it is not plain JSON (or nested too deep). */
function jsonCopy(value: unknown): unknown {
  // First without calling getters (a cheap refusal of very deep plain objects), then on the copy.
  if (tooDeep(value, 0, false)) return undefined;
  try {
    const copy = JSON.parse(canonicalJson(value)) as unknown;
    return tooDeep(copy, 0, true) ? undefined : copy;
  } catch {
    return undefined;
  }
}

function tooDeep(value: unknown, depth: number, plain: boolean): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (depth >= MAX_FIELD_DEPTH) return true;
  if (plain) return (Array.isArray(value) ? value : Object.values(value)).some((v) => tooDeep(v, depth + 1, true));
  for (const d of Object.values(Object.getOwnPropertyDescriptors(value))) {
    if ('value' in d && tooDeep(d.value, depth + 1, false)) return true;
  }
  return false;
}

/** The call with callId and runId made safe to record (strings only, lone surrogates replaced). */
function wellFormedIds(call: ToolCall): ToolCall {
  const out: ToolCall = { tool: wellFormed(call.tool) ?? '(none)', args: undefined };
  const callId = wellFormed(call.callId);
  const runId = wellFormed(call.runId);
  if (callId !== undefined) out.callId = callId;
  if (runId !== undefined) out.runId = runId;
  return out;
}

/** What the audit record of a bad-input deny names: only strings, each made well-formed. */
function safeAuditCall(call: ToolCall): { tool: string; callId?: string; runId?: string; agentId?: string } {
  const ids = wellFormedIds(call);
  const rawAgent: unknown = call.agent;
  const agentId = wellFormed(typeof rawAgent === 'string' ? rawAgent : (rawAgent as { id?: unknown } | undefined)?.id);
  return { tool: ids.tool, callId: ids.callId, runId: ids.runId, ...(agentId !== undefined ? { agentId } : {}) };
}

function isSignal(v: unknown): v is AbortSignal {
  const s = v as Partial<AbortSignal> | null;
  return typeof s === 'object' && s !== null && typeof s.aborted === 'boolean' && typeof s.addEventListener === 'function' && typeof s.removeEventListener === 'function';
}

function wellFormed(v: unknown): string | undefined {
  return typeof v === 'string' ? v.toWellFormed() : undefined;
}

function abortReason(signal: AbortSignal | undefined): string {
  const r: unknown = signal?.reason;
  return r instanceof Error ? r.message : r === undefined ? 'aborted' : String(r);
}

function sourceOf(decidedBy: string | undefined): DecisionSource {
  if (decidedBy === 'policy') return 'policy';
  // The review server's humans answer as `human:<approver>`; anything else a reviewer writes
  // (`humanoid-bot`) is the reviewer's own answer.
  if (decidedBy === 'human' || decidedBy?.startsWith('human:')) return 'human';
  return 'reviewer';
}

function isConclusive(d: Decision): boolean {
  if (d.source === 'fail_open' || d.source === 'fail_closed') return false;
  return d.verdict !== 'review';
}

function isVerdict(v: unknown): v is ReviewerVerdict {
  const verdict = (v as ReviewerVerdict | null)?.verdict;
  return typeof v === 'object' && v !== null && typeof verdict === 'string' && VERDICTS.has(verdict);
}

/** A reviewer that resolved (it was reachable) with something that is not a verdict. */
function invalidVerdict(v: unknown, name: string): ReviewerError {
  const got = typeof v === 'object' && v !== null && 'verdict' in v ? `verdict ${JSON.stringify(String((v as { verdict: unknown }).verdict)).slice(0, 40)}` : 'no verdict';
  return new ReviewerError(ErrorCodes.VERDICT_INVALID, `reviewer "${name}" answered with ${got}, which is not allow | allow_with_conditions | deny | review`);
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
