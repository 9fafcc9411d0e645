import { join } from 'node:path';
import { sealRecord, type AuditEntry, type AuditRecord, type RedactOptions } from '@toolgate/core';
import { openAuditMirror, type AuditMirror, type AuditMirrorOptions } from './audit-mirror';
import { DATA_FILES, type Store } from './open-store';

export interface AuditTrail {
  /**
   * Redacts, seals (hash-chains) and stores one record in the SQLite audit table, synchronously,
   * inside the caller's transaction if there is one; the JSONL mirror follows in a batch.
   */
  append(entry: AuditEntry): AuditRecord;
  /** Records after `afterSeq`, oldest first. */
  page(afterSeq: number, limit: number): AuditRecord[];
  readonly mirror: AuditMirror;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** The hash-chained audit trail of a data dir: SQLite table + `audit.jsonl` mirror. */
export function openAuditTrail(store: Store, options: AuditMirrorOptions & { redact?: RedactOptions } = {}): AuditTrail {
  const mirror = openAuditMirror(store, join(store.dataDir, DATA_FILES.auditMirror), options);
  // The chain head as of the last append in the transaction running now. Inside one BEGIN IMMEDIATE
  // nobody else can append, so a group commit reads the head from the table once, not per record.
  let head: { tx: number; seq: number; hash: string } | undefined;
  return {
    mirror,
    append(entry) {
      const record = store.transaction(() => {
        const tx = store.transactionId;
        const prev = head && head.tx === tx ? head : (store.lastAudit() ?? null);
        const sealed = sealRecord(entry, prev, options.redact);
        store.insertAudit({ seq: sealed.seq, id: sealed.id, hash: sealed.hash, record: JSON.stringify(sealed) });
        head = { tx, seq: sealed.seq, hash: sealed.hash };
        return sealed;
      });
      mirror.schedule();
      return record;
    },
    page(afterSeq, limit) {
      return store.auditAfter(afterSeq, limit).map((r) => JSON.parse(r.record) as AuditRecord);
    },
    flush: () => mirror.flush(),
    close: () => mirror.close(),
  };
}
