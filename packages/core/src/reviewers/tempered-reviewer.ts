import { z } from 'zod';
import { canonicalJson } from '../digest/canonical-json';
import { ErrorCodes, OptionsError, ReviewerError } from '../errors';
import { sleep } from '../resilience/deadline';
import { withRetry, type RetryOptions } from '../resilience/retry';
import type { Reviewer, ReviewerVerdict, ReviewRequest } from '../types';
import { httpError, parseBody, requestJson, reviewerAgent, reviewerUrl } from './http-json';

export interface TemperedReviewerOptions {
  /** Base URL of the Tempered-style service. */
  url: string;
  apiKey: string;
  /** Header that carries the key. Default `authorization` (as `Bearer <key>`). */
  authHeader?: string;
  connections?: number;
  retry?: RetryOptions;
  /** First poll interval; doubles (with jitter) up to `maxPollMs`. Default 100 ms. */
  pollMs?: number;
  maxPollMs?: number;
  name?: string;
}

/** Any string: a decision outside the known ones is an answer we cannot act on (a deny), not a malformed body. */
const Decision = z.string();

/** What the service answers; field names vary between versions, so a few spellings are accepted. */
const EvaluationSchema = z.looseObject({
  id: z.union([z.string(), z.number()]).transform(String),
  status: z.enum(['pending', 'queued', 'running', 'in_progress', 'completed', 'failed']),
  decision: Decision.optional(),
  recommendation: Decision.optional(),
  result: z.looseObject({ decision: Decision.optional(), recommendation: Decision.optional(), conditions: z.array(z.unknown()).optional(), mitigations: z.array(z.unknown()).optional(), rationale: z.string().optional(), reasoning: z.string().optional() }).nullish(),
  conditions: z.array(z.unknown()).optional(),
  mitigations: z.array(z.unknown()).optional(),
  rationale: z.string().optional(),
  reasoning: z.string().optional(),
  error: z.unknown().optional(),
});
type Evaluation = z.infer<typeof EvaluationSchema>;

/**
 * A reviewer for Tempered-style evaluation services: submits `POST /api/v1/evaluations/` with a
 * description, context, idempotency_key, change_request_id and plan_id, then polls
 * `GET /api/v1/evaluations/{id}/` (backoff with jitter) until `completed` or `failed`, all inside
 * the gate's deadline. PROCEED → allow, PROCEED_WITH_MITIGATIONS → allow_with_conditions (the
 * evaluation's `conditions`, and any `mitigations`, become the Decision's conditions), REVIEW_REQUIRED
 * → review, DENY/BLOCK → deny. `failed`, QUORUM_FAILED, 429 past the deadline and 5xx are reviewer
 * failures (the fail mode applies); a completed evaluation with no or an unknown decision is
 * `VERDICT_INVALID`, a deny in every fail mode.
 *
 * @example
 * const reviewer = temperedReviewer({ url: 'https://tempered.example', apiKey: process.env.TEMPERED_KEY! });
 */
export function temperedReviewer(options: TemperedReviewerOptions): Reviewer {
  const { base, at } = reviewerUrl(options.url, 'temperedReviewer');
  if (!options.apiKey) throw new OptionsError('temperedReviewer: apiKey is required');
  const agent = reviewerAgent(options.connections ?? 16);
  const header = (options.authHeader ?? 'authorization').toLowerCase();
  const headers = { [header]: header === 'authorization' ? `Bearer ${options.apiKey}` : options.apiKey, accept: 'application/json' };
  const pollMs = options.pollMs ?? 100;
  const maxPollMs = options.maxPollMs ?? 2_000;

  return {
    name: options.name ?? `tempered(${base.host})`,
    async review(request, { signal, deadline }) {
      const what = `POST /api/v1/evaluations/ (${request.call.tool})`;
      const res = await withRetry(
        () => requestJson(agent, at('/api/v1/evaluations/'), { method: 'POST', headers, body: JSON.stringify(submission(request)), signal }, what),
        { signal, deadline },
        options.retry,
      );
      if (res.status !== 200 && res.status !== 201 && res.status !== 202) throw httpError(what, res);
      let evaluation = parseBody(EvaluationSchema, res.body, what, res.status);
      let wait = pollMs;
      while (evaluation.status !== 'completed' && evaluation.status !== 'failed') {
        const pause = Math.min(wait, maxPollMs) * (0.5 + Math.random() / 2);
        if (Date.now() + pause >= deadline) {
          throw new ReviewerError(ErrorCodes.REVIEWER_TIMEOUT, `evaluation ${evaluation.id} still ${evaluation.status} at the gate's deadline`);
        }
        await sleep(pause, signal);
        wait *= 2;
        const pwhat = `GET /api/v1/evaluations/${evaluation.id}/`;
        const poll = await withRetry(
          () => requestJson(agent, at(`/api/v1/evaluations/${encodeURIComponent(evaluation.id)}/`), { method: 'GET', headers, signal }, pwhat),
          { signal, deadline },
          options.retry,
        );
        if (poll.status !== 200) throw httpError(pwhat, poll);
        evaluation = parseBody(EvaluationSchema, poll.body, pwhat, poll.status);
      }
      return toVerdict(evaluation);
    },
    async close() {
      await agent.close();
    },
  };
}

function submission(request: ReviewRequest) {
  const ctx = request.context ?? {};
  const body: Record<string, unknown> = {
    description: `Agent ${request.agent?.id ?? 'unknown'} wants to call tool "${request.call.tool}" with arguments ${truncate(canonicalJson(request.call.args ?? {}), 4000)}`,
    context: { ...ctx, tool: request.call.tool, arguments: request.call.args, digest: request.digest, agent: request.agent, call_id: request.call.callId, run_id: request.call.runId },
    idempotency_key: request.idempotencyKey,
  };
  if (ctx.changeRequestId) body.change_request_id = ctx.changeRequestId;
  if (ctx.planId) body.plan_id = ctx.planId;
  return body;
}

function toVerdict(e: Evaluation): ReviewerVerdict {
  if (e.status === 'failed') {
    throw new ReviewerError(ErrorCodes.REVIEWER_FAILED, `evaluation ${e.id} failed${e.error ? `: ${JSON.stringify(e.error).slice(0, 200)}` : ''}`);
  }
  const decision = e.decision ?? e.recommendation ?? e.result?.decision ?? e.result?.recommendation;
  const reason = e.rationale ?? e.reasoning ?? e.result?.rationale ?? e.result?.reasoning;
  // The Tempered guide puts what must be done in `conditions`; older services call them mitigations.
  const listed = [...(e.conditions ?? e.result?.conditions ?? []), ...(e.mitigations ?? e.result?.mitigations ?? [])];
  const mitigations = [...new Set(listed.map(conditionText))];
  const v = (verdict: ReviewerVerdict['verdict']): ReviewerVerdict => ({
    verdict,
    reviewId: e.id,
    decidedBy: 'tempered',
    ...(reason ? { reason } : { reason: `evaluation ${decision}` }),
    ...(mitigations.length ? { conditions: mitigations } : {}),
  });
  switch (decision) {
    case 'PROCEED':
      return v('allow');
    case 'PROCEED_WITH_MITIGATIONS':
      return v('allow_with_conditions');
    case 'REVIEW_REQUIRED':
      return v('review');
    case 'DENY':
    case 'BLOCK':
      return v('deny');
    case 'QUORUM_FAILED':
      throw new ReviewerError(ErrorCodes.REVIEWER_FAILED, `evaluation ${e.id}: QUORUM_FAILED (the evaluators could not agree)`);
    default:
      // The service was reached and says the evaluation completed, but with no decision we know:
      // nonsense from a reachable reviewer is a deny in every fail mode, never an outage.
      throw new ReviewerError(
        ErrorCodes.VERDICT_INVALID,
        decision === undefined ? `evaluation ${e.id} completed without a decision` : `evaluation ${e.id} completed with an unknown decision ${JSON.stringify(decision.slice(0, 40))}`,
      );
  }
}

/** A condition or mitigation as text: a string, an object's description (or text / title), else its JSON. */
function conditionText(m: unknown): string {
  if (typeof m === 'string') return m;
  for (const k of ['description', 'text', 'title', 'condition'] as const) {
    const v = (m as Record<string, unknown> | null)?.[k];
    if (typeof v === 'string') return v;
  }
  return JSON.stringify(m) ?? String(m);
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
