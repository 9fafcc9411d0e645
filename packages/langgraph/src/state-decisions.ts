import { isAllowed, issuedDecision, type Decision, type Gate } from '@toolgate/core';

/**
 * Graph state is not the gate. Whoever can write a thread's state (`graph.updateState`, the input of
 * `invoke`, a hosted LangGraph API taking raw state, a checkpoint restored elsewhere) can write any
 * Decision into `toolgateDecisions`, so a Decision read from state is a pointer, not a verdict.
 */

/** Why an allowing Decision found in state was not used. */
export const UNVOUCHED =
  'the allowing Decision in state was not issued by this gate (written into the thread state, or taken by another process without a shared ledger)';

/**
 * The Decision to act on for a Decision read from state: for an allow, the gate's own copy of it
 * (`issuedDecision`: its memory, else its ledger; its verdict wins — a deny the state turned into an
 * allow comes back a deny), or undefined when the gate never issued it, and the call is then
 * reviewed again as if state held nothing. A deny or a wait found in state is taken as it stands:
 * it runs nothing.
 */
export async function decisionOfGate(gate: Gate, inState: Decision): Promise<Decision | undefined> {
  if (!isAllowed(inState)) return inState;
  return issuedDecision(gate, inState);
}
