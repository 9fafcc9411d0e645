import type { Decision } from '../types';
import type { Gate } from './gate-types';

/** @internal What a gate answers for a Decision handed back to it: its own copy, or undefined. */
export type IssuedLookup = (decision: Decision) => Decision | undefined | Promise<Decision | undefined>;

const lookups = new WeakMap<Gate, IssuedLookup>();

/** createGate registers its lookup here (no new Gate method: a Gate not made by createGate vouches for nothing). */
export function registerIssuedLookup(gate: Gate, lookup: IssuedLookup): void {
  lookups.set(gate, lookup);
}

/**
 * The Decision `gate` itself issued for the same call as `decision` (same idempotency key, tool and
 * digest): from the gate's memory, else from its ledger (a Decision recorded by another process
 * sharing it). Resolves undefined when the gate has no record of it — a Decision read back from
 * somewhere the gate does not control (framework state a client can write, a checkpoint from
 * another process without a shared ledger, a forgery) — and then the adapter reviews the call again
 * instead of trusting the copy. Use what this returns, not the copy: its verdict, conditions and
 * reviewed arguments are the gate's. A ledger that cannot be read vouches for nothing.
 */
export async function issuedDecision(gate: Gate, decision: Decision): Promise<Decision | undefined> {
  try {
    return await lookups.get(gate)?.(decision);
  } catch {
    return undefined;
  }
}
