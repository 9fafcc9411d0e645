import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readSync,
  writeSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { AuditError, ErrorCodes, OptionsError } from '../errors';
import type { AuditEntry, AuditRecord, AuditSink } from '../types';
import { AuditFileScanner } from './audit-file-scanner';
import { sealLine, type ChainHead } from './chain';
import { markSealing } from './sink-marks';
import type { RedactOptions } from './redact';

/** Options of `jsonlAudit`. */
export interface JsonlAuditOptions {
  /**
   * When records reach the disk: `always` = fsync after every record; `batch` (default) = at most
   * every `batchMs` and on close; `never` = leave it to the OS (a machine crash may lose the tail).
   */
  fsync?: 'always' | 'batch' | 'never';
  /** Longest delay of a batched fsync, in ms. Default 50. */
  batchMs?: number;
  /** Extra secret keys and paths, on top of the defaults (see `redact`). */
  redact?: RedactOptions;
  /** File mode when the log is created. Default `0o600`: audit logs are for their owner only. */
  mode?: number;
}

/** What `jsonlAudit` did on open with a torn last line (a crash mid-write). */
export interface JsonlRecovery {
  /** Bytes of the torn fragment, moved aside and cut off the log. */
  tornBytes: number;
  /** Its line number in the log. */
  tornLine: number;
  /** Where the fragment was saved: `${path}.torn-<epoch ms>`. */
  movedTo: string;
}

/** An append-only JSONL audit log. `append` writes synchronously, so file order is chain order. */
export interface JsonlAuditSink extends AuditSink {
  readonly path: string;
  /** Set when open found and moved aside a torn last line; null otherwise. */
  readonly recovery: JsonlRecovery | null;
  /** The last record in the log (null while empty). */
  readonly head: ChainHead | null;
  /** Seals, redacts and writes one record (one line); returns it. Throws AuditError(AUDIT_WRITE_FAILED). */
  append(entry: AuditEntry): AuditRecord;
  /** fsyncs now. */
  flush(): void;
  /** Flushes, fsyncs (unless `fsync: 'never'`) and closes the file. Idempotent. */
  close(): Promise<void>;
}

const openPaths = new Set<string>();
const READ_CHUNK = 1024 * 1024;

/**
 * Opens (or creates) an append-only JSONL audit log: one hash-chained, redacted record per line.
 *
 * On open the existing file is read in 1 MiB chunks and its whole chain verified (time grows with
 * the file; memory does not), so the sink continues it (seq, prevHash). A broken chain (a record
 * edited, removed or reordered, or a corrupted middle line) makes open throw AuditError
 * `AUDIT_INVALID` naming the line: a sink never extends a tampered chain. A torn last line (a crash
 * mid-write) is copied to `${path}.torn-<epoch ms>`, cut off, and reported in `sink.recovery`;
 * no complete record is lost and nothing is appended onto a fragment.
 *
 * One process should hold a log open once: a second `jsonlAudit` on the same path in this process
 * throws until the first is closed. Do not write one file from two processes.
 *
 * @example
 * ```ts
 * const audit = jsonlAudit('./audit.jsonl', { fsync: 'batch', redact: { paths: ['args.card.number'] } });
 * const gate = createGate({ reviewer, highStakes: ['transfer'], audit });
 * ```
 */
export function jsonlAudit(path: string, options: JsonlAuditOptions = {}): JsonlAuditSink {
  if (typeof path !== 'string' || path === '') throw new OptionsError('jsonlAudit: pass the path of the audit log file');
  const fsyncMode = options.fsync ?? 'batch';
  if (!['always', 'batch', 'never'].includes(fsyncMode)) {
    throw new OptionsError(`jsonlAudit: fsync must be 'always', 'batch' or 'never' (got ${JSON.stringify(fsyncMode)})`);
  }
  const batchMs = options.batchMs ?? 50;
  if (!Number.isFinite(batchMs) || batchMs < 0) throw new OptionsError('jsonlAudit: batchMs must be a number of milliseconds >= 0');
  const mode = options.mode ?? 0o600;
  const redactOptions = options.redact;

  const file = resolve(path);
  if (openPaths.has(file)) {
    throw new AuditError(ErrorCodes.AUDIT_INVALID, `audit log ${file} is already open in this process; close the other sink first (two writers would fork the chain)`);
  }
  const existed = existsSync(file);
  let fd: number;
  try {
    fd = openSync(file, 'a+', mode);
  } catch (error) {
    throw new AuditError(ErrorCodes.AUDIT_WRITE_FAILED, `cannot open audit log ${file}: ${(error as Error).message}`, { cause: error });
  }

  let head: ChainHead | null;
  let recovery: JsonlRecovery | null = null;
  let size: number;
  try {
    ({ head, recovery, size } = recover(fd, file, mode));
    if (!existed) fsyncDirectory(dirname(file));
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  openPaths.add(file);

  let closed = false;
  let failure: Error | undefined;
  let dirty = false;
  let timer: NodeJS.Timeout | undefined;

  const syncNow = (): void => {
    if (closed || !dirty) return;
    dirty = false;
    try {
      fsyncSync(fd);
    } catch (error) {
      failure ??= error as Error;
    }
  };

  const sink: JsonlAuditSink = {
    path: file,
    get recovery() {
      return recovery;
    },
    get head() {
      return head ? { ...head } : null;
    },
    append(entry: AuditEntry): AuditRecord {
      if (closed) throw new AuditError(ErrorCodes.AUDIT_WRITE_FAILED, `audit log ${file} is closed`);
      if (failure) {
        throw new AuditError(ErrorCodes.AUDIT_WRITE_FAILED, `audit log ${file} failed earlier (${failure.message}); reopen it`, { cause: failure });
      }
      // Serialised once: the bytes written are the bytes the hash covers.
      const { record, line } = sealLine(entry, head, redactOptions);
      const text = `${line}\n`;
      const length = Buffer.byteLength(text, 'utf8');
      try {
        // The string goes to the kernel without a Buffer of our own; a short write (rare on a
        // regular file) is finished from the bytes.
        const first = writeSync(fd, text, null, 'utf8');
        if (first < length) {
          const bytes = Buffer.from(text, 'utf8');
          let done = first;
          while (done < length) done += writeSync(fd, bytes, done, length - done);
        }
      } catch (error) {
        // Cut a partial line off again so the next record is not appended onto a fragment.
        try {
          ftruncateSync(fd, size);
        } catch (truncError) {
          failure = truncError as Error;
        }
        throw new AuditError(ErrorCodes.AUDIT_WRITE_FAILED, `cannot write audit log ${file}: ${(error as Error).message}`, { cause: error });
      }
      size += length;
      head = { seq: record.seq, hash: record.hash };
      if (fsyncMode === 'always') {
        try {
          fsyncSync(fd);
        } catch (error) {
          failure = error as Error;
          throw new AuditError(ErrorCodes.AUDIT_WRITE_FAILED, `cannot fsync audit log ${file}: ${failure.message}`, { cause: error });
        }
      } else if (fsyncMode === 'batch') {
        dirty = true;
        if (!timer) {
          timer = setTimeout(() => {
            timer = undefined;
            syncNow();
          }, batchMs);
          timer.unref();
        }
      }
      return record;
    },
    flush(): void {
      if (closed) return;
      dirty = true;
      syncNow();
      if (failure) throw new AuditError(ErrorCodes.AUDIT_WRITE_FAILED, `cannot fsync audit log ${file}: ${failure.message}`, { cause: failure });
    },
    async close(): Promise<void> {
      if (closed) return;
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (fsyncMode !== 'never') {
        dirty = true;
        syncNow();
      }
      closed = true;
      openPaths.delete(file);
      closeSync(fd);
    },
  };
  return markSealing(sink);
}

/** Reads and verifies the existing log; moves a torn last line aside. */
function recover(fd: number, file: string, mode: number): { head: ChainHead | null; recovery: JsonlRecovery | null; size: number } {
  const scanner = new AuditFileScanner();
  const buf = Buffer.allocUnsafe(READ_CHUNK);
  let position = 0;
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, position);
    if (n === 0) break;
    position += n;
    if (!scanner.push(buf.subarray(0, n))) break;
  }
  const result = scanner.finish();
  if (!result.ok) {
    const b = result.firstBroken!;
    throw new AuditError(
      ErrorCodes.AUDIT_INVALID,
      `audit log ${file} is broken at line ${b.line}${b.seq !== null ? ` (seq ${b.seq})` : ''}: ${b.reason}. Refusing to extend a tampered chain; keep the file as evidence and start a new log`,
    );
  }
  let recovery: JsonlRecovery | null = null;
  if (scanner.torn) {
    const { start, bytes, line } = scanner.torn;
    const fragment = Buffer.alloc(bytes);
    let got = 0;
    while (got < bytes) {
      const n = readSync(fd, fragment, got, bytes - got, start + got);
      if (n === 0) break;
      got += n;
    }
    const movedTo = `${file}.torn-${Date.now()}`;
    const tfd = openSync(movedTo, 'wx', mode);
    try {
      let done = 0;
      while (done < got) done += writeSync(tfd, fragment, done, got - done);
      fsyncSync(tfd);
    } finally {
      closeSync(tfd);
    }
    ftruncateSync(fd, start);
    fsyncSync(fd);
    recovery = { tornBytes: bytes, tornLine: line, movedTo };
  } else if (scanner.missingNewline) {
    // A complete record whose newline was lost: finish the line, never append onto it.
    writeSync(fd, '\n');
    fsyncSync(fd);
  }
  const size = fstatSync(fd).size;
  return { head: result.last ?? null, recovery, size };
}

function fsyncDirectory(dir: string): void {
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // Not supported everywhere (Windows); the file itself is fsynced.
  }
}
