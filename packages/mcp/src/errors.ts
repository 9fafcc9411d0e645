import { ToolgateError } from '@toolgate/core';

/** Options of `governMcpClient` or the proxy are invalid. */
export class McpGovernanceOptionsError extends ToolgateError {
  constructor(message: string) {
    super('MCP_OPTIONS_INVALID', message);
  }
}

/** The caller cancelled a tool call while the gate decided it: the call is not sent. */
export class CallCancelledError extends ToolgateError {
  constructor(tool: string, cause?: unknown) {
    super('MCP_CALL_CANCELLED', `toolgate: the call of "${tool}" was cancelled during its review and was not sent`, { cause });
  }
}
