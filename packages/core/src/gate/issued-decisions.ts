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
 * reviewed arguments are the gate's. A ledger that cannot be read vouches for nothing. Pass
 * `forCall` (the call id and run id of the call about to run) so that a genuine Decision of the gate
 * for another call, copied here, vouches for nothing either.
 */
export async function issuedDecision(gate: Gate, decision: Decision, forCall?: { callId: string | undefined; runId: string | undefined }): Promise<Decision | undefined> {
  let own: Decision | undefined;
  try {
    own = await lookups.get(gate)?.(decision);
  } catch {
    return undefined;
  }
  // Key, tool and digest come from the copy handed in: a genuine Decision of this gate for ANOTHER
  // call (another thread or call id, same tool and arguments) would match them. `forCall` binds it.
  if (own && forCall && (own.callId !== forCall.callId || own.runId !== forCall.runId)) return undefined;
  return own;
}
