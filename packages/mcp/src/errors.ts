import { ToolgateError } from '@toolgate/core';

/** Options of `governMcpClient` or the proxy are invalid. */
export class McpGovernanceOptionsError extends ToolgateError {
  constructor(message: string) {
    super('MCP_OPTIONS_INVALID', message);
  }
}

/** The upstream MCP server is not reachable (it exited, crashed or never started). */
export class UpstreamUnavailableError extends ToolgateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MCP_UPSTREAM_UNAVAILABLE', message, options);
  }
}
