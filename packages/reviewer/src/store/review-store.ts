import type { AuditEntry, AuditRecord, ChainHead } from '@toolgate/core';
import type { SigningKeyFile } from '../signing/signing-keys';
import type { ApiKeyRow, ApprovalFields, DecideFields, ReviewRow } from './open-store';

/** A human or expiry decision of a pending review (the fields the SQLite and PostgreSQL stores write). */
export type DecideInput = DecideFields;

/** One approval written compare-and-set (see `ReviewStore.recordApproval`). */
export type ApprovalWrite = ApprovalFields;

export interface ListQuery {
  status?: 'pending' | 'decided';
  tool?: string;
  limit: number;
  before?: number;
}

/**
 * The review server's store, whatever engine holds it: today's SQLite file (`sqliteReviewStore`) or
 * PostgreSQL (`openPostgresStore`). Every write that changes a review is ONE atomic step together
 * with its audit record, and every exactly-once rule is enforced here, by the engine, not by the
 * caller reading first: an idempotency key makes one review however many submit it at once, a
 * pending review takes one decision, a decided review one outcome, and the audit trail stays one
 * hash chain. Errors that mean "the database is not reachable" are `StoreUnavailableError`.
 */
export interface ReviewStore {
  readonly kind: 'sqlite' | 'postgres';
  /**
   * Stores a new review with its audit record; `created: false` (and the stored row) if its
   * idempotency key was taken. `entry` is the record that creates the review: when it carries
   * `call.args` they must be the row's args (`args_json`), and a `decision.proof` equal to the row's
   * is the same proof — the row then points at the record (`audit_seq`) instead of storing them twice.
   */
  createReview(row: ReviewRow, entry: AuditEntry): Promise<{ created: boolean; row: ReviewRow }>;
  getReview(id: string): Promise<ReviewRow | undefined>;
  getReviewByIdem(idemKey: string): Promise<ReviewRow | undefined>;
  /** Decides a pending review and appends `entry`; false (and nothing written) if it was no longer pending. */
  decideReview(d: DecideInput, entry: AuditEntry): Promise<boolean>;
  /**
   * Records an approval of a pending review, compare-and-set: `approvals_json` must still equal
   * `expected` (else false, nothing written: another approver got there first, read again). With
   * `decide`, the same step decides the review (the Nth approval); `entry` is appended either way.
   */
  recordApproval(c: ApprovalWrite, entry: AuditEntry): Promise<boolean>;
  /** Records the one outcome of a decided review and appends `entry`; false if it already had one. */
  setOutcome(id: string, outcomeJson: string, entry: AuditEntry): Promise<boolean>;
  /** Appends one record to the hash chain (e.g. a refused self-approval, an admin action). */
  appendAudit(entry: AuditEntry): Promise<AuditRecord>;
  auditAfter(afterSeq: number, limit: number): Promise<AuditRecord[]>;
  auditHead(): Promise<ChainHead | undefined>;
  listReviews(q: ListQuery): Promise<ReviewRow[]>;
  pendingDueBefore(at: number): Promise<ReviewRow[]>;
  nextPendingExpiry(): Promise<number | undefined>;
  countPending(): Promise<number>;
  /** Stores a key (and `entry`, its audit record, in the same transaction). */
  insertKey(row: ApiKeyRow, entry?: AuditEntry): Promise<void>;
  keyByHash(hash: string): Promise<ApiKeyRow | undefined>;
  listKeys(): Promise<ApiKeyRow[]>;
  /** Revokes an active key (appending `entry` in the same transaction); false if none was active. */
  revokeKey(id: string, at: number, entry?: AuditEntry): Promise<boolean>;
  /** The signing keys (the first one generated if there is none). */
  signingKeys(): Promise<SigningKeyFile>;
  /** A new active signing key, the old ones retired; every server on this store signs with it. */
  rotateSigningKeys(): Promise<SigningKeyFile>;
  /** Resolves when the database answers (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
