import { z } from 'zod';

/**
 * Review protocol v1 (docs/architecture.md). These zod schemas are the single source of truth: the
 * `httpReviewer` client validates responses with them and `@toolgate/reviewer` validates requests
 * and generates its OpenAPI document from them.
 */

export const VerdictSchema = z.enum(['allow', 'allow_with_conditions', 'deny', 'review']);

export const EvaluatedCheckSchema = z.object({
  rule: z.string(),
  field: z.string(),
  op: z.string(),
  expected: z.unknown(),
  actual: z.unknown(),
  passed: z.boolean(),
});

export const AgentSchema = z.looseObject({ id: z.string().min(1).max(256), name: z.string().max(256).optional() });

export const CallContextSchema = z.looseObject({
  task: z.string().optional(),
  triggeringEvent: z.string().optional(),
  reversibility: z.enum(['full', 'partial', 'none']).optional(),
  blastRadius: z.union([z.string(), z.number()]).optional(),
  humanApproved: z.boolean().optional(),
  approvalReference: z.string().optional(),
  changeRequestId: z.string().optional(),
  planId: z.string().optional(),
});

/** `POST /v1/reviews` body. */
export const CreateReviewRequestSchema = z.object({
  idempotencyKey: z.string().min(1).max(512),
  call: z.object({
    tool: z.string().min(1).max(256),
    args: z.unknown(),
    callId: z.string().max(512).optional(),
    runId: z.string().max(512).optional(),
  }),
  /** The client's digest of `{ tool, args }`; the server recomputes it and refuses a mismatch. */
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/).optional(),
  agent: AgentSchema.optional(),
  context: CallContextSchema.optional(),
  /** Hold the request up to this long for a human decision before answering 202. */
  waitMs: z.number().int().min(0).max(60_000).optional(),
  /** Decide without recording anything or asking a human (gate.canI). */
  dryRun: z.boolean().optional(),
});
export type CreateReviewRequest = z.infer<typeof CreateReviewRequestSchema>;

export const ReviewStatusSchema = z.enum(['decided', 'pending']);

/** A review as the server returns it (200 decided / 202 pending, and GET /v1/reviews/{id}). */
export const ReviewResponseSchema = z.object({
  id: z.string().min(1),
  status: ReviewStatusSchema,
  verdict: VerdictSchema,
  reason: z.string().optional(),
  conditions: z.array(z.string()).optional(),
  evaluated: z.array(EvaluatedCheckSchema).optional(),
  /** `policy`, `human:<approver>`, or `expiry`. */
  decidedBy: z.string().optional(),
  proof: z.string().optional(),
  expiresAt: z.string().optional(),
  digest: z.string().optional(),
  tool: z.string().optional(),
  executed: z.boolean().optional(),
});
export type ReviewResponse = z.infer<typeof ReviewResponseSchema>;

/** `POST /v1/reviews/{id}/decision` body (approver scope only). */
export const DecisionRequestSchema = z.object({
  verdict: z.enum(['allow', 'deny']),
  reason: z.string().max(2000).optional(),
});
export type DecisionRequest = z.infer<typeof DecisionRequestSchema>;

/** `POST /v1/reviews/{id}/outcome` body. */
export const OutcomeRequestSchema = z.object({
  status: z.enum(['success', 'failure', 'error']),
  message: z.string().max(4000).optional(),
  durationMs: z.number().min(0).optional(),
});
export type OutcomeRequest = z.infer<typeof OutcomeRequestSchema>;

/** Every non-2xx response body. */
export const ErrorResponseSchema = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});
export type ErrorResponse = z.infer<typeof ErrorResponseSchema>;
