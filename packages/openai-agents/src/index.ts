export { GovernanceHooks } from './governance-hooks';
export { governAgent } from './govern-agent';
export { governTool } from './govern-tool';
export { getDecisions, type DecisionSource } from './decisions';
export { UngateableToolError, AlreadyGovernedError, AgentsErrorCodes, governanceErrorFrom } from './errors';
export type { GovernanceOptions } from './options';
export { approveWithEdits, type ApproveWithEditsOptions, type ApprovableState } from './edits';
