import { END } from '@langchain/langgraph';
import { toolsCondition } from '@langchain/langgraph/prebuilt';
import { OptionsError, type Gate } from '@toolgate/core';
import type { GovernanceNodeOptions } from './governance-node';
import { governanceOptionsOf, governedToolNode, GovernedToolNode, type GovernedToolNodeOptions } from './governed-tool-node';
import { humanGateNode, type HumanGateNodeOptions } from './human-gate-node';
import { assertGate } from './options';
import { routeAfterGovernance } from './route-after-governance';

/** The parts of a `StateGraph` builder `addGovernance` uses. */
export interface GraphBuilderLike {
  addNode(...args: never[]): unknown;
  addEdge(...args: never[]): unknown;
  addConditionalEdges(...args: never[]): unknown;
}

/** Options of `addGovernance`. */
export interface AddGovernanceOptions {
  gate: Gate;
  /** The tools; `addGovernance` wraps them in a `GovernedToolNode`. Give this or `toolNode`. */
  tools?: ConstructorParameters<typeof GovernedToolNode>[0];
  /** A ready `GovernedToolNode` (when you need its options). Give this or `tools`. */
  toolNode?: GovernedToolNode;
  /** The node that calls the model. Default `'agent'`. */
  agentNode?: string;
  /**
   * Names of the nodes added. Defaults: `human_gate`, `tools`. (`governance` is no longer used:
   * the turn is reviewed in the tool node; it is accepted so existing calls still compile.)
   */
  names?: { governance?: string; humanGate?: string; tools?: string };
  /** How the tool node reviews each turn (`onDeny`, `agent`, `context`, `runId`), as `governanceNode`'s options. */
  governance?: GovernanceNodeOptions;
  humanGate?: HumanGateNodeOptions;
  toolNodeOptions?: GovernedToolNodeOptions;
}

/**
 * Wires toolgate into a StateGraph after your model node: a `GovernedToolNode` that reviews each
 * model turn itself (`reviewTurn`) and a `humanGateNode` for the calls that need a human. You add
 * the model node and `START → model`; the state must hold `messages` and toolgate's Decisions
 * (`GovernanceAnnotation.spec` / `GovernanceState.fields`).
 *
 * ```
 * agent ─(tool calls)→ tools ─────────────────────────→ agent
 *   └─(none)→ END        └─(a call needs a human)→ human_gate ─→ tools (or agent: all denied)
 * ```
 *
 * When no call of the turn needs a human, the review and the allowed calls run in ONE step
 * (`tools`), as many steps as the same graph without toolgate. When any call needs a human, the
 * `tools` step runs nothing and only records the Decisions, the human gate asks once for the whole
 * turn, and the turn comes back to `tools`.
 *
 * Returns the same builder. Compile with a checkpointer and invoke with a `thread_id`.
 *
 * @example
 * const builder = new StateGraph(State).addNode('agent', callModel).addEdge(START, 'agent');
 * const graph = addGovernance(builder, { gate, tools: [transfer, shell] })
 *   .compile({ checkpointer: new MemorySaver() });
 */
export function addGovernance<B extends GraphBuilderLike>(builder: B, options: AddGovernanceOptions): B {
  assertGate(options?.gate, 'addGovernance');
  const { gate } = options;
  if (!options.toolNode && !Array.isArray(options.tools)) {
    throw new OptionsError('addGovernance: pass `tools` (an array of tools) or `toolNode` (a GovernedToolNode)');
  }
  if (options.toolNode && !(options.toolNode instanceof GovernedToolNode)) {
    throw new OptionsError('addGovernance: `toolNode` must be a GovernedToolNode (use governedToolNode(tools, gate)); a plain ToolNode would neither enforce Decisions nor report outcomes');
  }
  if (options.toolNode && options.toolNode.gate !== gate) {
    // The turn would be reviewed by one gate and claimed/enforced by another: a tool only the graph's
    // gate calls high-stakes would run unclaimed (twice on a replay), and the graph gate's ledger
    // would never see the execution.
    throw new OptionsError('addGovernance: `toolNode` was built with another gate than `gate`; build it with the same one (governedToolNode(tools, gate))');
  }
  const agent = options.agentNode ?? 'agent';
  const humanGate = options.names?.humanGate ?? 'human_gate';
  const tools = options.names?.tools ?? 'tools';
  // The turn is reviewed in the tool node, with the `governance` options (validated here, as before).
  const toolNode = options.toolNode ?? governedToolNode(options.tools ?? [], gate, options.toolNodeOptions);
  // The tool node routes itself (a Command to the human gate or back to the model): cheaper than a
  // conditional edge, so the allow path costs what `tools → agent` costs without toolgate.
  toolNode.reviewTurnsWith(gate, options.governance ?? governanceOptionsOf(toolNode.governOptions), { humanGate, agent });

  // The builder's generics cannot follow nodes added by a helper; the runtime calls are the documented ones.
  const b = builder as unknown as {
    addNode(key: string, action: unknown, options?: { ends?: string[] }): unknown;
    addEdge(startKey: string, endKey: string): unknown;
    addConditionalEdges(source: string, path: unknown, pathMap?: unknown): unknown;
  };
  // The human gate asks the gate again for a review it does not hold (state is not the gate): with
  // the same call options as the turn review, so it is the same call under the same key.
  const { onDeny: _onDeny, ...callOptions } = options.governance ?? governanceOptionsOf(toolNode.governOptions);
  b.addNode(humanGate, humanGateNode(gate, { ...callOptions, ...options.humanGate }));
  b.addNode(tools, toolNode, { ends: [humanGate, agent] });
  b.addConditionalEdges(agent, toolsCondition, { tools, [END]: END });
  b.addConditionalEdges(humanGate, routeAfterGovernance({ humanGate, tools, agent }), [tools, agent]);
  return builder;
}
