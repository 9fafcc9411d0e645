import type { Decision } from './types';

/** Stable error codes. Decisions carry them in `error.code`; error classes in `code`. */
export const ErrorCodes = {
  // reviewer failures (map to the fail mode)
  REVIEWER_UNREACHABLE: 'REVIEWER_UNREACHABLE',
  REVIEWER_TIMEOUT: 'REVIEWER_TIMEOUT',
  REVIEWER_HTTP_ERROR: 'REVIEWER_HTTP_ERROR',
  REVIEWER_RATE_LIMITED: 'REVIEWER_RATE_LIMITED',
  REVIEWER_BAD_RESPONSE: 'REVIEWER_BAD_RESPONSE',
  REVIEWER_CONNECTION_RESET: 'REVIEWER_CONNECTION_RESET',
  REVIEWER_FAILED: 'REVIEWER_FAILED',
  REVIEWER_ABORTED: 'REVIEWER_ABORTED',
  REVIEWER_REJECTED: 'REVIEWER_REJECTED',
  CIRCUIT_OPEN: 'CIRCUIT_OPEN',
  // deny whatever the fail mode
  PROOF_INVALID: 'PROOF_INVALID',
  REVIEW_TIMEOUT: 'REVIEW_TIMEOUT',
  ALREADY_EXECUTED: 'ALREADY_EXECUTED',
  ARGS_NOT_JSON: 'ARGS_NOT_JSON',
  ARGS_TOO_LARGE: 'ARGS_TOO_LARGE',
  TOOL_NAME_INVALID: 'TOOL_NAME_INVALID',
  /** callId, runId, agent or context cannot be sent or recorded (not well-formed Unicode, not JSON, wrong type). */
  INPUT_INVALID: 'INPUT_INVALID',
  /** A reachable reviewer answered with something that is not a verdict (e.g. `{ verdict: 'DENY' }`). */
  VERDICT_INVALID: 'VERDICT_INVALID',
  /** An allowing high-stakes Decision without `decision.args` reached a tool body runner. */
  ARGS_NOT_REVIEWED: 'ARGS_NOT_REVIEWED',
  /** A high-stakes call reached a gate after close(). */
  GATE_CLOSED: 'GATE_CLOSED',
  /** resolveReview: a human already rejected this call; a later approval does not undo it. */
  REVIEW_ALREADY_DECIDED: 'REVIEW_ALREADY_DECIDED',
  /** Nobody answered a review before its deadline: its own outcome, never a human rejection, never an approval. */
  REVIEW_EXPIRED: 'REVIEW_EXPIRED',
  /** A human's edit named another tool than the one reviewed: an edit changes arguments only. */
  EDIT_TOOL_CHANGED: 'EDIT_TOOL_CHANGED',
  /** Re-check at resume: the policy now denies a call a human approved while it was paused. */
  POLICY_CHANGED: 'POLICY_CHANGED',
  /** The gate's durable ledger (exactly-once across processes) could not be read or written. */
  LEDGER_UNAVAILABLE: 'LEDGER_UNAVAILABLE',
  // other
  DENIED: 'DENIED',
  REVIEW_REQUIRED: 'REVIEW_REQUIRED',
  POLICY_INVALID: 'POLICY_INVALID',
  OPTIONS_INVALID: 'OPTIONS_INVALID',
  AUDIT_WRITE_FAILED: 'AUDIT_WRITE_FAILED',
  AUDIT_INVALID: 'AUDIT_INVALID',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Base class: every toolgate error has a stable `code`. */
export class ToolgateError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * Thrown by `gate.enforce()` (and adapters that abort) when a call may not run.
 * `decision.verdict` is `deny` or `review`; `code` is `DENIED` or `REVIEW_REQUIRED`.
 */
export class GovernanceDeniedError extends ToolgateError {
  readonly decision: Decision;
  constructor(decision: Decision) {
    const code = decision.verdict === 'review' ? ErrorCodes.REVIEW_REQUIRED : ErrorCodes.DENIED;
    super(code, denialText(decision));
    this.decision = decision;
  }
}

/** A reviewer could not give a verdict: network, timeout, 5xx, 429, bad response, circuit open. */
export class ReviewerError extends ToolgateError {
  /** HTTP status, when there was one. */
  readonly status?: number;
  /** Milliseconds the reviewer asked us to wait (Retry-After), when it did. */
  readonly retryAfterMs?: number;
  constructor(
    code: string,
    message: string,
    options?: { cause?: unknown; status?: number; retryAfterMs?: number },
  ) {
    super(code, message, options);
    if (options?.status !== undefined) this.status = options.status;
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/** A proof failed verification: bad signature, expired, wrong audience, or bound to another call. */
export class ProofError extends ToolgateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.PROOF_INVALID, message, options);
  }
}

/** A policy file or rule set is invalid. `issues` lists each problem with its path. */
export class PolicyError extends ToolgateError {
  readonly issues: string[];
  constructor(message: string, issues: string[] = [], options?: { cause?: unknown }) {
    super(ErrorCodes.POLICY_INVALID, message, options);
    this.issues = issues;
  }
}

/** Options passed to a factory are invalid. Thrown once, at construction. */
export class OptionsError extends ToolgateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.OPTIONS_INVALID, message, options);
  }
}

/** An audit file is unreadable, or a write failed. */
export class AuditError extends ToolgateError {}

/** The text a model (or a person) sees for a decision that stops a call. */
export function denialText(decision: Decision): string {
  const what =
    decision.verdict === 'review'
      ? `toolgate: "${decision.tool}" needs a human review before it can run`
      : `toolgate denied "${decision.tool}"`;
  const parts = [`${what}: ${decision.reason}`];
  const refs: string[] = [`source ${decision.source}`];
  if (decision.reviewId) refs.push(`review ${decision.reviewId}`);
  if (decision.error) refs.push(`error ${decision.error.code}`);
  parts.push(`(${refs.join(', ')})`);
  return parts.join(' ');
}
