import { ErrorCodes, OptionsError, type ReviewerError } from '../errors';
import type { Outcome, Reviewer, ReviewerCallOptions, ReviewerVerdict } from '../types';

/**
 * Asks reviewers in order and returns the first conclusive answer; a reviewer that abstains
 * (e.g. a policy where no rule matched and no default is set) passes to the next. A failure ends
 * the chain (the gate's fail mode applies) unless `onError: 'next'`. All abstaining: abstains.
 *
 * @example
 * const reviewer = chainReviewers([policyReviewer(localRules), httpReviewer({ url, apiKey })]);
 */
export function chainReviewers(reviewers: ReadonlyArray<Reviewer>, options: { onError?: 'fail' | 'next' } = {}): Reviewer {
  if (!Array.isArray(reviewers) || reviewers.length === 0) {
    throw new OptionsError('chainReviewers needs a non-empty list of reviewers');
  }
  const byReview = new Map<string, Reviewer>();
  const remember = (reviewId: string | undefined, r: Reviewer) => {
    if (!reviewId) return;
    if (byReview.size > 10_000) byReview.clear();
    byReview.set(reviewId, r);
  };
  return {
    name: `chain(${reviewers.map((r) => r.name).join(',')})`,
    async review(request, callOptions) {
      let lastError: unknown;
      for (const reviewer of reviewers) {
        try {
          const verdict = await reviewer.review(request, callOptions);
          // A non-verdict (null, `{ verdict: 'DENY' }`) is handed on as it is: the gate denies it.
          if ((verdict as ReviewerVerdict | null)?.abstain === true) continue;
          remember((verdict as ReviewerVerdict | null)?.reviewId, reviewer);
          return verdict;
        } catch (error) {
          // A reviewer that answered nonsense is not skipped as if it were down.
          if (options.onError !== 'next' || (error as ReviewerError)?.code === ErrorCodes.VERDICT_INVALID) throw error;
          lastError = error;
        }
      }
      if (lastError) throw lastError;
      return { verdict: 'deny', abstain: true, reason: 'no reviewer in the chain had an answer' };
    },
    async waitForDecision(reviewId: string, callOptions: ReviewerCallOptions) {
      const r = byReview.get(reviewId) ?? reviewers.find((x) => x.waitForDecision);
      if (!r?.waitForDecision) throw new OptionsError('no reviewer in the chain can wait for a decision');
      return r.waitForDecision(reviewId, callOptions);
    },
    async reportOutcome(reviewId: string, outcome: Outcome, callOptions: ReviewerCallOptions) {
      await byReview.get(reviewId)?.reportOutcome?.(reviewId, outcome, callOptions);
    },
    async close() {
      await Promise.all(reviewers.map((r) => r.close?.()));
    },
  };
}
