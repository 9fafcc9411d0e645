import type { AuditEntry, AuditRecord } from '@toolgate/core';
import type { ReviewRow } from './open-store';

/**
 * `args_json` of a review whose arguments live only in the audit record that created it
 * (`audit_seq`). The column is NOT NULL (SQLite cannot drop that without rebuilding the table), so
 * the empty string, which is never JSON, marks it.
 */
export const ARGS_IN_AUDIT = '';

/**
 * The row as stored next to `entry`, the audit record that creates it (sealed at `seq`): the
 * arguments and a policy decision's proof are in that record already, so the row does not repeat
 * them (a review used to store its args and proof twice). Reading it back (`hydrateReviewRow`)
 * restores them from the record. The record's `call.args` is the row's args: the service builds
 * the entry from the row (`auditCall`), redacted the same way.
 */
export function slimReviewRow(row: ReviewRow, entry: AuditEntry, seq: number): ReviewRow {
  const slim: ReviewRow = { ...row, audit_seq: seq };
  if (entry.call.args !== undefined) slim.args_json = ARGS_IN_AUDIT;
  if (row.proof !== null && entry.decision?.proof === row.proof) slim.proof = null;
  return slim;
}

/** A stored row with its creating audit record's text (`audit_record`, from the join): the full ReviewRow. */
export function hydrateReviewRow(stored: ReviewRow & { audit_record?: string | null }): ReviewRow {
  const text = stored.audit_record;
  delete stored.audit_record;
  const row = stored;
  if (row.audit_seq === null || row.audit_seq === undefined) return row;
  const needArgs = row.args_json === ARGS_IN_AUDIT;
  // Only a review decided by the policy when it was created has its proof in that record.
  const needProof = row.proof === null && row.status === 'decided' && row.source === 'policy';
  if (!needArgs && !needProof) return row;
  if (!text) {
    if (needArgs) throw new Error(`review ${row.id}: its arguments are in audit record ${row.audit_seq}, which the store does not have`);
    return row;
  }
  const record = JSON.parse(text) as AuditRecord;
  // The record must be the one that created this review (same review id, tool and digest): a row
  // pointing at another record (a wrong audit_seq) would otherwise show a human another call's args
  // under this review's digest, which an approval signs. Fail closed instead.
  const reviewId = record.decision?.reviewId ?? record.meta?.reviewId;
  if (reviewId !== row.id || record.call?.tool !== row.tool || record.call?.digest !== row.digest) {
    throw new Error(`review ${row.id}: audit record ${row.audit_seq} is not the record that created it`);
  }
  if (needArgs) row.args_json = JSON.stringify(record.call.args ?? {});
  if (needProof && typeof record.decision?.proof === 'string') row.proof = record.decision.proof;
  return row;
}
