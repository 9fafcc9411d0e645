import type { Agent } from '@openai/agents';
import type { Gate } from '@toolgate/core';
import { GovernanceHooks } from './governance-hooks';
import type { GovernanceOptions } from './options';

/**
 * Governs an agent in place and returns the same Agent: each high-stakes tool — its own, its
 * handoff targets', its `asTool()` sub-agents' and the local MCP tools they list at run time —
 * runs only after the gate allows it. Use it when you do not control the Runner (e.g. the
 * default `run()`); with a Runner, prefer `new GovernanceHooks(gate).attach(runner)`, which also
 * records human rejections before a resume (here, call `hooks.recordHumanDecisions(state)`).
 *
 * @throws UngateableToolError when a high-stakes tool is a hosted tool (unless `allowHostedTools: 'warn'`).
 * @example
 * const agent = governAgent(new Agent({ name: 'bank', tools: [transfer] }), gate);
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function governAgent<A extends Agent<any, any>>(agent: A, gate: Gate, options?: GovernanceOptions): A {
  return new GovernanceHooks(gate, options).governAgent(agent);
}
