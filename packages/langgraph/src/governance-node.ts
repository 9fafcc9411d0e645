import type { BaseMessage, ToolMessage } from '@langchain/core/messages';
import type { LangGraphRunnableConfig } from '@langchain/langgraph';
import { GovernanceDeniedError, isAllowed, type Decision, type Gate } from '@toolgate/core';
import type { DecisionMap } from './governance-state';
import { assertGate, assertOneOf, missingChannelError } from './options';
import { denialMessage, messagesOf, toGateCall, unansweredCalls, type CallBuildOptions } from './tool-calls';

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
    const pending = unansweredCalls(messagesOf(state)).filter(
      (call) => known[call.id] === undefined && gate.isHighStakes(call.name, call.args),
    );
    if (pending.length === 0) return {};

    const reviewed = await Promise.all(
      pending.map(async (call) => {
        const decision = await gate.review(toGateCall(call, config, options), config?.signal ? { signal: config.signal } : undefined);
        return { call, decision };
      }),
    );

    const decisions: DecisionMap = {};
    const messages: ToolMessage[] = [];
    let firstDenied: Decision | undefined;
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
