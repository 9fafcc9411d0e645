import { Runner, type Tool } from '@openai/agents';
import type { Gate } from '@toolgate/core';
import { GovernanceHooks } from './governance-hooks';
import { installTool, patchRunnerClass } from './install';
import { setObjectGovernor } from './scope';
import type { GovernanceOptions } from './options';

/**
 * Governs one tool in place and returns the same object (same type): a function tool gets an input
 * guardrail, an output guardrail (outcome) and a dynamic `needsApproval`; a local shell or
 * apply_patch tool gets `needsApproval` + `onApproval` and a wrapped Shell/Editor. The object is
 * changed rather than copied because the SDK keys its input parser, MCP binding and asTool source
 * by object identity.
 *
 * @throws UngateableToolError for a high-stakes hosted tool (unless `allowHostedTools: 'warn'`).
 * @throws AlreadyGovernedError when another gate already governs the tool (one gate per object).
 * @example
 * const transfer = governTool(tool({ name: 'transfer', parameters, execute }), gate);
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function governTool<T extends Tool<any>>(tool: T, gate: Gate, options?: GovernanceOptions): T {
  const { governor } = new GovernanceHooks(gate, options);
  governor.checkUngateable(tool as Tool<unknown>);
  setObjectGovernor(tool, governor, `tool "${tool.name}"`);
  installTool(tool as Tool<unknown>);
  patchRunnerClass(Runner.prototype);
  return tool;
}
