import { join } from 'node:path';
import { checkpointOf, sealLine, type AuditEntry, type AuditRecord, type ChainHead, type CheckpointSigner, type RedactOptions } from '@toolgate/core';
import { openAuditMirror, rememberLine, type AuditMirror, type AuditMirrorOptions, type RecentLines } from './audit-mirror';
import { DATA_FILES, type Store } from './open-store';

export interface AuditTrailOptions extends AuditMirrorOptions {
  redact?: RedactOptions;
  /** A signed checkpoint is appended after this many records (when a signer is set). Default 1000. */
  checkpointEvery?: number;
}

export interface AuditTrail {
  /**
   * Redacts, seals (hash-chains) and stores one record in the SQLite audit table, synchronously,
   * inside the caller's transaction if there is one; the JSONL mirror follows in a batch.
   */
  append(entry: AuditEntry): AuditRecord;
  /** The seq the next `append` in the transaction running now will take (call inside a transaction). */
  nextSeq(): number;
  /** Records after `afterSeq`, oldest first. */
  page(afterSeq: number, limit: number): AuditRecord[];
  /** The chain head in the table (undefined while empty). */
  head(): ChainHead | undefined;
  /**
   * Appends a signed checkpoint of the chain head (kind `admin`, `meta.action: "audit.checkpoint"`)
   * unless the head already is one or no signer is set. Returns the checkpoint record.
   */
  checkpoint(): AuditRecord | undefined;
  /**
   * Sets where checkpoint signers come from (the server's active key; undefined when it must not
   * sign, e.g. the key was rotated on disk by another process). Checkpoints are then appended
   * every `checkpointEvery` records, by `checkpoint()` (the server calls it when verifying) and on
   * close.
   */
  setCheckpointSigner(get: (() => CheckpointSigner | undefined) | undefined): void;
  readonly mirror: AuditMirror;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** The hash-chained audit trail of a data dir: SQLite table + `audit.jsonl` mirror. */
export function openAuditTrail(store: Store, options: AuditTrailOptions = {}): AuditTrail {
  // Lines sealed here, for the mirror to copy without reading them back (see RecentLines).
  const recent: RecentLines = new Map();
  const mirror = openAuditMirror(store, join(store.dataDir, DATA_FILES.auditMirror), options, recent);
  const every = options.checkpointEvery ?? 1000;
  // The chain head as of the last append in the transaction running now. Inside one BEGIN IMMEDIATE
  // nobody else can append, so a group commit reads the head from the table once, not per record.
  let head: { tx: number; seq: number; hash: string } | undefined;
  let signerOf: (() => CheckpointSigner | undefined) | undefined;
  let sinceCheckpoint = 0;

  /** The chain head now (inside a transaction: read from the table once per transaction). */
  const headNow = (): { seq: number; hash: string } | null => {
    const tx = store.transactionId;
    if (head && head.tx === tx) return head;
    const last = store.lastAudit();
    if (!last) return null;
    head = { tx, seq: last.seq, hash: last.hash };
    return head;
  };
  /** Seals one entry after the current head; call inside a transaction. */
  const seal = (entry: AuditEntry, redact?: RedactOptions): AuditRecord => {
    const tx = store.transactionId;
    const prev = headNow();
    // The stored text is the exact line the hash covers (audit format 2), serialised once.
    const { record: sealed, line } = sealLine(entry, prev, redact);
    store.insertAudit({ seq: sealed.seq, id: sealed.id, hash: sealed.hash, record: line });
    rememberLine(recent, sealed.seq, sealed.hash, line);
    head = { tx, seq: sealed.seq, hash: sealed.hash };
    return sealed;
  };
  /** A checkpoint of `at` (the head), sealed with the default redaction only: its fields are not secrets. */
  const sealCheckpoint = (at: ChainHead): AuditRecord | undefined => {
    const signer = signerOf?.();
    if (!signer) return undefined;
    sinceCheckpoint = 0;
    return seal(signer.entry(at));
  };

  const trail: AuditTrail = {
    mirror,
    nextSeq() {
      if (store.transactionId === 0) throw new Error('nextSeq() is only meaningful inside a transaction');
      return (headNow()?.seq ?? 0) + 1;
    },
    append(entry) {
      const record = store.transaction(() => {
        const sealed = seal(entry, options.redact);
        if (signerOf && ++sinceCheckpoint >= every) sealCheckpoint(sealed);
        return sealed;
      });
      mirror.schedule();
      return record;
    },
    page(afterSeq, limit) {
      return store.auditAfter(afterSeq, limit).map((r) => JSON.parse(r.record) as AuditRecord);
    },
    head() {
      const last = store.lastAudit();
      return last ? { seq: last.seq, hash: last.hash } : undefined;
    },
    checkpoint() {
      if (!signerOf || !store.db.isOpen) return undefined;
      const record = store.transaction(() => {
        const last = store.lastAudit();
        if (!last) return undefined;
        const row = store.auditAfter(last.seq - 1, 1)[0];
        if (row && checkpointOf(JSON.parse(row.record) as AuditRecord) !== undefined) return undefined;
        return sealCheckpoint({ seq: last.seq, hash: last.hash });
      });
      if (record) mirror.schedule();
      return record;
    },
    setCheckpointSigner(get) {
      signerOf = get;
    },
    flush: () => mirror.flush(),
    async close() {
      try {
        trail.checkpoint();
      } finally {
        await mirror.close();
      }
    },
  };
  return trail;
}
