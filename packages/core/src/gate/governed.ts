import type { Decision } from '../types';
import type { Gate } from './gate-types';
import { GovernanceDeniedError } from '../errors';
import { claimExecutionNow } from './execution-claims';
import { reviewedArgs } from './reviewed-args';

/** True when the Decision lets the call run: allow or allow_with_conditions (incl. fail-open and human approvals). */
export function isAllowed(decision: Decision): boolean {
  return decision.verdict === 'allow' || decision.verdict === 'allow_with_conditions';
}

/**
 * Runs an allowed call's body with the arguments that were reviewed, times it, reports the outcome
 * to the gate (success, or error with its message) and returns or rethrows what the body did.
 * Adapters call this so outcome reporting is the same everywhere.
 *
 * The body receives `reviewedArgs(decision, frameworkArgs)`: `decision.args` (a copy parsed from the
 * canonical JSON the reviewer saw) whenever the gate read the arguments, `frameworkArgs` only for a
 * plain passthrough. A Decision that does not allow the call throws `GovernanceDeniedError` and an
 * allowing high-stakes Decision without reviewed arguments throws `ARGS_NOT_REVIEWED`, and a call
 * that already ran (or is running) on this gate throws `GovernanceDeniedError` with an
 * `ALREADY_EXECUTED` Decision; in all three cases the body never runs. Passthrough decisions
 * (`not_high_stakes`) are not claimed or reported.
 */
export async function runGoverned<T>(
  gate: Gate,
  decision: Decision,
  body: (args: unknown) => T | Promise<T>,
  frameworkArgs?: unknown,
): Promise<T> {
  const args = reviewedArgs(decision, frameworkArgs);
  if (decision.source === 'not_high_stakes') return body(args);
  // One review authorises one execution: claimed before the body starts, not after it ends.
  const claim = claimExecutionNow(gate, decision);
  const already = claim instanceof Promise ? await claim : claim;
  if (already) throw new GovernanceDeniedError(already);
  const started = performance.now();
  try {
    const value = await body(args);
    void gate.reportOutcome(decision, { status: 'success', durationMs: performance.now() - started });
    return value;
  } catch (error) {
    void gate.reportOutcome(decision, {
      status: 'error',
      message: error instanceof Error ? error.message : String(error),
      durationMs: performance.now() - started,
    });
    throw error;
  }
}
