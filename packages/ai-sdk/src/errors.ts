import { ToolgateError } from '@toolgate/core';

/** Stable code of ToolNotGateableError. */
export const TOOL_NOT_GATEABLE = 'TOOL_NOT_GATEABLE';

/**
 * A high-stakes tool has no `execute` (provider-executed, or answered client-side), so the
 * gate cannot run before it. Thrown by `withGovernance` at wrap time.
 */
export class ToolNotGateableError extends ToolgateError {
  readonly toolName: string;
  constructor(toolName: string) {
    super(
      TOOL_NOT_GATEABLE,
      `withGovernance: tool "${toolName}" is high-stakes but has no execute function (a provider-executed ` +
        `or client-side tool), so toolgate cannot decide before it runs. Remove it from the tool set, ` +
        `take it off the highStakes list if it is safe, or give it an execute function that does the work ` +
        `(for client-side tools, call gate.enforce() where your UI supplies the result).`,
    );
    this.toolName = toolName;
  }
}
