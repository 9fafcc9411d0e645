import { callDigest, canonicalJson, ErrorCodes, type Decision } from '@toolgate/core';

/**
 * The input a governed tool body runs with, for a Decision that allows the call: the reviewed
 * copy, never the SDK's own input object (that one may have a `toJSON`, getters, or be mutated
 * after the review, so it is not what the reviewer saw).
 *
 * - `decision.args` when the gate attached it (a fresh value parsed from the canonical JSON the
 *   digest covers);
 * - else, for a plain passthrough (`not_high_stakes`, the tool name matched no rule), the input;
 * - else the input's canonical JSON, parsed again, when and only when it still hashes to the
 *   reviewed digest.
 *
 * Returns undefined when nothing that was reviewed is available: the call must not run.
 */
export function reviewedInput(toolName: string, decision: Decision, input: unknown): { input: unknown } | undefined {
  if (Object.hasOwn(decision, 'args')) return { input: (decision as { args?: unknown }).args };
  if (decision.source === 'not_high_stakes') return { input };
  try {
    const canonical = canonicalJson(input ?? {});
    if (decision.digest !== '' && callDigest(toolName, JSON.parse(canonical)) === decision.digest) {
      return { input: JSON.parse(canonical) as unknown };
    }
  } catch {
    // not JSON: not what was reviewed
  }
  return undefined;
}

/** The code of the deny returned when no reviewed input is available. */
export const ARGS_NOT_REVIEWED: string = (ErrorCodes as Record<string, string>).ARGS_NOT_REVIEWED ?? 'ARGS_NOT_REVIEWED';

/** A deny for an allowed call whose reviewed arguments cannot be recovered. */
export function notReviewedDecision(decision: Decision): Decision {
  const reason = 'the arguments about to run are not the ones that were reviewed (changed after the review); denied';
  const d: Decision = { ...decision, verdict: 'deny', source: 'fail_closed', reason, error: { code: ARGS_NOT_REVIEWED, message: reason } };
  delete d.proof;
  return d;
}
