import type { BaseMessage, ToolMessage } from '@langchain/core/messages';
import type { LangGraphRunnableConfig } from '@langchain/langgraph';
import { GovernanceDeniedError, isAllowed, type Decision, type Gate } from '@toolgate/core';
import type { DecisionMap } from './governance-state';
import { assertGate, assertOneOf, missingChannelError } from './options';
import { duplicateIdDenial } from './reviewed-args';
import { decisionOfGate } from './state-decisions';
import { denialMessage, messagesOf, threadIdOf, toGateCall, unansweredCalls, type CallBuildOptions, type IdentifiedToolCall } from './tool-calls';

/** Options of `governanceNode`. */
export interface GovernanceNodeOptions extends CallBuildOptions {
  /**
   * What a deny (including fail-closed) does: `'message'` (default) answers the call with an
   * error ToolMessage the model reads, and the run continues; `'throw'` aborts the run with
   * `GovernanceDeniedError`.
   */
  onDeny?: 'message' | 'throw';
}

/** What the governance node reads. */
export interface GovernanceNodeInput {
  messages: BaseMessage[];
  toolgateDecisions?: DecisionMap;
}

/** What the governance node writes: denial ToolMessages and the new Decisions. */
export interface GovernanceNodeUpdate {
  messages?: ToolMessage[];
  toolgateDecisions?: DecisionMap;
}

/**
 * A graph node that reviews each tool call of the last AIMessage once, in parallel.
 *
 * - Calls that are not high-stakes pass with no reviewer call and no state written.
 * - Calls that already have a Decision in state or a ToolMessage are skipped, so a node that
 *   runs again never asks the reviewer twice. It never calls `interrupt()`: once it finishes its
 *   output is checkpointed, and resuming the graph does not re-run it.
 * - A deny or fail-closed Decision becomes `ToolMessage({ status: 'error', content: denialText,
 *   artifact: decision })`, so `ToolNode` skips the call and the model reads why.
 * - A `review` Decision is left for `humanGateNode`.
 * - A `tool_call_id` the turn uses for more than one call, one of them high-stakes, is denied
 *   (fail closed) for every call with that id: a Decision, an answer and a ToolMessage are bound
 *   to one id, so two calls under it could have a human shown one call approve the other.
 *
 * Reviews are sent with `runId` = the thread id and `callId` = the `tool_call_id`, so the
 * reviewer's idempotency key is stable across processes and resumes.
 *
 * @example
 * graph.addNode('governance', governanceNode(gate))
 */
export function governanceNode(gate: Gate, options: GovernanceNodeOptions = {}) {
  assertGate(gate, 'governanceNode');
  assertOneOf(options.onDeny, ['message', 'throw'], 'onDeny', 'governanceNode');
  const onDeny = options.onDeny ?? 'message';

  return async function toolgateGovernance(state: GovernanceNodeInput, config?: LangGraphRunnableConfig): Promise<GovernanceNodeUpdate> {
    const known = state.toolgateDecisions;
    if (known === undefined) throw missingChannelError('governanceNode');
    const open = unansweredCalls(messagesOf(state));
    const duplicated = duplicatedHighStakesIds(gate, open);
    const pending = open.filter((call) => !duplicated.has(call.id) && gate.isHighStakes(call.name, call.args));
    // A call with a Decision in state is not asked again — unless it is an allow the gate never
    // issued (written into state by someone else): that one is reviewed as if state held nothing.
    if (pending.some((call) => known[call.id] !== undefined)) {
      const vouched = await Promise.all(
        pending.map((call) => (known[call.id] === undefined ? undefined : decisionOfGate(gate, known[call.id]!, { callId: call.id, runId: toGateCall(call, config, options).runId }))),
      );
      for (let i = pending.length - 1; i >= 0; i--) if (vouched[i] !== undefined) pending.splice(i, 1);
    }
    if (pending.length === 0 && duplicated.size === 0) return {};

    const reviewed = await Promise.all(
      pending.map(async (call) => {
        const decision = await gate.review(toGateCall(call, config, options), config?.signal ? { signal: config.signal } : undefined);
        return { call, decision };
      }),
    );

    const decisions: DecisionMap = {};
    const messages: ToolMessage[] = [];
    let firstDenied: Decision | undefined;
    for (const [id, call] of duplicated) {
      const decision = duplicateIdDenial(call, options.runId ? options.runId(config) : threadIdOf(config));
      decisions[id] = decision;
      firstDenied ??= decision;
      messages.push(denialMessage(call, decision));
    }
    for (const { call, decision } of reviewed) {
      decisions[call.id] = decision;
      if (isAllowed(decision) || decision.verdict === 'review') continue;
      firstDenied ??= decision;
      messages.push(denialMessage(call, decision));
    }
    if (firstDenied && onDeny === 'throw') throw new GovernanceDeniedError(firstDenied);
    return messages.length > 0 ? { messages, toolgateDecisions: decisions } : { toolgateDecisions: decisions };
  };
}

/**
 * Ids used by more than one unanswered call of the turn where one of those calls is high-stakes,
 * each with its first high-stakes call (named in the denial).
 */
function duplicatedHighStakesIds(gate: Gate, calls: readonly IdentifiedToolCall[]): Map<string, IdentifiedToolCall> {
  const out = new Map<string, IdentifiedToolCall>();
  if (calls.length < 2) return out;
  const counts = new Map<string, number>();
  for (const call of calls) counts.set(call.id, (counts.get(call.id) ?? 0) + 1);
  for (const call of calls) {
    if ((counts.get(call.id) ?? 0) < 2 || out.has(call.id)) continue;
    let highStakes: boolean;
    try {
      highStakes = gate.isHighStakes(call.name, call.args);
    } catch {
      highStakes = true;
    }
    if (highStakes) out.set(call.id, call);
  }
  return out;
}
