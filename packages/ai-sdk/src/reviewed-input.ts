import { ErrorCodes, type Decision } from '@toolgate/core';

/**
 * The input a governed tool body runs with, for a Decision that allows the call: the reviewed
 * copy, never the SDK's own input object (that one may have a `toJSON`, getters, or be mutated
 * after the review, so it is not what the reviewer saw).
 *
 * - `decision.args` when the gate attached it (a fresh value parsed from the canonical JSON the
 *   digest covers);
 * - the input itself only for a plain passthrough (`not_high_stakes` without args: the tool name
 *   matched no rule, nothing was judged).
 *
 * Returns undefined for an allowing high-stakes Decision without reviewed arguments (a copy of
 * the gate's Decision, or a gate from an older core): the call must not run.
 */
export function reviewedInput(decision: Decision, input: unknown): { input: unknown } | undefined {
  if (Object.hasOwn(decision, 'args')) return { input: (decision as { args?: unknown }).args };
  if (decision.source === 'not_high_stakes') return { input };
  return undefined;
}

/** True when `reviewedInput(decision, …)` has an input to give, without parsing it. */
export function hasReviewedInput(decision: Decision): boolean {
  return Object.hasOwn(decision, 'args') || decision.source === 'not_high_stakes';
}

/** The code of the deny returned when no reviewed input is available. */
export const ARGS_NOT_REVIEWED: string = (ErrorCodes as Record<string, string>).ARGS_NOT_REVIEWED ?? 'ARGS_NOT_REVIEWED';

/** A deny for an allowed call whose reviewed arguments are not available. */
export function notReviewedDecision(decision: Decision): Decision {
  const reason = 'the Decision carries no reviewed arguments, so what would run is not known to be what was reviewed; denied';
  const d: Decision = { ...decision, verdict: 'deny', source: 'fail_closed', reason, error: { code: ARGS_NOT_REVIEWED, message: reason } };
  delete d.proof;
  return d;
}
