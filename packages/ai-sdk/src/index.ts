export { withGovernance } from './with-governance';
export { toolApproval, type ToolApprovalRequestInfo, type GovernedApprovalStatus } from './tool-approval';
export { decisionsOf } from './gate-state';
export { isGovernanceDenial, type GovernanceDenial } from './denial';
export { ToolNotGateableError, TOOL_NOT_GATEABLE, ToolNameMismatchError, TOOL_NAME_MISMATCH } from './errors';
export { verifyApprovalSignature } from './approvals';
export type { GovernanceOptions, CallDetails, ToolCallInfo, DecisionEvent, DecisionPhase } from './options';
export { GovernanceDeniedError } from '@toolgate/core';
