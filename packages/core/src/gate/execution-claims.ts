import type { Decision } from '../types';
import type { Gate } from './gate-types';

/** Marks a Decision's call as executing; returns a deny when that call already ran (or is running). */
export type ClaimExecution = (decision: Decision) => Decision | undefined;

const claims = new WeakMap<Gate, ClaimExecution>();

/** createGate registers its claim here, so runGoverned can enforce exactly-once without a new Gate method. */
export function registerClaim(gate: Gate, claim: ClaimExecution): void {
  claims.set(gate, claim);
}

/**
 * Claims one execution of `decision`'s call on `gate` before the body runs: a second run of the same
 * call (a replayed approval, a second resolveReview, a framework re-execution) gets the
 * ALREADY_EXECUTED deny instead. Gates not made by createGate have nothing to claim.
 */
export function claimExecution(gate: Gate, decision: Decision): Decision | undefined {
  return claims.get(gate)?.(decision);
}
