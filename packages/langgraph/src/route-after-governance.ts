import type { BaseMessage } from '@langchain/core/messages';
import type { DecisionMap } from './governance-state';
import { answeredIds, decisionsOf, lastAIMessage, messagesOf, unansweredCalls } from './tool-calls';

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

/** Node names `routeAfterTools` can send to. */
export interface ToolsRouteNames<H extends string, A extends string> {
  /** The human gate node. Default `'human_gate'`. */
  humanGate?: H;
  /** The model node. Default `'agent'`. */
  agent?: A;
}

/**
 * A conditional-edge router for after a `GovernedToolNode` with `reviewTurn`: to the human gate
 * when a call of the turn waits for a human (the node then ran none of them), else back to the
 * model, as the plain `tools → agent` edge does.
 *
 * @example
 * graph.addConditionalEdges('tools', routeAfterTools(), ['human_gate', 'agent'])
 */
export function routeAfterTools<H extends string = 'human_gate', A extends string = 'agent'>(
  names: ToolsRouteNames<H, A> = {},
): (state: { messages: BaseMessage[]; toolgateDecisions?: DecisionMap }) => H | A {
  const humanGate = (names.humanGate ?? 'human_gate') as H;
  const agent = (names.agent ?? 'agent') as A;
  return function toolgateRouteAfterTools(state) {
    const decisions = decisionsOf(state);
    for (const call of unansweredCalls(messagesOf(state))) if (decisions[call.id]?.verdict === 'review') return humanGate;
    return agent;
  };
}
