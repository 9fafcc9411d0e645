import type { Reviewer, ReviewerCallOptions, ReviewerVerdict, ReviewRequest } from '../types';

/**
 * A reviewer backed by your own function: a rules engine, an LLM judge, a test double.
 * Throwing (or rejecting) is a reviewer failure, handled by the gate's fail mode.
 *
 * @example
 * const reviewer = callbackReviewer(({ call }) =>
 *   call.tool === 'transfer' ? { verdict: 'review', reason: 'money moves need a human' } : { verdict: 'allow' });
 */
export function callbackReviewer(
  fn: (request: ReviewRequest, options: ReviewerCallOptions) => ReviewerVerdict | Promise<ReviewerVerdict>,
  options: { name?: string } = {},
): Reviewer {
  return {
    name: options.name ?? 'callback',
    async review(request, callOptions) {
      return fn(request, callOptions);
    },
  };
}
