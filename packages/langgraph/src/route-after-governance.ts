import type { BaseMessage } from '@langchain/core/messages';
import type { DecisionMap } from './governance-state';
import { answeredIds, decisionsOf, lastAIMessage, messagesOf } from './tool-calls';

/** Node names the router can send to. */
export interface GovernanceRouteNames<H extends string, T extends string, A extends string> {
  /** The human gate node. Default `'human_gate'`. */
  humanGate?: H;
  /** The (governed) tool node. Default `'tools'`. */
  tools?: T;
  /** The model node, for when every call was answered (all denied). Default `'agent'`. */
  agent?: A;
}

/**
 * A conditional-edge router for after `governanceNode` (and after `humanGateNode`): to the human
 * gate while any call waits for a human, else to the tools while any call has no ToolMessage,
 * else back to the model (every call was denied, and the model should read why).
 *
 * @example
 * graph.addConditionalEdges('governance', routeAfterGovernance(), ['human_gate', 'tools', 'agent'])
 */
export function routeAfterGovernance<H extends string = 'human_gate', T extends string = 'tools', A extends string = 'agent'>(
  names: GovernanceRouteNames<H, T, A> = {},
): (state: { messages: BaseMessage[]; toolgateDecisions?: DecisionMap }) => H | T | A {
  const humanGate = (names.humanGate ?? 'human_gate') as H;
  const tools = (names.tools ?? 'tools') as T;
  const agent = (names.agent ?? 'agent') as A;
  return function toolgateRoute(state) {
    const messages = messagesOf(state);
    const calls = lastAIMessage(messages)?.tool_calls ?? [];
    const answered = answeredIds(messages);
    const decisions = decisionsOf(state);
    let open = false;
    for (const call of calls) {
      if (call.id && answered.has(call.id)) continue;
      if (call.id && decisions[call.id]?.verdict === 'review') return humanGate;
      open = true;
    }
    return open ? tools : agent;
  };
}
