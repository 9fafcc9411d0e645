import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  callDigest,
  canonicalJson,
  evaluatePolicy,
  evaluatePolicyShared,
  isSharedPolicyState,
  redactEntry,
  redactText,
  redactValue,
  REDACTED,
  type AgentInfo,
  type AuditEntry,
  type CallContext,
  type CompiledPolicy,
  type CreateReviewRequest,
  type Decision,
  type DecisionSource,
  type EvaluatedCheck,
  type Outcome,
  type PolicyStateStore,
  type ProofSignInput,
  type ProofSigner,
  type RedactOptions,
  type ReviewResponse,
  type SharedPolicyState,
  type Verdict,
} from '@toolgate/core';
import type { KeyInfo } from '../auth/api-keys';
import { ReviewServerError, ServerErrorCodes } from '../errors';
import type { ReviewRow } from '../store/open-store';
import type { DecideInput, ReviewStore } from '../store/review-store';
import type { ServerMetrics } from './metrics';
import { newReviewId } from './review-id';
import { hasHiddenCharacters } from './visible-text';
import type { Waiters } from './waiters';
import type { WebhookDispatcher } from './webhooks';

/** A review as the dashboard and `GET /v1/reviews` list it: the protocol fields plus what a human needs to decide. */
export interface ReviewView extends ReviewResponse {
  id: string;
  tool: string;
  digest: string;
  callId?: string;
  runId?: string;
  /** Redacted arguments (secrets never reach the store). */
  args: unknown;
  agent?: AgentInfo;
  /** Redacted context. */
  context?: CallContext;
  /** What the policy said at submission (for pending reviews: why a human is asked). */
  policy?: { verdict: Verdict | null; reason: string; matchedRules: string[] };
  /** `policy`, `human`, `expiry`. */
  source?: string;
  submittedBy: { keyId: string };
  decidedByKeyId?: string;
  createdAt: string;
  decidedAt?: string;
  executed: boolean;
  outcome?: Outcome;
  /**
   * Set when a field holds characters a human cannot see or that redraw what they read (controls,
   * bidi overrides, zero-width characters, lone surrogates): the dashboard and the CLI show those
   * as escapes and flag the review.
   */
  hiddenCharacters?: true;
  /**
   * Edited calls approvers proposed on this pending review (edit-and-approve with N approvals):
   * each with its digest, stored (redacted) args, the approvals it needs and who approved it.
   */
  edits?: Array<{ digest: string; args: unknown; required: number; approvers: string[]; verdict: 'allow' | 'allow_with_conditions' | 'review' }>;
}

/**
 * A review's approvals as stored (`reviews.approvals_json`): how many distinct approvers the
 * original call needs (and of which groups), every approval given (by key, for one digest), and
 * the edited calls approvers proposed, each re-reviewed by the policy (its own requirement).
 */
export interface ApprovalState {
  required: number;
  groups?: string[];
  approvals: Array<{ keyId: string; name: string; digest: string; at: number }>;
  edits?: Record<string, { args: unknown; by: string; at: number; required: number; groups?: string[]; verdict: 'allow' | 'allow_with_conditions' | 'review'; conditions?: string[] }>;
}

/** A human decision as the routes, the dashboard and the CLI pass it. */
export interface HumanDecisionInput {
  verdict: 'allow' | 'deny';
  reason?: string;
  /** Edit-and-approve: the same tool with these arguments (only with `allow`). */
  args?: unknown;
}

/** Events a dashboard can subscribe to. */
export interface ReviewEvents {
  'review.created': [ReviewView];
  'review.decided': [ReviewView];
  'review.outcome': [ReviewView];
  /** An approval was recorded and the review still waits for more (two-person approvals). */
  'review.approved': [ReviewView];
}

/** Who decides (an authenticated approver key; `via` says through what). */
export interface Actor extends KeyInfo {
  via?: 'api' | 'dashboard' | 'cli';
}

export interface ReviewServiceDeps {
  /**
   * Where reviews, their audit records and API keys live (SQLite or PostgreSQL: the service does
   * not know which). Every write is one atomic step with its audit record, and the store enforces
   * exactly-once (one review per idempotency key, one decision, one outcome).
   */
  store: ReviewStore;
  getPolicy(): CompiledPolicy | undefined;
  /** Counters of limit/budget/repeat rules: in-process (SQLite, memory) or shared by every replica (PostgreSQL). */
  policyState: PolicyStateStore | SharedPolicyState;
  getSigner(): ProofSigner;
  metrics: ServerMetrics;
  waiters: Waiters;
  webhooks: WebhookDispatcher;
  pendingTimeoutMs: number;
  proofTtlSeconds: number;
  redact?: RedactOptions;
}

export interface SubmitResult {
  status: 200 | 202;
  review: ReviewResponse;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The review logic behind protocol v1 — shared by the HTTP routes, the dashboard and the CLI:
 * submit (policy, idempotency, exactly-once), wait (long-poll), decide (no self-approval), outcome,
 * expiry. Everything a decision changes is written in one store transaction together with its
 * audit record; webhooks, waiters and events follow after the commit.
 */
export class ReviewService {
  readonly events = new EventEmitter<ReviewEvents>();
  private readonly inflight = new Map<string, Promise<unknown>>();
  private expiryTimer: NodeJS.Timeout | undefined;
  private expiryAt = Number.POSITIVE_INFINITY;
  private expiring: Promise<unknown> | undefined;
  private closed = false;

  constructor(private readonly d: ReviewServiceDeps) {
    this.events.setMaxListeners(0);
  }

  // ---------------------------------------------------------------------------------------------
  // submit

  /** `POST /v1/reviews`. */
  async submit(body: CreateReviewRequest, key: KeyInfo, signal?: AbortSignal): Promise<SubmitResult> {
    const started = performance.now();
    const { tool } = body.call;
    const args = body.call.args ?? {};
    let digest: string;
    try {
      digest = callDigest(tool, args);
    } catch (error) {
      throw new ReviewServerError(400, ServerErrorCodes.INVALID_REQUEST, `call.args cannot be digested: ${(error as Error).message}`);
    }
    if (body.digest !== undefined && body.digest !== digest) {
      throw new ReviewServerError(
        400,
        ServerErrorCodes.DIGEST_MISMATCH,
        `digest ${body.digest} does not match the call (server computed ${digest} over the RFC 8785 canonical JSON of { tool, args })`,
      );
    }

    if (body.dryRun) return { status: 200, review: await this.dryRun(body, args, digest, key) };

    // Idempotency keys belong to the key that submits: another key's identical idempotency key is
    // a different review, never a way to read, replay or squat someone else's.
    const idem = scopedIdempotencyKey(key.id, body.idempotencyKey);
    // No SELECT per request: the store's unique idempotency key decides (a replay's insert finds the
    // stored review and answers with it). Only a policy with counters (limit, budget, repeat) reads
    // first, because evaluating a replay would spend its counters again.
    let readFirst = this.d.getPolicy()?.stateful === true;
    for (;;) {
      if (readFirst) {
        const existing = await this.d.store.getReviewByIdem(idem);
        if (existing) return this.resubmitted(existing, digest, body.waitMs ?? 0, signal);
      }
      const running = this.inflight.get(idem);
      if (!running) break;
      // The same key is being decided right now: answer with that review once it is stored.
      await running.catch(() => {});
      readFirst = true;
    }

    const work = this.create(body, args, digest, key, started);
    this.inflight.set(idem, work);
    let created: { row: ReviewRow; response: ReviewResponse } | { existing: ReviewRow };
    try {
      created = await work;
    } finally {
      this.inflight.delete(idem);
    }
    // Another writer (another process or replica on the same store) stored this key first: answer with its review.
    if ('existing' in created) return this.resubmitted(created.existing, digest, body.waitMs ?? 0, signal);
    if (created.row.status === 'decided') return { status: 200, review: created.response };
    // Pending and nobody waits: the answer is the row as just committed (no read back, so a store
    // that goes away right after the commit cannot turn a stored review into a 503).
    if (!body.waitMs) return { status: 202, review: created.response };
    return this.waitAndAnswer(created.row.id, body.waitMs, signal);
  }

  private async dryRun(body: CreateReviewRequest, args: unknown, digest: string, key: KeyInfo): Promise<ReviewResponse> {
    const r = await this.evaluate(body, args, digest, true, key);
    const review: ReviewResponse = {
      id: 'dry-run',
      status: r.verdict === 'review' ? 'pending' : 'decided',
      verdict: r.verdict,
      reason: r.reason,
      conditions: r.conditions,
      evaluated: r.evaluated,
      decidedBy: 'policy',
      digest,
      tool: body.call.tool,
    };
    return review;
  }

  private async evaluate(body: CreateReviewRequest, args: unknown, digest: string, dryRun: boolean, key: KeyInfo) {
    const policy = this.d.getPolicy();
    if (!policy) {
      return {
        verdict: 'review' as Verdict,
        reason: 'no policy is configured: every call waits for a human',
        conditions: [] as string[],
        evaluated: [] as EvaluatedCheck[],
        matchedRules: [] as string[],
        policyVerdict: null as Verdict | null,
        approvals: undefined as { required: number; groups?: string[] } | undefined,
      };
    }
    // Counters (limit, budget, repeat) belong to the authenticated key (the trusted principal),
    // not the agent id the client chose; rules still match and show the claimed agent.id.
    const input = { tool: body.call.tool, args, agent: body.agent, context: body.context, digest, principal: `key:${key.id}` };
    const state = this.d.policyState;
    // Shared counters (replicas on PostgreSQL) are read, decided and spent in one database transaction.
    const r = isSharedPolicyState(state)
      ? await evaluatePolicyShared(policy, input, { state, now: Date.now(), dryRun })
      : evaluatePolicy(policy, input, { state, now: Date.now(), dryRun });
    const matchedRules = r.matchedRules;
    const verdict: Verdict = r.verdict ?? 'review';
    const reason = r.verdict === null ? `no policy rule matched and the policy has no default: a human decides${r.reason ? ` (${r.reason})` : ''}` : r.reason;
    return { verdict, reason, conditions: [...(r.conditions ?? [])], evaluated: [...(r.evaluated ?? [])], matchedRules, policyVerdict: r.verdict, approvals: r.approvals };
  }

  /** The policy result as it may be stored and shown: reason and checks redacted like an audit record. */
  private redactResult<R extends { verdict: Verdict; reason: string; evaluated: EvaluatedCheck[] }>(r: R): R {
    if (r.evaluated.length === 0 && !r.reason) return r;
    const entry = redactEntry(
      { id: '', ts: '', kind: 'review', call: { tool: '', digest: '' }, decision: { verdict: r.verdict, reason: r.reason, evaluated: r.evaluated } as Decision },
      this.d.redact,
    );
    return { ...r, reason: entry.decision?.reason ?? r.reason, evaluated: entry.decision?.evaluated ?? r.evaluated };
  }

  private async create(
    body: CreateReviewRequest,
    args: unknown,
    digest: string,
    key: KeyInfo,
    started: number,
  ): Promise<{ row: ReviewRow; response: ReviewResponse } | { existing: ReviewRow }> {
    // Redacted once, here, before anything is stored: the row, the answer, the audit record, the
    // dashboard, /v1/reviews and webhooks all read this copy (a rule on args.api_key put the raw
    // key into the reason and the checks' actual values).
    const r = this.redactResult(await this.evaluate(body, args, digest, false, key));
    const now = Date.now();
    const id = newReviewId(now);
    // The stored args: the row's args_json and the audit record's call.args are this one copy.
    const storedArgs = redactValue(args, this.d.redact, 'args');
    const row: ReviewRow = {
      id,
      idem_key: scopedIdempotencyKey(key.id, body.idempotencyKey),
      submitter_key_id: key.id,
      tool: body.call.tool,
      digest,
      call_id: body.call.callId ?? null,
      run_id: body.call.runId ?? null,
      agent_id: body.agent?.id ?? null,
      agent_json: body.agent ? JSON.stringify(redactValue(body.agent, this.d.redact, 'agent')) : null,
      context_json: body.context ? JSON.stringify(redactValue(body.context, this.d.redact, 'context')) : null,
      args_json: JSON.stringify(storedArgs),
      status: 'pending',
      verdict: 'review',
      source: null,
      reason: r.reason,
      conditions_json: r.conditions.length ? JSON.stringify(r.conditions) : null,
      evaluated_json: r.evaluated.length ? JSON.stringify(r.evaluated) : null,
      policy_json: JSON.stringify({ verdict: r.policyVerdict, reason: r.reason, matchedRules: r.matchedRules }),
      decided_by: null,
      decider_key_id: null,
      proof: null,
      proof_expires_at: null,
      created_at: now,
      decided_at: null,
      expires_at: null,
      executed: 0,
      outcome_json: null,
    };
    if (r.verdict === 'review' && r.approvals) {
      const state: ApprovalState = { required: r.approvals.required, approvals: [] };
      if (r.approvals.groups) state.groups = r.approvals.groups;
      row.approvals_json = JSON.stringify(state);
    }

    if (r.verdict === 'review') {
      row.expires_at = now + this.d.pendingTimeoutMs;
      const entry = this.auditEntry('review', row, { verdict: 'review', source: 'policy', reason: r.reason, conditions: r.conditions, evaluated: r.evaluated, latencyMs: performance.now() - started }, storedArgs);
      const stored = await this.d.store.createReview(row, entry);
      if (!stored.created) return { existing: stored.row };
      this.d.metrics.approvals.inc({ status: 'requested' });
      this.scheduleExpiry(row.expires_at);
      this.events.emit('review.created', this.view(row));
      return { row, response: this.response(row) };
    }

    const decidedBy = 'policy';
    const proof = await this.d.getSigner().sign(this.claims(row, r.verdict, r.conditions, decidedBy, body.agent?.id ?? `key:${key.id}`));
    row.status = 'decided';
    row.verdict = r.verdict;
    row.source = 'policy';
    row.decided_by = decidedBy;
    row.proof = proof;
    row.proof_expires_at = now + this.d.proofTtlSeconds * 1000;
    row.decided_at = now;
    const entry = this.auditEntry('review', row, { verdict: r.verdict, source: 'policy', reason: r.reason, conditions: r.conditions, evaluated: r.evaluated, latencyMs: performance.now() - started }, storedArgs);
    // Answered only after the transaction holding this row and its audit record has committed.
    const stored = await this.d.store.createReview(row, entry);
    if (!stored.created) return { existing: stored.row };
    if (r.verdict === 'deny') this.d.metrics.policyViolations.inc({ rule: r.matchedRules[0] ?? 'default' });
    this.d.metrics.reviews.inc({ verdict: r.verdict, source: 'policy' });
    this.d.metrics.decisionLatency.observe({ source: 'policy' }, (performance.now() - started) / 1000);
    const response: ReviewResponse = {
      id,
      status: 'decided',
      verdict: r.verdict,
      reason: r.reason,
      conditions: r.conditions,
      evaluated: r.evaluated,
      decidedBy,
      proof,
      expiresAt: new Date(row.proof_expires_at).toISOString(),
      digest,
      tool: row.tool,
      executed: false,
    };
    this.afterDecided(row);
    return { row, response };
  }

  private async resubmitted(row: ReviewRow, digest: string, waitMs: number, signal?: AbortSignal): Promise<SubmitResult> {
    if (row.digest !== digest) {
      throw new ReviewServerError(
        409,
        ServerErrorCodes.IDEMPOTENCY_CONFLICT,
        `idempotency key already used for review ${row.id} of another call (${row.tool}, ${row.digest}); use a new key for a different call`,
      );
    }
    if (row.executed) {
      const review: ReviewResponse & { code: string } = {
        id: row.id,
        status: 'decided',
        verdict: 'deny',
        reason: `${ServerErrorCodes.ALREADY_EXECUTED}: review ${row.id} already authorised an execution that was reported; a review authorises one execution`,
        conditions: [],
        evaluated: [],
        decidedBy: 'policy',
        digest: row.digest,
        tool: row.tool,
        executed: true,
        code: ServerErrorCodes.ALREADY_EXECUTED,
      };
      return { status: 200, review };
    }
    if (row.status === 'decided') return { status: 200, review: this.response(row) };
    return this.waitAndAnswer(row.id, waitMs, signal);
  }

  // ---------------------------------------------------------------------------------------------
  // read / wait

  /** `GET /v1/reviews/{id}?waitMs=`: resolves the moment a decision lands, or after `waitMs`. */
  /**
   * A review by id, long-polled up to `waitMs`. With `viewer`, a key that may not see every review
   * (eval scope) gets 404 for reviews it did not submit — the same answer as a review that does
   * not exist, so ids cannot be probed.
   */
  async get(id: string, waitMs = 0, signal?: AbortSignal, viewer?: { keyId: string; seesAll: boolean }): Promise<SubmitResult> {
    const row = await this.d.store.getReview(id);
    if (!row || (viewer && !viewer.seesAll && row.submitter_key_id !== viewer.keyId)) throw notFound(id);
    return this.waitAndAnswer(id, waitMs, signal);
  }

  private async waitAndAnswer(id: string, waitMs: number, signal?: AbortSignal): Promise<SubmitResult> {
    let row = await this.current(id);
    if (row.status === 'pending' && waitMs > 0 && !this.closed) {
      const limit = Math.min(waitMs, Math.max(0, (row.expires_at ?? Number.POSITIVE_INFINITY) - Date.now()) + 5);
      if (this.d.store.kind === 'sqlite') {
        // Decisions on SQLite come from this process: the wake-up cannot slip between read and wait.
        await this.d.waiters.wait(id, limit, signal);
      } else {
        // Another server may decide between the read above and the wait: wait first, then read
        // once more, so a notification that arrived in between is never missed.
        const stop = new AbortController();
        const waited = this.d.waiters.wait(id, limit, signal ? AbortSignal.any([signal, stop.signal]) : stop.signal);
        const again = await this.d.store.getReview(id);
        if (again && again.status !== 'pending') stop.abort();
        await waited;
      }
      row = await this.current(id);
    }
    return { status: row.status === 'decided' ? 200 : 202, review: this.response(row) };
  }

  /** The stored review, expired first if its deadline has passed. */
  private async current(id: string): Promise<ReviewRow> {
    let row = await this.d.store.getReview(id);
    if (!row) throw notFound(id);
    if (row.status === 'pending' && row.expires_at !== null && row.expires_at <= Date.now()) {
      await this.expireOne(row);
      row = (await this.d.store.getReview(id)) ?? row;
    }
    return row;
  }

  /** One review for the dashboard, by id. */
  async viewById(id: string): Promise<ReviewView> {
    const row = await this.d.store.getReview(id);
    if (!row) throw notFound(id);
    return this.view(row);
  }

  /** One stored review as the dashboard shows it. */
  view(row: ReviewRow): ReviewView {
    const v: ReviewView = {
      ...this.response(row),
      tool: row.tool,
      digest: row.digest,
      args: JSON.parse(row.args_json) as unknown,
      submittedBy: { keyId: row.submitter_key_id },
      createdAt: new Date(row.created_at).toISOString(),
      executed: row.executed === 1,
    };
    if (row.call_id !== null) v.callId = row.call_id;
    if (row.run_id !== null) v.runId = row.run_id;
    if (row.agent_json !== null) v.agent = JSON.parse(row.agent_json) as AgentInfo;
    if (row.context_json !== null) v.context = JSON.parse(row.context_json) as CallContext;
    if (row.policy_json !== null) v.policy = JSON.parse(row.policy_json) as ReviewView['policy'];
    if (row.source !== null) v.source = row.source;
    if (row.decider_key_id !== null) v.decidedByKeyId = row.decider_key_id;
    if (row.decided_at !== null) v.decidedAt = new Date(row.decided_at).toISOString();
    if (row.outcome_json !== null) v.outcome = JSON.parse(row.outcome_json) as Outcome;
    if (row.approvals_json) {
      const state = approvalStateOf(row);
      const edits = Object.entries(state.edits ?? {}).map(([digest, e]) => ({
        digest,
        args: e.args,
        required: e.required,
        approvers: state.approvals.filter((a) => a.digest === digest).map((a) => a.name),
        verdict: e.verdict,
      }));
      if (edits.length) v.edits = edits;
    }
    if (hasHiddenCharacters(v)) v.hiddenCharacters = true;
    return v;
  }

  /** `GET /v1/reviews`: newest first. */
  async list(q: { status?: 'pending' | 'decided'; tool?: string; limit?: number; before?: number }): Promise<ReviewView[]> {
    const limit = Math.min(Math.max(q.limit ?? 50, 1), 500);
    return (await this.d.store.listReviews({ ...q, limit })).map((r) => this.view(r));
  }

  // ---------------------------------------------------------------------------------------------
  // decide

  /**
   * A human decision (`POST /v1/reviews/{id}/decision`, the dashboard, the CLI). The key that
   * submitted the review can never decide it: that attempt is refused with 403 SELF_APPROVAL and
   * written to the audit trail, flagged.
   *
   * `deny` ends the review at once (any rejection does). `allow` is one approval: the review is
   * decided when the approvals of ONE digest reach what it requires (`approvals: N` in the policy
   * rule, distinct approver keys; the same key twice is 409 ALREADY_APPROVED). With `args`
   * (edit-and-approve) the edited call (same tool) is reviewed again by the policy first: a policy
   * deny refuses the edit (422 EDIT_DENIED, the review stays pending), otherwise this is the
   * approver's approval of the edited call, which needs what its own review says.
   */
  async decide(id: string, decision: HumanDecisionInput, actor: Actor): Promise<ReviewResponse> {
    let row = await this.d.store.getReview(id);
    if (!row) throw notFound(id);
    if (row.submitter_key_id === actor.id) {
      const r = row;
      await this.d.store.appendAudit({
        id: `aud_${randomUUID()}`,
        ts: new Date().toISOString(),
        kind: 'human_decision',
        call: this.auditCall(r),
        meta: {
          flagged: 'self_approval',
          refused: true,
          reviewId: r.id,
          keyId: actor.id,
          keyName: actor.name,
          attemptedVerdict: decision.verdict,
          via: actor.via ?? 'api',
        },
      });
      this.d.metrics.approvals.inc({ status: 'self_approval_refused' });
      throw new ReviewServerError(403, ServerErrorCodes.SELF_APPROVAL, `key ${actor.name} submitted review ${id} and cannot decide it; another approver must (the attempt is recorded in the audit trail)`);
    }
    row = await this.current(id);
    if (row.status !== 'pending') throw alreadyDecided(row);
    if (decision.verdict === 'allow') return this.approve(row, decision, actor);
    const decidedBy = `human:${actor.name}`;
    const now = Date.now();
    const given = decision.reason?.trim();
    const reason = given ? redactText(given) : `denied by ${actor.name}`;
    const agentId = row.agent_id ?? `key:${row.submitter_key_id}`;
    const proof = await this.d.getSigner().sign(this.claims(row, 'deny', [], decidedBy, agentId));
    const pending = row;
    // The store decides only a review still pending (one decision however many race) and appends
    // the audit record in the same transaction.
    const ok = await this.d.store.decideReview(
      {
        id,
        verdict: 'deny',
        source: 'human',
        reason,
        decidedBy,
        deciderKeyId: actor.id,
        proof,
        proofExpiresAt: now + this.d.proofTtlSeconds * 1000,
        decidedAt: now,
      },
      {
        ...this.auditEntry('human_decision', { ...pending, decided_by: decidedBy, proof }, {
          verdict: 'deny',
          source: 'human',
          reason,
          conditions: [],
          evaluated: pending.evaluated_json ? (JSON.parse(pending.evaluated_json) as EvaluatedCheck[]) : [],
          latencyMs: now - pending.created_at,
        }),
        meta: { reviewId: id, keyId: actor.id, keyName: actor.name, via: actor.via ?? 'api' },
      },
    );
    const after = (await this.d.store.getReview(id))!;
    if (!ok) throw alreadyDecided(after);
    this.d.metrics.approvals.inc({ status: 'denied' });
    this.d.metrics.reviews.inc({ verdict: 'deny', source: 'human' });
    this.d.metrics.decisionLatency.observe({ source: 'human' }, (now - after.created_at) / 1000);
    this.afterDecided(after);
    return this.response(after);
  }

  /**
   * One approval (see `decide`). Written compare-and-set on the review's approvals: when another
   * approver (on this server or another replica) got there first, the state is read again and the
   * approval re-applied to it, so exactly one writer makes the deciding Nth approval.
   */
  private async approve(first: ReviewRow, decision: HumanDecisionInput, actor: Actor): Promise<ReviewResponse> {
    const edit = decision.args === undefined ? undefined : await this.reviewEdit(first, decision.args, actor);
    const given = decision.reason?.trim();
    let row = first;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        row = await this.current(row.id);
        if (row.status !== 'pending') throw alreadyDecided(row);
      }
      if (attempt >= 100) throw new ReviewServerError(503, ServerErrorCodes.STORE_UNAVAILABLE, `review ${row.id}: too many concurrent approvals; try again`);
      const state = approvalStateOf(row);
      const target = edit && edit.digest !== row.digest ? edit.digest : row.digest;
      const proposal = target === row.digest ? undefined : (edit?.proposal ?? state.edits?.[target]);
      const groups = proposal ? proposal.groups : state.groups;
      if (groups && !groups.some((g) => actor.groups?.includes(g))) {
        await this.d.store.appendAudit({
          id: `aud_${randomUUID()}`,
          ts: new Date().toISOString(),
          kind: 'human_decision',
          call: this.auditCall(row),
          meta: { flagged: 'approver_not_in_group', refused: true, reviewId: row.id, keyId: actor.id, keyName: actor.name, groups, keyGroups: actor.groups ?? [], via: actor.via ?? 'api' },
        });
        throw new ReviewServerError(
          403,
          ServerErrorCodes.NOT_IN_APPROVER_GROUP,
          `review ${row.id} needs approvers of group ${groups.join(' or ')}; key ${actor.name} is in ${actor.groups?.length ? actor.groups.join(', ') : 'no group'}`,
        );
      }
      if (state.approvals.some((a) => a.keyId === actor.id && a.digest === target)) {
        throw new ReviewServerError(
          409,
          ServerErrorCodes.ALREADY_APPROVED,
          `key ${actor.name} already approved review ${row.id}${target === row.digest ? '' : ' with these arguments'}; the same approver counts once (another approver must approve)`,
        );
      }
      const now = Date.now();
      const next: ApprovalState = { ...state, approvals: [...state.approvals, { keyId: actor.id, name: actor.name, digest: target, at: now }] };
      if (proposal && edit && target === edit.digest) {
        // The fresh re-review's requirement; who proposed it first stays on record.
        const earlier = state.edits?.[target];
        next.edits = { ...state.edits, [target]: earlier ? { ...edit.proposal, by: earlier.by, at: earlier.at } : edit.proposal };
      }
      const required = proposal ? proposal.required : state.required;
      const approvers = next.approvals.filter((a) => a.digest === target).map((a) => a.name);
      const final = approvers.length >= required;
      const editMeta = proposal ? { originalDigest: row.digest, editedDigest: target } : {};
      const meta = { reviewId: row.id, keyId: actor.id, keyName: actor.name, via: actor.via ?? 'api', approvals: approvers.length, required, approvers, ...editMeta };
      const call = proposal ? this.editedCall(row, target, proposal.args) : this.auditCall(row);
      let decide: DecideInput | undefined;
      let entry: AuditEntry;
      let editedJson = row.edited_json ?? null;
      if (!final) {
        entry = { id: `aud_${randomUUID()}`, ts: new Date(now).toISOString(), kind: 'human_decision', call, meta: { ...meta, approval: 'recorded' } };
      } else {
        const verdict: Verdict = proposal?.verdict === 'allow_with_conditions' ? 'allow_with_conditions' : 'allow';
        const conditions = verdict === 'allow_with_conditions' ? [...(proposal?.conditions ?? [])] : [];
        const decidedBy = `human:${approvers.join(', ')}`;
        const by = approvers.length === 1 ? approvers[0] : `${approvers.slice(0, -1).join(', ')} and ${approvers.at(-1)}`;
        const reason = given ? redactText(given) : `approved by ${by}${proposal ? ' with edited arguments' : ''}`;
        const claims = this.claims(row, verdict, conditions, decidedBy, row.agent_id ?? `key:${row.submitter_key_id}`);
        claims.digest = target;
        claims.approvers = approvers;
        if (proposal) claims.originalDigest = row.digest;
        const proof = await this.d.getSigner().sign(claims);
        decide = { id: row.id, verdict, source: 'human', reason, decidedBy, deciderKeyId: actor.id, proof, proofExpiresAt: now + this.d.proofTtlSeconds * 1000, decidedAt: now };
        editedJson = proposal ? JSON.stringify({ args: proposal.args, digest: target, originalDigest: row.digest }) : null;
        const base = this.auditEntry('human_decision', { ...row, digest: target, decided_by: decidedBy, proof }, {
          verdict,
          source: 'human',
          reason,
          conditions,
          evaluated: row.evaluated_json ? (JSON.parse(row.evaluated_json) as EvaluatedCheck[]) : [],
          latencyMs: now - row.created_at,
        });
        entry = { ...base, call, meta };
      }
      const ok = await this.d.store.recordApproval(
        { id: row.id, expected: row.approvals_json ?? null, approvalsJson: JSON.stringify(next), editedJson, ...(decide ? { decide } : {}) },
        entry,
      );
      if (!ok) continue;
      if (!final) {
        // The review as this approval left it (not read back: another approver may decide it in the
        // meantime, and this answer says what this approval did — recorded, still waiting).
        const after: ReviewRow = { ...row, approvals_json: JSON.stringify(next), edited_json: editedJson };
        this.d.metrics.approvals.inc({ status: 'approval_recorded' });
        this.events.emit('review.approved', this.view(after));
        return this.response(after);
      }
      const after = (await this.d.store.getReview(row.id))!;
      this.d.metrics.approvals.inc({ status: 'approved' });
      this.d.metrics.reviews.inc({ verdict: decide!.verdict, source: 'human' });
      this.d.metrics.decisionLatency.observe({ source: 'human' }, (now - after.created_at) / 1000);
      this.afterDecided(after);
      return this.response(after);
    }
  }

  /**
   * Edit-and-approve: the edited call (same tool, the approver's args) reviewed again by the
   * server's policy, as the submitter's call (its counters, its agent), without spending counters
   * (a human-approved call spends none). A policy deny refuses the edit: 422 EDIT_DENIED, audited,
   * and the review stays pending.
   */
  private async reviewEdit(row: ReviewRow, args: unknown, actor: Actor): Promise<{ digest: string; proposal: NonNullable<ApprovalState['edits']>[string] }> {
    // The gate refuses edited args that are null or a string (it runs JSON arguments, not text
    // that may hold JSON): refuse them here, before anything is recorded.
    if (args === null || typeof args === 'string') {
      throw new ReviewServerError(400, ServerErrorCodes.INVALID_REQUEST, 'args must be the edited arguments as JSON (e.g. an object), not null or a string; omit args to approve the call as asked');
    }
    let digest: string;
    try {
      digest = callDigest(row.tool, args);
    } catch (error) {
      throw new ReviewServerError(400, ServerErrorCodes.INVALID_REQUEST, `args cannot be digested: ${(error as Error).message}`);
    }
    const body: CreateReviewRequest = { idempotencyKey: 'edit', call: { tool: row.tool, args } };
    if (row.agent_json !== null) body.agent = JSON.parse(row.agent_json) as CreateReviewRequest['agent'];
    if (row.context_json !== null) body.context = JSON.parse(row.context_json) as CreateReviewRequest['context'];
    // The gate runs exactly the edited args it reads back, and checks them against the digest the
    // proof binds; the server stores (and answers with) args redacted. So an edit must survive
    // redaction unchanged, and must not carry the redaction marker of the args it was copied from.
    const storedArgs = redactValue(args, this.d.redact, 'args');
    if (canonicalJson(args).includes(REDACTED)) {
      throw new ReviewServerError(
        400,
        ServerErrorCodes.INVALID_REQUEST,
        `the edited args still contain ${REDACTED} (copied from the redacted call): the tool would receive that text; approve or deny the call as asked instead`,
      );
    }
    if (canonicalJson(storedArgs) !== canonicalJson(args)) {
      throw new ReviewServerError(
        400,
        ServerErrorCodes.INVALID_REQUEST,
        'the edited args contain values the server redacts (secrets, tokens): it could not hand the exact edited call to the gate; edit only fields without secrets, or approve or deny the call as asked',
      );
    }
    const r = this.redactResult(await this.evaluate(body, args, digest, true, { id: row.submitter_key_id, name: '', scope: 'eval' }));
    if (r.verdict === 'deny') {
      await this.d.store.appendAudit({
        id: `aud_${randomUUID()}`,
        ts: new Date().toISOString(),
        kind: 'human_decision',
        call: this.editedCall(row, digest, storedArgs),
        meta: { flagged: 'edit_denied', refused: true, reviewId: row.id, keyId: actor.id, keyName: actor.name, originalDigest: row.digest, editedDigest: digest, policyReason: r.reason, via: actor.via ?? 'api' },
      });
      this.d.metrics.approvals.inc({ status: 'edit_denied' });
      throw new ReviewServerError(
        422,
        ServerErrorCodes.EDIT_DENIED,
        `the policy denies the edited call, so the edit cannot be approved (review ${row.id} stays pending): ${r.reason}`,
      );
    }
    const verdict = r.verdict === 'allow' || r.verdict === 'allow_with_conditions' ? r.verdict : 'review';
    const proposal: NonNullable<ApprovalState['edits']>[string] = {
      args: storedArgs,
      by: actor.name,
      at: Date.now(),
      // A call the policy itself allows needs no more than this approver; one it sends to a human
      // needs what its own rule says.
      required: verdict === 'review' ? (r.approvals?.required ?? 1) : 1,
      verdict,
    };
    if (verdict === 'review' && r.approvals?.groups) proposal.groups = r.approvals.groups;
    if (verdict === 'allow_with_conditions') proposal.conditions = r.conditions;
    return { digest, proposal };
  }

  /** The audit `call` of an edited call: the edited digest and its stored (redacted) args. */
  private editedCall(row: ReviewRow, digest: string, storedArgs: unknown): AuditEntry['call'] {
    return { ...this.auditCall(row), digest, args: storedArgs };
  }

  // ---------------------------------------------------------------------------------------------
  // outcome

  /**
   * `POST /v1/reviews/{id}/outcome`: records what happened after the call ran. A review takes
   * one outcome; once reported, it authorises nothing more (exactly-once).
   */
  async outcome(id: string, outcome: Outcome, actor: KeyInfo): Promise<ReviewResponse> {
    const row = await this.d.store.getReview(id);
    if (!row) throw notFound(id);
    if (row.submitter_key_id !== actor.id && actor.scope !== 'admin') {
      throw new ReviewServerError(403, ServerErrorCodes.FORBIDDEN, `only the key that submitted review ${id} (or an admin key) may report its outcome`);
    }
    if (row.status === 'pending') throw new ReviewServerError(409, ServerErrorCodes.REVIEW_PENDING, `review ${id} is still pending; nothing may run before it is decided`);
    if (row.executed) throw new ReviewServerError(409, ServerErrorCodes.OUTCOME_EXISTS, `review ${id} already has an outcome; a review authorises one execution`);
    const clean: Outcome = { status: outcome.status };
    // Redacted before it is stored (the row, the audit record and every view read this copy).
    if (outcome.message !== undefined) clean.message = String(redactValue(outcome.message, this.d.redact, 'outcome.message'));
    if (outcome.durationMs !== undefined) clean.durationMs = outcome.durationMs;
    const ok = await this.d.store.setOutcome(id, JSON.stringify(clean), {
      id: `aud_${randomUUID()}`,
      ts: new Date().toISOString(),
      kind: 'outcome',
      call: this.auditCall(row),
      outcome: clean,
      meta: { reviewId: id, verdict: row.verdict, keyId: actor.id, ...(row.verdict === 'deny' ? { flagged: 'executed_after_deny' } : {}) },
    });
    if (!ok) throw new ReviewServerError(409, ServerErrorCodes.OUTCOME_EXISTS, `review ${id} already has an outcome; a review authorises one execution`);
    const after = (await this.d.store.getReview(id))!;
    this.events.emit('review.outcome', this.view(after));
    return this.response(after);
  }

  // ---------------------------------------------------------------------------------------------
  // expiry

  /** Arms the single expiry timer for the earliest pending deadline (`at`, or read from the store). */
  scheduleExpiry(at?: number): void {
    if (this.closed) return;
    if (at === undefined) {
      // A store that cannot answer now leaves the timer as it is; the next submit or read re-arms it.
      void this.d.store.nextPendingExpiry().then(
        (next) => {
          if (next !== undefined) this.scheduleExpiry(next);
        },
        () => {},
      );
      return;
    }
    const next = at;
    if (next >= this.expiryAt) return;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryAt = next;
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = undefined;
      this.expiryAt = Number.POSITIVE_INFINITY;
      this.expiring = this.expireDue().finally(() => {
        this.expiring = undefined;
        this.scheduleExpiry();
      });
    }, Math.min(MAX_TIMER_MS, Math.max(0, next - Date.now())));
    this.expiryTimer.unref();
  }

  /** Expires every pending review whose deadline has passed, as deny (`decidedBy: 'expiry'`). */
  async expireDue(now = Date.now()): Promise<number> {
    let n = 0;
    for (;;) {
      const due = await this.d.store.pendingDueBefore(now);
      if (due.length === 0) return n;
      for (const row of due) if (await this.expireOne(row)) n++;
      if (due.length < 500) return n;
    }
  }

  private async expireOne(row: ReviewRow): Promise<boolean> {
    const now = Date.now();
    const reason = `no human decided within ${Math.round(this.d.pendingTimeoutMs / 1000)}s; a review that times out is a deny`;
    const proof = await this.d.getSigner().sign(this.claims(row, 'deny', [], 'expiry', row.agent_id ?? `key:${row.submitter_key_id}`));
    const ok = await this.d.store.decideReview(
      {
        id: row.id,
        verdict: 'deny',
        source: 'expiry',
        reason,
        decidedBy: 'expiry',
        deciderKeyId: null,
        proof,
        proofExpiresAt: now + this.d.proofTtlSeconds * 1000,
        decidedAt: now,
      },
      {
        ...this.auditEntry('human_decision', { ...row, decided_by: 'expiry', proof }, {
          verdict: 'deny',
          source: 'fail_closed',
          reason,
          conditions: [],
          evaluated: [],
          latencyMs: now - row.created_at,
          error: { code: 'REVIEW_TIMEOUT', message: reason },
        }),
        meta: { reviewId: row.id, expired: true },
      },
    );
    if (!ok) return false;
    this.d.metrics.approvals.inc({ status: 'expired' });
    this.d.metrics.reviews.inc({ verdict: 'deny', source: 'expiry' });
    this.afterDecided((await this.d.store.getReview(row.id))!);
    return true;
  }

  // ---------------------------------------------------------------------------------------------

  /** Stops the expiry timer and wakes every long-poll (they answer with the current state). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    this.d.waiters.wakeAll();
    await Promise.allSettled([...this.inflight.values(), this.expiring]);
  }

  /**
   * A decision committed by another server on the same database (PostgreSQL NOTIFY): wakes this
   * server's long-polls on it and tells this server's dashboards. Webhooks are the deciding server's.
   */
  async decidedElsewhere(id: string): Promise<void> {
    this.d.waiters.wake(id);
    if (this.events.listenerCount('review.decided') === 0) return;
    const row = await this.d.store.getReview(id);
    if (row && row.status === 'decided') this.events.emit('review.decided', this.view(row));
  }

  /**
   * An approval recorded by another server on a review that still waits for more approvers
   * (PostgreSQL NOTIFY): tells this server's dashboards ("1 of 2 approvals"). Nobody waits on it.
   */
  async approvedElsewhere(id: string): Promise<void> {
    if (this.events.listenerCount('review.approved') === 0) return;
    const row = await this.d.store.getReview(id);
    if (row && row.status === 'pending') this.events.emit('review.approved', this.view(row));
  }

  /**
   * After the notification connection was re-established: decisions announced while it was down
   * were lost, so every review waited on here is read again and its waiters woken if decided.
   */
  async recheckWaiters(): Promise<void> {
    await Promise.all(
      this.d.waiters.ids().map(async (id) => {
        const row = await this.d.store.getReview(id).catch(() => undefined);
        if (row && row.status !== 'pending') this.d.waiters.wake(id);
      }),
    );
  }

  /** Wakes waiters now (before the webhook is even queued), then tells everyone else. */
  private afterDecided(row: ReviewRow): void {
    this.d.waiters.wake(row.id);
    const hasListeners = this.events.listenerCount('review.decided') > 0;
    // The view parses the stored JSON back: only build it when someone will read it.
    if (!hasListeners && !this.d.webhooks.active) return;
    const view = this.view(row);
    if (hasListeners) this.events.emit('review.decided', view);
    this.d.webhooks.emit('review.decided', view);
  }

  response(row: ReviewRow): ReviewResponse {
    const r: ReviewResponse = {
      id: row.id,
      status: row.status,
      verdict: row.verdict,
      digest: row.digest,
      tool: row.tool,
      executed: row.executed === 1,
      conditions: row.conditions_json ? (JSON.parse(row.conditions_json) as string[]) : [],
      evaluated: row.evaluated_json ? (JSON.parse(row.evaluated_json) as EvaluatedCheck[]) : [],
    };
    // A decision for an edited call answers with that call's digest (the one the proof binds).
    if (row.edited_json) {
      const edited = JSON.parse(row.edited_json) as NonNullable<ReviewResponse['edited']>;
      r.edited = edited;
      r.digest = edited.digest;
    }
    if (row.status === 'decided' && row.source === 'expiry') r.expired = true;
    if (row.approvals_json) {
      const state = approvalStateOf(row);
      const digest = r.digest!;
      const edit = digest !== row.digest ? state.edits?.[digest] : undefined;
      const approvals: NonNullable<ReviewResponse['approvals']> = {
        required: edit ? edit.required : state.required,
        approvers: state.approvals.filter((a) => a.digest === digest).map((a) => a.name),
      };
      const groups = edit ? edit.groups : state.groups;
      if (groups) approvals.groups = groups;
      r.approvals = approvals;
    }
    if (row.reason !== null) r.reason = row.reason;
    if (row.decided_by !== null) r.decidedBy = row.decided_by;
    if (row.proof !== null) r.proof = row.proof;
    if (row.status === 'pending' && row.expires_at !== null) r.expiresAt = new Date(row.expires_at).toISOString();
    else if (row.proof_expires_at !== null) r.expiresAt = new Date(row.proof_expires_at).toISOString();
    return r;
  }

  private claims(row: ReviewRow, verdict: Verdict, conditions: string[], decidedBy: string, agentId: string): ProofSignInput {
    const c: ProofSignInput = { reviewId: row.id, agentId, tool: row.tool, digest: row.digest, verdict, conditions, decidedBy };
    if (row.call_id !== null) c.callId = row.call_id;
    // Signed as tg.idk: the gate checks it against the key it sent, so a captured proof cannot be replayed.
    c.idempotencyKey = publicIdempotencyKey(row.idem_key);
    return c;
  }

  /** The audit `call` of a review; `args`: its stored args when the caller has them (else parsed from the row). */
  private auditCall(row: ReviewRow, args: unknown = JSON.parse(row.args_json)): AuditEntry['call'] {
    const call: AuditEntry['call'] = { tool: row.tool, digest: row.digest, args };
    if (row.call_id !== null) call.callId = row.call_id;
    if (row.run_id !== null) call.runId = row.run_id;
    if (row.agent_id !== null) call.agentId = row.agent_id;
    return call;
  }

  private auditEntry(
    kind: AuditEntry['kind'],
    row: ReviewRow,
    d: { verdict: Verdict; source: DecisionSource; reason: string; conditions: string[]; evaluated: EvaluatedCheck[]; latencyMs: number; error?: { code: string; message: string } },
    args?: unknown,
  ): AuditEntry {
    const decision: Omit<Decision, 'auditId'> = {
      verdict: d.verdict,
      reason: d.reason,
      conditions: d.conditions,
      evaluated: d.evaluated,
      source: d.source,
      tool: row.tool,
      reviewId: row.id,
      digest: row.digest,
      idempotencyKey: publicIdempotencyKey(row.idem_key),
      latencyMs: Math.round(d.latencyMs * 1000) / 1000,
    };
    if (row.call_id !== null) decision.callId = row.call_id;
    if (row.run_id !== null) decision.runId = row.run_id;
    if (row.decided_by !== null) decision.decidedBy = row.decided_by;
    if (row.proof !== null) decision.proof = row.proof;
    if (d.error) decision.error = d.error;
    return { id: `aud_${randomUUID()}`, ts: new Date().toISOString(), kind, call: args === undefined ? this.auditCall(row) : this.auditCall(row, args), decision };
  }
}

/** The stored idempotency key: the submitting API key's id, a unit separator, the client's key. */
export function scopedIdempotencyKey(keyId: string, idempotencyKey: string): string {
  return `${keyId}\u001f${idempotencyKey}`;
}

/** The client's idempotency key from a stored one. */
export function publicIdempotencyKey(stored: string): string {
  const i = stored.indexOf('\u001f');
  return i < 0 ? stored : stored.slice(i + 1);
}

/** A review's stored approvals (none yet: one approval of the original call needed). */
export function approvalStateOf(row: ReviewRow): ApprovalState {
  return row.approvals_json ? (JSON.parse(row.approvals_json) as ApprovalState) : { required: 1, approvals: [] };
}

function notFound(id: string): ReviewServerError {
  return new ReviewServerError(404, ServerErrorCodes.NOT_FOUND, `no review ${id}`);
}

function alreadyDecided(row: ReviewRow): ReviewServerError {
  return new ReviewServerError(409, ServerErrorCodes.ALREADY_DECIDED, `review ${row.id} is already decided (${row.verdict} by ${row.decided_by ?? 'unknown'})`);
}
