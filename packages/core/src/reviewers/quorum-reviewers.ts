import { ErrorCodes, OptionsError, ReviewerError } from '../errors';
import type { Reviewer, ReviewerVerdict, Verdict } from '../types';

const VERDICTS: ReadonlySet<string> = new Set<Verdict>(['allow', 'allow_with_conditions', 'deny', 'review']);

/**
 * M-of-N review: all reviewers are asked at once. Any deny vetoes. At least `required` allowing
 * answers allow (with the union of their conditions). Otherwise: `review` if any reviewer asked for
 * a human, a deny if every reviewer answered, and a reviewer failure (the fail mode applies) when
 * failures kept the quorum from being reached. Proofs of single reviewers are not carried over.
 *
 * @example
 * const reviewer = quorumReviewers([securityBot, financeBot, policyReviewer(rules)], { required: 2 });
 */
export function quorumReviewers(reviewers: ReadonlyArray<Reviewer>, options: { required: number }): Reviewer {
  if (!Array.isArray(reviewers) || reviewers.length === 0) {
    throw new OptionsError('quorumReviewers needs a non-empty list of reviewers');
  }
  const m = options?.required;
  if (!Number.isInteger(m) || m < 1 || m > reviewers.length) {
    throw new OptionsError(`quorumReviewers: required must be an integer from 1 to ${reviewers.length}, got ${String(m)}`);
  }
  return {
    name: `quorum(${m}/${reviewers.length})`,
    async review(request, callOptions) {
      const settled = await Promise.allSettled(reviewers.map((r) => r.review(request, callOptions)));
      const answers: Array<{ name: string; v: ReviewerVerdict }> = [];
      const failures: string[] = [];
      settled.forEach((s, i) => {
        const name = reviewers[i]!.name;
        if (s.status === 'fulfilled') {
          // An answer that is not a verdict (e.g. `{ verdict: 'DENY' }`) vetoes, as the gate denies it alone.
          const v = VERDICTS.has((s.value as ReviewerVerdict | null)?.verdict as string) ? s.value : { verdict: 'deny' as const, reason: `answered with no valid verdict` };
          if (!v.abstain) answers.push({ name, v });
        } else if ((s.reason as ReviewerError)?.code === ErrorCodes.VERDICT_INVALID) {
          answers.push({ name, v: { verdict: 'deny', reason: (s.reason as Error).message } });
        } else failures.push(`${name}: ${(s.reason as Error)?.message ?? String(s.reason)}`);
      });
      const evaluated = answers.flatMap((a) => a.v.evaluated ?? []);
      const deny = answers.find((a) => a.v.verdict === 'deny');
      if (deny) {
        return { verdict: 'deny', reason: `vetoed by ${deny.name}: ${deny.v.reason ?? 'deny'}`, evaluated, decidedBy: deny.v.decidedBy ?? deny.name };
      }
      const allows = answers.filter((a) => a.v.verdict === 'allow' || a.v.verdict === 'allow_with_conditions');
      if (allows.length >= m) {
        const conditions = [...new Set(allows.flatMap((a) => a.v.conditions ?? []))];
        const withConditions = allows.some((a) => a.v.verdict === 'allow_with_conditions');
        return {
          verdict: withConditions ? 'allow_with_conditions' : 'allow',
          reason: `${allows.length} of ${reviewers.length} reviewers allowed (quorum ${m})`,
          conditions,
          evaluated,
          decidedBy: `quorum(${allows.map((a) => a.name).join(',')})`,
        };
      }
      const human = answers.find((a) => a.v.verdict === 'review');
      if (human) {
        return { verdict: 'review', reason: `quorum not reached; ${human.name} asks for a human: ${human.v.reason ?? ''}`.trim(), evaluated };
      }
      if (failures.length > 0 && allows.length + failures.length >= m) {
        throw new ReviewerError(
          ErrorCodes.REVIEWER_FAILED,
          `quorum of ${m} not reached: ${allows.length} allowed, ${failures.length} failed (${failures.join('; ')})`,
        );
      }
      return { verdict: 'deny', reason: `quorum of ${m} not reached: ${allows.length} allowed`, evaluated };
    },
    async close() {
      await Promise.all(reviewers.map((r) => r.close?.()));
    },
  };
}
