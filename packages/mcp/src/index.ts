export { governMcpClient, type GovernMcpClientOptions, type GovernableMcpClient, type McpApprovalRequest } from './govern-mcp-client';
export { DECISION_META_KEY, deniedToolResult, decisionMeta, type DecisionMeta, type ToolCallResult } from './tool-result';
export { CallCancelledError, McpGovernanceOptionsError } from './errors';
export { startMcpProxy, type McpProxy, type McpProxyOptions } from './proxy/mcp-proxy';
export type { UpstreamCommand, UpstreamTarget, UpstreamUrl } from './proxy/upstream-connection';
export type { PrefixedUpstream } from './proxy/upstream-router';
export { runProxyCli } from './proxy/run-proxy-cli';
