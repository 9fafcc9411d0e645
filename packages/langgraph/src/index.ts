export { GovernanceAnnotation, GovernanceState, mergeDecisions, DECISIONS_KEY, type DecisionMap, type GovernanceStateValue } from './governance-state';
export { governanceNode, type GovernanceNodeOptions, type GovernanceNodeInput, type GovernanceNodeUpdate } from './governance-node';
export {
  humanGateNode,
  REVIEW_INTERRUPT_KIND,
  type HumanGateNodeOptions,
  type HumanGateNodeInput,
  type HumanGateNodeUpdate,
  type HumanReviewInterrupt,
  type HumanReviewAnswer,
  type HumanReviewResume,
  type ReviewRequestItem,
} from './human-gate-node';
export { routeAfterGovernance, routeAfterTools, type GovernanceRouteNames, type ToolsRouteNames } from './route-after-governance';
export { governedToolNode, GovernedToolNode, type GovernedToolNodeOptions, type TurnRoutes } from './governed-tool-node';
export { addGovernance, type AddGovernanceOptions, type GraphBuilderLike } from './add-governance';
export { decisionsOf, type CallBuildOptions, type IdentifiedToolCall } from './tool-calls';
export { hitlResume, pendingReviews } from './pending-reviews';
export {
  DEFAULT_ALLOWED_DECISIONS,
  type HitlActionRequest,
  type HitlDecision,
  type HitlDecisionType,
  type HitlRequest,
  type HitlResponse,
  type HitlReviewConfig,
} from './hitl';
