import type { Decision } from '../types';
import type { Gate } from './gate-types';

/** True when the Decision lets the call run: allow or allow_with_conditions (incl. fail-open and human approvals). */
export function isAllowed(decision: Decision): boolean {
  return decision.verdict === 'allow' || decision.verdict === 'allow_with_conditions';
}

/**
 * Runs an allowed call's body, times it, reports the outcome to the gate (success, or error with
 * its message) and returns or rethrows what the body did. Adapters call this so outcome reporting
 * is the same everywhere. Passthrough decisions (`not_high_stakes`) are not reported.
 */
export async function runGoverned<T>(gate: Gate, decision: Decision, body: () => T | Promise<T>): Promise<T> {
  if (decision.source === 'not_high_stakes') return body();
  const started = performance.now();
  try {
    const value = await body();
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
