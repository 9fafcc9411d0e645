import { END } from '@langchain/langgraph';
import { toolsCondition } from '@langchain/langgraph/prebuilt';
import { OptionsError, type Gate } from '@toolgate/core';
import { governanceNode, type GovernanceNodeOptions } from './governance-node';
import { governedToolNode, GovernedToolNode, type GovernedToolNodeOptions } from './governed-tool-node';
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
  /** Names of the nodes added. Defaults: `governance`, `human_gate`, `tools`. */
  names?: { governance?: string; humanGate?: string; tools?: string };
  governance?: GovernanceNodeOptions;
  humanGate?: HumanGateNodeOptions;
  toolNodeOptions?: GovernedToolNodeOptions;
}

/**
 * Wires toolgate into a StateGraph: adds `governance` → `human_gate` → `tools` nodes and their
 * edges after your model node. You add the model node and `START → model`; the state must hold
 * `messages` and toolgate's Decisions (`GovernanceAnnotation.spec` / `GovernanceState.fields`).
 *
 * ```
 * agent ─(tool calls)→ governance ─(review)→ human_gate ─→ tools ─→ agent
 *   └─(none)→ END         ├─(allowed)→ tools       └─(all denied)→ agent
 *                         └─(all denied)→ agent
 * ```
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
  const agent = options.agentNode ?? 'agent';
  const governance = options.names?.governance ?? 'governance';
  const humanGate = options.names?.humanGate ?? 'human_gate';
  const tools = options.names?.tools ?? 'tools';
  const toolNode = options.toolNode ?? governedToolNode(options.tools ?? [], gate, options.toolNodeOptions);
  const route = routeAfterGovernance({ humanGate, tools, agent });

  // The builder's generics cannot follow nodes added by a helper; the runtime calls are the documented ones.
  const b = builder as unknown as {
    addNode(key: string, action: unknown): unknown;
    addEdge(startKey: string, endKey: string): unknown;
    addConditionalEdges(source: string, path: unknown, pathMap?: unknown): unknown;
  };
  b.addNode(governance, governanceNode(gate, options.governance));
  b.addNode(humanGate, humanGateNode(gate, options.humanGate));
  b.addNode(tools, toolNode);
  b.addConditionalEdges(agent, toolsCondition, { tools: governance, [END]: END });
  b.addConditionalEdges(governance, route, [humanGate, tools, agent]);
  b.addConditionalEdges(humanGate, route, [tools, agent]);
  b.addEdge(tools, agent);
  return builder;
}
