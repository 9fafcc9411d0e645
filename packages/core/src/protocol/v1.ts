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
  // Either may be absent: a condition on a field the call does not have has no `actual`, and JSON
  // has no undefined, so the server's answer leaves the key out.
  expected: z.unknown().optional(),
  actual: z.unknown().optional(),
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
  /** Verdict `deny` because nobody decided by the deadline (`decidedBy: 'expiry'`): not a human rejection. */
  expired: z
    .boolean()
    .optional()
    .describe("true: nobody decided before the deadline (verdict deny, decidedBy 'expiry'). An expired review is not a human rejection and is never approved later."),
  /**
   * An approver approved with edited arguments (`POST /v1/reviews/{id}/decision` with `args`): the
   * edited call (same tool) was reviewed again by the server's policy; `digest` is the digest of
   * `{ tool, args: edited }`, the one the proof binds; `originalDigest` the call that was asked about.
   * `args` is the stored copy (redacted like every stored argument).
   */
  edited: z
    .object({
      args: z.unknown().describe('The edited arguments as stored (redacted like every stored argument).'),
      digest: z.string().describe('Digest of { tool, args: edited }: the review\'s `digest` and the one the proof binds (tg.digest).'),
      originalDigest: z.string().describe('Digest of the call that was submitted (also signed as tg.originalDigest).'),
    })
    .optional()
    .describe('Set when an approver approved with edited arguments (edit-and-approve). Run the same tool with exactly the edited args, never the original.'),
  /** Distinct approvals this review needs (`required`) and the approvers who approved so far (names). */
  approvals: z
    .object({
      required: z.number().int().min(1).describe('Distinct approver keys that must approve (a policy rule\'s `approvals: N`; 1 by default). Never the submitting key.'),
      approvers: z.array(z.string()).describe('Names of the approver keys that approved so far (signed as tg.approvers once decided).'),
      groups: z.array(z.string()).optional().describe('Only approvers in one of these groups count (a policy rule\'s `approverGroups`).'),
    })
    .optional()
    .describe('Two-person (N-person) approvals: how many distinct approvers the review needs and who approved so far. A pending review with fewer approvers than required stays pending.'),
});
export type ReviewResponse = z.infer<typeof ReviewResponseSchema>;

/** `POST /v1/reviews/{id}/decision` body (approver scope only). */
export const DecisionRequestSchema = z
  .object({
    verdict: z.enum(['allow', 'deny']),
    reason: z.string().max(2000).optional(),
    /**
     * Edit-and-approve (only with `verdict: 'allow'`): approve the same tool with these arguments
     * instead. The edited call is reviewed again by the server's policy (a policy deny refuses the
     * edit: 422 EDIT_DENIED, the review stays pending); otherwise this counts as the approver's
     * approval of the edited call, whose digest the proof binds.
     */
    args: z
      .unknown()
      .optional()
      .describe(
        "Edit-and-approve, only with verdict 'allow': approve the same tool with these arguments instead. The edited call is reviewed again by the server's policy: a policy deny refuses the edit (422 EDIT_DENIED, the review stays pending); otherwise this is the approver's approval of the edited call (which may need more approvers by its own rule). The answer carries `edited` and the edited call's digest, which the proof binds.",
      ),
  })
  .refine((d) => d.args === undefined || d.verdict === 'allow', { error: 'args (edit-and-approve) only goes with verdict allow', path: ['args'] });
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
