import type { Decision } from '../types';
import type { Gate } from './gate-types';

/** Marks a Decision's call as executing; resolves a deny when that call already ran (or is running), or its ledger cannot be reached. */
export type ClaimExecution = (decision: Decision) => Promise<Decision | undefined>;

/** @internal A claim that answers synchronously when it can (no ledger to ask), a promise otherwise. */
export type ClaimNow = (decision: Decision) => Decision | undefined | Promise<Decision | undefined>;

const claims = new WeakMap<Gate, ClaimNow>();

/** createGate registers its claim here, so runGoverned can enforce exactly-once without a new Gate method. */
export function registerClaim(gate: Gate, claim: ClaimNow): void {
  claims.set(gate, claim);
}

/**
 * @internal claimExecution without a promise when the gate's claim is synchronous (runGoverned's
 * path): the deny, undefined when the body may run, or a promise of either. Throws what the claim
 * throws.
 */
export function claimExecutionNow(gate: Gate, decision: Decision): Decision | undefined | Promise<Decision | undefined> {
  return claims.get(gate)?.(decision);
}

/**
 * Claims one execution of `decision`'s call on `gate` before the body runs: a second run of the same
 * call (a replayed approval, a second resolveReview, a framework re-execution) gets the
 * ALREADY_EXECUTED deny instead — in any process, when the gate has a ledger (a ledger that cannot
 * be reached resolves a LEDGER_UNAVAILABLE deny). Resolves undefined when the body may run. Adapters
 * that run a body themselves (not through runGoverned) call this right before it. Gates not made
 * by createGate have nothing to claim.
 */
export async function claimExecution(gate: Gate, decision: Decision): Promise<Decision | undefined> {
  return claims.get(gate)?.(decision);
}
