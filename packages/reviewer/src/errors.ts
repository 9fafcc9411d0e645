import { ToolgateError } from '@toolgate/core';

/** Stable error codes the review server answers with (`{ error: { code, message } }`). */
export const ServerErrorCodes = {
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  SELF_APPROVAL: 'SELF_APPROVAL',
  NOT_FOUND: 'NOT_FOUND',
  INVALID_REQUEST: 'INVALID_REQUEST',
  INVALID_JSON: 'INVALID_JSON',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  DIGEST_MISMATCH: 'DIGEST_MISMATCH',
  IDEMPOTENCY_CONFLICT: 'IDEMPOTENCY_CONFLICT',
  ALREADY_DECIDED: 'ALREADY_DECIDED',
  /** The same approver key approved this review (these arguments) already: it counts once. */
  ALREADY_APPROVED: 'ALREADY_APPROVED',
  /** Edit-and-approve: the server's policy denies the edited call (the review stays pending). */
  EDIT_DENIED: 'EDIT_DENIED',
  /** The review's rule names approver groups and this key is in none of them. */
  NOT_IN_APPROVER_GROUP: 'NOT_IN_APPROVER_GROUP',
  REVIEW_PENDING: 'REVIEW_PENDING',
  OUTCOME_EXISTS: 'OUTCOME_EXISTS',
  ALREADY_EXECUTED: 'ALREADY_EXECUTED',
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  /** The SQLite store is busy, locked, full, read-only or closed: a temporary outage (503). */
  STORE_UNAVAILABLE: 'STORE_UNAVAILABLE',
  /** The Host header names no host this server answers for (DNS rebinding guard). */
  HOST_NOT_ALLOWED: 'HOST_NOT_ALLOWED',
  INTERNAL: 'INTERNAL',
} as const;

export type ServerErrorCode = (typeof ServerErrorCodes)[keyof typeof ServerErrorCodes];

/** An error with an HTTP status and a stable `code`; the server renders it as `{ error: { code, message } }`. */
export class ReviewServerError extends ToolgateError {
  readonly status: number;
  constructor(status: number, code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.status = status;
  }
}
