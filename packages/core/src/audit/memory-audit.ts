import type { AuditEntry, AuditRecord, AuditSink } from '../types';
import { sealRecord, verifyAuditRecords, type AuditVerifyResult, type ChainHead } from './chain';
import type { RedactOptions } from './redact';

/** An in-memory audit sink: tests, dashboards, short-lived processes. */
export interface MemoryAuditSink extends AuditSink {
  /** Every sealed record, in chain order. */
  readonly records: AuditRecord[];
  append(entry: AuditEntry): AuditRecord;
  /** Verifies the chain held in memory. */
  verify(): AuditVerifyResult;
  close(): void;
}

/**
 * Keeps hash-chained, redacted records in memory.
 *
 * @example
 * ```ts
 * const audit = memoryAudit();
 * const gate = createGate({ reviewer, highStakes: ['deploy'], audit });
 * // … after a run:
 * console.log(audit.records.map((r) => `${r.seq} ${r.kind} ${r.decision?.verdict}`));
 * ```
 */
export function memoryAudit(options: { redact?: RedactOptions } = {}): MemoryAuditSink {
  const records: AuditRecord[] = [];
  let head: ChainHead | null = null;
  return {
    records,
    append(entry: AuditEntry): AuditRecord {
      const record = sealRecord(entry, head, options.redact);
      records.push(record);
      head = { seq: record.seq, hash: record.hash };
      return record;
    },
    verify(): AuditVerifyResult {
      return verifyAuditRecords(records);
    },
    close(): void {},
  };
}
