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

/** Stable code of ToolNameMismatchError. */
export const TOOL_NAME_MISMATCH = 'TOOL_NAME_MISMATCH';

/**
 * A provider-defined tool (e.g. `anthropic.tools.bash_20250124`) sits under a key the highStakes
 * list does not name, while the list names the tool by its provider id or name. The model's calls
 * reach it under the key, so the gate would see a name it does not consider high-stakes. Thrown by
 * `withGovernance` at wrap time.
 */
export class ToolNameMismatchError extends ToolgateError {
  readonly toolName: string;
  readonly alias: string;
  constructor(toolName: string, alias: string) {
    super(
      TOOL_NAME_MISMATCH,
      `withGovernance: tool "${toolName}" is the provider tool "${alias}", which your highStakes list names, ` +
        `but the AI SDK reports its calls under the key "${toolName}", which the list does not name. ` +
        `Add "${toolName}" to highStakes (or rename the key to match).`,
    );
    this.toolName = toolName;
    this.alias = alias;
  }
}
