export { createReviewServer, type KeyCreateOptions, type ReviewServer, type ReviewServerLogOptions, type ReviewServerOptions } from './server/create-review-server';
export type { Readiness, ReadinessCheck } from './server/readiness';
export {
  ReviewService,
  type Actor,
  type ApprovalState,
  type HumanDecisionInput,
  type ReviewEvents,
  type ReviewView,
  type SubmitResult,
} from './server/review-service';
export {
  createDashboard,
  DashboardErrorCodes,
  registerDashboard,
  type AuditStatus,
  type DashboardDeps,
  type DashboardOptions,
  type DashboardRegistrar,
} from './dashboard/register-dashboard';
export { requireKey } from './server/routes';
export { createWebhookSecret, signWebhook, type WebhookOptions, type WebhookSignatureHeaders, type WebhookTarget } from './server/webhooks';
export type { ServerMetrics } from './server/metrics';
export {
  authenticateKey,
  bearerToken,
  createApiKey,
  hashApiKey,
  hasScope,
  revokeApiKey,
  SCOPES,
  type CreatedKey,
  type KeyInfo,
  type NewKeyOptions,
  type Scope,
} from './auth/api-keys';
export {
  checkpointSignerOf,
  jwksOf,
  loadOrCreateSigningKeys,
  readSigningKeys,
  rotateSigningKeys,
  type JwksOfOptions,
  type SigningKeyFile,
  type StoredSigningKey,
} from './signing/signing-keys';
export { openStore, DATA_FILES, type Store, type ReviewRow } from './store/open-store';
export { openAuditTrail, type AuditTrail, type AuditTrailOptions } from './store/audit-trail';
export { sqlitePolicyState } from './store/sqlite-policy-state';
export { ReviewServerError, ServerErrorCodes, type ServerErrorCode } from './errors';
export { runCli, type CliIo } from './cli/run-cli';
