import { ErrorCodes, OptionsError, ReviewerError } from '../errors';
import { ReviewResponseSchema, type CreateReviewRequest, type ReviewResponse } from '../protocol/v1';
import { abortError, sleep } from '../resilience/deadline';
import { isRetryable, withRetry, type RetryOptions } from '../resilience/retry';
import type { Reviewer, ReviewerCallOptions, ReviewerVerdict } from '../types';
import { httpError, parseBody, requestJson, reviewerAgent, reviewerUrl } from './http-json';

export interface HttpReviewerOptions {
  /** Base URL of a protocol v1 reviewer, e.g. `http://127.0.0.1:7070`. */
  url: string;
  /** An `eval`-scope key (`toolgate keys create --scope eval`). */
  apiKey: string;
  /** Sockets in the pool (per origin). Default 64. */
  connections?: number;
  retry?: RetryOptions;
  /** How long POST /v1/reviews may hold for a human decision before answering 202. Default 0. */
  submitWaitMs?: number;
  /** Longest single long-poll while waiting for a human. Default 25 000 ms. */
  pollWaitMs?: number;
  name?: string;
}

/**
 * The toolgate review protocol v1 client (docs/architecture.md) over an undici pool (in the edge
 * build: over the runtime's `fetch`). Retries network
 * errors, 5xx and 429 (honouring Retry-After) inside the gate's deadline — safe, because every
 * request carries the call's idempotency key. Long-polls pending reviews for `onReview: 'wait'`.
 *
 * @example
 * const gate = createGate({
 *   reviewer: httpReviewer({ url: 'http://127.0.0.1:7070', apiKey: process.env.TOOLGATE_KEY! }),
 *   highStakes: ['transfer'],
 *   jwksUrl: 'http://127.0.0.1:7070/.well-known/jwks.json',
 * });
 */
export function httpReviewer(options: HttpReviewerOptions): Reviewer {
  const { base, at } = reviewerUrl(options.url, 'httpReviewer');
  if (typeof options.apiKey !== 'string' || options.apiKey.length === 0) {
    throw new OptionsError('httpReviewer: apiKey is required (create one with `toolgate keys create --scope eval`)');
  }
  const agent = reviewerAgent(options.connections ?? 64);
  const headers = { authorization: `Bearer ${options.apiKey}`, accept: 'application/json' };
  const pollWaitMs = options.pollWaitMs ?? 25_000;
  const name = options.name ?? `http(${base.host})`;

  const toVerdict = (r: ReviewResponse, digest?: string): ReviewerVerdict => {
    // An approval with edited arguments answers with the edited call's digest; the gate checks that
    // it is the digest of the edited arguments and that the edit is of the call it asked about.
    if (digest && r.digest && r.digest !== digest && r.edited?.originalDigest !== digest) {
      // The reviewer was reached and answered — for another call. That is no answer for this one.
      throw new ReviewerError(ErrorCodes.VERDICT_INVALID, `reviewer answered for another call (digest ${r.digest}, asked ${digest})`);
    }
    const v: ReviewerVerdict = { verdict: r.status === 'pending' ? 'review' : r.verdict, reviewId: r.id };
    if (r.digest) v.digest = r.digest;
    if (r.reason !== undefined) v.reason = r.reason;
    if (r.conditions) v.conditions = r.conditions;
    // A check on a field the call lacks comes without `actual` (JSON has no undefined).
    if (r.evaluated) v.evaluated = r.evaluated.map((c) => ({ ...c, expected: c.expected, actual: c.actual }));
    if (r.proof) v.proof = r.proof;
    if (r.decidedBy) v.decidedBy = r.decidedBy;
    if (r.expiresAt) v.expiresAt = r.expiresAt;
    // Expired is its own outcome (REVIEW_EXPIRED at the gate), never read as a human's "no".
    if (r.expired === true) v.expired = true;
    // The gate checks every part of an edit (both digests, the arguments, the proof) before it counts.
    if (r.edited) v.edited = { args: r.edited.args, digest: r.edited.digest, originalDigest: r.edited.originalDigest };
    if (r.approvals) v.approvals = { required: r.approvals.required, approvers: [...r.approvals.approvers], ...(r.approvals.groups ? { groups: [...r.approvals.groups] } : {}) };
    return v;
  };

  return {
    name,
    async review(request, { signal, deadline }) {
      const body: CreateReviewRequest = {
        idempotencyKey: request.idempotencyKey,
        call: request.call,
        digest: request.digest,
      };
      if (request.agent) body.agent = request.agent;
      if (request.context) body.context = request.context;
      const waitMs = request.waitMs ?? options.submitWaitMs;
      if (waitMs) body.waitMs = Math.max(0, Math.min(waitMs, deadline - Date.now() - 50));
      if (request.dryRun) body.dryRun = true;
      const payload = JSON.stringify(body);
      const what = `POST /v1/reviews (${request.call.tool})`;
      const res = await withRetry(
        () => requestJson(agent, at('/v1/reviews'), { method: 'POST', headers, body: payload, signal }, what),
        { signal, deadline },
        options.retry,
      );
      if (res.status !== 200 && res.status !== 202) throw httpError(what, res);
      return toVerdict(parseAnswer(res.body, what, res.status), request.digest);
    },

    async waitForDecision(reviewId, { signal, deadline }: ReviewerCallOptions) {
      const what = `GET /v1/reviews/${reviewId}`;
      let failures = 0;
      for (;;) {
        if (signal.aborted) throw abortError(signal, what);
        const waitMs = Math.max(0, Math.min(pollWaitMs, deadline - Date.now() - 50));
        try {
          const res = await requestJson(agent, at(`/v1/reviews/${encodeURIComponent(reviewId)}?waitMs=${waitMs}`), { method: 'GET', headers, signal }, what);
          if (res.status !== 200 && res.status !== 202) throw httpError(what, res);
          const r = parseAnswer(res.body, what, res.status);
          failures = 0;
          if (r.status === 'decided') return toVerdict(r);
          if (Date.now() >= deadline) return toVerdict(r);
        } catch (error) {
          // The reviewer may restart while a human thinks: keep trying until the deadline.
          if (!isRetryable(error) || signal.aborted) throw error;
          failures += 1;
          const backoff = Math.min(2_000, 100 * 2 ** Math.min(failures, 5)) * (0.5 + Math.random() / 2);
          if (Date.now() + backoff >= deadline) throw error;
          await sleep(backoff, signal);
        }
      }
    },

    async reportOutcome(reviewId, outcome, { signal, deadline }) {
      const what = `POST /v1/reviews/${reviewId}/outcome`;
      const res = await withRetry(
        () => requestJson(agent, at(`/v1/reviews/${encodeURIComponent(reviewId)}/outcome`), { method: 'POST', headers, body: JSON.stringify(outcome), signal }, what),
        { signal, deadline },
        options.retry,
      );
      if (res.status >= 300) throw httpError(what, res);
    },

    async close() {
      await agent.close();
    },
  };
}

/**
 * A 200/202 body as a review. A JSON object that states a `verdict` comes from a reviewer that was
 * reached and answered: if that answer is not a valid review (an unknown verdict such as `DENY`,
 * or the protocol's other fields missing or wrong) it is `VERDICT_INVALID`, a deny in every fail
 * mode. A body that states no verdict at all (or is not JSON, or is cut off) is
 * `REVIEWER_BAD_RESPONSE`: something other than the reviewer answered, handled as an outage.
 */
function parseAnswer(body: unknown, what: string, status: number): ReviewResponse {
  const parsed = ReviewResponseSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  if (typeof body === 'object' && body !== null && !Array.isArray(body) && 'verdict' in body) {
    const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    throw new ReviewerError(ErrorCodes.VERDICT_INVALID, `${what}: reviewer answered ${status} with an invalid review (${issues.join('; ')})`, { status });
  }
  return parseBody(ReviewResponseSchema, body, what, status);
}
