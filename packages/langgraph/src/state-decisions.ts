import { isAllowed, issuedDecision, type Decision, type Gate, type ToolCall } from '@toolgate/core';
import { decidedFor } from './reviewed-args';

/**
 * Graph state is not the gate. Whoever can write a thread's state (`graph.updateState`, the input of
 * `invoke`, a hosted LangGraph API taking raw state, a checkpoint restored elsewhere) can write any
 * Decision into `toolgateDecisions`, so a Decision read from state is a pointer, not a verdict.
 */

/** Why an allowing Decision found in state was not used. */
export const UNVOUCHED =
  'the allowing Decision in state was not issued by this gate for this call (written into the thread state, copied from another thread or call, or taken by another process without a shared ledger)';

/** The call a Decision read from state must have been issued for: its tool call id and the run id this node reviews it under. */
export interface StateCallKey {
  callId: string;
  runId: string | undefined;
}

/**
 * The Decision to act on for a Decision read from state: for an allow, the gate's own copy of it
 * (`issuedDecision`: its memory, else its ledger; its verdict wins — a deny the state turned into an
 * allow comes back a deny) when the gate issued it for this call (`key`), or undefined when it did
 * not, and the call is then reviewed again as if state held nothing. A deny or a wait found in
 * state is taken as it stands: it runs nothing.
 */
export async function decisionOfGate(gate: Gate, inState: Decision, key: StateCallKey): Promise<Decision | undefined> {
  return isAllowed(inState) ? issuedDecision(gate, inState, key) : inState;
}

/**
 * The review a human's answer is applied to, for a `review` Decision read back (from state, or a
 * checkpointed task replayed in another process): the gate's own copy when it issued it for exactly
 * this call, else the gate asked again (`gate.review` is idempotent: the same review — with its real
 * approvals and the arguments `resolveReview` re-checks at resume, which a copy without arguments in
 * a gate that never saw it would skip — or the gate's final answer, returned as such). Asked again
 * (a restart, another process), the fresh review has a fresh deadline, but the human was given the
 * one the copy carries: the copy may only bring it forward, and `resolveReview` takes the earlier.
 */
export async function genuineReview(gate: Gate, call: { id: string; name: string; args?: unknown }, inState: Decision, gateCall: ToolCall, signal?: AbortSignal): Promise<Decision> {
  // Issued for THIS call (this run id, this tool call id): another thread's pending review copied
  // here must not be shown to this thread's human, whose answer would decide it for that thread.
  const own = await issuedDecision(gate, inState, { callId: call.id, runId: gateCall.runId });
  if (own && decidedFor(own, call.name, call.args)) return own;
  const fresh = await gate.review(gateCall, signal ? { signal } : undefined);
  const shown = typeof inState.expiresAt === 'string' ? Date.parse(inState.expiresAt) : Number.NaN;
  if (fresh.verdict === 'review' && Number.isFinite(shown) && inState.callId === call.id && (fresh.expiresAt === undefined || shown < Date.parse(fresh.expiresAt))) {
    return { ...fresh, expiresAt: new Date(shown).toISOString() };
  }
  return fresh;
}
