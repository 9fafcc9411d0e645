export { governMcpClient, type GovernMcpClientOptions, type GovernableMcpClient, type McpApprovalRequest } from './govern-mcp-client';
export { DECISION_META_KEY, deniedToolResult, decisionMeta, type DecisionMeta, type ToolCallResult } from './tool-result';
export { CallCancelledError, McpGovernanceOptionsError } from './errors';
