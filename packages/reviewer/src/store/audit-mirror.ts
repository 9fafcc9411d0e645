import { closeSync, fdatasync, fstatSync, ftruncateSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { AuditError } from '@toolgate/core';
import type { Store } from './open-store';

export interface AuditMirrorOptions {
  /** Longest time a sealed record waits before it is written to the file. Default 10 ms. */
  flushMs?: number;
  /** fdatasync after each batch written. Default true. */
  fsync?: boolean;
}

export interface AuditMirror {
  /** Asks for the records committed to SQLite since the last write to be appended (batched). */
  schedule(): void;
  /** Appends everything committed so far and syncs it. */
  flush(): Promise<void>;
  close(): Promise<void>;
  readonly path: string;
}

const TAIL_BYTES = 1024 * 1024;

/**
 * The append-only JSONL mirror of the SQLite audit table. The table is the writer's source of
 * truth for the chain; the mirror copies committed rows by `seq`, in batches, with one
 * `fdatasync` per batch (so thousands of records per second cost a few syncs, not thousands).
 *
 * Opening reconciles the two: a torn last line (a crash mid-write) is cut off; records the file
 * has but the table lacks (the database was deleted or replaced) are imported so the chain
 * continues; records the table has but the file lacks (a crash before the flush) are appended.
 * Another process (the CLI) appending to the same file is noticed by the file's size and the
 * mirror re-reads the tail before writing.
 */
/**
 * Lines the writer just sealed, by seq, with their hash: the mirror copies a committed record from
 * here when the table holds the same hash at that seq (the hash covers the line's bytes), instead of
 * reading its text back from SQLite. A rolled-back record is replaced or never matches.
 */
export type RecentLines = Map<number, { hash: string; line: string }>;

/** Above this many, recent lines are dropped and the mirror reads records from the table. */
const MAX_RECENT = 10_000;

export function rememberLine(recent: RecentLines, seq: number, hash: string, line: string): void {
  if (recent.size >= MAX_RECENT) recent.clear();
  recent.set(seq, { hash, line });
}

export function openAuditMirror(store: Store, path: string, options: AuditMirrorOptions = {}, recent: RecentLines = new Map()): AuditMirror {
  const flushMs = options.flushMs ?? 10;
  const doSync = options.fsync ?? true;

  // --- reconcile (synchronous, at open) -------------------------------------------------------
  // Under the write lock, like every append: another process must not be mid-write while the
  // torn-tail repair truncates the file.
  let fileLastSeq = store.transaction(() => repairAndReadLastSeq(path));
  const dbLast = store.lastAudit()?.seq ?? -1;
  if (fileLastSeq > dbLast) importFromFile(store, path, dbLast);

  let fd: number | undefined;
  let expectedSize = -1;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let dirty = true; // the table may be ahead of the file right after open
  let closed = false;

  /**
   * Copies committed rows the file lacks. Runs inside a `BEGIN IMMEDIATE` transaction: SQLite's
   * write lock is the one mutex every process sharing the data dir (a running server, the CLI)
   * already takes to append to the table, so only one of them checks the file's end and appends at
   * a time — two mirrors can never both write the same seq.
   */
  const writeBatch = (): boolean =>
    store.transaction(() => {
      if (fd === undefined) {
        fd = openSync(path, 'a', 0o600);
        expectedSize = -1; // another process may have appended since open: read the real end below
      }
      const size = fstatSync(fd).size;
      if (size !== expectedSize) {
        // Someone else appended (or cut a torn tail): find where the file really ends.
        fileLastSeq = repairAndReadLastSeq(path);
        expectedSize = fstatSync(fd).size;
      }
      let wrote = false;
      for (;;) {
        const rows = store.auditHashesAfter(fileLastSeq, 2_000);
        if (rows.length === 0) break;
        let text = '';
        for (const r of rows) {
          const mine = recent.get(r.seq);
          recent.delete(r.seq);
          const line = mine !== undefined && mine.hash === r.hash ? mine.line : store.auditRecord(r.seq);
          if (line === undefined) throw new AuditError('AUDIT_INVALID', `audit record ${r.seq} vanished from the table while it was copied to ${path}`);
          text += `${line}\n`;
        }
        const bytes = Buffer.from(text, 'utf8');
        let off = 0;
        while (off < bytes.length) off += writeSync(fd, bytes, off);
        expectedSize += bytes.length;
        fileLastSeq = rows[rows.length - 1]!.seq;
        wrote = true;
      }
      return wrote;
    });

  const run = async (): Promise<void> => {
    timer = undefined;
    while (dirty) {
      dirty = false;
      if (writeBatch() && doSync && fd !== undefined) await new Promise<void>((res, rej) => fdatasync(fd!, (e) => (e ? rej(e) : res())));
    }
  };

  const kick = (): Promise<void> => {
    if (!running) {
      running = run().finally(() => {
        running = undefined;
      });
    }
    return running;
  };

  const mirror: AuditMirror = {
    path,
    schedule() {
      dirty = true;
      if (closed || timer || running) return;
      timer = setTimeout(() => {
        void kick().catch(() => {
          // Retried on the next schedule/flush; the records are safe in SQLite meanwhile.
          dirty = true;
        });
      }, flushMs);
      // The server keeps the process alive; a stray batch timer must not (close() flushes).
      timer.unref();
    },
    async flush() {
      if (timer) {
        clearTimeout(timer);
        timer = undefined;
      }
      dirty = true;
      if (running) await running.catch(() => {});
      await kick();
    },
    async close() {
      if (closed) return;
      await mirror.flush();
      closed = true;
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
  mirror.schedule();
  return mirror;
}

/**
 * Cuts a torn last line off the file (if any) and returns the `seq` of its last complete record
 * (-1 for a missing or empty file).
 */
function repairAndReadLastSeq(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return -1;
    throw error;
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return -1;
    const len = Math.min(size, TAIL_BYTES);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    let end = buf.length;
    if (buf[end - 1] !== 0x0a) {
      const nl = buf.lastIndexOf(0x0a);
      if (nl < 0 && len < size) throw new AuditError('AUDIT_INVALID', `${path}: last line is over ${TAIL_BYTES} bytes and has no newline`);
      end = nl + 1;
      ftruncateSync(fd, size - len + end);
      if (end === 0) return -1;
    }
    const prevNl = buf.lastIndexOf(0x0a, end - 2);
    const line = buf.subarray(prevNl + 1, end - 1).toString('utf8');
    try {
      const seq = (JSON.parse(line) as { seq?: unknown }).seq;
      if (typeof seq === 'number') return seq;
    } catch {
      // fall through
    }
    throw new AuditError(
      'AUDIT_INVALID',
      `${path}: the last complete line is not an audit record; run \`toolgate audit verify ${path}\` and move the file aside to start a new trail`,
    );
  } finally {
    closeSync(fd);
  }
}

function importFromFile(store: Store, path: string, afterSeq: number): void {
  const lines = readFileSync(path, 'utf8').split('\n');
  store.transaction(() => {
    for (const line of lines) {
      if (!line) continue;
      let rec: { seq?: unknown; id?: unknown; hash?: unknown };
      try {
        rec = JSON.parse(line) as typeof rec;
      } catch {
        continue; // verifyAuditLog reports damaged lines; importing skips them
      }
      if (typeof rec.seq !== 'number' || rec.seq <= afterSeq) continue;
      store.insertAudit({ seq: rec.seq, id: String(rec.id), hash: String(rec.hash), record: line });
    }
  });
}
