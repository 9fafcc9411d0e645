import type { Store } from './open-store';

/** Something that writes buffered state into every group-commit transaction (e.g. policy counters). */
export interface CommitParticipant {
  /** Writes what is buffered. Runs inside the batch's transaction, before the queued writes. */
  write(): void;
  /** The transaction committed: forget what `write` wrote. */
  committed(): void;
  /** The transaction rolled back: keep it buffered for the next one. */
  rolledBack(): void;
}

export interface GroupCommitOptions {
  /** Largest number of writes in one transaction; reaching it flushes at once. Default 512. */
  maxBatch?: number;
  participants?: CommitParticipant[];
}

export interface GroupCommit {
  /**
   * Queues `write` (synchronous SQLite work) for the next batch and resolves with its result once
   * the batch's transaction has COMMITTED — never before. Writes run in queue order, so an audit
   * chain appended by them is in commit order.
   */
  run<T>(write: () => T): Promise<T>;
  /** Number of writes waiting for the next batch. */
  readonly queued: number;
  /** Asks for a batch soon even if nothing is queued (a participant buffered something). */
  touch(): void;
  /** Writes the queued batch now (synchronously). */
  flush(): void;
}

interface Item {
  write(): unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * Group commit for a `node:sqlite` store: writes queued in the same event-loop turn (a burst of
 * requests parsed together) share ONE `BEGIN IMMEDIATE … COMMIT`, flushed on `setImmediate` (or
 * when `maxBatch` are queued). Each caller's promise settles only after that commit, so an answer
 * built on it is never sent before its rows are durable.
 *
 * If the batch fails (one write throws, or the commit does), it is rolled back and every write is
 * retried in a transaction of its own, so one bad write fails only its own caller.
 */
export function createGroupCommit(store: Store, options: GroupCommitOptions = {}): GroupCommit {
  const maxBatch = options.maxBatch ?? 512;
  const participants = options.participants ?? [];
  let queue: Item[] = [];
  let scheduled: NodeJS.Immediate | undefined;
  let touched = false;

  const inTransaction = (fn: () => void) => {
    try {
      store.transaction(() => {
        for (const p of participants) p.write();
        fn();
      });
    } catch (error) {
      for (const p of participants) p.rolledBack();
      throw error;
    }
    for (const p of participants) p.committed();
  };

  const flush = () => {
    if (scheduled) {
      clearImmediate(scheduled);
      scheduled = undefined;
    }
    const batch = queue;
    queue = [];
    if (batch.length === 0) {
      if (touched) {
        touched = false;
        try {
          inTransaction(() => {});
        } catch {
          // Still buffered (rolledBack); written with the next batch.
        }
      }
      return;
    }
    touched = false;
    const results: unknown[] = new Array(batch.length);
    try {
      inTransaction(() => {
        for (let i = 0; i < batch.length; i++) results[i] = batch[i]!.write();
      });
    } catch {
      // Find the culprit(s): each write alone, in order (the chain stays in commit order).
      for (const item of batch) {
        let out: unknown;
        try {
          inTransaction(() => {
            out = item.write();
          });
        } catch (error) {
          item.reject(error);
          continue;
        }
        item.resolve(out);
      }
      return;
    }
    for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]);
  };

  return {
    run<T>(write: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ write, resolve: resolve as (v: unknown) => void, reject });
        if (queue.length >= maxBatch) flush();
        else scheduled ??= setImmediate(flush);
      });
    },
    touch() {
      touched = true;
      scheduled ??= setImmediate(flush);
    },
    get queued() {
      return queue.length;
    },
    flush,
  };
}
