import { AuditError, ErrorCodes, OptionsError } from '../errors';
import type { AuditEntry, AuditRecord, AuditSink } from '../types';
import { sealRecord, type ChainHead } from './chain';
import type { RedactOptions } from './redact';

/**
 * Chains records in memory and hands each sealed, redacted record to `fn` (a database, a queue, a
 * SIEM). Calls to `fn` are serialised in append order, and a record is sealed only when its turn
 * comes: if `fn` throws or rejects, that append rejects (AUDIT_WRITE_FAILED, so the gate denies)
 * and the chain does not advance — the next record links to the last one `fn` accepted.
 *
 * @example
 * ```ts
 * const audit = callbackAudit(async (record) => {
 *   await db.insert('audit', record);
 * });
 * ```
 */
export function callbackAudit(
  fn: (record: AuditRecord) => void | Promise<void>,
  options: { redact?: RedactOptions } = {},
): AuditSink & { append(entry: AuditEntry): Promise<AuditRecord>; close(): Promise<void> } {
  if (typeof fn !== 'function') throw new OptionsError('callbackAudit: pass a function that stores each record');
  let head: ChainHead | null = null;
  let queue: Promise<unknown> = Promise.resolve();

  const deliver = async (entry: AuditEntry): Promise<AuditRecord> => {
    const record = sealRecord(entry, head, options.redact);
    try {
      await fn(record);
    } catch (error) {
      throw new AuditError(ErrorCodes.AUDIT_WRITE_FAILED, `audit callback failed for record seq ${record.seq}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
    }
    head = { seq: record.seq, hash: record.hash };
    return record;
  };

  return {
    append(entry: AuditEntry): Promise<AuditRecord> {
      const p = queue.then(() => deliver(entry));
      queue = p.catch(() => {});
      return p;
    },
    async close(): Promise<void> {
      await queue;
    },
  };
}
